"""The EPC payment QR code of a reminder: the text it encodes (the amount due, with costs and interest)
and its image, drawn once a message may go out and kept with it so that sending takes no time for it."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import bindparam, select

from db.models import Debtor, Invoice, Message, MessageInvoice
from db.uow import UnitOfWork
from emails.render import QR_CID
from receivables.domain import epc
from receivables.services.errors import ServiceError
from receivables.services.reminder_settings import PAYMENT_DEFAULTS, PAYMENT_KEY, reference_kind
from receivables.services.settings import get_setting
from receivables.services.wording import reference, structured_reference


def payment_details(session) -> dict:
    """The payment details as set, with the kind of structured reference the reminders carry."""
    return {**(get_setting(session, PAYMENT_KEY) or {}), "reference_kind": reference_kind(session)}


def qr_payload(payment: dict | None, currency: str, due_cents: int, debtor_code: str,
               numbers: list[str], message_id: int | None = None) -> str | None:
    """The EPC QR text asking for `due_cents` (total, costs and interest) for these invoices, or None (not
    EUR, nothing due, or no valid payment details). With the message's id its structured payment reference
    goes in the structured remittance field (the bank returns it with the payment, which then matches
    that message's invoices exactly) and the invoice numbers in the note to the payer; without, the invoice
    numbers are the remittance text. EpcError when the details do not fit in a QR code."""
    pay = {**PAYMENT_DEFAULTS, **(payment or {})}
    if currency != "EUR" or due_cents <= 0 or not pay["beneficiary"] or not epc.valid_iban(pay["iban"]):
        return None
    described = reference(debtor_code, numbers)
    structured = structured_reference(message_id, pay.get("reference_kind"))
    if structured:
        return epc.epc_payload(name=pay["beneficiary"], iban=pay["iban"], amount_cents=due_cents, bic=pay["bic"],
                               reference=structured, note=described if len(described) <= 70 else described[:67] + "...")
    return epc.epc_payload(name=pay["beneficiary"], iban=pay["iban"], amount_cents=due_cents, bic=pay["bic"],
                           remittance=described)


def payment_payload(uow: UnitOfWork, message_id: int) -> str | None:
    """The EPC QR text for a message's amount due, or None (not EUR, or no valid payment details)."""
    s = uow.session
    m = s.get(Message, int(message_id))
    if m is None:
        raise ServiceError("there is no message {message_id}", message_id=message_id)
    due = (m.total_cents or 0) + (m.costs_cents or 0) + (m.interest_cents or 0)
    numbers = list(s.scalars(select(Invoice.number).join(MessageInvoice, MessageInvoice.invoice_id == Invoice.id)
                             .where(MessageInvoice.message_id == m.id, MessageInvoice.active.is_(True))
                             .order_by(Invoice.due_date, Invoice.number)))
    code = s.scalar(select(Debtor.code).where(Debtor.id == m.debtor_id)) or str(m.debtor_id)
    return qr_payload(payment_details(s), m.currency, due, code, numbers, m.id)


def qr_codes(session, message_ids) -> dict[int, tuple[str | None, str | None]]:
    """For each message: the EPC QR text it asks for now (None: it shows no QR code), and the text kept."""
    ids = list(dict.fromkeys(int(i) for i in message_ids))
    payment = payment_details(session) if ids else None
    out = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        numbers: dict[int, list[str]] = defaultdict(list)
        for mid, number in session.execute(
                select(MessageInvoice.message_id, Invoice.number)
                .join(Invoice, Invoice.id == MessageInvoice.invoice_id)
                .where(MessageInvoice.message_id.in_(chunk), MessageInvoice.active.is_(True))
                .order_by(MessageInvoice.message_id, Invoice.due_date, Invoice.number)):
            numbers[mid].append(number)
        for mid, code, currency, total, costs, interest, shows_qr, kept in session.execute(
                select(Message.id, Debtor.code, Message.currency, Message.total_cents, Message.costs_cents,
                       Message.interest_cents, Message.body_html.contains(f"cid:{QR_CID}"), Message.qr_payload)
                .join(Debtor, Debtor.id == Message.debtor_id).where(Message.id.in_(chunk))):
            payload = None
            if shows_qr:
                try:
                    payload = qr_payload(payment, currency, (total or 0) + (costs or 0) + (interest or 0), code,
                                         numbers[mid], mid)
                except epc.EpcError:
                    payload = None  # the message goes without the image, as it always did
            out[mid] = (payload, kept)
    return out


def store_qr(uow: UnitOfWork, message_ids) -> int:
    """Draw and keep the EPC QR image of each of these messages whose kept image does not encode what it
    asks for now, so that the sender finds it ready; a message without a QR code keeps none. Called after
    the transaction that rendered or approved them: each image is drawn with no transaction open (a few
    ms each: no lock held meanwhile), and kept in short ones. Returns how many images were drawn."""
    s = uow.session
    ids = list(message_ids)
    table = Message.__table__
    keep = (table.update().where(table.c.id == bindparam("b_id"))
            # the image follows from the words, it is no change of them: updated_at stays
            .values(qr_payload=bindparam("b_payload"), qr_png=bindparam("b_png"), updated_at=table.c.updated_at))
    drawn = 0
    for start in range(0, len(ids), 200):
        codes = qr_codes(s, ids[start:start + 200])
        s.rollback()
        changes = [{"b_id": mid, "b_payload": payload, "b_png": epc.qr_png(payload) if payload else None}
                   for mid, (payload, kept) in codes.items() if payload != kept]
        if changes:
            s.connection().execute(keep, changes)
            uow.commit()
            drawn += sum(1 for c in changes if c["b_png"] is not None)
    return drawn
