from datetime import date, timedelta

import pandas as pd
import pytest

from receivables.domain import metrics

AS_OF = date(2024, 6, 30)  # week 1 runs 1-7 July


def items(*rows):
    return pd.DataFrame([{"debtor_id": d, "currency": cur, "due_date": due, "open_cents": cents, "disputed": disputed}
                         for d, cur, due, cents, disputed in rows])


def behaviour(*rows):
    """Signed payment delays per debtor: (debtor, average delay, spread, invoices paid)."""
    return pd.DataFrame([{"debtor_id": d, "avg_delay": late, "std_delay": spread, "invoices_paid": n}
                         for d, late, spread, n in rows], columns=metrics.DELAY_COLUMNS)


@pytest.mark.parametrize("due, late, week", [
    (date(2024, 7, 2), 0.0, 1),
    (date(2024, 7, 2), 7.0, 2),  # 9 July
    (date(2024, 6, 1), 10.0, 1),  # expected 11 June, already passed: week 1
    (date(2024, 7, 1), 91.0, None),  # 30 September: after the 13 weeks
])
def test_an_open_invoice_is_expected_at_due_date_plus_its_debtors_days_late(due, late, week):
    fc = metrics.cash_forecast(items((1, "EUR", due, 100_00, False)), behaviour((1, late, 0.0, 5)), AS_OF)
    weeks = fc[fc["expected_cents"] > 0]["week"].tolist()
    assert weeks == ([] if week is None else [week])


def test_debtors_without_history_get_the_portfolios_days_late():
    fc = metrics.cash_forecast(items((2, "EUR", date(2024, 7, 2), 100_00, False)), behaviour((1, 0.0, 0.0, 5)),
                               AS_OF, portfolio=(14.0, 0.0))
    assert fc.loc[fc["expected_cents"] > 0, "week"].tolist() == [3]  # 16 July


def test_disputed_invoices_and_credit_notes_are_not_forecast():
    fc = metrics.cash_forecast(items((1, "EUR", date(2024, 7, 2), 100_00, True),
                                     (1, "EUR", date(2024, 7, 2), -50_00, False)), behaviour(), AS_OF)
    assert fc.empty


def test_the_forecast_is_per_currency_and_spreads_an_invoice_over_the_weeks_its_debtor_may_pay_in():
    fc = metrics.cash_forecast(items((1, "EUR", date(2024, 7, 10), 100_00, False),
                                     (2, "USD", date(2024, 7, 10), 70_00, False)),
                               behaviour((1, 2.0, 8.0, 5), (2, 0.0, 0.0, 5)), AS_OF)
    assert set(fc["currency"]) == {"EUR", "USD"} and len(fc) == 26
    totals = fc.groupby("currency")["expected_cents"].sum().to_dict()
    assert totals["USD"] == 70_00 and 99_00 <= totals["EUR"] <= 100_00  # a sliver falls after 13 weeks
    assert (fc["low_cents"] <= fc["expected_cents"]).all() and (fc["expected_cents"] <= fc["high_cents"]).all()
    eur = fc[fc["currency"] == "EUR"].set_index("week")["expected_cents"]
    # paid around 12 July ± 8 days: most in week 2 (8-14 July), some in weeks 1 and 3
    assert eur.idxmax() == 2 and eur[1] > 0 and eur[3] > 0 and eur[2] < 100_00


def test_the_backtest_error_compares_expected_with_actual_receipts():
    fc = metrics.cash_forecast(items((1, "EUR", date(2024, 7, 2), 100_00, False),
                                     (1, "EUR", date(2024, 7, 9), 100_00, False)), behaviour((1, 0.0, 0.0, 5)), AS_OF)
    receipts = pd.DataFrame({"currency": ["EUR", "EUR"], "day": [date(2024, 7, 3), date(2024, 7, 20)],
                             "received_cents": [100_00, 100_00]})
    bt = metrics.backtest(fc, receipts, AS_OF)
    assert bt.set_index("week").loc[[1, 2, 3], "actual_cents"].tolist() == [100_00, 0, 100_00]
    err = metrics.forecast_error(bt)["EUR"]
    assert {k: err[k] for k in ("wape", "bias_cents", "actual_cents", "expected_cents")} == {
        "wape": 100.0, "bias_cents": 0, "actual_cents": 200_00, "expected_cents": 200_00}


def test_the_ledger_gives_ar_overdue_and_sales_on_any_date():
    daily = pd.DataFrame({"currency": ["EUR"] * 4,
                          "day": [date(2024, 1, 1), date(2024, 2, 1), date(2024, 2, 15), date(2024, 3, 1)],
                          "sales_cents": [1000, 0, 500, 0], "change_cents": [0, 0, -400, -500],
                          "overdue_cents": [0, 1000, 0, 500], "overdue_change_cents": [0, 0, -400, -500]})
    ledger = metrics.ledgers(daily)["EUR"]
    assert [ledger.ar(date(2023, 12, 31)), ledger.ar(date(2024, 1, 1)), ledger.ar(date(2024, 2, 20)),
            ledger.ar(date(2024, 3, 1))] == [0, 1000, 1100, 600]
    assert [ledger.overdue(date(2024, 2, 1)), ledger.current(date(2024, 2, 20)), ledger.overdue(date(2024, 3, 1))] \
        == [1000, 500, 600]
    assert ledger.sales(date(2024, 1, 1), date(2024, 3, 1)) == 500


def test_months_of_the_series_end_on_month_ends():
    assert metrics.month_ends(date(2024, 3, 15), 3) == [date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 15)]
    assert metrics.month_ends(date(2024, 3, 31), 2) == [date(2024, 2, 29), date(2024, 3, 31)]
    assert metrics.months_back(date(2024, 3, 31), 1) + timedelta(days=31) == date(2024, 3, 31)


def test_each_month_of_the_series_counts_its_own_sales_and_the_newest_only_to_date():
    # one invoice of 100.00 on the 10th of every month from July to November 2024, one on 3 December; the
    # series runs to 5 December, so its newest month holds 1-5 December only
    days = [date(2024, m, 10) for m in range(7, 12)] + [date(2024, 12, 3)]
    daily = pd.DataFrame({"currency": "EUR", "day": days, "sales_cents": 100_00, "change_cents": 0,
                          "overdue_cents": 0, "overdue_change_cents": 0})
    series = metrics.dso_series(daily, date(2024, 12, 5), 6)
    assert series["month"].tolist() == ["2024-07", "2024-08", "2024-09", "2024-10", "2024-11", "2024-12"]
    assert series["credit_sales_cents"].tolist() == [100_00] * 6
    assert series["credit_sales_cents"].sum() == daily["sales_cents"].sum()  # no day counted twice


# --- signed delays, the due-date baseline, the band and the doubtful line --------------------------------

def paid_rows(*rows):
    return pd.DataFrame([{"debtor_id": d, "code": str(d), "amount_cents": cents, "invoice_date": due - timedelta(days=30),
                          "due_date": due, "paid_date": paid} for d, due, paid, cents in rows])


def test_early_payment_counts_as_negative_delay_not_as_on_time():
    paid = paid_rows((1, date(2024, 5, 10), date(2024, 5, 1), 100_00), (1, date(2024, 6, 10), date(2024, 6, 3), 300_00))
    delays, portfolio = metrics.payment_delays(paid, AS_OF)
    assert delays.set_index("debtor_id").loc[1, "avg_delay"] == pytest.approx(-7.5)  # (−9 × 100 − 7 × 300) / 400
    assert portfolio[0] == pytest.approx(-7.5)
    # an early payer's invoice due 10 July is expected on 3 July (week 1), not on its due date (week 2)
    fc = metrics.cash_forecast(items((1, "EUR", date(2024, 7, 10), 100_00, False)), behaviour((1, -7.0, 0.0, 2)),
                               AS_OF)
    assert fc.loc[fc["expected_cents"] > 0, "week"].tolist() == [1]


def test_the_due_date_baseline_places_every_invoice_at_its_due_date_and_overdue_ones_in_week_one():
    naive = metrics.naive_forecast(items((1, "EUR", date(2024, 7, 10), 100_00, False),
                                         (1, "EUR", date(2024, 6, 1), 50_00, False)), AS_OF)
    assert naive.loc[naive["expected_cents"] > 0, ["week", "expected_cents"]].values.tolist() == [[1, 50_00],
                                                                                                   [2, 100_00]]


@pytest.mark.parametrize("days_overdue, horizon, doubtful", [
    (150, 180, False), (180, 180, False), (181, 180, True), (100, 90, True), (2_000, 180, True)])
def test_an_invoice_overdue_beyond_the_horizon_goes_to_the_doubtful_line_not_into_next_week(days_overdue, horizon,
                                                                                          doubtful):
    open_items = items((1, "EUR", AS_OF - timedelta(days=days_overdue), 100_00, False))
    fc = metrics.cash_forecast(open_items, behaviour((1, 0.0, 0.0, 5)), AS_OF, doubtful_after=horizon)
    line = metrics.doubtful(open_items, AS_OF, horizon)
    assert (line == {"EUR": {"cents": 100_00, "invoices": 1}}) is doubtful
    assert (int(fc["expected_cents"].sum()) if not fc.empty else 0) == (0 if doubtful else 100_00)


def test_the_backtest_measures_how_often_the_band_held_against_the_eighty_percent_it_claims():
    bt = pd.DataFrame({"currency": "EUR", "week": [1, 2, 3, 4], "expected_cents": [100, 100, 100, 100],
                       "low_cents": [80, 80, 80, 80], "high_cents": [120, 120, 120, 120],
                       "actual_cents": [80, 120, 100, 130], "naive_cents": [0, 400, 0, 0]})
    bt["error_cents"] = bt["expected_cents"] - bt["actual_cents"]
    bt["naive_error_cents"] = bt["naive_cents"] - bt["actual_cents"]
    err = metrics.forecast_error(bt)["EUR"]
    assert metrics.BAND_COVERAGE == 0.80
    assert err["coverage"] == 0.75  # the edges count as inside; 130 is not
    assert err["wape"] == pytest.approx(70 / 430 * 100) and err["naive_wape"] == pytest.approx(590 / 430 * 100)


def test_independent_invoices_give_a_band_narrower_than_their_sum():
    many = items(*[(d, "EUR", date(2024, 7, 10), 100_00, False) for d in range(1, 11)])
    fc = metrics.cash_forecast(many, behaviour(*[(d, 0.0, 4.0, 5) for d in range(1, 11)]), AS_OF)
    week2 = fc.set_index("week").loc[2]
    assert week2["low_cents"] < week2["expected_cents"] < week2["high_cents"]
    assert week2["high_cents"] - week2["expected_cents"] < 10 * 100_00 / 2
