"""The dossier's timeline: invoices and payments from the imports, the notes a collector recorded and the
life of every reminder, newest first. Reads only."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import (
    AuditEvent,
    BankAllocation,
    BankLine,
    ImportBatch,
    Invoice,
    InvoiceChange,
    Message,
    Note,
    SendAttempt,
)
from receivables.domain import metrics, phrases
from receivables.domain.dossier import NOTE_KIND_TO_TIMELINE
from receivables.domain.phrases import Money, Phrase
from receivables.domain.phrasing import kept
from receivables.domain.promises import PromiseCheck
from receivables.domain.translation import N_
from receivables.services.claims import INTERRUPTION_NOTE

CHANGE_TITLES = {"payment": N_("Payment received"), "credit": N_("Credited"), "write_off": N_("Written off"),
                 "reopen": N_("Reopened"), "correction": N_("Corrected")}
MESSAGE_STATES = {"approved": N_("Approved"), "blocked": N_("Blocked"), "cancelled": N_("Cancelled"),
                  "failed": N_("Failed"), "postponed": N_("Postponed"), "proposed": N_("Back in the queue to check")}
MESSAGE_ACTIONS = (N_("Approve"), N_("Postpone"), N_("Block"), N_("Cancel"), N_("Edit"), N_("Note"), N_("Rerender"),
                   N_("Bounced"), N_("Reject"), N_("Unblock"), N_("Mark sent"), N_("Retry"))
BY = {"import": N_("import"), "system": N_("system"), "sender": N_("sender"),
      "reminder engine": N_("reminder engine"), "bank": N_("bank statement")}  # who did it, when not a person
# how a payment from the bank was matched to the invoice (BankLine.evidence)
MATCHED_BY = {"reference": N_("matched on our payment reference"), "number": N_("matched on the invoice number"),
              "account": N_("matched on the payer's known account"), "name": N_("matched on the payer's name"),
              "amount": N_("matched on the amount"), "person": N_("assigned by a person")}


@dataclass(frozen=True)
class TimelineEntry:
    """`at` is naive UTC (a date's entries at midnight); `title` and `details` are Phrases, worded by the
    reader (`str()` gives the English)."""

    at: datetime
    kind: str  # one of TIMELINE_KINDS
    phrase: Phrase
    text: Phrase | str = ""  # a person's words, or the reason the engine proposed a reminder
    by: str = ""
    detail_phrases: list[Phrase] = field(default_factory=list)
    dated: bool = False  # only a date is known (an import's day), not a time

    @property
    def title(self) -> str:
        return str(self.phrase)

    @property
    def details(self) -> list[str]:
        return [str(d) for d in self.detail_phrases]


def _at(d: date) -> datetime:
    return datetime.combine(d, time.min)


def _local(moment: datetime | None) -> datetime | None:
    """Stored times are naive UTC and stay so (the page shows them on the team's clock); an aware one
    (a mail's Date header) becomes naive UTC."""
    if moment is not None and moment.tzinfo is not None:
        return moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def _p(msgid: str, **params) -> Phrase:
    return Phrase(msgid, params)


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
        money = Money(inv.amount_cents, inv.currency)
        if inv.amount_cents < 0:
            entries.append(TimelineEntry(_at(inv.invoice_date), "invoice",
                                         _p(N_("Credit note {number}: {amount}"), number=inv.number, amount=money),
                                         inv.description or "", "import", dated=True))
        else:
            entries.append(TimelineEntry(_at(inv.invoice_date), "invoice",
                                         _p(N_("Invoice {number} issued: {amount}"), number=inv.number, amount=money),
                                         inv.description or "", "import", [_p(N_("due {day}"), day=inv.due_date)],
                                         dated=True))
    if not invoices:
        return entries
    by_id = {i.id: i for i in invoices}
    changes = session.execute(select(InvoiceChange, ImportBatch.kind).outerjoin(
        ImportBatch, ImportBatch.id == InvoiceChange.batch_id).where(InvoiceChange.invoice_id.in_(
            select(Invoice.id).where(Invoice.debtor_id == debtor_id))).order_by(InvoiceChange.change_date,
                                                                                InvoiceChange.id))
    matched = {(batch, invoice): how for batch, invoice, how in session.execute(
        select(BankLine.batch_id, BankAllocation.invoice_id, BankLine.evidence)
        .join(BankAllocation, BankAllocation.line_id == BankLine.id)
        .where(BankLine.debtor_id == debtor_id, BankAllocation.applied.is_(True)))}
    for ch, batch_kind in changes:
        inv = by_id[ch.invoice_id]
        title = _p(N_("{what}: {amount} on {number}"), what=_p(CHANGE_TITLES.get(ch.kind, ch.kind)),
                   amount=Money(abs(ch.delta_cents), inv.currency), number=inv.number)
        details = []
        if ch.kind == "payment" and inv.amount_cents > 0:
            late = metrics.days_late(due=inv.due_date, on=ch.change_date)
            details.append(_p(N_("on time")) if late == 0 else _p(N_("{n} day after the due date")) if late == 1
                           else _p(N_("{n} days after the due date"), n=late))
        by = "import"
        if batch_kind == "bank":  # a payment matched from a bank statement: say how
            by = "bank"
            how = matched.get((ch.batch_id, ch.invoice_id))
            if how in MATCHED_BY:
                details.append(_p(MATCHED_BY[how]))
        entries.append(TimelineEntry(_at(ch.change_date), "payment", title, "", by, details, dated=True))
    return entries


def _promise_entries(note: Note, numbers: dict[int, str], verdict: PromiseCheck | None) -> list[TimelineEntry]:
    """The promise, and its outcome once it has one: recorded by a review, or `verdict` as it stands today."""
    data = note.data or {}
    currency = data.get("currency", "EUR")
    promised = Money(note.promise_cents or 0, currency)
    outcome, resolved_on, paid = note.outcome or "pending", data.get("resolved_on"), int(data.get("paid_cents", 0))
    if verdict is not None:
        outcome, resolved_on, paid = verdict.outcome, verdict.resolved_on.isoformat(), verdict.paid_cents
    details = []
    if note.promise_invoice_ids:
        details.append(_p(N_("invoices {numbers}"),
                          numbers=", ".join(numbers.get(i, str(i)) for i in note.promise_invoice_ids)))
    if data.get("paused_until"):
        details.append(_p(N_("reminders paused until {day}"), day=date.fromisoformat(data["paused_until"])))
    details.append(_p(N_("status: {outcome}"), outcome=_p(OUTCOMES.get(outcome, outcome))))
    out = [TimelineEntry(_local(note.created_at), "promise",
                         _p(N_("Promise to pay {amount} by {day}"), amount=promised, day=note.promise_date),
                         note.text or "", note.created_by, details)]
    if outcome in ("kept", "broken") and resolved_on:
        resolved = date.fromisoformat(resolved_on)
        said = [_p(N_("received {amount} by {day}"), amount=Money(paid, currency), day=resolved) if outcome == "kept"
                else _p(N_("received {amount} by the deadline"), amount=Money(paid, currency))]
        if verdict is not None:
            said.append(_p(N_("recorded at the next review")))
        title = N_("Promise kept: {amount} by {day}") if outcome == "kept" else N_("Promise broken: {amount} by {day}")
        out.append(TimelineEntry(_at(resolved), "promise", _p(title, amount=promised, day=note.promise_date), "",
                                 "system", said, dated=True))
    return out


OUTCOMES = {"pending": N_("pending"), "kept": N_("kept"), "broken": N_("broken")}
CALL_OUTCOME_WORDS = {"reached": N_("reached"), "no answer": N_("no answer"), "voicemail": N_("voicemail"),
                      "wrong number": N_("wrong number"), "call back": N_("call back")}


def _note_title(note: Note, number: str | None) -> Phrase:
    data = note.data or {}
    if note.kind == "block":
        until = data.get("until")
        return (_p(N_("Reminders blocked until {day}"), day=date.fromisoformat(until)) if until
                else _p(N_("Reminders blocked")))
    if note.kind == "call":
        return _p(N_("Call: {outcome}"), outcome=_p(CALL_OUTCOME_WORDS.get(note.outcome or "", note.outcome))
                  if note.outcome else _p(N_("outcome not recorded")))
    if note.kind == "reply":
        return _p(N_("Reply from {sender}: {subject}"), sender=data.get("from") or _p(N_("the debtor")),
                  subject=data.get("subject") or _p(N_("(no subject)")))
    on = {"dispute": (N_("Dispute opened on invoice {number}"), N_("Dispute opened")),
          "dispute_resolved": (N_("Dispute resolved on invoice {number}"), N_("Dispute resolved")),
          "dispute_rejected": (N_("Dispute rejected on invoice {number}; the debtor was told why"),
                               N_("Dispute rejected; the debtor was told why")),
          INTERRUPTION_NOTE: (N_("Prescription interrupted by letter (art. 3:317 BW): invoice {number}"),
                              N_("Prescription interrupted by letter (art. 3:317 BW)"))}
    if note.kind in on:
        with_number, without = on[note.kind]
        return _p(with_number, number=number) if number else _p(without)
    if note.kind == "portal_paid":
        return _p(N_("Debtor reports a payment of {amount} on {day} (portal)"),
                  amount=Money(note.promise_cents, data.get("currency", "EUR")), day=note.promise_date) \
            if note.promise_cents else _p(N_("Debtor reports having paid on {day} (portal)"), day=note.promise_date)
    if note.kind == "portal_address":
        return _p(N_("Debtor asks for reminders to go to {address} (portal; waits for confirmation)"),
                  address=data.get("address") or note.text)
    titles = {"portal_visit": N_("Debtor opened the portal"), "note": N_("Note"), "unblock": N_("Reminders unblocked"), "contact_change": N_("Contact data changed")}
    return _p(titles.get(note.kind) or note.kind.replace("_", " ").capitalize())


def _note_entry(note: Note, numbers: dict[int, str], messages: dict[int, Message]) -> TimelineEntry:
    data = note.data or {}
    at, details = _local(note.created_at), []
    if note.kind == "reply":
        if data.get("sent_at"):
            at = _local(datetime.fromisoformat(data["sent_at"]))
        if data.get("attachments"):
            details.append(_p(N_("attachments: {files}"), files=", ".join(data["attachments"])))
        linked = messages.get(note.message_id) if note.message_id else None
        if linked is not None:
            details.append(_p(N_("answers reminder '{step}', sent {day}"), step=linked.step_name, day=linked.sent_at)
                           if linked.sent_at else _p(N_("answers reminder '{step}'"), step=linked.step_name))
    if note.kind == "portal_paid" and data.get("invoices"):
        details.append(_p(N_("invoices {numbers}"), numbers=", ".join(data["invoices"])))
        details.append(_p(N_("reminders paused until {day}"), day=date.fromisoformat(data["paused_until"])))
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
    label = _p(N_("reminder '{step}' ({track})"), step=m.step_name, track=m.track)
    out = [TimelineEntry(_local(m.created_at), "reminder", _p(N_("Proposed {reminder}"), reminder=label),
                         phrases.load(m.reason), "reminder engine",
                         [_p(N_("planned {day}"), day=m.planned_date),
                          _p(N_("total {amount}"), amount=Money(m.total_cents, m.currency))])]
    for ev in audited:
        verb = ev.action.split(".")[-1].replace("_", " ")
        if "send" in verb or verb == "sent":
            continue
        details = [_p("{key}: {value}", key=k.replace("_", " "), value=v)
                   for k, v in (ev.after or {}).items() if v not in (None, "", [])]
        out.append(TimelineEntry(_local(ev.at), "reminder", _p(N_("{action}: {reminder}"),
                                 action=_p(verb.capitalize()), reminder=label), "", ev.actor, details))
    if m.status == "sent" and m.sent_at:
        out.append(TimelineEntry(_local(m.sent_at), "reminder", _p(N_("Sent {reminder}: {subject}"), reminder=label,
                                 subject=m.subject), m.body_text or "", "sender",
                                 [_p(N_("to {recipients}"), recipients=m.recipients)] if m.recipients else []))
    elif m.status == "exported":
        out.append(TimelineEntry(_local(m.updated_at), "reminder", _p(N_("Exported, not sent: {reminder}: {subject}"),
                                 reminder=label, subject=m.subject), m.body_text or "", "sender",
                                 _exported_details(session, m)))
    elif (state := _state_entry(m, label, audited)) is not None:
        out.append(state)
    return out


def _state_entry(m: Message, label: Phrase, audited: list[AuditEvent]) -> TimelineEntry | None:
    """The state the message is in now, unless a person's action already says so (the sender and imports
    change a message's state without an audit event: failed, cancelled, blocked, sent back)."""
    said = next((ev.after["status"] for ev in reversed(audited)
                 if isinstance(ev.after, dict) and ev.after.get("status")), None)
    if m.status == said or not (m.status in ("approved", "blocked", "cancelled", "failed", "postponed")
                                or (m.status == "proposed" and m.last_error)):
        return None
    detail = kept(m.last_error) if m.last_error else (m.note or "")
    if m.status == "postponed" and m.postponed_until:
        detail = _p(N_("until {day}"), day=m.postponed_until)
    by = "reminder engine" if m.status == "approved" and said is None else ""  # needed no approval
    return TimelineEntry(_local(m.updated_at), "reminder", _p(N_("{action}: {reminder}"),
                         action=_p(MESSAGE_STATES[m.status]), reminder=label), detail, by)


def _kept(stored: str) -> Phrase:
    """Stored words as a phrase (plain stored words as they are)."""
    words = phrases.load(stored)
    return words if isinstance(words, Phrase) else _p("{text}", text=words)


def _exported_details(session: Session, m: Message) -> list[str]:
    written = session.scalar(select(SendAttempt.error).where(SendAttempt.message_id == m.id,
                                                             SendAttempt.outcome == "outbox")
                             .order_by(SendAttempt.id.desc()).limit(1))
    return [*([_p(N_("to {recipients}"), recipients=m.recipients)] if m.recipients else []),
            *([_kept(written)] if written else []),
            _p(N_("counts as sent once a person marks it sent on the Sender page"))]
