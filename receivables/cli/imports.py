"""`python -m receivables import FILE …`, `import-history` and `import-undo`."""

from __future__ import annotations

import sys
from pathlib import Path

from db.uow import UnitOfWork
from receivables.cli.args import iso_date
from receivables.domain import money
from receivables.importing import (
    FIELDS,
    FILE_TYPES,
    FILE_TYPES_LABEL,
    KIND_FIELDS,
    KINDS,
    PROFILES,
    FileRejected,
    bundle,
)
from receivables.importing.dates import DMY, MDY
from receivables.importing.numbers import COMMA, POINT
from receivables.importing.validation import ImportOptions
from receivables.services import imports as import_service
from receivables.services.errors import ServiceError

ACTOR = "cli"


def register(sub, report_sub) -> None:  # noqa: ANN001, ARG001
    p = sub.add_parser("import", help="import an accounting export: open items, an invoice ledger or debtors",
                       description="Check the whole file, then import it as one batch. Prints one summary line; "
                                   "a rejected file exits 2 with every problem on stderr and changes nothing.")
    p.add_argument("file", type=Path, nargs="+",
                   help=f"the export: {FILE_TYPES_LABEL}; several XML invoices are read as one upload")
    p.add_argument("--kind", choices=KINDS, help="what the file holds (default: detected from the header)")
    p.add_argument("--mode", choices=import_service.MODES, default=import_service.FULL,
                   help="open items: full = the file is the complete list, invoices missing from it are closed "
                        "as paid on the snapshot date; partial = only update what is in the file (default full)")
    p.add_argument("--as-of", type=iso_date, help="snapshot date, YYYY-MM-DD (default today)")
    p.add_argument("--profile", choices=list(PROFILES), help="accounting package (default: detected)")
    p.add_argument("--valid-rows-only", action="store_true",
                   help="import the valid rows and list the rows left out (default: all or nothing)")
    p.add_argument("--dry-run", action="store_true",
                   help="check and count, write nothing; prints the first rows as they will be stored, what each "
                        "column holds and what to look at")
    p.add_argument("--close-missing", action="store_true",
                   help="a full import that closes invoices of debtors not in the file, or more than half of the "
                        "open invoices, stops unless you confirm with this that the file is the complete list")
    p.add_argument("--map", action="append", default=[], metavar="FIELD=COLUMN",
                   help="take FIELD from the column COLUMN (repeatable), e.g. --map debtor_code=Klantnr; fields: "
                        + ", ".join(dict.fromkeys(f for fs in KIND_FIELDS.values() for f in fs)))
    p.add_argument("--date-order", choices=(DMY, MDY), help="for files where every date could be read both ways")
    p.add_argument("--decimal", choices=(COMMA, POINT), help="decimal comma (1.234,56) or point (1,234.56)")
    p.add_argument("--currency", help="currency of rows without a currency column (default: EUR, or the one "
                                      "named in the amount header)")
    p.set_defaults(handler=run_import)

    h = sub.add_parser("import-history", help="list the import batches, newest first")
    h.add_argument("--limit", type=int, default=20)
    h.set_defaults(handler=history)

    u = sub.add_parser("import-undo", help="undo the latest import batch")
    u.add_argument("--batch", type=int, help="the batch you expect to undo (refused when it is not the latest)")
    u.set_defaults(handler=undo)


def _say_when_waiting(_share: float, what: str) -> None:
    if what == import_service.WAITING:
        print(f"{what}…", file=sys.stderr, flush=True)


def run_import(engine, args) -> int:  # noqa: ANN001
    for path in args.file:
        if not path.is_file():
            raise ServiceError(f"no file at {path}")
        if path.suffix.lower().lstrip(".") not in FILE_TYPES:
            raise ServiceError(f"{path.name}: the importer reads {FILE_TYPES_LABEL} "
                               f"({', '.join('.' + t for t in FILE_TYPES)}); export one of those")
    try:
        file_name, data = bundle([(path.name, path.read_bytes()) for path in args.file])
    except FileRejected as exc:
        raise ServiceError(str(exc)) from None
    options = None
    if args.date_order or args.decimal or args.currency:
        options = ImportOptions(args.decimal, args.date_order, args.currency)
    with UnitOfWork(engine, immediate=True) as uow:
        mapping = _mapping(uow, data, file_name, args) if args.map else None
        try:
            result = import_service.run_import(
                uow, data, file_name, actor=ACTOR, kind=args.kind, mode=args.mode, as_of=args.as_of,
                options=options, profile=args.profile, valid_rows_only=args.valid_rows_only, dry_run=args.dry_run,
                mapping=mapping, close_missing=args.close_missing, progress=_say_when_waiting)
        except import_service.ClosingNeedsConfirmation as exc:
            print(f"error: {exc}", file=sys.stderr)
            print(f"If {file_name} is the complete list of open items, import it again with --close-missing; "
                  "if it is not, use --mode partial.", file=sys.stderr)
            return 2
        except import_service.ImportRejected as exc:
            for note in exc.notes:
                print(note, file=sys.stderr)
            print(f"error: {file_name}: {exc.problem_count} problem(s); nothing was imported", file=sys.stderr)
            for problem in exc.problems:
                print(f"  {problem}", file=sys.stderr)
            if exc.problem_count > len(exc.problems):
                print(f"  … and {exc.problem_count - len(exc.problems)} more", file=sys.stderr)
            if any("choose the date order" in str(p) for p in exc.problems):
                print("Choose it with --date-order dmy (day first) or --date-order mdy (month first).",
                      file=sys.stderr)
            unmapped = [p for p in exc.problems if p.line is None and "no column is chosen for" in p.message]
            if unmapped:
                print("Choose the column with --map, for example --map debtor_code=COLUMN; the file's columns: "
                      + ", ".join(exc.headers), file=sys.stderr)
            elif args.valid_rows_only:
                print("No row is valid; fix the file.", file=sys.stderr)
            elif not exc.parsed.file_errors:
                print("Fix the file, or rerun with --valid-rows-only to import the other rows.", file=sys.stderr)
            return 2
    print(result.summary())
    if args.dry_run:
        print_check(result)
    elif result.closing is not None and result.closing.count:
        print(result.closing.describe().replace("closes", "closed"), file=sys.stderr)
    for note in result.notes:
        print(note, file=sys.stderr)
    if result.left_out_count:
        print(f"left out {result.left_out_count} problem row(s):", file=sys.stderr)
        for problem in result.left_out:
            print(f"  {problem}", file=sys.stderr)
    if result.warning_count:
        print(f"{result.warning_count} warning(s), imported as they are:", file=sys.stderr)
        for problem in result.warnings[:20]:
            print(f"  {problem}", file=sys.stderr)
    if result.notices and not args.dry_run:
        print("Look at:", file=sys.stderr)
        for n in result.notices:
            print(f"  {n}", file=sys.stderr)
    if args.dry_run:
        print("dry run: nothing was written", file=sys.stderr)
    return 0


def _mapping(uow, data: bytes, file_name: str, args) -> dict:  # noqa: ANN001
    """The proposed mapping with the --map choices over it."""
    preview = import_service.preview(uow, import_service.Upload(data, file_name), kind=args.kind, profile=args.profile, mode=args.mode)
    mapping = dict(preview.mapping)
    for choice in args.map:
        field, sep, column = choice.partition("=")
        field = field.strip()
        if not sep or field not in FIELDS:
            raise ServiceError(f"--map {choice}: write FIELD=COLUMN with FIELD one of "
                               f"{', '.join(KIND_FIELDS[preview.kind])}")
        mapping[field] = column.strip() or None
    return mapping


_COLUMNS = [("row", "line"), ("number", "invoice_number"), ("debtor", "debtor_code"), ("name", "debtor_name"),
            ("invoice date", "invoice_date"), ("due date", "due_date"), ("amount", "amount_cents"),
            ("open", "open_cents"), ("currency", "currency")]


def _cell(value) -> str:  # noqa: ANN001
    if value is None or value != value:  # noqa: PLR0124 (NaN)
        return ""
    if hasattr(value, "strftime"):
        return value.strftime("%d-%m-%Y")
    return str(value)


def print_check(result: import_service.ImportResult) -> None:
    """The check, as the Import page shows it: what a full list closes, the first rows as they will be
    stored, what each column holds, and what to look at with its rows."""
    if result.closing is not None:
        print(result.closing.describe())
        if result.closing.needs_confirmation:
            print("A real import stops here unless --close-missing confirms that the file is the complete list.")
    if result.suggested_as_of:
        print(f"Suggested snapshot date: --as-of {result.suggested_as_of:%Y-%m-%d}")
    rows = result.stored_rows
    if rows is not None and len(rows):
        print("The first row as it will be stored:" if len(rows) == 1 else
              f"First {len(rows)} rows as they will be stored:")
        if result.kind == "debtors":
            print(rows.astype(object).where(rows.notna(), "").to_string(index=False))
        else:
            table = [[h for h, _ in _COLUMNS]]
            for r in rows.to_dict("records"):
                table.append([money.plain(r[c]) if c.endswith("_cents") else _cell(r[c]) for _, c in _COLUMNS])
            widths = [max(len(t[i]) for t in table) for i in range(len(_COLUMNS))]
            right = {"line", "amount_cents", "open_cents"}
            for t in table:
                print("  ".join(v.rjust(w) if c in right else v.ljust(w)
                                for v, w, (_, c) in zip(t, widths, _COLUMNS)).rstrip())
    if result.facts:
        print("Columns:")
        for f in result.facts:
            empty = f", {f.empty:,} empty" if f.empty else ""
            print(f"  {f.label} ({f.column}): {f.distinct:,} different{empty}; {f.summary}")
    if result.notices:
        print("Look at:")
        for n in result.notices:
            print(f"  {n}")


def history(engine, args) -> int:  # noqa: ANN001
    with UnitOfWork(engine) as uow:
        frame = import_service.import_history(uow, limit=args.limit)
    if not len(frame):
        print("no imports yet")
        return 0
    for r in frame.to_dict("records"):
        print(f"{r['batch']:>5}  {r['imported_at']:%Y-%m-%d %H:%M}  {r['imported_by']:<12} {r['kind']:<10} "
              f"{r['mode']:<7} as of {r['as_of']}  new {r['new']}, changed {r['changed']}, closed {r['closed']}, "
              f"unchanged {r['unchanged']}, skipped {r['skipped']}  {r['status']}  {r['file_name']}")
    return 0


def undo(engine, args) -> int:  # noqa: ANN001
    with UnitOfWork(engine, immediate=True) as uow:
        batch = import_service.undo_latest(uow, actor=ACTOR, batch_id=args.batch)
    print(f"undid batch {batch.id} ({batch.file_name})")
    return 0
