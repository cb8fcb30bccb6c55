import io
from datetime import date

from pypdf import PdfReader

from emails.reports import CurrencyAgeing, ageing_pdf

SECTION = CurrencyAgeing(
    "EUR", {"not_due": 100000, "1-30": 50000, "31-60": 2500, "61-90": 0, "90+": 123456, "total": 275956},
    {"DSO": "56,6 d"}, [("0042", "Bakker B.V.", {"not_due": 1000, "total": 1000})])


def text_of(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_the_month_end_ageing_report_is_worded_and_numbered_in_dutch():
    text = text_of(ageing_pdf([SECTION, CurrencyAgeing("USD", {"not_due": 5, "total": 5})],
                              as_of=date(2026, 11, 30), company="Demo B.V.", lang="nl"))
    assert "Ouderdomsanalyse" in text and "per 30-11-2026" in text and "Niet vervallen" in text
    assert "2.759,56" in text and "1.234,56" in text and "Grootste 1 debiteuren" in text
    assert "USD" in text  # one section per currency, never added together


def test_the_same_report_in_english():
    text = text_of(ageing_pdf([SECTION], as_of=date(2026, 11, 30), company="Demo B.V.", lang="en"))
    assert "Ageing report" in text and "as of 30 Nov 2026" in text and "2,759.56" in text
