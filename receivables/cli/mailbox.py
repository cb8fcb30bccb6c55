"""`python -m receivables mailbox …`: read the team mailbox (for cron) and deal with what it brought."""

from __future__ import annotations

from db.uow import UnitOfWork
from receivables.cli.args import iso_date
from receivables.services import mailbox

ACTOR = "cli"


def register(sub, report_sub) -> None:
    p = sub.add_parser("mailbox", help="the team mailbox: read replies, auto-replies and bounces")
    ps = p.add_subparsers(dest="mailbox_command", required=True)
    f = ps.add_parser("fetch", help="read the new messages and move them to the processed folder (run from cron)")
    f.add_argument("--limit", type=int, default=None, help="read at most N messages")
    f.add_argument("--today", type=iso_date, default=None)
    f.set_defaults(handler=_fetch)
    ps.add_parser("check", help="say whether the IMAP settings reach the mailbox").set_defaults(handler=_check)
    a = ps.add_parser("assign", help="put an unassigned mail in a debtor's dossier")
    a.add_argument("mail_id", type=int)
    a.add_argument("code")
    a.set_defaults(handler=lambda e, x: _do(e, mailbox.assign, "mail assigned", mail_id=x.mail_id, code=x.code))
    h = ps.add_parser("handle", help="a reply has been read and dealt with: its pause on reminders ends")
    h.add_argument("mail_id", type=int)
    h.add_argument("--text", default="", help="what was done")
    h.set_defaults(handler=lambda e, x: _do(e, mailbox.handle, "reply handled", mail_id=x.mail_id, text=x.text))
    s = ps.add_parser("set-aside", help="an unassigned mail that is no debtor's")
    s.add_argument("mail_id", type=int)
    s.add_argument("why")
    s.set_defaults(handler=lambda e, x: _do(e, mailbox.set_aside, "mail set aside", mail_id=x.mail_id, why=x.why))


def _do(engine, action, done: str, **kwargs) -> int:
    with UnitOfWork(engine, immediate=True) as uow:
        action(uow, actor=ACTOR, **kwargs)
    print(done)
    return 0


def _fetch(engine, args) -> int:
    box = mailbox.open_mailbox()
    with UnitOfWork(engine, immediate=True) as uow:
        result = mailbox.fetch(uow, box, today=args.today, actor=ACTOR, limit=args.limit)
    print(result.summary())
    return 0


def _check(engine, args) -> int:
    result = mailbox.check()
    print(("ok: " if result.ok else "not working: ") + result.message)
    return 0 if result.ok else 1
