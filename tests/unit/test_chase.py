from datetime import date

import pytest

from receivables.domain.chase import (
    BLOCKED,
    CREDIT_NOTE,
    DISPUTED,
    IN_PLAN,
    PAID,
    PAUSED,
    PROMISED,
    TIME_BARRED,
    InvoiceState,
    debtor_blocked,
    describe,
    hold_reason,
    may_chase,
)

TODAY = date(2026, 12, 4)


@pytest.mark.parametrize(("state", "tolerance", "reason"), [
    (InvoiceState(open_cents=10_000), 0, None),
    (InvoiceState(open_cents=10_000, amount_cents=-10_000), 0, CREDIT_NOTE),
    (InvoiceState(open_cents=0), 0, PAID),
    (InvoiceState(open_cents=499), 500, PAID),
    (InvoiceState(open_cents=500), 500, None),
    (InvoiceState(open_cents=-5), 0, PAID),
    (InvoiceState(open_cents=1, disputed=True), 0, DISPUTED),
    (InvoiceState(open_cents=1, paused_until=TODAY), 0, PAUSED),
    (InvoiceState(open_cents=1, paused_until=date(2026, 12, 3)), 0, None),
    (InvoiceState(open_cents=1, promised=True), 0, PROMISED),
    (InvoiceState(open_cents=1, time_barred=True), 0, TIME_BARRED),
    (InvoiceState(open_cents=1, in_plan=True), 0, IN_PLAN),
    (InvoiceState(open_cents=1, in_plan=True, time_barred=True), 0, IN_PLAN),
    (InvoiceState(open_cents=1, in_plan=True, disputed=True), 0, DISPUTED),
    (InvoiceState(open_cents=0, in_plan=True), 0, PAID),
    (InvoiceState(open_cents=1, debtor_blocked=True), 0, BLOCKED),
    (InvoiceState(open_cents=1, debtor_blocked=True, debtor_blocked_until=TODAY), 0, BLOCKED),
    (InvoiceState(open_cents=1, debtor_blocked=True, debtor_blocked_until=date(2026, 12, 3)), 0, None),
    (InvoiceState(open_cents=0, disputed=True, debtor_blocked=True), 0, PAID),
    (InvoiceState(open_cents=1, disputed=True, debtor_blocked=True), 0, BLOCKED),
    (InvoiceState(open_cents=1, disputed=True, promised=True, time_barred=True), 0, DISPUTED),
])
def test_the_chase_rule_names_the_first_reason_an_invoice_is_left_alone(state, tolerance, reason):
    assert hold_reason(state, TODAY, tolerance) == reason
    assert may_chase(state, TODAY, tolerance) is (reason is None)


@pytest.mark.parametrize(("blocked", "until", "expected"), [
    (False, None, False), (True, None, True), (True, TODAY, True), (True, date(2026, 12, 3), False),
    (False, date(2027, 1, 1), False)])
def test_a_block_holds_through_its_last_day(blocked, until, expected):
    assert debtor_blocked(blocked, until, TODAY) is expected


def test_the_reason_reads_with_its_date():
    assert str(describe(PAUSED, InvoiceState(open_cents=1, paused_until=date(2027, 1, 5)))) == "paused until 05-01-2027"
    assert str(describe(DISPUTED, InvoiceState(open_cents=1, disputed=True))) == "disputed"
