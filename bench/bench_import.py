"""Import speed: a generated Dutch open-items export (semicolon, decimal comma, dd-mm-yyyy) into SQLite,
against `pandas.read_csv` + `DataFrame.to_sql` of the same file measured in the same run.

    python bench/bench_import.py                      # 1,000,000 rows, 50,000 debtors
    python bench/bench_import.py --rows 2000 --debtors 100

Every step runs in its own process, so its peak memory (ru_maxrss) is its own:
  baseline      pandas.read_csv(sep=";", decimal=",", thousands=".") + to_sql into an empty SQLite file
  first         run_import of the file into an empty, migrated database (full snapshot)
  again         the same file once more (recognised by its hash: nothing changes)
  same-content  the same rows re-saved with other line endings (different bytes: compared row by row)
  newer         a newer export where 1% of the invoices were paid in part and 1% are gone
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
AS_OF = date(2026, 6, 30)


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _fresh_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)


def step_baseline(file: Path, db: Path) -> dict:
    import pandas as pd
    from sqlalchemy import create_engine

    _fresh_sqlite(db)
    engine = create_engine(f"sqlite:///{db}")
    start, cpu = time.perf_counter(), time.process_time()
    frame = pd.read_csv(file, sep=";", decimal=",", thousands=".")
    frame.to_sql("open_items", engine, index=False)
    return {"seconds": time.perf_counter() - start, "cpu": time.process_time() - cpu, "rows": len(frame)}


def step_import(file: Path, db: Path, fresh: bool, as_of: date = AS_OF) -> dict:
    from db.engine import make_engine, upgrade
    from db.uow import UnitOfWork
    from receivables.services import imports as import_service

    if fresh:
        _fresh_sqlite(db)
    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    start, cpu = time.perf_counter(), time.process_time()
    data = file.read_bytes()
    with UnitOfWork(engine, immediate=True) as uow:
        # every generated file is the complete list of open items: its closings need no person to confirm
        result = import_service.run_import(uow, data, file.name, actor="bench", mode="full", as_of=as_of,
                                           close_missing=True)
    return {"seconds": time.perf_counter() - start, "cpu": time.process_time() - cpu, "summary": result.summary(),
            "previous": result.previous is not None}


def _child(step: str, file: Path, db: Path) -> dict:
    if step == "baseline":
        out = step_baseline(file, db)
    elif step == "first":
        out = step_import(file, db, fresh=True)
    else:
        out = step_import(file, db, fresh=False)
    out["max_rss_mb"] = _rss_mb()
    return out


def _run(step: str, file: Path, db: Path) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--step", step, "--file", str(file), "--db", str(db)],
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
    p.add_argument("--step", help=argparse.SUPPRESS)
    p.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--db", type=Path, help=argparse.SUPPRESS)
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
    baseline_db, db = args.data / "baseline.db", args.data / "import.db"
    results = {
        "baseline": _run("baseline", file, baseline_db),
        "first": _run("first", file, db),
        "again": _run("again", file, db),
        "same-content": _run("again", same, db),
        "newer": _run("again", newer, db),
    }
    base, base_cpu = results["baseline"]["seconds"], results["baseline"]["cpu"]
    print(f"file: {file.name}, {file.stat().st_size / 1e6:.1f} MB, {args.rows:,} rows, {args.debtors:,} debtors "
          f"(machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f})")
    print(f"{'step':<14} {'wall s':>7} {'ratio':>6} {'cpu s':>7} {'ratio':>6} {'peak MB':>8}  result")
    for name, r in results.items():
        print(f"{name:<14} {r['seconds']:>7.2f} {r['seconds'] / base:>6.2f} {r['cpu']:>7.2f} {r['cpu'] / base_cpu:>6.2f} "
              f"{r['max_rss_mb']:>8.0f}  {r.get('summary', '')}"
              f"{' (recognised as imported before)' if r.get('previous') else ''}")
    for path in (baseline_db, db):
        _fresh_sqlite(path)


if __name__ == "__main__":
    main()
