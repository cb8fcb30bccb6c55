"""Consumers and the law on collection costs (art. 6:96 lid 5-7 BW, WIK) through the reminder engine, on
SQLite and PostgreSQL: one 14-day letter per consumer, costs on the sum of the principals, the term from
the day after receipt, words that make the letter, and the settings that keep it so. Also the business
side that shares the engine: part payments in a letter, time-barred invoices."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from db.models import Debtor
from receivables.domain import costs, tracks
from receivables.services import claims, queue, reminder_settings
from receivables.services.errors import ServiceError
from receivables.services.ledger import apply_change
from receivables.services.settings import get_setting
from tests.integration.test_reminders import (
    debtor,
    fresh_import,
    generate,
    invoice,
    mark_sent,
    messages,
    walk,
)


def consumer_with_two_invoices(uow, **kw):
    """€200 due 15 January and €150 due 29 January, strict track (demand on day 15)."""
    with uow() as u:
        fresh_import(u.session)
        d = debtor(u.session, "C1", track_override="strict", is_consumer=True, **kw)
        invoice(u.session, d, "C1-200", date(2026, 1, 15), 20_000)
        invoice(u.session, d, "C1-150", date(2026, 1, 29), 15_000)
        u.commit()


def numbers_of(uow, message_id):
    return next(n for m, n in messages(uow) if m.id == message_id)


def test_one_14_day_letter_covers_every_overdue_claim_and_costs_go_on_the_sum_of_the_principals(uow):
    consumer_with_two_invoices(uow)
    letter = walk(uow, "C1", "demand", start=date(2026, 1, 16))
    assert letter.planned_date == date(2026, 1, 30)
    assert numbers_of(uow, letter.id) == ["C1-150", "C1-200"]  # the €150, one day overdue, joined it
    assert letter.costs_cents == 0 and letter.costs_detail["announced_cents"] == 5_250  # 15 % of €350
    assert "binnen 14 dagen na de dag waarop u deze brief heeft ontvangen" in letter.body_text
    assert "€ 52,50" in letter.body_text
    final = walk(uow, "C1", "final_notice", start=letter.planned_date)
    assert final.planned_date >= costs.wik_costs_from(letter.planned_date) == date(2026, 2, 14)
    assert final.costs_cents == 5_250  # not 2 × €40
    assert len([m for m, _ in messages(uow) if m.step_name == "demand"]) == 1


def test_a_claim_that_falls_due_later_needs_its_own_letter_before_costs_are_charged_on_it(uow):
    with uow() as u:
        fresh_import(u.session)
        d = debtor(u.session, "C2", track_override="strict", is_consumer=True)
        invoice(u.session, d, "C2-A", date(2026, 1, 15), 20_000)
        u.commit()
    letter = walk(uow, "C2", "demand", start=date(2026, 1, 16))
    with uow() as u:  # a new invoice, due after the letter went out
        d = u.session.scalars(select(Debtor).where(Debtor.code == "C2")).one()
        invoice(u.session, d, "C2-B", date(2026, 2, 5), 15_000)
        u.commit()
    final = walk(uow, "C2", "final_notice", start=letter.planned_date)
    assert numbers_of(uow, final.id) == ["C2-A"] and final.costs_cents == 4_000  # BIK minimum on €200 only
    second = walk(uow, "C2", "demand", start=final.planned_date)  # its own 14-day letter
    assert numbers_of(uow, second.id) == ["C2-B"]
    assert second.costs_cents == 0 and second.costs_detail["wik_letter"] is True


def test_a_14_day_letter_by_post_runs_from_the_second_delivery_day(uow):
    data = tracks.tracks_to_data(tracks.default_tracks())
    for t in data:
        for step in t["steps"]:
            if step["template"] == "demand":
                step["channel"] = "letter"
    with uow(immediate=True) as u:
        reminder_settings.save_setting(u, reminder_settings.TRACKS_KEY, data, actor="admin")
    consumer_with_two_invoices(uow)
    letter = walk(uow, "C1", "demand", start=date(2026, 1, 16))
    assert letter.planned_date == date(2026, 1, 30)  # a Friday: received Tuesday 3 February
    final = walk(uow, "C1", "final_notice", start=letter.planned_date)
    assert final.planned_date == date(2026, 2, 18) and final.costs_cents == 5_250


def test_a_longer_term_from_the_settings_moves_the_costs_later(uow):
    with uow(immediate=True) as u:
        reminder_settings.save_setting(u, reminder_settings.COSTS_KEY, {"mode": "bik", "wik_extra_days": 3}, actor="admin")
    consumer_with_two_invoices(uow)
    letter = walk(uow, "C1", "demand", start=date(2026, 1, 16))
    final = walk(uow, "C1", "final_notice", start=letter.planned_date)
    assert final.planned_date == date(2026, 2, 17)
    with uow(immediate=True) as u, pytest.raises(ServiceError, match="never shorter"):
        reminder_settings.save_setting(u, reminder_settings.COSTS_KEY, {"mode": "bik", "wik_extra_days": -1}, actor="admin")


def test_an_edited_14_day_letter_without_the_term_loses_its_status_with_a_warning(uow):
    consumer_with_two_invoices(uow)
    day = date(2026, 1, 16)
    while True:
        generate(uow, day)
        demand = [m for m, _ in messages(uow) if m.step_name == "demand"]
        if demand:
            break
        for m, _ in messages(uow):
            if m.status in ("approved", "proposed"):
                mark_sent(uow, m.id, day)
        day += timedelta(days=1)
    letter = demand[0]
    with uow() as u:
        queue.edit_text(u, letter.id, letter.subject, "Betaal nu €52,50 extra.", actor="carla")
    [edited] = [m for m, _ in messages(uow) if m.id == letter.id]
    assert edited.status == "proposed" and "does not count as the 14-day letter" in edited.last_error
    mark_sent(uow, letter.id, letter.planned_date)
    follow = walk(uow, "C1", "final_notice", start=letter.planned_date)
    # no costs may follow a letter without the term: the final notice becomes the 14-day letter itself
    assert follow.costs_cents == 0 and follow.costs_detail["wik_letter"] is True


def test_an_edited_14_day_letter_that_keeps_the_term_and_the_amount_keeps_its_status(uow):
    consumer_with_two_invoices(uow)
    letter = walk(uow, "C1", "demand", start=date(2026, 1, 16))
    assert costs.is_wik_letter(letter.body_text, 5_250, "EUR", "nl")
    assert not costs.is_wik_letter(letter.body_text.replace("€ 52,50", "€ 80,00"), 5_250, "EUR", "nl")


@pytest.mark.parametrize("template", ["reminder", "second_reminder"])
def test_the_settings_refuse_costs_on_a_step_before_a_14_day_letter(uow, template):
    data = tracks.tracks_to_data(tracks.default_tracks())
    for step in data[1]["steps"]:
        if step["template"] == template:
            step["charges_costs"] = True
    with uow(immediate=True) as u, pytest.raises(ServiceError, match="only follow a 14-day letter"):
        reminder_settings.save_setting(u, reminder_settings.TRACKS_KEY, data, actor="admin")


def test_the_settings_refuse_a_step_inside_the_previous_letters_term(uow):
    data = tracks.tracks_to_data(tracks.default_tracks())
    strict = next(t for t in data if t["key"] == "strict")
    next(s for s in strict["steps"] if s["key"] == "final_notice")["offset"] = 29
    with uow(immediate=True) as u, pytest.raises(ServiceError, match="at least 30"):
        reminder_settings.save_setting(u, reminder_settings.TRACKS_KEY, data, actor="admin")


@pytest.mark.parametrize("setting, interest", [({}, False), ({"consumer_interest": True}, True)])
def test_consumer_interest_is_charged_only_when_the_setting_says_so(uow, setting, interest):
    if setting:
        with uow(immediate=True) as u:
            reminder_settings.save_setting(u, reminder_settings.COSTS_KEY, {"mode": "bik", **setting}, actor="admin")
    consumer_with_two_invoices(uow)
    letter = walk(uow, "C1", "demand", start=date(2026, 1, 16))
    final = walk(uow, "C1", "final_notice", start=letter.planned_date)
    assert (final.interest_cents > 0) is interest
    if interest:
        assert final.costs_detail["interest_kind"] == "consumer" and final.costs_detail["rates_used"] == ["6"]
        assert "wettelijke rente (artikel 6:119 BW)" in final.body_text and "handelsrente" not in final.body_text


def test_the_handover_to_a_consumer_promises_no_costs_beyond_those_charged(uow):
    consumer_with_two_invoices(uow)
    handover = walk(uow, "C1", "handover", start=date(2026, 1, 16))
    assert handover.costs_cents == 5_250
    assert "De kosten daarvan komen voor uw rekening" not in handover.body_text
    assert "niet hoger dan het bedrag dat wij u al in rekening hebben gebracht" in handover.body_text


def test_the_consumer_settings_round_trip_with_their_rate_table(uow):
    rows = [["2025-01-01", "6", "Besluit 2024"], ["2025-07-01", "4", "Besluit 2025"]]
    with uow(immediate=True) as u:
        reminder_settings.save_setting(u, reminder_settings.CONSUMER_RATES_KEY, rows, actor="admin")
    with uow() as u:
        cfg = reminder_settings.load_settings(u.session)
    assert cfg.costs.consumer_rates == ((date(2025, 1, 1), 6), (date(2025, 7, 1), 4))
    assert cfg.costs.rates == costs.DEFAULT_INTEREST_RATES  # never mixed up with the commercial table
    with uow() as u:
        stored = get_setting(u.session, reminder_settings.CONSUMER_RATES_KEY)
    assert stored == [["2025-01-01", "6", "Besluit 2024"], ["2025-07-01", "4", "Besluit 2025"]]  # with sources


# --- the business side of the same engine ----------------------------------------------------------------

def test_a_demand_after_a_part_payment_claims_interest_on_what_was_outstanding_each_day(uow):
    with uow() as u:
        fresh_import(u.session)
        d = debtor(u.session, "B1", track_override="strict")
        inv = invoice(u.session, d, "B1-1", date(2026, 4, 1), 1_000_000)
        apply_change(u.session, inv, date(2026, 4, 11), "payment", -900_000)
        u.commit()
    demand = walk(uow, "B1", "demand", start=date(2026, 4, 2))
    with uow() as u:
        st = claims.claim_statement(u, "B1", demand.planned_date)
    assert (demand.interest_cents, demand.costs_cents, demand.total_cents) == (
        st.claim.interest_cents, st.claim.costs_cents, 100_000)
    flat, _ = costs.commercial_interest(100_000, date(2026, 4, 1), demand.planned_date)
    assert demand.interest_cents > flat  # the ten days on €10,000 count


def test_an_invoice_that_may_be_time_barred_gets_no_automatic_step(uow):
    with uow() as u:
        fresh_import(u.session)
        d = debtor(u.session, "OLD")
        invoice(u.session, d, "OLD-1", date(2020, 1, 31), 10_000)
        invoice(u.session, d, "OLD-2", date(2026, 5, 20), 10_000)
        u.commit()
    generate(uow)
    chased = sorted(n for _, ns in messages(uow) for n in ns)
    assert chased == ["OLD-2"]
