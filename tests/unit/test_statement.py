import csv
import io
from datetime import date

import pytest
from pypdf import PdfReader

from emails import statement
from emails.statement import Row

ON = date(2026, 6, 30)


def rows(n: int) -> list[Row]:
    return [Row(f"F-{k:04d}", date(2026, 1, 1), date(2026, 2, 1), 1_000 + k) for k in range(n)]


@pytest.mark.parametrize("n, listed, more", [(1, 1, None), (25, 25, None), (26, 25, 1), (2602, 25, 2577)])
def test_a_message_lists_at_most_25_invoices_and_says_how_many_more(n, listed, more):
    shown, rest = statement.listed(list(range(n)))
    assert shown == list(range(listed)) and (rest or {}).get("more") == more


def test_the_note_names_the_rest_in_the_debtors_language():
    _, rest = statement.listed(list(range(30)))
    assert statement.more_note(rest, "nl").startswith("... en nog 5 facturen. Alle 30")
    assert "statement of account" in statement.more_note(rest, "en")


def test_the_csv_keeps_every_invoice_and_never_a_formula():
    data = statement.statement_csv([*rows(3), Row("=HYPERLINK(1)", None, date(2026, 6, 1), -500)], "EUR", ON)
    lines = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert lines[0] == ["Factuur", "Factuurdatum", "Vervaldatum", "Dagen over", "Openstaand", "Valuta"]
    assert lines[1] == ["F-0000", "2026-01-01", "2026-02-01", "149", "10,00", "EUR"]
    assert lines[-1][0] == "'=HYPERLINK(1)" and len(lines) == 5


def test_the_pdf_of_a_long_statement_runs_over_pages_and_ends_with_the_total():
    pdf = statement.statement_pdf(rows(300), company="Demo B.V.", debtor_code="100", debtor_name="Klant B.V.",
                                  currency="EUR", on=ON, language="en")
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) > 3
    last = reader.pages[-1].extract_text()
    assert "Total outstanding (300)" in last and "F-0299" in last
