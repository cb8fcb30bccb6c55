"""Bank matching speed and precision: generated statement lines against a generated book of open
invoices, the pure matcher (`receivables.domain.bank_matching.match_payments`) next to DuckDB joining
the same lines to the same invoices on exact reference and exact invoice number, in the same run.

    python bench/bench_bank_match.py                                   # 100,000 lines, 1,000,000 invoices, 50,000 debtors
    python bench/bench_bank_match.py --lines 10000 --invoices 100000 --debtors 5000
    python bench/bench_bank_match.py --db postgresql+psycopg://postgres@127.0.0.1:5432/postgres --no-pure

The book: every debtor has a name, an account and open invoices (3 % credit notes) numbered in one
company-wide scheme (`F2024-000123` or zero-padded `0000611365`); a third of the invoices went out
in a reminder that carries a reference (RF or betalingskenmerk, one per message, often for several
invoices). The lines, each with what it really pays (the truth):
  our reference (typed with spaces, or in the structured field), full, part or over payment;
  invoice numbers typed the way people do (prefix, case, separators, leading zeros dropped), one to
  three at once, full, minus bank charges, or in part;
  a known account with the amount of one invoice, the oldest few, or another combination;
  the debtor's name with the amount of one invoice;
  another currency; noise (unknown payers, random amounts and texts with numbers in them); debits.
Then the same data goes into a migrated database with the real tables (`--db`: a temporary SQLite file by
default, or a fresh database on the PostgreSQL server of the URL given), and the service does what an
upload does after reading the file: `bank.propose` (the reference and number passes on the invoices the
database joins to the lines' references and number keys, then the other passes for the lines left, on the
invoices of the debtors those can concern and of their amounts) and `bank.record_proposals`.
Precision counts automatic matches whose invoices are not (all) among those the line really pays.
Each step runs in its own process, so its peak memory (ru_maxrss) is its own."""

from __future__ import annotations

import argparse
import json
import pickle
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.dbarg import add_db_argument, bench_database, describe  # noqa: E402

DAY = date(2026, 6, 30)
WORDS = ("betaling", "order", "bestelling", "project", "huur", "maart", "april", "termijn", "dank", "ref",
         "klantnr", "contract", "levering", "week")


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def generate(lines: int, invoices: int, debtors: int, seed: int) -> dict:
    from receivables.domain.references import BETALINGSKENMERK, RF, format_reference, message_reference

    rnd = random.Random(seed)
    names = {d: f"{rnd.choice(('Bakkerij', 'Garage', 'Bouwbedrijf', 'Studio', 'Installatie', 'Handel'))} "
                f"{rnd.choice(('De', 'Van', 'Het'))} {rnd.choice(('Korf', 'Molen', 'Brug', 'Haven', 'Linde'))} "
                f"{d} {rnd.choice(('B.V.', 'BV', 'V.O.F.', ''))}".strip() for d in range(1, debtors + 1)}
    ibans = {d: f"NL{d % 89 + 10:02d}BANK{d:010d}" for d in range(1, debtors + 1)}
    book = []  # (id, debtor, number, currency, cents, due, refs)
    per_debtor: dict[int, list[int]] = {}
    for i in range(1, invoices + 1):
        debtor = rnd.randint(1, debtors)
        number = f"F2024-{i:07d}" if i % 2 else f"{i:010d}"
        cents = rnd.randint(1_000, 1_000_000)
        if rnd.random() < 0.03:
            cents = -rnd.randint(1_000, 50_000)
        if rnd.random() < 0.05:
            cents = rnd.choice((12_100, 24_200, 60_500, 121_000))  # the prices everybody charges
        due = DAY - timedelta(days=rnd.randint(-30, 300))
        book.append([i, debtor, number, "EUR", cents, due, ()])
        per_debtor.setdefault(debtor, []).append(i)
    message_of: dict[int, str] = {}
    msg = 0
    for ids in per_debtor.values():
        positive = [i for i in ids if book[i - 1][4] > 0]
        k = 0
        while k < len(positive) and rnd.random() < 0.5:
            group = positive[k:k + rnd.randint(1, 3)]
            k += len(group)
            msg += 1
            ref = message_reference(msg, RF if msg % 2 else BETALINGSKENMERK)
            for i in group:
                book[i - 1][6] = (ref,)
                message_of[i] = ref
    by_id = {row[0]: row for row in book}
    used: set[int] = set()
    known = {ibans[d]: d for d in range(1, debtors + 1) if rnd.random() < 0.6}

    def free(ids):
        return [i for i in ids if i not in used and by_id[i][4] > 0]

    def typed(number: str) -> str:
        style = rnd.randint(0, 5)
        if style == 0:
            return number
        if style == 1:
            return number.lower()
        if style == 2:
            return "factuur " + number
        if style == 3:
            return number.replace("-", " ")
        if style == 4:
            return number.lstrip("0") if number[0] == "0" else "F " + number[1:]
        return "INV-" + number.lstrip("F")

    rows = []  # (id, cents, currency, name, iban, text, structured, truth ids or None)
    debtor_list = list(per_debtor)
    for n in range(lines):
        kind = rnd.random()
        debtor = rnd.choice(debtor_list)
        open_ids = free(per_debtor[debtor])
        text, structured, truth, cents, currency = "", "", None, 0, "EUR"
        name, iban = names[debtor], ibans[debtor]
        if kind < 0.25 and any(i in message_of for i in open_ids):
            ref = next(message_of[i] for i in open_ids if i in message_of)
            truth = [i for i in open_ids if message_of.get(i) == ref]
            total = sum(by_id[i][4] for i in truth)
            cents = rnd.choice((total, total, total, max(1, total // 2), total + 1_000))
            if rnd.random() < 0.5:
                structured = ref
            else:
                text = f"{rnd.choice(WORDS)} {format_reference(ref)}"
        elif kind < 0.55 and open_ids:
            truth = open_ids[:rnd.randint(1, 3)]
            total = sum(by_id[i][4] for i in truth)
            cents = rnd.choice((total, total, total - rnd.randint(1, 400), max(1, total // 3)))
            text = ", ".join(typed(by_id[i][2]) for i in truth)
            if rnd.random() < 0.3:
                text = f"{rnd.choice(WORDS)} {text}"
        elif kind < 0.70 and open_ids and iban in known:
            choice = rnd.random()
            if choice < 0.5:
                truth = [rnd.choice(open_ids)]
            elif choice < 0.8:
                truth = open_ids[:rnd.randint(2, 4)]
            else:
                truth = rnd.sample(open_ids, min(len(open_ids), rnd.randint(2, 5)))
            cents = sum(by_id[i][4] for i in truth)
            text = rnd.choice(("", "betaling", "zie specificatie"))
        elif kind < 0.75 and open_ids:
            truth = [rnd.choice(open_ids)]
            cents = by_id[truth[0]][4]
            iban = f"NL00UNKN{n:010d}"
        elif kind < 0.80:
            cents, currency, iban = rnd.randint(1_000, 500_000), "USD", f"US00{n:010d}"
            text = typed(by_id[rnd.choice(per_debtor[debtor])][2])
        elif kind < 0.90:
            cents = rnd.randint(100, 2_000_000)
            name, iban = f"Onbekend {n}", f"NL00NOIS{n:010d}"
            text = f"{rnd.choice(WORDS)} {rnd.randint(1, 99_999_999)} {rnd.choice(WORDS)}"
        else:
            cents = -rnd.randint(100, 500_000)
            name, iban, text = "Leverancier", f"NL00SUPP{n:010d}", f"{rnd.choice(WORDS)} {rnd.randint(1, 9_999_999)}"
        if truth:
            cents = max(cents, 1)
            used.update(truth)
        rows.append((f"L{n}", cents, currency, name, iban, text, structured, truth))
    return {"book": book, "rows": rows, "known": known, "names": names}


def _python_exact_joins(invoices, payments) -> int:
    """The DuckDB query's work in plain Python dictionaries: lines whose structured reference is an
    invoice's reference, or one of whose words is an invoice number."""
    by_reference, by_number = {}, {}
    for invoice in invoices:
        by_number[invoice.number.upper()] = invoice.id
        for ref in invoice.references:
            by_reference[ref] = invoice.id
    split = re.compile(r"[\s,;:]+").split
    hits = 0
    for p in payments:
        if p.amount_cents > 0 and (p.structured_reference in by_reference
                                   or any(w in by_number for w in split(p.remittance.upper()))):
            hits += 1
    return hits


def step_matcher(data_file: Path) -> dict:
    from receivables.domain.bank_matching import AUTO, SUGGESTED, OpenInvoice, Payment, match_payments

    data = pickle.loads(data_file.read_bytes())
    invoices = [OpenInvoice(i, d, num, cur, c, due, refs) for i, d, num, cur, c, due, refs in data["book"]]
    payments = [Payment(pid, cents, cur, DAY, name, iban, text, structured)
                for pid, cents, cur, name, iban, text, structured, _ in data["rows"]]
    truth = {pid: (set(t) if t else None) for pid, *_, t in data["rows"]}
    start, cpu = time.perf_counter(), time.process_time()
    exact = _python_exact_joins(invoices, payments)
    exact_seconds, exact_cpu = time.perf_counter() - start, time.process_time() - cpu
    start, cpu = time.perf_counter(), time.process_time()
    proposals = match_payments(payments, invoices, known_ibans=data["known"], debtor_names=data["names"])
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    credits = [p for p in payments if p.amount_cents > 0]
    automatic = [p for p in proposals if p.status == AUTO]
    wrong = [p for p in automatic if truth[p.payment_id] is None
             or not {a.invoice_id for a in p.allocations} <= truth[p.payment_id]]
    suggested = [p for p in proposals if p.status == SUGGESTED]
    right_suggestions = [p for p in suggested if truth[p.payment_id]
                         and {a.invoice_id for a in p.allocations} <= truth[p.payment_id]]
    payable = [p for p in credits if truth[p.id]]
    return {
        "seconds": seconds, "cpu": cpu, "exact_python_seconds": exact_seconds, "exact_python_cpu": exact_cpu,
        "exact_python_lines": exact, "credits": len(credits), "payable": len(payable),
        "automatic": len(automatic), "wrong_automatic": len(wrong), "suggested": len(suggested),
        "right_suggestions": len(right_suggestions), "unmatched": len(proposals) - len(automatic) - len(suggested),
        "wrong_examples": [(p.payment_id, p.reason) for p in wrong[:5]], "peak_mb": _rss_mb(),
    }


def step_duckdb(data_file: Path) -> dict:
    import duckdb
    import pyarrow as pa

    data = pickle.loads(data_file.read_bytes())
    book, rows = data["book"], data["rows"]
    invoices = pa.table({
        "id": [r[0] for r in book], "debtor_id": [r[1] for r in book], "number": [r[2].upper() for r in book],
        "cents": [r[4] for r in book], "reference": [r[6][0] if r[6] else None for r in book],
    })
    lines = pa.table({
        "id": [r[0] for r in rows], "cents": [r[1] for r in rows], "text": [r[5] for r in rows],
        "structured": [r[6] or None for r in rows],
    })
    con = duckdb.connect()
    con.register("invoices_arrow", invoices)
    con.register("lines_arrow", lines)
    con.execute("CREATE TABLE invoices AS SELECT * FROM invoices_arrow")
    con.execute("CREATE TABLE lines AS SELECT * FROM lines_arrow WHERE cents > 0")
    start, cpu = time.perf_counter(), time.process_time()
    by_reference = con.execute("""
        SELECT count(DISTINCT l.id) FROM lines l JOIN invoices i ON i.reference = l.structured
    """).fetchone()[0]
    by_number = con.execute("""
        WITH words AS (SELECT id, unnest(string_split_regex(upper(text), '[\\s,;:]+')) AS word FROM lines)
        SELECT count(DISTINCT w.id) FROM words w JOIN invoices i ON i.number = w.word
    """).fetchone()[0]
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {"seconds": seconds, "cpu": cpu, "lines_by_reference": by_reference, "lines_by_number": by_number,
            "peak_mb": _rss_mb()}


def step_sqlite_exact(data_file: Path) -> dict:
    """SQLite's floor for the reference's work: the same two exact joins (structured reference, and
    invoice number against the words of the text) on the same tables in a SQLite file, with the
    indexes built beforehand and not timed (DuckDB's hash tables are built inside its timed queries).
    The texts are split into words in Python, as SQLite has no split function."""
    import sqlite3

    data = pickle.loads(data_file.read_bytes())
    book, rows = data["book"], data["rows"]
    with tempfile.TemporaryDirectory() as tmp:
        con = sqlite3.connect(Path(tmp) / "exact.db")
        con.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, number TEXT, reference TEXT)")
        con.execute("CREATE TABLE lines (id TEXT, cents INTEGER, text TEXT, structured TEXT)")
        con.executemany("INSERT INTO invoices VALUES (?, ?, ?)",
                        [(r[0], r[2].upper(), r[6][0] if r[6] else None) for r in book])
        con.executemany("INSERT INTO lines VALUES (?, ?, ?, ?)",
                        [(r[0], r[1], r[5], r[6] or None) for r in rows if r[1] > 0])
        con.execute("CREATE INDEX invoices_number ON invoices (number)")
        con.execute("CREATE INDEX invoices_reference ON invoices (reference)")
        con.commit()
        split = re.compile(r"[\s,;:]+").split
        start, cpu = time.perf_counter(), time.process_time()
        by_reference = con.execute("SELECT count(DISTINCT l.id) FROM lines l "
                                   "JOIN invoices i ON i.reference = l.structured").fetchone()[0]
        reference_cpu = time.process_time() - cpu
        con.execute("CREATE TEMP TABLE words (id TEXT, word TEXT)")
        con.executemany("INSERT INTO words VALUES (?, ?)",
                        ((line_id, word) for line_id, text_ in con.execute("SELECT id, text FROM lines").fetchall()
                         for word in split(text_.upper()) if word))
        by_number = con.execute("SELECT count(DISTINCT w.id) FROM words w "
                                "JOIN invoices i ON i.number = w.word").fetchone()[0]
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        con.close()
    return {"seconds": seconds, "cpu": cpu, "reference_cpu": reference_cpu, "lines_by_reference": by_reference,
            "lines_by_number": by_number, "peak_mb": _rss_mb()}


def _insert(conn, table: str, columns: str, rows) -> None:
    """Rows into a table the fast way of the database: COPY on PostgreSQL, executemany on SQLite."""
    raw = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        with raw.cursor() as cur, cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    else:
        marks = ", ".join("?" for _ in columns.split(","))
        raw.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)


def step_load(data_file: Path, url: str) -> dict:
    """The generated book and lines into a migrated database with the real tables: debtors, invoices,
    one reminder (message) per reference with its invoices, the learned accounts, and the lines of one
    bank statement upload. Not timed as matching."""
    from sqlalchemy import text

    from db import analytics_queries
    from db.engine import make_engine, upgrade
    from receivables.domain.references import message_id_of

    data = pickle.loads(data_file.read_bytes())
    engine = make_engine(url)
    upgrade(engine)
    start = time.perf_counter()
    day = DAY.isoformat()
    with engine.begin() as conn:
        analytics_queries.drop_ledger_day_triggers(conn)
        _insert(conn, "import_batch", "id, kind, mode, file_name, file_hash, as_of, imported_by, imported_at, status, "
                "count_new, count_changed, count_closed, count_unchanged, count_skipped",
                [(1, "open-items", "full", "bench", "bench", day, "bench", day, "applied", 0, 0, 0, 0, 0),
                 (2, "bank", "partial", "bench.xml", "bench", day, "bench", day, "applied", 0, 0, 0, 0, 0)])
        _insert(conn, "debtor", "id, code, name, language, is_consumer, payment_term_days, reminders_blocked, is_demo, "
                "created_at", [(d, f"D{d}", name, "nl", False, 30, False, False, day) for d, name in data["names"].items()])
        _insert(conn, "invoice", "id, number, debtor_id, invoice_date, due_date, currency, amount_cents, open_cents, "
                "disputed, is_demo, batch_id",
                [(i, number, d, (due - timedelta(days=30)).isoformat(), due.isoformat(), cur, c, c, False, False, 1)
                 for i, d, number, cur, c, due, _refs in data["book"]])
        messages: dict[int, list[int]] = {}
        for i, d, *_rest, refs in data["book"]:
            for ref in refs:
                messages.setdefault(message_id_of(ref), [d]).append(i)
        _insert(conn, "message", "id, debtor_id, track, step_index, step_name, step_key, channel, language, reason, "
                "status, planned_date, subject, body_text, body_html, edited, currency, total_cents, costs_cents, "
                "interest_cents, attempts, created_at, updated_at",
                [(m, ids[0], "standard", 1, "reminder", f"bench/{m}", "email", "nl", "", "sent", day, "", "", "", False,
                  "EUR", 0, 0, 0, 0, day, day) for m, ids in messages.items()])
        _insert(conn, "message_invoice", "message_id, invoice_id, open_cents, active",
                [(m, i, 0, True) for m, ids in messages.items() for i in ids[1:]])
        _insert(conn, "bank_payer", "iban, debtor_id, learned_at", [(iban, d, day) for iban, d in data["known"].items()])
        _insert(conn, "bank_statement", "id, batch_id, account, format, currency, line_count, duplicate_count",
                [(1, 2, "NL91ABNA0417164300", "camt.053", "EUR", 0, 0)])
        _insert(conn, "bank_line", "id, batch_id, statement_id, dedupe_key, account, booking_date, amount_cents, currency, "
                "counterparty_name, counterparty_iban, remittance, structured_reference, end_to_end_id, bank_code, "
                "reversal, status, reason, evidence, overpaid_cents, charges_cents",
                [(n + 1, 2, 1, f"k{n}", "NL91ABNA0417164300", day, cents, cur, name, iban, text_, structured, "", "",
                  False, "new" if cents > 0 else "debit", "", "none", 0, 0)
                 for n, (_pid, cents, cur, name, iban, text_, structured, _t) in enumerate(data["rows"])])
        if conn.dialect.name == "postgresql":  # the ids were given: the sequences go past them
            for table in ("import_batch", "debtor", "invoice", "message", "bank_statement", "bank_line"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"(SELECT max(id) FROM {table}))"))
        analytics_queries.install_ledger_day(conn)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    engine.dispose()
    truth = {str(n + 1): (set(t) if t else None) for n, (*_x, t) in enumerate(data["rows"])}
    data_file.with_suffix(".truth").write_bytes(pickle.dumps(truth))
    return {"seconds": time.perf_counter() - start, "peak_mb": _rss_mb()}


def step_service(data_file: Path, url: str) -> dict:
    """The service's matching on the real tables: the database finds by joins what each pass needs
    (references and numbers first, then for the lines left the payers' and named debtors' invoices and
    those of their amounts), the matcher decides, the matches are booked."""
    from sqlalchemy import select, text

    from db.engine import make_engine
    from db.models import BankLine, ImportBatch
    from db.uow import UnitOfWork
    from receivables.domain.bank_matching import AUTO, SUGGESTED, Payment
    from receivables.services import bank

    truth = pickle.loads(data_file.with_suffix(".truth").read_bytes())
    engine = make_engine(url)
    out: dict = {}
    with UnitOfWork(engine) as uow:
        s = uow.session
        start, cpu = time.perf_counter(), time.process_time()
        keyed = bank.refresh_number_keys(s)
        out.update(keys_seconds=time.perf_counter() - start, keys_cpu=time.process_time() - cpu, keyed=keyed)
        uow.commit()
    with UnitOfWork(engine) as uow:
        s = uow.session
        rules = bank.match_rules(s)
        start, cpu = time.perf_counter(), time.process_time()
        rows = s.execute(text("SELECT id, amount_cents, currency, booking_date, counterparty_name, counterparty_iban, "
                              "remittance, structured_reference FROM bank_line WHERE status = 'new'")).all()
        payments = [Payment(str(i), c, cur, DAY, name, iban, t, ref) for i, c, cur, _d, name, iban, t, ref in rows]
        found = bank.propose(s, payments, rules)
        proposals = found.proposals
        seconds, cpu_total = time.perf_counter() - start, time.process_time() - cpu
        out.update(seconds=seconds, cpu=cpu_total, exact_invoices=found.exact_invoices,
                   other_invoices=found.other_invoices, left_over=found.left_over, peak_mb_matching=_rss_mb())
        start, cpu = time.perf_counter(), time.process_time()
        lines = list(s.scalars(select(BankLine).where(BankLine.status == "new")))
        bank.record_proposals(s, lines, proposals, s.get(ImportBatch, 2))
        uow.commit()
        out.update(book_seconds=time.perf_counter() - start, book_cpu=time.process_time() - cpu)
    engine.dispose()
    automatic = [p for p in proposals if p.status == AUTO]
    wrong = [p for p in automatic if truth[p.payment_id] is None
             or not {a.invoice_id for a in p.allocations} <= truth[p.payment_id]]
    suggested = [p for p in proposals if p.status == SUGGESTED]
    payable = sum(1 for p in payments if truth[p.id])
    out.update(credits=len(payments), payable=payable, automatic=len(automatic), wrong_automatic=len(wrong),
               suggested=len(suggested), unmatched=len(proposals) - len(automatic) - len(suggested),
               wrong_examples=[(p.payment_id, p.reason) for p in wrong[:5]], peak_mb=_rss_mb())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--invoices", type=int, default=1_000_000)
    parser.add_argument("--debtors", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--no-pure", action="store_true",
                        help="leave out the pure matcher over the whole ledger in memory (the service still runs)")
    add_db_argument(parser)
    parser.add_argument("--step", choices=("generate", "matcher", "duckdb", "sqlite_exact", "load", "service"), help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step == "generate":
        Path(args.data).write_bytes(pickle.dumps(generate(args.lines, args.invoices, args.debtors, args.seed)))
        return
    if args.step:
        if args.step in ("load", "service"):
            out = {"load": step_load, "service": step_service}[args.step](Path(args.data), args.url)
        else:
            out = {"matcher": step_matcher, "duckdb": step_duckdb, "sqlite_exact": step_sqlite_exact}[args.step](Path(args.data))
        print(json.dumps(out))
        return
    with tempfile.TemporaryDirectory() as tmp, bench_database(args.db, "bench_bank") as url:
        data_file = Path(tmp) / "bank.pickle"
        start = time.perf_counter()
        # in a process of its own: a step's peak memory (ru_maxrss) starts from that of the process that
        # started it, so this one must never hold the data
        subprocess.run([sys.executable, __file__, "--step", "generate", "--data", str(data_file), "--lines",
                        str(args.lines), "--invoices", str(args.invoices), "--debtors", str(args.debtors),
                        "--seed", str(args.seed)], check=True)
        print(f"generated {args.lines:,} lines, {args.invoices:,} invoices, {args.debtors:,} debtors "
              f"in {time.perf_counter() - start:.1f} s", flush=True)
        results = {}
        steps = ("duckdb", "sqlite_exact", *(() if args.no_pure else ("matcher",)), "load", "service")
        for step in steps:
            out = subprocess.run([sys.executable, __file__, "--step", step, "--data", str(data_file), "--url", url],
                                 check=True, capture_output=True, text=True).stdout
            results[step] = json.loads(out.strip().splitlines()[-1])
            print(step, json.dumps(results[step]), flush=True)
        where = describe(url)
    d = results["duckdb"]
    x = results["sqlite_exact"]
    print(f"\nSQLite's floor, the same two exact joins on indexed tables (lines by reference {x['lines_by_reference']:,}, "
          f"by number {x['lines_by_number']:,}; DuckDB {d['lines_by_reference']:,} and {d['lines_by_number']:,}): "
          f"cpu {x['cpu']:.2f} s (wall {x['seconds']:.2f} s; the reference join alone {x['reference_cpu']:.2f} s) "
          f"= {x['cpu'] / d['cpu']:.1f}x DuckDB's cpu {d['cpu']:.2f} s")
    if "matcher" in results:
        m = results["matcher"]
        print(f"\nsame exact joins in Python dicts {m['exact_python_seconds']:.2f} s "
              f"(cpu {m['exact_python_cpu']:.2f} s), DuckDB cpu {d['cpu']:.2f} s, matcher cpu {m['cpu']:.1f} s")
        print(f"pure matcher {m['seconds']:.1f} s vs DuckDB exact joins {d['seconds']:.2f} s "
              f"= {m['seconds'] / d['seconds']:.1f}x; automatic {m['automatic'] / m['credits']:.1%} of "
              f"{m['credits']:,} credits ({m['automatic'] / max(1, m['payable']):.1%} of the {m['payable']:,} "
              f"that pay our invoices), wrong automatic {m['wrong_automatic']}; "
              f"peak memory matcher {m['peak_mb']:.0f} MB, DuckDB {d['peak_mb']:.0f} MB")
    q = results["service"]
    print(f"the service on {where}: number keys for {q['keyed']:,} invoices once {q['keys_cpu']:.1f} s cpu; "
          f"matching {q['seconds']:.1f} s wall, cpu {q['cpu']:.2f} s = {q['cpu'] / d['cpu']:.0f}x DuckDB's cpu "
          f"{d['cpu']:.2f} s (wall {d['seconds']:.2f} s); {q['exact_invoices']:,} invoices read for the exact "
          f"passes, {q['other_invoices']:,} for the {q['left_over']:,} lines they left; booking the matches "
          f"{q['book_seconds']:.1f} s (cpu {q['book_cpu']:.1f} s); automatic {q['automatic']:,} of {q['credits']:,} "
          f"credits ({q['automatic'] / q['credits']:.1%}; {q['automatic'] / max(1, q['payable']):.1%} of the "
          f"{q['payable']:,} that pay our invoices), suggested {q['suggested']:,}, unmatched {q['unmatched']:,}, "
          f"wrong automatic {q['wrong_automatic']}; peak memory {q['peak_mb_matching']:.0f} MB while matching, "
          f"{q['peak_mb']:.0f} MB in all")


if __name__ == "__main__":
    main()
