"""A promise to pay (betalingsbelofte): when one may be made, what it covers and for how much, which
payments count for it, and when it is kept or broken. Pure: the dossier and the reminder engine ask these."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol, TypeVar

from receivables.domain.dossier import RuleError

HORIZON_DAYS = 366  # further ahead is a payment plan, not a promise
DEFAULT_GRACE_DAYS = 3
PAYMENT_KINDS = ("payment", "credit")  # the changes that bring a promise closer to being kept
LOOKBACK_DAYS = 14  # money may have left the debtor's bank before the collector wrote the promise down
RECHECK_BROKEN_DAYS = 90  # a broken promise is looked at again this long: a late bank file may still keep it


class PromiseError(RuleError):
    pass


class Promisable(Protocol):
    number: str
    currency: str
    open_cents: int
    due_date: date


P = TypeVar("P", bound=Promisable)


def check_date(promise_date: date, today: date) -> None:
    """A promise is for today or a day within a year."""
    if promise_date < today:
        raise PromiseError("the promised date {date:%d-%m-%Y} is in the past; enter the date the debtor says the "
                           "money will arrive", date=promise_date)
    if promise_date > today + timedelta(days=HORIZON_DAYS):
        raise PromiseError("the promised date is more than a year ahead; agree a payment plan instead")


def deadline(promise_date: date, grace_days: int) -> date:
    """The last day the money may arrive: reminders for the promised invoices pause until then."""
    return promise_date + timedelta(days=grace_days)


def own_numbers(wanted: Iterable[str], owner_of: Mapping[str, int], debtor_id: int, *, debtor: str) -> list[str]:
    """The invoice numbers named (stripped, once each, in order), when every one is an invoice of this
    debtor; `owner_of` maps the numbers found to their debtor's id."""
    numbers = list(dict.fromkeys(n.strip() for n in wanted if n and n.strip()))
    for n in numbers:
        if owner_of.get(n) != debtor_id:
            raise PromiseError("invoice {number} is not an invoice of {debtor}; pick one of its open invoices",
                               number=n, debtor=debtor)
    return numbers


def covered_invoices(chosen: Sequence[P], open_invoices: Sequence[P], today: date, *,
                     debtor: str) -> tuple[list[P], str]:
    """The invoices a promise covers and their currency: the chosen ones (each with something open), or
    else every open overdue invoice, or else every open one. One currency per promise."""
    for inv in chosen:
        if inv.open_cents <= 0:
            raise PromiseError("invoice {number} has nothing open; leave it out of the promise", number=inv.number)
    covered = list(chosen)
    if not covered:
        open_ones = sorted((i for i in open_invoices if i.open_cents > 0), key=lambda i: i.due_date)
        covered = [i for i in open_ones if i.due_date < today] or open_ones
    if not covered:
        raise PromiseError("{debtor} has no open invoices, so there is nothing to promise", debtor=debtor)
    currencies = {i.currency for i in covered}
    if len(currencies) > 1:
        raise PromiseError("the chosen invoices are in different currencies; record one promise per currency")
    return covered, currencies.pop()


def promised_amount(amount_cents: int | None, open_cents: int) -> int:
    """The amount promised: as given, or (none or zero given) the open amount of the invoices."""
    amount = open_cents if not amount_cents else int(amount_cents)
    if amount <= 0:
        raise PromiseError("the promised amount must be more than zero")
    return amount


# --- kept or broken ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class PromiseCheck:
    outcome: str  # pending | kept | broken
    paid_cents: int
    resolved_on: date | None


def counts_for_promise(paid_on: date, imported_at: datetime, recorded_at: datetime) -> bool:
    """A payment counts for a promise when it is dated from the day of the promise, or was imported after
    the promise was recorded and dated shortly before it (it left the debtor's bank before the call)."""
    made_on = recorded_at.date()
    return paid_on >= made_on or (imported_at >= recorded_at and paid_on >= made_on - timedelta(days=LOOKBACK_DAYS))


def settled_on(states: Sequence[tuple[int, date | None]]) -> date | None:
    """The day every promised invoice was settled, from their (open cents, settled date); else None."""
    if states and all(open_cents == 0 and settled is not None for open_cents, settled in states):
        return max(settled for _, settled in states)
    return None


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


def reviewed_outcome(stored: str | None, check: PromiseCheck, *, set_by_hand: bool) -> str | None:
    """The outcome a review records for a promise now `check`, or None when it leaves the promise as it is:
    a pending promise becomes kept or broken once; a broken one becomes kept when a payment dated in time
    is imported late, unless a person marked it broken."""
    stored = stored or "pending"
    if stored == "kept" or check.outcome in ("pending", stored):
        return None
    if stored == "broken" and (set_by_hand or check.outcome != "kept"):
        return None
    return check.outcome
