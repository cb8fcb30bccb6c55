"""The rules of a payment plan: its instalments, its limits, and how payments make its terms paid, late or
broken."""

from dataclasses import dataclass
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from receivables.domain import plans
from receivables.domain.plans import Limits, PlanError, Term

TODAY = date(2026, 3, 10)


@pytest.mark.parametrize("total, terms, expected", [
    (30_000, 3, [10_000, 10_000, 10_000]),
    (10_000, 3, [3_333, 3_333, 3_334]),  # the last one takes the rounding
    (100, 7, [14, 14, 14, 14, 14, 14, 16]),
    (1, 1, [1]),
    (5, 1, [5]),
])
def test_an_amount_is_split_in_equal_terms_and_the_last_takes_the_rounding(total, terms, expected):
    assert plans.split(total, terms) == expected


@given(total=st.integers(min_value=1, max_value=10**11), terms=st.integers(min_value=1, max_value=120))
def test_the_terms_always_add_up_to_the_total_exactly(total, terms):
    amounts = plans.split(total, terms)
    assert sum(amounts) == total
    assert len(amounts) == terms
    assert len(set(amounts[:-1])) <= 1 and amounts[-1] >= amounts[0]


@given(principal=st.integers(min_value=1, max_value=10**9), interest=st.integers(min_value=0, max_value=10**6),
       costs=st.integers(min_value=0, max_value=10**6), terms=st.integers(min_value=1, max_value=36))
def test_a_schedule_asks_for_the_open_amount_plus_the_interest_and_costs_agreed(principal, interest, costs, terms):
    schedule = plans.schedule(principal, terms, TODAY, interest_cents=interest, costs_cents=costs)
    assert sum(t.amount_cents for t in schedule) == principal + interest + costs
    assert [t.seq for t in schedule] == list(range(1, terms + 1))


@pytest.mark.parametrize("start, interval, index, expected", [
    (date(2026, 1, 31), "month", 1, date(2026, 2, 28)),
    (date(2026, 1, 31), "month", 2, date(2026, 3, 31)),
    (date(2024, 1, 31), "month", 1, date(2024, 2, 29)),
    (date(2026, 11, 15), "month", 3, date(2027, 2, 15)),
    (date(2026, 3, 10), "week", 2, date(2026, 3, 24)),
    (date(2026, 3, 10), "fortnight", 1, date(2026, 3, 24)),
    (date(2026, 3, 10), "quarter", 4, date(2027, 3, 10)),
    (date(2026, 3, 10), "month", 0, date(2026, 3, 10)),
])
def test_terms_fall_due_at_the_interval_keeping_the_day_of_the_month(start, interval, index, expected):
    assert plans.term_date(start, interval, index) == expected


def test_an_unknown_interval_is_refused():
    with pytest.raises(PlanError, match="unknown interval daily"):
        plans.term_date(TODAY, "daily", 1)


LIMITS = Limits(max_terms=6, max_first_delay_days=30, min_term_cents=5_000)


@pytest.mark.parametrize("total, terms, start, says", [
    (60_000, 6, TODAY, None),
    (60_000, 6, date(2026, 4, 9), None),
    (60_000, 7, TODAY, "at most 6 terms"),
    (60_000, 6, date(2026, 3, 9), "is in the past"),
    (60_000, 6, date(2026, 4, 10), "at most 30 days away"),
    (20_000, 6, TODAY, "below the smallest term amount"),
    (0, 2, TODAY, "nothing open"),
])
def test_a_plan_keeps_the_administrators_limits(total, terms, start, says):
    def make():
        plans.check_plan(plans.schedule(total, terms, start), start, TODAY, LIMITS)
    if says is None:
        make()
    else:
        with pytest.raises(PlanError, match=says):
            make()


@pytest.mark.parametrize("limits, says", [
    (Limits(), None),
    (Limits(max_terms=0), "most terms"),
    (Limits(grace_days=-1), "grace period"),
    (Limits(min_term_cents=-5), "smallest term amount"),
    (Limits(notice_days=31), "notice"),
])
def test_the_limits_themselves_are_checked(limits, says):
    if says is None:
        limits.check()
    else:
        with pytest.raises(PlanError, match=says):
            limits.check()


@dataclass
class Inv:
    number: str
    open_cents: int
    debtor_id: int = 1
    currency: str = "EUR"
    disputed: bool = False


@pytest.mark.parametrize("invoices, busy, says", [
    ([Inv("F1", 100)], (), None),
    ([], (), "choose the invoices"),
    ([Inv("F1", 100, debtor_id=2)], (), "not an invoice of this debtor"),
    ([Inv("F1", 0)], (), "has nothing open"),
    ([Inv("F1", 100, disputed=True)], (), "is disputed"),
    ([Inv("F1", 100), Inv("F2", 100, currency="USD")], (), "different currencies"),
    ([Inv("F1", 100)], ("F1",), "already in a payment plan"),
])
def test_a_plans_invoices_are_the_debtors_own_open_undisputed_and_in_one_currency(invoices, busy, says):
    if says is None:
        assert plans.check_invoices(invoices, 1, busy) == "EUR"
    else:
        with pytest.raises(PlanError, match=says):
            plans.check_invoices(invoices, 1, busy)


@pytest.mark.parametrize("amounts, payments, expected", [
    ([100, 100], [], [(0, None), (0, None)]),
    ([100, 100], [(date(2026, 3, 1), 100)], [(100, date(2026, 3, 1)), (0, None)]),
    ([100, 100], [(date(2026, 3, 1), 150)], [(100, date(2026, 3, 1)), (50, None)]),
    ([100, 100], [(date(2026, 3, 5), 60), (date(2026, 3, 1), 60)], [(100, date(2026, 3, 5)), (20, None)]),
    ([100, 100], [(date(2026, 3, 1), 500)], [(100, date(2026, 3, 1)), (100, date(2026, 3, 1))]),
])
def test_a_payment_is_set_against_the_oldest_open_term(amounts, payments, expected):
    assert plans.allocate(amounts, payments) == expected


TERMS = [Term(1, date(2026, 3, 1), 10_000), Term(2, date(2026, 4, 1), 10_000)]


@pytest.mark.parametrize("payments, today, chance, states, plan_state", [
    ([], date(2026, 2, 20), None, ["open", "open"], "open"),
    ([], date(2026, 3, 1), None, ["open", "open"], "open"),
    ([], date(2026, 3, 2), None, ["late", "open"], "late"),
    ([], date(2026, 3, 6), None, ["late", "open"], "late"),  # grace 5 days: through 6 March
    ([], date(2026, 3, 7), None, ["broken", "open"], "broken"),
    ([(date(2026, 3, 1), 10_000)], date(2026, 3, 20), None, ["paid", "open"], "open"),
    ([(date(2026, 3, 1), 10_000)], date(2026, 4, 10), None, ["paid", "broken"], "broken"),
    ([(date(2026, 3, 1), 20_000)], date(2026, 4, 10), None, ["paid", "paid"], "paid"),
    ([(date(2026, 3, 25), 10_000)], date(2026, 3, 20), None, ["broken", "open"], "broken"),  # not yet paid then
    ([], date(2026, 3, 20), date(2026, 3, 18), ["late", "open"], "late"),  # one more chance: grace from then
    ([], date(2026, 3, 24), date(2026, 3, 18), ["broken", "open"], "broken"),
])
def test_terms_are_paid_late_or_broken_from_the_payments_and_the_grace_period(payments, today, chance, states,
                                                                               plan_state):
    standing = plans.standing(TERMS, payments, today, 5, chance)
    assert [t.state for t in standing] == states
    assert plans.plan_state(standing) == plan_state


def test_a_plan_whose_invoices_are_all_settled_is_paid():
    standing = plans.standing(TERMS, [], date(2026, 4, 20), 5)
    assert plans.plan_state(standing, invoices_settled=True) == "paid"


@pytest.mark.parametrize("stored, state, expected", [
    ("active", "open", "active"), ("active", "late", "active"), ("active", "broken", "broken"),
    ("active", "paid", "paid"), ("broken", "paid", "paid"), ("broken", "open", "broken"),
    ("proposed", "broken", "proposed"), ("ended", "paid", "ended"), ("rejected", "broken", "rejected"),
])
def test_a_plans_status_follows_its_terms_only_while_it_runs(stored, state, expected):
    assert plans.next_status(stored, state) == expected


@pytest.mark.parametrize("today, due", [
    (date(2026, 2, 25), False), (date(2026, 2, 26), True), (date(2026, 3, 1), True), (date(2026, 3, 2), False),
])
def test_the_notice_of_a_term_is_due_a_few_days_before_it(today, due):
    term = plans.standing(TERMS, [], today, 5)[0]
    assert plans.notice_due(term, today, 3) is due


def test_a_choice_about_a_broken_plan_is_one_of_two():
    plans.check_choice("one_more_chance")
    with pytest.raises(PlanError, match="one more chance or back on the track"):
        plans.check_choice("forget it")
