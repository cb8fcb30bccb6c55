"""The dossier's timeline: invoices and payments from the imports, the notes a collector recorded and the
life of every reminder, newest first. Reads only."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import AuditEvent, Invoice, InvoiceChange, Message, Note, SendAttempt
from receivables.domain import metrics
from receivables.domain.dossier import NOTE_KIND_TO_TIMELINE
from receivables.domain.money import fmt
from receivables.domain.promises import PromiseCheck
from receivables.services.claims import INTERRUPTION_NOTE

CHANGE_TITLES = {"payment": "Payment received", "credit": "Credited", "write_off": "Written off",
                 "reopen": "Reopened", "correction": "Corrected"}


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str  # one of TIMELINE_KINDS
    title: str
    text: str = ""
    by: str = ""
    details: list[str] = field(default_factory=list)


def _at(d: date) -> datetime:
    return datetime.combine(d, time.min)


def _local(moment: datetime | None) -> datetime | None:
    """Stored times are naive UTC; the timeline shows the server's local time."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC).astimezone().replace(tzinfo=None)


def timeline(session: Session, debtor_id: int, invoices: list[Invoice],
             verdicts: dict[int, PromiseCheck]) -> list[TimelineEntry]:
    """Everything that happened with the debtor, newest first; promises as `verdicts` judge them today."""
    entries = _invoice_entries(session, debtor_id, invoices)
    numbers = {i.id: i.number for i in invoices}
    messages = {m.id: m for m in session.scalars(select(Message).where(Message.debtor_id == debtor_id))}
    for note in session.scalars(select(Note).where(Note.debtor_id == debtor_id)):
        if note.kind == "promise":
            entries.extend(_promise_entries(note, numbers, verdicts.get(note.id)))
        else:
            entries.append(_note_entry(note, numbers, messages))
    entries.extend(_message_entries(session, messages))
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries


def _invoice_entries(session: Session, debtor_id: int, invoices: list[Invoice]) -> list[TimelineEntry]:
    entries = []
    for inv in invoices:
        money = fmt(inv.amount_cents, inv.currency)
        if inv.amount_cents < 0:
            entries.append(TimelineEntry(_at(inv.invoice_date), "invoice", f"Credit note {inv.number}: {money}",
                                         inv.description or "", "import"))
        else:
            entries.append(TimelineEntry(_at(inv.invoice_date), "invoice", f"Invoice {inv.number} issued: {money}",
                                         inv.description or "", "import", [f"due {inv.due_date:%d-%m-%Y}"]))
    if not invoices:
        return entries
    by_id = {i.id: i for i in invoices}
    changes = session.scalars(select(InvoiceChange).where(InvoiceChange.invoice_id.in_(
        select(Invoice.id).where(Invoice.debtor_id == debtor_id))).order_by(InvoiceChange.change_date, InvoiceChange.id))
    for ch in changes:
        inv = by_id[ch.invoice_id]
        title = f"{CHANGE_TITLES.get(ch.kind, ch.kind)}: {fmt(abs(ch.delta_cents), inv.currency)} on {inv.number}"
        details = []
        if ch.kind == "payment" and inv.amount_cents > 0:
            late = metrics.days_late(due=inv.due_date, on=ch.change_date)
            details.append("on time" if late == 0 else f"{late} day{'s' if late != 1 else ''} after the due date")
        entries.append(TimelineEntry(_at(ch.change_date), "payment", title, "", "import", details))
    return entries


def _promise_entries(note: Note, numbers: dict[int, str], verdict: PromiseCheck | None) -> list[TimelineEntry]:
    """The promise, and its outcome once it has one: recorded by a review, or `verdict` as it stands today."""
    data = note.data or {}
    currency = data.get("currency", "EUR")
    promised = fmt(note.promise_cents or 0, currency)
    outcome, resolved_on, paid = note.outcome or "pending", data.get("resolved_on"), int(data.get("paid_cents", 0))
    if verdict is not None:
        outcome, resolved_on, paid = verdict.outcome, verdict.resolved_on.isoformat(), verdict.paid_cents
    details = []
    if note.promise_invoice_ids:
        details.append("invoices " + ", ".join(numbers.get(i, str(i)) for i in note.promise_invoice_ids))
    if data.get("paused_until"):
        details.append(f"reminders paused until {date.fromisoformat(data['paused_until']):%d-%m-%Y}")
    details.append(f"status: {outcome}")
    out = [TimelineEntry(_local(note.created_at), "promise", f"Promise to pay {promised} by {note.promise_date:%d-%m-%Y}",
                         note.text or "", note.created_by, details)]
    if outcome in ("kept", "broken") and resolved_on:
        resolved = date.fromisoformat(resolved_on)
        said = [f"received {fmt(paid, currency)} by {resolved:%d-%m-%Y}" if outcome == "kept" else
                f"received {fmt(paid, currency)} by the deadline"]
        if verdict is not None:
            said.append("recorded at the next review")
        out.append(TimelineEntry(_at(resolved), "promise", f"Promise {outcome}: {promised} by "
                                 f"{note.promise_date:%d-%m-%Y}", "", "system", said))
    return out


def _note_title(note: Note, number: str | None) -> str:
    data = note.data or {}
    on = f" on invoice {number}" if number else ""
    titles = {
        "note": "Note",
        "call": f"Call: {note.outcome or 'outcome not recorded'}",
        "dispute": f"Dispute opened{on}",
        "dispute_resolved": f"Dispute resolved{on}",
        "reply": f"Reply from {data.get('from') or 'the debtor'}: {data.get('subject') or '(no subject)'}",
        "unblock": "Reminders unblocked",
        "contact_change": "Contact data changed",
        INTERRUPTION_NOTE: f"Prescription interrupted by letter (art. 3:317 BW){f': invoice {number}' if number else ''}",
    }
    if note.kind == "block":
        until = data.get("until")
        return "Reminders blocked" + (f" until {date.fromisoformat(until):%d-%m-%Y}" if until else "")
    return titles.get(note.kind) or note.kind.replace("_", " ").capitalize()


def _note_entry(note: Note, numbers: dict[int, str], messages: dict[int, Message]) -> TimelineEntry:
    data = note.data or {}
    at, details = _local(note.created_at), []
    if note.kind == "reply":
        if data.get("sent_at"):
            at = _local(datetime.fromisoformat(data["sent_at"]))
        if data.get("attachments"):
            details.append("attachments: " + ", ".join(data["attachments"]))
        linked = messages.get(note.message_id) if note.message_id else None
        if linked is not None:
            sent = f", sent {linked.sent_at:%d-%m-%Y}" if linked.sent_at else ""
            details.append(f"answers reminder '{linked.step_name}'{sent}")
    return TimelineEntry(at, NOTE_KIND_TO_TIMELINE.get(note.kind, "note"), _note_title(note, numbers.get(note.invoice_id)),
                         note.text or "", note.created_by, details)


def _message_entries(session: Session, messages: dict[int, Message]) -> list[TimelineEntry]:
    if not messages:
        return []
    events = session.scalars(select(AuditEvent).where(
        AuditEvent.entity == "message", AuditEvent.entity_id.in_([str(i) for i in messages]))
        .order_by(AuditEvent.at)).all()
    audited: dict[int, list[AuditEvent]] = {}
    for ev in events:
        audited.setdefault(int(ev.entity_id), []).append(ev)
    out = []
    for m in messages.values():
        out.extend(_one_message(session, m, audited.get(m.id, [])))
    return out


def _one_message(session: Session, m: Message, audited: list[AuditEvent]) -> list[TimelineEntry]:
    label = f"reminder '{m.step_name}' ({m.track})"
    out = [TimelineEntry(_local(m.created_at), "reminder", f"Proposed {label}", m.reason or "", "reminder engine",
                         [f"planned {m.planned_date:%d-%m-%Y}", f"total {fmt(m.total_cents, m.currency)}"])]
    for ev in audited:
        verb = ev.action.split(".")[-1].replace("_", " ")
        if "send" in verb or verb == "sent":
            continue
        details = [f"{k.replace('_', ' ')}: {v}" for k, v in (ev.after or {}).items() if v not in (None, "", [])]
        out.append(TimelineEntry(_local(ev.at), "reminder", f"{verb.capitalize()}: {label}", "", ev.actor, details))
    if m.status == "sent" and m.sent_at:
        out.append(TimelineEntry(_local(m.sent_at), "reminder", f"Sent {label}: {m.subject}", m.body_text or "",
                                 "sender", [f"to {m.recipients}"] if m.recipients else []))
    elif m.status == "exported":
        out.append(TimelineEntry(_local(m.updated_at), "reminder", f"Exported, not sent: {label}: {m.subject}",
                                 m.body_text or "", "sender", _exported_details(session, m)))
    elif (state := _state_entry(m, label, audited)) is not None:
        out.append(state)
    return out


def _state_entry(m: Message, label: str, audited: list[AuditEvent]) -> TimelineEntry | None:
    """The state the message is in now, unless a person's action already says so (the sender and imports
    change a message's state without an audit event: failed, cancelled, blocked, sent back)."""
    said = next((ev.after["status"] for ev in reversed(audited)
                 if isinstance(ev.after, dict) and ev.after.get("status")), None)
    if m.status == said or not (m.status in ("approved", "blocked", "cancelled", "failed", "postponed")
                                or (m.status == "proposed" and m.last_error)):
        return None
    detail = m.last_error or m.note or ""
    if m.status == "postponed" and m.postponed_until:
        detail = f"until {m.postponed_until:%d-%m-%Y}"
    by = "reminder engine" if m.status == "approved" and said is None else ""  # needed no approval
    state = "Back in the queue to check" if m.status == "proposed" else m.status.capitalize()
    return TimelineEntry(_local(m.updated_at), "reminder", f"{state}: {label}", detail, by)


def _exported_details(session: Session, m: Message) -> list[str]:
    written = session.scalar(select(SendAttempt.error).where(SendAttempt.message_id == m.id,
                                                             SendAttempt.outcome == "outbox")
                             .order_by(SendAttempt.id.desc()).limit(1))
    return [*([f"to {m.recipients}"] if m.recipients else []), *([written] if written else []),
            "counts as sent once a person marks it sent on the Sender page"]
