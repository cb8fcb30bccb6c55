"""`send` on the command line (the nightly cron job): the same service the Sender page calls."""

from __future__ import annotations

import argparse
import sys
from datetime import date

from receivables import sending
from receivables.cli_args import iso_date
from receivables.money import fmt
from receivables.uow import UnitOfWork

ACTOR = "cli"


def _positive(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{value}' is not a whole number") from None
    if n < 1:
        raise argparse.ArgumentTypeError("--limit must be at least 1")
    return n


def register(sub, report_sub) -> None:
    p = sub.add_parser("send", help="send the approved reminders that are due, each exactly once")
    p.add_argument("--dry-run", action="store_true", help="show what would be sent; change nothing")
    p.add_argument("--limit", type=_positive, default=None, help="send at most N messages")
    p.add_argument("--outbox", action="store_true",
                   help="write .eml files into the outbox folder (DEBTOR_DESK_OUTBOX, default data/outbox) "
                        "instead of sending them")
    p.add_argument("--date", type=iso_date, default=None, help=argparse.SUPPRESS)
    p.set_defaults(handler=send)


def send(engine, args) -> int:
    today = args.date or date.today()
    transport, settings = sending.transport_and_settings(args.outbox)
    if args.dry_run:
        with UnitOfWork(engine) as uow:
            sending.check_freshness(uow, today)
            planned = sending.plan(uow, today, limit=args.limit)
        counts: dict[str, int] = {}
        for p in planned:
            counts[p.action] = counts.get(p.action, 0) + 1
            note = f"  [{p.action}: {p.reason}]" if p.action != "send" else ""
            print(f"#{p.id} {p.debtor_code} -> {p.recipients or '(no address)'}: {p.subject} "
                  f"({fmt(p.total_cents, p.currency)}){note}")
        print(f"dry run, nothing sent: would send {counts.get('send', 0)}, cancel {counts.get('cancel', 0)}, "
              f"hold {counts.get('block', 0) + counts.get('review', 0)}, "
              f"wait for an address {counts.get('address', 0)}")
        return 0

    def progress(r: sending.MessageResult, done: int, total: int) -> None:
        detail = f" ({r.detail})" if r.detail and r.outcome != "sent" else ""
        print(f"{r.outcome} #{r.id} {r.debtor_code} -> {r.recipients}{detail}", flush=True)

    with UnitOfWork(engine, immediate=True) as uow:
        result = sending.send_batch(uow, transport, settings, today=today, actor=ACTOR, limit=args.limit,
                                    progress=progress)
    print(result.summary())
    if result.waiting:  # not failed (never sent twice), but a person must look: cron mails stderr
        print(f"waiting for confirmation {result.waiting}: the connection broke after the server had the "
              "message; check and confirm them on the Sender page", file=sys.stderr)
    if result.error:
        print(f"error: {result.error}", file=sys.stderr)
        return 1
    return 0 if result.failed == 0 else 1
