from datetime import date

import pandas as pd
import pytest

from receivables.domain.ageing import AGEING_KEYS, BucketSpec, ageing_table, assign_buckets, currency_totals

AS_OF = date(2024, 3, 31)


def items(*rows):
    return pd.DataFrame([
        {"debtor_code": code, "debtor_name": f"Debtor {code}", "currency": cur, "invoice_date": inv,
         "due_date": due, "open_cents": cents}
        for code, cur, inv, due, cents in rows
    ])


@pytest.mark.parametrize("due, bucket", [
    (date(2024, 4, 30), "not_due"),
    (date(2024, 3, 31), "not_due"),  # due today is not yet late
    (date(2024, 3, 30), "1-30"),
    (date(2024, 3, 1), "1-30"),  # 30 days
    (date(2024, 2, 29), "31-60"),  # 31 days
    (date(2024, 1, 31), "31-60"),  # 60 days
    (date(2024, 1, 30), "61-90"),
    (date(2024, 1, 1), "61-90"),  # 90 days
    (date(2023, 12, 31), "90+"),  # 91 days
])
def test_an_item_lands_in_the_bucket_of_its_days_past_due(due, bucket):
    frame = items(("1", "EUR", date(2023, 1, 1), due, 100))
    assert assign_buckets(frame, AS_OF).tolist() == [bucket]


def test_invoice_date_basis_ages_from_the_invoice_date():
    spec = BucketSpec((30, 60, 90), "invoice")
    frame = items(("1", "EUR", date(2024, 3, 1), date(2024, 4, 30), 100))
    assert spec.labels == ["0-30", "31-60", "61-90", "90+"]
    assert assign_buckets(frame, AS_OF, spec).tolist() == ["0-30"]


def bucket_sums(frame, spec=BucketSpec()):
    """What the database sums per debtor and currency (db.analytics_queries.ageing_sums): the open
    amount per bucket (open_0 …), the part past due and the items."""
    frame = frame.assign(debtor_id=frame["debtor_code"].astype(int), segment=None, account_manager=None,
                         track_override=None, bucket=assign_buckets(frame, AS_OF, spec).map(spec.labels.index),
                         overdue_cents=frame["open_cents"].where(frame["due_date"] < AS_OF, 0), items=1)
    for k in range(len(spec.labels)):
        frame[f"open_{k}"] = frame["open_cents"].where(frame["bucket"] == k, 0)
    return frame.groupby(AGEING_KEYS, dropna=False, as_index=False)[
        [*(f"open_{k}" for k in range(len(spec.labels))), "overdue_cents", "items"]].sum()


def test_credit_notes_reduce_the_debtor_total_and_currencies_stay_apart():
    frame = items(
        ("1", "EUR", date(2024, 1, 1), date(2024, 1, 31), 100_00),
        ("1", "EUR", date(2024, 2, 1), date(2024, 2, 1), -30_00),
        ("2", "USD", date(2024, 3, 1), date(2024, 4, 1), 50_00),
    )
    labels = BucketSpec().labels
    per_debtor = ageing_table(bucket_sums(frame), labels)
    totals = currency_totals(per_debtor, labels)
    assert totals["EUR"]["total"] == 70_00
    assert totals["EUR"]["61-90"] == 0 and totals["EUR"]["31-60"] == 70_00
    assert totals["USD"] == {"not_due": 50_00, "1-30": 0, "31-60": 0, "61-90": 0, "90+": 0, "total": 50_00,
                             "overdue": 0}
    assert totals["EUR"]["overdue"] == 70_00
    assert per_debtor[["debtor_code", "currency", "items"]].values.tolist() == [["1", "EUR", 2], ["2", "USD", 1]]


@pytest.mark.parametrize("edges, as_of, cuts", [
    ((0, 30, 60, 90), AS_OF, [AS_OF, date(2024, 3, 1), date(2024, 1, 31), date(2024, 1, 1)]),
    ((14, 45), date(2024, 1, 15), [date(2024, 1, 1), date(2023, 12, 1)]),
])
def test_the_cut_dates_put_an_item_in_the_same_bucket_as_its_days(edges, as_of, cuts):
    spec = BucketSpec(edges)
    assert spec.cut_dates(as_of) == cuts
    for due in (cuts[0], cuts[-1], cuts[-1] - pd.Timedelta(days=1)):
        due = pd.Timestamp(due).date()
        in_sql = next((k for k, cut in enumerate(cuts) if due >= cut), len(cuts))
        frame = items(("1", "EUR", date(2020, 1, 1), due, 100))
        assert assign_buckets(frame, as_of, spec).tolist() == [spec.labels[in_sql]]


def test_bad_bucket_edges_are_refused_with_a_clear_message():
    with pytest.raises(ValueError, match="increasing"):
        BucketSpec((30, 10))
