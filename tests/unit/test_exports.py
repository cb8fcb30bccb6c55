"""The one neutralising function every export uses, and the writers built on it."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pandas as pd
import pytest

from receivables.domain import exports


@pytest.mark.parametrize("value, exported", [
    ('=HYPERLINK("http://x","click")', '\'=HYPERLINK("http://x","click")'),
    ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
    ("-2+3", "'-2+3"),
    ("@SUM(1)", "'@SUM(1)"),
    ("\t=1", "'\t=1"),
    ("\r=1", "'\r=1"),
    (" =1", "' =1"),
    ("   +1+1", "'   +1+1"),
    ("'=1", "''=1"),
    ('"=1', '\'"=1'),
    ("\u00a0=1", "'\u00a0=1"),
    ("+31 20 123 4567", "'+31 20 123 4567"),  # a phone number is text: kept as text
    ("-", "'-"),
    # not formulas: left as they are
    ("Bakker B.V.", "Bakker B.V."),
    ("2026-001", "2026-001"),
    ("a=b", "a=b"),
    ("", ""),
    ("-12.50", "-12.50"),  # a number written as text stays a number
    ("-12,50", "-12,50"),
    ("-1.234,56", "-1.234,56"),
    ("-1 234.56", "-1 234.56"),
    ("-.5", "-.5"),
    ("-1.2.3", "'-1.2.3"),
    ("-1,2+3", "'-1,2+3"),
    ("+5", "+5"),
    ("-3e2", "-3e2"),
    (-12.5, -12.5),
    (Decimal("-12.50"), Decimal("-12.50")),
    (None, None),
])
def test_a_cell_a_spreadsheet_would_evaluate_is_kept_as_text(value, exported):
    assert exports.neutralise(value) == exported


def test_the_csv_writer_neutralises_text_and_leaves_numbers():
    text = exports.csv_text(["name", "total"], [["=1+1", Decimal("-12.50")], ["Gewoon B.V.", -5]])
    assert list(csv.reader(io.StringIO(text))) == [["name", "total"], ["'=1+1", "-12.50"], ["Gewoon B.V.", "-5"]]


def test_json_records_become_csv_columns_with_nested_values_flattened():
    text = exports.records_csv([{"id": 1, "numbers": ["=1", "2"], "sum": {"EUR": -1.5}},
                                {"id": 2, "extra": "@x"}])
    assert list(csv.reader(io.StringIO(text))) == [
        ["id", "numbers", "sum.EUR", "extra"], ["1", "'=1; 2", "-1.5", ""], ["2", "", "", "'@x"]]


def test_the_excel_export_never_holds_a_formula(tmp_path):
    from openpyxl import load_workbook

    frame = pd.DataFrame({"Debtor": ["=1+1", "Gewoon B.V."], "Total": [-5.25, 10.0], "=bad": ["x", "y"]})
    (tmp_path / "a.xlsx").write_bytes(exports.table(frame, "xlsx"))
    ws = load_workbook(tmp_path / "a.xlsx").active
    assert ws["A2"].value == "'=1+1" and ws["A2"].data_type == "s"
    assert ws["B2"].value == -5.25 and ws["B2"].data_type == "n"
    assert ws["C1"].value == "'=bad" and ws["C1"].data_type == "s"
    csv_text = exports.table(frame, "csv").decode("utf-8-sig")
    assert csv_text.splitlines()[1] == "'=1+1,-5.25,x"


def test_an_unknown_export_format_is_refused_with_the_formats_there_are():
    with pytest.raises(exports.ExportError, match="export as csv or xlsx, not 'pdf'"):
        exports.table(pd.DataFrame({"a": [1]}), "pdf")


def test_a_csv_made_elsewhere_is_protected_cell_by_cell_keeping_its_delimiter_and_bom():
    made = "\ufeffFactuur;Open\r\n=HYPERLINK(\"http://x\");-12,50\r\n'=1;@SUM(1)\r\n".encode("utf-8")
    protected = exports.protect_csv(made)
    assert protected.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(protected.decode("utf-8-sig")), delimiter=";"))
    assert rows == [["Factuur", "Open"], ["'=HYPERLINK(\"http://x\")", "-12,50"], ["'=1", "'@SUM(1)"]]
    assert exports.protect_csv(protected) == protected  # nothing left to protect
    plain = b"a,b\r\n1,-2\r\n"
    assert exports.protect_csv(plain) == plain
