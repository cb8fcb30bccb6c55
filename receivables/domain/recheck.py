"""The re-check before sending: what may happen to an approved message right now, from the current state
of its debtor and its invoices. Whether an invoice may still be chased is the chase rule's to say
(receivables.domain.chase); this module only turns its answers into what the sender does with the
message: send it, cancel it, render it again, give it back to a person, or wait."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from receivables.domain import chase
from receivables.domain.contacts import AddressError, parse_recipients
from receivables.domain.phrases import Money, Phrase
from receivables.domain.phrasing import joined, said
from receivables.domain.translation import N_

SEND, CANCEL, RERENDER, REVIEW, BLOCK, WAIT, ADDRESS = "send", "cancel", "rerender", "review", "block", "wait", "address"
# why a message whose invoices are all paid or held is cancelled (before sending, or when they are settled)
NOTHING_LEFT = said(N_("nothing left to chase"))


@dataclass(frozen=True)
class Line:
    """One invoice of a message: what the message says of it, and how it stands now."""
    invoice_id: int
    number: str
    active: bool
    line_open_cents: int  # what the message says
    open_cents: int  # what is open now
    disputed: bool
    paused_until: date | None
    invoice_date: date | None = None  # for the statement of account of a message with many invoices
    due_date: date | None = None
    in_plan: bool = False  # put in a running payment plan (perhaps after the message was approved)

    def state(self) -> chase.InvoiceState:
        """The invoice as the chase rule sees it (the debtor's block is the message's to check)."""
        return chase.InvoiceState(open_cents=self.open_cents, disputed=self.disputed, paused_until=self.paused_until,
                                  in_plan=self.in_plan)


@dataclass(frozen=True)
class Candidate:
    """An approved message as read just before sending, with its debtor and its invoices."""
    id: int
    debtor_id: int
    debtor_code: str
    debtor_name: str
    blocked: bool
    blocked_reason: str | None
    blocked_until: date | None
    status: str
    channel: str
    edited: bool
    recipients: str | None
    subject: str
    body_text: str
    body_html: str
    currency: str
    total_cents: int
    due_cents: int  # total + costs + interest: what the QR asks for
    step_name: str
    planned_date: date
    postponed_until: date | None
    next_attempt_at: datetime | None
    attempts: int
    smtp_message_id: str | None
    updated_at: datetime
    lines: tuple[Line, ...] = ()
    qr_payload: str | None = None  # the EPC QR text and image kept for it (read only for sending)
    qr_png: bytes | None = None
    language: str = "nl"
    contact_person: str = ""
    address: str = ""
    portal_generation: int = 0  # the debtor's portal link generation, signed into the link as it is sent
    on_file: str | None = None  # the debtor's addresses as read (recipients: those without the bounced ones)
    bouncing: str | None = None  # the debtor's bouncing list as read

    @property
    def active_lines(self) -> tuple[Line, ...]:
        return tuple(ln for ln in self.lines if ln.active)


@dataclass(frozen=True)
class Verdict:
    """send; cancel (nothing left); rerender (invoices left or amounts changed: the words must follow);
    review (same, but a person wrote the words); block (debtor blocked); wait (not due now);
    address (the debtor has no usable reminder address: it waits, approved, until it has one)."""
    action: str
    reason: str = ""  # English, with its phrase for a page and for the message's last problem (a Said)
    drop: tuple[int, ...] = ()  # invoice ids that leave the message
    follow: tuple[tuple[int, int], ...] = ()  # (invoice id, open cents now) of partly paid invoices


def recheck(c: Candidate, today: date, now: datetime, tolerance_cents: int = 0) -> Verdict:
    """What may happen to an approved message right now, from the current state of its invoices."""
    if chase.debtor_blocked(c.blocked, c.blocked_until, today):
        why = c.blocked_reason or Phrase(N_("no reason given"))
        return Verdict(BLOCK, said(N_("reminders to {code} are blocked until {day}: {reason}"), code=c.debtor_code,
                                   day=c.blocked_until, reason=why) if c.blocked_until
                       else said(N_("reminders to {code} are blocked: {reason}"), code=c.debtor_code, reason=why))
    waiting = _waiting(c, today, now)
    if waiting is not None:
        return waiting
    active = c.active_lines
    gone: list[tuple[Line, Phrase]] = []
    follow: list[Line] = []
    for ln in active:
        state = ln.state()
        reason = chase.hold_reason(state, today, tolerance_cents)
        if reason is not None:
            gone.append((ln, chase.describe(reason, state)))
        elif ln.open_cents != ln.line_open_cents:
            follow.append(ln)
    drop = tuple(ln.invoice_id for ln, _ in gone)
    changes = [Phrase(N_("{number} {why}"), {"number": ln.number, "why": why}) for ln, why in gone]
    changes += [Phrase(N_("{number} now {amount} (was {before})"),
                       {"number": ln.number, "amount": Money(ln.open_cents, c.currency),
                        "before": Money(ln.line_open_cents, c.currency)}) for ln in follow]
    what = joined(changes)
    if len(gone) == len(active):  # none left (or none to begin with)
        return Verdict(CANCEL, said(N_("nothing left to chase: {what}"), what=what) if changes else NOTHING_LEFT, drop)
    if gone or follow:
        pairs = tuple((ln.invoice_id, ln.open_cents) for ln in follow)
        if c.edited:
            return Verdict(REVIEW, said(N_("changed since approval ({what}); the text was written by hand, so check "
                                           "it and approve it again"), what=what), drop, pairs)
        return Verdict(RERENDER, said(N_("changed since approval: {what}"), what=what), drop, pairs)
    try:
        parse_recipients(c.recipients)
    except AddressError as exc:
        return Verdict(ADDRESS, said(N_("needs an address: {problem}; add the reminder address of {code} in the "
                                        "dossier or import a debtor list"), problem=exc.phrase, code=c.debtor_code))
    return Verdict(SEND)


def _waiting(c: Candidate, today: date, now: datetime) -> Verdict | None:
    if c.planned_date > today or (c.postponed_until is not None and c.postponed_until > today):
        return Verdict(WAIT, said(N_("planned for {day}"), day=max(c.planned_date, c.postponed_until or c.planned_date)))
    if c.next_attempt_at is not None and c.next_attempt_at > now:
        return Verdict(WAIT, said(N_("next try at {time} UTC"), time=f"{c.next_attempt_at:%H:%M:%S}"))
    return None
