from datetime import date

import pandas as pd
import pytest

from receivables.domain.ageing import BucketSpec, ageing_buckets, assign_buckets, bucket_totals, overdue_cents

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


def test_credit_notes_reduce_the_debtor_total_and_currencies_stay_apart():
    frame = items(
        ("1", "EUR", date(2024, 1, 1), date(2024, 1, 31), 100_00),
        ("1", "EUR", date(2024, 2, 1), date(2024, 2, 1), -30_00),
        ("2", "USD", date(2024, 3, 1), date(2024, 4, 1), 50_00),
    )
    per_debtor = ageing_buckets(frame, AS_OF)
    totals = bucket_totals(per_debtor)
    assert totals["EUR"]["total"] == 70_00
    assert totals["EUR"]["61-90"] == 0 and totals["EUR"]["31-60"] == 70_00
    assert totals["USD"] == {"not_due": 50_00, "1-30": 0, "31-60": 0, "61-90": 0, "90+": 0, "total": 50_00}
    assert overdue_cents(totals["EUR"]) == 70_00


def test_bad_bucket_edges_are_refused_with_a_clear_message():
    with pytest.raises(ValueError, match="increasing"):
        BucketSpec((30, 10))
