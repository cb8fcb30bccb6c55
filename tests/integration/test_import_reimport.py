"""Re-importing an export whose rows the ledger already holds: the database finds what of each invoice a
row may change (`loader.FileRows`) and only the rows that differ are judged, so a file that repeats the ledger writes no invoice and no change, and a newer
export changes only what it changes — the same counts and changes as comparing every row."""

import itertools
from datetime import date, timedelta
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text

from db import loader
from db.models import ImportBatch, Invoice, InvoiceChange
from receivables.importing import diff
from receivables.services import imports as import_service

AS_OF = date(2026, 6, 30)
HEADER = "Relatiecode;Relatie;Factuurnummer;Factuurdatum;Vervaldatum;Bedrag;Openstaand;Omschrijving;Referentie"
ROWS = 60


def money(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    units, rest = divmod(abs(cents), 100)
    return f"{sign}{units:,}".replace(",", ".") + f",{rest:02d}"


def rows(n: int = ROWS, prefix: str = "F") -> list[dict]:
    return [{"code": f"D{i % 7:03d}", "number": f"{prefix}{i:05d}", "invoice_date": "01-05-2026",
             "due_date": "" if i % 11 == 0 else "31-05-2026",  # none: the debtor's term gives it
             "amount": 10_000 + i, "open": 10_000 + i - (i % 3) * 100,
             "description": "" if i % 5 == 0 else f"Levering {i}", "reference": f"PO-{i}" if i % 2 else ""}
            for i in range(n)]


def export(records: list[dict], newline: str = "\r\n", texts: bool = True) -> bytes:
    """The records as a Dutch open-items export; without `texts`, without description and reference."""
    keep = None if texts else -2
    lines = [";".join([r["code"], f"Debiteur {r['code']}", r["number"], r["invoice_date"], r["due_date"],
                       money(r["amount"]), r["open"] if isinstance(r["open"], str) else money(r["open"]),
                       r["description"], r["reference"]][:keep]) for r in records]
    return (newline.join([";".join(HEADER.split(";")[:keep]), *lines]) + newline).encode("utf-8")


def run(uow, data: bytes, name: str, **kw):
    kw.setdefault("as_of", AS_OF)
    with uow(immediate=True) as u, mock.patch.object(import_service, "_PIECE_ROWS", 17):  # several pieces
        return import_service.run_import(u, data, name, actor="carla", **kw)


@pytest.fixture
def invoice_writes(engine):
    """Every row written to `invoice` or `invoice_change` from now on, as (table, invoice id), by
    triggers that the test adds and takes away again."""
    tables = (("invoice", "INSERT"), ("invoice", "UPDATE"), ("invoice_change", "INSERT"))
    postgres = engine.dialect.name == "postgresql"
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE test_invoice_write (tbl VARCHAR(20), invoice_id BIGINT)"))
        if postgres:
            conn.execute(text(
                "CREATE FUNCTION test_log_invoice_write() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "INSERT INTO test_invoice_write VALUES (TG_TABLE_NAME, CAST(to_jsonb(NEW) ->> CASE TG_TABLE_NAME "
                "WHEN 'invoice' THEN 'id' ELSE 'invoice_id' END AS bigint)); RETURN NULL; END $$"))
        for table, event in tables:
            name = f"test_{table}_{event.lower()}"
            if postgres:
                conn.execute(text(f"CREATE TRIGGER {name} AFTER {event} ON {table} FOR EACH ROW "
                                  "EXECUTE FUNCTION test_log_invoice_write()"))
            else:
                key = "NEW.id" if table == "invoice" else "NEW.invoice_id"
                conn.execute(text(f"CREATE TRIGGER {name} AFTER {event} ON {table} BEGIN "
                                  f"INSERT INTO test_invoice_write VALUES ('{table}', {key}); END"))

    def written() -> list[tuple[str, int]]:
        with engine.connect() as conn:
            return sorted(conn.execute(text("SELECT tbl, invoice_id FROM test_invoice_write")).all())

    with engine.begin() as conn:
        conn.execute(text("DELETE FROM test_invoice_write"))
    yield written
    with engine.begin() as conn:
        for table, event in tables:
            conn.execute(text(f"DROP TRIGGER test_{table}_{event.lower()}" + (f" ON {table}" if postgres else "")))
        if postgres:
            conn.execute(text("DROP FUNCTION test_log_invoice_write()"))
        conn.execute(text("DROP TABLE test_invoice_write"))


def ids_of(uow, numbers: list[str]) -> list[int]:
    with uow() as u:
        return sorted(u.session.scalars(select(Invoice.id).where(Invoice.number.in_(numbers))))


def test_a_re_saved_unchanged_export_changes_nothing_and_writes_no_invoice_row(uow, invoice_writes):
    first = run(uow, export(rows()), "open.csv")
    assert first.summary() == f"new {ROWS}, changed 0, closed 0, unchanged 0, skipped 0"
    assert len(invoice_writes()) > ROWS  # the triggers see what an import writes
    with uow() as u:
        u.session.execute(text("DELETE FROM test_invoice_write"))
        u.commit()
        changes_before = u.session.scalar(select(func.count()).select_from(InvoiceChange))

    again = run(uow, export(rows(), newline="\n"), "open-resaved.csv", as_of=AS_OF + timedelta(days=1),
                close_missing=False)
    assert again.previous is None  # other bytes: compared, not recognised
    assert again.summary() == f"new 0, changed 0, closed 0, unchanged {ROWS}, skipped 0"
    assert invoice_writes() == []
    with uow() as u:
        assert u.session.scalar(select(func.count()).select_from(InvoiceChange)) == changes_before
        batch = u.session.get(ImportBatch, again.batch_id)
        assert (batch.count_new, batch.count_changed, batch.count_closed, batch.count_unchanged) == (0, 0, 0, ROWS)
        assert "field_changes" not in batch.details and "disputed" not in batch.details


def test_one_changed_row_among_many_is_the_only_change(uow, invoice_writes):
    run(uow, export(rows()), "open.csv")
    with uow() as u:
        u.session.execute(text("DELETE FROM test_invoice_write"))
        u.commit()
    newer = rows()
    newer[33]["open"] -= 2_500  # paid in part
    newer[34]["reference"] = "PO-34 bis"  # only a field
    later = AS_OF + timedelta(days=7)
    result = run(uow, export(newer), "open-week2.csv", as_of=later)
    assert result.summary() == f"new 0, changed 2, closed 0, unchanged {ROWS - 2}, skipped 0"
    paid, renamed = ids_of(uow, ["F00033"]) + ids_of(uow, ["F00034"])
    assert invoice_writes() == sorted([("invoice", paid), ("invoice_change", paid), ("invoice", renamed)])
    with uow() as u:
        changes = u.session.execute(select(InvoiceChange.invoice_id, InvoiceChange.change_date,
                                           InvoiceChange.kind, InvoiceChange.delta_cents)
                                    .where(InvoiceChange.batch_id == result.batch_id)).all()
        assert changes == [(paid, later, "payment", -2_500)]
        assert u.session.get(Invoice, renamed).reference == "PO-34 bis"


def test_a_full_list_closes_what_it_leaves_out_but_not_demo_later_or_left_out_rows_it_holds(uow):
    records = rows(12)
    run(uow, export(records), "open.csv")
    with uow() as u:
        demo, later_one = u.session.scalars(select(Invoice).where(Invoice.number.in_(["F00001", "F00002"]))
                                            .order_by(Invoice.number)).all()
        demo.is_demo = True
        later_one.invoice_date = AS_OF + timedelta(days=30)  # dated after the next snapshot
        u.commit()
    kept = [r for r in records if r["number"] not in ("F00001", "F00002", "F00003")]
    kept[0] = {**kept[0], "open": "nul"}  # not an amount: left out, so the full list does not hold it
    result = run(uow, export(kept), "open-week2.csv", as_of=AS_OF + timedelta(days=7), valid_rows_only=True,
                 close_missing=True)
    assert result.left_out_count == 1
    assert result.summary() == "new 0, changed 0, closed 2, unchanged 8, skipped 1"
    with uow() as u:
        still_open = set(u.session.scalars(select(Invoice.number).where(Invoice.open_cents != 0)))
    assert "F00003" not in still_open and kept[0]["number"] not in still_open
    assert {"F00001", "F00002"} <= still_open  # a demo invoice, and one dated after the snapshot


def _edit(record: dict, change: int) -> dict:
    record = dict(record)
    if change == 1:
        record["open"] = record["open"] // 2
    elif change == 2:
        record["due_date"] = "15-06-2026"
    elif change == 3:
        record["due_date"] = ""  # no due date says nothing: the stored one stays
    elif change == 4:
        record["description"] = "" if record["description"] else "Nieuwe omschrijving"
    elif change == 5:
        record["reference"] = record["reference"] + "-2"
    elif change == 6:
        record["open"] = -record["open"]
    return record


_EXAMPLE = itertools.count()


@pytest.mark.parametrize("texts", [True, False], ids=["with-texts", "without-texts"])
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.integers(min_value=0, max_value=6), min_size=20, max_size=20))
def test_the_rows_the_database_picks_give_what_comparing_every_row_gives(uow, texts, edits):
    records = rows(20, prefix=f"E{next(_EXAMPLE)}-")  # partial lists of their own invoices: examples add up
    run(uow, export(records, texts=texts), "open.csv", mode="partial")
    newer = export([_edit(r, change) for r, change in zip(records, edits)], texts=texts)
    later = AS_OF + timedelta(days=7)
    with uow() as u:  # the pure comparison of every row of the file with every invoice
        stored = loader.read_invoices(u.session)
        plan = import_service._plan(u.session, import_service.Upload(newer, "open-week2.csv"),
                                    import_service.ImportRequest(as_of=later), later)
        parsed = plan.parse.prepared.finish(list(plan.parse.each_piece())).frame
        parsed, _ = diff.with_term_dates(parsed, np.full(len(parsed), 30))  # the debtors' term
        mapped = {f for f, h in plan.parse.prepared.mapping.items() if h}
        expected = diff.compare_open_items(parsed, stored, later, mapped)
    result = run(uow, newer, "open-week2.csv", as_of=later, mode="partial")
    assert (result.changed, result.closed, result.unchanged) == (expected.changed, expected.closed,
                                                                 expected.unchanged)
    with uow() as u:
        written = dict(u.session.execute(select(InvoiceChange.invoice_id, InvoiceChange.delta_cents)
                                         .where(InvoiceChange.batch_id == result.batch_id)).all())
        fields = {i.id: (i.due_date, i.description, i.reference) for i in u.session.scalars(
            select(Invoice).where(Invoice.id.in_([int(x) for x in expected.updates])))}
    assert written == dict(zip(expected.changes.invoice_ids.tolist(), expected.changes.deltas.tolist()))
    for invoice_id, values in expected.updates.items():
        assert fields[invoice_id] == tuple(values.get(f, fields[invoice_id][k])
                                           for k, f in enumerate(("due_date", "description", "reference")))
