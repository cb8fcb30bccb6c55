import io
from datetime import date

import pandas as pd
import pytest
from openpyxl import load_workbook

from receivables.domain.exports import ExportError, report

FRAME = pd.DataFrame({
    "Debtor": ["Bakker B.V.", "=HYPERLINK(\"http://x\",\"click\")", None],
    "Due": [date(2026, 11, 30), date(2026, 12, 5), None],
    "Open": [123456, -5000, 1],
    "Days": [5.5, 0.0, None],
})


def test_a_dutch_csv_has_semicolons_decimal_commas_dutch_dates_and_a_bom():
    data = report(FRAME, "csv", lang="nl", title="Ouderdom per 05-12-2026", header=["Filter: alle debiteuren"],
                  money=["Open"], dates=["Due"], total_label="Totaal")
    assert data.startswith(b"\xef\xbb\xbf")
    assert data.decode("utf-8-sig").splitlines() == [
        "Ouderdom per 05-12-2026",
        "Filter: alle debiteuren",
        "",
        "Debtor;Due;Open;Days",
        "Bakker B.V.;30-11-2026;1234,56;5,5",
        "\"'=HYPERLINK(\"\"http://x\"\",\"\"click\"\")\";05-12-2026;-50,00;0,0",
        ";;0,01;",
        "Totaal;;1184,57;",
    ]


def test_an_english_csv_has_commas_points_and_iso_dates():
    lines = report(FRAME, "csv", lang="en", money=["Open"], dates=["Due"]).decode("utf-8-sig").splitlines()
    assert lines[0] == "Debtor,Due,Open,Days"
    assert lines[1] == "Bakker B.V.,2026-11-30,1234.56,5.5"


def test_the_workbook_has_real_numbers_and_dates_a_frozen_header_and_totals():
    data = report(FRAME, "xlsx", lang="nl", title="Ouderdom", header=["per 05-12-2026"], money=["Open"],
                  dates=["Due"], total_label="Totaal", sheet="Ouderdom")
    ws = load_workbook(io.BytesIO(data)).active
    assert ws.title == "Ouderdom"
    assert [c.value for c in ws[4]] == ["Debtor", "Due", "Open", "Days"]
    assert ws.freeze_panes == "A5"
    assert ws["C5"].value == pytest.approx(1234.56) and ws["C5"].number_format == "#,##0.00"
    assert ws["B5"].is_date and ws["B5"].number_format == "dd-mm-yyyy"
    assert ws["A6"].value.startswith("'=") and ws["A6"].data_type == "s"
    assert [c.value for c in ws[8]][:3] == ["Totaal", None, pytest.approx(1184.57)]


def test_an_unknown_format_or_language_is_refused():
    with pytest.raises(ExportError, match="csv or xlsx"):
        report(FRAME, "pdf")
    with pytest.raises(ExportError, match="nl or en"):
        report(FRAME, "csv", lang="de")
