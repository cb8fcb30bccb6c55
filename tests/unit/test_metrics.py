from datetime import date

import pandas as pd
import pytest

from receivables.domain import metrics

AS_OF = date(2024, 6, 30)


# --- the worked examples of the definitions ---------------------------------------------------------

@pytest.mark.parametrize("ar, sales, days, expected", [
    (200_000_00, 2_000_000_00, 365, 36.5),  # the definition's example
    (100_00, 300_00, 90, 30.0),
    (0, 300_00, 90, 0.0),
    (100_00, 0, 90, None),  # no sales, no DSO
])
def test_standard_dso_is_ar_over_sales_times_days(ar, sales, days, expected):
    result = metrics.dso_standard(ar, sales, days)
    assert (result if result is None else round(result, 1)) == expected


@pytest.mark.parametrize("ar, months, expected", [
    (212_000_00, [(100_000_00, 31), (80_000_00, 30), (70_000_00, 30)], 74.7),  # the definition's example
    (212_000_00, [(100_000_00, 30), (80_000_00, 30), (70_000_00, 30)], 73.7),  # with 30-day months
    (50_000_00, [(100_000_00, 31)], 15.5),  # AR within the newest month
    (100_000_00, [(100_000_00, 31), (80_000_00, 30)], 31.0),  # AR equal to a month's sales stops there
    (0, [(100_000_00, 31)], 0.0),
    (500_00, [(0, 31), (1_000_00, 30)], 46.0),  # a month without sales is walked through
    (5_000_00, [(1_000_00, 31), (1_000_00, 30)], 61.0),  # AR left after the last month: a lower bound
    (100_00, [], None),
])
def test_count_back_dso_walks_back_month_by_month(ar, months, expected):
    result = metrics.dso_count_back(ar, months)
    assert (result if result is None else round(result, 1)) == expected


@pytest.mark.parametrize("start, sales, end, current, expected", [
    (6_200_00, 3_630_00, 6_340_00, 3_590_00, 55.9),  # the definition's example
    (1_000_00, 0, 0, 0, 100.0),  # everything collected
    (1_000_00, 0, 1_000_00, 0, 0.0),  # nothing collected
    (0, 1_000_00, 1_000_00, 1_000_00, None),  # nothing was collectable yet
])
def test_cei_compares_what_was_collected_with_what_could_be(start, sales, end, current, expected):
    result = metrics.cei(start, sales, end, current)
    assert (result if result is None else round(result, 1)) == expected


@pytest.mark.parametrize("ar, current, sales, dso, bpdso, add", [
    (300_00, 100_00, 900_00, 30.0, 10.0, 20.0),
    (100_00, 100_00, 900_00, 10.0, 10.0, 0.0),
])
def test_add_is_standard_dso_minus_best_possible_dso(ar, current, sales, dso, bpdso, add):
    std = metrics.dso_standard(ar, sales)
    best = metrics.best_possible_dso(current, sales)
    assert (round(std, 1), round(best, 1), round(metrics.average_days_delinquent(std, best), 1)) == (dso, bpdso, add)


def test_weighted_days_follow_the_definitions_example():
    assert round(metrics.weighted_average([10, 20], [100, 1_000]), 1) == 19.1


@pytest.mark.parametrize("paid, due, late", [
    (date(2024, 1, 10), date(2024, 1, 31), 0),
    (date(2024, 1, 31), date(2024, 1, 31), 0),
    (date(2024, 2, 1), date(2024, 1, 31), 1),
    (date(2024, 3, 1), date(2024, 1, 31), 30),
])
def test_days_late_is_never_negative(paid, due, late):
    assert metrics.days_late(due=due, on=paid) == late


def test_days_late_takes_its_dates_by_name_so_they_cannot_be_swapped():
    with pytest.raises(TypeError):
        metrics.days_late(date(2024, 3, 1), date(2024, 1, 31))
    assert metrics.days_late(on=date(2024, 3, 1), due=date(2024, 1, 31)) == 30


@pytest.mark.parametrize("d, n, expected", [
    (date(2024, 6, 30), 1, date(2024, 5, 31)),  # a month end stays a month end
    (date(2024, 3, 31), 1, date(2024, 2, 29)),
    (date(2024, 3, 15), 1, date(2024, 2, 15)),
    (date(2024, 1, 31), 12, date(2023, 1, 31)),
    (date(2024, 2, 29), 12, date(2023, 2, 28)),
    (date(2023, 2, 28), -12, date(2024, 2, 29)),
])
def test_months_back_keeps_month_ends(d, n, expected):
    assert metrics.months_back(d, n) == expected


# --- payment behaviour ----------------------------------------------------------------------------

def paid(*rows):
    return pd.DataFrame([
        {"debtor_id": int(code), "code": code, "amount_cents": cents, "invoice_date": inv,
         "due_date": due, "paid_date": on}
        for code, cents, inv, due, on in rows
    ])


def test_behaviour_weighs_days_late_and_to_pay_by_amount():
    frame = paid(("1", 100_00, date(2024, 5, 1), date(2024, 5, 31), date(2024, 6, 10)),  # 10 late, 40 to pay
                 ("1", 1_000_00, date(2024, 4, 1), date(2024, 5, 1), date(2024, 5, 21)))  # 20 late, 50 to pay
    row = metrics.payment_behaviour(frame, AS_OF).iloc[0]
    assert row["invoices_paid"] == 2
    assert round(row["avg_days_late"], 1) == 19.1
    assert round(row["avg_days_to_pay"], 1) == round((100 * 40 + 1000 * 50) / 1100, 1)
    assert row["share_paid_late"] == 1.0 and row["share_paid_late_30"] == 0.0


def test_behaviour_counts_early_payment_as_zero_days_late():
    frame = paid(("1", 500_00, date(2024, 5, 1), date(2024, 5, 31), date(2024, 5, 20)),
                 ("1", 500_00, date(2024, 4, 1), date(2024, 5, 1), date(2024, 6, 10)))  # 40 late
    row = metrics.payment_behaviour(frame, AS_OF).iloc[0]
    assert row["avg_days_late"] == 20.0
    assert row["share_paid_late"] == 0.5 and row["share_paid_late_30"] == 0.5


def test_behaviour_only_counts_invoices_paid_in_the_window():
    frame = paid(("1", 100_00, date(2023, 1, 1), date(2023, 1, 31), date(2023, 6, 30)),  # paid on the window's edge
                 ("1", 100_00, date(2024, 5, 1), date(2024, 5, 31), date(2024, 6, 5)),
                 ("1", 100_00, date(2024, 6, 1), date(2024, 7, 1), date(2024, 7, 5)))  # after as_of
    row = metrics.payment_behaviour(frame, AS_OF, months=12).iloc[0]
    assert row["invoices_paid"] == 1 and row["avg_days_late"] == 5.0


def test_behaviour_trend_compares_the_last_three_months_with_the_nine_before():
    frame = paid(("1", 100_00, date(2024, 1, 1), date(2024, 1, 31), date(2024, 2, 10)),  # 10 late, older
                 ("1", 100_00, date(2024, 4, 1), date(2024, 5, 1), date(2024, 5, 31)))  # 30 late, recent
    row = metrics.payment_behaviour(frame, AS_OF).iloc[0]
    assert row["trend"] == 20.0


def test_behaviour_has_a_row_without_averages_for_debtors_without_payments():
    frame = paid(("1", 100_00, date(2024, 5, 1), date(2024, 5, 31), date(2024, 6, 5)))
    debtors = pd.DataFrame({"debtor_id": [1, 2], "code": ["1", "2"]})
    out = metrics.payment_behaviour(frame, AS_OF, debtors=debtors).set_index("code")
    assert out.loc["2", "invoices_paid"] == 0 and pd.isna(out.loc["2", "avg_days_late"])
    assert out.loc["1", "invoices_paid"] == 1


def test_behaviour_ignores_credit_notes():
    frame = paid(("1", -100_00, date(2024, 5, 1), date(2024, 5, 1), date(2024, 6, 20)),
                 ("1", 100_00, date(2024, 5, 1), date(2024, 5, 31), date(2024, 5, 31)))
    row = metrics.payment_behaviour(frame, AS_OF).iloc[0]
    assert row["invoices_paid"] == 1 and row["avg_days_late"] == 0.0


def test_behaviour_of_an_empty_ledger_is_empty():
    assert metrics.payment_behaviour(paid(), AS_OF).empty


def test_the_help_text_states_the_definitions_word_for_word():
    from pathlib import Path

    from receivables.domain import definitions

    domain = Path(__file__).resolve().parents[2].parent / "shared" / "DOMAIN.md"
    if not domain.is_file():
        pytest.skip("DOMAIN.md is not beside the repository")
    section = domain.read_text(encoding="utf-8").split("## Metrics", 1)[1].split("\n## ", 1)[0]
    flat = " ".join(section.split())
    assert definitions.CURRENCIES in flat
    for text in definitions.METRICS.values():
        assert text in flat
