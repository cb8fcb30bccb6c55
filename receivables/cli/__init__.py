"""`python -m receivables …`: the same services the pages call, for cron jobs and scripts."""

from __future__ import annotations

import argparse
import json
import sys

from db.engine import make_engine, upgrade
from db.uow import UnitOfWork
from db.user_file import MIN_PASSWORD, ROLES
from receivables.cli.args import iso_date
from receivables.domain.ageing import BucketSpec
from receivables.domain.money import to_decimal, to_units
from receivables.services import analytics, demo, errors, exports, users


class CliError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """Argument errors as one line on stderr, like every other error (subcommands inherit it)."""

    def error(self, message: str):
        self.exit(2, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m receivables", description="Debtor Desk from the command line")
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("demo", help="(re)load the deterministic demo dataset")
    d.add_argument("--seed", type=int, default=42)
    d.add_argument("--as-of", type=iso_date, default=None, help="anchor date of the demo ledger (default today)")
    sub.add_parser("demo-remove", help="remove the demo data")

    u = sub.add_parser("users", help="manage users")
    us = u.add_subparsers(dest="users_command", required=True)
    ua = us.add_parser("add")
    ua.add_argument("name")
    ua.add_argument("--role", choices=ROLES, required=True)
    ua.add_argument("--full-name")
    ua.add_argument("--email")
    chosen = ("read the password from the first line of standard input instead of generating one (at least "
              f"{MIN_PASSWORD} characters, not the user name, not a common password)")
    ua.add_argument("--password-stdin", action="store_true", help=chosen)
    ur = us.add_parser("reset-password")
    ur.add_argument("name")
    ur.add_argument("--password-stdin", action="store_true", help=chosen)
    ut = us.add_parser("set-role")
    ut.add_argument("name")
    ut.add_argument("--role", choices=ROLES, required=True)
    us.add_parser("list")

    r = sub.add_parser("report", help="reports")
    rs = r.add_subparsers(dest="report", required=True)
    ra = rs.add_parser("ageing")
    ra.add_argument("--as-of", type=iso_date, default=None)
    ra.add_argument("--format", choices=("table", "csv", "json"), default="table")
    ra.add_argument("--basis", choices=("due", "invoice"), default="due")
    for module in EXTENSIONS:
        _extension(module).register(sub, rs)
    return p


# Capabilities add their commands here: each module has register(subparsers, report_subparsers),
# and its parsers set_defaults(handler=fn) where fn(engine, args) -> exit code.
EXTENSIONS: tuple[str, ...] = ("receivables.cli.dossier", "receivables.cli.remind", "receivables.cli.send", "receivables.cli.report", "receivables.cli.imports", "receivables.cli.mailbox", "receivables.cli.today")


def _extension(module: str):
    import importlib

    return importlib.import_module(module)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        engine = make_engine()
        upgrade(engine)
        return _run(engine, args)
    except (errors.ServiceError, CliError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # one clear line, never a traceback
        print(f"error: {type(exc).__name__}: {exc}".splitlines()[0], file=sys.stderr)
        return 1


def _run(engine, args) -> int:
    actor = "cli"
    handler = getattr(args, "handler", None)
    if handler is not None:
        return handler(engine, args)
    if args.command == "demo":
        with UnitOfWork(engine, immediate=True) as uow:
            res = demo.load_demo(uow, seed=args.seed, anchor=args.as_of, actor=actor)
        print(f"demo loaded: {res.debtors} debtors, {res.invoices} invoices, {res.changes} payments, {res.notes} notes")
    elif args.command == "demo-remove":
        with UnitOfWork(engine, immediate=True) as uow:
            n = demo.remove_demo(uow, actor=actor)
        print(f"removed {n} demo debtors")
    elif args.command == "users":
        _users(engine, args, actor)
    elif args.command == "report" and args.report == "ageing":
        spec = BucketSpec() if args.basis == "due" else BucketSpec((30, 60, 90), "invoice")
        with UnitOfWork(engine) as uow:
            report = analytics.ageing_report(uow, args.as_of, spec)
        _print_ageing(report, args.format)
    return 0


def _users(engine, args, actor: str) -> None:
    with UnitOfWork(engine) as uow:
        chosen = sys.stdin.readline().rstrip("\r\n") if getattr(args, "password_stdin", False) else None
        if args.users_command == "add":
            pw = users.add_user(uow, args.name, args.role, actor=actor, name=args.full_name, email=args.email,
                                   password=chosen)
            print(f"user {args.name} ({args.role}) added" + ("" if chosen else f"; password: {pw}"))
        elif args.users_command == "reset-password":
            pw = users.reset_password(uow, args.name, actor=actor, password=chosen)
            print(f"password of {args.name} set" if chosen else f"new password for {args.name}: {pw}")
        elif args.users_command == "set-role":
            users.set_role(uow, args.name, args.role, actor=actor)
            print(f"{args.name} is now {args.role}")
        else:
            from db.user_file import list_users
            for u in list_users():
                print(f"{u.username}\t{u.role}\t{u.name}")


def _print_ageing(report: analytics.AgeingReport, fmt: str) -> None:
    labels = report.spec.labels
    if fmt == "json":
        json.dump(analytics.ageing_json(report), sys.stdout, indent=2, ensure_ascii=False)
        print()
        return
    cols = ["currency", "debtor_code", "debtor_name", *labels, "total"]
    if fmt == "csv":
        exports.write_csv(sys.stdout, cols, ([r["currency"], r["debtor_code"], r["debtor_name"],
                                              *[to_decimal(r[c]) for c in [*labels, "total"]]]
                                             for r in report.per_debtor.to_dict("records")))
        return
    print(f"Ageing as of {report.as_of.isoformat()}")
    for currency, totals in report.totals.items():
        print(f"\n{currency}: " + "  ".join(f"{c} {to_units(totals[c]):,.2f}" for c in [*labels, "total"]))
        rows = report.per_debtor[report.per_debtor["currency"] == currency].head(20)
        for r in rows.to_dict("records"):
            print(f"  {r['debtor_code']:<10} {r['debtor_name'][:40]:<40} {to_units(r['total']):>14,.2f}")
