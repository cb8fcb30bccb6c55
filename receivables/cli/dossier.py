"""`python -m receivables dossier …` and `promises review`: the dossier's services from the command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from db.uow import UnitOfWork
from receivables.cli.args import amount, iso_date
from receivables.domain import calls, contacts
from receivables.domain.dossier import TIMELINE_KINDS
from receivables.domain.money import fmt
from receivables.services import claims, dossier, portal
from receivables.services.errors import ServiceError

ACTOR = "cli"


def register(sub, report_sub) -> None:
    p = sub.add_parser("promises", help="promises to pay")
    ps = p.add_subparsers(dest="promises_command", required=True)
    r = ps.add_parser("review", help="mark promises kept or broken (run daily, e.g. from cron)")
    r.add_argument("--today", type=iso_date, default=None)
    r.set_defaults(handler=_review)

    d = sub.add_parser("dossier", help="a debtor's dossier: find, show, and record notes, calls, promises…")
    ds = d.add_subparsers(dest="dossier_command", required=True)
    f = ds.add_parser("find", help="debtors by code, name, e-mail or invoice number")
    f.add_argument("query")
    f.set_defaults(handler=_find)
    s = ds.add_parser("show", help="header and timeline of one debtor")
    s.add_argument("code")
    s.add_argument("--kind", action="append", choices=TIMELINE_KINDS, help="only these timeline kinds")
    s.add_argument("--limit", type=int, default=30)
    s.add_argument("--format", choices=("text", "json"), default="text")
    s.set_defaults(handler=_show)
    st = ds.add_parser("statement", help="the statement of account of a debtor's open items")
    st.add_argument("code")
    st.add_argument("--format", choices=tuple(dossier.STATEMENT_FORMATS), default="pdf")
    st.add_argument("--lang", choices=tuple(contacts.LANGUAGES), default=None,
                    help="language of the statement (default: the debtor's)")
    st.add_argument("--today", type=iso_date, default=None)
    st.add_argument("--out", type=Path, required=True, help="file to write")
    st.set_defaults(handler=_statement)
    _record_parsers(ds)


def _record_parsers(ds) -> None:
    """What a collector records: one subcommand per action of the dossier page."""
    n = ds.add_parser("note")
    n.add_argument("code")
    n.add_argument("text")
    n.set_defaults(handler=lambda e, a: _do(e, dossier.add_note, "note added", code=a.code, text=a.text))
    c = ds.add_parser("call")
    c.add_argument("code")
    c.add_argument("--outcome", choices=calls.CALL_OUTCOMES, required=True)
    c.add_argument("--text", default="")
    c.set_defaults(handler=lambda e, a: _do(e, dossier.log_call, "call logged", code=a.code, outcome=a.outcome,
                                            text=a.text))
    pr = ds.add_parser("promise")
    pr.add_argument("code")
    pr.add_argument("--date", type=iso_date, required=True, dest="promise_date")
    pr.add_argument("--amount", type=amount, default=None, help="default: the open amount of the invoices")
    pr.add_argument("--invoice", action="append", default=[], help="repeat for several; default: all overdue")
    pr.add_argument("--text", default="")
    pr.set_defaults(handler=lambda e, a: _do(e, dossier.promise_to_pay, "promise recorded", code=a.code,
                                             promise_date=a.promise_date, amount_cents=a.amount,
                                             invoice_numbers=a.invoice, text=a.text))
    dp = ds.add_parser("dispute")
    dp.add_argument("code")
    dp.add_argument("invoice")
    dp.add_argument("reason")
    dp.set_defaults(handler=lambda e, a: _do(e, dossier.dispute_invoice, "dispute opened", code=a.code,
                                             number=a.invoice, reason=a.reason))
    rs = ds.add_parser("resolve")
    rs.add_argument("code")
    rs.add_argument("invoice")
    rs.add_argument("--text", default="")
    rs.set_defaults(handler=lambda e, a: _do(e, dossier.resolve_dispute, "dispute resolved", code=a.code,
                                             number=a.invoice, text=a.text))
    rj = ds.add_parser("reject", help="the dispute does not hold: chased again, and the debtor is told why")
    rj.add_argument("code")
    rj.add_argument("invoice")
    rj.add_argument("text", help="why the invoice stands (sent to the debtor)")
    rj.set_defaults(handler=lambda e, a: _do(e, portal.reject_dispute, "dispute rejected; the debtor was told why",
                                             code=a.code, number=a.invoice, text=a.text))
    b = ds.add_parser("block")
    b.add_argument("code")
    b.add_argument("reason")
    b.add_argument("--until", type=iso_date, default=None)
    b.set_defaults(handler=lambda e, a: _do(e, dossier.block_reminders, "reminders blocked", code=a.code,
                                            reason=a.reason, until=a.until))
    ub = ds.add_parser("unblock")
    ub.add_argument("code")
    ub.add_argument("--text", default="")
    ub.set_defaults(handler=lambda e, a: _do(e, dossier.unblock_reminders, "reminders unblocked", code=a.code,
                                             text=a.text))
    ct = ds.add_parser("contact", help="set the reminder contact data (every field is replaced)")
    ct.add_argument("code")
    ct.add_argument("--email", default="", help="comma separated")
    ct.add_argument("--language", choices=list(contacts.LANGUAGES), required=True)
    ct.add_argument("--person", default="")
    ct.add_argument("--phone", default="")
    ct.set_defaults(handler=lambda e, a: _do(e, dossier.update_contact, "contact data saved", code=a.code,
                                             emails=a.email, language=a.language, contact_person=a.person,
                                             phone=a.phone))
    it = ds.add_parser("interrupt", help="record a letter, sent by hand, that interrupts prescription (art. 3:317 BW)")
    it.add_argument("code")
    it.add_argument("--invoice", action="append", required=True, help="repeat for several")
    it.add_argument("--text", required=True, help="what the letter demanded and how it was sent")
    it.add_argument("--sent-on", type=iso_date, default=None)
    it.set_defaults(handler=lambda e, a: _do(e, claims.record_interruption, "interruption recorded", code=a.code,
                                             numbers=a.invoice, text=a.text, sent_on=a.sent_on))
    rp = ds.add_parser("reply", help="record a reply: --eml FILE or --text TEXT")
    rp.add_argument("code")
    src = rp.add_mutually_exclusive_group(required=True)
    src.add_argument("--eml", type=Path)
    src.add_argument("--text")
    rp.set_defaults(handler=_reply)


def _do(engine, action, done: str, **kwargs) -> int:
    with UnitOfWork(engine, immediate=True) as uow:
        action(uow, actor=ACTOR, **kwargs)
    print(done)
    return 0


def _reply(engine, args) -> int:
    if args.eml is not None:
        try:
            raw = args.eml.read_bytes()
        except OSError as exc:
            raise ServiceError("cannot read {path}: {problem}", path=str(args.eml), problem=exc.strerror) from None
        return _do(engine, dossier.record_reply, "reply recorded", code=args.code, eml=raw, file_name=args.eml.name)
    return _do(engine, dossier.record_reply, "reply recorded", code=args.code, text=args.text)


def _statement(engine, args) -> int:
    with UnitOfWork(engine) as uow:
        made = dossier.statement(uow, args.code, args.format, args.lang, args.today)
    try:
        args.out.write_bytes(made.data)
    except OSError as exc:
        raise ServiceError("cannot write {path}: {problem}", path=str(args.out), problem=exc.strerror) from None
    print(f"statement of {args.code} written to {args.out} ({len(made.data):,} bytes)")
    return 0


def _review(engine, args) -> int:
    with UnitOfWork(engine, immediate=True) as uow:
        result = dossier.review_promises(uow, args.today)
    print(f"promises kept: {len(result.kept)}, broken: {len(result.broken)}")
    return 0


def _find(engine, args) -> int:
    with UnitOfWork(engine) as uow:
        for m in dossier.find_debtors(uow, args.query):
            print(f"{m.code}\t{m.name}\t{m.email or ''}\t{m.matched_on}")
    return 0


def _show(engine, args) -> int:
    with UnitOfWork(engine) as uow:
        d = dossier.open_dossier(uow, args.code, kinds=args.kind, limit=args.limit)
    h, b = d.header, d.header.behaviour
    if args.format == "json":
        json.dump({"code": h.code, "name": h.name, "emails": h.emails, "language": h.language,
                   "open_cents": h.open_cents, "overdue_cents": h.overdue_cents,
                   "avg_days_late": b.avg_days_late, "share_paid_late": b.share_paid_late, "trend": b.trend, "trend_days": b.trend_days,
                   "broken_promises": b.broken_promises, "track": h.track.name, "track_reason": str(h.track.reason),
                   "flags": [f.label for f in h.flags],
                   "timeline": [{"at": e.at.isoformat(), "kind": e.kind, "title": e.title, "text": str(e.text),
                                 "by": e.by, "details": e.details} for e in d.timeline]},
                  sys.stdout, indent=2, ensure_ascii=False)
        print()
        return 0
    print(f"{h.name} ({h.code})  {', '.join(h.emails)}  [{h.language}]")
    print("open " + ", ".join(fmt(v, c) for c, v in h.open_cents.items())
          + "; overdue " + ", ".join(fmt(v, c) for c, v in h.overdue_cents.items()))
    late = "—" if b.avg_days_late is None else f"{b.avg_days_late:.1f}"
    days = "" if b.trend_days is None else f" ({b.trend_days:+.0f} days)"
    print(f"weighted days late {late}; trend {b.trend}{days}; track {h.track.name}: {h.track.reason}")
    for f in h.flags:
        print(f"! {f.label}")
    for e in d.timeline:
        print(f"{e.at:%Y-%m-%d %H:%M}  {e.kind:<9} {e.title}" + (f"  [{'; '.join(e.details)}]" if e.details else ""))
    return 0
