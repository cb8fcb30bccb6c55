"""`python -m receivables portal`: the debtor's portal from the command line. Staff: a debtor's link, revoke
every link, the portal's settings. What a debtor does behind a link (the same services as the portal page):
open, dispute, promise, paid, address, confirm."""

from __future__ import annotations

from dataclasses import asdict

from db.uow import UnitOfWork
from receivables.cli.args import amount, iso_date
from receivables.cli.printers import print_json
from receivables.domain.portal import DISPUTE_REASONS
from receivables.services import portal, sending

ACTOR = "cli"
CLIENT = "cli"


def register(sub, report_sub) -> None:
    p = sub.add_parser("portal", help="the debtor's portal: links, revoking them, settings, and a debtor's "
                                      "actions behind a link")
    ps = p.add_subparsers(dest="portal_command", required=True)
    c = ps.add_parser("link", help="a fresh link for the debtor's newest reminder")
    c.add_argument("code")
    c.set_defaults(handler=_link)
    c = ps.add_parser("revoke", help="every link given to the debtor stops working")
    c.add_argument("code")
    c.set_defaults(handler=_revoke)
    c = ps.add_parser("settings", help="show or change the portal's settings")
    c.add_argument("--promise-horizon", type=int, default=None, help="days ahead a debtor may promise to pay")
    c.add_argument("--paid-wait", type=int, default=None, help="days chasing waits after 'I have paid'")
    c.add_argument("--contact-email", default=None)
    c.add_argument("--contact-phone", default=None)
    c.add_argument("--as", dest="actor", default=ACTOR)
    c.set_defaults(handler=_settings)
    c = ps.add_parser("open", help="what the debtor sees behind a link (JSON)")
    c.add_argument("token")
    c.set_defaults(handler=_open)
    c = ps.add_parser("dispute", help="dispute invoices as the debtor")
    c.add_argument("token")
    c.add_argument("--invoice", action="append", required=True)
    c.add_argument("--reason", required=True, choices=list(DISPUTE_REASONS))
    c.add_argument("--text", default="")
    c.set_defaults(handler=_dispute)
    c = ps.add_parser("promise", help="promise to pay by a date as the debtor")
    c.add_argument("token")
    c.add_argument("date", type=iso_date)
    c.add_argument("--invoice", action="append", default=[])
    c.add_argument("--text", default="")
    c.set_defaults(handler=_promise)
    c = ps.add_parser("paid", help="'I have paid' as the debtor")
    c.add_argument("token")
    c.add_argument("date", type=iso_date)
    c.add_argument("--amount", type=amount, default=None)
    c.add_argument("--invoice", action="append", default=[])
    c.add_argument("--text", default="")
    c.set_defaults(handler=_paid)
    c = ps.add_parser("plan", help="propose a payment plan as the debtor (it waits for a person)")
    c.add_argument("token")
    c.add_argument("--invoice", action="append", required=True)
    c.add_argument("--terms", type=int, required=True)
    c.add_argument("--start", type=iso_date, required=True, help="the first instalment's date")
    c.add_argument("--text", default="")
    c.set_defaults(handler=_plan)
    c = ps.add_parser("address", help="ask for reminders to go to a new address (a link to confirm is mailed)")
    c.add_argument("token")
    c.add_argument("address")
    c.add_argument("--outbox", action="store_true", help="write the confirmation into the outbox folder")
    c.set_defaults(handler=_address)
    c = ps.add_parser("confirm", help="confirm a new address with the code of the link mailed to it")
    c.add_argument("code")
    c.set_defaults(handler=_confirm)


def _link(engine, args) -> int:
    with UnitOfWork(engine) as uow:
        print(portal.link_for(uow, args.code, actor=ACTOR))
    return 0


def _revoke(engine, args) -> int:
    with UnitOfWork(engine, immediate=True) as uow:
        generation = portal.revoke_links(uow, args.code, actor=ACTOR)
    print(f"every earlier link of {args.code} is revoked (generation {generation})")
    return 0


def _settings(engine, args) -> int:
    with UnitOfWork(engine, immediate=True) as uow:
        changes = {k: v for k, v in {"promise_horizon_days": args.promise_horizon, "paid_wait_days": args.paid_wait,
                                     "contact_email": args.contact_email,
                                     "contact_phone": args.contact_phone}.items() if v is not None}
        print_json(portal.save_settings(uow, actor=args.actor, **changes) if changes else portal.settings(uow))
    return 0


def _open(engine, args) -> int:
    with UnitOfWork(engine) as uow:
        seen = portal.view(uow, args.token, CLIENT)
    data = asdict(seen)
    data.pop("qr_png")
    print_json(data)
    return 0


def _dispute(engine, args) -> int:
    with UnitOfWork(engine, immediate=True) as uow:
        numbers = portal.dispute(uow, args.token, CLIENT, args.invoice, args.reason, args.text)
    print(f"disputed: {', '.join(numbers)}")
    return 0


def _promise(engine, args) -> int:
    with UnitOfWork(engine, immediate=True) as uow:
        note_id = portal.promise(uow, args.token, CLIENT, args.date, args.invoice, args.text)
    print(f"promise recorded (note {note_id})")
    return 0


def _paid(engine, args) -> int:
    with UnitOfWork(engine, immediate=True) as uow:
        note_id = portal.report_payment(uow, args.token, CLIENT, args.date, args.amount, args.invoice, args.text)
    print(f"payment reported (note {note_id})")
    return 0


def _plan(engine, args) -> int:
    with UnitOfWork(engine, immediate=True) as uow:
        plan_id = portal.propose_plan(uow, args.token, CLIENT, args.invoice, args.terms, args.start, args.text)
    print(f"payment plan {plan_id} proposed; it waits for a person")
    return 0


def _address(engine, args) -> int:
    transport, settings = sending.transport_and_settings(outbox=args.outbox)
    with UnitOfWork(engine, immediate=True) as uow:
        address = portal.request_address_change(uow, args.token, CLIENT, args.address, transport=transport,
                                                send_settings=settings)
    print(f"a link to confirm was mailed to {address}")
    return 0


def _confirm(engine, args) -> int:
    with UnitOfWork(engine, immediate=True) as uow:
        address = portal.confirm_address(uow, args.code, CLIENT)
    print(f"reminders now go to {address}")
    return 0
