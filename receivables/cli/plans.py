"""`python -m receivables plans …`: payment plans from the command line, the same services as the dossier."""

from __future__ import annotations

from db.uow import UnitOfWork
from receivables.cli.args import amount, iso_date
from receivables.cli.printers import print_json
from receivables.domain import plans as rules
from receivables.domain.money import fmt
from receivables.services import plans

ACTOR = "cli"


def register(sub, report_sub) -> None:
    p = sub.add_parser("plans", help="payment plans (betalingsregelingen): list, create, accept, reject, decide")
    ps = p.add_subparsers(dest="plans_command", required=True)
    ls = ps.add_parser("list", help="the plans with their terms, newest first")
    ls.add_argument("--debtor", default=None, help="only this debtor's plans (its code)")
    ls.add_argument("--status", action="append", choices=rules.STATUSES, help="only plans in this status")
    ls.add_argument("--format", choices=("text", "json"), default="text")
    ls.set_defaults(handler=_list)

    c = ps.add_parser("create", help="a plan agreed with the debtor: it runs at once")
    c.add_argument("code", help="the debtor's code")
    c.add_argument("invoices", nargs="+", help="the invoice numbers the plan covers")
    c.add_argument("--terms", type=int, required=True, help="the number of instalments")
    c.add_argument("--start", type=iso_date, required=True, help="the date of the first term (YYYY-MM-DD)")
    c.add_argument("--interval", choices=rules.INTERVALS, default="month")
    c.add_argument("--interest", type=amount, default=0, help="interest agreed, e.g. 12.50")
    c.add_argument("--costs", type=amount, default=0, help="costs agreed, e.g. 40.00")
    c.add_argument("--note", default="")
    c.add_argument("--as", dest="actor", default=ACTOR)
    c.add_argument("--today", type=iso_date, default=None)
    c.set_defaults(handler=_create)

    a = ps.add_parser("accept", help="accept a plan the debtor proposed in the portal")
    a.add_argument("plan_id", type=int)
    a.add_argument("--as", dest="actor", default=ACTOR)
    a.add_argument("--today", type=iso_date, default=None)
    a.set_defaults(handler=_accept)

    r = ps.add_parser("reject", help="turn a proposed plan down, saying why")
    r.add_argument("plan_id", type=int)
    r.add_argument("--reason", required=True)
    r.add_argument("--as", dest="actor", default=ACTOR)
    r.set_defaults(handler=_reject)

    d = ps.add_parser("decide", help="decide about a broken plan")
    d.add_argument("plan_id", type=int)
    d.add_argument("choice", choices=rules.CHOICES)
    d.add_argument("--note", default="")
    d.add_argument("--as", dest="actor", default=ACTOR)
    d.add_argument("--today", type=iso_date, default=None)
    d.set_defaults(handler=_decide)

    lim = ps.add_parser("limits", help="show or change the limits of a plan and the grace period")
    lim.add_argument("--max-terms", type=int, dest="max_terms")
    lim.add_argument("--max-first-delay-days", type=int, dest="max_first_delay_days",
                     help="how far away the first term may be")
    lim.add_argument("--min-term", type=amount, dest="min_term_cents", help="the smallest term amount, e.g. 25.00")
    lim.add_argument("--grace-days", type=int, dest="grace_days", help="days a term may be late before the plan breaks")
    lim.add_argument("--notice-days", type=int, dest="notice_days", help="days before a term its notice is proposed")
    lim.add_argument("--as", dest="actor", default=ACTOR)
    lim.set_defaults(handler=_limits)

    f = ps.add_parser("refresh", help="terms paid, late or broken as of today (run daily, e.g. from cron)")
    f.add_argument("--today", type=iso_date, default=None)
    f.set_defaults(handler=_refresh)


def _list(engine, args) -> int:
    with UnitOfWork(engine) as uow:
        found = plans.list_plans(uow, code=args.debtor, status=args.status)
    if args.format == "json":
        print_json(plans.as_json(found))
        return 0
    if not found:
        print("no payment plans")
    for p in found:
        print(f"plan {p.id}  {p.debtor_code} {p.debtor_name}  {p.status}  {fmt(p.total_cents, p.currency)} in "
              f"{len(p.terms)} terms ({p.interval}), paid {fmt(p.paid_cents, p.currency)}  "
              f"invoices {', '.join(p.invoices)}")
        for t in p.terms:
            print(f"  {t.seq:>3}  {t.due_date.isoformat()}  {fmt(t.amount_cents, p.currency):>14}  "
                  f"paid {fmt(t.paid_cents, p.currency):>14}  {t.state}")
    return 0


def _create(engine, args) -> int:
    with UnitOfWork(engine, immediate=True) as uow:
        debtor_id, invoice_ids = plans.resolve(uow, args.code, args.invoices)
        plan_id = plans.create_plan(uow, debtor_id, invoice_ids, args.terms, args.start, actor=args.actor,
                                    note=args.note, interval=args.interval, interest_cents=args.interest,
                                    costs_cents=args.costs, today=args.today)
    print(f"plan {plan_id} created for {args.code}")
    return 0


def _accept(engine, args) -> int:
    with UnitOfWork(engine, immediate=True) as uow:
        plans.accept_plan(uow, args.plan_id, actor=args.actor, today=args.today)
    print(f"plan {args.plan_id} accepted")
    return 0


def _reject(engine, args) -> int:
    with UnitOfWork(engine, immediate=True) as uow:
        plans.reject_plan(uow, args.plan_id, actor=args.actor, reason=args.reason)
    print(f"plan {args.plan_id} rejected")
    return 0


def _decide(engine, args) -> int:
    with UnitOfWork(engine, immediate=True) as uow:
        status = plans.decide_broken(uow, args.plan_id, args.choice, actor=args.actor, note=args.note,
                                     today=args.today)
    print(f"plan {args.plan_id} is {status}")
    return 0


def _refresh(engine, args) -> int:
    with UnitOfWork(engine, immediate=True) as uow:
        done = plans.refresh(uow, args.today)
    print(f"{done.looked_at} running plan(s) looked at: {len(done.broken)} broken, {len(done.paid)} paid, "
          f"{len(done.notices)} notice(s) proposed")
    return 0


def _limits(engine, args) -> int:
    given = {k: getattr(args, k) for k in ("max_terms", "max_first_delay_days", "min_term_cents", "grace_days",
                                           "notice_days") if getattr(args, k) is not None}
    with UnitOfWork(engine, immediate=True) as uow:
        now = plans.save_limits(uow, given, actor=args.actor) if given else plans.limits(uow.session)
    print(f"at most {now.max_terms} terms; the first within {now.max_first_delay_days} days; each at least "
          f"{fmt(now.min_term_cents)}; a term unpaid {now.grace_days} days after its date breaks the plan; its "
          f"notice is proposed {now.notice_days} days ahead")
    return 0
