from datetime import date, datetime

import pytest

from receivables.domain import formatting as f


@pytest.mark.parametrize(("cents", "currency", "lang", "text"), [
    (123456, "EUR", "nl", "€ 1.234,56"),
    (123456, "EUR", "en", "€1,234.56"),
    (-123456, "EUR", "nl", "€ -1.234,56"),
    (-123456, "EUR", "en", "-€1,234.56"),
    (5, "EUR", "nl", "€ 0,05"),
    (0, "EUR", "nl", "€ 0,00"),
    (3524002, "EUR", "nl", "€ 35.240,02"),
    (100000000, "USD", "nl", "US$ 1.000.000,00"),
    (100000000, "USD", "en", "US$1,000,000.00"),
    (99, "GBP", "en", "£0.99"),
    (None, "EUR", "nl", ""),
])
def test_money_reads_as_the_reader_writes_it(cents, currency, lang, text):
    assert f.money(cents, currency, lang) == text


@pytest.mark.parametrize(("cents", "lang", "text"), [
    (3524002, "nl", "35.240,02"), (3524002, "en", "35,240.02"), (-1, "nl", "-0,01"), (None, "en", "")])
def test_an_amount_without_currency(cents, lang, text):
    assert f.amount(cents, lang) == text


@pytest.mark.parametrize(("value", "lang", "text"), [
    (56.6, "nl", "56,6 d"), (56.6, "en", "56.6 d"), (1096, "nl", "1.096,0 d"), (None, "nl", ""),
    (float("nan"), "en", "")])
def test_days(value, lang, text):
    assert f.days(value, lang) == text


@pytest.mark.parametrize(("share", "lang", "text"), [
    (0.125, "nl", "12,5 %"), (0.125, "en", "12.5%"), (1, "nl", "100,0 %"), (0, "en", "0.0%"), (None, "nl", "")])
def test_percentages(share, lang, text):
    assert f.percent(share, lang) == text


@pytest.mark.parametrize(("value", "lang", "text"), [
    (date(2026, 12, 5), "nl", "05-12-2026"), (date(2026, 12, 5), "en", "05 Dec 2026"),
    (datetime(2026, 3, 1, 23, 59), "nl", "01-03-2026"), (None, "nl", "")])
def test_dates(value, lang, text):
    assert f.day(value, lang) == text


def test_a_moment_stored_in_utc_is_shown_to_the_second_on_the_teams_clock():
    assert f.moment(datetime(2026, 12, 5, 14, 3, 9, 123456), "nl") == "05-12-2026 15:03:09"  # CET
    assert f.moment(datetime(2026, 7, 5, 14, 3, 9), "en") == "05 Jul 2026 16:03:09"  # CEST
    assert f.moment(datetime(2026, 12, 5, 14, 3, 9), "en", zone="UTC") == "05 Dec 2026 14:03:09"
