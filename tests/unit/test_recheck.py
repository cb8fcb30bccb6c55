"""The re-check before sending: pure, no database. Whether an invoice may still be chased is the chase rule's
(receivables.domain.chase) to say; the re-check turns its answers into what happens to the message."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from receivables.domain import chase
from receivables.domain.recheck import Candidate, Line, Verdict, recheck

TODAY = date(2026, 6, 30)
NOW = datetime(2026, 6, 30, 9, 0)


def line(n=1, open_=10_000, now=None, disputed=False, paused=None, active=True, in_plan=False):
    return Line(n, f"INV-{n}", active, open_, open_ if now is None else now, disputed, paused, in_plan=in_plan)


def candidate(*lines, **kw) -> Candidate:
    base = dict(id=1, debtor_id=1, debtor_code="D001", debtor_name="Klant", blocked=False, blocked_reason=None,
                blocked_until=None, status="approved", channel="email", edited=False, recipients="a@example.nl",
                subject="s", body_text="t", body_html="", currency="EUR", total_cents=10_000, due_cents=10_000,
                step_name="reminder", planned_date=TODAY, postponed_until=None, next_attempt_at=None, attempts=0,
                smtp_message_id=None, updated_at=NOW, lines=lines or (line(),))
    return Candidate(**{**base, **kw})


@pytest.mark.parametrize("c, action, reason", [
    (candidate(), "send", ""),
    (candidate(line(1, now=0)), "cancel", "INV-1 paid"),
    (candidate(line(1, disputed=True)), "cancel", "INV-1 disputed"),
    (candidate(line(1, in_plan=True)), "cancel", "INV-1 in a payment plan"),
    (candidate(line(1, in_plan=True), line(2)), "rerender", "INV-1 in a payment plan"),
    (candidate(line(1, paused=TODAY)), "cancel", "paused until 30-06-2026"),
    (candidate(line(1, paused=TODAY - timedelta(days=1))), "send", ""),
    (candidate(line(1, active=False)), "cancel", "nothing left to chase"),
    (candidate(line(1, now=0), line(2)), "rerender", "INV-1 paid"),
    (candidate(line(1, now=4_000), line(2)), "rerender", "INV-1 now € 40,00 (was € 100,00)"),
    (candidate(line(1, now=0), line(2), edited=True), "review", "approve it again"),
    (candidate(blocked=True, blocked_reason="payment plan"), "block", "payment plan"),
    (candidate(blocked=True, blocked_until=TODAY - timedelta(days=1)), "send", ""),
    (candidate(planned_date=TODAY + timedelta(days=1)), "wait", "planned for 01-07-2026"),
    (candidate(postponed_until=TODAY + timedelta(days=3)), "wait", "planned for 03-07-2026"),
    (candidate(next_attempt_at=NOW + timedelta(minutes=1)), "wait", "next try"),
    (candidate(recipients="debtor@example.nl\r\nBcc: victim@example.org"), "address", "needs an address"),
    (candidate(recipients=None), "address", "no e-mail address"),
])
def test_the_recheck_before_sending(c, action, reason):
    v = recheck(c, TODAY, NOW)
    assert v.action == action and reason in v.reason


def test_an_amount_below_the_tolerance_counts_as_paid():
    assert recheck(candidate(line(1, now=300)), TODAY, NOW, tolerance_cents=500).action == "cancel"


@pytest.mark.parametrize("c, tolerance, expected", [
    # what leaves the message, what follows a part payment
    (candidate(line(1, now=0), line(2)), 0, Verdict("rerender", "changed since approval: INV-1 paid", (1,))),
    (candidate(line(1, now=4_000), line(2)), 0,
     Verdict("rerender", "changed since approval: INV-1 now € 40,00 (was € 100,00)", (), ((1, 4_000),))),
    (candidate(line(1, disputed=True), line(2, now=2_500), line(3)), 0,
     Verdict("rerender", "changed since approval: INV-1 disputed, INV-2 now € 25,00 (was € 100,00)", (1,),
             ((2, 2_500),))),
    (candidate(line(1, now=0), line(2, paused=TODAY + timedelta(days=7))), 0,
     Verdict("cancel", "nothing left to chase: INV-1 paid, INV-2 paused until 07-07-2026", (1, 2))),
    (candidate(line(1, now=499), line(2, now=500)), 500,
     Verdict("rerender", "changed since approval: INV-1 paid, INV-2 now € 5,00 (was € 100,00)", (1,),
             ((2, 500),))),
    (candidate(line(1, now=0, active=False), line(2)), 0, Verdict("send")),  # left the message before
    (candidate(line(1, now=0), line(2), edited=True), 0,
     Verdict("review", "changed since approval (INV-1 paid); the text was written by hand, so check it and "
                       "approve it again", (1,))),
])
def test_what_leaves_the_message_and_what_follows_a_part_payment(c, tolerance, expected):
    assert recheck(c, TODAY, NOW, tolerance) == expected


@pytest.mark.parametrize("blocked_until, action", [
    (None, "block"),  # until lifted
    (TODAY, "block"),  # through that day
    (TODAY + timedelta(days=1), "block"),
    (TODAY - timedelta(days=1), "send"),  # over
])
def test_a_block_holds_as_the_chase_rule_says(blocked_until, action):
    c = candidate(blocked=True, blocked_reason="payment plan", blocked_until=blocked_until)
    assert recheck(c, TODAY, NOW).action == action
    assert (action == "block") is chase.debtor_blocked(True, blocked_until, TODAY)


def test_a_block_is_said_with_its_end_and_its_reason():
    c = candidate(blocked=True, blocked_reason=None, blocked_until=date(2026, 7, 15))
    assert recheck(c, TODAY, NOW).reason == "reminders to D001 are blocked until 15-07-2026: no reason given"


def test_a_blocked_debtor_is_held_before_anything_else_is_looked_at():
    c = candidate(line(1, now=0), blocked=True, blocked_reason="payment plan", planned_date=TODAY + timedelta(days=3))
    assert recheck(c, TODAY, NOW).action == "block"


@pytest.mark.parametrize("open_now, disputed, paused_until, tolerance", [
    (open_now, disputed, paused_until, tolerance)
    for open_now in (-100, 0, 1, 499, 500, 10_000)
    for disputed in (False, True)
    for paused_until in (None, TODAY - timedelta(days=1), TODAY, TODAY + timedelta(days=1))
    for tolerance in (0, 500)
])
def test_an_invoice_leaves_the_message_exactly_when_the_chase_rule_holds_it(open_now, disputed, paused_until,
                                                                            tolerance):
    ln = Line(1, "INV-1", True, 10_000, open_now, disputed, paused_until)
    reason = chase.hold_reason(chase.InvoiceState(open_cents=open_now, disputed=disputed, paused_until=paused_until),
                               TODAY, tolerance)
    v = recheck(candidate(ln, line(2)), TODAY, NOW, tolerance)
    if reason is None:
        assert v.drop == () and v.action in ("send", "rerender")
    else:
        assert v.drop == (1,) and v.action == "rerender" and f"INV-1 {reason}" in v.reason
