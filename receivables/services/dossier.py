"""The debtor dossier: everything about one debtor on one page, and what a collector records while the
customer is on the phone (notes, calls, promises to pay, disputes, blocks, contact data, replies).

Every action writes an audit event. The pure rules (payment behaviour, e-mail addresses, promise
outcomes) are plain functions at the top; the services below take a unit of work."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import pandas as pd
from sqlalchemy import func, or_, select

from db.models import (
    AuditEvent,
    Debtor,
    Invoice,
    InvoiceChange,
    Message,
    MessageInvoice,
    Note,
    SendAttempt,
)
from db.uow import UnitOfWork
from receivables.domain import contacts, metrics, tracks
from receivables.domain.money import fmt
from receivables.domain.planning import step_rank
from receivables.importing import eml as eml_parser
from receivables.services import claims
from receivables.services.audit import record_audit
from receivables.services.errors import ServiceError
from receivables.services.ledger import UNSENT, drop_from_pending_messages
from receivables.services.reminder_settings import load_settings
from receivables.services.settings import get_setting

CALL_OUTCOMES = ("reached", "no answer", "wrong number")
LANGUAGES = contacts.LANGUAGES  # the dossier offers the languages we write in
GRACE_SETTING = "promise_grace_days"
DEFAULT_GRACE_DAYS = 3
PROMISE_PAYMENT_KINDS = ("payment", "credit")
PROMISE_LOOKBACK_DAYS = 14
# the kinds the timeline can be filtered by, in the order the filter shows them
TIMELINE_KINDS = ("invoice", "payment", "note", "call", "promise", "dispute", "reminder", "reply", "block",
                  "contact")
NOTE_KIND_TO_TIMELINE = {"note": "note", "call": "call", "promise": "promise", "dispute": "dispute",
                         "dispute_resolved": "dispute", "reply": "reply", "block": "block", "unblock": "block",
                         "contact_change": "contact", "interruption": "reminder"}
MAX_TEXT = 20_000

_PHONE = re.compile(r"^\+?[0-9 ()./-]{6,30}$")


# --- pure rules -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Behaviour:
    """Payment behaviour over the last 12 months (definitions in receivables.domain.metrics): amount-weighted
    average days late, share of invoices paid late, and the trend in days (recent 3 months minus the
    months before; positive = paying later)."""

    invoices_paid: int
    avg_days_late: float | None
    share_paid_late: float | None
    share_paid_late_30: float | None
    trend_days: float | None
    broken_promises: int = 0

    @property
    def trend(self) -> str:
        return trend_label(self.trend_days)


def trend_label(trend_days: float | None) -> str:
    """A change of more than a week in average days late is a trend; less is noise."""
    if trend_days is None or trend_days != trend_days:
        return "not enough history"
    if trend_days > 7:
        return "worsening"
    if trend_days < -7:
        return "improving"
    return "steady"


def days_late(due: date, paid: date) -> int:
    return max(0, (paid - due).days)


def parse_email_addresses(text: str | None) -> list[str]:
    """The addresses typed for a debtor, checked by the one address check; ServiceError names a bad one."""
    try:
        return contacts.clean_addresses(text)
    except contacts.AddressError as exc:
        raise ServiceError(str(exc)) from None


@dataclass(frozen=True)
class PromiseCheck:
    outcome: str  # pending | kept | broken
    paid_cents: int
    resolved_on: date | None


def check_promise(promised_cents: int, made_on: date, deadline: date, payments: list[tuple[date, int]],
                  today: date, all_settled_on: date | None = None) -> PromiseCheck:
    """A promise is kept once the money received for it reaches the promised amount (or every invoice
    it covers is settled) by the deadline (promised date + grace); broken when the deadline has passed
    without that. `payments` are the (date, cents received) that count for this promise."""
    paid, kept_on = 0, None
    for when, cents in sorted(payments):
        if when > deadline:
            continue
        paid += cents
        if kept_on is None and paid >= promised_cents:
            kept_on = when
    if all_settled_on is not None and all_settled_on <= deadline:
        kept_on = min(kept_on, all_settled_on) if kept_on else all_settled_on
    if kept_on is not None and kept_on <= today:
        # money that left the debtor's bank before the promise was written down keeps it that day
        return PromiseCheck("kept", paid, max(kept_on, min(made_on, today)))
    if today > deadline:
        return PromiseCheck("broken", paid, deadline + timedelta(days=1))
    return PromiseCheck("pending", paid, None)


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
    reason: str


@dataclass(frozen=True)
class Flag:
    label: str
    level: str  # red | orange | blue | gray


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
class TimelineEntry:
    at: datetime
    kind: str  # one of TIMELINE_KINDS
    title: str
    text: str = ""
    by: str = ""
    details: list[str] = field(default_factory=list)


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
    q = (query or "").strip()
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
    debtor = uow.session.scalars(select(Debtor).where(Debtor.code == (code or "").strip())).first()
    if debtor is None:
        raise ServiceError(f"there is no debtor with code '{code}'; search by name, e-mail or invoice number")
    return debtor


def grace_days(uow: UnitOfWork) -> int:
    try:
        return max(0, int(get_setting(uow.session, GRACE_SETTING, DEFAULT_GRACE_DAYS)))
    except (TypeError, ValueError):
        return DEFAULT_GRACE_DAYS


def _written_off(uow: UnitOfWork, debtor_id: int) -> set[int]:
    return set(uow.session.scalars(select(InvoiceChange.invoice_id).join(Invoice).where(
        Invoice.debtor_id == debtor_id, InvoiceChange.kind == "write_off")))


def broken_promises(uow: UnitOfWork, debtor_id: int, since: date) -> int:
    """Promises to pay of this debtor, due since `since`, that were broken (the reminder engine counts
    these against the debtor's behaviour)."""
    return uow.session.scalar(select(func.count()).select_from(Note).where(
        Note.debtor_id == debtor_id, Note.kind == "promise", Note.outcome == "broken",
        Note.promise_date >= since)) or 0


def payment_behaviour(uow: UnitOfWork, debtor: Debtor, invoices: list[Invoice], as_of: date,
                      months: int = 12) -> Behaviour:
    """The debtor's payment behaviour over the last `months` months, as the analytics define it
    (paid = settled and not written off; credit notes left out)."""
    since = as_of - timedelta(days=365 * months // 12)  # as the reminder engine counts broken promises
    written_off = _written_off(uow, debtor.id)
    paid = pd.DataFrame([{"debtor_id": debtor.id, "code": debtor.code, "amount_cents": i.amount_cents,
                          "invoice_date": i.invoice_date, "due_date": i.due_date, "paid_date": i.settled_date}
                         for i in invoices if i.settled_date and i.amount_cents > 0 and i.id not in written_off],
                        columns=["debtor_id", "code", "amount_cents", "invoice_date", "due_date", "paid_date"])
    rows = metrics.payment_behaviour(paid, as_of, months)
    broken = broken_promises(uow, debtor.id, since)
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


def _header(uow: UnitOfWork, debtor: Debtor, invoices: list[Invoice], today: date) -> Header:
    open_c: dict[str, int] = {}
    overdue: dict[str, int] = {}
    for inv in invoices:
        if inv.open_cents == 0:
            continue
        open_c[inv.currency] = open_c.get(inv.currency, 0) + inv.open_cents
        if inv.due_date < today:
            overdue[inv.currency] = overdue.get(inv.currency, 0) + inv.open_cents
    behaviour = payment_behaviour(uow, debtor, invoices, today)
    flags: list[Flag] = []
    # a block whose until-date has passed no longer holds anything back (the engine resumes): not blocked
    blocked = bool(debtor.reminders_blocked) and (debtor.blocked_until is None or debtor.blocked_until >= today)
    if blocked:
        until = f" until {debtor.blocked_until:%d-%m-%Y}" if debtor.blocked_until else ""
        flags.append(Flag(f"reminders blocked{until}", "red"))
    disputed = [i for i in invoices if i.disputed and i.open_cents != 0]
    if disputed:
        flags.append(Flag(f"{len(disputed)} disputed invoice{'s' if len(disputed) > 1 else ''}", "orange"))
    for p in uow.session.scalars(select(Note).where(Note.debtor_id == debtor.id, Note.kind == "promise",
                                                    Note.outcome == "pending").order_by(Note.promise_date)):
        currency = (p.data or {}).get("currency", "EUR")
        flags.append(Flag(f"promise pending: {fmt(p.promise_cents or 0, currency)} by "
                          f"{p.promise_date:%d-%m-%Y}", "blue"))
    if behaviour.broken_promises:
        n = behaviour.broken_promises
        flags.append(Flag(f"{n} broken promise{'s' if n > 1 else ''} in 12 months", "red"))
    barred = claims.time_barred(uow.session, today, [debtor.id])
    if barred:  # art. 3:307 / 7:28 BW: left out of automatic steps; an interruption letter goes by hand
        flags.append(Flag(f"{len(barred)} invoice{'s' if len(barred) > 1 else ''} may be time-barred "
                          f"({', '.join(sorted(f.number for f in barred.values())[:5])})", "red"))
    paused = [i for i in invoices if i.paused_until and i.paused_until >= today and i.open_cents > 0]
    if paused:
        flags.append(Flag(f"{len(paused)} invoice{'s' if len(paused) > 1 else ''} paused", "gray"))
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


def _invoice_frame(uow: UnitOfWork, debtor: Debtor, invoices: list[Invoice], today: date) -> pd.DataFrame:
    steps = _reminder_steps(uow, debtor.id)
    rows = []
    for inv in invoices:
        credit = inv.amount_cents < 0
        status = "credit note" if credit else ("paid" if inv.open_cents == 0 else
                                               "part paid" if inv.open_cents != inv.amount_cents else "open")
        if credit:
            late = None
        elif inv.open_cents == 0 and inv.settled_date:
            late = days_late(inv.due_date, inv.settled_date)
        else:
            late = days_late(inv.due_date, today)
        step = steps.get(inv.id, {})
        rows.append({"number": inv.number, "invoice_date": inv.invoice_date, "due_date": inv.due_date,
                     "currency": inv.currency, "amount_cents": inv.amount_cents, "open_cents": inv.open_cents,
                     "status": status, "settled_date": inv.settled_date, "days_late": late,
                     "disputed": bool(inv.disputed),
                     "paused_until": inv.paused_until if inv.paused_until and inv.paused_until >= today else None,
                     "reminder_step": step.get("reminder_step"), "next_step": step.get("next_step"),
                     "next_step_date": step.get("next_step_date")})
    frame = pd.DataFrame(rows, columns=INVOICE_COLUMNS)
    frame["days_late"] = frame["days_late"].astype("Int64")
    for c in ("amount_cents", "open_cents"):
        frame[c] = frame[c].astype("int64")
    frame["disputed"] = frame["disputed"].astype(bool)
    return frame.sort_values(["invoice_date", "number"], ascending=False, ignore_index=True)


def _at(d: date) -> datetime:
    return datetime.combine(d, time.min)


def _local(moment: datetime | None) -> datetime | None:
    """Stored times are naive UTC; the timeline shows the server's local time."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC).astimezone().replace(tzinfo=None)


CHANGE_TITLES = {"payment": "Payment received", "credit": "Credited", "write_off": "Written off",
                 "reopen": "Reopened", "correction": "Corrected"}


def _timeline(uow: UnitOfWork, debtor: Debtor, invoices: list[Invoice]) -> list[TimelineEntry]:
    s = uow.session
    by_id = {i.id: i for i in invoices}
    entries: list[TimelineEntry] = []
    for inv in invoices:
        money = fmt(inv.amount_cents, inv.currency)
        if inv.amount_cents < 0:
            entries.append(TimelineEntry(_at(inv.invoice_date), "invoice", f"Credit note {inv.number}: {money}",
                                         inv.description or "", "import"))
        else:
            entries.append(TimelineEntry(_at(inv.invoice_date), "invoice", f"Invoice {inv.number} issued: {money}",
                                         inv.description or "", "import",
                                         [f"due {inv.due_date:%d-%m-%Y}"]))
    if by_id:
        changes = s.scalars(select(InvoiceChange).where(InvoiceChange.invoice_id.in_(select(Invoice.id).where(
            Invoice.debtor_id == debtor.id))).order_by(InvoiceChange.change_date, InvoiceChange.id)).all()
        for ch in changes:
            inv = by_id[ch.invoice_id]
            title = f"{CHANGE_TITLES.get(ch.kind, ch.kind)}: {fmt(abs(ch.delta_cents), inv.currency)} on {inv.number}"
            details = []
            if ch.kind == "payment" and inv.amount_cents > 0:
                late = days_late(inv.due_date, ch.change_date)
                details.append("on time" if late == 0 else f"{late} day{'s' if late != 1 else ''} after the due date")
            entries.append(TimelineEntry(_at(ch.change_date), "payment", title, "", "import", details))
    numbers = {i.id: i.number for i in invoices}
    messages = {m.id: m for m in s.scalars(select(Message).where(Message.debtor_id == debtor.id))}
    for note in s.scalars(select(Note).where(Note.debtor_id == debtor.id)):
        entries.extend(_note_entries(note, numbers, messages))
    entries.extend(_message_entries(uow, messages))
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries


def _note_entries(note: Note, numbers: dict[int, str], messages: dict[int, Message]) -> list[TimelineEntry]:
    kind = NOTE_KIND_TO_TIMELINE.get(note.kind, "note")
    data = note.data or {}
    number = numbers.get(note.invoice_id)
    details: list[str] = []
    at = _local(note.created_at)
    if note.kind == "note":
        title = "Note"
    elif note.kind == "call":
        title = f"Call: {note.outcome or 'outcome not recorded'}"
    elif note.kind == "promise":
        currency = data.get("currency", "EUR")
        promised = fmt(note.promise_cents or 0, currency)
        title = f"Promise to pay {promised} by {note.promise_date:%d-%m-%Y}"
        if note.promise_invoice_ids:
            details.append("invoices " + ", ".join(numbers.get(i, str(i)) for i in note.promise_invoice_ids))
        if data.get("paused_until"):
            details.append(f"reminders paused until {date.fromisoformat(data['paused_until']):%d-%m-%Y}")
        details.append(f"status: {note.outcome or 'pending'}")
        out = [TimelineEntry(at, kind, title, note.text or "", note.created_by, details)]
        if note.outcome in ("kept", "broken") and data.get("resolved_on"):
            resolved = date.fromisoformat(data["resolved_on"])
            paid = fmt(int(data.get("paid_cents", 0)), currency)
            verdict = "kept" if note.outcome == "kept" else "broken"
            out.append(TimelineEntry(_at(resolved), kind, f"Promise {verdict}: {promised} by "
                                     f"{note.promise_date:%d-%m-%Y}", "", "system",
                                     [f"received {paid} by {resolved:%d-%m-%Y}" if verdict == "kept" else
                                      f"received {paid} by the deadline"]))
        return out
    elif note.kind == "dispute":
        title = f"Dispute opened on invoice {number}" if number else "Dispute opened"
    elif note.kind == "dispute_resolved":
        title = f"Dispute resolved on invoice {number}" if number else "Dispute resolved"
    elif note.kind == "reply":
        subject = data.get("subject") or "(no subject)"
        title = f"Reply from {data.get('from') or 'the debtor'}: {subject}"
        if data.get("sent_at"):
            at = _local(datetime.fromisoformat(data["sent_at"]))
        if data.get("attachments"):
            details.append("attachments: " + ", ".join(data["attachments"]))
        linked = messages.get(note.message_id) if note.message_id else None
        if linked is not None:
            sent = f", sent {linked.sent_at:%d-%m-%Y}" if linked.sent_at else ""
            details.append(f"answers reminder '{linked.step_name}'{sent}")
    elif note.kind == "block":
        until = data.get("until")
        title = "Reminders blocked" + (f" until {date.fromisoformat(until):%d-%m-%Y}" if until else "")
    elif note.kind == "unblock":
        title = "Reminders unblocked"
    elif note.kind == "contact_change":
        title = "Contact data changed"
    elif note.kind == claims.INTERRUPTION_NOTE:
        title = f"Prescription interrupted by letter (art. 3:317 BW){f': invoice {number}' if number else ''}"
    else:
        title = note.kind.replace("_", " ").capitalize()
    return [TimelineEntry(at, kind, title, note.text or "", note.created_by, details)]


def _message_entries(uow: UnitOfWork, messages: dict[int, Message]) -> list[TimelineEntry]:
    if not messages:
        return []
    events = uow.session.scalars(select(AuditEvent).where(
        AuditEvent.entity == "message", AuditEvent.entity_id.in_([str(i) for i in messages]))
        .order_by(AuditEvent.at)).all()
    audited: dict[int, list[AuditEvent]] = {}
    for ev in events:
        audited.setdefault(int(ev.entity_id), []).append(ev)
    out = []
    for m in messages.values():
        label = f"reminder '{m.step_name}' ({m.track})"
        out.append(TimelineEntry(_local(m.created_at), "reminder", f"Proposed {label}", m.reason or "", "reminder engine",
                                 [f"planned {m.planned_date:%d-%m-%Y}", f"total {fmt(m.total_cents, m.currency)}"]))
        for ev in audited.get(m.id, []):
            verb = ev.action.split(".")[-1].replace("_", " ")
            if "send" in verb or verb == "sent":
                continue
            after = ev.after or {}
            details = [f"{k.replace('_', ' ')}: {v}" for k, v in after.items() if v not in (None, "", [])]
            out.append(TimelineEntry(_local(ev.at), "reminder", f"{verb.capitalize()}: {label}", "", ev.actor, details))
        if m.status == "sent" and m.sent_at:
            details = [f"to {m.recipients}"] if m.recipients else []
            out.append(TimelineEntry(_local(m.sent_at), "reminder", f"Sent {label}: {m.subject}", m.body_text or "",
                                     "sender", details))
            continue
        if m.status == "exported":
            out.append(TimelineEntry(_local(m.updated_at), "reminder", f"Exported, not sent: {label}: {m.subject}",
                                     m.body_text or "", "sender", _exported_details(uow, m)))
            continue
        # the state the message is in now, unless a person's action above already says so (the sender and
        # imports change a message's state without an audit event: failed, cancelled, blocked, sent back)
        said = next((ev.after["status"] for ev in reversed(audited.get(m.id, []))
                     if isinstance(ev.after, dict) and ev.after.get("status")), None)
        if m.status != said and (m.status in ("approved", "blocked", "cancelled", "failed", "postponed")
                                 or (m.status == "proposed" and m.last_error)):
            detail = m.last_error or m.note or ""
            if m.status == "postponed" and m.postponed_until:
                detail = f"until {m.postponed_until:%d-%m-%Y}"
            by = "reminder engine" if m.status == "approved" and said is None else ""  # needed no approval
            state = "Back in the queue to check" if m.status == "proposed" else m.status.capitalize()
            out.append(TimelineEntry(_local(m.updated_at), "reminder", f"{state}: {label}", detail, by))
    return out


def _exported_details(uow: UnitOfWork, m: Message) -> list[str]:
    written = uow.session.scalar(select(SendAttempt.error).where(SendAttempt.message_id == m.id,
                                                                 SendAttempt.outcome == "outbox")
                                 .order_by(SendAttempt.id.desc()).limit(1))
    return [*([f"to {m.recipients}"] if m.recipients else []), *([written] if written else []),
            "counts as sent once a person marks it sent on the Sender page"]


def open_dossier(uow: UnitOfWork, code: str, today: date | None = None, kinds: Iterable[str] | None = None,
                 limit: int | None = None) -> Dossier:
    """Header, invoices, the timeline (newest first, only `kinds` when given) and days late per paid invoice."""
    today = today or date.today()
    debtor = _debtor(uow, code)
    invoices = list(uow.session.scalars(select(Invoice).where(Invoice.debtor_id == debtor.id)))
    timeline = _timeline(uow, debtor, invoices)
    if kinds is not None:
        wanted = set(kinds)
        timeline = [e for e in timeline if e.kind in wanted]
    total = len(timeline)
    if limit is not None:
        timeline = timeline[:limit]
    written_off = _written_off(uow, debtor.id)
    paid = [{"number": i.number, "paid_date": i.settled_date, "days_late": days_late(i.due_date, i.settled_date),
             "amount_cents": i.amount_cents, "currency": i.currency}
            for i in invoices if i.settled_date and i.amount_cents > 0 and i.open_cents == 0
            and i.id not in written_off]
    days = pd.DataFrame(paid, columns=["number", "paid_date", "days_late", "amount_cents", "currency"])
    days = days.sort_values("paid_date", ignore_index=True)
    return Dossier(_header(uow, debtor, invoices, today), _invoice_frame(uow, debtor, invoices, today), timeline,
                   total, days)


# --- actions --------------------------------------------------------------------------------------

def _text(value: str | None, what: str, required: bool = True) -> str:
    text = (value or "").strip()
    if required and not text:
        raise ServiceError(f"{what} is empty; type what was said or agreed")
    if len(text) > MAX_TEXT:
        raise ServiceError(f"{what} is longer than {MAX_TEXT:,} characters; shorten it")
    return text


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
    """A phone call with its outcome (reached / no answer / wrong number) and what was said."""
    if outcome not in CALL_OUTCOMES:
        raise ServiceError(f"call outcome '{outcome}' is unknown; choose one of: {', '.join(CALL_OUTCOMES)}")
    debtor = _debtor(uow, code)
    note = _note(uow, debtor, "call", _text(text, "the call summary", required=outcome == "reached"), actor,
                 outcome=outcome)
    record_audit(uow.session, actor, "call.log", "debtor", debtor.code, None,
                 {"note_id": note.id, "outcome": outcome})
    uow.commit()
    return note.id


def _debtor_invoices(uow: UnitOfWork, debtor: Debtor, numbers: Iterable[str]) -> list[Invoice]:
    wanted = [n.strip() for n in numbers if n and n.strip()]
    if not wanted:
        return []
    found = {i.number: i for i in uow.session.scalars(select(Invoice).where(Invoice.number.in_(wanted)))}
    for n in wanted:
        inv = found.get(n)
        if inv is None or inv.debtor_id != debtor.id:
            raise ServiceError(f"invoice {n} is not an invoice of {debtor.name} ({debtor.code}); pick one of its "
                               "open invoices")
    return [found[n] for n in dict.fromkeys(wanted)]


def promise_to_pay(uow: UnitOfWork, code: str, promise_date: date, amount_cents: int | None = None,
                   invoice_numbers: Iterable[str] = (), text: str = "", *, actor: str,
                   today: date | None = None) -> int:
    """Record a promise to pay. Reminders for the promised invoices (all open overdue invoices when none
    are chosen) pause until the promised date plus the grace period and leave unsent messages."""
    today = today or date.today()
    debtor = _debtor(uow, code)
    if promise_date < today:
        raise ServiceError(f"the promised date {promise_date:%d-%m-%Y} is in the past; enter the date the "
                           "debtor says the money will arrive")
    if promise_date > today + timedelta(days=366):
        raise ServiceError("the promised date is more than a year ahead; agree a payment plan instead")
    chosen = _debtor_invoices(uow, debtor, invoice_numbers)
    for inv in chosen:
        if inv.open_cents <= 0:
            raise ServiceError(f"invoice {inv.number} has nothing open; leave it out of the promise")
    if not chosen:
        open_invoices = list(uow.session.scalars(select(Invoice).where(
            Invoice.debtor_id == debtor.id, Invoice.open_cents > 0).order_by(Invoice.due_date)))
        chosen = [i for i in open_invoices if i.due_date < today] or open_invoices
    if not chosen:
        raise ServiceError(f"{debtor.name} has no open invoices, so there is nothing to promise")
    currencies = {i.currency for i in chosen}
    if len(currencies) > 1:
        raise ServiceError("the chosen invoices are in different currencies; record one promise per currency")
    open_total = sum(i.open_cents for i in chosen)
    amount = open_total if amount_cents is None or amount_cents == 0 else int(amount_cents)
    if amount <= 0:
        raise ServiceError("the promised amount must be more than zero")
    paused_until = promise_date + timedelta(days=grace_days(uow))
    before = {i.number: i.paused_until for i in chosen}
    for inv in chosen:
        inv.paused_until = max(inv.paused_until or paused_until, paused_until)
    drop_from_pending_messages(uow.session, [i.id for i in chosen])
    note = _note(uow, debtor, "promise", _text(text, "the note", required=False), actor, outcome="pending",
                 promise_date=promise_date, promise_cents=amount,
                 promise_invoice_ids=[i.id for i in chosen],
                 data={"currency": currencies.pop(), "paused_until": paused_until.isoformat(),
                       "open_cents": open_total})
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
        raise ServiceError(f"invoice {inv.number} is already disputed; resolve that dispute first")
    if inv.open_cents <= 0:
        raise ServiceError(f"invoice {inv.number} has nothing open, so there is nothing to dispute")
    inv.disputed = True
    cancelled = drop_from_pending_messages(uow.session, [inv.id])
    note = _note(uow, debtor, "dispute", reason, actor, invoice_id=inv.id)
    record_audit(uow.session, actor, "invoice.dispute", "invoice", inv.number, {"disputed": False},
                 {"disputed": True, "note_id": note.id, "cancelled_messages": cancelled})
    uow.commit()
    return note.id


def resolve_dispute(uow: UnitOfWork, code: str, number: str, text: str = "", *, actor: str) -> int:
    """The dispute is settled: the invoice returns to its reminder track."""
    debtor, inv = _invoice_of(uow, code, number)
    if not inv.disputed:
        raise ServiceError(f"invoice {inv.number} is not disputed")
    inv.disputed = False
    note = _note(uow, debtor, "dispute_resolved", _text(text, "the resolution", required=False), actor,
                 invoice_id=inv.id)
    record_audit(uow.session, actor, "invoice.resolve_dispute", "invoice", inv.number, {"disputed": True},
                 {"disputed": False, "note_id": note.id})
    uow.commit()
    return note.id


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
        raise ServiceError(f"'blocked until' {until:%d-%m-%Y} is not in the future; pick a later date or "
                           "leave it empty to block until unblocked")
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
        raise ServiceError(f"reminders for {debtor.name} are not blocked")
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
    if language not in LANGUAGES:
        raise ServiceError(f"language '{language}' is not supported; choose one of: {', '.join(LANGUAGES)}")
    phone = (phone or "").strip() or None
    if phone and not _PHONE.match(phone):
        raise ServiceError(f"'{phone}' is not a phone number; use digits, spaces and an optional +, "
                           "e.g. +31 20 123 4567")
    person = (contact_person or "").strip() or None
    if person and len(person) > 255:
        raise ServiceError("the contact person's name is longer than 255 characters")
    postal = "\n".join(line.strip() for line in (address or "").splitlines() if line.strip()) or None
    if postal and (len(postal) > 500 or postal.count("\n") > 5):
        raise ServiceError("the postal address is longer than a letter's address window; use at most 6 lines")
    before = {"email": debtor.email, "language": debtor.language, "contact_person": debtor.contact_person,
              "phone": debtor.phone, "address": debtor.address}
    after = {"email": ", ".join(addresses) or None, "language": language, "contact_person": person,
             "phone": phone, "address": postal}
    changed = {k: v for k, v in after.items() if before[k] != v}
    if not changed:
        raise ServiceError("nothing changed; edit a field before saving")
    debtor.email, debtor.language, debtor.contact_person, debtor.phone = (after["email"], language, person, phone)
    debtor.address = postal
    summary = "\n".join(f"{k.replace('_', ' ')}: {before[k] or '—'} → {v or '—'}" for k, v in changed.items())
    note = _note(uow, debtor, "contact_change", summary, actor, data={"before": before, "after": after})
    record_audit(uow.session, actor, "debtor.contact", "debtor", debtor.code,
                 {k: before[k] for k in changed}, {**changed, "note_id": note.id})
    uow.commit()
    return addresses


def _bare(mid: str) -> str:
    return mid.strip().strip("<>").strip()


def record_reply(uow: UnitOfWork, code: str, *, actor: str, text: str | None = None,
                 eml: bytes | None = None, file_name: str | None = None) -> int:
    """Record the debtor's reply: pasted text, or an uploaded .eml (linked to the reminder it answers
    when its In-Reply-To/References name one of our Message-IDs). Returns the note id."""
    debtor = _debtor(uow, code)
    s = uow.session
    if eml:
        try:
            mail = eml_parser.parse_eml(eml)
        except eml_parser.EmlError as exc:
            raise ServiceError(f"{file_name or 'the file'}: {exc}") from exc
        if mail.message_id:
            dup = s.scalars(select(Note).where(Note.debtor_id == debtor.id, Note.kind == "reply")).all()
            for n in dup:
                if (n.data or {}).get("message_id") == mail.message_id:
                    raise ServiceError(f"this e-mail was already recorded on {n.created_at:%d-%m-%Y} by "
                                       f"{n.created_by}")
        linked = None
        candidates = {c for mid in mail.answers for c in (mid, f"<{mid}>")}
        if candidates:
            hits = s.scalars(select(Message).where(Message.smtp_message_id.in_(candidates))).all()
            order = {mid: n for n, mid in enumerate(mail.answers)}
            hits.sort(key=lambda m: order.get(_bare(m.smtp_message_id or ""), 99))
            for m in hits:
                if m.debtor_id != debtor.id:
                    other = s.get(Debtor, m.debtor_id)
                    raise ServiceError(f"this e-mail answers a reminder sent to {other.name} ({other.code}); "
                                       "record it in that debtor's dossier")
            linked = hits[0] if hits else None
        body = mail.body[:MAX_TEXT]
        data = {"source": "eml", "file_name": file_name, "from": mail.sender, "subject": mail.subject,
                "sent_at": mail.sent_at.isoformat() if mail.sent_at else None, "message_id": mail.message_id,
                "in_reply_to": mail.in_reply_to, "references": mail.references, "attachments": mail.attachments}
        note = _note(uow, debtor, "reply", body, actor, message_id=linked.id if linked else None, data=data)
    else:
        body = _text(text, "the reply")
        note = _note(uow, debtor, "reply", body, actor, data={"source": "pasted"})
        linked = None
    record_audit(s, actor, "reply.record", "debtor", debtor.code, None,
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
    query = select(Note).where(Note.kind == "promise", or_(
        Note.outcome == "pending", Note.outcome.is_(None),
        (Note.outcome == "broken") & (Note.promise_date >= today - timedelta(days=90 + grace))))
    if code is not None:
        query = query.where(Note.debtor_id == _debtor(uow, code).id)
    return query


def promises_to_review(uow: UnitOfWork, code: str, today: date | None = None) -> bool:
    """Whether the debtor has promises a review could change (read only: the page takes the write lock
    for the review only then)."""
    today = today or date.today()
    query = _open_promises(uow, today, grace_days(uow), code).with_only_columns(Note.id).limit(1)
    return uow.session.scalars(query).first() is not None


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
    s = uow.session
    ids = list(p.promise_invoice_ids or [])
    made_on = p.created_at.date()
    scope = Invoice.id.in_(ids) if ids else Invoice.debtor_id == p.debtor_id
    rows = s.execute(select(InvoiceChange.change_date, InvoiceChange.delta_cents, InvoiceChange.created_at)
                     .join(Invoice, Invoice.id == InvoiceChange.invoice_id)
                     .where(scope, InvoiceChange.kind.in_(PROMISE_PAYMENT_KINDS), InvoiceChange.delta_cents < 0,
                            Invoice.amount_cents > 0, or_(
                                InvoiceChange.change_date >= made_on,
                                (InvoiceChange.created_at >= p.created_at)
                                & (InvoiceChange.change_date >= made_on - timedelta(days=PROMISE_LOOKBACK_DAYS))))
                     ).all()
    # a payment counts when it is dated from the day of the promise, or was imported after the promise
    # was recorded and dated shortly before it (the money may have left the debtor's bank before the
    # collector wrote the promise down)
    payments = [(d, -c) for d, c, _ in rows]
    settled_on = None
    if ids:
        states = s.execute(select(Invoice.open_cents, Invoice.settled_date).where(Invoice.id.in_(ids))).all()
        if states and all(o == 0 and sd is not None for o, sd in states):
            settled_on = max(sd for _, sd in states)
    return check_promise(p.promise_cents or 0, made_on, deadline, payments, today, settled_on)
