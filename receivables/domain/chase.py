"""The chase rule: may this invoice be chased today, and if not, why not. Reminder generation, its second
pass over unsent messages, the sender's re-check before each message and the claim statement all ask
here, so a disputed, paused, promised, planned, paid or time-barred invoice is left alone everywhere alike."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from receivables.domain.phrases import Phrase
from receivables.domain.translation import N_

# The reasons an invoice is not chased, in the order they are checked (each also its English words).
CREDIT_NOTE = N_("credit note")
PAID = N_("paid")
DISPUTED = N_("disputed")
PAUSED = N_("paused")
PROMISED = N_("promised")
IN_PLAN = N_("in a payment plan")  # the plan's terms are announced and followed; not the track's to chase
TIME_BARRED = N_("time-barred")
BLOCKED = N_("blocked")
REASONS = (CREDIT_NOTE, PAID, BLOCKED, DISPUTED, PAUSED, PROMISED, IN_PLAN, TIME_BARRED)
# Reasons that are a person's decision to wait (as opposed to the claim being gone or barred).
HELD = frozenset({BLOCKED, PAUSED, PROMISED, IN_PLAN})


@dataclass(frozen=True)
class InvoiceState:
    """What the rule needs to know of one invoice on one day."""
    open_cents: int
    amount_cents: int = 1  # negative for a credit note
    disputed: bool = False
    paused_until: date | None = None
    promised: bool = False  # under a pending promise to pay (of the invoice or of its whole debtor)
    in_plan: bool = False  # in a running payment plan (active, or broken and waiting for a person)
    time_barred: bool = False  # art. 3:307 / 7:28 BW: a person decides, the engine does not
    debtor_blocked: bool = False
    debtor_blocked_until: date | None = None


def debtor_blocked(blocked: bool, blocked_until: date | None, today: date) -> bool:
    """A block without an end date holds until lifted; one with an end date holds through that day."""
    return bool(blocked) and (blocked_until is None or blocked_until >= today)


def hold_reason(inv: InvoiceState, today: date, tolerance_cents: int = 0) -> str | None:
    """Why the invoice may not be chased today (one of REASONS), or None when it may."""
    if inv.amount_cents <= 0:
        return CREDIT_NOTE
    if inv.open_cents < max(1, tolerance_cents):
        return PAID
    if debtor_blocked(inv.debtor_blocked, inv.debtor_blocked_until, today):
        return BLOCKED
    if inv.disputed:
        return DISPUTED
    if inv.paused_until is not None and inv.paused_until >= today:
        return PAUSED
    if inv.promised:
        return PROMISED
    if inv.in_plan:
        return IN_PLAN
    if inv.time_barred:
        return TIME_BARRED
    return None


def may_chase(inv: InvoiceState, today: date, tolerance_cents: int = 0) -> bool:
    return hold_reason(inv, today, tolerance_cents) is None


def describe(reason: str, inv: InvoiceState) -> Phrase:
    """The reason as a person reads it in the queue and the sender's report."""
    if reason == PAUSED and inv.paused_until is not None:
        return Phrase(N_("paused until {day}"), {"day": inv.paused_until})
    if reason == BLOCKED and inv.debtor_blocked_until is not None:
        return Phrase(N_("blocked until {day}"), {"day": inv.debtor_blocked_until})
    return Phrase(reason)
