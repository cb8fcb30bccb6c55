"""The rules of a promise to pay: when it may be made, what it covers, and when it is kept or broken."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest

from receivables.domain import promises
from receivables.domain.promises import PromiseCheck, PromiseError

TODAY = date(2026, 3, 10)


@dataclass
class Inv:
    number: str
    open_cents: int
    due_date: date
    currency: str = "EUR"


@pytest.mark.parametrize("promised, says", [
    (TODAY, None),
    (TODAY + timedelta(days=1), None),
    (TODAY + timedelta(days=366), None),
    (TODAY - timedelta(days=1), "the promised date 09-03-2026 is in the past"),
    (TODAY + timedelta(days=367), "more than a year ahead; agree a payment plan instead"),
])
def test_a_promised_date_lies_between_today_and_a_year_ahead(promised, says):
    if says is None:
        promises.check_date(promised, TODAY)
    else:
        with pytest.raises(PromiseError, match=says):
            promises.check_date(promised, TODAY)


@pytest.mark.parametrize("amount, open_total, expected", [
    (None, 150_000, 150_000),  # none given: the open amount of the invoices
    (0, 150_000, 150_000),
    (50_000, 150_000, 50_000),
    (200_000, 150_000, 200_000),  # more than open (costs, interest)
    (-500, 150_000, "more than zero"),
    (None, 0, "more than zero"),
])
def test_the_promised_amount_defaults_to_what_is_open_and_is_more_than_zero(amount, open_total, expected):
    if isinstance(expected, str):
        with pytest.raises(PromiseError, match=expected):
            promises.promised_amount(amount, open_total)
    else:
        assert promises.promised_amount(amount, open_total) == expected


OVERDUE = Inv("A", 100_000, TODAY - timedelta(days=10))
OVERDUE_2 = Inv("B", 50_000, TODAY - timedelta(days=1))
NOT_DUE = Inv("C", 25_000, TODAY + timedelta(days=20))
DUE_TODAY = Inv("D", 10_000, TODAY)
PAID = Inv("E", 0, TODAY - timedelta(days=40))
IN_USD = Inv("F", 70_000, TODAY - timedelta(days=5), "USD")


@pytest.mark.parametrize("chosen, open_invoices, covered, says", [
    ([OVERDUE], [OVERDUE, OVERDUE_2, NOT_DUE], ["A"], None),
    ([NOT_DUE], [OVERDUE, NOT_DUE], ["C"], None),  # chosen by hand: also before its due date
    ([], [OVERDUE, OVERDUE_2, NOT_DUE], ["A", "B"], None),  # none chosen: every overdue one
    ([], [NOT_DUE, DUE_TODAY], ["D", "C"], None),  # nothing overdue: every open one, by due date
    ([PAID], [OVERDUE], None, "invoice E has nothing open; leave it out of the promise"),
    ([], [], None, "De Jong has no open invoices, so there is nothing to promise"),
    ([OVERDUE, IN_USD], [OVERDUE, IN_USD], None, "different currencies; record one promise per currency"),
    ([], [OVERDUE, IN_USD], None, "different currencies"),
])
def test_a_promise_covers_the_chosen_invoices_or_else_every_overdue_one(chosen, open_invoices, covered, says):
    if says is None:
        invoices, currency = promises.covered_invoices(chosen, open_invoices, TODAY, debtor="De Jong")
        assert [i.number for i in invoices] == covered and currency == "EUR"
    else:
        with pytest.raises(PromiseError, match=says):
            promises.covered_invoices(chosen, open_invoices, TODAY, debtor="De Jong")


@pytest.mark.parametrize("wanted, owners, says", [
    (["A", "B"], {"A": 1, "B": 1}, None),
    (["A", "A", " B "], {"A": 1, "B": 1}, None),
    (["A", "X"], {"A": 1, "X": 2}, "invoice X is not an invoice of De Jong \\(0100\\)"),
    (["nope"], {}, "invoice nope is not an invoice of De Jong"),
])
def test_only_the_debtors_own_invoices_can_be_named(wanted, owners, says):
    if says is None:
        assert promises.own_numbers(wanted, owners, 1, debtor="De Jong (0100)") == ["A", "B"]
    else:
        with pytest.raises(PromiseError, match=says):
            promises.own_numbers(wanted, owners, 1, debtor="De Jong (0100)")


def test_the_deadline_is_the_promised_date_plus_the_grace_days():
    assert promises.deadline(TODAY, 3) == date(2026, 3, 13)
    assert promises.deadline(TODAY, 0) == TODAY


MADE = TODAY
DEADLINE = TODAY + timedelta(days=8)


@pytest.mark.parametrize("payments, settled_on, today, expected", [
    ([], None, TODAY + timedelta(days=3), PromiseCheck("pending", 0, None)),
    ([], None, DEADLINE, PromiseCheck("pending", 0, None)),
    ([], None, DEADLINE + timedelta(days=1), PromiseCheck("broken", 0, DEADLINE + timedelta(days=1))),
    ([(TODAY + timedelta(days=2), 100_000)], None, TODAY + timedelta(days=3),
     PromiseCheck("kept", 100_000, TODAY + timedelta(days=2))),
    ([(TODAY + timedelta(days=2), 100_000)], None, TODAY + timedelta(days=1), PromiseCheck("pending", 100_000, None)),
    ([(DEADLINE, 100_000)], None, DEADLINE + timedelta(days=4), PromiseCheck("kept", 100_000, DEADLINE)),
    ([(DEADLINE + timedelta(days=1), 100_000)], None, DEADLINE + timedelta(days=4),
     PromiseCheck("broken", 0, DEADLINE + timedelta(days=1))),
    ([(TODAY + timedelta(days=3), 50_000)], None, DEADLINE + timedelta(days=4),
     PromiseCheck("broken", 50_000, DEADLINE + timedelta(days=1))),
    ([(TODAY + timedelta(days=1), 60_000), (TODAY + timedelta(days=3), 60_000)], None, DEADLINE,
     PromiseCheck("kept", 120_000, TODAY + timedelta(days=3))),
    ([(TODAY - timedelta(days=2), 100_000)], None, TODAY + timedelta(days=1),
     PromiseCheck("kept", 100_000, TODAY)),  # paid before it was written down: kept that day
    ([(TODAY + timedelta(days=1), 30_000)], TODAY + timedelta(days=4), DEADLINE,
     PromiseCheck("kept", 30_000, TODAY + timedelta(days=4))),  # every invoice settled (a credit note)
])
def test_a_promise_is_kept_by_the_money_received_by_its_deadline(payments, settled_on, today, expected):
    assert promises.check_promise(100_000, MADE, DEADLINE, payments, today, settled_on) == expected


@pytest.mark.parametrize("stored, by_hand, now, recorded", [
    ("pending", False, "pending", None),
    ("pending", False, "kept", "kept"),
    ("pending", False, "broken", "broken"),
    (None, False, "broken", "broken"),
    ("broken", False, "kept", "kept"),  # a payment dated in time was imported later
    ("broken", False, "broken", None),  # once
    ("broken", True, "kept", None),  # marked broken by a person: left alone
    ("kept", False, "broken", None),
])
def test_a_review_records_a_new_outcome_only_when_it_changes(stored, by_hand, now, recorded):
    check = PromiseCheck(now, 0, TODAY if now != "pending" else None)
    assert promises.reviewed_outcome(stored, check, set_by_hand=by_hand) == recorded


RECORDED = datetime(2026, 3, 10, 9, 0)


@pytest.mark.parametrize("paid_on, imported_at, counts", [
    (TODAY, datetime(2026, 3, 10, 8, 0), True),  # dated the day of the promise
    (TODAY + timedelta(days=3), datetime(2026, 3, 13, 8, 0), True),
    (TODAY - timedelta(days=3), datetime(2026, 3, 11, 8, 0), True),  # paid just before the call, imported after
    (TODAY - timedelta(days=14), datetime(2026, 3, 11, 8, 0), True),
    (TODAY - timedelta(days=15), datetime(2026, 3, 11, 8, 0), False),  # history loaded late
    (TODAY - timedelta(days=3), datetime(2026, 3, 9, 8, 0), False),  # known before the promise was made
])
def test_a_payment_counts_for_a_promise_from_its_day_or_shortly_before_when_imported_after_it(
        paid_on, imported_at, counts):
    assert promises.counts_for_promise(paid_on, imported_at, RECORDED) is counts


@pytest.mark.parametrize("states, settled", [
    ([], None),
    ([(0, date(2026, 3, 1)), (0, date(2026, 3, 5))], date(2026, 3, 5)),
    ([(0, date(2026, 3, 1)), (100, None)], None),
])
def test_a_promise_on_invoices_is_settled_when_every_one_of_them_is(states, settled):
    assert promises.settled_on(states) == settled
