"""Planning a reminder run, without a database: which messages a run creates, extends and cancels."""

from datetime import date, timedelta

import pytest

from receivables.domain import chase, tracks
from receivables.domain.planning import (
    DebtorFacts,
    OpenInvoice,
    PlanSettings,
    Run,
    StepTaken,
    UnsentLine,
    UnsentMessage,
    plan,
    review_reason,
    step_rank,
)

TODAY = date(2026, 6, 1)
TRACKS = tracks.default_tracks()  # standard: courtesy -3, reminder +1, second +14, call +21, demand +30, ...
SETTINGS = PlanSettings(TRACKS, tolerance_cents=500, lookahead_days=0)


def day(n: int) -> date:
    return TODAY + timedelta(days=n)


def invoice(id_: int = 1, overdue: int = 5, amount: int = 100_000, open_: int | None = None, debtor: int = 1,
            **kw) -> OpenInvoice:
    due = day(-overdue)
    return OpenInvoice(id_, kw.pop("number", f"F-{id_}"), debtor, kw.pop("currency", "EUR"), due - timedelta(days=30),
                       due, amount, amount if open_ is None else open_, **kw)


def run(invoices, debtors=None, track="standard", settings=SETTINGS, **kw) -> Run:
    ids = {i.debtor_id for i in invoices} | {m.debtor_id for m in kw.get("unsent", [])}
    debtors = debtors or {d: DebtorFacts(d, email=f"ar@{d}.nl") for d in ids}
    return Run(TODAY, settings, invoices, debtors, {d: (track, "Default track") for d in debtors}, **kw)


def made(p) -> list[tuple[str, tuple[str, ...], date]]:
    return [(m.step, tuple(i.number for i in m.invoices), m.planned_date) for m in p.create]


# --- which invoices are chased -----------------------------------------------------------------------

@pytest.mark.parametrize("inv, debtor, created, hold", [
    (invoice(), DebtorFacts(1, email="ar@1.nl"), [("reminder", ("F-1",), TODAY)], None),
    (invoice(disputed=True), DebtorFacts(1, email="ar@1.nl"), [], chase.DISPUTED),
    (invoice(paused_until=TODAY), DebtorFacts(1, email="ar@1.nl"), [], chase.PAUSED),
    (invoice(paused_until=day(-1)), DebtorFacts(1, email="ar@1.nl"), [("reminder", ("F-1",), TODAY)], None),
    (invoice(promised=True), DebtorFacts(1, email="ar@1.nl"), [], chase.PROMISED),
    (invoice(time_barred=True), DebtorFacts(1, email="ar@1.nl"), [], chase.TIME_BARRED),
    (invoice(), DebtorFacts(1, blocked=True, email="ar@1.nl"), [], chase.BLOCKED),
    (invoice(), DebtorFacts(1, blocked=True, blocked_until=TODAY, email="ar@1.nl"), [], chase.BLOCKED),
    (invoice(), DebtorFacts(1, blocked=True, blocked_until=day(-1), email="ar@1.nl"),
     [("reminder", ("F-1",), TODAY)], None),
    (invoice(open_=300), DebtorFacts(1, email="ar@1.nl"), [], None),  # below the tolerance: not chased, not held
    (invoice(amount=-5_000), DebtorFacts(1, email="ar@1.nl"), [], chase.CREDIT_NOTE),
    (invoice(overdue=-10), DebtorFacts(1, email="ar@1.nl"), [], None),  # not due for a while
    (invoice(overdue=-3), DebtorFacts(1, email="ar@1.nl"), [("courtesy", ("F-1",), TODAY)], None),
])
def test_only_invoices_the_chase_rule_allows_are_chased(inv, debtor, created, hold):
    p = plan(run([inv], {1: debtor}))
    assert made(p) == created
    assert p.holds.get(inv.id) == hold


# --- how far an invoice got ----------------------------------------------------------------------------

@pytest.mark.parametrize("taken, overdue, created", [
    ([], 20, [("reminder", ("F-1",), TODAY)]),  # steps are never skipped
    ([StepTaken(1, 1, "standard", "reminder", "sent", day(-13))], 14, [("second_reminder", ("F-1",), TODAY)]),
    ([StepTaken(1, 1, "standard", "reminder", "sent", day(-10))], 14, []),  # a late send pushes the next back
    ([StepTaken(1, 1, "standard", "reminder", "proposed", TODAY)], 14, []),  # still in the queue: waits
    ([StepTaken(1, 1, "standard", "reminder", "failed", day(-20))], 30, []),  # still on its way
    ([StepTaken(1, 1, "standard", "reminder", "blocked", day(-13))], 14, [("second_reminder", ("F-1",), TODAY)]),
    # a step of another track counts by how far up the escalation it is
    ([StepTaken(1, 1, "strict", "call", "sent", day(-10))], 30, [("demand", ("F-1",), TODAY)]),
    ([StepTaken(1, 1, "gone", "second_reminder", "sent", day(-7))], 21, [("call", ("F-1",), TODAY)]),
])
def test_the_next_step_follows_the_step_an_invoice_reached(taken, overdue, created):
    assert made(plan(run([invoice(overdue=overdue)], taken=taken))) == created


def test_a_message_is_approved_only_when_its_step_needs_no_person():
    p = plan(run([invoice(overdue=5), invoice(2, overdue=30, debtor=2)],
                 taken=[StepTaken(2, 2, "standard", "call", "sent", day(-9))]))
    assert [(m.step, m.approved) for m in p.create] == [("reminder", True), ("demand", False)]
    assert p.create[0].key == "standard/reminder/EUR/2026-06-01"


def test_a_debtor_without_a_usable_address_gets_its_message_waiting_for_one():
    (m,) = plan(run([invoice()], {1: DebtorFacts(1, email="not an address")})).create
    assert m.needs_address and not m.approved


def test_an_invoice_first_seen_long_past_due_catches_up_for_a_person_to_approve():
    (m,) = plan(run([invoice(overdue=40, first_seen=TODAY)])).create
    assert (m.step, m.caught_up, m.approved) == ("demand", True, False)  # never beyond the demand by default
    assert str(m.reason) == "First seen 40 days past due: enters at demand, for a person to approve. Default track"


# --- one message per debtor, currency and step -----------------------------------------------------------

def test_invoices_at_the_same_step_go_in_one_message_per_currency():
    p = plan(run([invoice(1, overdue=5), invoice(2, overdue=3), invoice(3, overdue=4, currency="USD")]))
    assert sorted((m.currency, tuple(i.number for i in m.invoices)) for m in p.create) == [
        ("EUR", ("F-1", "F-2")), ("USD", ("F-3",))]


def test_an_invoice_reaching_the_step_tomorrow_waits_a_day_for_one_message():
    settings = PlanSettings(TRACKS, lookahead_days=1)
    p = plan(run([invoice(1, overdue=1), invoice(2, overdue=0)], settings=settings,
                 taken=[StepTaken(2, 1, "standard", "courtesy", "sent", day(-3))]))
    assert made(p) == [("reminder", ("F-1", "F-2"), day(1))]  # none is called overdue before it is


def test_a_consumers_overdue_invoices_join_the_14_day_letter():
    consumer = {1: DebtorFacts(1, is_consumer=True, email="jan@example.nl")}
    p = plan(run([invoice(1, overdue=30), invoice(2, overdue=20)], consumer,
                 taken=[StepTaken(1, 1, "standard", "call", "sent", day(-9))]))
    assert made(p) == [("demand", ("F-1", "F-2"), TODAY)]


@pytest.mark.parametrize("channel, extra_days, created", [
    ("email", 0, [("final_notice", ("F-1",), TODAY)]),  # received the day sent: 14 days, costs on the 15th
    ("letter", 0, []),  # by post: received the second delivery day after, so costs wait
    ("email", 2, []),  # a longer term set for consumers
])
def test_costs_wait_for_the_consumers_14_days_after_the_letter(channel, extra_days, created):
    consumer = {1: DebtorFacts(1, is_consumer=True, email="jan@example.nl")}
    taken = [StepTaken(1, 1, "standard", "demand", "sent", day(-15))]
    settings = PlanSettings(TRACKS, lookahead_days=0, wik_extra_days=extra_days)
    p = plan(run([invoice(overdue=45)], consumer, taken=taken, letters={1: (day(-15), channel)}, settings=settings))
    assert made(p) == created


# --- the unsent messages follow their invoices ---------------------------------------------------------------

def waiting(status="proposed", edited=False, planned=TODAY):
    return UnsentMessage(10, 1, "standard", 1, status, planned, edited, "EUR")


@pytest.mark.parametrize("invoices, lines, cancel, drop, follow, rerender", [
    # paid: the invoice is no longer open, the message has nothing left
    ([], [UnsentLine(100, 10, 1, 100_000)], [10], [100], {}, {}),
    # disputed since: it leaves the message, which is cancelled
    ([invoice(disputed=True)], [UnsentLine(100, 10, 1, 100_000)], [10], [100], {}, {}),
    # a part payment: the message follows the amount and is worded again
    ([invoice(open_=60_000)], [UnsentLine(100, 10, 1, 100_000)], [], [], {100: 60_000}, {10: ("F-1",)}),
    # one of two invoices paid below the tolerance: it leaves, the other stays
    ([invoice(open_=200), invoice(2)], [UnsentLine(100, 10, 1, 100_000), UnsentLine(101, 10, 2, 100_000)],
     [], [100], {}, {10: ("F-2",)}),
    # nothing changed: nothing to write
    ([invoice()], [UnsentLine(100, 10, 1, 100_000)], [], [], {}, {}),
])
def test_unsent_messages_drop_what_can_no_longer_be_chased(invoices, lines, cancel, drop, follow, rerender):
    taken = [StepTaken(line.invoice_id, 1, "standard", "reminder", "proposed", TODAY) for line in lines
             if any(i.id == line.invoice_id for i in invoices)]
    p = plan(run(invoices, unsent=[waiting()], unsent_lines=lines, taken=taken))
    assert (p.cancel, p.drop_lines, p.follow_lines) == (cancel, drop, follow)
    assert {mid: tuple(i.number for i in invs) for mid, invs in p.rerender.items()} == rerender
    assert p.create == []


@pytest.mark.parametrize("message, extended", [
    (waiting(), True),
    (waiting(edited=True), False),  # words a person wrote are not extended: a message of its own
    (waiting(status="approved"), False),
    (waiting(planned=day(3)), False),  # planned days ahead: the invoice due now does not wait for it
])
def test_a_proposed_message_at_the_step_takes_a_newly_due_invoice_in(message, extended):
    p = plan(run([invoice(1, overdue=6), invoice(2, overdue=1)], unsent=[message],
                 unsent_lines=[UnsentLine(100, 10, 1, 100_000)],
                 taken=[StepTaken(1, 1, "standard", "reminder", message.status, message.planned_date)]))
    if extended:
        assert [(e.message_id, [i.number for i in e.invoices]) for e in p.extend] == [(10, ["F-2"])]
        assert p.create == [] and [i.number for i in p.rerender[10]] == ["F-1", "F-2"]
    else:
        assert p.extend == [] and made(p) == [("reminder", ("F-2",), TODAY)]


# --- small rules ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("created, known, limit, reason", [
    (0, False, 50, None),
    (3, False, 50, "the first run on this ledger (3 message(s))"),
    (50, True, 50, None),
    (51, True, 50, "51 messages at once, more than the limit of 50"),
])
def test_a_run_is_a_review_on_a_new_ledger_or_above_the_limit(created, known, limit, reason):
    found = review_reason(created, known, limit)
    assert (None if found is None else str(found)) == reason


@pytest.mark.parametrize("track, step, rank", [
    ("standard", "demand", 4),
    ("strict", "call", 3),
    ("gone", "final_notice", 5),  # a track since removed: the step's key names its template
    ("gone", "my own step", 0),
])
def test_a_steps_rank_is_its_place_in_the_escalation(track, step, rank):
    assert step_rank(TRACKS, track, step) == rank
