"""`demo` and `demo-remove`: the deterministic demo ledger."""

from __future__ import annotations

from db.uow import UnitOfWork
from receivables.cli.args import iso_date
from receivables.services import demo

ACTOR = "cli"


def register(sub) -> None:
    d = sub.add_parser("demo", help="(re)load the deterministic demo dataset")
    d.add_argument("--seed", type=int, default=42)
    d.add_argument("--as-of", type=iso_date, default=None, help="anchor date of the demo ledger (default today)")
    d.set_defaults(handler=load)
    r = sub.add_parser("demo-remove", help="remove the demo data")
    r.set_defaults(handler=remove)


def load(engine, args) -> int:
    with UnitOfWork(engine, immediate=True) as uow:
        res = demo.load_demo(uow, seed=args.seed, anchor=args.as_of, actor=ACTOR)
    print(f"demo loaded: {res.debtors} debtors, {res.invoices} invoices, {res.changes} payments, {res.notes} notes")
    return 0


def remove(engine, args) -> int:
    with UnitOfWork(engine, immediate=True) as uow:
        n = demo.remove_demo(uow, actor=ACTOR)
    print(f"removed {n} demo debtors")
    return 0
