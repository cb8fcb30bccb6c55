import logging
from datetime import date, timedelta
from decimal import Decimal

import pytest

from receivables.domain import costs
from receivables.domain.costs import CostSettings, bik_cents, claim, commercial_interest, wik_costs_from
from ui import i18n


@pytest.mark.parametrize("principal, expected", [
    (10_000, 4_000),            # €100 → the €40 minimum (DOMAIN.md)
    (26_666, 4_000),            # 15 % = 39.999: still the minimum
    (100_000, 15_000),          # €1,000 → €150
    (250_000, 37_500),          # €2,500 → €375
    (300_000, 42_500),          # €3,000 → €425
    (500_000, 62_500),          # €5,000 → 375 + 250
    (1_000_000, 87_500),        # €10,000 → 375 + 250 + 250
    (2_000_000, 97_500),        # €20,000 → 875 + 100
    (20_000_000, 277_500),      # €200,000 → 875 + 1,900
    (100_000_000, 677_500),     # €1,000,000 → capped at €6,775
    (0, 0),
])
def test_bik_staffel(principal, expected):
    assert bik_cents(principal) == expected


def test_vat_is_added_to_costs_only_on_request():
    assert costs.with_vat(42_500, 21) == 51_425


RATES = costs.DEFAULT_INTEREST_RATES


def test_interest_is_split_where_the_rate_changes():
    # €10,000 due 31 May 2024; 30 days at 12.5 % (June), 62 days at 12.25 % (July, August)
    cents, periods = commercial_interest(1_000_000, date(2024, 5, 31), date(2024, 8, 31), RATES)
    assert [(p.start, p.end, p.rate) for p in periods] == [
        (date(2024, 6, 1), date(2024, 6, 30), Decimal("12.50")),
        (date(2024, 7, 1), date(2024, 8, 31), Decimal("12.25"))]
    expected = Decimal(1_000_000) * (Decimal("0.125") * 30 + Decimal("0.1225") * 62) / 365
    assert cents == int(expected.quantize(Decimal("1"))) == 31_082


def test_interest_compounds_after_each_full_year():
    flat = ((date(2000, 1, 1), Decimal("10")),)
    one_year, _ = commercial_interest(1_000_000, date(2024, 12, 31), date(2025, 12, 31), flat)
    assert one_year == 100_000  # 365 days at 10 %
    two_years, periods = commercial_interest(1_000_000, date(2024, 12, 31), date(2026, 12, 31), flat)
    assert two_years == 210_000  # the second year runs on €11,000
    assert periods[1].principal_cents == Decimal(1_100_000)


@pytest.mark.parametrize("until", [date(2024, 5, 31), date(2024, 5, 1)])
def test_no_interest_on_or_before_the_due_date(until):
    assert commercial_interest(1_000_000, date(2024, 5, 31), until, RATES) == (0, [])


def test_a_consumers_costs_wait_for_the_14_day_letter_and_15_days_after_it():
    inv = [("F1", 100_000, date(2026, 3, 1))]
    settings = CostSettings(mode="bik", interest=True)
    letter = claim(inv, date(2026, 4, 1), settings, consumer=True, wik_letter_sent_on=None)
    assert letter.costs_cents == 0 and letter.interest_cents == 0
    assert letter.detail["wik_letter"] is True and letter.detail["announced_cents"] == 15_000
    sent = date(2026, 4, 1)
    assert wik_costs_from(sent) == date(2026, 4, 16)
    too_soon = claim(inv, date(2026, 4, 15), settings, consumer=True, wik_letter_sent_on=sent)
    assert too_soon.costs_cents == 0 and not too_soon.detail["wik_letter"]
    due = claim(inv, date(2026, 4, 16), settings, consumer=True, wik_letter_sent_on=sent)
    assert due.costs_cents == 15_000


@pytest.mark.parametrize("mode, costs_cents", [("bik", 42_500), ("eu40", 8_000), ("none", 0)])
def test_a_business_pays_the_configured_costs_and_interest(mode, costs_cents):
    inv = [("F1", 100_000, date(2025, 6, 30)), ("F2", 200_000, date(2025, 6, 30))]
    c = claim(inv, date(2025, 7, 30), CostSettings(mode=mode), consumer=False, wik_letter_sent_on=None)
    assert c.costs_cents == costs_cents
    # each invoice's interest is rounded to cents: 834.25 + 1,668.49
    assert c.interest_cents == 834 + 1668
    assert c.detail["rates_used"] == ["10.15"]


def test_an_unknown_cost_mode_is_refused():
    with pytest.raises(ValueError, match="cost mode"):
        CostSettings(mode="lots")


def test_rates_are_read_from_their_stored_form_and_sorted():
    rates = costs.parse_rates([["2025-01-01", "11.15"], {"from": "2024-07-01", "rate": 12.25}])
    assert rates == ((date(2024, 7, 1), Decimal("12.25")), (date(2025, 1, 1), Decimal("11.15")))
    with pytest.raises(ValueError):
        costs.parse_rates([["2025-01-01", "150"]])


# --- rate tables: one row per published rate, against the published figure ----------------------------

# (start, percent) as published; sources are named next to the tables in receivables/domain/costs.py
PUBLISHED_COMMERCIAL = [
    ("2002-12-01", "10.35"), ("2003-01-01", "9.85"), ("2003-07-01", "9.10"), ("2004-01-01", "9.01"),
    ("2005-01-01", "9.09"), ("2005-07-01", "9.05"), ("2006-01-01", "9.25"), ("2006-07-01", "9.83"),
    ("2007-01-01", "10.58"), ("2007-07-01", "11.07"), ("2008-01-01", "11.20"), ("2008-07-01", "11.07"),
    ("2009-01-01", "9.50"), ("2009-07-01", "8.00"), ("2011-07-01", "8.25"), ("2012-01-01", "8.00"),
    ("2013-01-01", "7.75"), ("2013-03-16", "8.75"), ("2013-07-01", "8.50"), ("2014-01-01", "8.25"),
    ("2014-07-01", "8.15"), ("2015-01-01", "8.05"), ("2016-07-01", "8.00"), ("2023-01-01", "10.50"),
    ("2023-07-01", "12.00"), ("2024-01-01", "12.50"), ("2024-07-01", "12.25"), ("2025-01-01", "11.15"),
    ("2025-07-01", "10.15"), ("2026-01-01", "10.15"),
]
PUBLISHED_CONSUMER = [
    ("2002-01-01", "7"), ("2003-08-01", "5"), ("2004-02-01", "4"), ("2007-01-01", "6"), ("2009-07-01", "4"),
    ("2010-01-01", "3"), ("2011-07-01", "4"), ("2012-07-01", "3"), ("2015-01-01", "2"), ("2023-01-01", "4"),
    ("2023-07-01", "6"), ("2024-01-01", "7"), ("2025-01-01", "6"),
]


@pytest.mark.parametrize("start, percent", PUBLISHED_COMMERCIAL)
def test_each_commercial_rate_is_the_published_one_and_names_its_source(start, percent):
    rows = {r.start: r for r in costs.COMMERCIAL_RATES}
    row = rows[date.fromisoformat(start)]
    assert row.percent == Decimal(percent)
    assert "6:120 lid 2" in row.source or "Stb." in row.source


@pytest.mark.parametrize("start, percent", PUBLISHED_CONSUMER)
def test_each_consumer_rate_is_the_published_one_and_names_its_source(start, percent):
    rows = {r.start: r for r in costs.CONSUMER_RATES}
    assert rows[date.fromisoformat(start)].percent == Decimal(percent)
    assert "Besluit vaststelling wettelijke rente" in rows[date.fromisoformat(start)].source


def test_the_tables_hold_exactly_the_published_rates_and_nothing_else():
    assert [(r.start.isoformat(), str(r.percent)) for r in costs.COMMERCIAL_RATES] == PUBLISHED_COMMERCIAL
    assert [(r.start.isoformat(), str(r.percent)) for r in costs.CONSUMER_RATES] == PUBLISHED_CONSUMER


@pytest.mark.parametrize("day, percent", [
    (date(2002, 12, 1), "10.35"), (date(2010, 6, 30), "8.00"), (date(2013, 3, 15), "7.75"),
    (date(2013, 3, 16), "8.75"), (date(2019, 5, 1), "8.00"), (date(2022, 12, 31), "8.00"),
    (date(2026, 11, 18), "10.15"),
])
def test_every_day_from_december_2002_has_a_commercial_rate(day, percent):
    r = costs.interest_on(100_00, day - timedelta(days=1), day, RATES)
    assert r.periods[0].rate == Decimal(percent)


def test_a_day_before_the_table_is_an_error_never_zero_percent():
    with pytest.raises(costs.MissingRateError, match="no rate of statutory commercial interest .* is known for 30-11-2002"):
        commercial_interest(100_000, date(2002, 11, 29), date(2003, 1, 31), RATES)
    with pytest.raises(costs.MissingRateError, match="table starts on 01-01-2023"):
        commercial_interest(100_000, date(2022, 6, 30), date(2023, 1, 31), RATES[-7:])


@pytest.mark.parametrize("table, on, expected", [
    # €5,000 due 2022-06-30, claimed on 2026-11-18: with the second half of 2022 at 8 % …
    ("published", date(2026, 11, 18), 284_187),
    # … and what a table starting in 2023 with 0 % before it claimed
    ("zero before 2023", date(2026, 11, 18), 255_237),
])
def test_interest_on_an_invoice_due_mid_2022_runs_from_the_day_after_the_due_date(table, on, expected):
    rates = RATES if table == "published" else ((date(2000, 1, 1), Decimal(0)), *RATES[-7:])
    assert commercial_interest(500_000, date(2022, 6, 30), on, rates)[0] == expected


def test_stored_rows_keep_their_source_and_refuse_a_rate_that_is_no_percentage():
    rows = costs.parse_rate_rows([["2026-01-01", "10,15", "ECB 2.15 % + 8"], {"from": "2025-07-01", "rate": 10.15}])
    assert [(r.start, r.percent, r.source) for r in rows] == [
        (date(2025, 7, 1), Decimal("10.15"), ""), (date(2026, 1, 1), Decimal("10.15"), "ECB 2.15 % + 8")]
    with pytest.raises(ValueError, match="own start date"):
        costs.parse_rate_rows([["2025-01-01", "1"], ["2025-01-01", "2"]])


def test_half_years_without_their_own_rate_are_named():
    assert costs.half_years_without_rate(RATES, date(2026, 12, 4)) == [date(2026, 7, 1)]
    assert costs.half_years_without_rate(RATES, date(2026, 6, 30)) == []


# --- part payments (art. 6:44 BW) ------------------------------------------------------------------------

def ten_thousand_with(*changes):
    return [costs.ClaimInvoice("F1", 1_000_000, date(2025, 1, 1), tuple(changes))]


@pytest.mark.parametrize("changes, principal, interest", [
    # nothing paid: a year of interest on €10,000
    ((), 1_000_000, 106_153),
    # €9,000 paid on 11 April: interest on €10,000 for 99 days, then on €1,000
    (((date(2025, 4, 11), -900_000, "payment"),), 100_000, 37_834),
    # a credit note of €9,000 on the same day lowers the principal the same way
    (((date(2025, 4, 11), -900_000, "credit"),), 100_000, 37_834),
])
def test_interest_runs_on_what_was_outstanding_each_day(changes, principal, interest):
    c = claim(ten_thousand_with(*changes), date(2025, 12, 31), CostSettings(mode="none"), consumer=False,
              wik_letter_sent_on=None)
    assert (c.principal_cents, c.interest_cents) == (principal, interest)


def test_interest_on_todays_balance_over_the_whole_period_would_claim_too_little():
    wrong, _ = commercial_interest(100_000, date(2025, 1, 1), date(2025, 12, 31), RATES)
    assert wrong == 10_615  # €106.15: what was claimed before, against €378.34 owed


def test_a_payment_goes_first_to_charged_costs_then_fallen_due_interest_then_principal():
    # €10,000 due 2024-01-01; BIK costs (€875) charged by a letter on 2025-03-01; €2,000 paid on 2025-04-01
    inv = [costs.ClaimInvoice("F1", 1_000_000, date(2024, 1, 1), ((date(2025, 4, 1), -200_000, "payment"),))]
    c = claim(inv, date(2025, 4, 1), CostSettings(mode="bik"), consumer=False, wik_letter_sent_on=None,
              costs_charged_on=date(2025, 3, 1))
    assert c.detail["costs_paid_cents"] == 87_500 and c.costs_cents == 0  # costs first
    year_one = costs.interest_on(1_000_000, date(2024, 1, 1), date(2025, 1, 1), RATES).accrued
    before = costs.interest_on(1_000_000, date(2024, 1, 1), date(2025, 3, 31), RATES).accrued
    # the rest (€1,125) pays the first year's interest, which fell due when the year was full …
    assert c.detail["interest"][0]["interest_paid_cents"] == 112_500
    assert c.principal_cents == 1_000_000  # … so nothing reached the principal
    # … and from that day interest runs on the principal plus what is left of the first year's interest
    one_day = (1_000_000 + year_one - 112_500) * Decimal("11.15") / 100 / 365
    assert c.interest_cents == round(before - 112_500 + one_day)


def test_without_charged_costs_a_payment_reaches_the_principal():
    inv = [costs.ClaimInvoice("F1", 1_000_000, date(2025, 1, 1), ((date(2025, 4, 11), -900_000, "payment"),))]
    c = claim(inv, date(2025, 12, 31), CostSettings(mode="bik"), consumer=False, wik_letter_sent_on=None)
    assert c.principal_cents == 100_000 and c.costs_cents == bik_cents(100_000)


# --- consumer interest and the 14-day term ------------------------------------------------------------------

def test_consumer_interest_is_charged_only_when_switched_on_and_at_the_consumer_rate():
    inv = [("F1", 100_000, date(2025, 1, 1))]
    off = claim(inv, date(2025, 12, 31), CostSettings(), consumer=True, wik_letter_sent_on=None)
    on = claim(inv, date(2025, 12, 31), CostSettings(consumer_interest=True), consumer=True, wik_letter_sent_on=None)
    assert off.interest_cents == 0 and "interest" not in off.detail
    assert on.interest_cents == 5_984  # 364 days at 6 %
    assert on.detail["rates_used"] == ["6"] and on.detail["interest_kind"] == "consumer"


@pytest.mark.parametrize("sent_on, channel, received", [
    (date(2026, 12, 2), "email", date(2026, 12, 2)),   # e-mail: received the day it was sent
    (date(2026, 12, 2), "letter", date(2026, 12, 4)),  # Wednesday: Thursday, Friday
    (date(2026, 12, 4), "letter", date(2026, 12, 8)),  # Friday: Saturday, (no Sunday, no Monday) Tuesday
    (date(2026, 12, 23), "letter", date(2026, 12, 29)),  # Christmas, Sunday and Monday are no delivery days
    (date(2026, 4, 24), "letter", date(2026, 4, 28)),  # King's Day (Monday 27 April) neither
])
def test_a_letter_is_presumed_received_on_the_second_delivery_day(sent_on, channel, received):
    assert costs.presumed_receipt(sent_on, channel) == received


@pytest.mark.parametrize("sent_on, channel, extra, first_cost_day", [
    (date(2026, 12, 2), "email", 0, date(2026, 12, 17)),
    (date(2026, 12, 4), "letter", 0, date(2026, 12, 23)),  # received 8 Dec, 14 days from 9 Dec
    (date(2026, 12, 2), "email", 3, date(2026, 12, 20)),
])
def test_costs_start_after_receipt_plus_fourteen_days(sent_on, channel, extra, first_cost_day):
    assert wik_costs_from(sent_on, channel, extra) == first_cost_day


def test_a_setting_may_make_the_consumer_term_longer_never_shorter():
    with pytest.raises(ValueError, match="never shorter"):
        CostSettings(wik_extra_days=-1)


# --- prescription ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("due, consumer, interrupted, barred_from", [
    (date(2020, 3, 31), False, None, date(2025, 4, 1)),   # art. 3:307: five years from the day after due
    (date(2024, 3, 31), True, None, date(2026, 4, 1)),    # art. 7:28: two years for a consumer purchase
    (date(2020, 3, 31), False, date(2024, 6, 1), date(2029, 6, 2)),  # art. 3:317/3:319: a new term
])
def test_a_claim_may_be_time_barred_after_its_term(due, consumer, interrupted, barred_from):
    assert costs.prescribed_on(due, consumer=consumer, interrupted_on=interrupted) == barred_from
    assert not costs.may_be_time_barred(due, barred_from - timedelta(days=1), consumer=consumer,
                                        interrupted_on=interrupted)
    assert costs.may_be_time_barred(due, barred_from, consumer=consumer, interrupted_on=interrupted)


# --- the rate-table errors, worded by the reader --------------------------------------------------------------

@pytest.mark.parametrize("make, english, dutch", [
    (lambda: costs.parse_rate_rows([["2025-01-01", "1"], ["2025-01-01", "2"]]),
     "every rate needs its own start date", "elk tarief heeft een eigen ingangsdatum nodig"),
    (lambda: costs.parse_rate_rows([["2025-07-01", "101"]]),
     "interest rate 101 from 01-07-2025 is not a percentage between 0 and 100",
     "rentepercentage 101 vanaf 01-07-2025 is geen percentage tussen 0 en 100"),
    (lambda: costs.parse_rate_rows([["2025-07-01", "1"], ["1 juli", "2"]]),
     "rate 2: '1 juli' is not a date; write it as 2025-01-01",
     "tarief 2: '1 juli' is geen datum; schrijf die als 2025-01-01"),
    (lambda: costs.parse_rate_rows([["2025-07-01", "tien"]]),
     "rate 1: 'tien' is not a percentage", "tarief 1: 'tien' is geen percentage"),
    (lambda: commercial_interest(100_000, date(2022, 6, 30), date(2023, 1, 31), RATES[-7:]),
     "no rate of statutory commercial interest (art. 6:119a BW) is known for 01-07-2022 (the table starts on "
     "01-01-2023); add the published rate under Settings → Reminders → interest rates",
     "voor 01-07-2022 is geen percentage van de wettelijke handelsrente (art. 6:119a BW) bekend (de tabel begint op "
     "01-01-2023); voeg het gepubliceerde percentage toe onder Instellingen → Herinneringen → rentepercentages"),
    (lambda: costs.interest_on(100_000, date(2022, 6, 30), date(2023, 1, 31), (), kind=costs.CONSUMER),
     "no rate of statutory interest (art. 6:119 BW) is known for 01-07-2022 (the table is empty); add the published "
     "rate under Settings → Reminders → interest rates",
     "voor 01-07-2022 is geen percentage van de wettelijke rente (art. 6:119 BW) bekend (de tabel is leeg); voeg het "
     "gepubliceerde percentage toe onder Instellingen → Herinneringen → rentepercentages"),
    (lambda: costs.CostSettings(mode="double"), "cost mode 'double' is not one of none, eu40, bik",
     "kostenberekening 'double' is niet een van none, eu40, bik"),
])
def test_a_rate_table_error_carries_a_message_id_worded_in_the_readers_language(make, english, dutch):
    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").setLevel(logging.ERROR)
    with pytest.raises(costs.CostError) as caught:
        make()
    exc = caught.value
    assert str(exc) == english  # the command line's words
    assert exc.msgid != english or not exc.params  # a message id with its parameters, not the filled-in words
    before = i18n.current()
    try:
        i18n.use("nl")
        assert i18n.error(exc) == dutch
        i18n.use("en")
        assert i18n.error(exc) == english
    finally:
        i18n.use(before)
