"""`python -m receivables db repair`: put the daily sums' triggers back and rebuild the sums from the ledger
(start-up puts missing triggers back by itself; this also mends sums that went wrong another way)."""

from __future__ import annotations

from db.uow import UnitOfWork
from receivables.services import analytics


def register(sub, report_sub) -> None:
    d = sub.add_parser("db", help="database maintenance")
    ds = d.add_subparsers(dest="db_command", required=True)
    r = ds.add_parser("repair", help="put back the triggers of the daily sums and rebuild the sums from the ledger")
    r.set_defaults(handler=_repair)


def _repair(engine, args) -> int:
    with UnitOfWork(engine, immediate=True) as uow:
        done = analytics.repair_daily_sums(uow)
    n = len(done.missing_triggers)
    if n:
        print(f"triggers: {n} trigger{' was' if n == 1 else 's were'} missing and put back "
              f"({', '.join(done.missing_triggers)})")
    else:
        print("triggers: every trigger was in place")
    print(f"daily sums rebuilt from the ledger: {done.days_changed} days changed")
    return 0
