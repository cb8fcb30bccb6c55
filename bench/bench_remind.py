"""Benchmark of reminder generation: 200,000 open invoices of 20,000 debtors (plus a year of paid
history for the behaviour signals), a first run and an idempotent second run on the same day.

    python bench/bench_remind.py                       # SQLite file in /tmp
    python bench/bench_remind.py --db postgresql+psycopg://postgres@127.0.0.1:5432/postgres   # schema bench_remind

Deterministic for a seed. Prints the timings and the counts of each run."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, text  # noqa: E402

from db.engine import make_engine, upgrade  # noqa: E402
from db.models import Debtor, ImportBatch, Invoice  # noqa: E402
from db.uow import UnitOfWork  # noqa: E402
from receivables.services import reminder_settings, reminders  # noqa: E402

ANCHOR = date(2026, 6, 30)


def build(engine, n_open: int, n_debtors: int, n_paid: int, seed: int = 1) -> None:
    rng = np.random.default_rng(seed)
    late_mean = rng.choice(np.array([-3, 2, 10, 25, 60]), n_debtors, p=[0.35, 0.25, 0.2, 0.15, 0.05])
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            # the load only: the analytics' per-row ledger triggers would make it take an hour
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(insert(ImportBatch), [{"kind": "open-items", "mode": "full", "file_name": "bench",
                                            "file_hash": "bench", "as_of": ANCHOR, "imported_by": "bench",
                                            "imported_at": datetime(2026, 6, 30, 8)}])
        conn.execute(insert(Debtor), [{
            "code": f"D{i:06d}", "name": f"Debiteur {i:06d} B.V.", "email": f"crediteuren@d{i:06d}.nl",
            "language": "nl" if i % 7 else "en", "is_consumer": i % 50 == 0, "payment_term_days": 30,
            "account_manager": ["Sanne de Vries", "Mark Jansen", "Priya Kapoor"][i % 3],
            "contact_person": f"Contact {i}", "reminders_blocked": i % 97 == 0, "is_demo": False,
            "created_at": datetime(2024, 1, 1)} for i in range(1, n_debtors + 1)])
        rows = []
        who = rng.integers(1, n_debtors + 1, n_open)
        due_offset = rng.integers(-120, 30, n_open)  # days from the anchor
        amount = (np.round(rng.lognormal(11.0, 1.0, n_open)).astype("int64") + 100)
        for k in range(n_open):
            due = ANCHOR + timedelta(days=int(due_offset[k]))
            rows.append({"number": f"O{k + 1:08d}", "debtor_id": int(who[k]), "invoice_date": due - timedelta(days=30),
                         "due_date": due, "currency": "EUR", "amount_cents": int(amount[k]),
                         "open_cents": int(amount[k]), "disputed": k % 211 == 0, "is_demo": False})
        for chunk in range(0, len(rows), 20_000):
            conn.execute(insert(Invoice), rows[chunk:chunk + 20_000])
        rows = []
        who = rng.integers(1, n_debtors + 1, n_paid)
        due_offset = rng.integers(-360, -30, n_paid)
        for k in range(n_paid):
            due = ANCHOR + timedelta(days=int(due_offset[k]))
            late = int(rng.normal(late_mean[who[k] - 1], 5))
            paid = min(ANCHOR - timedelta(days=1), max(due - timedelta(days=25), due + timedelta(days=late)))
            rows.append({"number": f"P{k + 1:08d}", "debtor_id": int(who[k]), "invoice_date": due - timedelta(days=30),
                         "due_date": due, "currency": "EUR", "amount_cents": 10_000, "open_cents": 0,
                         "settled_date": paid, "disputed": False, "is_demo": False})
        for chunk in range(0, len(rows), 20_000):
            conn.execute(insert(Invoice), rows[chunk:chunk + 20_000])
        # the paid history as dated changes, as the ledger keeps it
        conn.execute(text("INSERT INTO invoice_change (invoice_id, change_date, kind, delta_cents, created_at) "
                          "SELECT id, settled_date, 'payment', -amount_cents, :now FROM invoice "
                          "WHERE settled_date IS NOT NULL"), {"now": datetime(2026, 6, 30)})
    with UnitOfWork(engine) as uow:
        reminder_settings.save_setting(uow, reminder_settings.PAYMENT_KEY, {
            "iban": "NL91ABNA0417164300", "bic": "ABNANL2A", "beneficiary": "Bench B.V."}, actor="bench")


def run(engine) -> tuple[float, reminders.GenerateResult]:
    t = time.perf_counter()
    with UnitOfWork(engine, immediate=True) as uow:
        result = reminders.generate(uow, ANCHOR, actor="bench", lookahead_days=0)
    return time.perf_counter() - t, result


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--open", type=int, default=200_000)
    p.add_argument("--debtors", type=int, default=20_000)
    p.add_argument("--paid", type=int, default=100_000)
    p.add_argument("--db", default="/tmp/bench_remind.db", help="a SQLite path or a database URL")
    p.add_argument("--pg-schema", default="bench_remind", help="PostgreSQL: the schema made afresh for the run")
    args = p.parse_args()
    url = args.db if "://" in args.db else f"sqlite:///{args.db}"
    if "://" not in args.db:
        for suffix in ("", "-wal", "-shm"):
            Path(args.db + suffix).unlink(missing_ok=True)
    elif url.startswith("postgresql"):
        admin = make_engine(url)
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{args.pg_schema}" CASCADE'))
            conn.execute(text(f'CREATE SCHEMA "{args.pg_schema}"'))
        admin.dispose()
        url += ("&" if "?" in url else "?") + f"options=-csearch_path%3D{args.pg_schema}"
    engine = make_engine(url)
    upgrade(engine)
    t = time.perf_counter()
    build(engine, args.open, args.debtors, args.paid)
    print(f"ledger: {args.open} open invoices, {args.paid} paid, {args.debtors} debtors on "
          f"{engine.dialect.name}, built in {time.perf_counter() - t:.1f} s")
    first, r1 = run(engine)
    print(f"first run:  {first:6.1f} s  ({r1})")
    second, r2 = run(engine)
    print(f"second run: {second:6.1f} s  ({r2})  = {second / first:.0%} of the first")
    return 0 if r2.created == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
