"""The bulk loader of imports: many rows into SQLite (one JSON array per chunk, read by json_each, on a
writer thread beside the parsing) or PostgreSQL (COPY), inside the caller's transaction; set-based
updates of open amounts with their dated changes; the ledger's invoices read back column by column.
Large loads drop the invoice table's secondary indexes and the ledger_day triggers and rebuild them,
and the daily sums, when they end. No rules of what to write: that is the import's."""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.json as pajson
from sqlalchemy import text

from db import analytics_queries
from db.models import utcnow

CHUNK = 100_000
BULK_CHANGES = 5_000  # from this many payments, credits or closings on, the daily sums are kept by hand
BULK_ROWS = 100_000  # from this many new rows on, a load drops indexes and triggers and rebuilds
READ_CHUNK = 200_000  # PostgreSQL: invoices read back as one JSON text at a time
ID_BLOCK = 1_000  # PostgreSQL: from this many new rows on, their ids are taken from the sequence as one block
INVOICE_COLUMNS = ("id", "number", "debtor_id", "open_cents", "amount_cents", "invoice_date", "due_date",
                   "settled_date", "description", "reference", "currency", "disputed", "is_demo")


def foreign_keys_off(s) -> bool:
    conn = s.connection()
    return conn.dialect.name == "sqlite" and not conn.exec_driver_sql("PRAGMA foreign_keys").scalar()


def check_references(s, table: str, ids, what: str) -> None:
    """With SQLite's foreign-key enforcement off for the import (it looks up the parent of every row
    a bulk load inserts, a tenth of a large load), the bulk writers check the parents they refer to
    here, once per distinct id; a miss raises and the whole import is rolled back."""
    if not foreign_keys_off(s):
        return
    wanted = np.unique(np.asarray(ids, dtype=np.int64))
    if not len(wanted):
        return
    dbapi = s.connection().connection.driver_connection
    missing = dbapi.execute(f"SELECT COUNT(*) FROM json_each(?) j WHERE NOT EXISTS "
                            f"(SELECT 1 FROM {table} t WHERE t.id = j.value)", (json.dumps(wanted.tolist()),)).fetchone()[0]
    if missing:
        raise RuntimeError(f"the import refers to {missing} {what} that do not exist; nothing was imported")


def apply_changes(s, invoice_ids, old_open, new_open, change_dates, kinds, batch_id: int) -> None:  # noqa: ANN001
    """`ledger.apply_change` for many invoices at once, without loading them: one dated change of the
    given kind per invoice (bulk insert) and the invoices' open amount and settled date (one set-based
    update). An
    invoice with an open amount is unsettled; one whose open amount reaches zero is settled on the
    change's date (open and settled never hold at once, so there is no earlier settled date to keep)."""
    ids = np.asarray(invoice_ids, dtype=np.int64)
    if not len(ids):
        return
    old, new = np.asarray(old_open, dtype=np.int64), np.asarray(new_open, dtype=np.int64)
    when = np.asarray(change_dates).astype("datetime64[D]")
    days = iso(when)
    with ledger_day_by_hand(s, len(ids), at_least=BULK_CHANGES) as by_hand:
        insert_changes(s, ids, days, np.asarray(kinds), new - old, batch_id)
        if by_hand:
            facts = invoice_facts(s, ids)
            analytics_queries.add_to_ledger_day(s.connection(), analytics_queries.ledger_day_contributions(
                facts["currency"].to_numpy(), facts["invoice_date"].to_numpy(), facts["due_date"].to_numpy(),
                np.zeros(len(ids), dtype=np.int64), np.arange(len(ids)), when, new - old, new_invoices=False))
    settled = np.where(new == 0, days, None)
    conn = s.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(text("UPDATE invoice SET open_cents = v.open_cents, settled_date = v.settled_date "
                          "FROM unnest(CAST(:ids AS bigint[]), CAST(:open AS bigint[]), CAST(:settled AS date[])) "
                          "AS v(id, open_cents, settled_date) WHERE invoice.id = v.id"),
                     {"ids": ids.tolist(), "open": new.tolist(),
                      "settled": [None if d is None else date.fromisoformat(d) for d in settled]})
        return
    frame = pd.DataFrame({"id": ids, "open_cents": new, "settled_date": settled})
    sql = ("UPDATE invoice SET open_cents = json_extract(j.value, '$[1]'), settled_date = json_extract(j.value, '$[2]') "
           "FROM json_each(?) AS j WHERE invoice.id = json_extract(j.value, '$[0]')")
    dbapi = conn.connection.driver_connection
    for start in range(0, len(frame), CHUNK):
        dbapi.execute(sql, (json_rows(frame.iloc[start:start + CHUNK]),))


def invoice_facts(s, ids: np.ndarray) -> pd.DataFrame:
    """Currency, invoice and due date of the invoices `ids`, as stored now, in the order of `ids`."""
    conn = s.connection()
    if conn.dialect.name == "postgresql":
        rows = conn.execute(text("SELECT id, currency, invoice_date, due_date FROM invoice "
                                 "WHERE id = ANY(CAST(:ids AS bigint[]))"), {"ids": ids.tolist()}).all()
    else:
        rows = conn.execute(text("SELECT id, currency, invoice_date, due_date FROM invoice "
                                 "WHERE id IN (SELECT value FROM json_each(:ids))"), {"ids": json.dumps(ids.tolist())}).all()
    frame = pd.DataFrame(rows, columns=["id", "currency", "invoice_date", "due_date"]).set_index("id").loc[ids]
    for c in ("invoice_date", "due_date"):
        frame[c] = dates_of(tuple(frame[c]))
    return frame


def read_invoices(s, ids: np.ndarray | None = None) -> pd.DataFrame:
    """Every invoice of the ledger as the import compares it with a file (or only those of `ids`, in the
    order of their ids): one typed column each (text as Arrow strings, dates as datetime64[D] with NaT
    for none), in the order of `INVOICE_COLUMNS`."""
    if ids is not None:
        ids = np.unique(np.asarray(ids, dtype=np.int64))
        parts = [_read_invoices(s, ids[i:i + READ_CHUNK]) for i in range(0, len(ids), READ_CHUNK)]
        return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0] if parts else _read_invoices(s, ids)
    return _read_invoices(s, None)


def _read_invoices(s, ids: np.ndarray | None) -> pd.DataFrame:
    if s.get_bind().dialect.name == "postgresql":
        return _read_invoices_json(s, ids)
    return _read_invoices_rows(s, ids)


def _read_invoices_rows(s, ids: np.ndarray | None = None) -> pd.DataFrame:
    cursor = s.connection().connection.driver_connection.cursor()
    try:
        if ids is None:
            cursor.execute(f"SELECT {', '.join(INVOICE_COLUMNS)} FROM invoice")
        else:
            cursor.execute(f"SELECT {', '.join(INVOICE_COLUMNS)} FROM invoice WHERE id IN "
                           "(SELECT value FROM json_each(?)) ORDER BY id", (json.dumps(ids.tolist()),))
        rows = cursor.fetchall()  # plain tuples: far cheaper to turn into a frame than Row objects
    finally:
        cursor.close()
    # column by column: a million rows become a frame in a moment
    data = dict(zip(INVOICE_COLUMNS, zip(*rows))) if rows else {c: () for c in INVOICE_COLUMNS}
    frame = pd.DataFrame({
        **{c: np.asarray(data[c], dtype=np.int64) for c in ("id", "debtor_id", "open_cents", "amount_cents")},
        **{c: np.asarray(data[c], dtype=bool) for c in ("disputed", "is_demo")},
        **{c: pd.Series(pa.array(data[c], type=pa.string()).to_pandas())
           for c in ("number", "description", "reference", "currency")},
        **{c: dates_of(data[c]) for c in ("invoice_date", "due_date", "settled_date")},
    })
    return frame[list(INVOICE_COLUMNS)]


def _read_invoices_json(s, ids: np.ndarray | None = None) -> pd.DataFrame:
    """PostgreSQL: `read_invoices` as newline-delimited JSON, 200,000 invoices a text that PostgreSQL
    writes and Arrow reads (several times faster than rows as Python tuples; COPY TO hands out a row
    at a time)."""
    conn = s.connection()
    types = {c: pa.int64() for c in ("id", "debtor_id", "open_cents", "amount_cents")}
    types |= {c: pa.bool_() for c in ("disputed", "is_demo")}
    types |= {c: pa.string() for c in ("number", "description", "reference", "currency")}
    types |= {c: pa.string() for c in ("invoice_date", "due_date", "settled_date")}  # ISO text, cast below
    schema = pa.schema([(c, types[c]) for c in INVOICE_COLUMNS])
    parts, after = [], 0
    only = "" if ids is None else "AND id = ANY(CAST(:ids AS bigint[])) "
    while True:
        row = conn.execute(text(
            f"SELECT string_agg(row_to_json(t)::text, chr(10)), max(t.id) FROM (SELECT {', '.join(INVOICE_COLUMNS)} "
            f"FROM invoice WHERE id > :after {only}ORDER BY id LIMIT :n) t"),
            {"after": after, "n": READ_CHUNK, **({} if ids is None else {"ids": ids.tolist()})}).one()
        if row[0] is None:
            break
        parts.append(pajson.read_json(pa.BufferReader(row[0].encode()),
                                      parse_options=pajson.ParseOptions(explicit_schema=schema,
                                                                        unexpected_field_behavior="error")))
        after = row[1]
        if ids is not None:
            break  # a caller's ids come at most READ_CHUNK at a time
    table = pa.concat_tables(parts) if parts else schema.empty_table()
    frame = pd.DataFrame({
        **{c: table[c].to_numpy().astype(np.int64) for c in ("id", "debtor_id", "open_cents", "amount_cents")},
        **{c: table[c].to_numpy().astype(bool) for c in ("disputed", "is_demo")},
        **{c: pd.Series(table[c].combine_chunks().to_pandas()) for c in ("number", "description", "reference", "currency")},
        **{c: table[c].combine_chunks().cast(pa.date32()).to_numpy(zero_copy_only=False).astype("datetime64[D]")
           for c in ("invoice_date", "due_date", "settled_date")},
    })
    return frame[list(INVOICE_COLUMNS)]


class FileRows:
    """A file of open items beside the ledger, compared so that the rows a file repeats unchanged never
    travel back from the database: `look_up` finds, for each of the file's invoice numbers, the
    invoice the ledger has and what of it a row may change (its open amount and due date, and whether
    the file's description or reference differ from the invoice's), and for a full list the ledger's
    open invoices (what the list closes where it leaves them out). This is done on a thread of its own
    while the file is parsed (SQLite joins the file's numbers to the ledger; from PostgreSQL the ledger
    is read in one scan and the numbers are found here); the parsed rows are then held against it in memory
    (`Ledger.may_differ`), and the import's own rules (`importing.diff`) judge only the rows that may
    differ. A ledger without invoices needs none of it: every row is new."""

    def __init__(self, s):
        self.s, self.conn = s, s.connection()
        self.postgres = self.conn.dialect.name == "postgresql"
        self.empty = self.conn.execute(text("SELECT 1 FROM invoice LIMIT 1")).first() is None

    def look_up(self, numbers, texts: dict, as_of: date | None,  # noqa: ANN001
                meanwhile: Callable[[], None] | None = None) -> Ledger:
        """The ledger beside the file's invoice numbers (in file order) and the texts the file maps
        (`texts`: "description" and "reference" cells, "" when empty); with `as_of` (a full list) also
        the ledger's open invoices (demo invoices and invoices dated after `as_of` aside).
        Done on a thread of its own while this one runs `meanwhile` (which must leave the connection
        alone); with nothing to look up, `meanwhile` is not run. No row is written meanwhile, so what
        is read is the ledger before the import."""
        n = len(numbers)
        ledger = Ledger(np.full(n, -1, dtype=np.int64), np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64),
                        np.zeros(n, dtype=bool), np.zeros(0, dtype=np.int64))
        if self.empty or not n:
            return ledger
        if meanwhile is None:
            return self._look_up(numbers, texts, as_of, ledger)
        with ThreadPoolExecutor(max_workers=1) as pool:  # leaving it waits for the database
            pending = pool.submit(self._look_up, numbers, texts, as_of, ledger)
            meanwhile()
            return pending.result()

    def _look_up(self, numbers, texts: dict, as_of: date | None, ledger: Ledger) -> Ledger:  # noqa: ANN001
        numbers, texts = _text_array(numbers), {f: _text_array(v) for f, v in texts.items()}
        if self.postgres:
            return self._look_up_here(numbers, texts, as_of, ledger)
        frame = pd.DataFrame({"id": np.arange(len(numbers)), "number": arrow_text(numbers),
                              **{f: arrow_text(v) for f, v in texts.items()}})
        differs = " OR ".join(f"COALESCE(n.{f}, '') <> COALESCE(i.{f}, '')" for f in texts) or "FALSE"
        found = self._agg(f"CAST(n.id AS TEXT) || ',' || CAST(i.id AS TEXT) || ',' || CAST(i.open_cents AS TEXT) "
                          f"|| ',' || CAST(COALESCE(CAST(julianday(i.due_date) - 2440587.5 AS INTEGER), {NO_DAY}) "
                          f"AS TEXT) || ',' || CASE WHEN {differs} THEN '1' ELSE '0' END")
        fields = ["number", *texts]
        numbers_table = ("(SELECT key AS id, " + ", ".join(f"json_extract(value, '$[{k}]') AS {f}"
                                                           for k, f in enumerate(fields))
                         + " FROM json_each(:rows))")
        rows = self._ints(f"SELECT {found} FROM {numbers_table} n JOIN invoice i ON i.number = n.number",
                          {"rows": json_rows(frame[fields])}).reshape(-1, 5)
        at = rows[:, 0]
        ledger.ids[at], ledger.open_cents[at], ledger.due_days[at] = rows[:, 1], rows[:, 2], rows[:, 3]
        ledger.texts_differ[at] = rows[:, 4] == 1
        if as_of is not None:
            ledger.open_ids = self._ints(f"SELECT {self._agg('CAST(id AS TEXT)')} FROM invoice WHERE open_cents <> 0 "
                                         "AND is_demo IS NOT TRUE AND invoice_date <= :as_of", {"as_of": as_of.isoformat()})
        return ledger

    def _look_up_here(self, numbers: pa.Array, texts: dict, as_of: date | None, ledger: Ledger) -> Ledger:
        """PostgreSQL: the ledger read in one scan, as a few binary values (its numbers and texts as
        UTF-8 bytes laid end to end with their lengths beside them, its integers as 8-byte words), and
        the file's numbers found among them here, by Arrow's hash look-up (which lets go of the GIL, so
        the parse goes on meanwhile). No temporary table and no join: with a million invoices the
        look-up that way (COPY of the numbers, the join, the open invoices: 1.7 s) outlasted the parse."""
        ints = ["id", "open_cents", f"COALESCE(due_date - DATE '1970-01-01', {NO_DAY})",
                "invoice_date - DATE '1970-01-01'", "CASE WHEN open_cents <> 0 AND is_demo IS NOT TRUE THEN 1 ELSE 0 END"]
        columns = ["number", *(f"COALESCE({f}, '')" for f in texts)]
        words = " || ".join(f"int8send(CAST({c} AS bigint))" for c in ints)
        aggregates = [f"string_agg({words}, ''::bytea)",
                      *(f"string_agg(int4send(octet_length({c})), ''::bytea), string_agg(convert_to({c}, 'UTF8'), ''::bytea)"
                        for c in columns)]
        with self.conn.connection.driver_connection.cursor() as cur:
            count, packed, *spelled = cur.execute(f"SELECT COUNT(*), {', '.join(aggregates)} FROM invoice",
                                                  binary=True).fetchone()
        values = np.frombuffer(packed or b"", dtype=">i8").astype(np.int64).reshape(-1, len(ints))
        stored = [_utf8_array(count, spelled[k], spelled[k + 1]) for k in range(0, len(spelled), 2)]
        if len(values) != count or any(len(a) != count for a in stored):
            raise RuntimeError("the ledger's invoices came back incomplete")
        where = pc.index_in(numbers, value_set=stored[0])  # each file row's invoice among them, or null
        at = np.flatnonzero(pc.is_valid(where).to_numpy(zero_copy_only=False))
        row = pc.drop_null(where).to_numpy()
        ledger.ids[at], ledger.open_cents[at], ledger.due_days[at] = values[row, 0], values[row, 1], values[row, 2]
        file_rows, invoices = pa.array(at), pa.array(row)
        for cells, theirs in zip(texts.values(), stored[1:]):
            ours = pc.take(cells, file_rows).fill_null("")
            ledger.texts_differ[at] |= pc.not_equal(ours, pc.take(theirs, invoices)).to_numpy(zero_copy_only=False)
        if as_of is not None:
            open_now = (values[:, 4] == 1) & (values[:, 3] <= (as_of - date(1970, 1, 1)).days)
            ledger.open_ids = values[open_now, 0]
        return ledger

    @staticmethod
    def _agg(expression: str) -> str:
        return f"group_concat({expression}, ',')"

    def _ints(self, sql: str, params: dict | None = None) -> np.ndarray:
        return _ints(self.conn.execute(text(sql), params or {}).scalar())


NO_DAY = -(2 ** 31)  # a due date the ledger does not have


@dataclass
class Ledger:
    """What `FileRows.look_up` found, per data row of the file: the invoice id (-1: none), its open
    amount and due date (days since 1970), whether the file's texts differ from it; and for a full
    list the ledger's open invoices."""

    ids: np.ndarray
    open_cents: np.ndarray
    due_days: np.ndarray
    texts_differ: np.ndarray
    open_ids: np.ndarray

    @property
    def known(self) -> np.ndarray:
        return self.ids >= 0

    def may_differ(self, at: np.ndarray, open_cents: np.ndarray, due_date: np.ndarray | None) -> np.ndarray:
        """For the parsed rows at positions `at` (of invoices the ledger has): whether the row's open
        amount, due date (where the file gives a column of them; a row without one is judged too) or
        texts are not what the ledger holds. Every other row leaves its invoice as it is."""
        differ = (np.asarray(open_cents, dtype=np.int64) != self.open_cents[at]) | self.texts_differ[at]
        if due_date is not None:
            days = np.asarray(due_date).astype("datetime64[D]")
            differ |= np.isnat(days) | (days.astype(np.int64) != self.due_days[at])
        return differ


def _text_array(values) -> pa.Array:  # noqa: ANN001
    return (values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values).cast(pa.large_string())


def _utf8_array(count: int, lengths: bytes | None, data: bytes | None) -> pa.Array:
    """`count` texts sent as their byte lengths (4-byte big-endian words) and their UTF-8 bytes laid end
    to end, as an Arrow string array over those same bytes."""
    sizes = np.frombuffer(lengths or b"", dtype=">i4")
    offsets = np.zeros(len(sizes) + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    return pa.LargeStringArray.from_buffers(count, pa.py_buffer(offsets), pa.py_buffer(data or b""))


def _ints(listed: str | None) -> np.ndarray:
    """Integers an aggregate listed as one text: a million of them are one value to fetch."""
    if not listed:
        return np.zeros(0, dtype=np.int64)
    return np.fromstring(listed, dtype=np.int64, sep=",")


def count_open(s) -> int:
    """Open invoices of the ledger, demo invoices aside."""
    return s.execute(text("SELECT COUNT(*) FROM invoice WHERE open_cents <> 0 AND is_demo IS NOT TRUE")).scalar()


def dates_of(values: tuple) -> np.ndarray:
    """DATE values as the driver returns them (ISO text from SQLite, date objects from PostgreSQL; None
    for no date)."""
    if isinstance(next((v for v in values if v is not None), None), str):
        arr = pa.array(values, type=pa.string()).cast(pa.date32())
    else:
        arr = pa.array(values, type=pa.date32())
    return arr.to_numpy(zero_copy_only=False).astype("datetime64[D]")


class Writer:
    """An import's bulk statements, run in order on one thread beside the parsing of the next piece:
    sqlite3 lets go of the GIL while SQLite works, psycopg while the server takes in a COPY, so the
    database writes one piece while this process parses the next. Until they have run, the caller
    leaves the connection to this thread (`wait` hands it back). Leaving the `with` waits for every
    statement; the first failure is raised. `helper_init` starts the thread that writes SQLite's JSON
    (it may lower that thread's priority)."""

    def __init__(self, s, helper_init: Callable[[], None] | None = None):
        self.sqlite = s.get_bind().dialect.name == "sqlite"
        self.dbapi = s.connection().connection.driver_connection
        self._pool = ThreadPoolExecutor(max_workers=1)
        # the JSON is written meanwhile, by a thread that gives way to SQLite's when both want a core
        self._encoder = ThreadPoolExecutor(max_workers=1, initializer=helper_init) if self.sqlite else None
        self._pending: list = []
        if self.sqlite:  # a large page cache keeps the indexes in memory while many rows go in
            self.dbapi.execute("PRAGMA cache_size = -262144")

    def __enter__(self) -> Writer:
        return self

    def run(self, fn, *args) -> None:  # noqa: ANN001
        while self._pending and self._pending[0].done():
            self._pending.pop(0).result()  # raises the first failure as soon as it is seen
        self._pending.append(self._pool.submit(fn, *args))

    def insert_json(self, sql: str, frame: pd.DataFrame, first: tuple = ()) -> None:
        """Run `sql` with `first` and `frame`'s rows as one JSON array (SQLite); the JSON is written by
        a third thread."""
        payload = self._encoder.submit(json_rows, frame)
        self.run(lambda: self.dbapi.execute(sql, (*first, payload.result())))

    def copy(self, sql: str, frame: pd.DataFrame) -> None:
        """COPY `frame`'s rows with `sql` (PostgreSQL), written as CSV on this writer's thread."""
        self.run(_copy, self.dbapi, sql, frame)

    def wait(self) -> None:
        """Every statement has run: the connection is the caller's again."""
        while self._pending:
            self._pending.pop(0).result()

    def __exit__(self, exc_type, *_) -> None:  # noqa: ANN001
        try:
            if exc_type is None:
                self.wait()
        finally:  # never leave a statement running on the connection; after a failure, start no more
            self._pool.shutdown(wait=True, cancel_futures=exc_type is not None)
            if self._encoder is not None:
                self._encoder.shutdown(wait=True, cancel_futures=exc_type is not None)


class Ids:
    """Primary keys for rows a bulk writer inserts, taken up front so they need not be read back: on
    SQLite counted on from the largest id (the import holds the write lock, so nobody else adds rows
    meanwhile), on PostgreSQL drawn from the table's sequence (after the `writer`'s statements, whose
    connection it is until then)."""

    def __init__(self, s, table: str, writer: Writer | None = None):
        self.s, self.table, self.writer = s, table, writer
        self._reserved = np.zeros(0, dtype=np.int64)
        self.next = (None if s.get_bind().dialect.name == "postgresql"
                     else s.execute(text(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}")).scalar_one())

    def reserve(self, n: int) -> None:
        """Take about `n` ids now, before the writer has statements running, for `take` to hand out
        later without a statement of its own (unused ones are a gap in the numbering)."""
        self._reserved = np.concatenate([self._reserved, self._draw(n)]) if n > 0 else self._reserved

    def take(self, n: int) -> np.ndarray:
        ids, self._reserved = self._reserved[:n], self._reserved[n:]
        return ids if len(ids) == n else np.concatenate([ids, self._draw(n - len(ids))])

    def _draw(self, n: int) -> np.ndarray:
        if self.next is None:
            if self.writer is not None:
                self.writer.wait()
            return self._block(n) if n >= ID_BLOCK else self._each(n)
        ids = np.arange(self.next, self.next + n, dtype=np.int64)
        self.next += n
        return ids

    def _each(self, n: int) -> np.ndarray:
        rows = self.s.execute(text(f"SELECT nextval(pg_get_serial_sequence('{self.table}', 'id')) "
                                   "FROM generate_series(1, :n)"), {"n": n}).scalars().all()
        return np.asarray(rows, dtype=np.int64)

    def _block(self, n: int) -> np.ndarray:
        """n consecutive ids in one step: the table is locked against other writers until the commit
        (readers go on), so nobody draws from its sequence between the two calls. The import holds that
        lock anyway once it changes the table's triggers or indexes."""
        conn = self.s.connection()
        conn.execute(text(f"LOCK TABLE {self.table} IN SHARE ROW EXCLUSIVE MODE"))
        seq = f"pg_get_serial_sequence('{self.table}', 'id')"
        first = conn.execute(text(f"SELECT nextval({seq})")).scalar_one()
        conn.execute(text(f"SELECT setval({seq}, :last)"), {"last": first + n - 1})
        return np.arange(first, first + n, dtype=np.int64)


class InvoiceLoader:
    """The bulk insert of an import's new invoices, a piece at a time, with the dated change that
    brings an invoice from its amount to what was open (or paid) when the file was made. A load of
    `BULK_ROWS` or more drops the invoice table's secondary indexes and the ledger_day triggers for
    the load, and builds them again, and the load's daily sums, when it ends."""

    def __init__(self, s, batch_id: int, expected_rows: int, writer: Writer):
        self.s, self.batch_id, self.writer = s, batch_id, writer
        self.expected = expected_rows
        self.count = 0
        self._new_ids = Ids(s, "invoice", writer)
        self._new_ids.reserve(expected_rows)
        self._sums: list[tuple] = []  # per piece, what ledger_day_contributions needs

    def __enter__(self) -> InvoiceLoader:
        self._by_hand_cm = ledger_day_by_hand(self.s, self.expected)
        self.by_hand = self._by_hand_cm.__enter__()
        self._indexes_cm = bulk_load(self.s, "invoice", self.expected)
        self._indexes_cm.__enter__()
        # a new invoice has at most one change; PostgreSQL drops that table's keys too when the load is large
        self._changes_cm = bulk_load(self.s, "invoice_change", self.expected, postgres_only=True)
        self._changes_cm.__enter__()
        return self

    def add(self, new: pd.DataFrame, open_cents: np.ndarray, settled_on: np.ndarray, moved: np.ndarray,
            change_dates: np.ndarray, kinds: np.ndarray, deltas: np.ndarray) -> None:
        """Insert `new` with its current state: the open amount, and for the rows where it is zero the day
        it was settled (`settled_on`); and one change for each row at the positions `moved` (dated, of a
        kind, by how much). The text columns stay Arrow arrays, as the file's parser made them."""
        ids = self._new_ids.take(len(new))
        amount = new["amount_cents"].to_numpy()
        settled = pc.if_else(pa.array(open_cents == 0), iso_text(settled_on), pa.scalar(None, pa.string()))
        frame = pd.DataFrame({
            "id": ids,
            "number": arrow_text(new["invoice_number"]),
            "debtor_id": new["debtor_id"].to_numpy(),
            "invoice_date": arrow_text(iso_text(new["invoice_date"].to_numpy())),
            "due_date": arrow_text(iso_text(new["due_date"].to_numpy())),
            "currency": arrow_text(new["currency"]),
            "amount_cents": amount,
            "open_cents": open_cents,
            "settled_date": arrow_text(settled),
            "description": texts_or_none(new["description"]),
            "reference": texts_or_none(new["reference"], 255),
            "disputed": new["disputed"].to_numpy() if "disputed" in new else False,
        })
        bulk_insert(self.s, "invoice", frame, constants={"batch_id": self.batch_id, "is_demo": False},
                     writer=self.writer)
        if len(moved):
            insert_changes(self.s, ids[moved], iso(change_dates), kinds, deltas, self.batch_id, writer=self.writer,
                            checked=True)
        if self.by_hand:
            self._sums.append((frame["currency"].to_numpy(), new["invoice_date"].to_numpy(),
                               new["due_date"].to_numpy(), amount, moved + self.count,
                               np.asarray(change_dates).astype("datetime64[D]"), deltas))
        self.count += len(new)

    def check_debtors(self, ids: np.ndarray) -> None:
        """The debtors the rows refer to exist (SQLite's own check is off for the import)."""
        if len(ids):
            self.writer.run(check_references, self.s, "debtor", ids, "debtors")

    def __exit__(self, exc_type, exc, tb) -> None:  # noqa: ANN001
        if exc_type is not None:  # the transaction is rolled back: nothing to rebuild
            return
        self.writer.wait()
        with ThreadPoolExecutor(max_workers=1) as pool:
            sums = None
            if self.by_hand and self._sums:  # summed on the other core while SQLite builds the indexes
                parts = list(zip(*self._sums))
                sums = pool.submit(analytics_queries.ledger_day_contributions,
                                   *(np.concatenate(p) for p in parts))
            self._changes_cm.__exit__(None, None, None)
            self._indexes_cm.__exit__(None, None, None)
            if sums is not None:
                analytics_queries.add_to_ledger_day(self.s.connection(), sums.result())
        self._by_hand_cm.__exit__(None, None, None)


def iso(days: np.ndarray) -> np.ndarray:
    """datetime64 values as ISO date text (None for NaT), the form both databases take for a DATE."""
    return iso_text(days).to_numpy(zero_copy_only=False)


def insert_changes(s, invoice_ids, change_dates, kinds, deltas, batch_id: int, writer: Writer | None = None,
                    checked: bool = False) -> None:
    """Dated changes (ISO dates); `checked`: the invoices were written by this import just before."""
    if not checked:
        check_references(s, "invoice", invoice_ids, "invoices")
    frame = pd.DataFrame({"invoice_id": np.asarray(invoice_ids, dtype=np.int64), "change_date": change_dates,
                          "kind": kinds, "delta_cents": np.asarray(deltas, dtype=np.int64)})
    bulk_insert(s, "invoice_change", frame, constants={
        "batch_id": batch_id, "created_at": utcnow().strftime("%Y-%m-%d %H:%M:%S.%f")}, writer=writer)


def iso_text(days) -> pa.Array:  # noqa: ANN001
    """datetime64 values as an Arrow array of ISO date text (null for NaT)."""
    return pa.array(np.asarray(days).astype("datetime64[D]"), from_pandas=True).cast(pa.string())


def arrow_text(values) -> pd.api.extensions.ExtensionArray:  # noqa: ANN001
    """Text for a bulk frame without a round trip through Python strings (pandas would turn an object
    array of them into Arrow text again, a string at a time)."""
    arr = values if isinstance(values, (pa.Array, pa.ChunkedArray)) else pa.array(values, type=pa.string())
    return pd.array(arr, dtype=pd.ArrowDtype(pa.string()))


def texts_or_none(series: pd.Series, limit: int | None = None):  # noqa: ANN201
    """A text column with empty cells as NULL, cut at `limit`; None when every cell is empty (the column
    is then written as one constant)."""
    arr = pa.array(series.fillna(""), type=pa.string())
    empty = pc.equal(arr, "")
    if not len(arr) or pc.all(empty).as_py():
        return None
    if limit:
        arr = pc.utf8_slice_codeunits(arr, 0, limit)
    return arrow_text(pc.if_else(empty, pa.scalar(None, pa.string()), arr))


@contextmanager
def bulk_load(s, table: str, rows: int, postgres_only: bool = False):
    """When a batch at least doubles a large table, drop its secondary indexes for the load and build
    them again afterwards (a sort instead of a million random B-tree inserts); on PostgreSQL also its
    primary, unique and foreign keys and the foreign keys of other tables that refer to it (checked
    again in one join each when they are added back, instead of one lookup per row), but not its
    partial indexes (of the few rows their condition holds for: kept as the rows go in, rather than a
    whole table read to build them again). DDL is part of the transaction, so a failure restores them
    with everything else."""
    dialect = s.get_bind().dialect.name
    if rows < BULK_ROWS or (postgres_only and dialect != "postgresql"):
        yield
        return
    if dialect == "postgresql":
        with _pg_bulk_load(s, table, rows):
            yield
        return
    dbapi = s.connection().connection.driver_connection
    existing = dbapi.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    if existing > rows:
        yield
        return
    indexes = dbapi.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
                            "AND sql IS NOT NULL", (table,)).fetchall()
    for name, _ in indexes:
        dbapi.execute(f'DROP INDEX "{name}"')
    yield
    for _, sql in indexes:
        dbapi.execute(sql)


@contextmanager
def _pg_bulk_load(s, table: str, rows: int):
    conn = s.connection()
    if conn.execute(text(f"SELECT COUNT(*) FROM (SELECT 1 FROM {table} LIMIT :n) t"), {"n": rows + 1}).scalar() > rows:
        yield
        return
    # the table's own keys, primary first, then unique, then foreign; and the foreign keys of other
    # tables that refer to it (they rest on its primary or unique keys, so they go first and come back last)
    keys = conn.execute(text(
        "SELECT CAST(conrelid AS regclass) AS owner, conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE (conrelid = CAST(:t AS regclass) AND contype IN ('p', 'u', 'f')) "
        "OR (confrelid = CAST(:t AS regclass) AND conrelid <> CAST(:t AS regclass) AND contype = 'f') "
        "ORDER BY conrelid = CAST(:t AS regclass) DESC, array_position(ARRAY['p', 'u', 'f'], CAST(contype AS text)), "
        "conname"), {"t": table}).all()
    indexes = conn.execute(text(
        "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE i.indrelid = CAST(:t AS regclass) AND NOT i.indisprimary AND i.indpred IS NULL "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)"), {"t": table}).all()
    for owner, name, _ in reversed(keys):
        conn.execute(text(f'ALTER TABLE {owner} DROP CONSTRAINT "{name}"'))
    for name, _ in indexes:
        conn.execute(text(f'DROP INDEX "{name}"'))
    yield
    conn.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
    large_joins(conn)  # a key is checked by one join of the whole table
    own = [key for key in keys if str(key[0]) == table]
    others = [key for key in keys if str(key[0]) != table]
    if own and own[0][2].startswith("PRIMARY KEY"):  # the other indexes are built with the primary key there
        conn.execute(text(f'ALTER TABLE {table} ADD CONSTRAINT "{own[0][1]}" {own[0][2]}'))
        own = own[1:]
    for _, sql in indexes:
        conn.execute(text(sql))
    conn.execute(text(f"ANALYZE {table}"))  # the planner's figures for the keys' checks, the rest of the import, and after
    for owner, name, definition in [*own, *others]:  # unique keys before the foreign keys that may refer to them
        conn.execute(text(f'ALTER TABLE {owner} ADD CONSTRAINT "{name}" {definition}'))


def large_joins(conn) -> None:  # noqa: ANN001
    """PostgreSQL: room for the import's joins of a million rows to hash in memory, in one batch rather
    than several spilled to disk (for this transaction only)."""
    conn.execute(text("SET LOCAL work_mem = '64MB'"))


@contextmanager
def ledger_day_by_hand(s, rows: int, at_least: int | None = None):
    """A large load keeps the daily sums (`ledger_day`) itself: the triggers that would upsert two or
    four rows per invoice and change are dropped for the load and created again after it; the caller
    adds the load's sums in one statement per day and currency. Yields whether it must. The DDL is
    part of the transaction (on PostgreSQL it locks the invoice tables until the commit)."""
    if rows < (at_least or BULK_ROWS):
        yield False
        return
    conn = s.connection()
    analytics_queries.drop_ledger_day_triggers(conn)
    yield True
    analytics_queries.create_ledger_day_triggers(conn)


@contextmanager
def ledger_day_rebuilt(s, rows: int):
    """Many invoices and changes deleted or put back at once (an undo): the triggers that keep the daily
    sums (`ledger_day`) a row at a time are dropped meanwhile, and the sums are rebuilt from the ledger
    afterwards in one GROUP BY. On PostgreSQL the row triggers upsert the same few days' rows once per
    invoice, and every upsert walks past the versions the transaction left of that row before: taking
    back a million invoices that way never ended. The DDL is part of the transaction."""
    if rows < BULK_CHANGES:
        yield
        return
    conn = s.connection()
    analytics_queries.drop_ledger_day_triggers(conn)
    yield
    s.flush()
    analytics_queries.install_ledger_day(conn)


def bulk_insert(s, table: str, frame: pd.DataFrame, constants: dict | None = None,
                 writer: Writer | None = None) -> None:
    """Insert many rows at C speed inside the session's transaction: SQLite reads one JSON array per
    chunk (json_each), PostgreSQL takes COPY. Dates arrive as ISO text. A column that holds one value
    in every row is written once, as a constant. With a `writer` the statements run on the writer's
    thread (SQLite's JSON is written by its helper, PostgreSQL's CSV by the writer's thread)."""
    if not len(frame):
        return
    constants = dict(constants or {})
    for col in list(frame.columns)[1:] if len(frame) > 1 else []:  # the first column always travels
        values = frame[col]
        missing = values.isna()
        if missing.all():
            constants[col] = None
        elif not missing.any() and (values == values.iloc[0]).all():
            constants[col] = _scalar(values.iloc[0])
        else:
            continue
        frame = frame.drop(columns=col)
    conn = s.connection()
    dbapi = conn.connection.driver_connection
    cols = list(frame.columns)
    if conn.dialect.name == "postgresql":
        frame = frame.assign(**{k: v for k, v in constants.items()})
        cols = list(frame.columns)
        sql = f"COPY {table} ({', '.join(cols)}) FROM STDIN WITH (FORMAT csv)"
        if writer is not None:
            writer.copy(sql, frame)
        else:
            _copy(dbapi, sql, frame)
        return
    fixed = [_sql_literal(constants[c]) for c in constants]
    select_list = [f"json_extract(value, '$[{i}]')" for i in range(len(cols))]
    ids = frame[cols[0]].to_numpy() if cols[0] == "id" else None
    counted = ids is not None and len(cols) > 1 and bool((np.diff(ids) == 1).all())
    if counted:  # consecutive ids: each row's is the first plus its place in the array (json_each's key)
        frame = frame.drop(columns="id")
        select_list = ["? + key", *(f"json_extract(value, '$[{i}]')" for i in range(len(cols) - 1))]
    sql = (f"INSERT INTO {table} ({', '.join([*cols, *constants])}) SELECT {', '.join([*select_list, *fixed])} "
           "FROM json_each(?)")
    starts = range(0, len(frame), CHUNK)
    chunks = [frame.iloc[start:start + CHUNK] for start in starts]
    firsts = [(int(ids[start]),) if counted else () for start in starts]
    if writer is not None:
        for chunk, first in zip(chunks, firsts):
            writer.insert_json(sql, chunk, first)
        return
    # a large page cache keeps the indexes in memory while many rows go in (this connection only)
    dbapi.execute("PRAGMA cache_size = -262144")
    # sqlite3 lets go of the GIL while it works, so the next chunk's JSON is written meanwhile
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(json_rows, chunks[0])
        for nxt, first in zip([*chunks[1:], None], firsts):
            payload = pending.result()
            if nxt is not None:
                pending = pool.submit(json_rows, nxt)
            dbapi.execute(sql, (*first, payload))


def _copy(dbapi, sql: str, frame: pd.DataFrame) -> None:  # noqa: ANN001
    with dbapi.cursor() as cur, cur.copy(sql) as copy:
        for start in range(0, len(frame), CHUNK):
            copy.write(csv_rows(frame.iloc[start:start + CHUNK]))


def csv_rows(frame: pd.DataFrame) -> bytes:
    """The frame's rows as CSV for PostgreSQL's COPY, written by Arrow: every text quoted, an empty
    field unquoted, which COPY reads as NULL (empty texts were made None before)."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    out = pa.BufferOutputStream()
    pacsv.write_csv(table, out, pacsv.WriteOptions(include_header=False, quoting_style="needed"))
    return out.getvalue().to_pybytes()


_CONTROL = r"[\x00-\x1f]"


def json_rows(frame: pd.DataFrame) -> str:
    """The frame's rows as one JSON array of arrays, written with Arrow's string kernels (which let go of
    the GIL, and are several times faster than pandas' writer): each column as JSON text, the columns of
    a row joined, the rows laid end to end in the array's own buffer. Texts with control characters, and
    column types other than text, integers and flags, go through pandas."""
    if not len(frame):
        return "[]"
    arrays = _json_arrays(frame)
    if arrays is None:
        return frame.to_json(orient="values", force_ascii=False)
    return _laid_end_to_end(pc.binary_join_element_wise(arrays, ",", ""))


def _json_arrays(frame: pd.DataFrame) -> pa.Array | None:
    """Each row of the frame as JSON array text; None where `json_rows` leaves the frame to pandas."""
    parts = []
    for name in frame.columns:
        arr = pa.array(frame[name])
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
            arr = arr.cast(pa.string())
            if pc.any(pc.match_substring_regex(arr, _CONTROL)).as_py():
                return None
            escaped = pc.replace_substring(pc.replace_substring(arr, "\\", "\\\\"), '"', '\\"')
            text = pc.binary_join_element_wise('"', escaped, '"', "")
        elif pa.types.is_boolean(arr.type):
            text = pc.if_else(arr, "true", "false")
        elif pa.types.is_integer(arr.type):
            text = pc.cast(arr, pa.string())
        elif pa.types.is_null(arr.type):
            text = pa.nulls(len(arr), pa.string())
        else:
            return None
        parts.append(pc.fill_null(text.cast(pa.string()), "null"))
    return pc.binary_join_element_wise("[", pc.binary_join_element_wise(*parts, ","), "]", "")


def _laid_end_to_end(rows: pa.Array) -> str:
    """Texts that each end in a comma, as one JSON array without the last comma."""
    rows = pa.concat_arrays([rows]) if rows.offset else rows
    offsets = np.frombuffer(rows.buffers()[1], dtype=np.int32, count=len(rows) + 1)
    body = rows.buffers()[2].to_pybytes()[offsets[0]:offsets[-1] - 1]  # without the last comma
    return "[" + body.decode("utf-8") + "]"


def _sql_literal(value) -> str:  # noqa: ANN001
    """A constant of our own making (ids, flags, dates, a validated currency code) as SQL text."""
    if value is None:
        return "NULL"
    if isinstance(value, (bool, np.bool_)):
        return "1" if value else "0"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return "'" + str(value).replace("'", "''") + "'"


def _scalar(value):  # noqa: ANN001
    return value.item() if isinstance(value, np.generic) else value
