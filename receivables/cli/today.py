"""`python -m receivables today`: the day's worklist, the same list the Today page shows."""

from __future__ import annotations

import json
import sys

from db.uow import UnitOfWork
from receivables.cli.args import iso_date
from receivables.domain.worklist import SOURCES
from receivables.services import digest, sending, today

ACTOR = "cli"


def register(sub, report_sub) -> None:
    p = sub.add_parser("today", help="what needs a person today (everyone's, or --user NAME's own)")
    p.add_argument("--user", default=None, help="only this user's items and those nobody owns yet")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--today", type=iso_date, default=None)
    p.set_defaults(handler=_list)
    ps = p.add_subparsers(dest="today_command", metavar="{hand,owner,digest,subscribe,unsubscribe}")
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
    d = ps.add_parser("digest", help="the digest e-mails due today; --send sends each once (run from cron)")
    d.add_argument("--send", action="store_true", help="send them (without: only list what would go)")
    d.add_argument("--outbox", action="store_true", help="write them as .eml files instead of using SMTP")
    d.add_argument("--today", type=iso_date, default=None)
    d.set_defaults(handler=_digest)
    s = ps.add_parser("subscribe", help="a user gets the daily digest (--weekly: an account manager the weekly one)")
    s.add_argument("name", help="the user (daily) or the account manager as the debtors name them (weekly)")
    s.add_argument("address")
    s.add_argument("--weekly", action="store_true")
    s.add_argument("--language", choices=("nl", "en"), default="nl")
    s.set_defaults(handler=_subscribe)
    u = ps.add_parser("unsubscribe", help="stop a digest")
    u.add_argument("name")
    u.add_argument("--weekly", action="store_true")
    u.set_defaults(handler=_unsubscribe)


def _list(engine, args) -> int:
    with UnitOfWork(engine) as uow:
        work = today.worklist(uow, today=args.today, user=args.user)
    if args.format == "json":
        json.dump(today.as_json(work), sys.stdout, indent=2, ensure_ascii=False)
        print()
        return 0
    summary = ", ".join(f"{n} {SOURCES[s].lower()}" for s, n in work.counts.items() if n) or "nothing to do"
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


def _digest(engine, args) -> int:
    if not args.send:
        with UnitOfWork(engine) as uow:
            due = digest.drafts(uow, today=args.today)
        for d in due:
            print(f"{d.key:<40} to {d.to}: {d.subject}")
        print(f"{len(due)} digest(s) due; --send sends them")
        return 0
    transport, settings = sending.transport_and_settings(outbox=args.outbox)
    with UnitOfWork(engine, immediate=True) as uow:
        result = digest.send_digests(uow, transport, settings, today=args.today, actor=ACTOR)
    for key, words in result.failed:
        print(f"{key}: not sent: {words}")
    for key in result.unconfirmed:
        print(f"{key}: a run broke off while the server had it; not sent again")
    print(result.summary())
    return 1 if result.failed else 0


def _subscribe(engine, args) -> int:
    with UnitOfWork(engine, immediate=True) as uow:
        sub = digest.subscribe(uow, "weekly" if args.weekly else "daily", args.name, args.address, args.language,
                               actor=ACTOR)
    print(f"{sub.name} gets the {sub.kind} digest at {sub.address} ({sub.language})")
    return 0


def _unsubscribe(engine, args) -> int:
    kind = "weekly" if args.weekly else "daily"
    with UnitOfWork(engine, immediate=True) as uow:
        digest.unsubscribe(uow, kind, args.name, actor=ACTOR)
    print(f"{args.name} gets no {kind} digest any more")
    return 0
