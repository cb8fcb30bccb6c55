"""Writing the ledger: every change of an invoice's open amount goes through `apply_change`, so the
current state (open_cents, settled_date) always equals amount + the dated changes."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from db.models import Invoice, InvoiceChange, Message, MessageInvoice
from receivables.domain.messages import UNSENT
from receivables.domain.phrases import Phrase, dump
from receivables.domain.recheck import NOTHING_LEFT
from receivables.domain.translation import N_
from receivables.services.wording import reword

CHANGE_KINDS = ("payment", "credit", "write_off", "reopen", "correction")


def apply_change(session: Session, invoice: Invoice, change_date: date, kind: str, delta_cents: int,
                 batch_id: int | None = None) -> InvoiceChange | None:
    """Record a dated change of the open amount and update the invoice's current state."""
    if kind not in CHANGE_KINDS:
        raise ValueError(f"unknown change kind {kind!r}")
    if delta_cents == 0:
        return None
    change = InvoiceChange(invoice_id=invoice.id, change_date=change_date, kind=kind,
                           delta_cents=int(delta_cents), batch_id=batch_id)
    session.add(change)
    invoice.open_cents += int(delta_cents)
    if invoice.open_cents == 0:
        invoice.settled_date = max(change_date, invoice.settled_date or change_date)
    else:
        invoice.settled_date = None
    return change


def recompute(session: Session, invoice: Invoice) -> None:
    """Rebuild open_cents and settled_date from the change rows (after an undo)."""
    rows = session.execute(select(InvoiceChange.change_date, InvoiceChange.delta_cents)
                           .where(InvoiceChange.invoice_id == invoice.id)
                           .order_by(InvoiceChange.change_date, InvoiceChange.id)).all()
    invoice.open_cents = invoice.amount_cents + sum(d for _, d in rows)
    invoice.settled_date = rows[-1][0] if rows and invoice.open_cents == 0 else None


def drop_from_pending_messages(session: Session, invoice_ids: list[int]) -> list[int]:
    """Invoices that were paid, credited, disputed or paused leave every unsent message; a message with
    no invoice left is cancelled. Returns the ids of the cancelled messages."""
    if not invoice_ids:
        return []
    pending = select(Message.id).where(Message.status.in_(UNSENT))
    affected = set()
    for chunk in _chunks(list(invoice_ids), 500):
        affected |= set(session.scalars(
            select(MessageInvoice.message_id).where(MessageInvoice.invoice_id.in_(chunk),
                                                    MessageInvoice.active.is_(True),
                                                    MessageInvoice.message_id.in_(pending))))
        session.execute(update(MessageInvoice)
                        .where(MessageInvoice.invoice_id.in_(chunk), MessageInvoice.message_id.in_(pending))
                        .values(active=False))
    cancelled, reworded = [], []
    for message_id in sorted(affected):
        left = session.scalar(select(func.count()).select_from(MessageInvoice)
                              .where(MessageInvoice.message_id == message_id, MessageInvoice.active.is_(True)))
        if left == 0:
            session.execute(update(Message).where(Message.id == message_id, Message.status.in_(UNSENT))
                            .values(status="cancelled", last_error=dump(NOTHING_LEFT)))
            cancelled.append(message_id)
        else:
            reworded.append(message_id)
    if reworded:
        reword(session, reworded, Phrase(N_("an invoice left it before it was sent")))
    return cancelled


def _chunks(items: list, size: int):
    for i in range(0, len(items), size):
        yield items[i:i + size]


def apply_changes(session: Session, changes: list[tuple[int, date, str, int, int | None]]) -> dict[int, int]:
    """`apply_change` for many dated changes at once, (invoice id, date, kind, delta, batch id) each, in
    order (several may concern one invoice): the change rows in one insert, every invoice's open amount
    and settled date in one update. Returns each invoice's open amount afterwards."""
    changes = [c for c in changes if c[3] != 0]
    for c in changes:
        if c[2] not in CHANGE_KINDS:
            raise ValueError(f"unknown change kind {c[2]!r}")
    ids = sorted({c[0] for c in changes})
    state: dict[int, list] = {}
    for chunk in _chunks(ids, 500):
        for iid, open_cents, settled in session.execute(select(Invoice.id, Invoice.open_cents, Invoice.settled_date)
                                                        .where(Invoice.id.in_(chunk))):
            state[iid] = [open_cents, settled]
    for iid, day, _kind, delta, _batch in changes:
        now = state[iid]
        now[0] += int(delta)
        now[1] = max(day, now[1] or day) if now[0] == 0 else None
    if changes:
        rows = [{"invoice_id": iid, "change_date": day, "kind": kind, "delta_cents": int(delta), "batch_id": batch}
                for iid, day, kind, delta, batch in changes]
        if session.get_bind().dialect.name == "postgresql":
            # a statement for many rows, not one a row: the daily sums follow the changes once a
            # statement there (analytics_queries.PG_CHANGES_FUNCTION)
            for chunk in _chunks(rows, 5000):
                session.execute(insert(InvoiceChange).values(chunk))
        else:
            session.execute(insert(InvoiceChange), rows)
        session.execute(update(Invoice), [
            {"id": iid, "open_cents": state[iid][0], "settled_date": state[iid][1]} for iid in ids])
    return {iid: state[iid][0] for iid in ids}
