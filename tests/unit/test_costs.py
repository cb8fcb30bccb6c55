from datetime import date
from decimal import Decimal

import pytest

from receivables import costs
from receivables.costs import CostSettings, bik_cents, claim, commercial_interest, wik_costs_from


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
