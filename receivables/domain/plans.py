"""A payment plan (betalingsregeling): the instalments agreed for one or more invoices, the limits a plan
must keep, how payments are set against its terms (the oldest open term first) and the state of each
term and of the plan on a day. Pure: the plan service reads the ledger into these and passes today."""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from receivables.domain.dossier import RuleError
from receivables.domain.money import fmt
from receivables.domain.translation import N_

# how often a term falls due; a month keeps the start's day of the month (31 Jan -> 28 Feb -> 31 Mar)
INTERVALS = ("month", "week", "fortnight", "quarter")
INTERVAL_LABELS = {"month": N_("monthly"), "week": N_("weekly"), "fortnight": N_("every two weeks"),
                   "quarter": N_("quarterly")}
SOURCES = ("staff", "portal")

# the state of a plan as stored: a portal proposal waits for a person; rejected, paid and ended plans are
# history. `ended` is a broken plan a person sent back on the reminder track.
PROPOSED, ACTIVE, BROKEN, REJECTED, PAID, ENDED = "proposed", "active", "broken", "rejected", "paid", "ended"
STATUSES = (PROPOSED, ACTIVE, BROKEN, REJECTED, PAID, ENDED)
STATUS_LABELS = {PROPOSED: N_("proposed"), ACTIVE: N_("active"), BROKEN: N_("broken"), REJECTED: N_("rejected"),
                 PAID: N_("paid"), ENDED: N_("back on the track")}
# the plans whose invoices the reminder track leaves alone: a broken plan waits for a person's decision
HOLDING = frozenset({ACTIVE, BROKEN})
# the plans an invoice can be in at most one of
LIVE = frozenset({PROPOSED, ACTIVE, BROKEN})

# the state of a term (and of a running plan) on a day
OPEN, LATE = "open", "late"
TERM_STATES = (OPEN, PAID, LATE, BROKEN)
TERM_LABELS = {OPEN: N_("open"), PAID: N_("paid"), LATE: N_("late"), BROKEN: N_("broken")}

# the notice before each term is a message of its own track and step: the reminder engine leaves it alone
NOTICE_TRACK, NOTICE_STEP = "plan", "plan_notice"

# what a person decides about a broken plan
ONE_MORE_CHANCE, BACK_ON_TRACK = "one_more_chance", "back_on_track"
CHOICES = (ONE_MORE_CHANCE, BACK_ON_TRACK)
CHOICE_LABELS = {ONE_MORE_CHANCE: N_("one more chance"), BACK_ON_TRACK: N_("back on the reminder track")}


class PlanError(RuleError):
    pass


@dataclass(frozen=True)
class Limits:
    """What an administrator allows a plan to be (Settings); the portal's proposals keep them too."""
    max_terms: int = 12
    max_first_delay_days: int = 31  # from today to the first term
    min_term_cents: int = 2_500
    grace_days: int = 5  # a term unpaid this long after its date breaks the plan
    notice_days: int = 3  # the notice of a term is proposed this many days before it

    def check(self) -> None:
        """The limits themselves, as an administrator types them."""
        if not 1 <= self.max_terms <= 120:
            raise PlanError(N_("the most terms a plan may have must be between 1 and 120"))
        if not 0 <= self.max_first_delay_days <= 366:
            raise PlanError(N_("the first term may be at most 0 to 366 days away"))
        if not 0 <= self.min_term_cents <= 100_000_000:
            raise PlanError(N_("the smallest term amount must be between 0 and 1,000,000.00"))
        if not 0 <= self.grace_days <= 60:
            raise PlanError(N_("the grace period after a term must be between 0 and 60 days"))
        if not 0 <= self.notice_days <= 30:
            raise PlanError(N_("the notice before a term must go out 0 to 30 days ahead"))


@dataclass(frozen=True)
class Term:
    seq: int  # 1, 2, ...
    due_date: date
    amount_cents: int


def term_date(start: date, interval: str, index: int) -> date:
    """The date of term `index` (0 is the start) at the interval."""
    if interval == "week":
        return start + timedelta(weeks=index)
    if interval == "fortnight":
        return start + timedelta(weeks=2 * index)
    months = {"month": 1, "quarter": 3}.get(interval)
    if months is None:
        raise PlanError(N_("unknown interval {interval}; choose one of {choices}"), interval=interval,
                        choices=", ".join(INTERVALS))
    month0 = start.month - 1 + months * index
    year, month = start.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def split(total_cents: int, terms: int) -> list[int]:
    """The total in `terms` equal instalments in whole cents; the last one takes the rounding."""
    if terms < 1:
        raise PlanError(N_("a plan has at least one term"))
    if total_cents <= 0:
        raise PlanError(N_("there is nothing open to pay in terms"))
    base = total_cents // terms
    return [base] * (terms - 1) + [total_cents - base * (terms - 1)]


def schedule(principal_cents: int, terms: int, start: date, interval: str = "month", *,
             interest_cents: int = 0, costs_cents: int = 0) -> list[Term]:
    """The instalments of a plan: the open amount plus the interest and costs agreed, split in `terms`
    from `start` at the interval."""
    if interest_cents < 0 or costs_cents < 0:
        raise PlanError(N_("the interest and costs agreed cannot be negative"))
    amounts = split(principal_cents + interest_cents + costs_cents, terms)
    return [Term(i + 1, term_date(start, interval, i), cents) for i, cents in enumerate(amounts)]


def check_plan(terms: Sequence[Term], start: date, today: date, limits: Limits, currency: str = "EUR") -> None:
    """A plan keeps the administrator's limits; each refusal says what to change."""
    if start < today:
        raise PlanError(N_("the first term {start:%d-%m-%Y} is in the past; start today or later"), start=start)
    if len(terms) > limits.max_terms:
        raise PlanError(N_("a plan may have at most {most} terms; choose fewer"), most=limits.max_terms)
    latest = today + timedelta(days=limits.max_first_delay_days)
    if start > latest:
        raise PlanError(N_("the first term may be at most {days} days away (by {latest:%d-%m-%Y}); start earlier"),
                        days=limits.max_first_delay_days, latest=latest)
    smallest = min(t.amount_cents for t in terms)
    if smallest < limits.min_term_cents:
        raise PlanError(N_("a term of {amount} is below the smallest term amount of {least}; choose fewer terms"),
                        amount=fmt(smallest, currency), least=fmt(limits.min_term_cents, currency))


def check_invoices(invoices: Iterable, debtor_id: int, in_other_plans: Iterable[str] = ()) -> str:
    """The invoices of a plan are the debtor's own, open, undisputed, in one currency and in no other live
    plan. Returns the currency. `invoices` have number, debtor_id, currency, open_cents, disputed."""
    invoices = list(invoices)
    if not invoices:
        raise PlanError(N_("choose the invoices the plan covers"))
    busy = sorted(set(in_other_plans))
    if busy:
        raise PlanError(N_("invoice {numbers} is already in a payment plan; decide about that plan first"),
                        numbers=", ".join(busy))
    for inv in invoices:
        if inv.debtor_id != debtor_id:
            raise PlanError(N_("invoice {number} is not an invoice of this debtor"), number=inv.number)
        if inv.open_cents <= 0:
            raise PlanError(N_("invoice {number} has nothing open; leave it out of the plan"), number=inv.number)
        if inv.disputed:
            raise PlanError(N_("invoice {number} is disputed; resolve the dispute before agreeing a plan for it"),
                            number=inv.number)
    currencies = {inv.currency for inv in invoices}
    if len(currencies) > 1:
        raise PlanError(N_("the chosen invoices are in different currencies; make one plan per currency"))
    return currencies.pop()


# --- payments, terms and the plan's state on a day -------------------------------------------------

@dataclass(frozen=True)
class TermStanding:
    seq: int
    due_date: date
    amount_cents: int
    paid_cents: int
    paid_on: date | None  # the day the term was paid in full
    state: str  # open | paid | late | broken


def allocate(amounts: Sequence[int], payments: Iterable[tuple[date, int]]) -> list[tuple[int, date | None]]:
    """The payments (date, cents), in date order, set against the oldest term not yet paid in full. Per term
    what was paid for it and the day it was paid in full (None while it is not)."""
    paid = [0] * len(amounts)
    paid_on: list[date | None] = [None] * len(amounts)
    i = 0
    for day, cents in sorted(payments):
        while cents > 0 and i < len(amounts):
            take = min(cents, amounts[i] - paid[i])
            paid[i] += take
            cents -= take
            if paid[i] >= amounts[i]:
                paid_on[i] = day
                i += 1
    return list(zip(paid, paid_on, strict=True))


def deadline(due_date: date, grace_days: int, chance_on: date | None = None) -> date:
    """The last day a term's money may arrive; one more chance given on a day moves it to that day + grace."""
    base = max(due_date, chance_on) if chance_on else due_date
    return base + timedelta(days=grace_days)


def term_state(due_date: date, amount_cents: int, paid_cents: int, today: date, grace_days: int,
               chance_on: date | None = None) -> str:
    """paid (in full), open (not due yet), late (due, within the grace period), broken (after it)."""
    if paid_cents >= amount_cents:
        return PAID
    if today <= due_date:
        return OPEN
    return LATE if today <= deadline(due_date, grace_days, chance_on) else BROKEN


def standing(terms: Sequence[Term], payments: Iterable[tuple[date, int]], today: date, grace_days: int,
             chance_on: date | None = None) -> list[TermStanding]:
    """Each term on `today`, from the payments dated up to it."""
    counted = [(d, c) for d, c in payments if d <= today and c > 0]
    done = allocate([t.amount_cents for t in terms], counted)
    return [TermStanding(t.seq, t.due_date, t.amount_cents, paid, on,
                         term_state(t.due_date, t.amount_cents, paid, today, grace_days, chance_on))
            for t, (paid, on) in zip(terms, done, strict=True)]


def plan_state(terms: Sequence[TermStanding], invoices_settled: bool = False) -> str:
    """A running plan on a day: paid (every term, or every invoice settled), broken (a term unpaid after
    its grace period), late (a term due and unpaid within it), else open."""
    if invoices_settled or all(t.state == PAID for t in terms):
        return PAID
    states = {t.state for t in terms}
    for state in (BROKEN, LATE):
        if state in states:
            return state
    return OPEN


def next_status(stored: str, state: str) -> str:
    """The status a plan moves to when its terms stand at `state`: an active plan is broken or paid by its
    terms; a broken one is paid when the money came after all; the rest stay as they are."""
    if stored == ACTIVE and state in (BROKEN, PAID):
        return state
    if stored == BROKEN and state == PAID:
        return PAID
    return stored


def notice_due(term: TermStanding, today: date, notice_days: int) -> bool:
    """The notice of a term goes out from `notice_days` before its date up to the date itself, while it is
    not paid."""
    return term.state != PAID and term.due_date - timedelta(days=notice_days) <= today <= term.due_date


def check_choice(choice: str) -> None:
    if choice not in CHOICES:
        raise PlanError(N_("choose one more chance or back on the track, not {choice}"), choice=choice)
