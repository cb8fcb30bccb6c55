"""The debtor's portal: the personal link every reminder carries, what the debtor sees behind it and what
they can do there (dispute, promise to pay, report a payment, change the reminder address).

A link is signed (itsdangerous) with the portal's key and names the debtor, the reminder it came with and
the debtor's link generation; it expires, and raising the generation revokes every link given before. A
link that is wrong, expired, revoked or out of breath (the rate limit) is refused with one and the same
PortalRefused: the page then shows the team's contact details and nothing else.

Every visit and action is audited (actor "portal") and lands in the dossier, through the dossier's own
services where one exists (disputes, promises), so chasing pauses by the rules that already hold there."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from db import config as smtp_config
from db.models import Debtor, Invoice, Message, Note, PaymentPlan, PortalAddressChange, PortalHit, utcnow
from db.uow import UnitOfWork
from emails import statement
from receivables.domain import contacts, epc, references
from receivables.domain import plans as plan_rules
from receivables.domain import portal as rules
from receivables.domain.dossier import RuleError
from receivables.services import bank as bank_service
from receivables.services import claims, dossier, payment_qr, plans, portal_mail, sending, wording
from receivables.services.audit import record_audit
from receivables.services.errors import ServiceError
from receivables.services.ledger import drop_from_pending_messages
from receivables.services.portal_links import config, make_token, personal_link, read_token  # noqa: F401
from receivables.services.reminder_settings import PAYMENT_DEFAULTS, PAYMENT_KEY
from receivables.services.settings import get_setting, put_setting
from receivables.services.wording import company_name

ACTOR = "portal"
MAX_TOKEN = 400  # a longer text is no link of ours
SETTINGS_KEY = "portal"
SETTING_DEFAULTS = {"promise_horizon_days": rules.DEFAULT_PROMISE_HORIZON_DAYS,
                    "paid_wait_days": rules.DEFAULT_PAID_WAIT_DAYS, "contact_email": "", "contact_phone": ""}
WINDOW = timedelta(minutes=10)
LIMITS = {"token": 60, "client": 150}  # requests per window
CONFIRM_HOURS = 48


class PortalRefused(ServiceError):
    """The link does not open the portal (wrong, expired, revoked, or too many requests). One message for
    all of them, so that a visitor learns nothing from the refusal."""

    def __init__(self) -> None:
        super().__init__("this link does not work (any more)")


def _refused(session=None, why: str = "", client: str = "") -> PortalRefused:
    if session is not None:
        record_audit(session, ACTOR, "portal.refused", "portal", None, None, {"why": why, "client": client})
        session.commit()
    return PortalRefused()


# --- settings ------------------------------------------------------------------------------------------

def settings(uow: UnitOfWork) -> dict:
    """The portal's settings an admin changes: the promise horizon, the wait after "I have paid", the
    contact details shown to debtors."""
    return {**SETTING_DEFAULTS, **(get_setting(uow.session, SETTINGS_KEY) or {})}


def save_settings(uow: UnitOfWork, *, actor: str, promise_horizon_days: int | None = None,
                  paid_wait_days: int | None = None, contact_email: str | None = None,
                  contact_phone: str | None = None) -> dict:
    value = settings(uow)
    if promise_horizon_days is not None:
        if not 1 <= int(promise_horizon_days) <= rules.HORIZON_LIMIT:
            raise ServiceError("the promise horizon is between 1 and {most} days", most=rules.HORIZON_LIMIT)
        value["promise_horizon_days"] = int(promise_horizon_days)
    if paid_wait_days is not None:
        if not 1 <= int(paid_wait_days) <= 60:
            raise ServiceError("the wait after a reported payment is between 1 and 60 days")
        value["paid_wait_days"] = int(paid_wait_days)
    if contact_email is not None:
        value["contact_email"] = dossier.parse_email_addresses(contact_email)[0] if contact_email.strip() else ""
    if contact_phone is not None:
        with dossier._rules():
            value["contact_phone"] = dossier.clean_phone(contact_phone) or ""
    put_setting(uow.session, SETTINGS_KEY, value, actor)
    uow.commit()
    return value


@dataclass(frozen=True)
class Contact:
    company: str
    email: str
    phone: str


def contact(uow: UnitOfWork) -> Contact:
    """Who the debtor can reach: the company, and the portal's contact details, else the reply address
    of the reminders."""
    s = settings(uow)
    email = s.get("contact_email") or ""
    if not email:
        try:
            from_config = smtp_config.load_smtp_config()
        except smtp_config.SmtpConfigError:  # a broken SMTP setting must not break the neutral page
            from_config = None
        if from_config is not None:
            email = contacts.parse_mailbox(from_config.reply_to or from_config.from_addr)[1]
    return Contact(company_name(get_setting(uow.session, PAYMENT_KEY)), email, s.get("contact_phone") or "")


# --- links ---------------------------------------------------------------------------------------------

def revoke_links(uow: UnitOfWork, code: str, *, actor: str) -> int:
    """Every portal link given to the debtor stops working. Returns the new generation."""
    debtor = dossier._debtor(uow, code)
    before = debtor.portal_generation or 0
    debtor.portal_generation = before + 1
    record_audit(uow.session, actor, "portal.revoke", "debtor", debtor.code, {"generation": before},
                 {"generation": debtor.portal_generation})
    uow.commit()
    return debtor.portal_generation


def link_for(uow: UnitOfWork, code: str, *, actor: str) -> str:
    """A fresh link for the debtor's newest reminder (to give on the phone or by hand)."""
    debtor = dossier._debtor(uow, code)
    cfg = config()
    if not cfg.url:
        raise ServiceError("the portal has no address: set PORTAL_URL (or url in [portal] of .streamlit/secrets.toml)")
    message_id = uow.session.scalar(select(Message.id).where(Message.debtor_id == debtor.id)
                                    .order_by(Message.id.desc()).limit(1))
    if message_id is None:
        raise ServiceError("{name} has had no reminder yet; a link names the reminder it came with", name=debtor.name)
    url = personal_link(uow.session, debtor.id, message_id, cfg)
    record_audit(uow.session, actor, "portal.link", "debtor", debtor.code, None, {"message_id": message_id})
    uow.commit()
    return url


# --- the rate limit ------------------------------------------------------------------------------------

def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _count(session, key: str, limit: int, now: datetime) -> bool:
    for _ in range(2):
        row = session.get(PortalHit, key, with_for_update=True)
        if row is None:
            try:
                with session.begin_nested():
                    session.add(PortalHit(key=key, window_start=now, count=1))
                return True
            except IntegrityError:
                continue  # another process counted the first request at the same time
        if now - row.window_start >= WINDOW:
            row.window_start, row.count = now, 1
            return True
        row.count += 1
        return row.count <= limit
    return False


def admit(uow: UnitOfWork, token: str, client: str, *, now: datetime | None = None) -> bool:
    """Count a request of this token from this client; False once either has made too many in the window.
    Counted in the database, so that it holds across server processes."""
    now = now or utcnow()
    s = uow.session
    ok_token = _count(s, "token:" + _hash(token or "")[:40], LIMITS["token"], now)
    ok_client = _count(s, "client:" + (client or "unknown")[:90], LIMITS["client"], now)
    s.commit()
    return ok_token and ok_client


# --- what the debtor sees ------------------------------------------------------------------------------

@dataclass(frozen=True)
class PortalInvoice:
    number: str
    invoice_date: date
    due_date: date
    currency: str
    open_cents: int
    status: str  # one of rules.STATUS_WORDS


@dataclass(frozen=True)
class PortalView:
    debtor_name: str
    language: str
    emails: list[str]
    contact: Contact
    invoices: list[PortalInvoice]
    totals: dict[str, int]  # open per currency
    costs_cents: int = 0  # claimed by a letter, EUR
    interest_cents: int = 0
    to_pay_cents: int = 0  # what the QR code asks for
    currency: str = "EUR"
    iban: str = ""
    bic: str = ""
    beneficiary: str = ""
    reference: str = ""
    payment_link: str = ""
    qr_png: bytes | None = None
    promise_horizon_days: int = rules.DEFAULT_PROMISE_HORIZON_DAYS
    pending_address: str | None = None
    plan_max_terms: int = 12
    plan_max_first_delay_days: int = 31
    plan_proposed: bool = False  # a proposal of the debtor waits for a person


def _open(uow: UnitOfWork, token: str, client: str, *, now: datetime | None = None,
          count: bool = True) -> tuple[Debtor, rules.LinkClaims]:
    s = uow.session
    if now is not None and now.tzinfo is not None:
        now = now.astimezone(UTC).replace(tzinfo=None)
    if count and not admit(uow, token, client, now=now):
        raise _refused(s, "rate limit", client)
    claims_ = read_token(token, now=now)
    debtor = s.get(Debtor, claims_.debtor_id) if claims_ else None
    message = s.get(Message, claims_.message_id) if claims_ else None
    if (debtor is None or message is None or message.debtor_id != debtor.id
            or not rules.valid_for(claims_, debtor.portal_generation or 0)):
        raise _refused(s, "bad link" if claims_ is None else "revoked or not this debtor's", client)
    return debtor, claims_


def _statuses(s, debtor: Debtor, invoices: list[Invoice], today: date) -> dict[int, str]:
    promised: set[int] = set()
    for note in s.scalars(select(Note).where(Note.debtor_id == debtor.id, Note.kind == "promise",
                                             Note.outcome.in_(("pending",)) | Note.outcome.is_(None))):
        promised |= set(note.promise_invoice_ids or [])
    reported: set[int] = set()
    for note in s.scalars(select(Note).where(Note.debtor_id == debtor.id, Note.kind == "portal_paid")):
        data = note.data or {}
        if data.get("paused_until") and date.fromisoformat(data["paused_until"]) >= today:
            reported |= set(data.get("invoice_ids") or [])
    planned = _in_plan(s, [i.id for i in invoices])
    return {i.id: rules.invoice_status(i.disputed, i.id in promised, i.id in planned, i.id in reported)
            for i in invoices}


def _in_plan(s, invoice_ids: list[int]) -> set[int]:
    """Invoices in a running payment plan."""
    return plans.held_invoices(s) & set(invoice_ids)


def view(uow: UnitOfWork, token: str, client: str, *, today: date | None = None,
         now: datetime | None = None, count: bool = True) -> PortalView:
    """The debtor's page behind a link; PortalRefused when the link does not open it. The visit is audited
    (and on the dossier's timeline once a day)."""
    today = today or date.today()
    s = uow.session
    debtor, claims_ = _open(uow, token, client, now=now, count=count)
    invoices = list(s.scalars(select(Invoice).where(Invoice.debtor_id == debtor.id, Invoice.open_cents > 0,
                                                    Invoice.amount_cents > 0)
                              .order_by(Invoice.due_date, Invoice.number)))
    statuses = _statuses(s, debtor, invoices, today)
    shown = [PortalInvoice(i.number, i.invoice_date, i.due_date, i.currency, i.open_cents, statuses[i.id])
             for i in invoices]
    totals: dict[str, int] = {}
    for i in invoices:
        totals[i.currency] = totals.get(i.currency, 0) + i.open_cents
    pay = {**PAYMENT_DEFAULTS, **(get_setting(s, PAYMENT_KEY) or {})}
    costs, interest = _claimed(uow, debtor, today)
    payable = [i for i in invoices if i.currency == "EUR" and statuses[i.id] != rules.STATUS_DISPUTED]
    to_pay = sum(i.open_cents for i in payable) + costs + interest
    reference = bank_service.payment_reference(s, claims_.message_id)
    qr = None
    try:
        payload = payment_qr.qr_payload({**pay, "reference_kind": bank_service.reference_kind(s)}, "EUR", to_pay,
                                        debtor.code, [i.number for i in payable], message_id=claims_.message_id)
        if payload:
            qr = epc.qr_png(payload, scale=5)
    except epc.EpcError:
        qr = None
    link = ""
    if pay.get("link_pattern") and to_pay > 0:
        link = wording.payment_link(pay["link_pattern"], {"debtor_code": debtor.code, "amount": f"{to_pay // 100}.{to_pay % 100:02d}",
                                                   "reference": reference, "currency": "EUR"})
    pending = s.scalar(select(PortalAddressChange.address).where(
        PortalAddressChange.debtor_id == debtor.id, PortalAddressChange.confirmed_at.is_(None),
        PortalAddressChange.created_at >= utcnow() - timedelta(hours=CONFIRM_HOURS))
        .order_by(PortalAddressChange.id.desc()).limit(1))
    _visit(s, debtor, claims_, client, today)
    s.commit()
    cfg = settings(uow)
    limits = plans.limits(s)
    proposed = s.scalar(select(PaymentPlan.id).where(PaymentPlan.debtor_id == debtor.id,
                                                     PaymentPlan.status == plan_rules.PROPOSED).limit(1)) is not None
    return PortalView(debtor.name, contacts.letter_language(debtor.language), dossier._emails(debtor.email),
                      contact(uow), shown, totals, costs, interest, to_pay, "EUR", pay["iban"], pay["bic"],
                      pay["beneficiary"], references.format_reference(reference), link, qr, int(cfg["promise_horizon_days"]), pending,
                      limits.max_terms, limits.max_first_delay_days, proposed)


def _claimed(uow: UnitOfWork, debtor: Debtor, today: date) -> tuple[int, int]:
    """Costs and interest as they stand today, when a letter sent to the debtor claimed them."""
    claimed = uow.session.scalar(select(Message.id).where(
        Message.debtor_id == debtor.id, Message.status == "sent",
        (Message.costs_cents > 0) | (Message.interest_cents > 0)).limit(1))
    if claimed is None:
        return 0, 0
    try:
        st = claims.claim_statement(uow, debtor.code, today, "EUR")
    except ServiceError:
        return 0, 0
    return st.claim.costs_cents, st.claim.interest_cents


def _visit(s, debtor: Debtor, claims_: rules.LinkClaims, client: str, today: date) -> None:
    record_audit(s, ACTOR, "portal.visit", "debtor", debtor.code, None,
                 {"message_id": claims_.message_id, "client": client})
    start = datetime.combine(today, datetime.min.time())
    seen = s.scalar(select(Note.id).where(Note.debtor_id == debtor.id, Note.kind == "portal_visit",
                                          Note.created_at >= start).limit(1))
    if seen is None:
        s.add(Note(debtor_id=debtor.id, kind="portal_visit", text="", created_by=ACTOR,
                   message_id=claims_.message_id, data={"client": client}))


def statement_pdf(uow: UnitOfWork, token: str, client: str, *, today: date | None = None) -> tuple[str, bytes]:
    """The debtor's statement of open items as PDF (file name, bytes); reads only."""
    today = today or date.today()
    debtor, _ = _open(uow, token, client, count=False)
    s = uow.session
    invoices = list(s.scalars(select(Invoice).where(Invoice.debtor_id == debtor.id, Invoice.open_cents != 0)
                              .order_by(Invoice.due_date, Invoice.number)))
    currency = "EUR" if not invoices else max({i.currency for i in invoices},
                                              key=lambda c: sum(i.open_cents for i in invoices if i.currency == c))
    rows = [statement.Row(i.number, i.invoice_date, i.due_date, i.open_cents) for i in invoices if i.currency == currency]
    language = contacts.letter_language(debtor.language)
    pdf = statement.statement_pdf(rows, company=company_name(get_setting(s, PAYMENT_KEY)), debtor_code=debtor.code,
                                  debtor_name=debtor.name, currency=currency, on=today, language=language)
    return statement.file_name(debtor.code, today, language, "pdf"), pdf


def statement_downloaded(uow: UnitOfWork, token: str, client: str) -> None:
    """The debtor downloaded the statement: audited."""
    debtor, claims_ = _open(uow, token, client)
    record_audit(uow.session, ACTOR, "portal.statement", "debtor", debtor.code, None,
                 {"client": client, "message_id": claims_.message_id})
    uow.commit()


# --- what the debtor does ------------------------------------------------------------------------------

def _rule(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except RuleError as exc:
        raise ServiceError(exc.msgid, **exc.params) from None


def _chosen(uow: UnitOfWork, debtor: Debtor, numbers) -> list[Invoice]:
    wanted = [str(n).strip() for n in numbers or () if str(n).strip()]
    if not wanted:
        raise ServiceError("choose at least one invoice")
    found = list(uow.session.scalars(select(Invoice).where(Invoice.debtor_id == debtor.id,
                                                           Invoice.number.in_(wanted), Invoice.open_cents > 0)))
    if len(found) != len(set(wanted)):
        raise ServiceError("choose from your open invoices")
    return sorted(found, key=lambda i: (i.due_date, i.number))


def dispute(uow: UnitOfWork, token: str, client: str, numbers, reason: str, text: str = "") -> list[str]:
    """The debtor disputes these invoices: each leaves the reminders until a person resolves it (the
    dossier's dispute). Returns the numbers disputed."""
    debtor, claims_ = _open(uow, token, client)
    reason_text = _rule(rules.dispute_reason, reason, text)
    chosen = _chosen(uow, debtor, numbers)
    already = [i.number for i in chosen if i.disputed]
    if already:
        raise ServiceError("invoice {numbers} is already in dispute", numbers=", ".join(already))
    for inv in chosen:
        dossier.dispute_invoice(uow, debtor.code, inv.number, reason_text, actor=ACTOR)
    record_audit(uow.session, ACTOR, "portal.dispute", "debtor", debtor.code, None,
                 {"invoices": [i.number for i in chosen], "reason": reason, "client": client,
                  "message_id": claims_.message_id})
    uow.commit()
    return [i.number for i in chosen]


def promise(uow: UnitOfWork, token: str, client: str, promise_date: date, numbers=(), text: str = "", *,
            today: date | None = None) -> int:
    """The debtor promises to pay by a date within the horizon: the dossier's promise, so chasing of the
    invoices pauses until that date and the grace period."""
    today = today or date.today()
    debtor, claims_ = _open(uow, token, client)
    _rule(rules.check_promise_date, promise_date, today, int(settings(uow)["promise_horizon_days"]))
    chosen = _chosen(uow, debtor, numbers) if numbers else []
    note = _rule(rules.clean_free_text, text)
    note_id = dossier.promise_to_pay(uow, debtor.code, promise_date, None, [i.number for i in chosen], note,
                                     actor=ACTOR, today=today)
    record_audit(uow.session, ACTOR, "portal.promise", "debtor", debtor.code, None,
                 {"note_id": note_id, "promise_date": promise_date, "client": client,
                  "message_id": claims_.message_id})
    uow.commit()
    return note_id


def propose_plan(uow: UnitOfWork, token: str, client: str, numbers, terms: int, start_date: date, text: str = "", *,
                 today: date | None = None) -> int:
    """The debtor proposes a payment plan for these invoices: instalments from a start date within the limits
    an admin set; it waits for a person to accept or reject it (receivables.services.plans)."""
    debtor, claims_ = _open(uow, token, client)
    chosen = _chosen(uow, debtor, numbers)
    note = _rule(rules.clean_free_text, text)
    plan_id = plans.propose_plan(uow, debtor.id, [i.id for i in chosen], int(terms), start_date, source="portal",
                                 actor=ACTOR, note=note, today=today)
    record_audit(uow.session, ACTOR, "portal.plan", "debtor", debtor.code, None,
                 {"plan_id": plan_id, "invoices": [i.number for i in chosen], "terms": int(terms),
                  "start_date": start_date, "client": client, "message_id": claims_.message_id})
    uow.commit()
    return plan_id


def report_payment(uow: UnitOfWork, token: str, client: str, paid_on: date, amount_cents: int | None = None,
                   numbers=(), text: str = "", *, today: date | None = None) -> int:
    """"I have paid": chasing of the invoices (all open ones when none are chosen) waits the configured
    number of days for the bank or the next export to show the payment."""
    today = today or date.today()
    debtor, claims_ = _open(uow, token, client)
    s = uow.session
    chosen = _chosen(uow, debtor, numbers) if numbers else list(s.scalars(select(Invoice).where(
        Invoice.debtor_id == debtor.id, Invoice.open_cents > 0, Invoice.amount_cents > 0)))
    if not chosen:
        raise ServiceError("you have no open invoices")
    _rule(rules.check_paid, paid_on, amount_cents, sum(i.open_cents for i in chosen), today)
    words = _rule(rules.clean_free_text, text)
    until = today + timedelta(days=int(settings(uow)["paid_wait_days"]))
    before = {i.number: i.paused_until for i in chosen}
    for inv in chosen:
        inv.paused_until = max(inv.paused_until or until, until)
    drop_from_pending_messages(s, [i.id for i in chosen])
    note = Note(debtor_id=debtor.id, kind="portal_paid", text=words, created_by=ACTOR, message_id=claims_.message_id,
                promise_cents=amount_cents, promise_date=paid_on,
                data={"paid_on": paid_on.isoformat(), "amount_cents": amount_cents, "currency": chosen[0].currency,
                      "invoice_ids": [i.id for i in chosen], "invoices": [i.number for i in chosen],
                      "paused_until": until.isoformat()})
    s.add(note)
    s.flush()
    record_audit(s, ACTOR, "portal.paid", "debtor", debtor.code, {"paused_until": before},
                 {"note_id": note.id, "paid_on": paid_on, "amount_cents": amount_cents, "paused_until": until,
                  "invoices": [i.number for i in chosen], "client": client})
    uow.commit()
    return note.id


def request_address_change(uow: UnitOfWork, token: str, client: str, address: str, *, transport=None,
                           send_settings=None) -> str:
    """The debtor gives a new address for the reminders: a link to confirm it is mailed to that address;
    the address is used once the link is opened. Returns the address."""
    debtor, claims_ = _open(uow, token, client)
    s = uow.session
    new = _rule(rules.new_address, address)
    if new.lower() in [e.lower() for e in dossier._emails(debtor.email)]:
        raise ServiceError("reminders already go to {address}", address=new)
    cfg = config()
    if not cfg.url:
        raise ServiceError("the portal has no address: set PORTAL_URL (or url in [portal] of .streamlit/secrets.toml)")
    change = PortalAddressChange(debtor_id=debtor.id, address=new, token_hash=secrets.token_hex(32))
    s.add(change)
    s.flush()
    change.token_hash = _hash(portal_mail.confirmation_code(change.id))
    record_audit(s, ACTOR, "portal.address_requested", "debtor", debtor.code, None,
                 {"address": new, "client": client, "change_id": change.id})
    s.add(Note(debtor_id=debtor.id, kind="portal_address", text=new, created_by=ACTOR, message_id=claims_.message_id,
               data={"state": "requested", "address": new}))
    subject, body = CONFIRM_WORDS[contacts.letter_language(debtor.language)]
    company = company_name(get_setting(s, PAYMENT_KEY))
    mail = portal_mail.queue(s, debtor.id, portal_mail.ADDRESS_CONFIRMATION, new, subject,
                             body.format(name=debtor.name, hours=CONFIRM_HOURS, link=portal_mail.CONFIRM_MARK,
                                         company=company), actor=ACTOR, change_id=change.id)
    uow.commit()  # the request and its mail together: the mail is not lost when sending it fails
    done = _send_now(uow, mail.id, transport, send_settings)
    if done is None or done.outcome != "sent":
        raise ServiceError("the confirmation could not be sent to {address}; try again later", address=new)
    return new


CONFIRM_WORDS = {
    "nl": ("Bevestig uw e-mailadres voor herinneringen",
           "Beste {name},\n\nU heeft gevraagd herinneringen voortaan naar dit adres te sturen. Open deze link binnen "
           "{hours} uur om dat te bevestigen:\n\n{link}\n\nHeeft u dit niet gevraagd? Dan kunt u dit bericht negeren.\n\n"
           "Met vriendelijke groet,\n{company}\n"),
    "en": ("Confirm your e-mail address for reminders",
           "Dear {name},\n\nYou asked us to send reminders to this address from now on. Open this link within "
           "{hours} hours to confirm it:\n\n{link}\n\nDid you not ask for this? Then you can ignore this message.\n\n"
           "Kind regards,\n{company}\n"),
}


def _send_now(uow: UnitOfWork, mail_id: int, transport, send_settings) -> portal_mail.Outcome | None:
    """Send one queued portal mail at once, by the sender's rule (claimed before, recorded after); what
    became of it (None: another sender had it). One not sent now for a temporary reason stays queued
    for the next sending run."""
    if transport is None:
        transport, send_settings = sending.transport_and_settings(outbox=_no_smtp())
    done = portal_mail.deliver(uow, transport, send_settings, ids=[mail_id], actor=ACTOR)
    return done[0] if done else None


def confirm_address(uow: UnitOfWork, code: str, client: str, *, now: datetime | None = None) -> str:
    """The link mailed to a new address was opened: reminders go to it from now on. PortalRefused when the
    link is unknown, used or older than CONFIRM_HOURS."""
    now = now or utcnow()
    s = uow.session
    code = (code or "").strip()
    if not admit(uow, code, client, now=now):
        raise _refused(s, "rate limit", client)
    change = s.scalars(select(PortalAddressChange).where(PortalAddressChange.token_hash == _hash(code))).first() \
        if code and len(code) <= MAX_TOKEN else None
    if change is None or change.confirmed_at is not None or now - change.created_at > timedelta(hours=CONFIRM_HOURS):
        raise _refused(s, "bad confirmation link", client)
    debtor = s.get(Debtor, change.debtor_id)
    before = debtor.email
    debtor.email = change.address
    if debtor.email_bouncing and change.address.lower() in debtor.email_bouncing.lower():
        debtor.email_bouncing = None
    change.confirmed_at = now
    s.add(Note(debtor_id=debtor.id, kind="contact_change", text=f"email: {before or '—'} → {change.address}",
               created_by=ACTOR, data={"before": {"email": before}, "after": {"email": change.address},
                                       "source": "portal"}))
    record_audit(s, ACTOR, "debtor.contact", "debtor", debtor.code, {"email": before},
                 {"email": change.address, "client": client, "change_id": change.id})
    uow.commit()
    return change.address




REJECTED_WORDS = {
    "nl": ("Uw bezwaar tegen factuur {number}",
           "Beste {name},\n\nWij hebben uw bezwaar tegen factuur {number} bekeken. Wij houden de factuur aan:\n\n"
           "{text}\n\nWij vragen u het openstaande bedrag te betalen. Via de link in onze herinnering ziet u uw "
           "openstaande facturen.\n\nMet vriendelijke groet,\n{company}\n"),
    "en": ("Your dispute of invoice {number}",
           "Dear {name},\n\nWe have looked into your dispute of invoice {number}. The invoice stands:\n\n"
           "{text}\n\nPlease pay the amount open. The link in our reminder shows your open invoices.\n\n"
           "Kind regards,\n{company}\n"),
}


def reject_dispute(uow: UnitOfWork, code: str, number: str, text: str, *, actor: str, transport=None,
                   send_settings=None) -> str:
    """Staff reject a dispute: the invoice is chased again and the debtor gets a message saying why (at
    the reminder address). Returns the address written to."""
    debtor = dossier.reject_dispute(uow, code, number, text, actor=actor)
    to = contacts.reminder_address(debtor.email, debtor.email_bouncing)
    if to is None:
        raise ServiceError("{name} has no usable e-mail address to tell about the rejection; add one in the "
                           "dossier first", name=debtor.name)
    language = contacts.letter_language(debtor.language)
    subject, body = REJECTED_WORDS[language]
    company = company_name(get_setting(uow.session, PAYMENT_KEY))
    mail = portal_mail.queue(uow.session, debtor.id, portal_mail.DISPUTE_REJECTED, ", ".join(contacts.parse_recipients(to)),
                             subject.format(number=number),
                             body.format(name=debtor.name, number=number, text=text.strip(), company=company),
                             actor=actor)
    uow.commit()  # the rejection and the message telling it together: neither without the other
    done = _send_now(uow, mail.id, transport, send_settings)
    if done is not None and done.outcome == "retry":
        raise ServiceError("the dispute is rejected, but the message to {address} could not be sent yet ({detail}); "
                           "it goes with the next sending run", address=to, detail=done.detail)
    if done is None or done.outcome != "sent":
        raise ServiceError("the dispute is rejected, but the message to {address} did not go out ({detail}); "
                           "see the Sender page", address=to, detail=done.detail if done else "")
    return to


def _no_smtp() -> bool:
    try:
        return sending.smtp_settings() is None
    except ServiceError:
        return False
