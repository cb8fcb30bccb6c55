"""Every command group registered in one place, and `main`, which runs the one the arguments name."""

from __future__ import annotations

import argparse
import sys

from db.engine import make_engine, upgrade
from receivables.cli import (
    ageing,
    bank,
    db,
    demo,
    dossier,
    imports,
    mailbox,
    plans,
    portal,
    remind,
    report,
    send,
    settings,
    today,
    users,
)
from receivables.domain.errors import Problem

# Each group adds its commands with register(subparsers[, report_subparsers]); every command's parser
# sets handler=fn, where fn(engine, args) -> exit code. The order is the order of --help: `report`
# comes after `users`, and the groups after it may add report commands (`report ageing` is the first).
GROUPS = (demo, users, settings)
GROUPS_WITH_REPORTS = (ageing, dossier, plans, remind, send, report, imports, bank, mailbox, today, portal, db)


class _Parser(argparse.ArgumentParser):
    """Argument errors as one line on stderr, like every other error (subcommands inherit it)."""

    def error(self, message: str):
        self.exit(2, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m receivables", description="Debtor Desk from the command line")
    sub = p.add_subparsers(dest="command", required=True)
    for group in GROUPS:
        group.register(sub)
    report_sub = sub.add_parser("report", help="reports").add_subparsers(dest="report", required=True)
    for group in GROUPS_WITH_REPORTS:
        group.register(sub, report_sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        engine = make_engine()
        upgrade(engine)
        return args.handler(engine, args)
    except Problem as exc:  # a service's or a rule's refusal: what to fix
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # one clear line, never a traceback
        print(f"error: {type(exc).__name__}: {exc}".splitlines()[0], file=sys.stderr)
        return 1
