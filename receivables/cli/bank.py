"""`python -m receivables bank …`: statements in, suggestions decided, the "who paid this?" worklist, the
company's accounts and undo — what the Bank page does, from cron or a shell."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from db.uow import UnitOfWork
from receivables.domain import phrases
from receivables.domain.money import to_units
from receivables.services import bank
from receivables.services.errors import ServiceError

ACTOR = "cli"


def register(sub, report_sub) -> None:  # noqa: ANN001, ARG001
    p = sub.add_parser("bank", help="bank statements: import, match, decide suggestions, accounts, undo")
    bs = p.add_subparsers(dest="bank_command", required=True)

    i = bs.add_parser("import", help="import a statement (camt.053, MT940, ING/Rabobank CSV, ABN AMRO TXT) "
                                     "as one batch and match its credits; prints lines, matched, suggested, unmatched")
    i.add_argument("file", type=Path)
    i.set_defaults(handler=import_file)

    for name, what in (("suggestions", "matches waiting for a person"), ("worklist", "credits nobody matched")):
        s = bs.add_parser(name, help=what)
        s.add_argument("--format", choices=("table", "json"), default="table")
        s.set_defaults(handler=listing)

    c = bs.add_parser("confirm", help="apply a suggestion as proposed")
    c.add_argument("id", type=int)
    c.set_defaults(handler=decide)
    r = bs.add_parser("reject", help="reject a suggestion: the line goes to the worklist")
    r.add_argument("id", type=int)
    r.set_defaults(handler=decide)
    a = bs.add_parser("assign", help="the line is this debtor's payment of these invoices (none: on account)")
    a.add_argument("id", type=int)
    a.add_argument("--debtor", required=True, help="debtor code")
    a.add_argument("--invoice", action="append", default=[], help="invoice number (repeatable)")
    a.set_defaults(handler=decide)
    n = bs.add_parser("not-ours", help="the money pays no invoice of ours")
    n.add_argument("id", type=int)
    n.add_argument("--note", default="")
    n.set_defaults(handler=decide)

    m = bs.add_parser("match", help="match the worklist again (after new invoices came in)")
    m.set_defaults(handler=rematch)
    h = bs.add_parser("history", help="statement uploads, newest first")
    h.add_argument("--limit", type=int, default=20)
    h.set_defaults(handler=history)
    u = bs.add_parser("undo", help="undo the latest statement upload with its matches")
    u.add_argument("--batch", type=int, help="the batch you expect to undo (refused when it is not the latest)")
    u.set_defaults(handler=undo)

    k = bs.add_parser("cases", help="invoices the bank paid that a later accounting export still shows open")
    k.add_argument("--resolve", type=int, metavar="ID", help="mark a case as looked at")
    k.set_defaults(handler=cases)
    rc = bs.add_parser("reconcile", help="keep bank payments against an accounting import batch that reopened "
                                         "invoices the bank paid")
    rc.add_argument("batch", type=int)
    rc.set_defaults(handler=reconcile)

    acc = bs.add_parser("accounts", help="the company's own accounts: only credits to these count")
    accs = acc.add_subparsers(dest="accounts_command", required=True)
    add = accs.add_parser("add")
    add.add_argument("iban")
    add.set_defaults(handler=accounts)
    rm = accs.add_parser("remove")
    rm.add_argument("iban")
    rm.set_defaults(handler=accounts)
    accs.add_parser("list").set_defaults(handler=accounts)


def import_file(engine, args) -> int:  # noqa: ANN001
    if not args.file.is_file():
        raise ServiceError("no file at {path}", path=str(args.file))
    with UnitOfWork(engine, immediate=True) as uow:
        try:
            result = bank.import_statement(uow, args.file.read_bytes(), args.file.name, actor=ACTOR)
        except bank.UnknownAccount as exc:
            print(f"error: {exc}", file=sys.stderr)
            if exc.accounts:
                print(f"If it is the company's: python -m receivables bank accounts add {exc.accounts[0]}",
                      file=sys.stderr)
            return 2
    print(result.summary())
    print(result.details(), file=sys.stderr)
    if result.batch_id is None:
        print("nothing new: every line was imported before", file=sys.stderr)
    return 0


def listing(engine, args) -> int:  # noqa: ANN001
    with UnitOfWork(engine) as uow:
        rows = bank.suggestions(uow) if args.bank_command == "suggestions" else bank.worklist(uow)
    if args.format == "json":
        json.dump([_jsonable(r) for r in rows], sys.stdout, indent=2, ensure_ascii=False)
        print()
        return 0
    for r in rows:
        pays = ", ".join(a["invoice"] for a in r["allocations"]) or "-"
        print(f"{r['id']:>6}  {r['booking_date']}  {r['currency']} {to_units(r['amount_cents']):>12,.2f}  "
              f"{r['counterparty_name'][:30]:<30}  {r['debtor_code'] or '-':<10} {pays}  ({r['reason']})")
    if not rows:
        print(f"no {'suggestions' if args.bank_command == 'suggestions' else 'unmatched credits'}", file=sys.stderr)
    return 0


def _jsonable(row: dict) -> dict:
    out = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}
    out["amount"] = f"{to_units(row['amount_cents']):.2f}"
    return out


def decide(engine, args) -> int:  # noqa: ANN001
    with UnitOfWork(engine, immediate=True) as uow:
        if args.bank_command == "confirm":
            line = bank.confirm(uow, args.id, actor=ACTOR)
        elif args.bank_command == "reject":
            line = bank.reject(uow, args.id, actor=ACTOR)
        elif args.bank_command == "not-ours":
            line = bank.mark_not_ours(uow, args.id, actor=ACTOR, note=args.note)
        else:
            debtor_id = bank.debtor_by_code(uow, args.debtor)
            line = bank.assign(uow, args.id, actor=ACTOR, debtor_id=debtor_id,
                               invoice_ids=bank.invoice_ids(uow, args.invoice))
    print(f"line {line.id}: {line.status} ({phrases.load(line.reason)})")
    return 0


def rematch(engine, args) -> int:  # noqa: ANN001, ARG001
    with UnitOfWork(engine, immediate=True) as uow:
        counts = bank.rematch(uow, actor=ACTOR)
    print(", ".join(f"{k} {v}" for k, v in counts.items()))
    return 0


def history(engine, args) -> int:  # noqa: ANN001
    with UnitOfWork(engine) as uow:
        rows = bank.history(uow, args.limit)
    for r in rows:
        print(f"{r['batch']:>5}  {r['imported_at']:%Y-%m-%d %H:%M}  {r['imported_by']:<10} {r['file_name'][:40]:<40} "
              f"{r['status']:<8} lines {r['lines']}, matched {r['matched']}, suggested {r['suggested']}, "
              f"unmatched {r['unmatched']}, not ours {r['not_ours']}, debits {r['debit']}")
    return 0


def undo(engine, args) -> int:  # noqa: ANN001
    with UnitOfWork(engine, immediate=True) as uow:
        batch_id = bank.undo_latest(uow, actor=ACTOR, batch_id=args.batch)
    print(f"bank statement batch {batch_id} undone")
    return 0


def cases(engine, args) -> int:  # noqa: ANN001
    with UnitOfWork(engine) as uow:
        if args.resolve:
            bank.resolve_case(uow, args.resolve, actor=ACTOR)
            print(f"case {args.resolve} resolved")
            return 0
        rows = bank.ledger_cases(uow)
    for c in rows:
        print(f"{c['id']:>5}  {c['invoice']:<16} {c['debtor_code']:<10} {c['export']} ({c['export_as_of']}) shows "
              f"{c['currency']} {to_units(c['file_open_cents']):,.2f} open; the bank paid "
              f"{to_units(c['kept_cents']):,.2f}, kept")
    return 0


def reconcile(engine, args) -> int:  # noqa: ANN001
    with UnitOfWork(engine, immediate=True) as uow:
        found = bank.reconcile_import(uow, args.batch, actor=ACTOR)
    print(f"{len(found)} invoice(s) kept as paid by the bank; see: python -m receivables bank cases")
    return 0


def accounts(engine, args) -> int:  # noqa: ANN001
    with UnitOfWork(engine) as uow:
        if args.accounts_command == "add":
            print(f"{bank.add_account(uow, args.iban, actor=ACTOR)} is one of the company's accounts")
        elif args.accounts_command == "remove":
            bank.remove_account(uow, args.iban, actor=ACTOR)
            print(f"{args.iban} removed")
        else:
            for account in bank.own_accounts(uow):
                print(account)
    return 0
