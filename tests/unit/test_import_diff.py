"""The file against the ledger without a database: which invoices are new, which open amounts change,
close or reopen (by how much, of what kind, on which day), which fields move, and what a full list of
open items closes."""

from datetime import date

import numpy as np
import pandas as pd
import pytest

from receivables.importing import diff

AS_OF = date(2026, 6, 30)


def rows(*records: dict) -> pd.DataFrame:
    """A file's typed rows as the parser and the debtor lookup leave them."""
    base = {"invoice_number": "A-1", "debtor_id": 1, "amount_cents": 10_000, "open_cents": 10_000,
            "invoice_date": "2026-05-01", "due_date": "2026-05-31", "description": None, "reference": None,
            "settled_date": None, "paid_cents": 0, "paid_given": False, "disputed": False}
    full = [{**base, "line": n + 2, **r} for n, r in enumerate(records)]
    frame = pd.DataFrame(full)
    for c in ("invoice_date", "due_date", "settled_date"):
        frame[c] = np.asarray([np.datetime64(v, "D") if v else np.datetime64("NaT") for v in frame[c]],
                              dtype="datetime64[D]")
    return frame


def stored(*records: dict) -> pd.DataFrame:
    base = {"id": 1, "number": "A-1", "debtor_id": 1, "amount_cents": 10_000, "open_cents": 10_000,
            "invoice_date": "2026-05-01", "due_date": "2026-05-31"}
    return diff.ledger([{**base, "id": n + 1, **r} for n, r in enumerate(records)])


@pytest.mark.parametrize("old, new, kind", [
    (10_000, 0, "payment"),
    (10_000, 4_000, "payment"),
    (-5_000, 0, "credit"),
    (-5_000, -1_000, "credit"),
    (4_000, 10_000, "reopen"),
    (0, 10_000, "reopen"),
    (10_000, -2_000, "correction"),
    (-2_000, 3_000, "correction"),
])
def test_a_move_of_the_open_amount_is_a_payment_a_credit_a_correction_or_a_reopen(old, new, kind):
    assert diff.change_kinds(np.array([old]), np.array([new])).tolist() == [kind]


@pytest.mark.parametrize("amount, open_, moved, kind, delta", [
    (10_000, 10_000, False, None, None),  # nothing paid yet: no change
    (10_000, 4_000, True, "payment", -6_000),
    (10_000, 0, True, "payment", -10_000),  # paid before the snapshot: settled on its date
    (-5_000, -2_000, True, "credit", 3_000),
    (10_000, 12_000, True, "reopen", 2_000),  # more open than invoiced (interest, costs)
])
def test_a_new_invoice_of_a_list_of_open_items_is_stored_as_open_on_the_snapshot_date(amount, open_, moved, kind,
                                                                                      delta):
    new = diff.new_open_items(rows({"amount_cents": amount, "open_cents": open_}), AS_OF)
    assert new.open_cents.tolist() == [open_]
    assert new.moved.tolist() == ([0] if moved else [])
    assert new.kinds.tolist() == ([kind] if moved else [])
    assert new.deltas.tolist() == ([delta] if moved else [])
    assert new.change_dates.tolist() == ([AS_OF] if moved else [])
    assert new.settled_on.tolist() == [AS_OF]  # the loader uses it where nothing is open


@pytest.mark.parametrize("record, open_, kind, delta, disputed", [
    ({}, 10_000, None, None, False),
    ({"settled_date": "2026-06-10", "paid_cents": 10_000}, 0, "payment", -10_000, False),
    ({"settled_date": "2026-06-10", "paid_cents": 6_000}, 4_000, "payment", -6_000, False),
    ({"amount_cents": -3_000, "settled_date": "2026-06-10", "paid_cents": -3_000}, 0, "credit", 3_000, False),
    ({"paid_cents": 5_000}, 10_000, None, None, False),  # paid without a paid date: not paid
    ({"disputed": True}, 10_000, None, None, True),
    ({"disputed": True, "settled_date": "2026-06-10", "paid_cents": 10_000}, 0, "payment", -10_000, False),
])
def test_a_new_invoice_of_a_ledger_is_settled_on_its_paid_date(record, open_, kind, delta, disputed):
    new = diff.new_ledger_rows(rows(record))
    assert new.open_cents.tolist() == [open_]
    assert new.kinds.tolist() == ([kind] if kind else [])
    assert new.deltas.tolist() == ([delta] if kind else [])
    if kind:
        assert new.change_dates.tolist() == [date(2026, 6, 10)]
    assert new.rows["disputed"].tolist() == [disputed]


@pytest.mark.parametrize("ledger_open, file_open, counts, kind", [
    (10_000, 10_000, (0, 0, 1), None),
    (10_000, 4_000, (1, 0, 0), "payment"),
    (10_000, 0, (0, 1, 0), "payment"),
    (0, 10_000, (1, 0, 0), "reopen"),
    (4_000, 10_000, (1, 0, 0), "reopen"),
    (10_000, -1_000, (1, 0, 0), "correction"),
    (-5_000, 0, (0, 1, 0), "credit"),
])
def test_a_list_of_open_items_sets_each_known_invoice_to_its_open_amount_on_the_snapshot_date(
        ledger_open, file_open, counts, kind):
    compared = diff.compare_open_items(rows({"open_cents": file_open}), stored({"open_cents": ledger_open}), AS_OF,
                                       {"invoice_number", "open_amount"})
    assert (compared.changed, compared.closed, compared.unchanged) == counts
    assert compared.changes.kinds.tolist() == ([kind] if kind else [])
    if kind:
        assert compared.changes.deltas.tolist() == [file_open - ledger_open]
        assert compared.changes.dates.tolist() == [AS_OF]
    assert compared.leaving == ([1] if file_open == 0 and ledger_open else [])
    assert compared.changes.reopened == int(ledger_open == 0 and file_open != 0)


@pytest.mark.parametrize("mapped, record, updates, before", [
    ({"due_date"}, {"due_date": "2026-06-15"}, {"due_date": date(2026, 6, 15)}, {"due_date": "2026-05-31"}),
    ({"due_date"}, {"due_date": None}, {}, {}),  # an empty due date says nothing
    (set(), {"due_date": "2026-06-15"}, {}, {}),  # a column that is not mapped says nothing
    ({"description"}, {"description": "Rent June"}, {"description": "Rent June"}, {"description": None}),
    ({"reference"}, {"reference": ""}, {}, {}),
    ({"reference", "description"}, {"reference": "RF18", "description": ""},
     {"reference": "RF18"}, {"reference": None}),
])
def test_the_fields_of_a_known_invoice_follow_the_newer_export_and_the_old_values_are_kept_for_undo(
        mapped, record, updates, before):
    compared = diff.compare_open_items(rows(record), stored({}), AS_OF, mapped)
    assert compared.updates == ({1: updates} if updates else {})
    assert compared.before == ({1: before} if before else {})
    assert (compared.changed, compared.unchanged) == ((1, 0) if updates else (0, 1))


LEDGER = {"invoice_number", "settled_date"}


@pytest.mark.parametrize("ledger_row, file_row, mapped, target, when, counts", [
    # settled in the file: paid on its date, all of it or what the file says
    ({}, {"settled_date": "2026-06-10"}, LEDGER, 0, date(2026, 6, 10), (0, 1, 0)),
    ({}, {"settled_date": "2026-06-10", "paid_cents": 6_000, "paid_given": True}, LEDGER, 4_000,
     date(2026, 6, 10), (1, 0, 0)),
    # unsettled in the file, open in the ledger: nothing happens
    ({}, {}, LEDGER, None, None, (0, 0, 1)),
    # settled before the file's date in the ledger, unsettled in the file: a reversed payment, open again
    ({"open_cents": 0, "settled_date": "2026-06-01"}, {}, LEDGER, 10_000, AS_OF, (1, 0, 0)),
    ({"open_cents": 0, "settled_date": "2026-06-01"}, {"paid_cents": 2_500, "paid_given": True}, LEDGER, 7_500,
     AS_OF, (1, 0, 0)),
    # settled after the file was made: the older file says nothing of it
    ({"open_cents": 0, "settled_date": "2026-07-05"}, {}, LEDGER, None, None, (0, 0, 1)),
    # a file without paid dates never reopens
    ({"open_cents": 0, "settled_date": "2026-06-01"}, {}, {"invoice_number"}, None, None, (0, 0, 1)),
])
def test_an_invoice_ledger_settles_and_reopens_known_invoices(ledger_row, file_row, mapped, target, when, counts):
    compared = diff.compare_ledger_rows(rows(file_row), stored(ledger_row), AS_OF, mapped)
    assert compared.changes.new_open.tolist() == ([target] if target is not None else [])
    assert compared.changes.dates.tolist() == ([when] if when else [])
    assert (compared.changed, compared.closed, compared.unchanged) == counts


@pytest.mark.parametrize("ledger_row, file_row, disputed", [
    ({}, {"disputed": True}, [1]),
    ({"disputed": True}, {"disputed": True}, []),  # already disputed
    ({}, {"disputed": True, "settled_date": "2026-06-10"}, []),  # paid: nothing left to dispute
])
def test_an_invoice_ledger_marks_newly_disputed_open_invoices(ledger_row, file_row, disputed):
    compared = diff.compare_ledger_rows(rows(file_row), stored(ledger_row), AS_OF, LEDGER)
    assert compared.disputed == disputed
    assert set(disputed) <= set(compared.leaving)


def test_a_full_list_closes_the_open_invoices_it_does_not_hold_but_not_demo_or_later_ones():
    ledger = stored({"number": "IN-FILE"},
                    {"number": "GONE-1", "open_cents": 5_000, "debtor_id": 1},
                    {"number": "GONE-2", "open_cents": 2_000, "debtor_id": 7, "currency": "USD"},
                    {"number": "PAID", "open_cents": 0},
                    {"number": "DEMO", "is_demo": True},
                    {"number": "LATER", "invoice_date": "2026-07-02"})
    changes, closing = diff.full_list_closes(ledger, pd.Series(["IN-FILE"]), np.array([1]), AS_OF)
    assert changes.invoice_ids.tolist() == [2, 3]
    assert changes.kinds.tolist() == ["payment", "payment"] and changes.deltas.tolist() == [-5_000, -2_000]
    assert changes.dates.tolist() == [AS_OF, AS_OF]
    assert (closing.count, closing.totals, closing.absent_count, closing.absent_debtors, closing.open_before) == (
        2, {"EUR": 5_000, "USD": 2_000}, 1, 1, 4)
    assert closing.needs_confirmation  # a debtor the file does not mention at all


@pytest.mark.parametrize("open_before, closes, absent, needs", [
    (10, 1, 0, False),
    (10, 5, 0, False),
    (10, 6, 0, True),  # more than half of the ledger
    (10, 1, 1, True),  # a debtor not in the file
    (10, 0, 0, False),
])
def test_a_person_confirms_a_closing_that_only_a_complete_list_may_make(open_before, closes, absent, needs):
    closing = diff.Closing(AS_OF, closes, {"EUR": 100 * closes}, absent, int(absent > 0), open_before)
    assert closing.needs_confirmation == needs


def test_an_empty_ledger_has_nothing_to_close():
    changes, closing = diff.full_list_closes(diff.ledger(), pd.Series(["A-1"]), np.array([1]), AS_OF)
    assert len(changes) == 0 and closing == diff.Closing(AS_OF)


@pytest.mark.parametrize("record, term, due, invoice, derived", [
    ({}, 30, "2026-05-31", "2026-05-01", {}),
    ({"due_date": None}, 14, "2026-05-15", "2026-05-01", {"due_date": [2]}),
    ({"invoice_date": None}, 30, "2026-05-31", "2026-05-01", {"invoice_date": [2]}),
])
def test_a_missing_due_or_invoice_date_comes_from_the_debtors_payment_term(record, term, due, invoice, derived):
    filled, found = diff.with_term_dates(rows(record), np.array([term]))
    assert filled["due_date"].tolist() == [pd.Timestamp(due)]
    assert filled["invoice_date"].tolist() == [pd.Timestamp(invoice)]
    assert {f: lines.tolist() for f, (lines, _terms) in found.items()} == derived


def test_invoices_long_before_or_after_the_snapshot_date_are_named():
    seen = diff.Seen()
    seen.rows(rows({"invoice_date": "2024-01-01"}, {"invoice_date": "2026-07-05"}, {}).assign(debtor_id=1))
    said = [str(n) for n in seen.dates_far(AS_OF)]
    assert said[0].startswith("1 invoice is dated more than a year before the snapshot date 30-06-2026") and "row 2" in said[0]
    assert said[1].startswith("1 invoice is dated after the snapshot date 30-06-2026") and "row 3" in said[1]
