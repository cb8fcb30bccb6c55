"""`send` on the command line (the nightly cron job): the same service the Sender page calls."""

from __future__ import annotations

import argparse
import sys
from datetime import date

from db.uow import UnitOfWork
from receivables.cli.args import iso_date
from receivables.domain.money import fmt
from receivables.services import portal_mail, send_confirm, sending

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
    what = p.add_subparsers(dest="send_command", metavar="{waiting,mark-sent,confirm-sent,send-again,portal-sent,portal-again}")
    what.add_parser("waiting", help="list what waits for a person: messages in doubt (with what is known) "
                                    "and messages exported to the outbox").set_defaults(handler=waiting)
    m = what.add_parser("mark-sent", help="exported messages (written to the outbox) did go out: mark them sent")
    m.add_argument("ids", nargs="+", type=_positive, metavar="ID")
    m.set_defaults(handler=mark_sent)
    c = what.add_parser("confirm-sent", help="a message waiting for confirmation did arrive: mark it sent")
    c.add_argument("ids", nargs="+", type=_positive, metavar="ID")
    c.set_defaults(handler=confirm, confirm=send_confirm.confirm_sent, said="sent")
    r = what.add_parser("send-again", help="a message waiting for confirmation did not arrive: send it again")
    r.add_argument("ids", nargs="+", type=_positive, metavar="ID")
    r.set_defaults(handler=confirm, confirm=send_confirm.confirm_resend, said="approved again")
    pc = what.add_parser("portal-sent", help="a portal mail in doubt (address confirmation, rejected dispute) did "
                                             "arrive: mark it sent")
    pc.add_argument("ids", nargs="+", type=_positive, metavar="ID")
    pc.set_defaults(handler=confirm, confirm=portal_mail.confirm_sent, said="sent")
    pr = what.add_parser("portal-again", help="a portal mail in doubt did not arrive: send it again")
    pr.add_argument("ids", nargs="+", type=_positive, metavar="ID")
    pr.set_defaults(handler=confirm, confirm=portal_mail.confirm_resend, said="queued again")


def waiting(engine, args) -> int:
    with UnitOfWork(engine, immediate=True) as uow:
        recovered = sending.recover(uow, actor=ACTOR)
        stuck = send_confirm.waiting_for_confirmation(uow)
        exported = send_confirm.exported(uow)
        doubtful = portal_mail.in_doubt(uow)
    _print_recovered(recovered)
    for s in stuck:
        print(f"in doubt #{s.id} {s.debtor_code} -> {s.recipients} {s.message_id or ''}: "
              f"{s.last_error or ('being sent right now' if s.in_flight else 'the sender stopped')}")
    for e in exported:
        print(f"exported #{e.id} {e.debtor_code} -> {e.recipients} at {e.exported_at:%Y-%m-%d %H:%M} UTC: {e.file}")
    _print_doubtful(doubtful)
    print(f"in doubt {len(stuck)}, exported {len(exported)}"
          + (f", portal mails in doubt {len(doubtful)}" if doubtful else ""))
    return 0


def mark_sent(engine, args) -> int:
    with UnitOfWork(engine, immediate=True) as uow:
        n = send_confirm.mark_sent(uow, args.ids, actor=ACTOR)
    print(f"marked sent {n}")
    return 0


def confirm(engine, args) -> int:
    for message_id in args.ids:
        with UnitOfWork(engine, immediate=True) as uow:
            args.confirm(uow, message_id, actor=ACTOR)
        print(f"#{message_id} {args.said}")
    return 0


def _print_doubtful(doubtful: list[portal_mail.InDoubt], file=None) -> None:
    for d in doubtful:
        print(f"portal mail in doubt #{d.id} ({d.kind}) {d.debtor_code} -> {d.recipients} {d.message_id or ''}: "
              f"{d.last_error or ('being sent right now' if d.in_flight else 'the sender stopped')}", file=file)


def _print_recovered(recovered: list[sending.MessageResult]) -> None:
    for r in recovered:
        print(f"from a run that stopped: {r.outcome} #{r.id} {r.debtor_code} -> {r.recipients} ({r.detail})",
              flush=True)


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
        _print_recovered(sending.recover(uow, actor=ACTOR))  # before anything is sent
        result = sending.send_batch(uow, transport, settings, today=today, actor=ACTOR, limit=args.limit,
                                    progress=progress)
        stuck = [s for s in send_confirm.waiting_for_confirmation(uow) if not s.in_flight]
        doubtful = [d for d in portal_mail.in_doubt(uow) if not d.in_flight]
    for m in result.portal_mails:
        print(f"portal mail {m.outcome} #{m.id} ({m.kind}) -> {m.recipients}"
              + (f" ({m.detail})" if m.detail and m.outcome != "sent" else ""), flush=True)
    print(result.summary())
    if doubtful:
        print(f"portal mails waiting for confirmation {len(doubtful)}: check each, then `send portal-sent ID` or "
              "`send portal-again ID` (or on the Sender page)", file=sys.stderr)
        _print_doubtful(doubtful, file=sys.stderr)
    if stuck:  # not failed (never sent twice), but a person must look: cron mails stderr
        print(f"waiting for confirmation {len(stuck)}: check each, then `send confirm-sent ID` or "
              "`send send-again ID` (or on the Sender page)", file=sys.stderr)
        for s in stuck:
            print(f"  #{s.id} {s.debtor_code} -> {s.recipients} {s.message_id or ''}: {s.last_error or ''}",
                  file=sys.stderr)
    if result.exported:
        print(f"exported {result.exported} to {getattr(transport, 'folder', 'the outbox')}: they are not sent; "
              "mail them, then `send mark-sent ID...` (or on the Sender page)")
    if result.error:
        print(f"error: {result.error}", file=sys.stderr)
        return 1
    return 0 if result.failed == 0 else 1
