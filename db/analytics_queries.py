"""Read queries for the analytics: aggregations run in the database and come back as small frames.
Amounts stay integer cents."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
from sqlalchemy import text
from sqlalchemy.orm import Session

from receivables.domain.errors import Problem

PAID_INVOICES_SQL = """
SELECT i.id AS invoice_id, i.debtor_id, d.code, i.currency, i.amount_cents, i.invoice_date, i.due_date,
       i.settled_date AS paid_date
FROM invoice i
JOIN debtor d ON d.id = i.debtor_id
WHERE i.settled_date > :start AND i.settled_date <= :as_of AND i.amount_cents > 0
  AND NOT EXISTS (SELECT 1 FROM invoice_change w WHERE w.invoice_id = i.id AND w.kind = 'write_off')
"""


def _dates(frame: pd.DataFrame, *cols: str) -> pd.DataFrame:
    for c in cols:
        if c in frame:
            frame[c] = pd.to_datetime(frame[c]).dt.date
    return frame


def _ints(frame: pd.DataFrame, *cols: str) -> pd.DataFrame:
    for c in cols:
        if c in frame:
            frame[c] = frame[c].fillna(0).astype("int64")
    return frame


# the written-off invoices, read once from their small partial index (ix_invoice_change_write_off): as a
# NOT EXISTS per paid invoice SQLite seeks the large index of all changes instead, 5 s at 300,000 paid
# invoices against 0.4 s (invoice_id is never NULL, so NOT IN is the same test)
WRITTEN_OFF_SQL = "SELECT w.invoice_id FROM invoice_change w WHERE w.kind = 'write_off'"


def paid_invoices(session: Session, start: date, as_of: date) -> pd.DataFrame:
    """Invoices settled in (start, as_of]: the paid date is the day the open amount reached zero.
    Credit notes and written-off invoices are left out (they were not paid)."""
    frame = pd.read_sql_query(text(PAID_INVOICES_SQL), session.connection(),
                              params={"start": start, "as_of": as_of})
    frame = _dates(frame, "invoice_date", "due_date", "paid_date")
    frame["code"] = frame["code"].astype(object)
    return _ints(frame, "invoice_id", "debtor_id", "amount_cents")


def behaviour_sums(session: Session, start: date, split: date, as_of: date,
                   debtor_ids: list[int] | None = None) -> pd.DataFrame:
    """The sums `metrics.behaviour_from_sums` reads, per debtor, over the invoices of PAID_INVOICES_SQL
    (paid in (start, as_of]), summed in the database: one row per debtor instead of one per invoice.
    Days are whole days; amounts and day counts are summed as integers (exact), the squares as floats.
    `debtor_ids`: of these debtors only."""
    sqlite = session.get_bind().dialect.name == "sqlite"
    only = "" if debtor_ids is None else \
        " AND i.debtor_id IN (" + ", ".join(str(int(d)) for d in debtor_ids) + ")" if debtor_ids else " AND 1 = 0"

    def days(a: str, b: str) -> str:
        return f"CAST(julianday({a}) - julianday({b}) AS INTEGER)" if sqlite else f"({a} - {b})"

    late = f"MAX(0, {days('i.settled_date', 'i.due_date')})" if sqlite else \
        f"GREATEST(0, {days('i.settled_date', 'i.due_date')})"
    real = "REAL" if sqlite else "DOUBLE PRECISION"
    sql = f"""
SELECT x.debtor_id, d.code, x.invoices_paid, x.w, x.wl, x.wl2, x.wp, x.late, x.late30, x.rw, x.rwl
FROM (SELECT p.debtor_id, COUNT(*) AS invoices_paid, SUM(p.amount_cents) AS w, SUM(p.amount_cents * p.late) AS wl,
             SUM(CAST(p.amount_cents AS {real}) * p.late * p.late) AS wl2, SUM(p.amount_cents * p.to_pay) AS wp,
             SUM(CASE WHEN p.late > 0 THEN 1 ELSE 0 END) AS late, SUM(CASE WHEN p.late > 30 THEN 1 ELSE 0 END) AS late30,
             SUM(CASE WHEN p.recent THEN p.amount_cents ELSE 0 END) AS rw,
             SUM(CASE WHEN p.recent THEN p.amount_cents * p.late ELSE 0 END) AS rwl
      FROM (SELECT i.debtor_id, i.amount_cents, {late} AS late, {days('i.settled_date', 'i.invoice_date')} AS to_pay,
                   i.settled_date > :split AS recent
            FROM invoice i
            WHERE i.settled_date > :start AND i.settled_date <= :as_of AND i.amount_cents > 0
              AND i.id NOT IN ({WRITTEN_OFF_SQL}){only}) p
      GROUP BY p.debtor_id) x
JOIN debtor d ON d.id = x.debtor_id"""
    frame = pd.read_sql_query(text(sql), session.connection(), params={"start": start, "split": split, "as_of": as_of})
    frame["code"] = frame["code"].astype(object)
    return frame


def debtors(session: Session) -> pd.DataFrame:
    frame = pd.read_sql_query(
        text("SELECT id AS debtor_id, code, name, segment, account_manager, track_override FROM debtor"),
        session.connection())
    for c in ("code", "name", "segment", "account_manager", "track_override"):
        frame[c] = frame[c].astype(object)
    return _ints(frame, "debtor_id")


# --- the daily ledger summary ------------------------------------------------------------------------
#
# ledger_day holds, per currency and day, four sums from which AR and overdue AR on any date follow by
# a running total: credit sales (by invoice date), changes (by the later of change and invoice date),
# amounts becoming overdue (by the day after the due date, or the invoice date when that is later) and
# changes of overdue invoices (by the later of change date and that day). Triggers on invoice and
# invoice_change keep it equal to the ledger. A table rebuild drops them: start-up puts them back
# (`ensure_ledger_day`) and `python -m receivables db repair` rebuilds the sums; reads never write, and
# while a trigger is missing they compute the sums from the ledger itself (`ledger_days_from_ledger`).

LEDGER_DAY_TRIGGERS = (
    "trg_ledger_day_invoice_insert", "trg_ledger_day_invoice_update", "trg_ledger_day_invoice_delete",
    "trg_ledger_day_change_insert", "trg_ledger_day_change_update", "trg_ledger_day_change_delete",
)

_UPSERT = ("ON CONFLICT (currency, day) DO UPDATE SET "
           "sales_cents = ledger_day.sales_cents + excluded.sales_cents, "
           "change_cents = ledger_day.change_cents + excluded.change_cents, "
           "overdue_cents = ledger_day.overdue_cents + excluded.overdue_cents, "
           "overdue_change_cents = ledger_day.overdue_change_cents + excluded.overdue_change_cents")
_COLS = "ledger_day (currency, day, sales_cents, change_cents, overdue_cents, overdue_change_cents)"


def _sqlite_overdue_from(inv: str) -> str:
    return f"max(date({inv}.due_date, '+1 day'), {inv}.invoice_date)"


def _sqlite_invoice_rows(inv: str, sign: str) -> str:
    """Statements adding (sign '+') or removing ('-') an invoice row and all its changes."""
    od = _sqlite_overdue_from(inv)
    return f"""
  INSERT INTO {_COLS} VALUES ({inv}.currency, {inv}.invoice_date, {sign}{inv}.amount_cents, 0, 0, 0) {_UPSERT};
  INSERT INTO {_COLS} VALUES ({inv}.currency, {od}, 0, 0, {sign}{inv}.amount_cents, 0) {_UPSERT};
  INSERT INTO {_COLS} SELECT {inv}.currency, max(c.change_date, {inv}.invoice_date), 0, {sign}c.delta_cents, 0, 0
    FROM invoice_change c WHERE c.invoice_id = {inv}.id {_UPSERT};
  INSERT INTO {_COLS} SELECT {inv}.currency, max(c.change_date, {od}), 0, 0, 0, {sign}c.delta_cents
    FROM invoice_change c WHERE c.invoice_id = {inv}.id {_UPSERT};"""


def _sqlite_change_rows(ch: str, sign: str) -> str:
    od = _sqlite_overdue_from("i")
    return f"""
  INSERT INTO {_COLS} SELECT i.currency, max({ch}.change_date, i.invoice_date), 0, {sign}{ch}.delta_cents, 0, 0
    FROM invoice i WHERE i.id = {ch}.invoice_id {_UPSERT};
  INSERT INTO {_COLS} SELECT i.currency, max({ch}.change_date, {od}), 0, 0, 0, {sign}{ch}.delta_cents
    FROM invoice i WHERE i.id = {ch}.invoice_id {_UPSERT};"""


def _sqlite_triggers() -> list[str]:
    def inv_amount(inv: str, sign: str) -> str:
        od = _sqlite_overdue_from(inv)
        return f"""
  INSERT INTO {_COLS} VALUES ({inv}.currency, {inv}.invoice_date, {sign}{inv}.amount_cents, 0, 0, 0) {_UPSERT};
  INSERT INTO {_COLS} VALUES ({inv}.currency, {od}, 0, 0, {sign}{inv}.amount_cents, 0) {_UPSERT};"""

    changed = ("OLD.currency IS NOT NEW.currency OR OLD.invoice_date IS NOT NEW.invoice_date "
               "OR OLD.due_date IS NOT NEW.due_date OR OLD.amount_cents IS NOT NEW.amount_cents "
               "OR OLD.id IS NOT NEW.id")
    ch_changed = ("OLD.invoice_id IS NOT NEW.invoice_id OR OLD.change_date IS NOT NEW.change_date "
                  "OR OLD.delta_cents IS NOT NEW.delta_cents")
    return [
        f"CREATE TRIGGER trg_ledger_day_invoice_insert AFTER INSERT ON invoice BEGIN{inv_amount('NEW', '')}\nEND",
        # the changes still carry the old invoice's dates: take them out with OLD, put them back with NEW
        f"CREATE TRIGGER trg_ledger_day_invoice_update AFTER UPDATE ON invoice WHEN {changed} BEGIN"
        f"{_sqlite_invoice_rows('OLD', '-')}{_sqlite_invoice_rows('NEW', '')}\nEND",
        # BEFORE: the changes are still there (a cascade removes them after, and finds no invoice)
        f"CREATE TRIGGER trg_ledger_day_invoice_delete BEFORE DELETE ON invoice BEGIN"
        f"{_sqlite_invoice_rows('OLD', '-')}\nEND",
        f"CREATE TRIGGER trg_ledger_day_change_insert AFTER INSERT ON invoice_change BEGIN"
        f"{_sqlite_change_rows('NEW', '')}\nEND",
        f"CREATE TRIGGER trg_ledger_day_change_update AFTER UPDATE ON invoice_change WHEN {ch_changed} BEGIN"
        f"{_sqlite_change_rows('OLD', '-')}{_sqlite_change_rows('NEW', '')}\nEND",
        f"CREATE TRIGGER trg_ledger_day_change_delete AFTER DELETE ON invoice_change BEGIN"
        f"{_sqlite_change_rows('OLD', '-')}\nEND",
    ]


def _pg_triggers() -> list[str]:
    add = f"""
CREATE OR REPLACE FUNCTION ledger_day_add(cur varchar, d date, s bigint, c bigint, o bigint, oc bigint)
RETURNS void LANGUAGE sql AS $$
  INSERT INTO {_COLS} VALUES (cur, d, s, c, o, oc) {_UPSERT}
$$"""
    inv_rows = """
CREATE OR REPLACE FUNCTION ledger_day_invoice_rows(inv_id integer, cur varchar, inv_date date, due date,
                                                   amount bigint, sign integer, with_changes boolean)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  od date := GREATEST(due + 1, inv_date);
  r record;
BEGIN
  PERFORM ledger_day_add(cur, inv_date, sign * amount, 0, 0, 0);
  PERFORM ledger_day_add(cur, od, 0, 0, sign * amount, 0);
  IF with_changes THEN
    FOR r IN SELECT change_date, delta_cents FROM invoice_change WHERE invoice_id = inv_id LOOP
      PERFORM ledger_day_add(cur, GREATEST(r.change_date, inv_date), 0, sign * r.delta_cents, 0, 0);
      PERFORM ledger_day_add(cur, GREATEST(r.change_date, od), 0, 0, 0, sign * r.delta_cents);
    END LOOP;
  END IF;
END $$"""
    inv_trigger = """
CREATE OR REPLACE FUNCTION ledger_day_invoice() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    PERFORM ledger_day_invoice_rows(OLD.id, OLD.currency, OLD.invoice_date, OLD.due_date, OLD.amount_cents, -1, true);
  END IF;
  IF TG_OP = 'UPDATE' THEN
    PERFORM ledger_day_invoice_rows(NEW.id, NEW.currency, NEW.invoice_date, NEW.due_date, NEW.amount_cents, 1, true);
  ELSIF TG_OP = 'INSERT' THEN
    PERFORM ledger_day_invoice_rows(NEW.id, NEW.currency, NEW.invoice_date, NEW.due_date, NEW.amount_cents, 1, false);
  END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END $$"""
    ch_trigger = """
CREATE OR REPLACE FUNCTION ledger_day_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  i record;
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    SELECT currency, invoice_date, GREATEST(due_date + 1, invoice_date) AS od INTO i FROM invoice WHERE id = OLD.invoice_id;
    IF FOUND THEN
      PERFORM ledger_day_add(i.currency, GREATEST(OLD.change_date, i.invoice_date), 0, -OLD.delta_cents, 0, 0);
      PERFORM ledger_day_add(i.currency, GREATEST(OLD.change_date, i.od), 0, 0, 0, -OLD.delta_cents);
    END IF;
  END IF;
  IF TG_OP IN ('UPDATE', 'INSERT') THEN
    SELECT currency, invoice_date, GREATEST(due_date + 1, invoice_date) AS od INTO i FROM invoice WHERE id = NEW.invoice_id;
    IF FOUND THEN
      PERFORM ledger_day_add(i.currency, GREATEST(NEW.change_date, i.invoice_date), 0, NEW.delta_cents, 0, 0);
      PERFORM ledger_day_add(i.currency, GREATEST(NEW.change_date, i.od), 0, 0, 0, NEW.delta_cents);
    END IF;
  END IF;
  RETURN NULL;
END $$"""
    changed = ("OLD.currency IS DISTINCT FROM NEW.currency OR OLD.invoice_date IS DISTINCT FROM NEW.invoice_date "
               "OR OLD.due_date IS DISTINCT FROM NEW.due_date OR OLD.amount_cents IS DISTINCT FROM NEW.amount_cents "
               "OR OLD.id IS DISTINCT FROM NEW.id")
    ch_changed = ("OLD.invoice_id IS DISTINCT FROM NEW.invoice_id OR OLD.change_date IS DISTINCT FROM NEW.change_date "
                  "OR OLD.delta_cents IS DISTINCT FROM NEW.delta_cents")
    return [
        add, inv_rows, inv_trigger, ch_trigger, PG_CHANGES_FUNCTION,
        "CREATE TRIGGER trg_ledger_day_invoice_insert AFTER INSERT ON invoice "
        "FOR EACH ROW EXECUTE FUNCTION ledger_day_invoice()",
        f"CREATE TRIGGER trg_ledger_day_invoice_update AFTER UPDATE ON invoice FOR EACH ROW "
        f"WHEN ({changed}) EXECUTE FUNCTION ledger_day_invoice()",
        "CREATE TRIGGER trg_ledger_day_invoice_delete BEFORE DELETE ON invoice "
        "FOR EACH ROW EXECUTE FUNCTION ledger_day_invoice()",
        PG_CHANGE_INSERT_TRIGGER,
        f"CREATE TRIGGER trg_ledger_day_change_update AFTER UPDATE ON invoice_change FOR EACH ROW "
        f"WHEN ({ch_changed}) EXECUTE FUNCTION ledger_day_change()",
        PG_CHANGE_DELETE_TRIGGER,
    ]


# Changes come and go many at a time (a bank statement books thousands of payments dated one day, its undo
# removes them): on PostgreSQL they are summed per currency and day once a statement, from its transition
# table, instead of an upsert of the same day's row for every change (which in one transaction makes a
# new version of that row each time, each found by walking past all the earlier ones).
PG_CHANGES_FUNCTION = f"""
CREATE OR REPLACE FUNCTION ledger_day_changes() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  sign integer := TG_ARGV[0]::integer;
BEGIN
  INSERT INTO {_COLS}
  SELECT currency, day, 0, SUM(c), 0, SUM(oc) FROM (
    SELECT i.currency, GREATEST(m.change_date, i.invoice_date) AS day, sign * m.delta_cents AS c, 0 AS oc
      FROM moved m JOIN invoice i ON i.id = m.invoice_id
    UNION ALL
    SELECT i.currency, GREATEST(m.change_date, i.due_date + 1, i.invoice_date), 0, sign * m.delta_cents
      FROM moved m JOIN invoice i ON i.id = m.invoice_id) x
  GROUP BY currency, day
  {_UPSERT};
  RETURN NULL;
END $$"""
PG_CHANGE_INSERT_TRIGGER = ("CREATE TRIGGER trg_ledger_day_change_insert AFTER INSERT ON invoice_change "
                            "REFERENCING NEW TABLE AS moved FOR EACH STATEMENT EXECUTE FUNCTION ledger_day_changes('1')")
PG_CHANGE_DELETE_TRIGGER = ("CREATE TRIGGER trg_ledger_day_change_delete AFTER DELETE ON invoice_change "
                            "REFERENCING OLD TABLE AS moved FOR EACH STATEMENT EXECUTE FUNCTION ledger_day_changes('-1')")


def _contributions_sql(dialect: str, extra: str = "") -> str:
    """Every invoice and change as rows (currency, day, s, c, o, oc) of the four daily sums; `extra`
    adds invoice columns in front (e.g. 'i.debtor_id, ')."""
    if dialect == "postgresql":
        od, later = "GREATEST(i.due_date + 1, i.invoice_date)", "GREATEST"
    else:
        od, later = _sqlite_overdue_from("i"), "max"
    return f"""
  SELECT {extra}i.currency, i.invoice_date AS day, i.amount_cents AS s, 0 AS c, 0 AS o, 0 AS oc FROM invoice i
  UNION ALL SELECT {extra}i.currency, {od}, 0, 0, i.amount_cents, 0 FROM invoice i
  UNION ALL SELECT {extra}i.currency, {later}(c.change_date, i.invoice_date), 0, c.delta_cents, 0, 0
    FROM invoice_change c JOIN invoice i ON i.id = c.invoice_id
  UNION ALL SELECT {extra}i.currency, {later}(c.change_date, {od}), 0, 0, 0, c.delta_cents
    FROM invoice_change c JOIN invoice i ON i.id = c.invoice_id"""


def _daily_sql(dialect: str) -> str:
    return (f"SELECT currency, day, SUM(s) AS sales_cents, SUM(c) AS change_cents, SUM(o) AS overdue_cents, "
            f"SUM(oc) AS overdue_change_cents FROM ({_contributions_sql(dialect)}) x GROUP BY currency, day")


def _rebuild_sql(dialect: str) -> str:
    return f"INSERT INTO {_COLS} {_daily_sql(dialect)}"


def _installed_triggers(conn) -> set[str]:
    if conn.dialect.name == "postgresql":
        rows = conn.execute(text(
            "SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE c.relname IN ('invoice', 'invoice_change') AND c.relnamespace = to_regnamespace(current_schema())::oid"))
    else:
        rows = conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))
    return {r[0] for r in rows}


def drop_ledger_day_triggers(conn) -> None:
    """Stop maintaining the daily sums (a bulk load does this, then calls `install_ledger_day`, which
    rebuilds them with one GROUP BY instead of an upsert per row); `conn` is in a transaction."""
    for name in LEDGER_DAY_TRIGGERS:
        on = "invoice_change" if "_change_" in name else "invoice"
        if conn.dialect.name == "postgresql":
            conn.execute(text(f"DROP TRIGGER IF EXISTS {name} ON {on}"))
        else:
            conn.execute(text(f"DROP TRIGGER IF EXISTS {name}"))


def create_ledger_day_triggers(conn) -> None:
    """Create the triggers (after `drop_ledger_day_triggers`); the sums are left as they are."""
    for ddl in (_pg_triggers() if conn.dialect.name == "postgresql" else _sqlite_triggers()):
        conn.exec_driver_sql(ddl)


def install_ledger_day(conn) -> None:
    """(Re)create the triggers and rebuild the daily sums from the ledger; `conn` is in a transaction."""
    dialect = conn.dialect.name
    drop_ledger_day_triggers(conn)
    create_ledger_day_triggers(conn)
    conn.execute(text("DELETE FROM ledger_day"))
    conn.execute(text(_rebuild_sql(dialect)))


def ledger_day_contributions(currency, invoice_date, due_date, amount_cents, change_of, change_date,
                             delta_cents, new_invoices: bool = True) -> pd.DataFrame:
    """What the triggers add to the daily sums for new invoices and their changes, summed per
    (currency, day): the same four rows per invoice and change as `_contributions_sql`. Invoice
    columns are arrays of equal length (dates as datetime64[D]); `change_of` holds, per change, the
    position of its invoice in them. `new_invoices=False`: the invoices were there before, only the
    changes are new."""
    currency = np.broadcast_to(np.asarray(currency, dtype=object), np.shape(amount_cents))
    inv_date = np.asarray(invoice_date).astype("datetime64[D]")
    overdue_from = np.maximum(np.asarray(due_date).astype("datetime64[D]") + np.timedelta64(1, "D"), inv_date)
    amount = np.asarray(amount_cents, dtype=np.int64)
    of = np.asarray(change_of, dtype=np.int64)
    when = np.asarray(change_date).astype("datetime64[D]")
    delta = np.asarray(delta_cents, dtype=np.int64)
    zero_i, zero_c = np.zeros(len(amount), dtype=np.int64), np.zeros(len(of), dtype=np.int64)
    parts = [(currency, inv_date, amount, zero_i, zero_i, zero_i),
             (currency, overdue_from, zero_i, zero_i, amount, zero_i)] if new_invoices else []
    parts += [(currency[of], np.maximum(when, inv_date[of]), zero_c, delta, zero_c, zero_c),
              (currency[of], np.maximum(when, overdue_from[of]), zero_c, zero_c, zero_c, delta)]
    frame = pd.DataFrame({name: np.concatenate([p[i] for p in parts])
                          for i, name in enumerate(("currency", "day", "sales_cents", "change_cents",
                                                    "overdue_cents", "overdue_change_cents"))})
    return frame.groupby(["currency", "day"], as_index=False, sort=True).sum()


def add_to_ledger_day(conn, sums: pd.DataFrame) -> None:
    """Add daily sums (as `ledger_day_contributions` returns them) to the table, as the triggers would."""
    if not len(sums):
        return
    days = sums["day"].to_numpy().astype("datetime64[D]")
    days = days.astype(object) if conn.dialect.name == "postgresql" else days.astype(str)
    rows = [{"cur": c, "d": d, "s": int(a), "c": int(b), "o": int(o), "oc": int(oc)} for c, d, a, b, o, oc in zip(
        sums["currency"], days, sums["sales_cents"], sums["change_cents"], sums["overdue_cents"],
        sums["overdue_change_cents"])]
    conn.execute(text(f"INSERT INTO {_COLS} VALUES (:cur, :d, :s, :c, :o, :oc) {_UPSERT}"), rows)


def missing_ledger_day_triggers(session: Session) -> list[str]:
    """The summary's triggers that are not there (a table rebuild drops them); reads only."""
    return sorted(set(LEDGER_DAY_TRIGGERS) - _installed_triggers(session.connection()))


def ensure_ledger_day(session: Session) -> bool:
    """Reinstall the summary's triggers when any is missing (e.g. after a table rebuild dropped
    them), rebuilding the sums. Returns True when it had to. A write: start-up and repairs only."""
    if not missing_ledger_day_triggers(session):
        return False
    install_ledger_day(session.connection())
    return True


def _daily_frame(frame: pd.DataFrame) -> pd.DataFrame:
    frame["currency"] = frame["currency"].astype(object)
    frame = _dates(frame, "day")
    return _ints(frame, "sales_cents", "change_cents", "overdue_cents", "overdue_change_cents")


def ledger_days(session: Session) -> pd.DataFrame:
    """The daily sums per currency (currency, day, sales_cents, change_cents, overdue_cents,
    overdue_change_cents), days without any movement left out."""
    return _daily_frame(pd.read_sql_query(text(
        "SELECT currency, day, sales_cents, change_cents, overdue_cents, overdue_change_cents FROM ledger_day "
        "WHERE sales_cents <> 0 OR change_cents <> 0 OR overdue_cents <> 0 OR overdue_change_cents <> 0 "
        "ORDER BY currency, day"), session.connection()))


def ledger_days_from_ledger(session: Session) -> pd.DataFrame:
    """The same daily sums computed from the invoices and changes themselves: right without the triggers,
    and as slow as reading the whole ledger."""
    frame = pd.read_sql_query(text(f"SELECT * FROM ({_daily_sql(session.get_bind().dialect.name)}) d "
                                   "WHERE sales_cents <> 0 OR change_cents <> 0 OR overdue_cents <> 0 "
                                   "OR overdue_change_cents <> 0 ORDER BY currency, day"), session.connection())
    return _daily_frame(frame)


def ledger_days_by(session: Session, group: str) -> pd.DataFrame:
    """The same daily sums computed from the ledger itself, split by a debtor attribute (`segment` or
    `account_manager`; debtors without one are 'unassigned')."""
    if group not in ("segment", "account_manager"):
        raise Problem("cannot split by {group!r}", group=group)
    inner = _contributions_sql(session.get_bind().dialect.name, "i.debtor_id, ")
    query = (f"SELECT COALESCE(d.{group}, 'unassigned') AS grp, x.currency, x.day, SUM(x.s) AS sales_cents, "
             f"SUM(x.c) AS change_cents, SUM(x.o) AS overdue_cents, SUM(x.oc) AS overdue_change_cents "
             f"FROM ({inner}) x JOIN debtor d ON d.id = x.debtor_id GROUP BY 1, 2, 3 ORDER BY 1, 2, 3")
    frame = pd.read_sql_query(text(query), session.connection())
    frame["grp"] = frame["grp"].astype(object)
    frame["currency"] = frame["currency"].astype(object)
    frame = _dates(frame, "day")
    return _ints(frame, "sales_cents", "change_cents", "overdue_cents", "overdue_change_cents")


# --- open items on a past date ---------------------------------------------------------------------

def _open_candidates_sql(dialect: str, columns: str, settled_after: str = ":as_of", dated_by: str = ":as_of") -> str:
    """Invoices that can be open on :as_of: dated on or before it and settled after it (or not at
    all). An invoice settled on or before :as_of stays settled: settled_date is the last day its open
    amount reached zero. On SQLite the covering index is named, so that the planner never reads the
    table instead. For several dates: settled after the first, dated on or before the last."""
    hint = " INDEXED BY ix_invoice_settled_ageing" if dialect == "sqlite" else ""
    return (f"SELECT {columns} FROM invoice i{hint} WHERE i.settled_date > {settled_after} "
            f"AND i.invoice_date <= {dated_by} UNION ALL SELECT {columns} FROM invoice i{hint} "
            f"WHERE i.settled_date IS NULL AND i.invoice_date <= {dated_by}")


def _later_changes(alias: str) -> str:
    return (f"COALESCE((SELECT SUM(c.delta_cents) FROM invoice_change c WHERE c.invoice_id = {alias}.id "
            f"AND c.change_date > :as_of), 0)")


def open_items_at(session: Session, as_of: date) -> pd.DataFrame:
    """Every invoice and credit note with a non-zero open amount on `as_of` (today's open amount minus
    the changes dated after it), with its debtor's code, name, segment and account manager, read through
    the settled-date index."""
    dialect = session.get_bind().dialect.name
    cand = _open_candidates_sql(dialect, "i.id, i.debtor_id, i.currency, i.invoice_date, i.due_date, i.open_cents")
    sql = f"""
SELECT x.invoice_id, i.number, x.debtor_id, d.code AS debtor_code, d.name AS debtor_name, d.segment,
       d.account_manager, d.track_override, x.currency, x.invoice_date, x.due_date, i.amount_cents,
       x.open_cents, i.disputed
FROM (SELECT cand.id AS invoice_id, cand.debtor_id, cand.currency, cand.invoice_date, cand.due_date,
             cand.open_cents - {_later_changes('cand')} AS open_cents
      FROM ({cand}) cand) x
JOIN invoice i ON i.id = x.invoice_id
JOIN debtor d ON d.id = x.debtor_id
WHERE x.open_cents <> 0"""
    frame = pd.read_sql_query(text(sql), session.connection(), params={"as_of": as_of})
    frame = _dates(frame, "invoice_date", "due_date")
    for c in ("number", "debtor_code", "debtor_name", "segment", "account_manager", "track_override", "currency"):
        frame[c] = frame[c].astype(object)
    frame["disputed"] = frame["disputed"].astype(bool)
    return _ints(frame, "invoice_id", "debtor_id", "amount_cents", "open_cents")


def ageing_sums(session: Session, as_of: date, cuts: list[date], basis: str = "due",
                before: tuple[date, list[date]] | None = None) -> pd.DataFrame:
    """Open amounts on `as_of` per debtor, currency and bucket, and the part of them past due, summed in the
    database: one row per debtor and currency with open items that day, with the debtor's code, name, segment,
    account manager and track override, open_0 … open_n (an item is in bucket k when its date is on or after
    cut k and before cut k−1, see BucketSpec.cut_dates), overdue_cents and items.

    `before` (an earlier date and its cuts): in the same pass over the invoices that can be open on either
    date, whether each debtor was overdue then in that currency (column overdue_before: something past due
    and something in its ageing that day), with rows of nothing open on `as_of` for those overdue only then.
    The open amount on a date is today's minus the changes dated after it (on PostgreSQL one look into an
    invoice's changes serves both dates)."""
    dialect = session.get_bind().dialect.name
    column = "due_date" if basis == "due" else "invoice_date"
    dates = [(as_of, cuts)] + ([before] if before is not None else [])
    params: dict = {"first": min(d for d, _ in dates), "last": max(d for d, _ in dates)}
    opens, sums = [], []
    big = "BIGINT" if dialect == "postgresql" else "INTEGER"  # PostgreSQL sums bigints as numeric (slow to read)
    if dialect == "postgresql":
        later = ", ".join(f"CAST(SUM(c.delta_cents) FILTER (WHERE c.change_date > :d{j}) AS BIGINT) AS later{j}"
                          for j in range(len(dates)))
        lookup = (f"LEFT JOIN LATERAL (SELECT {later} FROM invoice_change c "
                  f"WHERE c.invoice_id = cand.id AND c.change_date > :first) l ON true")
    else:
        lookup = ""
    for j, (day, day_cuts) in enumerate(dates):
        params[f"d{j}"] = day
        later = (f"l.later{j}" if dialect == "postgresql" else
                 f"(SELECT SUM(c.delta_cents) FROM invoice_change c WHERE c.invoice_id = cand.id "
                 f"AND c.change_date > :d{j})")
        opens.append(f"CASE WHEN cand.invoice_date <= :d{j} AND (cand.settled_date IS NULL OR cand.settled_date > :d{j}) "
                     f"THEN cand.open_cents - COALESCE({later}, 0) ELSE 0 END AS open{j}")
        whens = []
        for k, cut in enumerate(day_cuts):
            params[f"cut{j}_{k}"] = cut
            whens.append(f"WHEN cand.{column} >= :cut{j}_{k} THEN {k}")
        opens.append(f"CASE {' '.join(whens)} ELSE {len(day_cuts)} END AS bucket{j}")
        opens.append(f"cand.due_date < :d{j} AS overdue{j}")
        sums += [f"CAST(SUM(CASE WHEN bucket{j} = {k} THEN open{j} ELSE 0 END) AS {big}) AS open{j}_{k}"
                 for k in range(len(day_cuts) + 1)]
        sums += [f"CAST(SUM(CASE WHEN overdue{j} THEN open{j} ELSE 0 END) AS {big}) AS overdue{j}",
                 f"SUM(CASE WHEN open{j} <> 0 THEN 1 ELSE 0 END) AS items{j}"]
    cand = _open_candidates_sql(dialect, "i.id, i.debtor_id, i.currency, i.invoice_date, i.due_date, i.settled_date, "
                                "i.open_cents", settled_after=":first", dated_by=":last")
    buckets = [f"s.open0_{k} AS open_{k}" for k in range(len(cuts) + 1)]
    shown, keep = "", "s.items0 <> 0"
    if before is not None:
        overdue_then = (f"(s.overdue1 > 0 AND ({' OR '.join(f's.open1_{k} <> 0' for k in range(len(before[1]) + 1))}))")
        shown, keep = f", CASE WHEN {overdue_then} THEN 1 ELSE 0 END AS overdue_before", f"{keep} OR {overdue_then}"
    sql = f"""
WITH items AS MATERIALIZED (
  SELECT cand.debtor_id, cand.currency, {", ".join(opens)}
  FROM ({cand}) cand {lookup}
), sums AS (
  SELECT debtor_id, currency, {", ".join(sums)}
  FROM items WHERE {" OR ".join(f"open{j} <> 0" for j in range(len(dates)))} GROUP BY debtor_id, currency
)
SELECT s.debtor_id, d.code AS debtor_code, d.name AS debtor_name, d.segment, d.account_manager, d.track_override,
       s.currency, {", ".join(buckets)}, s.overdue0 AS overdue_cents, s.items0 AS items{shown}
FROM sums s JOIN debtor d ON d.id = s.debtor_id
WHERE {keep}"""
    if dialect == "postgresql":  # compiling this for the JIT takes longer than running it (0.5 s of 0.9 s)
        session.execute(text("SET LOCAL jit = off"))
    frame = pd.read_sql_query(text(sql), session.connection(), params=params)
    for c in ("debtor_code", "debtor_name", "segment", "account_manager", "track_override", "currency"):
        frame[c] = frame[c].astype(object)
    frame = _ints(frame, "debtor_id", *(f"open_{k}" for k in range(len(cuts) + 1)), "overdue_cents", "items")
    if before is not None:
        frame["overdue_before"] = frame["overdue_before"].fillna(0).astype(bool)
    return frame


def debtor_open_items(session: Session, as_of: date, debtor_id: int) -> pd.DataFrame:
    """One debtor's open items on `as_of` (the invoices behind a row of the ageing table)."""
    sql = """
SELECT i.id AS invoice_id, i.number, i.currency, i.invoice_date, i.due_date, i.amount_cents,
       i.open_cents - COALESCE((SELECT SUM(c.delta_cents) FROM invoice_change c
                                WHERE c.invoice_id = i.id AND c.change_date > :as_of), 0) AS open_cents,
       i.disputed, i.paused_until, i.description, i.reference
FROM invoice i
WHERE i.debtor_id = :debtor_id AND i.invoice_date <= :as_of AND (i.settled_date IS NULL OR i.settled_date > :as_of)"""
    frame = pd.read_sql_query(text(sql), session.connection(), params={"as_of": as_of, "debtor_id": debtor_id})
    frame = frame[frame["open_cents"] != 0].reset_index(drop=True)
    frame = _dates(frame, "invoice_date", "due_date", "paused_until")
    for c in ("number", "currency", "description", "reference"):
        frame[c] = frame[c].astype(object)
    frame["disputed"] = frame["disputed"].astype(bool)
    return _ints(frame, "invoice_id", "amount_cents", "open_cents")


def receipts(session: Session, start: date, end: date) -> pd.DataFrame:
    """Payments received in (start, end] on invoices dated on or before `start`, per currency and day
    (currency, day, received_cents; received is positive)."""
    sql = """
SELECT i.currency, c.change_date AS day, -SUM(c.delta_cents) AS received_cents
FROM invoice_change c JOIN invoice i ON i.id = c.invoice_id
WHERE c.kind = 'payment' AND c.change_date > :start AND c.change_date <= :end AND i.invoice_date <= :start
GROUP BY i.currency, c.change_date"""
    frame = pd.read_sql_query(text(sql), session.connection(), params={"start": start, "end": end})
    frame["currency"] = frame["currency"].astype(object)
    frame = _dates(frame, "day")
    return _ints(frame, "received_cents")
