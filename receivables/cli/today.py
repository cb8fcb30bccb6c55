"""`python -m receivables today`: the day's worklist, the same list the Today page shows."""

from __future__ import annotations

import json
import sys

from db.uow import UnitOfWork
from receivables.cli.args import iso_date
from receivables.domain.worklist import SOURCES
from receivables.services import today

ACTOR = "cli"


def register(sub, report_sub) -> None:
    p = sub.add_parser("today", help="what needs a person today (everyone's, or --user NAME's own)")
    p.add_argument("--user", default=None, help="only this user's items and those nobody owns yet")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--today", type=iso_date, default=None)
    p.set_defaults(handler=_list)
    ps = p.add_subparsers(dest="today_command", metavar="{hand,owner}")
    h = ps.add_parser("hand", help="hand an item to a colleague, with a note")
    h.add_argument("key", help="the item, as listed: e.g. reply:12")
    h.add_argument("to_user")
    h.add_argument("--note", default="")
    h.add_argument("--as", dest="actor", default=ACTOR, help="who hands it over (default: cli)")
    h.set_defaults(handler=_hand)
    o = ps.add_parser("owner", help="set (or, without a user, clear) the collector who owns a debtor")
    o.add_argument("code")
    o.add_argument("user", nargs="?", default="")
    o.set_defaults(handler=_owner)


def _list(engine, args) -> int:
    with UnitOfWork(engine) as uow:
        work = today.worklist(uow, today=args.today, user=args.user)
    if args.format == "json":
        json.dump(today.as_json(work), sys.stdout, indent=2, ensure_ascii=False)
        print()
        return 0
    summary = ", ".join(f"{n} {SOURCES[s]}" for s, n in work.counts.items() if n) or "nothing to do"
    print(f"Today {work.today.isoformat()} for {work.user or 'everyone'}: {summary}")
    for i in work.items:
        who = f" [{i.owner}]" if i.owner else ""
        debtor = f" {i.debtor_code}" if i.debtor_code else ""
        print(f"{i.key:<16}{'!' if i.late else ' '}{debtor} {i.title}{who}")
    return 0


def _hand(engine, args) -> int:
    with UnitOfWork(engine, immediate=True) as uow:
        today.hand_over(uow, args.key, args.to_user, args.note, actor=args.actor)
    print(f"{args.key} handed to {args.to_user}")
    return 0


def _owner(engine, args) -> int:
    with UnitOfWork(engine, immediate=True) as uow:
        owner = today.set_owner(uow, args.code, args.user or None, actor=ACTOR)
    print(f"{args.code} is followed by {owner}" if owner else f"{args.code} has no owner of its own")
    return 0
