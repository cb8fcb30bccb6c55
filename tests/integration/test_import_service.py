"""Importing into a real SQLite and PostgreSQL: one batch is one transaction, re-uploads change
nothing, newer exports record dated changes, full and partial snapshots, undo, remembered mappings."""

import io
from datetime import date, timedelta
from unittest import mock

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, inspect, select

from db import analytics_queries, loader
from db.models import (
    AuditEvent,
    ColumnMapping,
    Debtor,
    ImportBatch,
    Invoice,
    InvoiceChange,
    Message,
    MessageInvoice,
)
from db.uow import UnitOfWork
from receivables.importing import ImportOptions
from receivables.services import analytics, ledger, reminders
from receivables.services import imports as import_service
from receivables.services.errors import ServiceError
from receivables.services.imports import ImportRejected

AS_OF = date(2026, 6, 30)
EBOEK = "Relatiecode;Relatie;Factuurnummer;Factuurdatum;Vervaldatum;Bedrag;Openstaand;Soort"


def money(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    units, rest = divmod(abs(cents), 100)
    return f"{sign}{units:,}".replace(",", ".") + f",{rest:02d}"


def line(number: str, code: str, open_cents: int, amount_cents: int | None = None, name: str | None = None,
         invoice_date: str = "01-05-2026", due_date: str = "31-05-2026") -> str:
    amount = open_cents if amount_cents is None else amount_cents
    return ";".join([code, name or f"Debiteur {code}", number, invoice_date, due_date, money(amount),
                     money(open_cents), "Factuur"])


def export(*lines: str) -> bytes:
    return ("\r\n".join([EBOEK, *lines]) + "\r\n").encode("utf-8")


def run(uow, data: bytes, name: str = "open.csv", **kw):
    kw.setdefault("as_of", AS_OF)
    with uow(immediate=True) as u:
        return import_service.run_import(u, data, name, actor=kw.pop("actor", "carla"), **kw)


def open_amounts(uow) -> dict[str, int]:
    with uow() as u:
        return dict(u.session.execute(select(Invoice.number, Invoice.open_cents)).all())


def table_counts(uow) -> dict[str, int]:
    with uow() as u:
        return {m.__tablename__: u.session.scalar(select(func.count()).select_from(m))
                for m in (Debtor, Invoice, InvoiceChange, ImportBatch, ColumnMapping, AuditEvent)}


def assert_ledger_consistent(uow) -> None:
    with uow() as u:
        s = u.session
        sums = dict(s.execute(select(InvoiceChange.invoice_id, func.sum(InvoiceChange.delta_cents))
                              .group_by(InvoiceChange.invoice_id)).all())
        for inv in s.scalars(select(Invoice)):
            assert inv.open_cents == inv.amount_cents + sums.get(inv.id, 0), inv.number
            assert (inv.settled_date is not None) == (inv.open_cents == 0), inv.number


FIRST = export(line("000123", "0042", 100000, name="Bakker B.V."),
               line("000124", "0042", 40000, amount_cents=50000, name="Bakker B.V."),
               line("000125", "0043", -5000, name="De Vries"),
               line("000126", "0044", 25000, name="Jansen & Zn."))


def test_a_first_import_creates_debtors_and_invoices_as_the_file_has_them(uow):
    result = run(uow, FIRST)
    assert result.summary() == "new 4, changed 0, closed 0, unchanged 0, skipped 0"
    assert result.created_debtors == 3
    assert open_amounts(uow) == {"000123": 100000, "000124": 40000, "000125": -5000, "000126": 25000}
    with uow() as u:
        names = dict(u.session.execute(select(Debtor.code, Debtor.name)).all())
        assert names == {"0042": "Bakker B.V.", "0043": "De Vries", "0044": "Jansen & Zn."}
        paid_before = u.session.execute(select(InvoiceChange.change_date, InvoiceChange.kind,
                                               InvoiceChange.delta_cents)).all()
        assert paid_before == [(AS_OF, "payment", -10000)]  # 500,00 invoiced, 400,00 open on the snapshot
        batch = u.session.scalars(select(ImportBatch)).one()
        assert (batch.imported_by, batch.file_name, batch.kind, batch.mode, batch.count_new) == (
            "carla", "open.csv", "open-items", "full", 4)
        assert len(batch.file_hash) == 64
    assert_ledger_consistent(uow)


def test_uploading_the_same_file_again_changes_nothing_and_says_when_it_was_imported(uow):
    run(uow, FIRST)
    before = table_counts(uow)
    again = run(uow, FIRST, name="open (1).csv", actor="dirk")
    assert again.previous is not None and again.batch_id is None
    assert again.previous.imported_by == "carla" and again.previous.file_name == "open.csv"
    assert again.summary() == "new 0, changed 0, closed 0, unchanged 0, skipped 0"
    assert "was imported before" in again.notes[0]
    assert table_counts(uow) == before


def ledger_rows(uow) -> list[tuple]:
    with uow() as u:
        invoices = u.session.execute(select(Invoice.number, Invoice.open_cents, Invoice.settled_date)
                                     .order_by(Invoice.number)).all()
        changes = u.session.execute(select(InvoiceChange.invoice_id, InvoiceChange.change_date,
                                           InvoiceChange.delta_cents).order_by(InvoiceChange.id)).all()
        return [*invoices, *changes]


def test_re_uploading_an_unchanged_export_later_confirms_the_data_so_reminders_are_not_stale(uow):
    run(uow, FIRST, name="open.csv")
    ledger_before = ledger_rows(uow)
    later = AS_OF + timedelta(days=8)  # past the 7 days the freshness check allows
    again = run(uow, FIRST, name="open (1).csv", actor="dirk", as_of=later)
    assert again.batch_id is None and again.previous.file_name == "open.csv"
    assert "was imported before" in again.notes[0] and "Nothing was changed" in again.notes[0]
    assert f"Identical to batch {again.previous.batch_id}" in again.notes[1]
    assert again.summary() == "new 0, changed 0, closed 0, unchanged 4, skipped 0"
    assert ledger_rows(uow) == ledger_before
    with uow() as u:
        confirmed = u.session.get(ImportBatch, again.confirmed_batch_id)
        assert (confirmed.as_of, confirmed.count_new, confirmed.count_changed, confirmed.count_closed) == (later, 0, 0, 0)
        assert confirmed.details["identical_to"] == again.previous.batch_id
    with uow(immediate=True) as u:
        assert reminders.generate(u, later, actor="test").created >= 0  # no stale-data error


def test_undoing_a_confirming_re_upload_only_takes_the_date_back(uow):
    run(uow, FIRST)
    later = AS_OF + timedelta(days=8)
    again = run(uow, FIRST, name="open (1).csv", as_of=later)
    ledger_before = ledger_rows(uow)
    with uow() as u:
        assert import_service.undo_latest(u, actor="carla").id == again.confirmed_batch_id
    assert ledger_rows(uow) == ledger_before
    with uow() as u, pytest.raises(ServiceError, match="stale"):
        reminders.check_freshness(u.session, later, 7)


def test_re_uploading_the_latest_file_with_the_same_or_an_older_date_records_nothing(uow):
    run(uow, FIRST)
    before = table_counts(uow)
    assert run(uow, FIRST, as_of=AS_OF).confirmed_batch_id is None
    assert run(uow, FIRST, as_of=AS_OF - timedelta(days=1)).confirmed_batch_id is None
    assert "Identical to batch" in run(uow, FIRST, as_of=AS_OF + timedelta(days=1), dry_run=True).notes[-1]
    assert table_counts(uow) == before


def test_a_third_identical_upload_still_changes_nothing(uow):
    run(uow, FIRST)
    ledger_before = ledger_rows(uow)
    run(uow, FIRST, as_of=AS_OF + timedelta(days=1))
    third = run(uow, FIRST, as_of=AS_OF + timedelta(days=2))
    assert third.batch_id is None and third.confirmed_batch_id is not None
    assert third.summary() == "new 0, changed 0, closed 0, unchanged 4, skipped 0"
    assert ledger_rows(uow) == ledger_before


def test_a_file_identical_to_an_older_batch_is_applied_again_and_says_so(uow):
    run(uow, FIRST, name="week1.csv")
    run(uow, export(line("000123", "0042", 100000)), name="week2.csv", as_of=AS_OF + timedelta(days=7),
        close_missing=True)
    again = run(uow, FIRST, name="week3.csv", as_of=AS_OF + timedelta(days=14))
    assert again.batch_id is not None
    assert "newer imports followed" in again.notes[0] and "week1.csv" in again.notes[0]
    assert open_amounts(uow) == {"000123": 100000, "000124": 40000, "000125": -5000, "000126": 25000}


def test_the_same_rows_saved_differently_change_nothing_in_the_ledger(uow):
    run(uow, FIRST)
    changes_before = table_counts(uow)["invoice_change"]
    same = run(uow, FIRST.replace(b"\r\n", b"\n"), name="open-lf.csv")
    assert same.previous is None
    assert same.summary() == "new 0, changed 0, closed 0, unchanged 4, skipped 0"
    assert table_counts(uow)["invoice_change"] == changes_before


def test_a_newer_export_records_payments_credits_and_reopenings_dated_on_its_snapshot(uow):
    run(uow, FIRST)
    later = AS_OF + timedelta(days=7)
    newer = export(line("000123", "0042", 60000, amount_cents=100000),  # paid in part
                   line("000124", "0042", 50000, amount_cents=50000),  # reopened (payment reversed)
                   line("000126", "0044", 25000),  # unchanged
                   line("000127", "0045", 9900, name="Nieuw B.V.", invoice_date="03-07-2026",
                        due_date="02-08-2026"))  # new; 000125 is gone: settled
    result = run(uow, newer, name="open-week2.csv", as_of=later, close_missing=True)  # debtor 0043 has paid all
    assert result.summary() == "new 1, changed 2, closed 1, unchanged 1, skipped 0"
    assert open_amounts(uow) == {"000123": 60000, "000124": 50000, "000125": 0, "000126": 25000, "000127": 9900}
    with uow() as u:
        changes = u.session.execute(
            select(Invoice.number, InvoiceChange.change_date, InvoiceChange.kind, InvoiceChange.delta_cents)
            .join(Invoice, Invoice.id == InvoiceChange.invoice_id)
            .where(InvoiceChange.batch_id == result.batch_id).order_by(Invoice.number)).all()
        assert changes == [("000123", later, "payment", -40000), ("000124", later, "reopen", 10000),
                           ("000125", later, "credit", 5000)]
        # the ledger still knows what was open on the first snapshot date
        then = analytics.ageing_report(u, AS_OF).totals["EUR"]["total"]
        assert then == 100000 + 40000 - 5000 + 25000
    assert_ledger_consistent(uow)


def test_a_partial_import_leaves_invoices_that_are_not_in_the_file_alone(uow):
    run(uow, FIRST)
    result = run(uow, export(line("000123", "0042", 0, amount_cents=100000)), mode="partial",
                 as_of=AS_OF + timedelta(days=1))
    assert result.summary() == "new 0, changed 0, closed 1, unchanged 0, skipped 0"
    assert open_amounts(uow) == {"000123": 0, "000124": 40000, "000125": -5000, "000126": 25000}
    with uow() as u:
        assert u.session.scalar(select(Invoice.settled_date).where(Invoice.number == "000123")) == AS_OF + timedelta(1)


def test_a_full_snapshot_dated_before_the_last_one_is_refused(uow):
    run(uow, FIRST)
    with pytest.raises(ServiceError, match="already holds a full snapshot of 30-06-2026"):
        run(uow, export(line("000123", "0042", 1)), as_of=AS_OF - timedelta(days=1))


BAD = export(line("000123", "0042", 100000),
             "0042;Bakker;000130;01-05-2026;31-02-2026;10,00;10,00;Factuur",
             "0042;Bakker;000131;01-05-2026;31-05-2026;10,00;tien;Factuur",
             line("000123", "0042", 5))


def test_a_rejected_file_leaves_the_database_exactly_as_it_was(uow):
    run(uow, FIRST)
    before, amounts = table_counts(uow), open_amounts(uow)
    with pytest.raises(ImportRejected) as err:
        run(uow, BAD, name="bad.csv", as_of=AS_OF + timedelta(days=1))
    assert [str(p) for p in err.value.problems] == [
        "row 2, Factuurnummer: '000123' appears 2 times (rows 2, 5); each invoice may appear once; "
        "remove or merge the extra rows",
        "row 3, Vervaldatum: '31-02-2026' is not a date (expected dd-mm-yyyy)",
        "row 4, Openstaand: 'tien' is not an amount (expected like 1.234,56 or -1234,56); fix the value or "
        "choose the other decimal style"]
    assert "nothing was imported" in str(err.value)
    assert table_counts(uow) == before and open_amounts(uow) == amounts


def test_importing_the_valid_rows_only_is_a_choice_that_lists_what_was_left_out(uow):
    with pytest.raises(ImportRejected, match="No row is valid"):
        run(uow, BAD, name="bad.csv", valid_rows_only=True)
    assert open_amounts(uow) == {}
    mixed = export(line("000200", "0050", 100),
                   "0050;X;000201;01-05-2026;31-02-2026;10,00;10,00;Factuur")
    result = run(uow, mixed, name="mixed.csv", valid_rows_only=True)
    assert result.summary() == "new 1, changed 0, closed 0, unchanged 0, skipped 1"
    assert [str(p) for p in result.left_out] == ["row 3, Vervaldatum: '31-02-2026' is not a date (expected dd-mm-yyyy)"]
    assert open_amounts(uow) == {"000200": 100}
    with uow() as u:
        details = u.session.get(ImportBatch, result.batch_id).details
        assert details["left_out"] == ["row 3, Vervaldatum: '31-02-2026' is not a date (expected dd-mm-yyyy)"]


@pytest.mark.parametrize("data, says", [
    (b"", "empty"),
    (b"\x00\x01\x02" * 1000, "not a text file"),
    (EBOEK.encode() + b"\r\n;;;;;;;\r\nTotaal;;;;;0,00;0,00;\r\n", "holds no invoices"),
    (b"Factuurnummer;Vervaldatum\r\n1;01-01-2026\r\n", "no column is chosen for Debtor code or Debtor name"),
])
def test_files_that_cannot_be_imported_get_a_message_and_change_nothing(uow, data, says):
    run(uow, FIRST)
    before = table_counts(uow)
    with pytest.raises(ServiceError, match=says):
        run(uow, data, name="x.csv")
    assert table_counts(uow) == before


def test_a_dry_run_counts_what_would_change_and_writes_nothing(uow):
    run(uow, FIRST)
    before, amounts = table_counts(uow), open_amounts(uow)
    result = run(uow, export(line("000123", "0042", 1)), dry_run=True, as_of=AS_OF + timedelta(days=1))
    assert result.summary() == "new 0, changed 1, closed 3, unchanged 0, skipped 0"
    assert result.batch_id is None
    assert table_counts(uow) == before and open_amounts(uow) == amounts


def test_undoing_the_latest_batch_restores_the_ledger_step_by_step(uow):
    run(uow, FIRST)
    after_first = open_amounts(uow)
    with uow() as u:
        due_before = u.session.scalar(select(Invoice.due_date).where(Invoice.number == "000126"))
    second = run(uow, export(line("000123", "0042", 1, amount_cents=100000), line("000126", "0044", 25000,
                                                                                  due_date="15-07-2026"),
                             line("000300", "0099", 700)), as_of=AS_OF + timedelta(days=3), close_missing=True)
    with uow() as u:
        with pytest.raises(ServiceError, match="only the latest import"):
            import_service.undo_latest(u, actor="carla", batch_id=second.batch_id - 1)
    with uow() as u:
        assert import_service.undo_latest(u, actor="carla").id == second.batch_id
    assert open_amounts(uow) == after_first
    assert_ledger_consistent(uow)
    with uow() as u:
        s = u.session
        assert s.scalar(select(Invoice.due_date).where(Invoice.number == "000126")) == due_before
        assert s.scalar(select(func.count()).select_from(Debtor).where(Debtor.code == "0099")) == 0
        assert s.get(ImportBatch, second.batch_id).status == "undone"
        assert s.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all() == [
            "import.apply", "import.apply", "import.undo"]
    with uow() as u:
        import_service.undo_latest(u, actor="carla")
    assert open_amounts(uow) == {}
    with uow() as u:
        assert u.session.scalar(select(func.count()).select_from(Debtor)) == 0
        with pytest.raises(ServiceError, match="no import to undo"):
            import_service.undo_latest(u, actor="carla")


def _message(s, debtor_id: int, invoice_ids: list[int], key: str, status: str = "proposed") -> int:
    msg = Message(debtor_id=debtor_id, track="standard", step_index=1, step_name="reminder", step_key=key,
                  status=status, planned_date=AS_OF)
    s.add(msg)
    s.flush()
    for iid in invoice_ids:
        s.add(MessageInvoice(message_id=msg.id, invoice_id=iid, open_cents=100))
    return msg.id


def test_invoices_an_import_closes_leave_the_reminders_waiting_to_be_sent(uow):
    run(uow, FIRST)
    with uow() as u:
        s = u.session
        ids = dict(s.execute(select(Invoice.number, Invoice.id)).all())
        bakker = s.scalar(select(Debtor.id).where(Debtor.code == "0042"))
        jansen = s.scalar(select(Debtor.id).where(Debtor.code == "0044"))
        both = _message(s, bakker, [ids["000123"], ids["000124"]], "a")
        only_paid = _message(s, jansen, [ids["000126"]], "b")
        sent = _message(s, jansen, [ids["000126"]], "c", status="sent")
        u.commit()
    result = run(uow, export(line("000124", "0042", 40000, amount_cents=50000), line("000125", "0043", -5000)),
                 as_of=AS_OF + timedelta(days=2), close_missing=True)
    assert result.cancelled_messages == [only_paid]
    with uow() as u:
        s = u.session
        active = dict(s.execute(select(MessageInvoice.invoice_id, MessageInvoice.active)
                                .where(MessageInvoice.message_id == both)).all())
        assert active == {ids["000123"]: False, ids["000124"]: True}
        assert s.get(Message, only_paid).status == "cancelled"
        assert s.get(Message, both).status == "proposed"
        assert s.get(Message, sent).status == "sent"
        assert s.scalar(select(MessageInvoice.active).where(MessageInvoice.message_id == sent)) is True
    with uow() as u:
        import_service.undo_latest(u, actor="carla")
    with uow() as u:
        s = u.session
        assert s.get(Message, only_paid).status == "proposed"
        assert all(s.scalars(select(MessageInvoice.active).where(MessageInvoice.message_id.in_([both, only_paid]))))


def test_undo_is_refused_once_a_new_invoice_is_in_a_reminder(uow):
    result = run(uow, FIRST)
    with uow() as u:
        s = u.session
        inv = s.scalars(select(Invoice).where(Invoice.number == "000123")).one()
        _message(s, inv.debtor_id, [inv.id], "x")
        u.commit()
    with uow() as u:
        with pytest.raises(ServiceError, match=f"batch {result.batch_id} can no longer be undone"):
            import_service.undo_latest(u, actor="carla")


ODD = (b"Nr;Klant;Klantnaam;Datum factuur;Uiterlijk;Nog te ontvangen bedrag\r\n"
       b"A-1;K1;Klant een;01-05-2026;31-05-2026;12,50\r\n")


def test_a_confirmed_mapping_is_remembered_for_files_with_the_same_header(uow):
    with uow() as u:
        first = import_service.preview(u, import_service.Upload(ODD, "odd.csv"), kind="open-items")
    assert first.remembered is None and first.mapping["open_amount"] is None
    mapping = {**first.mapping, "invoice_number": "Nr", "debtor_code": "Klant", "debtor_name": "Klantnaam",
               "invoice_date": "Datum factuur", "due_date": "Uiterlijk", "open_amount": "Nog te ontvangen bedrag"}
    run(uow, ODD, name="odd.csv", kind="open-items", mapping=mapping, options=ImportOptions(date_order="dmy"))
    next_week = ODD.replace(b"12,50", b"2,50")
    with uow() as u:
        again = import_service.preview(u, import_service.Upload(next_week, "odd-2.csv"))
    assert again.kind == "open-items" and again.remembered["saved_by"] == "carla"
    assert {f: h for f, h in again.mapping.items() if h} == {f: h for f, h in mapping.items() if h}
    assert again.options.date_order == "dmy"
    result = run(uow, next_week, name="odd-2.csv", as_of=AS_OF + timedelta(days=1))  # no mapping given
    assert result.summary() == "new 0, changed 1, closed 0, unchanged 0, skipped 0"
    assert open_amounts(uow) == {"A-1": 250}


DEBTORS = ("Relatiecode;Naam;E-mail;Taal;Contactpersoon;Telefoon;Consument;Betalingstermijn\r\n"
           "0042;Bakker Installatietechniek B.V.;debiteuren@bakker.nl;Nederlands;Anouk Bakker;010-1234567;nee;14\r\n"
           "0050;Smith Ltd;ap@smith.co.uk;English;;;no;30\r\n")


def test_a_debtor_list_creates_and_updates_debtors_and_empty_cells_keep_what_is_there(uow):
    run(uow, FIRST)
    with uow() as u:
        bakker = u.session.scalars(select(Debtor).where(Debtor.code == "0042")).one()
        bakker.phone = "06-99999999"
        u.commit()
    result = run(uow, DEBTORS.encode(), name="debiteuren.csv", kind="debtors")
    assert result.summary() == "new 1, changed 1, closed 0, unchanged 0, skipped 0"
    with uow() as u:
        s = u.session
        b = s.scalars(select(Debtor).where(Debtor.code == "0042")).one()
        assert (b.name, b.email, b.language, b.contact_person, b.phone, b.is_consumer, b.payment_term_days) == (
            "Bakker Installatietechniek B.V.", "debiteuren@bakker.nl", "nl", "Anouk Bakker", "010-1234567", False, 14)
        smith = s.scalars(select(Debtor).where(Debtor.code == "0050")).one()
        assert (smith.language, smith.contact_person, smith.payment_term_days) == ("en", None, 30)
    blank_phone = DEBTORS.replace("010-1234567", "")
    result = run(uow, blank_phone.encode(), name="debiteuren-2.csv", kind="debtors")
    assert result.summary() == "new 0, changed 0, closed 0, unchanged 2, skipped 0"
    with uow() as u:
        import_service.undo_latest(u, actor="carla")  # the no-change batch
        import_service.undo_latest(u, actor="carla")
    with uow() as u:
        b = u.session.scalars(select(Debtor).where(Debtor.code == "0042")).one()
        assert (b.name, b.phone, b.email) == ("Bakker B.V.", "06-99999999", None)
        assert u.session.scalar(select(func.count()).select_from(Debtor).where(Debtor.code == "0050")) == 0


LEDGER = ("Factuurnummer;Relatiecode;Factuurdatum;Vervaldatum;Bedrag;Betaaldatum;Dispuut\r\n"
          "L-1;0042;01-03-2026;31-03-2026;100,00;15-04-2026;nee\r\n"
          "L-2;0042;01-04-2026;01-05-2026;200,00;;ja\r\n"
          "L-3;0043;01-04-2026;01-05-2026;50,00;;nee\r\n")


def test_a_ledger_import_records_payments_on_their_paid_date_and_marks_open_disputes(uow):
    result = run(uow, LEDGER.encode(), name="ledger.csv")
    assert result.kind == "ledger" and result.summary() == "new 3, changed 0, closed 0, unchanged 0, skipped 0"
    with uow() as u:
        s = u.session
        rows = {i.number: (i.open_cents, i.settled_date, i.disputed) for i in s.scalars(select(Invoice))}
        assert rows == {"L-1": (0, date(2026, 4, 15), False), "L-2": (20000, None, True), "L-3": (5000, None, False)}
        assert s.execute(select(InvoiceChange.change_date, InvoiceChange.delta_cents)).all() == [
            (date(2026, 4, 15), -10000)]
    paid_later = LEDGER.replace("01-05-2026;50,00;;nee", "01-05-2026;50,00;20-05-2026;nee")
    result = run(uow, paid_later.encode(), name="ledger-2.csv")
    assert result.summary() == "new 0, changed 0, closed 1, unchanged 2, skipped 0"
    with uow() as u:
        assert u.session.scalar(select(Invoice.settled_date).where(Invoice.number == "L-3")) == date(2026, 5, 20)
    assert_ledger_consistent(uow)


def test_a_newer_ledger_that_has_a_paid_invoice_unsettled_again_reopens_it_and_undo_closes_it(uow):
    run(uow, LEDGER.encode(), name="ledger.csv")
    reversed_ = LEDGER.replace("100,00;15-04-2026;nee", "100,00;;nee")  # the payment of L-1 bounced
    result = run(uow, reversed_.encode(), name="ledger-2.csv", as_of=AS_OF + timedelta(days=3))
    assert result.summary() == "new 0, changed 1, closed 0, unchanged 2, skipped 0"
    with uow() as u:
        l1 = u.session.scalars(select(Invoice).where(Invoice.number == "L-1")).one()
        assert (l1.open_cents, l1.settled_date) == (10000, None)
        change = u.session.scalars(select(InvoiceChange).where(InvoiceChange.invoice_id == l1.id)
                                   .order_by(InvoiceChange.id.desc())).first()
        assert (change.kind, change.delta_cents, change.change_date) == ("reopen", 10000, AS_OF + timedelta(days=3))
    assert_ledger_consistent(uow)
    with uow(immediate=True) as u:
        import_service.undo_latest(u, actor="carla")
    with uow() as u:
        l1 = u.session.scalars(select(Invoice).where(Invoice.number == "L-1")).one()
        assert (l1.open_cents, l1.settled_date) == (0, date(2026, 4, 15))
    assert_ledger_consistent(uow)


@pytest.mark.parametrize("export, as_of, why", [
    (LEDGER.replace("100,00;15-04-2026;nee", "100,00;;nee"), date(2026, 4, 10),
     "a file dated before the payment says nothing about it"),
    ("Factuurnummer;Relatiecode;Factuurdatum;Vervaldatum;Bedrag\r\nL-1;0042;01-03-2026;31-03-2026;100,00\r\n",
     AS_OF + timedelta(days=3), "a file without paid dates says nothing about payments"),
], ids=["older-file", "no-paid-dates"])
def test_a_ledger_file_that_cannot_know_of_a_payment_does_not_reopen_the_invoice(uow, export, as_of, why):
    run(uow, LEDGER.encode(), name="ledger.csv", as_of=date(2026, 4, 30))
    run(uow, export.encode(), name="ledger-2.csv", kind="ledger", as_of=as_of)
    with uow() as u:
        l1 = u.session.scalars(select(Invoice).where(Invoice.number == "L-1")).one()
        assert (l1.open_cents, l1.settled_date) == (0, date(2026, 4, 15)), why
    assert_ledger_consistent(uow)


def test_a_reopened_invoice_keeps_what_the_file_says_was_paid_of_it(uow):
    ledger = LEDGER.replace(";Dispuut\r\n", ";Dispuut;Betaald\r\n").replace(";nee\r\n", ";nee;\r\n").replace(
        ";ja\r\n", ";ja;\r\n")
    run(uow, ledger.encode(), name="ledger.csv")
    with uow() as u:  # an empty paid amount next to a paid date: the whole invoice was paid
        l1 = u.session.scalars(select(Invoice).where(Invoice.number == "L-1")).one()
        assert (l1.open_cents, l1.settled_date) == (0, date(2026, 4, 15))
    partly = ledger.replace("100,00;15-04-2026;nee;", "100,00;;nee;40,00")  # 60.00 of the payment bounced
    result = run(uow, partly.encode(), name="ledger-2.csv", as_of=AS_OF + timedelta(days=3))
    assert result.summary() == "new 0, changed 1, closed 0, unchanged 2, skipped 0"
    with uow() as u:
        l1 = u.session.scalars(select(Invoice).where(Invoice.number == "L-1")).one()
        assert (l1.open_cents, l1.settled_date) == (6000, None)
    assert_ledger_consistent(uow)


def test_the_ibm_accounts_receivable_file_imports_as_a_ledger(uow, shared_data):
    data = (shared_data / "ar" / "WA_Fn-UseC_-Accounts-Receivable.csv").read_bytes()
    result = run(uow, data, name="WA_Fn-UseC_-Accounts-Receivable.csv")
    assert result.kind == "ledger"
    assert result.summary() == "new 2466, changed 0, closed 0, unchanged 0, skipped 0"
    assert result.created_debtors == 100
    with uow() as u:
        s = u.session
        inv = s.scalars(select(Invoice).where(Invoice.number == "0000611365")).one()
        assert (inv.invoice_date, inv.due_date, inv.amount_cents, inv.open_cents, inv.settled_date) == (
            date(2013, 1, 2), date(2013, 2, 1), 5594, 0, date(2013, 1, 15))
        assert s.get(Debtor, inv.debtor_id).code == "0379-NEVHP"
        assert s.scalar(select(func.sum(Invoice.amount_cents))) == 14770318
        assert s.scalar(select(func.count()).select_from(Invoice).where(Invoice.disputed)) == 0  # all settled
        open_mid_2013 = analytics.ageing_report(u, date(2013, 6, 30)).totals["EUR"]["total"]
        assert 0 < open_mid_2013 < 14770318
    assert_ledger_consistent(uow)


def test_the_highradius_open_items_file_imports_in_dollars(uow, shared_data):
    data = (shared_data / "ar" / "highradius_open_invoices_nulldata.csv").read_bytes()
    with uow() as u:
        preview = import_service.preview(u, import_service.Upload(data, "nulldata.csv"))
    assert preview.kind == "open-items" and preview.options.currency == "USD"
    assert preview.mapping["invoice_number"] == "doc_id" and preview.mapping["open_amount"] == "converted_usd"
    result = run(uow, data, name="nulldata.csv")
    assert result.summary() == "new 9681, changed 0, closed 0, unchanged 0, skipped 0"
    assert result.warning_count == 27  # due date before the posting date, as in the source
    with uow() as u:
        totals = analytics.ageing_report(u, date(2020, 5, 31)).totals
        assert list(totals) == ["USD"]


def _xlsx(rows: list[list]) -> bytes:
    wb = openpyxl.Workbook()
    for r in rows:
        wb.active.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_an_excel_export_and_a_windows_1252_export_import_the_same(uow):
    from datetime import datetime

    header = EBOEK.split(";")
    xlsx = _xlsx([header, ["0042", "Café Ëlberg", "000123", datetime(2026, 5, 1), datetime(2026, 5, 31), 1234.56,
                           1234.56, "Factuur"]])
    result = run(uow, xlsx, name="open.xlsx")
    assert result.summary() == "new 1, changed 0, closed 0, unchanged 0, skipped 0"
    cp1252 = (EBOEK + "\r\n0042;Café Ëlberg;000123;01-05-2026;31-05-2026;€ 1.234,56;€ 1.234,56;Factuur\r\n")
    result = run(uow, cp1252.encode("cp1252"), name="open-1252.csv", as_of=AS_OF + timedelta(days=1))
    assert result.summary() == "new 0, changed 0, closed 0, unchanged 1, skipped 0"
    with uow() as u:
        assert u.session.scalar(select(Debtor.name)) == "Café Ëlberg"


BAKKER = ["0042", "Bakker B.V.", "000123", "01-05-2026", "31-05-2026", "100,00", "100,00", "Factuur"]
SMIT = ["0043", "Smit", "000124", "01-05-2026", "31-05-2026", "50,00", "25,00", "Factuur"]


def _csv(rows: list[list[str]], end: str) -> bytes:
    return end.join(";".join(r) for r in rows).encode() + end.encode()


@pytest.mark.parametrize("data, name", [
    (_csv([EBOEK.split(";"), BAKKER, SMIT], "\r"), "old-mac.csv"),
    (_csv([EBOEK.split(";"), [*BAKKER[:1], "Bakker\rB.V.", *BAKKER[2:]], SMIT], "\r\n"), "cr-in-cell.csv"),
    (_csv([EBOEK.split(";"), [*BAKKER[:1], "Bakker\rB.V.", *BAKKER[2:]], SMIT], "\n"), "cr-in-cell-lf.csv"),
    (_csv([EBOEK.split(";"), [*BAKKER[:1], '"Bakker\r\nB.V."', *BAKKER[2:]], SMIT], "\r\n"), "quoted.csv"),
    (_xlsx([EBOEK.split(";"), [*BAKKER[:1], "Bakker\nB.V.", *BAKKER[2:]], [*SMIT[:1], "Smit\r\n", *SMIT[2:]]]),
     "multi-line.xlsx"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_carriage_returns_and_line_breaks_inside_cells_import_as_one_line_values(uow, data, name):
    result = run(uow, data, name=name)
    assert result.summary() == "new 2, changed 0, closed 0, unchanged 0, skipped 0"
    with uow() as u:
        assert sorted(u.session.scalars(select(Debtor.name))) == ["Bakker B.V.", "Smit"]


def test_a_line_ended_by_a_lone_carriage_return_among_new_lines_is_refused_with_its_field_count(uow):
    data = (EBOEK + "\r\n" + ";".join(BAKKER) + "\r" + ";".join(SMIT) + "\r\n").encode()
    with pytest.raises(ImportRejected) as refused:
        run(uow, data, name="mixed.csv")
    assert [str(p) for p in refused.value.problems] == [
        "row 2: has 15 fields but the header has 8; a separator inside a value must be quoted, or fix the line"]
    assert open_amounts(uow) == {}


# --- property: the ledger always ends where the last snapshot says --------------------------------

NUMBERS = [f"P-{i:03d}" for i in range(8)]
snapshot = st.dictionaries(st.sampled_from(NUMBERS), st.integers(min_value=-50_000, max_value=500_000),
                           max_size=len(NUMBERS))


def _reset(uow) -> None:
    with uow() as u:
        for model in (MessageInvoice, Message, InvoiceChange, Invoice, Debtor, ColumnMapping, ImportBatch, AuditEvent):
            u.session.execute(delete(model))
        u.commit()


@pytest.mark.parametrize("piece", [100_000, 3], ids=["whole", "in-pieces"])
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(snapshot.filter(bool), min_size=1, max_size=4))
def test_after_any_sequence_of_full_snapshots_the_open_amounts_are_the_last_snapshots(uow, piece, snapshots):
    _reset(uow)
    for day, snap in enumerate(snapshots):
        lines = [line(n, f"D{n[-1]}", cents, amount_cents=100_000) for n, cents in sorted(snap.items())]
        with mock.patch.object(import_service, "_PIECE_ROWS", piece):
            run(uow, export(*lines), name=f"snap-{day}.csv", as_of=AS_OF + timedelta(days=day), close_missing=True)
    seen = {n for snap in snapshots for n in snap}
    last = snapshots[-1]
    assert open_amounts(uow) == {n: last.get(n, 0) for n in seen}
    assert_ledger_consistent(uow)


# --- large loads keep the daily sums themselves ------------------------------------------------------

def daily_sums_equal_a_rebuild(uow) -> bool:
    with uow() as u:
        kept = analytics_queries.ledger_days(u.session)
        analytics_queries.install_ledger_day(u.session.connection())
        return kept.equals(analytics_queries.ledger_days(u.session))


def index_names(uow) -> set[str]:
    with uow() as u:
        return {ix["name"] for ix in inspect(u.session.connection()).get_indexes("invoice")}


def keys_of_every_table(uow) -> set[tuple]:
    """Every primary, unique and foreign key of the schema, with its columns and what it refers to."""
    with uow() as u:
        found = inspect(u.session.connection())
        keys = set()
        for table in found.get_table_names():
            pk = found.get_pk_constraint(table)
            keys.add((table, "primary", tuple(pk["constrained_columns"])))
            keys.update((table, "unique", u["name"], tuple(u["column_names"])) for u in found.get_unique_constraints(table))
            keys.update((table, "foreign", f["name"], tuple(f["constrained_columns"]), f["referred_table"],
                         tuple(f["referred_columns"]), tuple(sorted((f.get("options") or {}).items())))
                        for f in found.get_foreign_keys(table))
        return keys


def test_a_large_load_adds_the_daily_sums_the_triggers_would_and_puts_the_triggers_back(uow, monkeypatch):
    monkeypatch.setattr(loader, "BULK_ROWS", 1)  # every load counts as large
    keys_before, indexes_before = keys_of_every_table(uow), index_names(uow)
    run(uow, FIRST)
    # PostgreSQL drops the invoice table's keys and the keys that refer to it for the load: all are back
    assert keys_of_every_table(uow) == keys_before and index_names(uow) == indexes_before
    assert daily_sums_equal_a_rebuild(uow)
    more = export(line("000123", "0042", 100000), line("000200", "0042", 30000, amount_cents=90000,
                                                        invoice_date="15-06-2026", due_date="15-07-2026"),
                  line("000201", "0050", 70000, due_date="01-07-2026"), line("000202", "0051", -2500))
    run(uow, more, name="more.csv", mode="partial", as_of=AS_OF + timedelta(days=1))
    assert daily_sums_equal_a_rebuild(uow)
    with uow() as u:
        assert not analytics_queries.ensure_ledger_day(u.session)  # every trigger is in place
        inv = u.session.scalars(select(Invoice).where(Invoice.number == "000200")).one()
        ledger.apply_change(u.session, inv, AS_OF + timedelta(days=3), "payment", -inv.open_cents)
        u.commit()
    assert daily_sums_equal_a_rebuild(uow)
    assert_ledger_consistent(uow)


def test_a_large_load_that_fails_leaves_triggers_indexes_and_ledger_as_they_were(uow, monkeypatch):
    monkeypatch.setattr(loader, "BULK_ROWS", 1)
    run(uow, FIRST)
    before, ledger_before, indexes_before = table_counts(uow), ledger_rows(uow), index_names(uow)
    keys_before = keys_of_every_table(uow)

    def fail(*_args, **_kw):
        raise RuntimeError("disk full")

    monkeypatch.setattr(analytics_queries, "add_to_ledger_day", fail)
    with pytest.raises(RuntimeError, match="disk full"):
        run(uow, export(line("000300", "0060", 1000), line("000301", "0060", 2000)), name="more.csv",
            mode="partial")
    assert table_counts(uow) == before and ledger_rows(uow) == ledger_before
    assert index_names(uow) == indexes_before and keys_of_every_table(uow) == keys_before
    with uow() as u:
        assert not analytics_queries.ensure_ledger_day(u.session)


def test_undoing_large_imports_rebuilds_the_daily_sums_and_puts_the_triggers_back(uow, monkeypatch):
    monkeypatch.setattr(loader, "BULK_CHANGES", 1)  # every undo counts as large: the sums are rebuilt after it
    run(uow, FIRST)
    newer = export(line("000123", "0042", 60000, amount_cents=100000), line("000126", "0044", 25000),
                   line("000127", "0045", 1000, name="Nieuw"))
    run(uow, newer, name="newer.csv", as_of=AS_OF + timedelta(days=1), close_missing=True)
    for _ in range(2):  # the newer list (payments, closings, a new invoice), then the first (every invoice)
        with uow() as u:
            import_service.undo_latest(u, actor="carla")
        assert daily_sums_equal_a_rebuild(uow)
        with uow() as u:
            assert not analytics_queries.ensure_ledger_day(u.session)  # every trigger is in place
    assert table_counts(uow)["invoice"] == 0
    run(uow, FIRST)
    assert daily_sums_equal_a_rebuild(uow)
    assert_ledger_consistent(uow)


def test_on_sqlite_an_import_checks_the_parents_it_refers_to_itself_and_keeps_foreign_keys_on_elsewhere(sqlite_engine):
    def uow(**kw):
        return UnitOfWork(sqlite_engine, **kw)

    with uow(immediate=True) as u:
        s = u.session
        s.connection(execution_options={"sqlite_foreign_keys": False})
        assert s.connection().exec_driver_sql("PRAGMA foreign_keys").scalar() == 0
        with pytest.raises(RuntimeError, match="refers to 1 debtors that do not exist"):
            loader.check_references(s, "debtor", [987654, 987654], "debtors")
    with uow() as u:  # the next unit of work on a connection has them on again
        assert u.session.connection().exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    run(uow, FIRST)
    assert_ledger_consistent(uow)
    with uow() as u:
        assert u.session.connection().exec_driver_sql("PRAGMA foreign_key_check").all() == []


# --- pieces: new invoices are written while the rest of the file is parsed ----------------------------

@pytest.fixture
def small_pieces(monkeypatch):
    """Every row its own piece, and every load large (indexes and triggers dropped and rebuilt, the
    daily sums of new invoices and of payments kept by hand)."""
    monkeypatch.setattr(import_service, "_PIECE_ROWS", 1)
    monkeypatch.setattr(loader, "BULK_ROWS", 1)
    monkeypatch.setattr(loader, "BULK_CHANGES", 1)


def test_an_import_written_a_row_at_a_time_ends_as_one_written_at_once(uow, small_pieces):
    result = run(uow, FIRST)
    assert result.summary() == "new 4, changed 0, closed 0, unchanged 0, skipped 0"
    assert result.created_debtors == 3
    newer = export(line("000123", "0042", 60000, amount_cents=100000), line("000126", "0044", 25000),
                   line("000127", "0045", 1000, name="Nieuw"), line("000128", "0042", 2000))
    result = run(uow, newer, name="newer.csv", as_of=AS_OF + timedelta(days=1), close_missing=True)
    assert result.summary() == "new 2, changed 1, closed 2, unchanged 1, skipped 0"
    assert open_amounts(uow) == {"000123": 60000, "000124": 0, "000125": 0, "000126": 25000, "000127": 1000,
                                 "000128": 2000}
    assert daily_sums_equal_a_rebuild(uow)
    assert_ledger_consistent(uow)
    run(uow, LEDGER.encode(), name="ledger.csv")
    with uow() as u:
        assert u.session.execute(select(Invoice.open_cents, Invoice.settled_date, Invoice.disputed)
                                 .where(Invoice.number.in_(["L-1", "L-2"])).order_by(Invoice.number)).all() == [
            (0, date(2026, 4, 15), False), (20000, None, True)]
    assert daily_sums_equal_a_rebuild(uow)
    assert_ledger_consistent(uow)


def test_a_problem_in_a_later_piece_rejects_the_file_after_earlier_pieces_were_written(uow, small_pieces):
    run(uow, FIRST)
    before, ledger_before, indexes_before = table_counts(uow), ledger_rows(uow), index_names(uow)
    keys_before = keys_of_every_table(uow)
    bad = export(line("000200", "0060", 1000, name="Eerst"), line("000201", "0061", 2000),
                 line("000202", "0062", 3000).replace("01-05-2026", "31-02-2026"), line("000203", "0063", 4000))
    with pytest.raises(ImportRejected) as rejected:
        run(uow, bad, name="bad.csv", mode="partial")
    assert [str(p) for p in rejected.value.parsed.errors] == [
        "row 4, Factuurdatum: '31-02-2026' is not a date (expected dd-mm-yyyy)"]
    assert table_counts(uow) == before and ledger_rows(uow) == ledger_before
    assert index_names(uow) == indexes_before and keys_of_every_table(uow) == keys_before
    result = run(uow, bad, name="bad.csv", mode="partial", valid_rows_only=True)
    assert result.summary() == "new 3, changed 0, closed 0, unchanged 0, skipped 1"
    assert "000202" not in open_amounts(uow)
    assert daily_sums_equal_a_rebuild(uow)
    assert_ledger_consistent(uow)


class Stopped(BaseException):
    """What Streamlit raises in a page's script when the user stops or reruns it: not an Exception."""


def test_an_import_stopped_between_pieces_leaves_nothing_half_imported(uow, small_pieces):
    run(uow, FIRST)
    before, ledger_before, indexes_before = table_counts(uow), ledger_rows(uow), index_names(uow)
    keys_before = keys_of_every_table(uow)
    newer = export(line("000123", "0042", 60000, amount_cents=100000), line("000126", "0044", 25000),
                   line("000127", "0045", 1000, name="Nieuw"), line("000128", "0042", 2000))
    told: list[tuple[float, str]] = []

    def stop_after_two_pieces(share: float, what: str) -> None:
        told.append((share, what))
        if what.startswith("2 of"):
            raise Stopped()

    with pytest.raises(Stopped):
        run(uow, newer, name="newer.csv", as_of=AS_OF + timedelta(days=1), close_missing=True,
            progress=stop_after_two_pieces)
    assert told == [(0.0, "4 rows"), (0.2, "1 of 4 rows"), (0.4, "2 of 4 rows")]
    assert table_counts(uow) == before and ledger_rows(uow) == ledger_before
    assert index_names(uow) == indexes_before and keys_of_every_table(uow) == keys_before
    with uow() as u:
        assert not analytics_queries.ensure_ledger_day(u.session)  # the triggers dropped for the load are back
    told.clear()
    result = run(uow, newer, name="newer.csv", as_of=AS_OF + timedelta(days=1), close_missing=True,
                 progress=lambda share, what: told.append((share, what)))
    assert result.summary() == "new 2, changed 1, closed 2, unchanged 1, skipped 0"
    shares = [share for share, _ in told]
    assert shares == sorted(shares) and told[-1] == (0.95, "Recording the batch")
    assert daily_sums_equal_a_rebuild(uow)
    assert_ledger_consistent(uow)


def test_a_check_is_applied_without_parsing_again_unless_the_ledger_changed_since(uow, monkeypatch):
    from receivables import importing

    upload = import_service.Upload(FIRST, "open.csv")
    with uow() as u:  # as the page asks: the columns and options the user saw
        shown = import_service.preview(u, upload)
        request = dict(kind=shown.kind, mapping=shown.mapping, options=shown.options, profile=shown.profile,
                       as_of=AS_OF, mode="partial")
        checked = import_service.check(u, upload, actor="carla", **request)
    assert checked.result.summary() == "new 4, changed 0, closed 0, unchanged 0, skipped 0"
    assert table_counts(uow)["invoice"] == 0  # the check writes nothing
    run(uow, export(line("000900", "0050", 1000)), name="other.csv", mode="partial")  # someone else imports

    def parse_again(*_args):
        raise AssertionError("parsed again")

    monkeypatch.setattr(importing, "read_table", parse_again)
    monkeypatch.setattr(importing, "prepare", parse_again)
    monkeypatch.setattr(importing.Prepared, "parse", parse_again)
    with uow(immediate=True) as u, pytest.raises(import_service.CheckOutdated):
        import_service.apply(u, upload, checked, actor="carla")
    with uow() as u:
        checked = import_service.check(u, upload, actor="carla", **request)
    with uow(immediate=True) as u:
        result = import_service.apply(u, upload, checked, actor="carla")
    assert result.summary() == checked.result.summary() == "new 4, changed 0, closed 0, unchanged 0, skipped 0"
    assert open_amounts(uow) == {"000123": 100000, "000124": 40000, "000125": -5000, "000126": 25000,
                                 "000900": 1000}


def test_a_debtor_file_with_address_columns_gives_the_postal_address_for_letters(uow):
    data = (b"Relatiecode;Naam;Adres;Postcode;Plaats;Land\r\n"
            b"0042;Bakker B.V.;Kerkstraat 1;1234 AB;Amsterdam;\r\n"
            b"0043;Smith Ltd;1 High Street;SW1A 1AA;London;United Kingdom\r\n"
            b"0044;Jansen;;;;\r\n")
    result = run(uow, data, name="debiteuren-adres.csv")
    assert result.kind == "debtors" and result.summary().startswith("new 3")
    with uow() as u:
        stored = dict(u.session.execute(select(Debtor.code, Debtor.address)).all())
    assert stored == {"0042": "Kerkstraat 1\n1234 AB Amsterdam",
                      "0043": "1 High Street\nSW1A 1AA London\nUnited Kingdom", "0044": None}
