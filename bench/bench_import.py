"""Import speed: a generated Dutch open-items export (semicolon, decimal comma, dd-mm-yyyy) into SQLite or
PostgreSQL, against a reference measured in the same run.

    python bench/bench_import.py                      # 1,000,000 rows, 50,000 debtors, a temporary SQLite file
    python bench/bench_import.py --db postgresql+psycopg://postgres@127.0.0.1:5432/postgres   # a fresh database
    python bench/bench_import.py --rows 2000 --debtors 100 --rounds 1

The sequence below runs `--rounds` times (3), each time on a fresh database, and the median of the rounds'
ratios is printed last: on a shared machine one round's reference and import can meet different loads. On
PostgreSQL each step starts after a CHECKPOINT.

Every step runs in its own process, so its peak memory (ru_maxrss) is its own:
  baseline      SQLite: pandas.read_csv(sep=";", decimal=",", thousands=".") + to_sql into an empty SQLite file;
                PostgreSQL: the app's parser, then COPY of the parsed rows into an unindexed table
                (`copy` is the COPY alone)
  first         run_import of the file into an empty, migrated database (full snapshot)
  undo          the first import taken back (every invoice it wrote deleted), then
  first-again   the same first import once more, as the steps below need it
  again         the same file once more (recognised by its hash: nothing changes)
  same-content  the same rows re-saved with other line endings (different bytes: parsed, and compared with
                the ledger in the database, which hands back only the rows that differ)
  newer         a newer export where 1% of the invoices were paid in part and 1% are gone
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.dbarg import add_db_argument, bench_database, describe  # noqa: E402

AS_OF = date(2026, 6, 30)


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def step_baseline(file: Path, url: str) -> dict:
    if url.startswith("postgresql"):
        return step_copy(file, url)
    import pandas as pd
    from sqlalchemy import create_engine

    db = url.split("///", 1)[1] + ".baseline"
    engine = create_engine(f"sqlite:///{db}")
    try:
        start, cpu = time.perf_counter(), time.process_time()
        frame = pd.read_csv(file, sep=";", decimal=",", thousands=".")
        frame.to_sql("open_items", engine, index=False)
        return {"seconds": time.perf_counter() - start, "cpu": time.process_time() - cpu, "rows": len(frame)}
    finally:
        engine.dispose()
        Path(db).unlink(missing_ok=True)


def step_copy(file: Path, url: str) -> dict:
    """PostgreSQL's floor: the file parsed by the app's own parser, then its rows written with COPY (text
    format, as the loader writes) into an unindexed table of the same columns, in one transaction."""
    import psycopg

    from db.loader import csv_rows, iso
    from receivables import importing as imp
    from receivables.services.imports import Upload

    start, cpu = time.perf_counter(), time.process_time()
    raw = Upload(file.read_bytes(), file.name).raw
    kind = imp.OPEN_ITEMS
    mapping, _ = imp.review_mapping(raw, kind, imp.suggest_mapping(raw.headers, kind, imp.detect_profile(raw.headers)))
    prepared = imp.prepare(raw, kind, mapping)
    pieces = [prepared.valid_rows(prepared.parse(s, min(s + 200_000, prepared.row_count)))
              for s in range(0, prepared.row_count, 200_000)]
    parsed = time.perf_counter() - start
    cols = ["invoice_number", "debtor_code", "debtor_name", "invoice_date", "due_date", "currency",
            "amount_cents", "open_cents"]
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        conn.execute("CREATE TABLE copy_reference (invoice_number varchar(64), debtor_code varchar(64), "
                     "debtor_name varchar(255), invoice_date date, due_date date, currency varchar(3), "
                     "amount_cents bigint, open_cents bigint)")
        conn.commit()
        copy_start = time.perf_counter()
        sql = f"COPY copy_reference ({', '.join(cols)}) FROM STDIN WITH (FORMAT csv)"
        with conn.cursor() as cur, cur.copy(sql) as copy:
            for rows in pieces:  # written as the loader writes its rows (Arrow's CSV, ISO dates)
                frame = rows[cols].assign(**{c: iso(rows[c].to_numpy()) for c in ("invoice_date", "due_date")})
                copy.write(csv_rows(frame))
        conn.commit()
        copied = time.perf_counter() - copy_start
        conn.execute("DROP TABLE copy_reference")
    return {"seconds": time.perf_counter() - start, "cpu": time.process_time() - cpu,
            "rows": sum(len(p) for p in pieces), "parse_s": parsed, "copy_s": copied}


def step_import(file: Path, url: str, fresh: bool, as_of: date = AS_OF) -> dict:
    from db.engine import make_engine, upgrade
    from db.uow import UnitOfWork
    from receivables.services import imports as import_service

    engine = make_engine(url)
    upgrade(engine)  # a fresh database is migrated; any other is at the newest migration already
    start, cpu = time.perf_counter(), time.process_time()
    data = file.read_bytes()
    with UnitOfWork(engine, immediate=True) as uow:
        # every generated file is the complete list of open items: its closings need no person to confirm
        result = import_service.run_import(uow, data, file.name, actor="bench", mode="full", as_of=as_of,
                                           close_missing=True)
    return {"seconds": time.perf_counter() - start, "cpu": time.process_time() - cpu, "summary": result.summary(),
            "previous": result.previous is not None}


def step_undo(url: str) -> dict:
    """Undo of the latest import (here the first: every invoice it wrote goes again)."""
    from db.engine import make_engine
    from db.uow import UnitOfWork
    from receivables.services import imports as import_service

    engine = make_engine(url)
    start, cpu = time.perf_counter(), time.process_time()
    with UnitOfWork(engine, immediate=True) as uow:
        info = import_service.undo_latest(uow, actor="bench")
    return {"seconds": time.perf_counter() - start, "cpu": time.process_time() - cpu,
            "summary": f"undid batch {info.id} ({info.file_name})"}


def _child(step: str, file: Path, db: str) -> dict:
    if step == "baseline":
        out = step_baseline(file, db)
    elif step == "undo":
        out = step_undo(db)
    elif step == "first":
        out = step_import(file, db, fresh=True)
    else:
        out = step_import(file, db, fresh=False)
    out["max_rss_mb"] = _rss_mb()
    return out


def _settle(db: str) -> None:
    """PostgreSQL: a CHECKPOINT before each step, so that no step pays for writing out the pages an
    earlier one left dirty (a reference's COPY would otherwise be flushed during the import after it)."""
    if not db.startswith("postgresql"):
        return
    from sqlalchemy import create_engine, text

    engine = create_engine(db, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("CHECKPOINT"))
    finally:
        engine.dispose()


def _run(step: str, file: Path, db: str) -> dict:
    _settle(db)
    proc = subprocess.run([sys.executable, __file__, "--step", step, "--file", str(file), "--db", db],
                          capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"step {step} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _variants(file: Path) -> tuple[Path, Path]:
    """The same rows with LF line endings, and a newer export: 1% paid in part, 1% paid in full."""
    same = file.with_name(file.stem + "_lf.csv")
    newer = file.with_name(file.stem + "_newer.csv")
    if not same.exists():
        same.write_bytes(file.read_bytes().replace(b"\r\n", b"\n"))
    if not newer.exists():
        lines = file.read_bytes().split(b"\r\n")
        out = [lines[0]]
        for i, line in enumerate(lines[1:]):
            if not line:
                continue
            if i % 100 == 7:
                continue  # paid in full: gone from the open items
            if i % 100 == 3:
                cells = line.split(b";")
                cells[6] = b"1,00" if not cells[6].startswith(b"-") else cells[6]
                line = b";".join(cells)
            out.append(line)
        newer.write_bytes(b"\r\n".join(out) + b"\r\n")
    return same, newer


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--debtors", type=int, default=50_000)
    p.add_argument("--data", type=Path, default=ROOT / "bench" / "data")
    p.add_argument("--rounds", type=int, default=3,
                   help="times the whole sequence runs, each on a fresh database; the median ratios are printed")
    p.add_argument("--step", help=argparse.SUPPRESS)
    p.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    add_db_argument(p)
    args = p.parse_args()
    if args.step:
        print(json.dumps(_child(args.step, args.file, args.db)))
        return

    from bench.generate_open_items import generate

    args.data.mkdir(parents=True, exist_ok=True)
    file = args.data / f"open_items_{args.rows}.csv"
    if not file.exists():
        generate(file, args.rows, args.debtors, as_of=AS_OF.isoformat())
    same, newer = _variants(file)
    rounds = []
    for number in range(1, args.rounds + 1):
        with bench_database(args.db, "bench_import") as db:
            results = {
                "baseline": _run("baseline", file, db),
                "first": _run("first", file, db),
                "undo": _run("undo", file, db),
                "first-again": _run("first", file, db),
                "again": _run("again", file, db),
                "same-content": _run("again", same, db),
                "newer": _run("again", newer, db),
            }
            where = describe(db)
        rounds.append(results)
        print(f"round {number} of {args.rounds}: file {file.name}, {file.stat().st_size / 1e6:.1f} MB, {args.rows:,} rows, "
              f"{args.debtors:,} debtors ({where}; load average at the end {os.getloadavg()[0]:.1f})")
        _print_round(results)
    if len(rounds) > 1:
        first = [r["first"]["seconds"] / r["baseline"]["seconds"] for r in rounds]
        again = [r["same-content"]["seconds"] / r["first"]["seconds"] for r in rounds]
        print(f"median of {len(rounds)} rounds: first import / reference {statistics.median(first):.2f} "
              f"({', '.join(f'{x:.2f}' for x in first)}); re-saved / first {statistics.median(again):.2f} "
              f"({', '.join(f'{x:.2f}' for x in again)})")


def _print_round(results: dict) -> None:
    base, base_cpu = results["baseline"]["seconds"], results["baseline"]["cpu"]
    print(f"{'step':<14} {'wall s':>7} {'ratio':>6} {'cpu s':>7} {'ratio':>6} {'peak MB':>8}  result")
    for name, r in results.items():
        print(f"{name:<14} {r['seconds']:>7.2f} {r['seconds'] / base:>6.2f} {r['cpu']:>7.2f} {r['cpu'] / base_cpu:>6.2f} "
              f"{r['max_rss_mb']:>8.0f}  {r.get('summary', '')}"
              f"{' (recognised as imported before)' if r.get('previous') else ''}")
    if "copy_s" in results["baseline"]:
        b, first = results["baseline"], results["first"]["seconds"]
        print(f"baseline = parse {b['parse_s']:.2f} s + COPY into an unindexed table {b['copy_s']:.2f} s; "
              f"first import / baseline {first / base:.2f}, first import / COPY alone {first / b['copy_s']:.2f}")
    print(f"re-saved / first {results['same-content']['seconds'] / results['first']['seconds']:.2f} wall, "
          f"{results['same-content']['cpu'] / results['first']['cpu']:.2f} cpu (the same rows in other bytes; "
          "target at most 0.5)")

if __name__ == "__main__":
    main()
