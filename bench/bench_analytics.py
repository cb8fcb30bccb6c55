"""Analytics benchmark: ageing on a past date and the 24-month DSO series on a generated ledger of
1,000,000 invoices and 50,000 debtors in SQLite or PostgreSQL, against DuckDB doing the same computation
on the same data held in memory, in the same run; with `--page`, the ageing page itself in a process of its
own (Streamlit's AppTest): its first run, its run after a write, its reruns for new as-of dates and the
process's peak memory.

    python bench/bench_analytics.py --page          # a temporary SQLite file, generated (about 75 s)
    python bench/bench_analytics.py --page --db /tmp/bench_ledger.db      # kept, generated when missing
    python bench/bench_analytics.py --page --db postgresql+psycopg://postgres@127.0.0.1:5432/postgres
    python bench/bench_analytics.py --invoices 20000 --debtors 1000 --repeat 1

Both sides end in the same pure code (receivables.domain.ageing and .metrics): the database through the
app's own services (receivables.services.analytics), DuckDB through SQL over its in-memory copies of
invoice, invoice_change and debtor. For DuckDB the better of two formulations is taken: the plain scan of
every invoice and the settled-date candidate query the app uses. DuckDB is a reference here only, never a
dependency of the app."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench.dbarg import add_db_argument, bench_database, describe, is_postgres, normalised  # noqa: E402
from db.engine import make_engine, upgrade  # noqa: E402
from db.uow import UnitOfWork  # noqa: E402
from receivables.domain import metrics  # noqa: E402
from receivables.domain.ageing import DEFAULT_EDGES, BucketSpec, ageing_table  # noqa: E402
from receivables.services import analytics  # noqa: E402

EDGES = DEFAULT_EDGES


def timed(fn, repeat: int) -> tuple[float, object]:
    """Median wall time in seconds over `repeat` runs, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


# --- DuckDB side ---------------------------------------------------------------------------------------

def duckdb_copy(url: str):
    import duckdb
    from sqlalchemy import create_engine

    src = create_engine(url)
    con = duckdb.connect()
    frames = {
        "invoice": pd.read_sql_query("SELECT id, debtor_id, invoice_date, due_date, currency, amount_cents, open_cents, "
                                     "settled_date FROM invoice", src),
        "invoice_change": pd.read_sql_query("SELECT invoice_id, change_date, kind, delta_cents FROM invoice_change", src),
        "debtor": pd.read_sql_query("SELECT id, code, name, segment, account_manager, track_override FROM debtor", src),
    }
    src.dispose()
    for c in ("invoice_date", "due_date", "settled_date"):
        frames["invoice"][c] = pd.to_datetime(frames["invoice"][c]).dt.date
    frames["invoice_change"]["change_date"] = pd.to_datetime(frames["invoice_change"]["change_date"]).dt.date
    for name, frame in frames.items():
        con.register(f"{name}_df", frame)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM {name}_df")
        con.unregister(f"{name}_df")
    return con


def _bucket_case(column: str, as_of: date) -> str:
    whens = " ".join(f"WHEN {column} >= DATE '{as_of - timedelta(days=e)}' THEN {k}" for k, e in enumerate(EDGES))
    return f"CASE {whens} ELSE {len(EDGES)} END"


def duckdb_ageing(con, as_of: date, form: str) -> pd.DataFrame:
    d = f"DATE '{as_of}'"
    if form == "scan":  # every invoice, today's open amount minus the later changes
        items = f"""
SELECT i.debtor_id, i.currency, {_bucket_case('i.due_date', as_of)} AS bucket, i.due_date < {d} AS overdue,
       i.open_cents - COALESCE(l.delta, 0) AS open_cents
FROM invoice i LEFT JOIN (SELECT invoice_id, SUM(delta_cents) AS delta FROM invoice_change
                          WHERE change_date > {d} GROUP BY invoice_id) l ON l.invoice_id = i.id
WHERE i.invoice_date <= {d}"""
    else:  # the app's candidate query: only invoices settled after the date or not at all
        items = f"""
SELECT c.debtor_id, c.currency, {_bucket_case('c.due_date', as_of)} AS bucket, c.due_date < {d} AS overdue,
       c.open_cents - COALESCE(l.delta, 0) AS open_cents
FROM (SELECT id, debtor_id, currency, due_date, open_cents FROM invoice
      WHERE invoice_date <= {d} AND (settled_date > {d} OR settled_date IS NULL)) c
LEFT JOIN (SELECT invoice_id, SUM(delta_cents) AS delta FROM invoice_change
           WHERE change_date > {d} GROUP BY invoice_id) l ON l.invoice_id = c.id"""
    buckets = [f"open_{k}" for k in range(len(EDGES) + 1)]
    per_bucket = ", ".join(f"SUM(CASE WHEN bucket = {k} THEN open_cents ELSE 0 END) AS {b}" for k, b in enumerate(buckets))
    sql = f"""
WITH items AS ({items}),
sums AS (SELECT debtor_id, currency, {per_bucket},
                SUM(CASE WHEN overdue THEN open_cents ELSE 0 END) AS overdue_cents, COUNT(*) AS items
         FROM items WHERE open_cents <> 0 GROUP BY debtor_id, currency)
SELECT s.debtor_id, d.code AS debtor_code, d.name AS debtor_name, d.segment, d.account_manager, d.track_override,
       s.currency, {", ".join(f"s.{b}" for b in buckets)}, s.overdue_cents, s.items
FROM sums s JOIN debtor d ON d.id = s.debtor_id"""
    sums = con.execute(sql).df()
    for c in ("debtor_code", "debtor_name", "segment", "account_manager", "track_override", "currency"):
        sums[c] = sums[c].astype(object)
    for c in ("debtor_id", *buckets, "overdue_cents", "items"):
        sums[c] = sums[c].astype("int64")
    return ageing_table(sums, BucketSpec(EDGES).labels)


def duckdb_daily(con) -> pd.DataFrame:
    """The four daily sums straight from the invoices and changes (what ledger_day holds)."""
    od = "GREATEST(i.due_date + 1, i.invoice_date)"
    sql = f"""
SELECT currency, day, SUM(s) AS sales_cents, SUM(c) AS change_cents, SUM(o) AS overdue_cents,
       SUM(oc) AS overdue_change_cents FROM (
  SELECT i.currency, i.invoice_date AS day, i.amount_cents AS s, 0 AS c, 0 AS o, 0 AS oc FROM invoice i
  UNION ALL SELECT i.currency, {od}, 0, 0, i.amount_cents, 0 FROM invoice i
  UNION ALL SELECT i.currency, GREATEST(c.change_date, i.invoice_date), 0, c.delta_cents, 0, 0
    FROM invoice_change c JOIN invoice i ON i.id = c.invoice_id
  UNION ALL SELECT i.currency, GREATEST(c.change_date, {od}), 0, 0, 0, c.delta_cents
    FROM invoice_change c JOIN invoice i ON i.id = c.invoice_id
) x GROUP BY currency, day ORDER BY currency, day"""
    frame = con.execute(sql).df()
    frame["currency"] = frame["currency"].astype(object)
    frame["day"] = pd.to_datetime(frame["day"]).dt.date
    for c in ("sales_cents", "change_cents", "overdue_cents", "overdue_change_cents"):
        frame[c] = frame[c].astype("int64")
    return frame


# --- SQLite side ------------------------------------------------------------------------------------------

def sqlite_series_from_raw(engine, as_of: date, months: int) -> pd.DataFrame:
    """The same series with the daily sums computed from the raw rows (what the triggers save us)."""
    from db.analytics_queries import ledger_days_from_ledger

    with UnitOfWork(engine) as uow:
        return metrics.dso_series(ledger_days_from_ledger(uow.session), as_of, months)


def same_ageing(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    key = ["currency", "debtor_id"]
    cols = [*key, *BucketSpec(EDGES).labels, "total", "overdue"]
    a = a[cols].sort_values(key, ignore_index=True)
    b = b[cols].sort_values(key, ignore_index=True)
    return a.equals(b)


def same_series(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    cols = ["currency", "month", "total_open_cents", "overdue_cents", "credit_sales_cents"]
    return a[cols].reset_index(drop=True).equals(b[cols].reset_index(drop=True)) and \
        (a["dso_count_back"].round(6).reset_index(drop=True).equals(b["dso_count_back"].round(6).reset_index(drop=True)))


def page_reruns(url: str, dates: list[date]) -> dict:
    """The ageing page in Streamlit's AppTest on the benchmark ledger, in a process of its own (as an app
    server's): the first run, the run after a write (by another process, as the command line or another
    server would make it), then one rerun per new as-of date; with the process's peak memory."""
    import subprocess

    proc = subprocess.run([sys.executable, __file__, "--page-step", json.dumps([d.isoformat() for d in dates]),
                           "--db", url], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"the page failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _page_step(url: str, dates: list[date]) -> dict:
    import os
    import resource
    import tempfile

    from sqlalchemy import select
    from streamlit.testing.v1 import AppTest

    from db.models import UserAccount
    from receivables.services import settings

    os.environ["DATABASE_URL"] = url
    os.environ["DEBTOR_DESK_USERS"] = str(Path(tempfile.mkdtemp()) / "users.yaml")
    engine = make_engine(url)  # a viewer as the login form leaves the session (users live in the database)
    with UnitOfWork(engine, immediate=True) as uow:
        user = uow.session.scalars(select(UserAccount).where(UserAccount.username == "bench")).first()
        if user is None:
            user = UserAccount(username="bench", name="Bench", email="", role="viewer", password_hash="!",
                               disabled=False, session_key="bench-session")
            uow.session.add(user)
        uow.commit()
        session_key = user.session_key
    engine.dispose()
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "pages" / "ageing.py"), default_timeout=900)
    at.session_state["authentication_status"] = True
    at.session_state["username"] = "bench"
    at.session_state["name"] = "Bench"
    at.session_state["roles"] = ["viewer"]
    at.session_state["_session_key"] = session_key
    at.session_state["_language"] = "en"

    cpu = []  # the process's own CPU seconds per step (SQLite works in it; PostgreSQL in its server)

    def run(step):
        t, c = time.perf_counter(), time.process_time()
        step()
        if at.exception:
            raise RuntimeError(f"the page failed: {at.exception[0].value}")
        cpu.append(time.process_time() - c)
        return time.perf_counter() - t

    first = run(at.run)
    if not at.date_input:
        raise RuntimeError("the page stopped before the ageing: " + "; ".join(e.value for e in at.error))
    engine = make_engine(url)  # a write from elsewhere: every cached figure must be read again
    with UnitOfWork(engine) as uow:
        settings.put_setting(uow.session, "bench.touched", time.time(), actor="bench")
        uow.commit()
    engine.dispose()
    after_write = run(at.run)
    cached = run(at.run)
    reruns = [run(lambda d=d: at.date_input(key="ageing_as_of").set_value(d).run()) for d in dates]
    return {"first_s": first, "after_write_s": after_write, "unchanged_s": cached, "reruns_s": reruns, "cpu_s": cpu,
            "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _print_page(page: dict) -> int:
    print(f"ageing page (AppTest, own process): first run {page['first_s']:.2f} s, after a write "
          f"{page['after_write_s']:.2f} s, unchanged {page['unchanged_s']:.2f} s, reruns after a date change "
          + ", ".join(f"{t:.2f} s" for t in page["reruns_s"]) + f"; peak memory {page['max_rss_mb']:.0f} MB")
    print("the page process's CPU in the same steps: " + ", ".join(f"{t:.2f} s" for t in page["cpu_s"]))
    print(f"load average at the end {os.getloadavg()[0]:.1f}")
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_db_argument(p)
    p.add_argument("--invoices", type=int, default=1_000_000)
    p.add_argument("--debtors", type=int, default=50_000)
    p.add_argument("--anchor", type=date.fromisoformat, default=date(2026, 10, 31))
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--json", type=Path, default=None, help="also write the results here")
    p.add_argument("--page", action="store_true", help="also time the ageing page itself (Streamlit AppTest): the "
                   "first run, the run after a write and reruns after changing the as-of date")
    p.add_argument("--page-only", action="store_true", help="only the ageing page (no DuckDB reference)")
    p.add_argument("--reuse", action="store_true", help="PostgreSQL: run on the database --db names as it is "
                   "(a ledger written there by generate_ledger.py) instead of a fresh one")
    p.add_argument("--page-step", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.page_step:
        print(json.dumps(_page_step(args.db, [date.fromisoformat(d) for d in json.loads(args.page_step)])))
        return 0
    if args.reuse and is_postgres(args.db):
        return run(args, normalised(args.db))
    kept = args.db and not is_postgres(args.db) and Path(normalised(args.db).split("///", 1)[1]).exists()
    with bench_database(None if kept else args.db, "bench_analytics", keep=bool(args.db) and not is_postgres(args.db)) as url:
        if kept:
            url = normalised(args.db)
        else:
            from generate_ledger import generate, write

            t = time.perf_counter()
            write(url, generate(args.invoices, args.debtors, args.anchor))
            print(f"generated {args.invoices:,} invoices in {time.perf_counter() - t:.1f} s")
        return run(args, url)


def run(args, url: str) -> int:  # noqa: ANN001
    engine = make_engine(url)
    upgrade(engine)  # a ledger kept from an earlier run is brought to the newest migration, as the app does
    with UnitOfWork(engine, immediate=True) as uow:
        analytics.ensure_daily_sums(uow)  # what the app's start-up does
    with UnitOfWork(engine) as uow:
        n_inv = uow.session.connection().exec_driver_sql("SELECT COUNT(*) FROM invoice").scalar()
        n_deb = uow.session.connection().exec_driver_sql("SELECT COUNT(*) FROM debtor").scalar()
        n_chg = uow.session.connection().exec_driver_sql("SELECT COUNT(*) FROM invoice_change").scalar()
    where = describe(url)
    past = [args.anchor - timedelta(days=d) for d in (31, 123, 365)]  # last month end-ish, a quarter end, a year back
    if args.page_only:
        engine.dispose()
        print(f"ledger: {n_inv:,} invoices, {n_chg:,} changes, {n_deb:,} debtors in {where}")
        return _print_page(page_reruns(url, [past[1] + timedelta(days=k * 11) for k in range(1, 4)]))
    t = time.perf_counter()
    con = duckdb_copy(url)
    load_s = time.perf_counter() - t
    print(f"ledger: {n_inv:,} invoices, {n_chg:,} changes, {n_deb:,} debtors in {where}; "
          f"DuckDB copy loaded in {load_s:.1f} s")

    results = {"invoices": n_inv, "changes": n_chg, "debtors": n_deb, "repeat": args.repeat, "cases": []}

    for as_of in past:
        def sqlite_ageing(as_of=as_of):
            with UnitOfWork(engine) as uow:
                return analytics.ageing(uow, as_of, EDGES).per_debtor

        s_t, s_res = timed(sqlite_ageing, args.repeat)
        d_scan, d_res = timed(lambda as_of=as_of: duckdb_ageing(con, as_of, "scan"), args.repeat)
        d_cand, _ = timed(lambda as_of=as_of: duckdb_ageing(con, as_of, "candidates"), args.repeat)
        d_t = min(d_scan, d_cand)
        ok = same_ageing(s_res, d_res)
        results["cases"].append({"case": f"ageing as of {as_of}", "sqlite_s": s_t, "duckdb_s": d_t,
                                 "duckdb_scan_s": d_scan, "duckdb_candidates_s": d_cand, "ratio": s_t / d_t,
                                 "rows": len(s_res), "same_result": ok})

    as_of = past[0]

    def sqlite_series():
        with UnitOfWork(engine) as uow:
            return analytics.dso_series(uow, as_of, 24)

    s_t, s_res = timed(sqlite_series, args.repeat)
    d_t, d_res = timed(lambda: metrics.dso_series(duckdb_daily(con), as_of, 24), args.repeat)
    raw_t, raw_res = timed(lambda: sqlite_series_from_raw(engine, as_of, 24), 1)
    results["cases"].append({"case": f"24-month DSO series to {as_of}", "sqlite_s": s_t, "duckdb_s": d_t,
                             "ratio": s_t / d_t, "rows": len(s_res),
                             "same_result": same_series(s_res, d_res) and same_series(s_res, raw_res),
                             "sqlite_without_daily_sums_s": raw_t})

    # the ageing page: every new as-of date is the ageing (the same service as the command line) and the
    # KPIs against 30 days before (the debtors overdue then counted in the same pass), the rest from the daily sums
    new_dates = [past[1] + timedelta(days=k) for k in range(1, args.repeat + 1)]
    page_times = []
    for as_of in new_dates:
        t = time.perf_counter()
        with UnitOfWork(engine) as uow:
            view, overdue_before = analytics.ageing_and_overdue_before(uow, as_of, EDGES)
            analytics.ageing_kpis(uow, view, overdue_before=overdue_before)
        page_times.append(time.perf_counter() - t)
    page_t = statistics.median(page_times)
    results["ageing_page_new_date_s"] = page_t
    results["ageing_page_new_date_max_s"] = max(page_times)

    print(f"\n{'case':<34}{engine.dialect.name:>10}{'DuckDB':>10}{'ratio':>8}  same result")
    for c in results["cases"]:
        print(f"{c['case']:<34}{c['sqlite_s'] * 1000:>8.0f}ms{c['duckdb_s'] * 1000:>8.0f}ms{c['ratio']:>7.2f}x  "
              f"{c['same_result']}")
    print(f"DSO series with the daily sums computed from the raw rows in {engine.dialect.name}: "
          f"{results['cases'][-1]['sqlite_without_daily_sums_s']:.2f} s")
    print(f"ageing page: a new date (ageing + KPIs against 30 days before) takes {page_t * 1000:.0f} ms "
          f"(max {max(page_times) * 1000:.0f} ms)")
    if args.page:
        engine.dispose()
        _print_page(results.setdefault("page", page_reruns(url, [past[1] + timedelta(days=k * 11)
                                                                 for k in range(1, 4)])))
    else:
        print(f"load average at the end {os.getloadavg()[0]:.1f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    return 0 if all(c["same_result"] for c in results["cases"]) else 1


if __name__ == "__main__":
    sys.exit(main())
