"""The team mailbox read for replies: every debtor's reaction lands in the dossier, and no reminder
crosses an answer.

Each message read is stored (by its key: UIDVALIDITY and Message-ID) and committed before it is moved to
the processed folder, so a fetch broken off anywhere resumes without storing anything twice. What a
message is (reply, auto-reply, bounce) and which debtor it belongs to is decided by
receivables.domain.replies; what follows from it is decided here:

- a reply linked to a debtor goes on the timeline (as a `reply` note, like an uploaded .eml) and pauses
  the debtor's open invoices until a person has handled it, for at most `reply_pause_days`;
- a reply that cannot be linked waits on the unassigned worklist until a person picks the debtor;
- an auto-reply is filed and changes nothing, except that an out-of-office with a return date holds the
  debtor's reminders until that day (when `postpone_to_return_date` is on);
- a bounce fails the reminder it answers ("address bounced", with the server's words) and takes the
  address off the debtor's reminder contacts into its bouncing list, so the reminder is not sent to it
  again and a debtor left without an address is on the needs-address worklist."""

from __future__ import annotations

import imaplib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Protocol

from sqlalchemy import func, or_, select, update

from db.imap_config import MailboxConfigError, load_imap_settings
from db.imap_config import sources as imap_sources
from db.models import Debtor, InboundMail, Invoice, MailAttachment, Message, Note, SendAttempt, utcnow
from db.uow import UnitOfWork
from emails.imap import CheckResult, FetchedMessage, ImapError, ImapMailbox, ImapSettings, Probe
from emails.imap import check as check_imap
from emails.imap import probe as probe_imap
from receivables.domain import contacts, phrases
from receivables.domain.messages import BOUNCES_FROM
from receivables.domain.phrases import Phrase
from receivables.domain.replies import Link, LinkKind, Reply, ReplyError, ReplyKind, link_reply, parse_reply
from receivables.domain.translation import N_
from receivables.services.audit import record_audit
from receivables.services.errors import ServiceError
from receivables.services.ledger import drop_from_pending_messages
from receivables.services.settings import get_setting, put_setting

REPLY_PAUSE_KEY = "mailbox.reply_pause_days"
DEFAULT_REPLY_PAUSE_DAYS = 14
RETURN_DATE_KEY = "mailbox.postpone_to_return_date"
MAX_TEXT = 20_000  # as much of a mail's text as the dossier keeps of a reply
SYSTEM = "mailbox"


# --- settings -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MailboxPolicy:
    reply_pause_days: int = DEFAULT_REPLY_PAUSE_DAYS  # 0: a reply pauses nothing
    postpone_to_return_date: bool = True


def load_policy(session) -> MailboxPolicy:
    try:
        days = max(0, int(get_setting(session, REPLY_PAUSE_KEY, DEFAULT_REPLY_PAUSE_DAYS)))
    except (TypeError, ValueError):
        days = DEFAULT_REPLY_PAUSE_DAYS
    return MailboxPolicy(days, bool(get_setting(session, RETURN_DATE_KEY, True)))


def save_policy(uow: UnitOfWork, *, reply_pause_days: int, postpone_to_return_date: bool, actor: str) -> None:
    """How long a reply holds a debtor's reminders at most, and whether an out-of-office's return date does."""
    try:
        days = int(reply_pause_days)
    except (TypeError, ValueError):
        raise ServiceError("the pause after a reply is a whole number of days, e.g. 14") from None
    if not 0 <= days <= 90:
        raise ServiceError("the pause after a reply is between 0 days (no pause) and 90 days")
    put_setting(uow.session, REPLY_PAUSE_KEY, days, actor)
    put_setting(uow.session, RETURN_DATE_KEY, bool(postpone_to_return_date), actor)
    uow.commit()


# --- fetching -------------------------------------------------------------------------------------

class Mailbox(Protocol):
    """What fetching needs of the team mailbox (emails.imap.ImapMailbox, or a fake in tests)."""

    def __enter__(self) -> Mailbox: ...
    def __exit__(self, *exc) -> None: ...
    def fetch_new(self, limit: int | None = None) -> Iterator[FetchedMessage]: ...
    def mark_processed(self, uid: str) -> None: ...


@dataclass
class FetchResult:
    stored: int = 0  # new messages kept
    replies: int = 0  # of which replies linked to a debtor
    unassigned: int = 0  # replies waiting for a person to pick the debtor
    auto_replies: int = 0
    bounces: int = 0
    already: int = 0  # read before (a fetch broken off before it could move them): moved only
    mail_ids: list[int] = field(default_factory=list)

    def count(self, mail: InboundMail, new: bool) -> None:
        if not new:
            self.already += 1
            return
        self.stored += 1
        self.mail_ids.append(mail.id)
        if mail.kind == ReplyKind.AUTO_REPLY:
            self.auto_replies += 1
        elif mail.kind == ReplyKind.BOUNCE:
            self.bounces += 1
        elif mail.debtor_id is None:
            self.unassigned += 1
        else:
            self.replies += 1

    def summary(self) -> str:
        text = (f"read {self.stored}: {self.replies} replies, {self.unassigned} unassigned, "
                f"{self.auto_replies} auto-replies, {self.bounces} bounces")
        return text + (f"; {self.already} read before, now moved" if self.already else "")


def imap_settings() -> ImapSettings:
    """The configured team mailbox; ServiceError says what to set when there is none."""
    try:
        settings = load_imap_settings()
    except MailboxConfigError as exc:
        raise ServiceError(exc.msgid, **exc.params) from None
    if settings is None:
        raise ServiceError("no team mailbox is set up: set host, user and password in [imap] of "
                           ".streamlit/secrets.toml, or IMAP_HOST, IMAP_USER and IMAP_PASSWORD")
    return settings


def open_mailbox(settings: ImapSettings | None = None) -> ImapMailbox:
    return ImapMailbox(settings or imap_settings())


def check(settings: ImapSettings | None = None) -> CheckResult:
    """Whether the configured mailbox can be read, in words (for a settings screen)."""
    try:
        settings = settings or imap_settings()
    except ServiceError as exc:
        return CheckResult(False, str(exc))
    return check_imap(settings)


@dataclass(frozen=True)
class ConnectionTest:
    """The team mailbox's settings tried out: where they are, what is set, and how far they get."""
    host: str
    port: int | None
    security: str
    user: str
    folder: str
    processed_folder: str
    settings_problem: ServiceError | None  # incomplete or wrong settings: nothing was tried
    probe: Probe | None

    @property
    def ok(self) -> bool:
        return self.probe is not None and self.probe.folder_exists is True


def try_connection() -> ConnectionTest:
    """Try the configured mailbox step by step (reachable, login, folder), for the Settings page."""
    try:
        settings = imap_settings()
    except ServiceError as exc:
        return ConnectionTest("", None, "", "", "", "", exc, None)
    return ConnectionTest(settings.host, settings.port, settings.security, settings.user, settings.folder,
                          settings.processed_folder, None, probe_imap(settings))


def setting_sources() -> list[tuple[str, str]]:
    """(environment variable, where its value comes from: environment, secrets.toml or default); never
    the values themselves."""
    return imap_sources()


def fetch(uow: UnitOfWork, mailbox: Mailbox, *, today: date | None = None, actor: str = SYSTEM,
          limit: int | None = None) -> FetchResult:
    """Read the new messages of the team mailbox: store and act on each, then move it to the processed
    folder. Safe to run from two places and to break off: what is stored is never stored again."""
    today = today or date.today()
    result = FetchResult()
    try:
        with mailbox as box:
            for message in box.fetch_new(limit=limit):
                mail, new = receive(uow, message.raw, key=message.key, today=today, actor=actor)
                result.count(mail, new)
                box.mark_processed(message.uid)
    except (ImapError, OSError, imaplib.IMAP4.error) as exc:
        raise ServiceError("the team mailbox could not be read: {reason}", reason=str(exc)) from None
    return result


def receive(uow: UnitOfWork, raw: bytes, *, key: str, today: date, actor: str = SYSTEM) -> tuple[InboundMail, bool]:
    """File one message and commit; (the stored mail, whether it is new)."""
    mail, new = file_mail(uow.session, raw, key=key, today=today, actor=actor)
    uow.commit()
    return mail, new


def file_mail(s, raw: bytes, *, key: str, today: date, actor: str = SYSTEM,
              is_demo: bool = False) -> tuple[InboundMail, bool]:
    """Store one message, link it and act on it (within the caller's transaction)."""
    try:
        reply = parse_reply(raw, today=today)
    except ReplyError as exc:
        reply = Reply(message_id=None, in_reply_to=(), references=(), from_name="", from_address="",
                      subject="(a message that could not be read)", sent_at=None, text=str(exc))
    known = _known(s, key, reply.message_id)
    if known is not None:
        return known, False
    link = link_reply(reply, _sent_messages(s, reply), _contact_debtors(s, _address_of(reply)))
    answers = s.get(Message, link.message_id) if link.message_id else None
    debtor = s.get(Debtor, answers.debtor_id if answers else link.debtor_id) if (answers or link.debtor_id) else None
    mail = _store(s, key, reply, link, debtor, answers, is_demo)
    if debtor is None:
        if reply.kind == ReplyKind.BOUNCE:  # an address several debtors share is dead for each of them
            for other in s.scalars(select(Debtor).where(Debtor.id.in_(link.candidates))):
                _note(s, mail, reply, other, None, _bounce(s, reply, other, None, actor), actor)
        if reply.kind != ReplyKind.REPLY:
            _handled(mail, SYSTEM)  # filed: nothing a person need do about an unknown auto-reply or bounce
        record_audit(s, actor, "mail.unassigned", "inbound_mail", mail.id, None,
                     {"from": reply.from_address, "kind": str(reply.kind)})
        return mail, True
    earlier = _recorded_before(s, debtor.id, reply.message_id)
    if earlier is not None:  # uploaded as .eml before it was fetched: one entry on the timeline
        mail.note_id = earlier.id
        _handled(mail, SYSTEM)
        return mail, True
    _act(s, mail, reply, debtor, answers, today, actor)
    return mail, True


def _act(s, mail: InboundMail, reply: Reply, debtor: Debtor, answers: Message | None, today: date,
         actor: str) -> None:
    policy = load_policy(s)
    data: dict = {}
    if reply.kind == ReplyKind.REPLY:
        if policy.reply_pause_days:
            mail.paused_until = today + timedelta(days=policy.reply_pause_days)
            mail.pause_before = _pause(s, debtor.id, mail.paused_until,
                                       Phrase(N_("the debtor replied on {day}; held until a person has read it"),
                                              {"day": today}))
            data["paused_until"] = mail.paused_until.isoformat()
    elif reply.kind == ReplyKind.AUTO_REPLY:
        if policy.postpone_to_return_date and reply.return_date and reply.return_date > today:
            until = reply.return_date - timedelta(days=1)
            _pause(s, debtor.id, until, Phrase(N_("out of office until {day}"), {"day": reply.return_date}))
            data["held_until_return"] = reply.return_date.isoformat()
        _handled(mail, SYSTEM)
    else:
        data.update(_bounce(s, reply, debtor, answers, actor))
        _handled(mail, SYSTEM)
    mail.note_id = _note(s, mail, reply, debtor, answers, data, actor).id
    record_audit(s, actor, f"mail.{reply.kind}", "debtor", debtor.code, None,
                 {"mail_id": mail.id, "link": mail.link, "message_id": answers.id if answers else None, **data})


# --- storing and linking --------------------------------------------------------------------------

def _known(s, key: str, message_id: str | None) -> InboundMail | None:
    condition = InboundMail.key == key
    if message_id:  # the same mail again under another UIDVALIDITY (a mailbox rebuilt by the server)
        condition = or_(condition, InboundMail.message_id == message_id[:998])
    return s.scalars(select(InboundMail).where(condition).order_by(InboundMail.id).limit(1)).first()


def _bare(mid: str | None) -> str:
    return (mid or "").strip().strip("<>").strip()


def _sent_messages(s, reply: Reply) -> dict[str, int]:
    """Our stored Message-IDs (without angle brackets) among those the mail refers to."""
    wanted = list(reply.answers)
    if reply.bounce is not None and reply.bounce.original_message_id:
        wanted.append(reply.bounce.original_message_id)
    forms = {form for mid in wanted for form in (mid, f"<{mid}>")}
    if not forms:
        return {}
    rows = s.execute(select(Message.smtp_message_id, Message.id).where(Message.smtp_message_id.in_(forms))).all()
    return {_bare(mid): message_id for mid, message_id in rows}


def _address_of(reply: Reply) -> str:
    return ((reply.bounce.recipient if reply.bounce is not None else reply.from_address) or "").strip().lower()


def _contact_debtors(s, address: str) -> dict[str, list[int]]:
    """The debtors whose reminder contacts (or bouncing list) hold the address."""
    if not address:
        return {}
    pattern = f"%{address}%"
    rows = s.execute(select(Debtor.id, Debtor.email, Debtor.email_bouncing).where(or_(
        func.lower(Debtor.email).like(pattern), func.lower(Debtor.email_bouncing).like(pattern)))).all()
    found = [i for i, email, bouncing in rows if address in _addresses(email) or address in contacts.bounced(bouncing)]
    return {address: found} if found else {}


def _addresses(email: str | None) -> set[str]:
    """The usable addresses of a list, lower case; a part that is no address is passed over."""
    out = set()
    for part in re.split(r"[,;\n]+", email or ""):
        try:
            out.add(contacts.parse_mailbox(part)[1].lower())
        except contacts.AddressError:
            continue
    return out


def _store(s, key: str, reply: Reply, link: Link, debtor: Debtor | None, answers: Message | None,
           is_demo: bool) -> InboundMail:
    bounce = reply.bounce
    mail = InboundMail(
        key=key[:1000], message_id=(reply.message_id or None) and reply.message_id[:998], kind=str(reply.kind),
        reason=reply.reason, from_name=reply.from_name[:255], from_address=reply.from_address[:255],
        subject=reply.subject, sent_at=reply.sent_at, text=reply.text[:MAX_TEXT],
        link=str(link.kind) if debtor is not None else str(LinkKind.UNASSIGNED),
        debtor_id=debtor.id if debtor else None, answers_message_id=answers.id if answers else None,
        return_date=reply.return_date, is_demo=is_demo,
        bounce_recipient=bounce.recipient[:255] if bounce and bounce.recipient else None,
        bounce_status=bounce.status[:20] if bounce and bounce.status else None,
        bounce_diagnostic=bounce.diagnostic if bounce else None)
    mail.attachments = [MailAttachment(name=a.name[:255], content_type=a.content_type[:255], size=a.size,
                                       data=a.data) for a in reply.attachments]
    s.add(mail)
    s.flush()
    return mail


def _recorded_before(s, debtor_id: int, message_id: str | None) -> Note | None:
    if not message_id:
        return None
    for note in s.scalars(select(Note).where(Note.debtor_id == debtor_id, Note.kind == "reply")):
        if (note.data or {}).get("message_id") == message_id:
            return note
    return None


def _sender(reply: Reply) -> str:
    if reply.from_name and reply.from_address:
        return f"{reply.from_name} <{reply.from_address}>"
    return reply.from_address or reply.from_name or "unknown sender"


def _note(s, mail: InboundMail, reply: Reply, debtor: Debtor, answers: Message | None, data: dict,
          actor: str) -> Note:
    """The mail on the debtor's timeline, stored as an uploaded .eml reply is (dossier.record_reply)."""
    text = reply.text
    if reply.kind == ReplyKind.BOUNCE and data.get("bounced"):
        text = f"{data['bounced']} bounced: {data['words']}\n\n{text}"
    note = Note(debtor_id=debtor.id, kind="reply", text=text[:MAX_TEXT], created_by=actor,
                message_id=answers.id if answers else None, is_demo=mail.is_demo,
                data={"source": "mailbox", "mail_id": mail.id, "mail_kind": str(reply.kind), "reason": reply.reason,
                      "from": _sender(reply), "subject": reply.subject,
                      "sent_at": reply.sent_at.isoformat() if reply.sent_at else None,
                      "message_id": reply.message_id, "in_reply_to": list(reply.in_reply_to),
                      "references": list(reply.references), "attachments": [a.name for a in reply.attachments],
                      **data})
    s.add(note)
    s.flush()
    return note


def _handled(mail: InboundMail, by: str) -> None:
    mail.handled_at, mail.handled_by = utcnow(), by


# --- what a mail does -----------------------------------------------------------------------------

def _pause(s, debtor_id: int, until: date, why: Phrase) -> dict[str, str | None]:
    """Hold the debtor's open invoices through `until` (a longer pause stays) and take them out of unsent
    messages; returns what each invoice was paused until before, for lifting the pause again."""
    invoices = s.scalars(select(Invoice).where(Invoice.debtor_id == debtor_id, Invoice.open_cents > 0,
                                               Invoice.amount_cents > 0)).all()
    before: dict[str, str | None] = {}
    for inv in invoices:
        if inv.paused_until is None or inv.paused_until <= until:  # equal: another reply's pause, kept below it
            before[str(inv.id)] = inv.paused_until.isoformat() if inv.paused_until else None
            inv.paused_until = until
    s.flush()
    cancelled = drop_from_pending_messages(s, [inv.id for inv in invoices])
    if cancelled:
        s.execute(update(Message).where(Message.id.in_(cancelled)).values(last_error=phrases.dump(why))
                  .execution_options(synchronize_session=False))
    return before


def _bounce(s, reply: Reply, debtor: Debtor, answers: Message | None, actor: str) -> dict:
    bounce = reply.bounce
    address = (bounce.recipient or "").strip()
    recipients = sorted(_addresses(answers.recipients)) if answers else []
    if not address and len(recipients) == 1:
        address = recipients[0]
    words = bounce.diagnostic or (f"status {bounce.status}" if bounce.status else "the receiving server refused it")
    if not address:
        return {"words": words}
    before = {"email": debtor.email, "email_bouncing": debtor.email_bouncing}
    debtor.email = contacts.take_off(debtor.email, address)
    if address.lower() not in contacts.bounced(debtor.email_bouncing):
        debtor.email_bouncing = ", ".join(filter(None, [debtor.email_bouncing, address.lower()]))
    record_audit(s, actor, "debtor.bounce", "debtor", debtor.code, before,
                 {"email": debtor.email, "email_bouncing": debtor.email_bouncing, "words": words})
    if answers is not None and answers.status in BOUNCES_FROM:
        gone = contacts.bounced(debtor.email_bouncing)
        if not recipients or set(recipients) <= gone:  # nobody it was sent to received it
            status = answers.status
            answers.status, answers.last_error = "failed", phrases.dump(
                Phrase(N_("address bounced: {address}: {words}"), {"address": address, "words": words}))
            answers.next_attempt_at, answers.updated_at = None, utcnow()
            s.add(SendAttempt(message_id=answers.id, outcome="bounced", error=words))
            record_audit(s, actor, "message.bounced", "message", answers.id, {"status": status},
                         {"status": "failed", "last_error": answers.last_error})
    return {"bounced": address, "words": words}


# --- a person's part ------------------------------------------------------------------------------

def _mail(s, mail_id: int) -> InboundMail:
    mail = s.get(InboundMail, int(mail_id))
    if mail is None:
        raise ServiceError("there is no mail {id}", id=mail_id)
    return mail


def assign(uow: UnitOfWork, mail_id: int, code: str, *, actor: str, today: date | None = None) -> int:
    """A person picks the debtor of an unassigned reply: it goes on that debtor's timeline and holds its
    reminders as a linked reply does. Returns the note id."""
    today = today or date.today()
    s = uow.session
    mail = _mail(s, mail_id)
    if mail.debtor_id is not None:
        raise ServiceError("this mail is already in the dossier of debtor {code}", code=s.get(Debtor, mail.debtor_id).code)
    if mail.handled_at is not None:
        raise ServiceError("this mail was set aside by {user} on {date}", user=mail.handled_by,
                           date=mail.handled_at.strftime("%d-%m-%Y"))
    debtor = s.scalars(select(Debtor).where(Debtor.code == (code or "").strip())).first()
    if debtor is None:
        raise ServiceError("there is no debtor with code '{code}'; search by name, e-mail or invoice number", code=code)
    mail.debtor_id, mail.link = debtor.id, "person"
    reply = Reply(message_id=mail.message_id, in_reply_to=(), references=(), from_name=mail.from_name,
                  from_address=mail.from_address, subject=mail.subject, sent_at=mail.sent_at, text=mail.text,
                  kind=ReplyKind(mail.kind), reason=mail.reason)
    _act(s, mail, reply, debtor, None, today, actor)
    note = s.get(Note, mail.note_id)
    note.data = {**(note.data or {}), "attachments": [a.name for a in mail.attachments], "assigned_by": actor}
    record_audit(s, actor, "mail.assign", "inbound_mail", mail.id, None, {"debtor": debtor.code})
    uow.commit()
    return note.id


def set_aside(uow: UnitOfWork, mail_id: int, why: str, *, actor: str) -> None:
    """An unassigned mail that is no debtor's (a supplier, a newsletter): done, with the reason."""
    s = uow.session
    mail = _mail(s, mail_id)
    if mail.debtor_id is not None or mail.handled_at is not None:
        raise ServiceError("only an unassigned mail no one has dealt with can be set aside")
    why = (why or "").strip()
    if not why:
        raise ServiceError("say why the mail is no debtor's, e.g. 'a supplier's invoice'")
    _handled(mail, actor)
    record_audit(s, actor, "mail.set_aside", "inbound_mail", mail.id, None, {"why": why[:500]})
    uow.commit()


def handle(uow: UnitOfWork, mail_id: int, text: str = "", *, actor: str) -> int:
    """A person has read a debtor's reply and done what it asks: the pause it put on the debtor's reminders
    ends, and the dossier says who handled it. Returns the note id."""
    s = uow.session
    mail = _mail(s, mail_id)
    if mail.kind != ReplyKind.REPLY or mail.debtor_id is None:
        raise ServiceError("only a reply in a debtor's dossier can be handled; pick the debtor of an "
                           "unassigned mail first")
    if mail.handled_at is not None:
        raise ServiceError("this reply was handled by {user} on {date}", user=mail.handled_by,
                           date=mail.handled_at.strftime("%d-%m-%Y"))
    _handled(mail, actor)
    lifted = _lift(s, mail)
    received = (mail.sent_at or mail.received_at)
    words = f"Reply of {received:%d-%m-%Y} handled ({mail.subject or 'no subject'})"
    text = (text or "").strip()
    note = Note(debtor_id=mail.debtor_id, kind="note", text=f"{words}: {text}" if text else words,
                created_by=actor, data={"mail_id": mail.id})
    s.add(note)
    s.flush()
    record_audit(s, actor, "mail.handle", "inbound_mail", mail.id, {"paused_until": mail.paused_until},
                 {"note_id": note.id, "pause_lifted_on": lifted})
    uow.commit()
    return note.id


def _lift(s, mail: InboundMail) -> list[int]:
    """Invoices the reply paused go back to what held them before (another unhandled reply's pause, or
    the pause they had), unless something paused them longer meanwhile."""
    if not mail.paused_until or not mail.pause_before:
        return []
    others = s.execute(select(InboundMail.paused_until, InboundMail.handled_at).where(
        InboundMail.debtor_id == mail.debtor_id, InboundMail.id != mail.id,
        InboundMail.paused_until.is_not(None))).all()
    open_pauses = [d for d, handled in others if handled is None]
    ended = {d for d, handled in others if handled is not None} | {mail.paused_until}
    lifted = []
    for invoice_id, before in mail.pause_before.items():
        inv = s.get(Invoice, int(invoice_id))
        if inv is None or inv.paused_until != mail.paused_until:
            continue
        previous = date.fromisoformat(before) if before else None
        keep = [d for d in (previous if previous not in ended else None, *open_pauses) if d is not None]
        inv.paused_until = max(keep) if keep else None
        lifted.append(inv.id)
    return lifted


@dataclass(frozen=True)
class AttachmentFile:
    name: str
    content_type: str
    data: bytes


def attachment(uow: UnitOfWork, attachment_id: int) -> AttachmentFile:
    """A kept attachment, to download."""
    row = uow.session.get(MailAttachment, int(attachment_id))
    if row is None:
        raise ServiceError("there is no attachment {id}", id=attachment_id)
    if row.data is None:
        raise ServiceError("{name} was larger than the mailbox keeps ({size} bytes); find it in the processed folder "
                           "of the team mailbox", name=row.name, size=format(row.size, ","))
    return AttachmentFile(row.name, row.content_type, row.data)


@dataclass(frozen=True)
class MailView:
    id: int
    kind: str
    from_: str
    subject: str
    at: datetime
    text: str
    debtor_code: str | None
    link: str
    attachments: list[tuple[int, str, int, bool]]  # id, name, size, kept
    paused_until: date | None
    return_date: date | None


def mails(uow: UnitOfWork, ids) -> dict[int, MailView]:
    """The mails with these ids, as a screen shows them."""
    wanted = [int(i) for i in ids]
    if not wanted:
        return {}
    s = uow.session
    codes = dict(s.execute(select(Debtor.id, Debtor.code).join(InboundMail, InboundMail.debtor_id == Debtor.id)
                           .where(InboundMail.id.in_(wanted))).all())
    files: dict[int, list] = {}
    for a in s.execute(select(MailAttachment.id, MailAttachment.mail_id, MailAttachment.name, MailAttachment.size,
                              MailAttachment.data.is_not(None)).where(MailAttachment.mail_id.in_(wanted))
                       .order_by(MailAttachment.id)):
        files.setdefault(a[1], []).append((a[0], a[2], a[3], bool(a[4])))
    out = {}
    for m in s.scalars(select(InboundMail).where(InboundMail.id.in_(wanted))):
        out[m.id] = MailView(m.id, m.kind, f"{m.from_name} <{m.from_address}>" if m.from_name else m.from_address,
                             m.subject, m.sent_at or m.received_at, m.text, codes.get(m.debtor_id), m.link,
                             files.get(m.id, []), m.paused_until, m.return_date)
    return out


@dataclass(frozen=True)
class ReplyAttachment:
    """A file that came with a mail in a debtor's dossier."""
    id: int
    name: str
    size: int
    kept: bool  # False: larger than the mailbox keeps (it is in the processed folder)
    mail_id: int
    at: datetime
    sender: str
    subject: str


def debtor_attachments(uow: UnitOfWork, code: str) -> list[ReplyAttachment]:
    """The attachments of the mails linked to this debtor, newest mail first, for the dossier."""
    s = uow.session
    rows = s.execute(
        select(MailAttachment.id, MailAttachment.name, MailAttachment.size, MailAttachment.data.is_not(None),
               InboundMail.id, InboundMail.sent_at, InboundMail.received_at, InboundMail.from_name,
               InboundMail.from_address, InboundMail.subject)
        .join(InboundMail, InboundMail.id == MailAttachment.mail_id).join(Debtor, Debtor.id == InboundMail.debtor_id)
        .where(Debtor.code == (code or "").strip())
        .order_by(func.coalesce(InboundMail.sent_at, InboundMail.received_at).desc(), InboundMail.id.desc(),
                  MailAttachment.id)).all()
    return [ReplyAttachment(aid, name, size, bool(kept), mid, sent or received,
                            f"{from_name} <{address}>" if from_name else address, subject or "")
            for aid, name, size, kept, mid, sent, received, from_name, address, subject in rows]


def bouncing_addresses(uow: UnitOfWork, code: str) -> list[str]:
    """The debtor's addresses that bounced and are not used until a person enters or confirms them."""
    bouncing = uow.session.scalar(select(Debtor.email_bouncing).where(Debtor.code == (code or "").strip()))
    return contacts.split_recipients(bouncing)
