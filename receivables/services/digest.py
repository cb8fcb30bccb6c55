"""Digest e-mails, opt-in: each user's daily Today (their counts and the top items) and, for account
managers, a weekly overview of their own customers' overdue invoices and disputes, so sales and finance
see the same thing.

Each digest is keyed by kind, recipient and day (daily) or ISO week (weekly). The row is written and
committed as `sending` before the mail server gets the message, as the reminder sender claims a message,
so a job that runs twice (two cron entries, a retry) sends it once; a run broken off while the server had
it leaves it `sending`, and it is not sent again by itself. The opt-ins live in one setting keyed by user
name (account managers by their name as the ledger writes it), with the address and the language."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from db.models import Debtor, Digest, Invoice, utcnow
from db.uow import UnitOfWork
from emails import mime
from emails.transport import PERMANENT, SENT, TEMPORARY, Delivery, TransportUnavailable
from receivables.domain import contacts, formatting
from receivables.domain.money import fmt
from receivables.domain.translation import N_, translate
from receivables.domain.worklist import SOURCES
from receivables.services import today as today_service
from receivables.services.audit import record_audit
from receivables.services.errors import ServiceError
from receivables.services.settings import get_setting, put_setting

SUBSCRIPTIONS_KEY = "today.digests"
KINDS = ("daily", "weekly")
TOP = 10  # items listed in a digest
WAITING, FAILED = "waiting", "failed"  # a temporary refusal is tried again by the next run; a permanent one not

SOURCE_WORDS = SOURCES  # the worklist's sources, worded as Today words them


# --- who gets one ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Subscription:
    kind: str  # daily (a user's Today) | weekly (an account manager's customers)
    name: str  # the user name, or the account manager as the debtors name them
    address: str
    language: str


def subscriptions(uow: UnitOfWork) -> list[Subscription]:
    data = get_setting(uow.session, SUBSCRIPTIONS_KEY, {}) or {}
    return [Subscription(kind, name, v.get("address", ""), v.get("language", "nl"))
            for kind in KINDS for name, v in sorted((data.get(kind) or {}).items())]


def subscription(uow: UnitOfWork, kind: str, name: str) -> Subscription | None:
    return next((s for s in subscriptions(uow) if s.kind == kind and s.name == name), None)


def subscribe(uow: UnitOfWork, kind: str, name: str, address: str, language: str = "nl", *, actor: str) -> Subscription:
    """Opt in to a digest (again: with a new address or language)."""
    if kind not in KINDS:
        raise ServiceError("a digest is daily (a user's Today) or weekly (an account manager's customers), not '{kind}'",
                           kind=kind)
    name = (name or "").strip()
    if not name:
        raise ServiceError("name the user (daily) or the account manager (weekly) the digest is for")
    try:
        address = contacts.check_address(address)
    except contacts.AddressError:
        raise ServiceError("'{address}' is not an e-mail address; type the address the digest goes to",
                           address=address) from None
    if language not in contacts.LANGUAGES:
        raise ServiceError("language '{language}' is not supported; choose one of: {languages}", language=language,
                           languages=", ".join(contacts.LANGUAGES))
    if kind == "daily":
        name = today_service.user_name(uow.session, name)
    else:
        managers = today_service.owner_choices(uow)[1]
        if name not in managers:
            raise ServiceError("no debtor has '{name}' as account manager; account managers: {known}", name=name,
                               known=", ".join(managers) or "none yet")
    data = dict(get_setting(uow.session, SUBSCRIPTIONS_KEY, {}) or {})
    data[kind] = {**(data.get(kind) or {}), name: {"address": address, "language": language}}
    put_setting(uow.session, SUBSCRIPTIONS_KEY, data, actor)
    uow.commit()
    return Subscription(kind, name, address, language)


def unsubscribe(uow: UnitOfWork, kind: str, name: str, *, actor: str) -> None:
    data = dict(get_setting(uow.session, SUBSCRIPTIONS_KEY, {}) or {})
    chosen = dict(data.get(kind) or {})
    if chosen.pop((name or "").strip(), None) is None:
        raise ServiceError("{name} gets no {kind} digest", name=name, kind=kind)
    data[kind] = chosen
    put_setting(uow.session, SUBSCRIPTIONS_KEY, data, actor)
    uow.commit()


# --- what it says ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Draft:
    key: str
    kind: str
    name: str
    to: str
    language: str
    subject: str
    text: str


def _daily(uow: UnitOfWork, sub: Subscription, day: date) -> Draft | None:
    work = today_service.worklist(uow, today=day, user=sub.name)
    if not work.items:
        return None
    lang = sub.language
    lines = [translate(N_("Good morning {name},"), lang, name=sub.name), "",
             translate(N_("What needs you on Today ({date}):"), lang, date=f"{day:%d-%m-%Y}"), ""]
    lines += [f"  {translate(SOURCE_WORDS[s], lang)}: {n}" for s, n in work.counts.items() if n]
    lines += ["", translate(N_("First on the list:"), lang), ""]
    for item in work.items[:TOP]:
        title = (item.title_phrase.worded(lambda m, **p: translate(m, lang, **p),
                                          lambda c, cur: formatting.money(c, cur, lang),
                                          lambda d: formatting.day(d, lang)) if item.title_id else item.title)
        debtor = f" ({item.debtor_code} {item.debtor_name or ''})".rstrip() if item.debtor_code else ""
        lines.append(f"  - {title}{debtor}" + (" !" if item.late else ""))
    if len(work.items) > TOP:
        lines.append("  " + translate(N_("… and {n} more on the Today page."), lang, n=len(work.items) - TOP))
    subject = translate(N_("Debtor Desk: {n} item(s) need you today"), lang, n=len(work.items))
    return Draft(f"daily:{sub.name}:{day.isoformat()}", "daily", sub.name, sub.address, lang, subject,
                 "\n".join(lines) + "\n")


def _weekly(uow: UnitOfWork, sub: Subscription, day: date) -> Draft | None:
    rows = uow.session.execute(
        select(Debtor.code, Debtor.name, Invoice.number, Invoice.due_date, Invoice.open_cents, Invoice.currency,
               Invoice.disputed)
        .join(Invoice, Invoice.debtor_id == Debtor.id)
        .where(Debtor.account_manager == sub.name, Invoice.open_cents > 0, Invoice.amount_cents > 0,
               Invoice.due_date < day)
        .order_by(Invoice.open_cents.desc(), Invoice.number)).all()
    if not rows:
        return None
    lang = sub.language
    totals: dict[str, int] = {}
    for r in rows:
        totals[r.currency] = totals.get(r.currency, 0) + r.open_cents
    disputed = [r for r in rows if r.disputed]
    year, week, _ = day.isocalendar()
    lines = [translate(N_("Good morning {name},"), lang, name=sub.name), "",
             translate(N_("Your customers' overdue invoices in week {week}: {n}, together {amount}."), lang,
                       week=week, n=len(rows), amount=", ".join(fmt(v, c) for c, v in sorted(totals.items()))),
             ""]
    for r in rows[:TOP]:
        late = (day - r.due_date).days
        lines.append("  - " + translate(N_("{debtor}: invoice {number}, {amount}, {days} days overdue"), lang,
                                        debtor=f"{r.code} {r.name}", number=r.number,
                                        amount=fmt(r.open_cents, r.currency), days=late))
    if disputed:
        lines += ["", translate(N_("Disputed ({n}):"), lang, n=len(disputed))]
        lines += [f"  - {r.code} {r.name}: {r.number} ({fmt(r.open_cents, r.currency)})" for r in disputed[:TOP]]
    subject = translate(N_("Debtor Desk: your customers' overdue invoices, week {week}"), lang, week=week)
    return Draft(f"weekly:{sub.name}:{year}-W{week:02d}", "weekly", sub.name, sub.address, lang, subject,
                 "\n".join(lines) + "\n")


def drafts(uow: UnitOfWork, *, today: date | None = None) -> list[Draft]:
    """The digests due today for everyone who opted in (none for whom there is nothing to say)."""
    day = today or date.today()
    out = []
    for sub in subscriptions(uow):
        draft = (_daily if sub.kind == "daily" else _weekly)(uow, sub, day)
        if draft is not None:
            out.append(draft)
    return out


# --- sending, once --------------------------------------------------------------------------------

@dataclass
class DigestResult:
    sent: list[str] = field(default_factory=list)  # keys
    already: list[str] = field(default_factory=list)  # sent before (or under way in another run)
    failed: list[tuple[str, str]] = field(default_factory=list)  # key, the server's words
    unconfirmed: list[str] = field(default_factory=list)  # a run broke off while the server had it

    def summary(self) -> str:
        return (f"digests: {len(self.sent)} sent, {len(self.already)} sent before, {len(self.failed)} failed"
                + (f", {len(self.unconfirmed)} to confirm" if self.unconfirmed else ""))


def _claim(uow: UnitOfWork, draft: Draft, from_addr: str) -> Digest | None:
    """The digest row, written and committed as `sending` before anything goes out; None when it is not
    ours to send (sent before, under way, or broken off while the server had it)."""
    s = uow.session
    row = s.scalars(select(Digest).where(Digest.key == draft.key)).first()
    if row is not None and row.status != WAITING:
        return None
    message_id = mime.make_message_id(from_addr, f"digest.{draft.kind}")
    if row is None:
        row = Digest(key=draft.key, kind=draft.kind, recipient_name=draft.name, recipients=draft.to,
                     language=draft.language, subject=draft.subject, body_text=draft.text, attempts=1,
                     status="sending", smtp_message_id=message_id)
        s.add(row)
        try:
            uow.commit()
        except IntegrityError:  # another run claimed it a moment ago
            s.rollback()
            return None
        return row
    claimed = s.execute(update(Digest).where(Digest.id == row.id, Digest.status == WAITING)
                        .values(status="sending", smtp_message_id=message_id, attempts=Digest.attempts + 1)
                        .execution_options(synchronize_session=False)).rowcount
    uow.commit()
    if not claimed:
        return None
    s.refresh(row)
    return row


def send_digests(uow: UnitOfWork, transport, settings, *, today: date | None = None, actor: str) -> DigestResult:
    """Send the digests due today, each at most once, however often this runs."""
    result = DigestResult()
    todo = drafts(uow, today=today)
    if not todo:
        return result
    s = uow.session
    opened = False
    try:
        for draft in todo:
            row = _claim(uow, draft, settings.from_addr)
            if row is None:
                status = s.scalar(select(Digest.status).where(Digest.key == draft.key))
                (result.unconfirmed.append if status == "sending" else result.already.append)(draft.key)
                continue
            built = mime.build_mime(mime.OutgoingMail(
                from_addr=settings.from_addr, reply_to=settings.reply_to, to=(row.recipients,), subject=row.subject,
                text=row.body_text, message_id=row.smtp_message_id))
            try:
                if not opened:
                    transport.open()
                    opened = True
                delivery = transport.deliver(built)
            except TransportUnavailable as exc:
                delivery = Delivery(PERMANENT if exc.permanent else TEMPORARY, str(exc))
            if delivery.outcome == SENT:
                row.status, row.sent_at, row.last_error = "sent", utcnow(), None
                result.sent.append(draft.key)
            elif delivery.outcome in (TEMPORARY, PERMANENT):
                row.status = WAITING if delivery.outcome == TEMPORARY else FAILED
                row.last_error = delivery.detail
                result.failed.append((draft.key, delivery.detail))
            else:  # uncertain: the server may have it; a person looks before it is sent again
                row.last_error = delivery.detail
                result.unconfirmed.append(draft.key)
            record_audit(s, actor, "digest.send", "digest", row.key, None,
                         {"to": row.recipients, "outcome": delivery.outcome, "detail": delivery.detail})
            uow.commit()
    finally:
        if opened:
            transport.close()
    return result
