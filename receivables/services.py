"""Services: the functions the pages and the CLI call. Each takes primitives and a unit of work."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import pandas as pd
from sqlalchemy import Engine, delete, func, insert, select, update

from db import queries
from db.engine import upgrade
from db.models import (
    AuditEvent,
    Debtor,
    ImportBatch,
    Invoice,
    InvoiceChange,
    Message,
    MessageInvoice,
    Note,
    SendAttempt,
    Setting,
)
from receivables import demo, users
from receivables.ageing import BucketSpec, ageing_buckets, bucket_totals, overdue_cents
from receivables.money import to_units
from receivables.uow import UnitOfWork


class ServiceError(ValueError):
    """A problem the user can fix; the message says what to do."""


def record_audit(session, actor: str, action: str, entity: str, entity_id=None,
                 before: dict | None = None, after: dict | None = None) -> None:
    session.add(AuditEvent(actor=actor, action=action, entity=entity,
                           entity_id=None if entity_id is None else str(entity_id),
                           before=_jsonable(before), after=_jsonable(after)))


def _jsonable(value):
    if value is None:
        return None
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


# --- settings -------------------------------------------------------------------------------------

def get_setting(session, key: str, default=None):
    row = session.get(Setting, key)
    return default if row is None else row.value


def put_setting(session, key: str, value, actor: str) -> None:
    row = session.get(Setting, key)
    before = None if row is None else row.value
    if row is None:
        session.add(Setting(key=key, value=value, updated_by=actor))
    else:
        row.value = value
        row.updated_by = actor
    if actor != "system":
        record_audit(session, actor, "setting.change", "setting", key, {"value": before}, {"value": value})


# --- start-up -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Bootstrap:
    admin_password: str | None
    demo_loaded: bool


def bootstrap(engine: Engine, *, load_demo_on_first_start: bool = True, seed: int = 42) -> Bootstrap:
    """Upgrade the schema, create the user file (an admin with a random password) and, on the very
    first start of an empty database, load the demo data."""
    upgrade(engine)
    try:
        password = users.ensure_file()
    except users.UserError as exc:
        raise ServiceError(str(exc)) from None
    loaded = False
    with UnitOfWork(engine, immediate=True) as uow:
        if get_setting(uow.session, "initialised") is None:
            empty = uow.session.scalar(select(func.count()).select_from(Debtor)) == 0
            put_setting(uow.session, "initialised", datetime.now().isoformat(timespec="seconds"), "system")
            uow.commit()
            if empty and load_demo_on_first_start:
                load_demo(uow, seed=seed, actor="system")
                loaded = True
    return Bootstrap(password, loaded)


# --- demo data ------------------------------------------------------------------------------------

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


# --- ageing ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AgeingReport:
    as_of: date
    spec: BucketSpec
    items: pd.DataFrame  # the open items behind the figures
    per_debtor: pd.DataFrame
    totals: dict[str, dict[str, int]]  # per currency

    def overdue(self, currency: str) -> int:
        return overdue_cents(self.totals[currency], self.spec)


def ageing_report(uow: UnitOfWork, as_of: date | None = None, spec: BucketSpec = BucketSpec()) -> AgeingReport:
    as_of = as_of or date.today()
    items = queries.open_items_as_of(uow.session, as_of)
    per_debtor = ageing_buckets(items, as_of, spec)
    return AgeingReport(as_of, spec, items, per_debtor, bucket_totals(per_debtor, spec))


def ageing_json(report: AgeingReport) -> dict | list[dict]:
    """The CLI's JSON form: one object, or a list of objects when there are several currencies."""
    labels = report.spec.labels
    out = []
    for currency in sorted(report.totals) or ["EUR"]:
        totals = report.totals.get(currency, {c: 0 for c in [*labels, "total"]})
        rows = report.per_debtor[report.per_debtor["currency"] == currency]
        out.append({
            "as_of": report.as_of.isoformat(), "currency": currency, "buckets": labels,
            "totals": {k: to_units(v) for k, v in totals.items()},
            "debtors": [{"code": r["debtor_code"], "name": r["debtor_name"],
                         **{c: to_units(int(r[c])) for c in [*labels, "total"]}}
                        for r in rows.to_dict("records")],
        })
    return out[0] if len(out) == 1 else out


def data_version(uow: UnitOfWork) -> str:
    """Changes whenever the ledger or the queue changes, whoever changed it (page, CLI or cron): every
    write leaves an audit event, an import batch, a ledger change or a message. Cheap: maxima of keys."""
    row = uow.session.execute(select(
        select(func.max(AuditEvent.id)).scalar_subquery(),
        select(func.max(ImportBatch.id)).scalar_subquery(),
        select(func.max(InvoiceChange.id)).scalar_subquery(),
        select(func.count(Invoice.id)).scalar_subquery(),
        select(func.max(Message.updated_at)).scalar_subquery(),
    )).one()
    return "/".join(str(v) for v in row)


def earliest_date(uow: UnitOfWork) -> date | None:
    """The first date the ledger knows (its oldest invoice date), or None when it is empty: how far back a
    date picker must reach so that an imported old ledger can be looked at."""
    return uow.session.scalar(select(func.min(Invoice.invoice_date)))


def last_import(uow: UnitOfWork) -> ImportBatch | None:
    return uow.session.scalars(select(ImportBatch).where(ImportBatch.status == "applied")
                              .order_by(ImportBatch.imported_at.desc()).limit(1)).first()


def audit_log(uow: UnitOfWork, **filters) -> pd.DataFrame:
    return queries.audit_events(uow.session, **filters)


# --- users (the YAML file) with their audit trail ---------------------------------------------------

def add_user(uow: UnitOfWork, username: str, role: str, *, actor: str, name: str | None = None,
             email: str | None = None, password: str | None = None) -> str:
    """Add a user with the password given (it must meet the password policy) or a generated one."""
    try:
        password = users.add_user(username, role, name=name, email=email, password=password)
    except users.UserError as exc:
        raise ServiceError(str(exc)) from exc
    record_audit(uow.session, actor, "user.add", "user", username, None, {"role": role})
    uow.commit()
    return password


def reset_password(uow: UnitOfWork, username: str, *, actor: str, password: str | None = None) -> str:
    """A new password for the user: the one given (it must meet the password policy) or a generated one."""
    password_given = bool(password)
    try:
        password = users.reset_password(username, password=password)
    except users.UserError as exc:
        raise ServiceError(str(exc)) from exc
    record_audit(uow.session, actor, "user.reset_password", "user", username, None,
                 {"password": "chosen" if password_given else "generated"})
    uow.commit()
    return password


def set_role(uow: UnitOfWork, username: str, role: str, *, actor: str) -> None:
    try:
        before = users.set_role(username, role)
    except users.UserError as exc:
        raise ServiceError(str(exc)) from exc
    record_audit(uow.session, actor, "user.set_role", "user", username, {"role": before}, {"role": role})
    uow.commit()
