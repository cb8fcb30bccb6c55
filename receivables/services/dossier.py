"""The debtor dossier: everything about one debtor on one page, and what a collector records while the
customer is on the phone (notes, calls, promises to pay, disputes, blocks, contact data, replies).

Every action writes an audit event; opening the dossier writes nothing. The rules live in
receivables.domain (dossier, calls, promises); the timeline is built in receivables.services.timeline and
promises are judged in receivables.services.promises."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import pandas as pd
from sqlalchemy import func, select

from db.models import Debtor, Invoice, InvoiceChange, Message, MessageInvoice, Note
from db.uow import UnitOfWork
from emails import statement as statement_doc
from receivables.domain import calls, chase, contacts, metrics, tracks
from receivables.domain import promises as rules
from receivables.domain.dossier import (
    MAX_TEXT,
    Behaviour,
    Flag,
    PendingPromise,
    RuleError,
    clean_address,
    clean_person,
    clean_phone,
    clean_text,
    header_flags,
    invoice_status,
    search_text,
)
from receivables.domain.phrases import Phrase
from receivables.domain.planning import step_rank
from receivables.domain.promises import PromiseCheck
from receivables.importing import eml as eml_parser
from receivables.services import claims, plans
from receivables.services import promises as promise_reads
from receivables.services.audit import record_audit
from receivables.services.errors import ServiceError
from receivables.services.ledger import UNSENT, drop_from_pending_messages
from receivables.services.reminder_settings import PAYMENT_KEY, load_settings
from receivables.services.settings import get_setting
from receivables.services.timeline import TimelineEntry, timeline
from receivables.services.wording import company_name

DISPUTE_DAYS_BACK = 14  # a resolved dispute gives the debtor back the days it took, at most this many


@contextmanager
def _rules() -> Iterator[None]:
    """A rule's refusal as the error the pages and the command line show."""
    try:
        yield
    except RuleError as exc:
        raise ServiceError(exc.msgid, **exc.params) from None


def parse_email_addresses(text: str | None) -> list[str]:
    """The addresses typed for a debtor, checked by the one address check; ServiceError names a bad one."""
    try:
        return contacts.clean_addresses(text)
    except contacts.AddressError as exc:
        raise ServiceError(exc.msgid, **exc.params) from None


# --- reading the dossier --------------------------------------------------------------------------

@dataclass(frozen=True)
class DebtorMatch:
    code: str
    name: str
    email: str | None
    matched_on: str


@dataclass(frozen=True)
class TrackChoice:
    name: str
    reason: Phrase


@dataclass(frozen=True)
class Header:
    code: str
    name: str
    emails: list[str]
    contact_person: str | None
    phone: str | None
    language: str
    segment: str | None
    account_manager: str | None
    payment_term_days: int
    open_cents: dict[str, int]
    overdue_cents: dict[str, int]
    behaviour: Behaviour
    track: TrackChoice
    flags: list[Flag]
    reminders_blocked: bool
    blocked_reason: str | None
    blocked_until: date | None
    address: str | None = None  # postal address, line by line


@dataclass(frozen=True)
class Dossier:
    header: Header
    invoices: pd.DataFrame
    timeline: list[TimelineEntry]
    timeline_total: int
    days_late: pd.DataFrame  # one row per paid invoice: number, paid_date, days_late, amount_cents, currency


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def find_debtors(uow: UnitOfWork, query: str, limit: int = 20) -> list[DebtorMatch]:
    """Debtors whose code, name or e-mail contains the text, or with an invoice number containing it.
    Two characters are enough; exact code matches come first."""
    with _rules():
        q = search_text(query)
    if len(q) < 2:
        return []
    s, pattern = uow.session, _like(q)
    found: dict[int, DebtorMatch] = {}

    def add(rows, how):
        for d, extra in rows:
            if d.id not in found and len(found) < limit:
                found[d.id] = DebtorMatch(d.code, d.name, d.email, how(d, extra))

    exact = s.scalars(select(Debtor).where(func.lower(Debtor.code) == q.lower())).all()
    add(((d, None) for d in exact), lambda d, _: "code")
    for column, label in ((Debtor.code, "code"), (Debtor.name, "name"), (Debtor.email, "e-mail")):
        rows = s.scalars(select(Debtor).where(func.lower(column).like(pattern, escape="\\"))
                         .order_by(Debtor.name).limit(limit)).all()
        add(((d, None) for d in rows), lambda d, _, label=label: label)
    rows = s.execute(select(Debtor, Invoice.number).join(Invoice, Invoice.debtor_id == Debtor.id)
                     .where(func.lower(Invoice.number).like(pattern, escape="\\"))
                     .order_by(Invoice.number).limit(limit)).all()
    add(rows, lambda d, number: f"invoice {number}")
    return list(found.values())


def _debtor(uow: UnitOfWork, code: str) -> Debtor:
    code = (code or "").strip()
    debtor = None if "\x00" in code else uow.session.scalars(select(Debtor).where(Debtor.code == code)).first()
    if debtor is None:
        raise ServiceError("there is no debtor with code '{code}'; search by name, e-mail or invoice number",
                           code=code)
    return debtor


def grace_days(uow: UnitOfWork) -> int:
    """Days after the promised date the money may still arrive."""
    return promise_reads.grace_days(uow.session)


def _written_off(uow: UnitOfWork, debtor_id: int) -> set[int]:
    return set(uow.session.scalars(select(InvoiceChange.invoice_id).join(Invoice).where(
        Invoice.debtor_id == debtor_id, InvoiceChange.kind == "write_off")))


def broken_promises(uow: UnitOfWork, debtor_id: int, since: date) -> int:
    """Promises to pay of this debtor, due since `since`, that were broken (the reminder engine counts
    these against the debtor's behaviour)."""
    return uow.session.scalar(select(func.count()).select_from(Note).where(
        Note.debtor_id == debtor_id, Note.kind == "promise", Note.outcome == "broken",
        Note.promise_date >= since)) or 0


def _broken_since(uow: UnitOfWork, debtor_id: int, since: date, verdicts: dict[int, PromiseCheck]) -> int:
    """`broken_promises` as the next review will leave them (the reminder engine reviews before it chooses),
    and the payment plans broken since then, which count alike."""
    rows = uow.session.execute(select(Note.id, Note.outcome).where(
        Note.debtor_id == debtor_id, Note.kind == "promise", Note.promise_date >= since)).all()
    promises = sum(1 for note_id, outcome in rows
                   if (verdicts[note_id].outcome if note_id in verdicts else outcome) == "broken")
    return promises + plans.broken_since(uow.session, since, debtor_id).get(debtor_id, 0)


def payment_behaviour(uow: UnitOfWork, debtor: Debtor, invoices: list[Invoice], as_of: date,
                      months: int = 12, verdicts: dict[int, PromiseCheck] | None = None) -> Behaviour:
    """The debtor's payment behaviour over the last `months` months, as the analytics define it
    (paid = settled and not written off; credit notes left out), with the promises broken in that time as
    the next review judges them (`verdicts`, read when not given)."""
    since = as_of - timedelta(days=365 * months // 12)  # as the reminder engine counts broken promises
    if verdicts is None:
        verdicts = promise_reads.verdicts(uow.session, debtor.id, as_of)
    written_off = _written_off(uow, debtor.id)
    paid = pd.DataFrame([{"debtor_id": debtor.id, "code": debtor.code, "amount_cents": i.amount_cents,
                          "invoice_date": i.invoice_date, "due_date": i.due_date, "paid_date": i.settled_date}
                         for i in invoices if i.settled_date and i.amount_cents > 0 and i.id not in written_off],
                        columns=["debtor_id", "code", "amount_cents", "invoice_date", "due_date", "paid_date"])
    rows = metrics.payment_behaviour(paid, as_of, months)
    broken = _broken_since(uow, debtor.id, since, verdicts)
    if rows.empty:
        return Behaviour(0, None, None, None, None, broken)
    r = rows.iloc[0]

    def num(v):
        return None if pd.isna(v) else float(v)

    return Behaviour(int(r["invoices_paid"]), num(r["avg_days_late"]), num(r["share_paid_late"]),
                     num(r["share_paid_late_30"]), num(r["trend"]), broken)


def track_signals(uow: UnitOfWork, debtor: Debtor, invoices: list[Invoice], behaviour: Behaviour, today: date,
                  tracks_by_key: dict) -> dict:
    """The signals the track rules read, for one debtor: the same definitions as the reminder engine's
    `behaviour_signals` (which computes them for every debtor at once)."""
    since = today - timedelta(days=365)
    signals: dict = {"invoices_paid": behaviour.invoices_paid, "avg_days_late": behaviour.avg_days_late or 0.0,
                     "share_paid_late": behaviour.share_paid_late or 0.0,
                     "share_paid_late_30": behaviour.share_paid_late_30 or 0.0}
    if behaviour.broken_promises:
        signals["broken_promises"] = behaviour.broken_promises
    disputes = sum(1 for i in invoices if i.disputed and i.open_cents > 0)
    if disputes:
        signals["open_disputes"] = disputes
    if invoices:
        signals["debtor_age_days"] = (today - min(i.invoice_date for i in invoices)).days
    sent = uow.session.execute(select(Message.track, Message.step_name).where(
        Message.debtor_id == debtor.id, Message.status == "sent",
        Message.sent_at >= datetime.combine(since, time.min)).distinct()).all()
    for track_key, step_key in sent:
        signals["highest_step"] = max(signals.get("highest_step", 0), step_rank(tracks_by_key, track_key, step_key))
    return signals


def debtor_signals(uow: UnitOfWork, code: str, today: date) -> dict:
    """`track_signals` of the debtor with this code."""
    debtor = _debtor(uow, code)
    invoices = list(uow.session.scalars(select(Invoice).where(Invoice.debtor_id == debtor.id)))
    behaviour = payment_behaviour(uow, debtor, invoices, today)
    return track_signals(uow, debtor, invoices, behaviour, today, load_settings(uow.session).tracks)


def reminder_track(uow: UnitOfWork, debtor: Debtor, invoices: list[Invoice], behaviour: Behaviour,
                   today: date) -> TrackChoice:
    """The reminder track in force for this debtor and why, chosen by the reminder engine's rules."""
    cfg = load_settings(uow.session)
    signals = track_signals(uow, debtor, invoices, behaviour, today, cfg.tracks)
    name, reason = tracks.choose_track(signals, cfg.rules, debtor.track_override, cfg.tracks)
    return TrackChoice(name, reason)


def _emails(value: str | None) -> list[str]:
    return [e.strip() for e in re.split(r"[,;\n]+", value or "") if e.strip()]


def _amounts(invoices: list[Invoice], today: date) -> tuple[dict[str, int], dict[str, int]]:
    """Open and overdue per currency."""
    open_c: dict[str, int] = {}
    overdue: dict[str, int] = {}
    for inv in invoices:
        if inv.open_cents == 0:
            continue
        open_c[inv.currency] = open_c.get(inv.currency, 0) + inv.open_cents
        if inv.due_date < today:
            overdue[inv.currency] = overdue.get(inv.currency, 0) + inv.open_cents
    return open_c, overdue


def _flags(uow: UnitOfWork, debtor: Debtor, invoices: list[Invoice], today: date, blocked: bool,
           behaviour: Behaviour, verdicts: dict[int, PromiseCheck]) -> list[Flag]:
    pending = [PendingPromise(p.promise_cents or 0, (p.data or {}).get("currency", "EUR"), p.promise_date)
               for p in uow.session.scalars(select(Note).where(Note.debtor_id == debtor.id, Note.kind == "promise",
                                                               Note.outcome == "pending"))
               if p.id not in verdicts]
    barred = claims.time_barred(uow.session, today, [debtor.id])
    return header_flags(
        blocked=blocked, blocked_until=debtor.blocked_until, pending=pending,
        disputed=sum(1 for i in invoices if i.disputed and i.open_cents != 0),
        broken_promises=behaviour.broken_promises, time_barred=[f.number for f in barred.values()],
        paused=sum(1 for i in invoices if i.paused_until and i.paused_until >= today and i.open_cents > 0))


def _header(uow: UnitOfWork, debtor: Debtor, invoices: list[Invoice], today: date,
            verdicts: dict[int, PromiseCheck]) -> Header:
    open_c, overdue = _amounts(invoices, today)
    behaviour = payment_behaviour(uow, debtor, invoices, today, verdicts=verdicts)
    # a block whose until-date has passed no longer holds anything back (the engine resumes): not blocked
    blocked = chase.debtor_blocked(debtor.reminders_blocked, debtor.blocked_until, today)
    flags = _flags(uow, debtor, invoices, today, blocked, behaviour, verdicts)
    return Header(debtor.code, debtor.name, _emails(debtor.email), debtor.contact_person, debtor.phone,
                  debtor.language, debtor.segment, debtor.account_manager, debtor.payment_term_days,
                  open_c, overdue, behaviour, reminder_track(uow, debtor, invoices, behaviour, today), flags,
                  blocked, debtor.blocked_reason if blocked else None, debtor.blocked_until if blocked else None,
                  debtor.address)


INVOICE_COLUMNS = ["number", "invoice_date", "due_date", "currency", "amount_cents", "open_cents", "status",
                   "settled_date", "days_late", "disputed", "paused_until", "reminder_step", "next_step",
                   "next_step_date"]


def _reminder_steps(uow: UnitOfWork, debtor_id: int) -> dict[int, dict]:
    """Per invoice: the last reminder step sent and the next one planned, from the message rows."""
    rows = uow.session.execute(
        select(MessageInvoice.invoice_id, MessageInvoice.active, Message.status, Message.step_index,
               Message.step_name, Message.planned_date, Message.postponed_until, Message.sent_at)
        .join(Message, Message.id == MessageInvoice.message_id)
        .where(Message.debtor_id == debtor_id)).all()
    out: dict[int, dict] = {}
    for inv_id, active, status, index, name, planned, postponed, sent_at in rows:
        cur = out.setdefault(inv_id, {})
        if status == "sent" and active and (cur.get("sent_index", -1) < index):
            cur.update(sent_index=index, reminder_step=f"{name} (sent {sent_at:%d-%m-%Y})" if sent_at else name)
        if status in UNSENT and active:
            when = postponed or planned
            if "next_step_date" not in cur or when < cur["next_step_date"]:
                cur.update(next_step=f"{name} ({status})", next_step_date=when)
    return out


def _days_late(inv: Invoice, today: date) -> int | None:
    """Days late of a paid invoice when it was paid, of an open one today; none for a credit note."""
    if inv.amount_cents < 0:
        return None
    paid = inv.open_cents == 0 and inv.settled_date is not None
    return metrics.days_late(due=inv.due_date, on=inv.settled_date if paid else today)


def _invoice_frame(uow: UnitOfWork, debtor: Debtor, invoices: list[Invoice], today: date) -> pd.DataFrame:
    steps = _reminder_steps(uow, debtor.id)
    rows = []
    for inv in invoices:
        step = steps.get(inv.id, {})
        rows.append({"number": inv.number, "invoice_date": inv.invoice_date, "due_date": inv.due_date,
                     "currency": inv.currency, "amount_cents": inv.amount_cents, "open_cents": inv.open_cents,
                     "status": invoice_status(inv.amount_cents, inv.open_cents), "settled_date": inv.settled_date,
                     "days_late": _days_late(inv, today), "disputed": bool(inv.disputed),
                     "paused_until": inv.paused_until if inv.paused_until and inv.paused_until >= today else None,
                     "reminder_step": step.get("reminder_step"), "next_step": step.get("next_step"),
                     "next_step_date": step.get("next_step_date")})
    frame = pd.DataFrame(rows, columns=INVOICE_COLUMNS)
    frame["days_late"] = frame["days_late"].astype("Int64")
    for c in ("amount_cents", "open_cents"):
        frame[c] = frame[c].astype("int64")
    frame["disputed"] = frame["disputed"].astype(bool)
    return frame.sort_values(["invoice_date", "number"], ascending=False, ignore_index=True)


def _paid_days_late(uow: UnitOfWork, debtor: Debtor, invoices: list[Invoice]) -> pd.DataFrame:
    written_off = _written_off(uow, debtor.id)
    paid = [{"number": i.number, "paid_date": i.settled_date,
             "days_late": metrics.days_late(due=i.due_date, on=i.settled_date),
             "amount_cents": i.amount_cents, "currency": i.currency}
            for i in invoices if i.settled_date and i.amount_cents > 0 and i.open_cents == 0
            and i.id not in written_off]
    days = pd.DataFrame(paid, columns=["number", "paid_date", "days_late", "amount_cents", "currency"])
    return days.sort_values("paid_date", ignore_index=True)


def open_dossier(uow: UnitOfWork, code: str, today: date | None = None, kinds: Iterable[str] | None = None,
                 limit: int | None = None) -> Dossier:
    """Header, invoices, the timeline (newest first, only `kinds` when given) and days late per paid invoice.
    Reads only: a promise whose date has passed shows as the next review will record it."""
    today = today or date.today()
    debtor = _debtor(uow, code)
    invoices = list(uow.session.scalars(select(Invoice).where(Invoice.debtor_id == debtor.id)))
    verdicts = promise_reads.verdicts(uow.session, debtor.id, today)
    entries = timeline(uow.session, debtor.id, invoices, verdicts)
    if kinds is not None:
        wanted = set(kinds)
        entries = [e for e in entries if e.kind in wanted]
    total = len(entries)
    if limit is not None:
        entries = entries[:limit]
    return Dossier(_header(uow, debtor, invoices, today, verdicts), _invoice_frame(uow, debtor, invoices, today),
                   entries, total, _paid_days_late(uow, debtor, invoices))


# --- the statement of account -----------------------------------------------------------------------

STATEMENT_FORMATS = {"pdf": "application/pdf",
                     "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


@dataclass(frozen=True)
class StatementFile:
    name: str
    data: bytes
    mime: str


def statement(uow: UnitOfWork, code: str, fmt: str, lang: str | None = None,
              today: date | None = None) -> StatementFile:
    """The statement of account (rekeningoverzicht) of the debtor's open items, oldest due first, as PDF or
    workbook in `lang` (the debtor's own language when not given). Reads only."""
    today = today or date.today()
    if fmt not in STATEMENT_FORMATS:
        raise ServiceError("the statement comes as pdf or xlsx, not '{fmt}'", fmt=fmt)
    debtor = _debtor(uow, code)
    items = list(uow.session.scalars(select(Invoice).where(Invoice.debtor_id == debtor.id, Invoice.open_cents != 0)
                                     .order_by(Invoice.due_date, Invoice.number)))
    currencies = sorted({i.currency for i in items}) or ["EUR"]
    if len(currencies) > 1:
        raise ServiceError("the open items of {code} are in several currencies ({currencies}); the statement "
                           "needs one", code=debtor.code, currencies=", ".join(currencies))
    lang = lang or (debtor.language if debtor.language in contacts.LANGUAGES else contacts.FALLBACK_LANGUAGE)
    rows = [statement_doc.Row(i.number, i.invoice_date, i.due_date, i.open_cents) for i in items]
    company = company_name(get_setting(uow.session, PAYMENT_KEY))
    make = statement_doc.statement_pdf if fmt == "pdf" else statement_doc.statement_xlsx
    data = make(rows, company=company, debtor_code=debtor.code, debtor_name=debtor.name, currency=currencies[0],
                on=today, language=lang)
    return StatementFile(statement_doc.file_name(debtor.code, today, lang, fmt), data, STATEMENT_FORMATS[fmt])


# --- actions --------------------------------------------------------------------------------------

def _text(value: str | None, what: str, required: bool = True) -> str:
    with _rules():
        return clean_text(value, what, required=required)


def _note(uow: UnitOfWork, debtor: Debtor, kind: str, text: str, actor: str, **fields) -> Note:
    note = Note(debtor_id=debtor.id, kind=kind, text=text, created_by=actor, **fields)
    uow.session.add(note)
    uow.session.flush()
    return note


def add_note(uow: UnitOfWork, code: str, text: str, *, actor: str) -> int:
    """A free-text note on the debtor. Returns the note id."""
    debtor = _debtor(uow, code)
    note = _note(uow, debtor, "note", _text(text, "the note"), actor)
    record_audit(uow.session, actor, "note.add", "debtor", debtor.code, None, {"note_id": note.id})
    uow.commit()
    return note.id


def log_call(uow: UnitOfWork, code: str, outcome: str, text: str = "", *, actor: str) -> int:
    """A phone call with its outcome (one of receivables.domain.calls.CALL_OUTCOMES) and what was said."""
    with _rules():
        summary = calls.call_note(outcome, text)
    debtor = _debtor(uow, code)
    note = _note(uow, debtor, "call", summary, actor, outcome=outcome)
    record_audit(uow.session, actor, "call.log", "debtor", debtor.code, None,
                 {"note_id": note.id, "outcome": outcome})
    uow.commit()
    return note.id


def _debtor_invoices(uow: UnitOfWork, debtor: Debtor, numbers: Iterable[str]) -> list[Invoice]:
    wanted = [n.strip() for n in numbers if n and n.strip()]
    if not wanted:
        return []
    found = {i.number: i for i in uow.session.scalars(select(Invoice).where(Invoice.number.in_(wanted)))}
    with _rules():
        own = rules.own_numbers(wanted, {n: i.debtor_id for n, i in found.items()}, debtor.id,
                                debtor=f"{debtor.name} ({debtor.code})")
    return [found[n] for n in own]


def promise_to_pay(uow: UnitOfWork, code: str, promise_date: date, amount_cents: int | None = None,
                   invoice_numbers: Iterable[str] = (), text: str = "", *, actor: str,
                   today: date | None = None) -> int:
    """Record a promise to pay. Reminders for the promised invoices (all open overdue invoices when none
    are chosen) pause until the promised date plus the grace period and leave unsent messages."""
    today = today or date.today()
    debtor = _debtor(uow, code)
    with _rules():
        rules.check_date(promise_date, today)
    chosen = _debtor_invoices(uow, debtor, invoice_numbers)
    open_invoices = [] if chosen else list(uow.session.scalars(select(Invoice).where(
        Invoice.debtor_id == debtor.id, Invoice.open_cents > 0).order_by(Invoice.due_date)))
    with _rules():
        chosen, currency = rules.covered_invoices(chosen, open_invoices, today, debtor=debtor.name)
        open_total = sum(i.open_cents for i in chosen)
        amount = rules.promised_amount(amount_cents, open_total)
    text = _text(text, "the note", required=False)
    paused_until = rules.deadline(promise_date, grace_days(uow))
    before = {i.number: i.paused_until for i in chosen}
    for inv in chosen:
        inv.paused_until = max(inv.paused_until or paused_until, paused_until)
    drop_from_pending_messages(uow.session, [i.id for i in chosen])
    note = _note(uow, debtor, "promise", text, actor, outcome="pending", promise_date=promise_date,
                 promise_cents=amount, promise_invoice_ids=[i.id for i in chosen],
                 data={"currency": currency, "paused_until": paused_until.isoformat(), "open_cents": open_total})
    record_audit(uow.session, actor, "promise.add", "debtor", debtor.code, {"paused_until": before},
                 {"note_id": note.id, "promise_date": promise_date, "amount_cents": amount,
                  "invoices": [i.number for i in chosen], "paused_until": paused_until})
    uow.commit()
    return note.id


def _invoice_of(uow: UnitOfWork, code: str, number: str) -> tuple[Debtor, Invoice]:
    debtor = _debtor(uow, code)
    invoices = _debtor_invoices(uow, debtor, [number])
    if not invoices:
        raise ServiceError("choose the invoice")
    return debtor, invoices[0]


def dispute_invoice(uow: UnitOfWork, code: str, number: str, reason: str, *, actor: str) -> int:
    """The invoice is contested: it leaves the reminder track (and unsent messages) until resolved."""
    debtor, inv = _invoice_of(uow, code, number)
    reason = _text(reason, "the reason of the dispute")
    if inv.disputed:
        raise ServiceError("invoice {number} is already disputed; resolve that dispute first", number=inv.number)
    if inv.open_cents <= 0:
        raise ServiceError("invoice {number} has nothing open, so there is nothing to dispute", number=inv.number)
    inv.disputed = True
    cancelled = drop_from_pending_messages(uow.session, [inv.id])
    note = _note(uow, debtor, "dispute", reason, actor, invoice_id=inv.id)
    record_audit(uow.session, actor, "invoice.dispute", "invoice", inv.number, {"disputed": False},
                 {"disputed": True, "note_id": note.id, "cancelled_messages": cancelled})
    uow.commit()
    return note.id


def resolve_dispute(uow: UnitOfWork, code: str, number: str, text: str = "", *, actor: str,
                    today: date | None = None) -> int:
    """The dispute is settled in the debtor's favour or explained: the invoice returns to its reminder track,
    and the days it was in dispute are not counted against the debtor (its reminders wait as many days
    again, DISPUTE_DAYS_BACK at most)."""
    today = today or date.today()
    debtor, inv = _invoice_of(uow, code, number)
    if not inv.disputed:
        raise ServiceError("invoice {number} is not disputed", number=inv.number)
    opened = uow.session.scalar(select(func.max(Note.created_at)).where(Note.invoice_id == inv.id,
                                                                         Note.kind == "dispute"))
    days = min(max(0, (today - opened.date()).days), DISPUTE_DAYS_BACK) if opened else 0
    before = {"disputed": True, "paused_until": inv.paused_until}
    inv.disputed = False
    if days:
        inv.paused_until = max(inv.paused_until or today, today + timedelta(days=days))
    note = _note(uow, debtor, "dispute_resolved", _text(text, "the resolution", required=False), actor,
                 invoice_id=inv.id, data={"days_back": days, "paused_until": inv.paused_until.isoformat()
                                          if inv.paused_until else None})
    record_audit(uow.session, actor, "invoice.resolve_dispute", "invoice", inv.number, before,
                 {"disputed": False, "note_id": note.id, "paused_until": inv.paused_until})
    uow.commit()
    return note.id


def reject_dispute(uow: UnitOfWork, code: str, number: str, text: str, *, actor: str) -> Debtor:
    """The dispute does not hold: the invoice returns to its reminder track at once, with why in the dossier.
    Inside the caller's transaction (the portal's service commits it and writes the debtor)."""
    debtor, inv = _invoice_of(uow, code, number)
    if not inv.disputed:
        raise ServiceError("invoice {number} is not disputed", number=inv.number)
    text = _text(text, "the message to the debtor")
    inv.disputed = False
    note = _note(uow, debtor, "dispute_rejected", text, actor, invoice_id=inv.id)
    record_audit(uow.session, actor, "invoice.reject_dispute", "invoice", inv.number, {"disputed": True},
                 {"disputed": False, "note_id": note.id})
    return debtor


def block_reminders(uow: UnitOfWork, code: str, reason: str, until: date | None = None, *, actor: str,
                    today: date | None = None) -> int:
    """Stop reminders for the debtor, with a reason and optionally until a date."""
    note_id = record_block(uow, code, reason, until, actor=actor, today=today)
    uow.commit()
    return note_id


def record_block(uow: UnitOfWork, code: str, reason: str, until: date | None = None, *, actor: str,
                 today: date | None = None) -> int:
    """`block_reminders` inside the caller's transaction, which commits it (the queue blocks the debtor
    and its unsent messages all at once)."""
    today = today or date.today()
    debtor = _debtor(uow, code)
    reason = _text(reason, "the reason for blocking")
    if until is not None and until <= today:
        raise ServiceError("'blocked until' {day} is not in the future; pick a later date or leave it empty to "
                           "block until unblocked", day=f"{until:%d-%m-%Y}")
    before = {"blocked": debtor.reminders_blocked, "reason": debtor.blocked_reason, "until": debtor.blocked_until}
    debtor.reminders_blocked, debtor.blocked_reason, debtor.blocked_until = True, reason, until
    note = _note(uow, debtor, "block", reason, actor, data={"until": until.isoformat() if until else None})
    record_audit(uow.session, actor, "debtor.block", "debtor", debtor.code, before,
                 {"blocked": True, "reason": reason, "until": until, "note_id": note.id})
    return note.id


def unblock_reminders(uow: UnitOfWork, code: str, text: str = "", *, actor: str) -> int:
    """Reminders for the debtor resume."""
    debtor = _debtor(uow, code)
    if not debtor.reminders_blocked:
        raise ServiceError("reminders for {name} are not blocked", name=debtor.name)
    before = {"blocked": True, "reason": debtor.blocked_reason, "until": debtor.blocked_until}
    debtor.reminders_blocked, debtor.blocked_reason, debtor.blocked_until = False, None, None
    note = _note(uow, debtor, "unblock", _text(text, "the note", required=False), actor)
    record_audit(uow.session, actor, "debtor.unblock", "debtor", debtor.code, before,
                 {"blocked": False, "note_id": note.id})
    uow.commit()
    return note.id


def update_contact(uow: UnitOfWork, code: str, *, emails: str | list[str] | None, language: str,
                   contact_person: str | None = None, phone: str | None = None, address: str | None = None,
                   actor: str) -> list[str]:
    """Change the contact data reminders use. Returns the validated e-mail addresses."""
    debtor = _debtor(uow, code)
    addresses = parse_email_addresses(emails if isinstance(emails, str) or emails is None else ", ".join(emails))
    if language not in contacts.LANGUAGES:
        raise ServiceError("language '{language}' is not supported; choose one of: {languages}", language=language,
                           languages=", ".join(contacts.LANGUAGES))
    with _rules():
        phone, person, postal = clean_phone(phone), clean_person(contact_person), clean_address(address)
    # an address that bounced is used again once a person enters it here (again, or as it stands: confirmed)
    before = {"email": debtor.email, "language": debtor.language, "contact_person": debtor.contact_person,
              "phone": debtor.phone, "address": debtor.address, "email_bouncing": debtor.email_bouncing}
    after = {"email": ", ".join(addresses) or None, "language": language, "contact_person": person,
             "phone": phone, "address": postal, "email_bouncing": contacts.confirmed(debtor.email_bouncing, addresses)}
    changed = {k: v for k, v in after.items() if before[k] != v}
    if not changed:
        raise ServiceError("nothing changed; edit a field before saving")
    debtor.email, debtor.language, debtor.contact_person, debtor.phone = (after["email"], language, person, phone)
    debtor.address, debtor.email_bouncing = postal, after["email_bouncing"]
    summary = "\n".join(f"{k.replace('_', ' ')}: {before[k] or '—'} → {v or '—'}" for k, v in changed.items())
    note = _note(uow, debtor, "contact_change", summary, actor, data={"before": before, "after": after})
    record_audit(uow.session, actor, "debtor.contact", "debtor", debtor.code,
                 {k: before[k] for k in changed}, {**changed, "note_id": note.id})
    uow.commit()
    return addresses


def _bare(mid: str) -> str:
    return mid.strip().strip("<>").strip()


def _answered(uow: UnitOfWork, debtor: Debtor, mail: eml_parser.ParsedEmail) -> Message | None:
    """The reminder a mail answers (by In-Reply-To/References), when it is one of ours to this debtor."""
    s = uow.session
    if mail.message_id:
        for n in s.scalars(select(Note).where(Note.debtor_id == debtor.id, Note.kind == "reply")):
            if (n.data or {}).get("message_id") == mail.message_id:
                raise ServiceError("this e-mail was already recorded on {day:%d-%m-%Y} by {by}", day=n.created_at,
                                   by=n.created_by)
    candidates = {c for mid in mail.answers for c in (mid, f"<{mid}>")}
    if not candidates:
        return None
    hits = s.scalars(select(Message).where(Message.smtp_message_id.in_(candidates))).all()
    order = {mid: n for n, mid in enumerate(mail.answers)}
    hits.sort(key=lambda m: order.get(_bare(m.smtp_message_id or ""), 99))
    for m in hits:
        if m.debtor_id != debtor.id:
            other = s.get(Debtor, m.debtor_id)
            raise ServiceError("this e-mail answers a reminder sent to {name} ({code}); record it in that "
                               "debtor's dossier", name=other.name, code=other.code)
    return hits[0] if hits else None


def record_reply(uow: UnitOfWork, code: str, *, actor: str, text: str | None = None,
                 eml: bytes | None = None, file_name: str | None = None) -> int:
    """Record the debtor's reply: pasted text, or an uploaded .eml (linked to the reminder it answers
    when its In-Reply-To/References name one of our Message-IDs). Returns the note id."""
    debtor = _debtor(uow, code)
    linked = None
    if eml:
        try:
            mail = eml_parser.parse_eml(eml)
        except eml_parser.EmlError as exc:
            raise ServiceError("{file}: {problem}", file=file_name or "the file", problem=str(exc)) from exc
        linked = _answered(uow, debtor, mail)
        data = {"source": "eml", "file_name": file_name, "from": mail.sender, "subject": mail.subject,
                "sent_at": mail.sent_at.isoformat() if mail.sent_at else None, "message_id": mail.message_id,
                "in_reply_to": mail.in_reply_to, "references": mail.references, "attachments": mail.attachments}
        note = _note(uow, debtor, "reply", mail.body[:MAX_TEXT], actor,
                     message_id=linked.id if linked else None, data=data)
    else:
        note = _note(uow, debtor, "reply", _text(text, "the reply"), actor, data={"source": "pasted"})
    record_audit(uow.session, actor, "reply.record", "debtor", debtor.code, None,
                 {"note_id": note.id, "message_id": linked.id if linked else None,
                  "source": "eml" if eml else "pasted"})
    uow.commit()
    return note.id


# --- promises -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PromiseReview:
    kept: list[int]
    broken: list[int]


def _open_promises(uow: UnitOfWork, today: date, grace: int, code: str | None):
    """Promises a review looks at: pending ones, and recently broken ones a late import may still keep."""
    return promise_reads.to_review(today, grace, None if code is None else _debtor(uow, code).id)


def review_promises(uow: UnitOfWork, today: date | None = None, *, code: str | None = None,
                    actor: str = "system") -> PromiseReview:
    """Mark pending promises kept (paid by the promised date + grace) or broken (unpaid after it). A
    promise marked broken whose payment shows up later in an import, dated in time, becomes kept."""
    today = today or date.today()
    s = uow.session
    grace = grace_days(uow)
    query = _open_promises(uow, today, grace, code)
    promises = s.scalars(query.order_by(Note.id).with_for_update()).all()
    kept, broken = [], []
    for p in promises:
        data = dict(p.data or {})
        if p.outcome == "broken" and not data.get("reviewed_by"):
            continue  # set by hand, leave it
        deadline = p.promise_date + timedelta(days=grace)
        check = _check(uow, p, deadline, today)
        if check.outcome == (p.outcome or "pending") or check.outcome == "pending":
            continue
        if p.outcome == "broken" and check.outcome != "kept":
            continue
        before = p.outcome
        p.outcome = check.outcome
        p.data = {**data, "resolved_on": check.resolved_on.isoformat(), "paid_cents": check.paid_cents,
                  "reviewed_by": actor, "reviewed_on": today.isoformat()}
        record_audit(s, actor, f"promise.{check.outcome}", "note", p.id, {"outcome": before},
                     {"outcome": check.outcome, "paid_cents": check.paid_cents, "deadline": deadline})
        (kept if check.outcome == "kept" else broken).append(p.id)
    uow.commit()
    return PromiseReview(kept, broken)


def _check(uow: UnitOfWork, p: Note, deadline: date, today: date) -> PromiseCheck:
    return promise_reads.check(uow.session, p, deadline, today)
