"""The demo ledger: loaded beside real data, removed without touching it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import delete, func, insert, or_, select, update

from db.models import (
    Debtor,
    ImportBatch,
    InboundMail,
    Invoice,
    InvoiceChange,
    Message,
    MessageInvoice,
    Note,
    SendAttempt,
    WorkHandoff,
)
from db.uow import UnitOfWork
from receivables.services import demo_data as demo
from receivables.services import mailbox
from receivables.services.audit import record_audit
from receivables.services.errors import ServiceError
from receivables.services.settings import get_setting, put_setting


@dataclass(frozen=True)
class DemoResult:
    debtors: int
    invoices: int
    changes: int
    notes: int


DEMO_PAYMENT = {"iban": "NL91ABNA0417164300", "bic": "ABNANL2A", "beneficiary": "Demo Groothandel B.V.",
                "link_pattern": ""}


def demo_present(uow: UnitOfWork) -> bool:
    return uow.session.scalar(select(func.count()).select_from(Debtor).where(Debtor.is_demo)) > 0


def load_demo(uow: UnitOfWork, *, seed: int = 42, anchor: date | None = None, actor: str = "system") -> DemoResult:
    """Replace any demo data by a freshly generated demo ledger; real data is left alone."""
    s = uow.session
    data = demo.generate(seed=seed, anchor=anchor)
    codes = [d["code"] for d in data.debtors]
    clash = s.scalars(select(Debtor.code).where(Debtor.code.in_(codes), Debtor.is_demo.is_(False))).first()
    if clash:
        raise ServiceError(f"debtor code {clash} already exists in your own data; the demo cannot be loaded beside it")
    _delete_demo(s)
    anchor = anchor or date.today()
    batch = ImportBatch(kind="demo", mode="full", file_name=f"demo seed {seed}", file_hash=f"demo-{seed}",
                        as_of=anchor, imported_by=actor)
    s.add(batch)
    s.flush()
    debtor_keys = set(Debtor.__table__.columns.keys())
    s.execute(insert(Debtor), [{k: v for k, v in d.items() if k in debtor_keys} for d in data.debtors])
    debtor_ids = dict(s.execute(select(Debtor.code, Debtor.id).where(Debtor.is_demo)).all())
    open_by_number: dict[str, int] = {i["number"]: i["amount_cents"] for i in data.invoices}
    last_change: dict[str, date] = {}
    for c in data.changes:
        open_by_number[c["number"]] += c["delta_cents"]
        last_change[c["number"]] = max(c["change_date"], last_change.get(c["number"], c["change_date"]))
    rows = []
    for inv in data.invoices:
        row = {k: v for k, v in inv.items() if k != "debtor_code"}
        row["debtor_id"] = debtor_ids[inv["debtor_code"]]
        row["open_cents"] = open_by_number[inv["number"]]
        row["settled_date"] = last_change.get(inv["number"]) if row["open_cents"] == 0 else None
        row["batch_id"] = batch.id
        rows.append(row)
    s.execute(insert(Invoice), rows)
    invoice_ids = dict(s.execute(select(Invoice.number, Invoice.id).where(Invoice.is_demo)).all())
    s.execute(insert(InvoiceChange), [
        {"invoice_id": invoice_ids[c["number"]], "change_date": c["change_date"], "kind": c["kind"],
         "delta_cents": c["delta_cents"], "batch_id": batch.id} for c in data.changes])
    note_rows = []
    for n in data.notes:
        row = {k: v for k, v in n.items() if k not in ("debtor_code", "number", "created_at")}
        row["debtor_id"] = debtor_ids[n["debtor_code"]]
        row["invoice_id"] = invoice_ids.get(n.get("number"))
        row["created_at"] = datetime.combine(n["created_at"], datetime.min.time()).replace(hour=10)
        row["is_demo"] = True
        note_rows.append(row)
    if note_rows:
        s.execute(insert(Note), note_rows)
    for mail in data.mails:  # through the mailbox's own filing, so they look like fetched mail
        mailbox.file_mail(s, mail["raw"], key=mail["key"], today=anchor, actor=actor, is_demo=True)
    batch.count_new = len(rows)
    if get_setting(s, "reminder.payment") is None:
        # so that demo reminders show complete payment details and a scannable QR code
        put_setting(s, "reminder.payment", dict(DEMO_PAYMENT), "system")
    record_audit(s, actor, "demo.load", "import_batch", batch.id, None,
                 {"seed": seed, "debtors": len(data.debtors), "invoices": len(rows)})
    uow.commit()
    return DemoResult(len(data.debtors), len(rows), len(data.changes), len(note_rows))


def _delete_demo(s) -> int:
    demo_debtors = select(Debtor.id).where(Debtor.is_demo).scalar_subquery()
    demo_invoices = select(Invoice.id).where(Invoice.debtor_id.in_(demo_debtors)).scalar_subquery()
    s.execute(delete(InboundMail).where(or_(InboundMail.is_demo, InboundMail.debtor_id.in_(demo_debtors))))
    s.execute(delete(WorkHandoff).where(WorkHandoff.debtor_id.in_(demo_debtors)))
    s.execute(delete(Note).where(Note.debtor_id.in_(demo_debtors)))
    demo_messages = select(Message.id).where(Message.debtor_id.in_(demo_debtors)).scalar_subquery()
    s.execute(delete(SendAttempt).where(SendAttempt.message_id.in_(demo_messages)))
    s.execute(delete(MessageInvoice).where(MessageInvoice.message_id.in_(demo_messages)))
    s.execute(delete(Message).where(Message.debtor_id.in_(demo_debtors)))
    s.execute(delete(InvoiceChange).where(InvoiceChange.invoice_id.in_(demo_invoices)))
    s.execute(delete(Invoice).where(Invoice.debtor_id.in_(demo_debtors)))
    n = s.execute(delete(Debtor).where(Debtor.is_demo)).rowcount
    s.execute(update(ImportBatch).where(ImportBatch.kind == "demo").values(status="undone"))
    return n


def remove_demo(uow: UnitOfWork, *, actor: str) -> int:
    """Remove every demo debtor with its invoices, notes and messages. Returns the debtors removed."""
    n = _delete_demo(uow.session)
    record_audit(uow.session, actor, "demo.remove", "debtor", None, {"demo_debtors": n}, None)
    uow.commit()
    return n
