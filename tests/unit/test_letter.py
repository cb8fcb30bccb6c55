"""A letter step's words as a PDF: readable text (euro sign included, or written out where no font for it
is installed), the sender, the addressee, the date and the QR code."""

from __future__ import annotations

import io
from datetime import date

import pytest

from emails import letter
from receivables.domain import epc

pypdf = pytest.importorskip("pypdf", reason="pypdf is a test dependency (pip install -r requirements-dev.txt)")

BODY = ("Geachte heer Bakker,\n\nVolgens onze administratie staat nog open:\n\n"
        "  F-2026-0001   vervallen 31-05-2026   € 1.234,56\n\nWij verzoeken u dit bedrag binnen 14 dagen te "
        "voldoen.\n\nMet vriendelijke groet,\nAfdeling debiteurenbeheer")


def read(pdf: bytes) -> tuple[str, int, int]:
    doc = pypdf.PdfReader(io.BytesIO(pdf))
    text = "\n".join(page.extract_text() for page in doc.pages)
    images = sum(len(page.images) for page in doc.pages)
    return text, len(doc.pages), images


def a_letter(**kw) -> letter.Letter:
    base = dict(sender="Voorbeeld B.V.", addressee="Bakker B.V.", attention="J. Bakker", debtor_code="0042",
                address="Kerkstraat 1\n1234 AB  Amsterdam",
                on=date(2026, 11, 22), subject="Tweede herinnering: factuur F-2026-0001", body=BODY,
                qr_png=epc.qr_png(epc.epc_payload(name="Voorbeeld B.V.", iban="NL91ABNA0417164300",
                                                  amount_cents=123456, remittance="F-2026-0001")))
    return letter.Letter(**{**base, **kw})


def test_a_letter_holds_the_words_the_sender_the_addressee_the_date_and_the_qr_code():
    pdf = letter.render(a_letter())
    assert pdf.startswith(b"%PDF")
    text, pages, images = read(pdf)
    for part in ("Voorbeeld B.V.", "Bakker B.V.", "t.a.v. J. Bakker", "Kerkstraat 1", "1234 AB", "Amsterdam",
                 "Klantnummer: 0042", "22-11-2026",
                 "Tweede herinnering: factuur F-2026-0001", "Volgens onze administratie", "1.234,56",
                 "Scan de code met uw bank-app"):
        assert part in text, part
    assert pages == 1 and images == 1


def test_an_english_letter_without_payment_details_has_no_qr_code():
    text, _, images = read(letter.render(a_letter(language="en", qr_png=None, attention="", address="")))
    assert "Attn." not in text and "Scan" not in text and images == 0
    assert "Customer number: 0042" in text and "Kerkstraat" not in text


def test_without_a_unicode_font_the_euro_sign_is_written_out(monkeypatch):
    monkeypatch.setattr(letter, "FONT_CANDIDATES", ())
    text, _, _ = read(letter.render(a_letter(subject="Herinnering “F-1” — € 5,00 ✓")))
    assert 'Herinnering "F-1" - EUR 5,00 ?' in text
    assert "EUR 1.234,56" in text


def test_a_long_letter_runs_onto_a_second_page():
    _, pages, images = read(letter.render(a_letter(body=BODY + "\n" + "Nog een regel.\n" * 40)))
    assert pages == 2 and images == 1


def test_the_file_name_is_safe():
    assert letter.file_name("00/42 A", date(2026, 11, 22), 7) == "letter-00_42_A-20261122-7.pdf"
