"""Each reminder carries a structured payment reference of its own (RF creditor reference or, as set, the
Dutch betalingskenmerk) in its words and in the structured field of its EPC QR code; a payment that
quotes it pays exactly that reminder's invoices. On real SQLite and PostgreSQL; the QR image is read
back with zbarimg."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from db.models import Invoice
from emails import statement as account_statement
from receivables.domain import references
from receivables.services import bank, reminders, sending
from tests.integration import test_reminders as remind
from tests.integration.test_bank_service import OURS, import_file, statement, tx
from tests.integration.test_send_qr import scanned

ledger = remind.ledger  # Bakker (100) owes F-1 and F-2, Jansen (200) owes F-9; payment details set


def generated(uow, kind: str | None = None):
    with uow() as u:
        bank.add_account(u, OURS, actor="test")
        if kind:
            bank.set_reference_kind(u, kind, actor="test")
    remind.generate(uow)
    return remind.messages(uow)


def reference_of(uow, message_id: int) -> str:
    with uow() as u:
        return bank.payment_reference(u.session, message_id)


def open_of(uow, number: str) -> int:
    with uow() as u:
        return u.session.scalar(select(Invoice.open_cents).where(Invoice.number == number))


def test_each_reminder_shows_its_own_rf_reference_beside_the_invoice_numbers(ledger):
    (m1, _), (m2, _) = generated(ledger)
    ref1, ref2 = reference_of(ledger, m1.id), reference_of(ledger, m2.id)
    assert ref1 != ref2 and references.is_valid_rf(ref1) and references.message_id_of(ref1) == m1.id
    assert f"Betalingskenmerk: {references.format_reference(ref1)}" in m1.body_text
    assert "Omschrijving: 100 F-1 F-2" in m1.body_text
    assert f"Payment reference: {references.format_reference(ref2)}" in m2.body_text  # Jansen reads English
    assert references.format_reference(ref1) in m1.body_html
    assert "https://pay.example.test/100?amount=1710.50" in m1.body_text


def test_the_qr_code_carries_the_reference_in_its_structured_field(ledger, tmp_path):
    [(m1, _), _] = generated(ledger)
    ref = reference_of(ledger, m1.id)
    with ledger() as u:
        payload = reminders.payment_payload(u, m1.id)
    assert payload == m1.qr_payload
    fields = payload.split("\n")
    assert fields[9] == ref and fields[10] == ""  # structured, so no unstructured text (EPC069-12)
    assert fields[11] == "100 F-1 F-2"  # the invoice numbers as a note to the payer
    assert scanned(m1.qr_png, tmp_path) == payload


def test_a_betalingskenmerk_when_set_is_in_the_text_and_the_qr_code(ledger, tmp_path):
    [(m1, _), _] = generated(ledger, references.BETALINGSKENMERK)
    ref = reference_of(ledger, m1.id)
    assert len(ref) == 16 and references.is_valid_betalingskenmerk(ref)
    assert f"Betalingskenmerk: {references.format_reference(ref)}" in m1.body_text
    assert scanned(m1.qr_png, tmp_path).split("\n")[9] == ref


@pytest.mark.parametrize("quoted", ["structured", "typed"])
def test_a_payment_quoting_the_reference_pays_exactly_that_reminders_invoices(ledger, quoted):
    (m1, numbers), _ = generated(ledger)
    ref = reference_of(ledger, m1.id)
    entry = tx("1710.50", name="Someone Else", ref=ref) if quoted == "structured" else \
        tx("1710.50", name="Someone Else", text=f"betaling {references.format_reference(ref)}")
    result = import_file(ledger, statement(entry))
    assert result.summary() == "lines 1, matched 1, suggested 0, unmatched 0"
    assert numbers == ["F-1", "F-2"] and open_of(ledger, "F-1") == open_of(ledger, "F-2") == 0
    assert open_of(ledger, "F-9") == 70_000 and open_of(ledger, "F-3") == 30_000
    with ledger() as u:
        [line] = bank.debtor_payments(u, m1.debtor_id)
    assert line["reason"] == f"our reference {ref} of reminder {m1.id} (invoice F-1, F-2)"
    assert (line["evidence"], line["confidence"], line["status"]) == ("reference", 1.0, "matched")
    assert sorted(a["invoice"] for a in line["allocations"]) == ["F-1", "F-2"]


def test_the_statement_of_account_and_the_letter_carry_the_reference(ledger):
    [(m1, _), _] = generated(ledger)
    ref = references.format_reference(reference_of(ledger, m1.id))
    with ledger() as u:
        [candidate] = sending._load(u.session, ids=[m1.id], qr=True)
        payment = sending._payment(u.session)
    letter = sending.letter_attachment(candidate, remind.TODAY, None, payment)
    assert ref in "".join(p.extract_text() for p in PdfReader(io.BytesIO(letter.content)).pages)
    pdf = account_statement.statement_pdf([account_statement.Row("F-1", None, None, 100)], company="Demo", debtor_code="100",
                                  debtor_name="Bakker", currency="EUR", on=remind.TODAY,
                                  reference=reference_of(ledger, m1.id))
    assert f"betalingskenmerk: {ref}" in "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
