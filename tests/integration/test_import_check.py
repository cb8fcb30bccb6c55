"""The check before an import says what the import will do: the first rows exactly as they will be
stored, what each column holds, every warning with the rows it concerns, and how many open invoices a
full snapshot closes. A full snapshot that would close a debtor's invoices without the debtor being in
the file, or more than half of what is open, needs an explicit confirmation."""

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from db.models import AuditEvent, Debtor, Invoice
from receivables.services import imports as import_service
from tests.integration.test_import_service import AS_OF, FIRST, export, line, open_amounts, run, table_counts

SAP_HARD = "bdo_demo_sap_offene_posten_sample_data_hard.csv"
BDO = "bdo_demo_openstaande_posten_sample_data.csv"
HIGHRADIUS = "highradius_open_invoices_nulldata.csv"
IBM = "WA_Fn-UseC_-Accounts-Receivable.csv"
LATER = AS_OF + timedelta(days=7)

UNRELATED = export(*(line(f"B-{i}", f"9{i}", 1000 * (i + 1), name=f"Ander {i}") for i in range(5)))


def notice(result, *words: str):
    """The one warning that contains every word."""
    found = [n for n in result.notices if all(w in n.message for w in words)]
    assert len(found) == 1, [n.message for n in result.notices]
    return found[0]


# --- a full snapshot never closes invoices silently ------------------------------------------------

def test_an_unrelated_small_file_as_a_full_list_would_close_the_ledger_and_needs_confirmation(uow):
    run(uow, FIRST)
    checked = run(uow, UNRELATED, name="other.csv", as_of=LATER, dry_run=True)
    closing = checked.closing
    assert (closing.count, closing.totals, closing.absent_debtors) == (4, {"EUR": 160000}, 3)
    assert closing.needs_confirmation
    assert closing.describe() == ("This full import closes 4 open invoices as paid on 07-07-2026: €1,600.00. "
                                  "All 4 belong to 3 debtors that are not in this file at all. That is every open "
                                  "invoice in the ledger.")
    before = (table_counts(uow), open_amounts(uow))
    with pytest.raises(import_service.ClosingNeedsConfirmation, match="closes 4 open invoices") as refused:
        run(uow, UNRELATED, name="other.csv", as_of=LATER)
    assert refused.value.closing.count == 4
    assert (table_counts(uow), open_amounts(uow)) == before
    result = run(uow, UNRELATED, name="other.csv", as_of=LATER, close_missing=True)
    assert result.closed == 4 and result.new == 5
    with uow() as u:  # who confirmed what is in the audit log
        after = u.session.scalars(select(AuditEvent).where(AuditEvent.action == "import.apply")
                                  .order_by(AuditEvent.id.desc())).first().after
    assert after["closing_confirmed"] == closing.describe()


@pytest.mark.parametrize("second, closes, total, confirm", [
    # 000124 paid; its debtor 0042 is still in the file: named, imported without asking
    ([line("000123", "0042", 100000), line("000125", "0043", -5000), line("000126", "0044", 25000)],
     1, {"EUR": 40000}, False),
    # 000126 paid, and with it the only invoice of debtor 0044: its debtor is not in the file at all
    ([line("000123", "0042", 100000), line("000124", "0042", 40000, amount_cents=50000),
      line("000125", "0043", -5000)], 1, {"EUR": 25000}, True),
    # three of four open invoices gone, though every debtor is still there: more than half
    ([line("000123", "0042", 100000), line("000127", "0043", 100), line("000128", "0044", 100)],
     3, {"EUR": 60000}, True),
    # nothing gone
    ([line("000123", "0042", 100000), line("000124", "0042", 40000, amount_cents=50000),
      line("000125", "0043", -5000), line("000126", "0044", 25000)], 0, {}, False),
], ids=["one-paid", "debtor-gone", "more-than-half", "none"])
def test_the_check_names_every_invoice_a_full_import_closes(uow, second, closes, total, confirm):
    run(uow, FIRST)
    checked = run(uow, export(*second), name="week2.csv", as_of=LATER, dry_run=True)
    assert (checked.closing.count, checked.closing.totals, checked.closing.needs_confirmation) == (
        closes, total, confirm)
    if confirm:
        with pytest.raises(import_service.ClosingNeedsConfirmation):
            run(uow, export(*second), name="week2.csv", as_of=LATER)
    result = run(uow, export(*second), name="week2.csv", as_of=LATER, close_missing=confirm)
    assert result.closed >= closes


def test_the_first_import_of_a_ledger_and_a_partial_import_close_nothing_and_ask_nothing(uow):
    first = run(uow, FIRST)
    assert first.closing.count == 0 and not first.closing.needs_confirmation
    partial = run(uow, UNRELATED, name="other.csv", as_of=LATER, mode="partial")
    assert partial.closing is None and partial.closed == 0


# --- the rows as they will be stored -----------------------------------------------------------------

def stored(uow, numbers: list[str]) -> list[dict]:
    with uow() as u:
        rows = u.session.execute(select(Invoice, Debtor).join(Debtor).where(Invoice.number.in_(numbers))).all()
        by_number = {inv.number: {"invoice_number": inv.number, "debtor_code": d.code, "debtor_name": d.name,
                                  "invoice_date": inv.invoice_date, "due_date": inv.due_date,
                                  "amount_cents": inv.amount_cents, "open_cents": inv.open_cents,
                                  "currency": inv.currency} for inv, d in rows}
    return [by_number[n] for n in numbers]


def sample(result) -> list[dict]:
    return result.stored_rows.drop(columns=["line"]).to_dict("records")


def test_the_check_shows_the_first_twenty_rows_exactly_as_the_import_stores_them(uow):
    rows = [line(f"{i:06d}", f"{i % 7:04d}", 100 * i + 1, name=f"Klant {i % 7}") for i in range(1, 31)]
    checked = run(uow, export(*rows), dry_run=True)
    assert len(checked.stored_rows) == 20
    assert checked.stored_rows["line"].tolist() == list(range(2, 22))
    result = run(uow, export(*rows))
    assert sample(checked) == stored(uow, [f"{i:06d}" for i in range(1, 21)]) == sample(result)


def test_the_sap_file_gets_no_invented_debtors_and_no_float_dot_zero_and_says_what_it_derived(uow, shared_data):
    data = (shared_data / "nl_exports" / SAP_HARD).read_bytes()
    with uow() as u:
        preview = import_service.preview(u, import_service.Upload(data, SAP_HARD))
    assert preview.mapping["debtor_code"] is None and preview.mapping["debtor_name"] is None
    assert any("Zuordnung" in n and "document numbers" in n for n in preview.mapping_notes)
    with pytest.raises(import_service.ImportRejected, match="no column is chosen for Debtor code or Debtor name"):
        run(uow, data, name=SAP_HARD, as_of=date(2023, 4, 30), dry_run=True)

    # chosen anyway: imported as asked, with the doubt and the derived due dates said out loud
    mapping = {**preview.mapping, "debtor_code": "Zuordnung"}
    checked = run(uow, data, name=SAP_HARD, as_of=date(2023, 4, 30), mapping=mapping, dry_run=True)
    rows = sample(checked)
    assert [r["invoice_number"] for r in rows] == ["1200401780", "1200401781", "1200401193", "1200401306",
                                                   "1200401307"]
    assert rows[0] == {"invoice_number": "1200401780", "debtor_code": "6090466822", "debtor_name": "6090466822",
                       "invoice_date": date(2023, 4, 30), "due_date": date(2023, 5, 30), "amount_cents": 5167115,
                       "open_cents": 5167115, "currency": "EUR"}
    dot_zero = notice(checked, "Belegnummer", ".0")
    assert dot_zero.lines == (2, 3, 4, 5, 6) and dot_zero.count == 5
    due = notice(checked, "due date", "payment term")
    assert "30 days" in due.message and due.count == 5
    codes = notice(checked, "Zuordnung", "document numbers")
    assert codes.count == 5
    result = run(uow, data, name=SAP_HARD, as_of=date(2023, 4, 30), mapping=mapping)
    assert sample(result) == stored(uow, [r["invoice_number"] for r in rows])


def test_the_bdo_export_warns_of_several_names_under_one_code_and_suggests_its_own_snapshot_date(uow, shared_data):
    data = (shared_data / "nl_exports" / BDO).read_bytes()
    checked = run(uow, data, name=BDO, as_of=date(2026, 12, 4), dry_run=True)
    names = notice(checked, "3332", "more than one name")
    assert names.lines == (2, 3, 4, 5)
    assert "3332 Demo" in names.message  # the name the debtor is created with
    assert checked.suggested_as_of == date(2024, 2, 13)  # due date + Vervaldagen, the same in every row
    assert "13-02-2024" in notice(checked, "snapshot date", "Vervaldagen").message
    far = notice(checked, "more than a year before the snapshot date")
    assert far.count == 4
    derived = notice(checked, "invoice date", "payment term")
    assert derived.count == 4
    at_its_date = run(uow, data, name=BDO, as_of=date(2024, 2, 13), dry_run=True)
    assert not [n for n in at_its_date.notices if "snapshot date" in n.message]


def test_the_highradius_file_names_its_rounded_amounts_and_the_codes_with_many_names(uow, shared_data):
    data = (shared_data / "ar" / HIGHRADIUS).read_bytes()
    checked = run(uow, data, name=HIGHRADIUS, as_of=date(2026, 12, 4), dry_run=True)
    rounded = notice(checked, "more than two decimals")
    assert rounded.count == 576 and len(rounded.lines) <= 20
    assert notice(checked, "codes have more than one name").count > 0
    assert notice(checked, "more than a year before the snapshot date").count == 9681
    assert checked.suggested_as_of == date(2020, 5, 22)  # the newest posting date
    facts = {f.field: f for f in checked.facts}
    assert facts["debtor_code"].distinct == 553 and facts["debtor_name"].distinct == 1764  # 1,766 before trimming
    assert facts["invoice_date"].summary == "27-02-2020 – 22-05-2020"
    assert facts["open_amount"].summary.startswith("sum $")
    assert sample(checked)[0]["debtor_code"] == "140105686"


def test_the_ibm_ledger_keeps_the_leading_zeros_in_what_the_check_shows(uow, shared_data):
    data = (shared_data / "ar" / IBM).read_bytes()
    checked = run(uow, data, name=IBM, dry_run=True)
    assert sample(checked)[0]["invoice_number"] == "0000611365"
    assert checked.closing is None
    assert {f.field: f.distinct for f in checked.facts}["invoice_number"] == 2466
