"""Generate a large synthetic ledger straight into a migrated database (SQLite or PostgreSQL) for the
benchmarks: `python bench/generate_ledger.py --invoices 1000000 --debtors 50000 --db /tmp/bench.db`.
Deterministic for a seed. Debtors pay with a behaviour of their own; about 5 % of the invoices are
paid in two parts, 2 % are credit notes, the last months stay partly open."""

from __future__ import annotations

import argparse
import sqlite3
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from db.engine import make_engine, upgrade  # noqa: E402

SEGMENTS = ["Bouw", "Groothandel", "Industrie", "Zakelijke dienstverlening", "Horeca", "Retail"]
MANAGERS = ["Sanne de Vries", "Mark Jansen", "Priya Kapoor", "Tom Bakker", "Lotte Smit"]
EPOCH = date(1970, 1, 1)


def generate(n_invoices: int, n_debtors: int, anchor: date, years: float = 3.0, seed: int = 1) -> dict:
    """The ledger as column arrays: debtors, invoices and changes (dates as day numbers)."""
    rng = np.random.default_rng(seed)
    anchor_day = (anchor - EPOCH).days
    span = int(years * 365)
    cur = rng.choice(np.array(["EUR", "USD", "GBP"]), n_debtors, p=[0.9, 0.07, 0.03])
    debtors = {
        "id": np.arange(1, n_debtors + 1),
        "code": np.array([f"D{i:06d}" for i in range(1, n_debtors + 1)]),
        "segment": rng.choice(np.array(SEGMENTS), n_debtors),
        "manager": rng.choice(np.array(MANAGERS), n_debtors),
        "term": rng.choice(np.array([14, 30, 30, 30, 45, 60]), n_debtors),
        "late_mean": rng.choice(np.array([-3.0, 2.0, 10.0, 25.0, 60.0]), n_debtors, p=[0.35, 0.25, 0.2, 0.15, 0.05]),
        "currency": cur,
    }
    debtor = rng.integers(0, n_debtors, n_invoices)
    inv_day = anchor_day - rng.integers(0, span, n_invoices)
    due_day = inv_day + debtors["term"][debtor]
    credit = rng.random(n_invoices) < 0.02
    amount = np.round(rng.lognormal(11.0, 1.0, n_invoices)).astype("int64") + 100
    amount = np.where(credit, -(amount // 5), amount)
    due_day = np.where(credit, inv_day, due_day)
    late = np.round(rng.normal(debtors["late_mean"][debtor], 6.0)).astype("int64")
    paid_day = np.maximum(due_day + late, inv_day + 1)
    paid = paid_day <= anchor_day
    split = paid & (rng.random(n_invoices) < 0.05) & (paid_day - inv_day > 10)
    first_day = paid_day - rng.integers(3, 10, n_invoices)
    ids = np.arange(1, n_invoices + 1)
    # changes: full payments, or two parts for the split ones
    whole = paid & ~split
    part = amount // 2
    ch_inv = np.concatenate([ids[whole], ids[split], ids[split]])
    ch_day = np.concatenate([paid_day[whole], first_day[split], paid_day[split]])
    ch_delta = np.concatenate([-amount[whole], -part[split], -(amount - part)[split]])
    ch_kind = np.where(np.concatenate([credit[whole], credit[split], credit[split]]), "credit", "payment")
    # a first part paid on open invoices now and then
    partial_open = ~paid & (rng.random(n_invoices) < 0.05) & (first_day > inv_day) & (first_day <= anchor_day)
    ch_inv = np.concatenate([ch_inv, ids[partial_open]])
    ch_day = np.concatenate([ch_day, first_day[partial_open]])
    ch_delta = np.concatenate([ch_delta, -part[partial_open]])
    ch_kind = np.concatenate([ch_kind, np.full(int(partial_open.sum()), "payment")])
    open_cents = np.where(paid, 0, amount - np.where(partial_open, part, 0))
    invoices = {"id": ids, "debtor_id": debtor + 1, "invoice_day": inv_day, "due_day": due_day,
                "currency": debtors["currency"][debtor], "amount": amount, "open": open_cents,
                "settled_day": np.where(paid, paid_day, -1)}
    order = np.lexsort((ch_day, ch_inv))
    changes = {"invoice_id": ch_inv[order], "change_day": ch_day[order], "delta": ch_delta[order],
               "kind": ch_kind[order]}
    return {"debtors": debtors, "invoices": invoices, "changes": changes, "anchor": anchor}


def _iso(days: np.ndarray) -> np.ndarray:
    return (np.datetime64("1970-01-01") + days.astype("timedelta64[D]")).astype(str)


def write_sqlite(path: Path, ledger: dict) -> None:
    """Write into a freshly migrated SQLite file, with the app's own schema and indexes."""
    if path.exists():
        path.unlink()
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    d, i, c = ledger["debtors"], ledger["invoices"], ledger["changes"]
    now = ledger["anchor"].isoformat() + " 00:00:00"
    con.execute("INSERT INTO import_batch (id, kind, mode, file_name, file_hash, as_of, imported_by, imported_at, "
                "status, count_new, count_changed, count_closed, count_unchanged, count_skipped) "
                "VALUES (1, 'ledger', 'full', 'bench', 'bench', ?, 'bench', ?, 'applied', 0, 0, 0, 0, 0)",
                (ledger["anchor"].isoformat(), now))
    con.executemany(
        "INSERT INTO debtor (id, code, name, language, is_consumer, payment_term_days, segment, account_manager, "
        "reminders_blocked, is_demo, created_at) VALUES (?, ?, ?, 'nl', 0, ?, ?, ?, 0, 0, ?)",
        zip(d["id"].tolist(), d["code"].tolist(), [f"Debiteur {x}" for x in d["code"].tolist()],
            d["term"].tolist(), d["segment"].tolist(), d["manager"].tolist(), [now] * len(d["id"])))
    settled = _iso(i["settled_day"])
    settled = [None if s < 0 else v for s, v in zip(i["settled_day"].tolist(), settled.tolist())]
    con.executemany(
        "INSERT INTO invoice (id, number, debtor_id, invoice_date, due_date, currency, amount_cents, open_cents, "
        "settled_date, disputed, batch_id, is_demo) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 1, 0)",
        zip(i["id"].tolist(), [f"F{x:08d}" for x in i["id"].tolist()], i["debtor_id"].tolist(),
            _iso(i["invoice_day"]).tolist(), _iso(i["due_day"]).tolist(), i["currency"].tolist(),
            i["amount"].tolist(), i["open"].tolist(), settled))
    con.executemany(
        "INSERT INTO invoice_change (invoice_id, change_date, kind, delta_cents, batch_id, created_at) "
        "VALUES (?, ?, ?, ?, 1, ?)",
        zip(c["invoice_id"].tolist(), _iso(c["change_day"]).tolist(), c["kind"].tolist(), c["delta"].tolist(),
            [now] * len(c["invoice_id"])))
    con.commit()
    con.execute("ANALYZE")
    con.commit()
    con.close()


def write_postgres(url: str, ledger: dict) -> None:
    """Write into a migrated PostgreSQL database with COPY. The daily sums' triggers are dropped for the
    load; the app's start-up (`analytics.ensure_daily_sums`) puts them back and builds the sums."""
    import pandas as pd
    import psycopg

    from db import analytics_queries
    from db.loader import csv_rows

    engine = make_engine(url)
    upgrade(engine)
    with engine.begin() as conn:
        analytics_queries.drop_ledger_day_triggers(conn)
    engine.dispose()
    d, i, c = ledger["debtors"], ledger["invoices"], ledger["changes"]
    now = ledger["anchor"].isoformat() + " 00:00:00"
    settled = np.where(i["settled_day"] < 0, None, _iso(i["settled_day"]).astype(object))
    frames = {
        "debtor": pd.DataFrame({"id": d["id"], "code": d["code"], "name": [f"Debiteur {x}" for x in d["code"]],
                                "language": "nl", "is_consumer": False, "payment_term_days": d["term"],
                                "segment": d["segment"], "account_manager": d["manager"], "reminders_blocked": False,
                                "is_demo": False, "created_at": now}),
        "invoice": pd.DataFrame({"id": i["id"], "number": [f"F{x:08d}" for x in i["id"].tolist()],
                                 "debtor_id": i["debtor_id"], "invoice_date": _iso(i["invoice_day"]),
                                 "due_date": _iso(i["due_day"]), "currency": i["currency"], "amount_cents": i["amount"],
                                 "open_cents": i["open"], "settled_date": settled, "disputed": False, "batch_id": 1,
                                 "is_demo": False}),
        "invoice_change": pd.DataFrame({"invoice_id": c["invoice_id"], "change_date": _iso(c["change_day"]),
                                        "kind": c["kind"], "delta_cents": c["delta"], "batch_id": 1,
                                        "created_at": now}),
    }
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        conn.execute("INSERT INTO import_batch (id, kind, mode, file_name, file_hash, as_of, imported_by, imported_at, "
                     "status, count_new, count_changed, count_closed, count_unchanged, count_skipped) "
                     "VALUES (1, 'ledger', 'full', 'bench', 'bench', %s, 'bench', %s, 'applied', 0, 0, 0, 0, 0)",
                     (ledger["anchor"], now))
        for table, frame in frames.items():
            with conn.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(frame.columns)}) FROM STDIN "
                                                "WITH (FORMAT csv)") as copy:
                for start in range(0, len(frame), 200_000):
                    copy.write(csv_rows(frame.iloc[start:start + 200_000]))
        for table in ("import_batch", "debtor", "invoice", "invoice_change"):
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))")
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")


def write(db: str, ledger: dict) -> None:
    """Into the database `db` names: a SQLite path or URL, or a PostgreSQL URL."""
    if db.startswith("postgresql"):
        write_postgres(db, ledger)
    else:
        write_sqlite(Path(db.split("///", 1)[1] if "://" in db else db), ledger)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--invoices", type=int, default=1_000_000)
    p.add_argument("--debtors", type=int, default=50_000)
    p.add_argument("--anchor", type=date.fromisoformat, default=date(2026, 10, 31))
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--db", default="/tmp/bench_ledger.db", help="a SQLite path, or a database URL (PostgreSQL)")
    args = p.parse_args()
    t = time.perf_counter()
    ledger = generate(args.invoices, args.debtors, args.anchor, seed=args.seed)
    write(args.db, ledger)
    print(f"{args.invoices} invoices, {len(ledger['changes']['invoice_id'])} changes, {args.debtors} debtors "
          f"written to {args.db} in {time.perf_counter() - t:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())


def days_to_date(day: int) -> date:
    return EPOCH + timedelta(days=int(day))
