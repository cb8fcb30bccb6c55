"""`remind` and `queue …` on the command line: the same services the queue page calls."""

from __future__ import annotations

import argparse
import json
import sys

from db.uow import UnitOfWork
from receivables.cli.args import iso_date
from receivables.domain import messages
from receivables.domain.money import fmt
from receivables.services import exports, queue, reminders
from receivables.services.errors import ServiceError

ACTOR = "cli"


def _id(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{value}' is not a message id (a whole number)") from None


def register(sub, report_sub) -> None:
    r = sub.add_parser("remind", help="propose the reminders that are due (idempotent)")
    r.add_argument("--date", type=iso_date, default=None, help="the day to generate for (default today)")
    r.set_defaults(handler=remind)

    q = sub.add_parser("queue", help="the reminder queue: list, approve, postpone, block")
    qs = q.add_subparsers(dest="queue_command", required=True)
    ql = qs.add_parser("list")
    ql.add_argument("--status", choices=tuple(messages.ALLOWED_TRANSITIONS), action="append",
                    help="repeat for several; default proposed, approved and postponed")
    ql.add_argument("--step")
    ql.add_argument("--track")
    ql.add_argument("--format", choices=("table", "json", "csv"), default="table")
    ql.set_defaults(handler=queue_list)
    qa = qs.add_parser("approve")
    qa.add_argument("ids", nargs="*", type=_id)
    qa.add_argument("--all", action="store_true", help="approve every proposed message")
    qa.set_defaults(handler=queue_approve)
    qp = qs.add_parser("postpone")
    qp.add_argument("ids", nargs="+", type=_id)
    qp.add_argument("--until", type=iso_date, required=True)
    qp.set_defaults(handler=queue_postpone)
    qb = qs.add_parser("block")
    qb.add_argument("ids", nargs="+", type=_id)
    qb.add_argument("--note", default=None, help="why (kept on the message)")
    qb.set_defaults(handler=queue_block)
    qd = qs.add_parser("addresses", help="debtors without a usable reminder address, with their open amount")
    qd.add_argument("--format", choices=("table", "json"), default="table")
    qd.set_defaults(handler=queue_addresses)


def remind(engine, args) -> int:
    with UnitOfWork(engine, immediate=True) as uow:
        result = reminders.generate(uow, args.date, actor=ACTOR)
    print(result.summary())
    for line in result.review_lines():
        print(line)
    return 0


def queue_addresses(engine, args) -> int:
    with UnitOfWork(engine) as uow:
        frame = reminders.debtors_without_address(uow)
    if args.format == "json":
        json.dump([{"debtor_code": r["debtor_code"], "debtor_name": r["debtor_name"], "currency": r["currency"],
                    "open": round(int(r["open_cents"]) / 100, 2), "invoices": int(r["invoices"]),
                    "waiting_messages": int(r["waiting_messages"])} for r in frame.to_dict("records")],
                  sys.stdout, indent=2, ensure_ascii=False)
        print()
        return 0
    if frame.empty:
        print("every debtor with open invoices has a reminder address")
        return 0
    for r in frame.to_dict("records"):
        print(f"{r['debtor_code']:<12} {r['debtor_name'][:40]:<40} {fmt(r['open_cents'], r['currency'], 'en'):>16}  "
              f"{r['invoices']:>5} invoice(s)  {r['waiting_messages']:>3} message(s) waiting")
    totals = reminders.totals_by_currency(frame, "open_cents")
    print(f"{frame['debtor_code'].nunique()} debtor(s) without a reminder address; open "
          + ", ".join(fmt(v, c, "en") for c, v in totals.items())
          + ". Import a debtor list (`import debtors.csv --kind debtors`) or add the addresses in the dossier.")
    return 0


def queue_list(engine, args) -> int:
    with UnitOfWork(engine) as uow:
        frame = queue.queue(uow, statuses=args.status, step=args.step, track=args.track)
    if args.format == "csv":
        exports.write_csv_records(sys.stdout, queue.queue_json(frame))
        return 0
    if args.format == "json":
        json.dump(queue.queue_json(frame), sys.stdout, indent=2, ensure_ascii=False)
        print()
        return 0
    if frame.empty:
        print("the queue is empty")
        return 0
    for r in frame.to_dict("records"):
        numbers = ", ".join(r["invoice_numbers"])
        print(f"{r['id']:>6}  {r['planned_date']:%Y-%m-%d}  {r['status']:<9}  {r['track']:<9} {r['step']:<16} "
              f"{r['debtor_code']:<10} {fmt(r['total_cents'], r['currency'], 'en'):>14}  {numbers[:40]}")
    return 0


def queue_approve(engine, args) -> int:
    if not args.ids and not args.all:
        raise ServiceError("name the message ids to approve, or use --all")
    with UnitOfWork(engine, immediate=True) as uow:
        if args.all:
            ids = queue.approve_all(uow, actor=ACTOR, message_ids=args.ids or None)
        else:
            ids = queue.transition(uow, args.ids, "approve", actor=ACTOR)
    print(f"approved {len(ids)}")
    return 0


def queue_postpone(engine, args) -> int:
    with UnitOfWork(engine, immediate=True) as uow:
        ids = queue.transition(uow, args.ids, "postpone", actor=ACTOR, until=args.until)
    print(f"postponed {len(ids)} until {args.until.isoformat()}")
    return 0


def queue_block(engine, args) -> int:
    with UnitOfWork(engine, immediate=True) as uow:
        ids = queue.transition(uow, args.ids, "block", actor=ACTOR, note=args.note)
    print(f"blocked {len(ids)}")
    return 0
