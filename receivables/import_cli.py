"""`python -m receivables import FILE …`, `import-history` and `import-undo`."""

from __future__ import annotations

import sys
from pathlib import Path

from receivables import import_service
from receivables.cli_args import iso_date
from receivables.importing import FILE_TYPES, FILE_TYPES_LABEL, KINDS, PROFILES, FileRejected, bundle
from receivables.importing.dates import DMY, MDY
from receivables.importing.numbers import COMMA, POINT
from receivables.importing.validation import ImportOptions
from receivables.services import ServiceError
from receivables.uow import UnitOfWork

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
    p.add_argument("--dry-run", action="store_true", help="check and count, write nothing")
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
        try:
            result = import_service.run_import(
                uow, data, file_name, actor=ACTOR, kind=args.kind, mode=args.mode, as_of=args.as_of,
                options=options, profile=args.profile, valid_rows_only=args.valid_rows_only, dry_run=args.dry_run)
        except import_service.ImportRejected as exc:
            print(f"error: {file_name}: {exc.problem_count} problem(s); nothing was imported", file=sys.stderr)
            for problem in exc.problems:
                print(f"  {problem}", file=sys.stderr)
            if exc.problem_count > len(exc.problems):
                print(f"  … and {exc.problem_count - len(exc.problems)} more", file=sys.stderr)
            if any("choose the date order" in str(p) for p in exc.problems):
                print("Choose it with --date-order dmy (day first) or --date-order mdy (month first).",
                      file=sys.stderr)
            if args.valid_rows_only:
                print("No row is valid; fix the file.", file=sys.stderr)
            elif not exc.parsed.file_errors:
                print("Fix the file, or rerun with --valid-rows-only to import the other rows.", file=sys.stderr)
            return 2
    print(result.summary())
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
    if args.dry_run:
        print("dry run: nothing was written", file=sys.stderr)
    return 0


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
