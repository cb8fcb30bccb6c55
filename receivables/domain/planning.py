"""Planning a reminder run: from the open invoices, how far each got in its track, the unsent messages and
the engine's settings, which messages to create, which proposed messages take newly due invoices in, which
invoices leave the unsent messages (or follow a part payment there) and which messages are cancelled.

Pure: the reminder engine reads the ledger into these dataclasses, passes today, and writes the plan. Every
"may this invoice be chased" question goes to `receivables.domain.chase`."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from receivables.domain import chase, contacts, costs, tracks
from receivables.domain.messages import IN_FLIGHT
from receivables.domain.phrases import Phrase, Term
from receivables.domain.tracks import Reached, Track
from receivables.domain.translation import N_

WAIT_DAYS = 1  # how long an invoice due at a step may wait for another of the debtor's at the same step


# why a message for invoices first seen long past due starts at a later step ({reason}: the track's reason)
CAUGHT_UP_ONE = N_("First seen {days} days past due: enters at {step}, for a person to approve. {reason}")
CAUGHT_UP_MANY = N_("First seen up to {days} days past due: enters at {step}, for a person to approve. {reason}")

# --- what a run reads ------------------------------------------------------------------------------

@dataclass(slots=True)  # not frozen: a run makes one per open invoice, and frozen ones take three times longer
class OpenInvoice:
    """An invoice with an open amount (negative: a credit note) as the engine sees it on the day of a run."""
    id: int
    number: str
    debtor_id: int
    currency: str
    invoice_date: date
    due_date: date
    amount_cents: int
    open_cents: int
    disputed: bool = False
    paused_until: date | None = None
    description: str | None = None
    promised: bool = False  # under a pending promise to pay, of the invoice or of its whole debtor
    time_barred: bool = False
    in_plan: bool = False  # in a running payment plan
    first_seen: date | None = None  # the day of the import that brought it in


@dataclass(frozen=True, slots=True)
class DebtorFacts:
    """What planning needs of a debtor."""
    id: int
    is_consumer: bool = False
    blocked: bool = False
    blocked_until: date | None = None
    email: str | None = None  # as on file; `contacts.reminder_address` says whether it is usable
    bouncing: str | None = None  # the addresses that bounced (`Debtor.email_bouncing`): not used again


@dataclass(slots=True)
class StepTaken:
    """A step an open invoice's message took, or holds while it has not gone out yet."""
    invoice_id: int
    debtor_id: int
    track: str
    step: str  # the step's key in that track
    status: str
    on: date  # the day it went out (or, not sent, was last changed)


@dataclass(slots=True)
class UnsentMessage:
    id: int
    debtor_id: int
    track: str
    step_index: int
    status: str
    planned_date: date
    edited: bool
    currency: str


@dataclass(slots=True)
class UnsentLine:
    """An invoice an unsent message chases, with the open amount the message was written for."""
    line_id: int
    message_id: int
    invoice_id: int
    open_cents: int


@dataclass(frozen=True)
class PlanSettings:
    tracks: dict[str, Track]
    tolerance_cents: int = 500
    lookahead_days: int = 1
    catch_up_cap: str = "demand"
    wik_extra_days: int = 0


@dataclass(frozen=True)
class Run:
    today: date
    settings: PlanSettings
    invoices: list[OpenInvoice]
    debtors: dict[int, DebtorFacts]
    choices: dict[int, tuple[str, Phrase]]  # per debtor with something to chase: its track and why
    taken: list[StepTaken] = field(default_factory=list)
    unsent: list[UnsentMessage] = field(default_factory=list)
    unsent_lines: list[UnsentLine] = field(default_factory=list)
    letters: dict[int, tuple[date, str]] = field(default_factory=dict)  # the consumer's 14-day letter per invoice


# --- what a run writes -----------------------------------------------------------------------------

@dataclass(frozen=True)
class NewMessage:
    debtor_id: int
    currency: str
    track: str
    step_index: int
    step: str
    planned_date: date
    invoices: tuple[OpenInvoice, ...]  # oldest due first
    reason: Phrase  # why: the track's reason, and a catch-up's entry step
    approved: bool  # goes out without a person (unless the run turns out to be a review)
    caught_up: bool  # for invoices first seen long past due, entered at a later step
    needs_address: bool

    @property
    def key(self) -> str:
        """The message's step key, unique per debtor (the writer adds /2, /3 ... when it is taken)."""
        return f"{self.track}/{self.step}/{self.currency}/{self.planned_date.isoformat()}"


@dataclass(frozen=True)
class Extension:
    """A proposed message at the same step takes in invoices that reached that step later."""
    message_id: int
    invoices: tuple[OpenInvoice, ...]
    planned_date: date | None  # the later day it now waits for, or None when its day stays


@dataclass
class Plan:
    create: list[NewMessage] = field(default_factory=list)
    extend: list[Extension] = field(default_factory=list)
    cancel: list[int] = field(default_factory=list)  # unsent messages with nothing left to chase
    drop_lines: list[int] = field(default_factory=list)  # invoices that leave an unsent message
    follow_lines: dict[int, int] = field(default_factory=dict)  # line -> the open amount it follows
    rerender: dict[int, tuple[OpenInvoice, ...]] = field(default_factory=dict)  # changed message -> its invoices
    holds: dict[int, str] = field(default_factory=dict)  # invoice -> why it is not chased (chase.REASONS)

    @property
    def changed(self) -> int:
        return len(self.rerender)


# --- the rules ---------------------------------------------------------------------------------------

def step_rank(tracks_by_key: dict[str, Track], track_key: str, step_key: str) -> int:
    """How far up the escalation a step is (its template's place), also for a step of a track since
    removed, by the step's key when it is a template's name."""
    track = tracks_by_key.get(track_key)
    index = track.index_of(step_key) if track else None
    if index is not None:
        return track.steps[index].rank
    return tracks.TEMPLATES.index(step_key) if step_key in tracks.TEMPLATES else 0


def invoice_state(inv: OpenInvoice, debtor: DebtorFacts) -> chase.InvoiceState:
    return chase.InvoiceState(open_cents=inv.open_cents, amount_cents=inv.amount_cents, disputed=inv.disputed,
                              paused_until=inv.paused_until, promised=inv.promised, time_barred=inv.time_barred,
                              in_plan=inv.in_plan, debtor_blocked=debtor.blocked, debtor_blocked_until=debtor.blocked_until)


def debtors_to_chase(invoices: list[OpenInvoice], debtors: dict[int, DebtorFacts], today: date,
                     tolerance_cents: int) -> set[int]:
    """The debtors with at least one invoice that may be chased today: those need a track."""
    found: set[int] = set()
    for i in invoices:
        if i.debtor_id not in found and chase.may_chase(invoice_state(i, debtors[i.debtor_id]), today, tolerance_cents):
            found.add(i.debtor_id)
    return found


def review_reason(new_messages: int, ledger_known: bool, limit: int) -> Phrase | None:
    """Why the messages of a run all wait for a person, or None: the first run on a ledger (none of its
    debtors ever had a message), or more messages at once than the engine's limit."""
    if not new_messages:
        return None
    if not ledger_known:
        return Phrase(N_("the first run on this ledger ({n} message(s))"), {"n": new_messages})
    if new_messages > limit:
        return Phrase(N_("{n} messages at once, more than the limit of {limit}"), {"n": new_messages, "limit": limit})
    return None


def plan(run: Run) -> Plan:
    """The messages a run creates, extends and cancels, and how the unsent ones follow their invoices."""
    cfg, today = run.settings, run.today
    chaseable, holds = _chaseable(run)
    by_id = {i.id: i for i in run.invoices}
    busy, reached = _progress(run.taken, run.choices, cfg.tracks)
    out = Plan(holds=holds)
    lines, changed = _follow_invoices(run.unsent_lines, by_id, chaseable, out)
    out.cancel = [m.id for m in run.unsent if not lines.get(m.id)]
    changed -= set(out.cancel)
    due, caught = _due_now(run, chaseable, busy, reached)
    _one_wik_letter(due, run, chaseable, busy, reached)
    mergeable = _mergeable(run.unsent, set(out.cancel))
    wait = timedelta(days=WAIT_DAYS)  # neither a message nor the invoices it takes in wait longer than that
    for (debtor_id, currency, index, planned), group in sorted(_runs(due).items(), key=lambda kv: kv[0]):
        track_key, reason = run.choices[debtor_id]
        m = mergeable.get((debtor_id, currency, track_key, index))
        if m is not None and m.planned_date - wait <= planned <= max(m.planned_date, today) + wait:
            out.extend.append(Extension(m.id, tuple(group), planned if planned > m.planned_date else None))
            lines[m.id].update((inv.id, inv.open_cents) for inv in group)
            changed.add(m.id)
            continue
        out.create.append(_new_message(run, debtor_id, currency, index, planned, group, caught))
    out.rerender = {mid: _oldest_first(by_id[i] for i in lines[mid]) for mid in changed}
    return out


def _chaseable(run: Run) -> tuple[set[int], dict[int, str]]:
    """The invoices that may be chased today; and for the others why not, as the overview of open items
    in a message names them (not counting the tolerance: an invoice below it is simply not chased)."""
    chaseable: set[int] = set()
    holds: dict[int, str] = {}
    for inv in run.invoices:
        state = invoice_state(inv, run.debtors[inv.debtor_id])
        reason = chase.hold_reason(state, run.today, run.settings.tolerance_cents)
        if reason is None:
            chaseable.add(inv.id)
            continue
        if reason == chase.PAID:  # perhaps only below the tolerance: what holds it apart from that
            reason = chase.hold_reason(state, run.today)
        if reason is not None:
            holds[inv.id] = reason
    return chaseable, holds


def _oldest_first(invoices) -> tuple[OpenInvoice, ...]:
    return tuple(sorted(invoices, key=lambda i: (i.due_date, i.number)))


def _progress(taken: list[StepTaken], choices: dict[int, tuple[str, str]],
              tracks_by_key: dict[str, Track]) -> tuple[set[int], dict[int, Reached]]:
    """How far every open invoice got: its messages' steps, mapped onto the debtor's current track; and
    the invoices whose step has not gone out yet (busy: the next step waits for it)."""
    busy: set[int] = set()
    reached: dict[int, Reached] = {}
    for t in taken:
        if t.status in IN_FLIGHT:
            busy.add(t.invoice_id)
            continue
        current = choices.get(t.debtor_id)
        if current is None:
            continue
        track = tracks_by_key[current[0]]
        index = track.index_of(t.step) if t.track == track.key else None
        if index is None:
            index = track.index_for_rank(step_rank(tracks_by_key, t.track, t.step))
        if index < 0:
            continue
        prev = reached.get(t.invoice_id)
        if prev is None or index > prev.index or (index == prev.index and t.on > prev.sent_on):
            reached[t.invoice_id] = Reached(index, t.on)
    return busy, reached


def _follow_invoices(unsent_lines: list[UnsentLine], by_id: dict[int, OpenInvoice], chaseable: set[int],
                     out: Plan) -> tuple[dict[int, dict[int, int]], set[int]]:
    """The unsent messages drop what can no longer be chased and follow part payments. Returns per message
    the invoices it still chases (with their open amounts) and the messages that changed."""
    lines: dict[int, dict[int, int]] = defaultdict(dict)
    changed: set[int] = set()
    for line in unsent_lines:
        inv = by_id.get(line.invoice_id)
        if inv is None or inv.id not in chaseable:
            out.drop_lines.append(line.line_id)
            changed.add(line.message_id)
            continue
        if line.open_cents != inv.open_cents:
            out.follow_lines[line.line_id] = inv.open_cents
            changed.add(line.message_id)
        lines[line.message_id][inv.id] = inv.open_cents
    return lines, changed


def _due_now(run: Run, chaseable: set[int], busy: set[int],
             reached: dict[int, Reached]) -> tuple[dict[tuple, list], dict[int, int]]:
    """Per debtor, currency and step the invoices due for that step, each with its planned day; and per
    invoice that catches up how many days past due it was when first seen."""
    cfg, today = run.settings, run.today
    horizon = today + timedelta(days=cfg.lookahead_days)
    due: dict[tuple[int, str, int], list[tuple[OpenInvoice, date]]] = defaultdict(list)
    caught: dict[int, int] = {}
    for inv in run.invoices:
        if inv.id in busy or inv.id not in chaseable:
            continue
        consumer = run.debtors[inv.debtor_id].is_consumer
        track = cfg.tracks[run.choices[inv.debtor_id][0]]
        entry = None
        if inv.id not in reached:
            entry = tracks.catch_up_entry(track, inv.due_date, inv.first_seen, cfg.catch_up_cap,
                                          bool(consumer) and inv.id not in run.letters)
        if entry is not None:
            nxt = (entry, today)
            caught[inv.id] = (inv.first_seen - inv.due_date).days
        else:
            nxt = tracks.next_step(track, inv.due_date, reached.get(inv.id), today, cfg.lookahead_days)
        if nxt is None:
            continue
        index, planned = nxt
        if track.steps[index].charges_costs and consumer and inv.id in run.letters:
            # costs only after the 14 days from the day after receipt (art. 6:96 lid 6 BW)
            planned = max(planned, costs.wik_costs_from(*run.letters[inv.id], cfg.wik_extra_days))
            if planned > horizon:
                continue
        due[(inv.debtor_id, inv.currency, index)].append((inv, planned))
    return due, caught


def _one_wik_letter(due: dict[tuple, list], run: Run, chaseable: set[int], busy: set[int],
                    reached: dict[int, Reached]) -> None:
    """A consumer's claims that can be demanded go into one letter and are charged together (art. 6:96
    lid 7 BW: one letter, costs on the sum of the principals). When the 14-day letter is due, the overdue
    invoices without a letter of their own join it, from an earlier step or from none; when a later
    cost step is due, the invoices that shared its 14-day letter and wait for the same step join it. An
    invoice still in another unsent message follows with its own letter."""
    letters = run.letters
    for (debtor_id, currency, index), pairs in list(due.items()):
        if not run.debtors[debtor_id].is_consumer:
            continue
        step = run.settings.tracks[run.choices[debtor_id][0]].steps[index]
        if not step.charges_costs or step.template not in tracks.WIK_TEMPLATES:
            continue
        planned = max(p for _, p in pairs)
        inside = {inv.id for inv, _ in pairs}
        first_letter = not all(inv.id in letters for inv, _ in pairs)
        shared = {letters[inv.id] for inv, _ in pairs if inv.id in letters}
        for inv in run.invoices:
            if (inv.debtor_id != debtor_id or inv.currency != currency or inv.id in inside or inv.id in busy
                    or inv.due_date >= planned or inv.id not in chaseable):
                continue
            if first_letter:
                if inv.id in letters:
                    continue
            elif letters.get(inv.id) not in shared or reached.get(inv.id) is None \
                    or reached[inv.id].index + 1 != index:
                continue
            for key, other in list(due.items()):  # it leaves the step it was due for
                if key[:2] == (debtor_id, currency) and key[2] != index:
                    due[key] = [pair for pair in other if pair[0].id != inv.id]
                    if not due[key]:
                        del due[key]
            pairs.append((inv, planned))
            inside.add(inv.id)
        due[(debtor_id, currency, index)] = [(inv, planned) for inv, _ in pairs]


def _runs(due: dict[tuple, list]) -> dict[tuple, list[OpenInvoice]]:
    """One message per debtor, currency and step: an invoice waits at most WAIT_DAYS for another of the
    debtor's that reaches the same step, so the debtor gets one message and none calls an invoice overdue
    before it is. Keyed by debtor, currency, step index and the planned day (the run's latest)."""
    groups: dict[tuple, list[OpenInvoice]] = {}
    for key, pairs in due.items():
        pairs.sort(key=lambda pair: pair[1])
        start = 0
        for i in range(1, len(pairs) + 1):  # runs of invoices due within WAIT_DAYS of the run's first
            if i == len(pairs) or pairs[i][1] > pairs[start][1] + timedelta(days=WAIT_DAYS):
                groups[(*key, pairs[i - 1][1])] = [inv for inv, _ in pairs[start:i]]
                start = i
    return groups


def _mergeable(unsent: list[UnsentMessage], cancelled: set[int]) -> dict[tuple, UnsentMessage]:
    """The proposed messages, untouched by a person, that can take in newly due invoices at their step."""
    out = {}
    for m in sorted(unsent, key=lambda m: m.planned_date):
        if m.status == "proposed" and not m.edited and m.id not in cancelled:
            out[(m.debtor_id, m.currency, m.track, m.step_index)] = m
    return out


def _new_message(run: Run, debtor_id: int, currency: str, index: int, planned: date, group: list[OpenInvoice],
                 caught: dict[int, int]) -> NewMessage:
    track_key, reason = run.choices[debtor_id]
    step = run.settings.tracks[track_key].steps[index]
    chased = _oldest_first(group)
    ages = sorted(caught[i.id] for i in chased if i.id in caught)
    if ages:
        msgid = CAUGHT_UP_ONE if len(ages) == 1 else CAUGHT_UP_MANY
        reason = Phrase(msgid, {"days": ages[-1], "step": Term("step", step.template, step.key), "reason": reason})
    no_address = step.channel != "call" and contacts.reminder_address(run.debtors[debtor_id].email,
                                                                   run.debtors[debtor_id].bouncing) is None
    approved = not (step.needs_approval or step.channel == "call" or ages or no_address)
    return NewMessage(debtor_id, currency, track_key, index, step.key, planned, chased, reason, approved,
                      bool(ages), no_address)
