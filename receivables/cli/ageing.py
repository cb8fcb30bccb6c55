"""`report ageing`: open items per debtor in buckets by days past due (or since the invoice date)."""

from __future__ import annotations

from db.uow import UnitOfWork
from receivables.cli.args import iso_date
from receivables.cli.printers import print_ageing
from receivables.domain.ageing import BucketSpec
from receivables.services import analytics, plans


def register(sub, report_sub) -> None:
    a = report_sub.add_parser("ageing")
    a.add_argument("--as-of", type=iso_date, default=None)
    a.add_argument("--format", choices=("table", "csv", "json"), default="table")
    a.add_argument("--basis", choices=("due", "invoice"), default="due")
    a.add_argument("--in-plan", action="store_true", help="only the debtors with a running payment plan")
    a.set_defaults(handler=ageing)


def ageing(engine, args) -> int:
    spec = BucketSpec() if args.basis == "due" else BucketSpec((30, 60, 90), "invoice")
    with UnitOfWork(engine) as uow:
        report = analytics.ageing_report(uow, args.as_of, spec)
        if args.in_plan:
            report = analytics.only_debtors(report, plans.debtors_in_plan(uow))
    print_ageing(report, args.format)
    return 0
