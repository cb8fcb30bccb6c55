"""Sending approved reminders: each exactly once, never after payment, nothing lost.

A message is claimed (approved → sending) in a committed transaction before its SMTP conversation
begins and marked sent (with its Message-ID) in another one after it ended. A crash in between leaves it
in `sending`: it is never sent again automatically, a person confirms it (sent, or send again:
receivables.services.send_confirm). Two senders at once cannot claim one message: PostgreSQL skips rows
another transaction holds (FOR UPDATE SKIP LOCKED) and both databases only claim a row that is still
`approved`.

While messages go out quickly, claims and "sent" records are written to the database for a chunk of
messages at a time (at most CHUNK_SECONDS of sending, at most CHUNK_MAX messages), and that work is done
while the server answers a command: see "claiming and recording" below. What the database does not yet
know is in the run's journal (receivables.services.send_journal): the claims, and for each conversation
when it began, when the message itself went out and the server's reply, each written before the next step. The
next run (and the Sender page) first brings the database up to the journals of runs that died, so a
crash leaves at most the one message that was on the wire in doubt, with what is known about it.

Messages written to the outbox folder instead are *exported*: not sent until a person marks them sent
(send_confirm.mark_sent), and never sent by SMTP after that by themselves.

Whether a message may go out is the re-check's to say (receivables.domain.recheck, which asks the chase
rule), on the message as read; the claim only makes sure nothing it looked at has changed since."""

from __future__ import annotations

import base64
import email
import functools
import heapq
import json
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from email import policy

from sqlalchemy import (
    Boolean,
    DateTime,
    and_,
    bindparam,
    case,
    exists,
    insert,
    null,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.sqlite import dialect as sqlite_dialect

from db import config
from db.models import (
    Debtor,
    Invoice,
    Message,
    MessageInvoice,
    PaymentPlan,
    PaymentPlanInvoice,
    SendAttempt,
    utcnow,
)
from db.uow import UnitOfWork
from emails import letter, mime, statement
from emails.transport import (
    PERMANENT,
    SENT,
    TEMPORARY,
    UNCERTAIN,
    Delivery,
    OutboxTransport,
    SmtpTransport,
    TransportUnavailable,
)
from receivables.domain import contacts, epc, exports, messages
from receivables.domain import plans as plan_rules
from receivables.domain.contacts import AddressError, parse_recipients
from receivables.domain.phrases import Phrase, dump
from receivables.domain.phrasing import joined, phrase_of, said
from receivables.domain.recheck import (
    ADDRESS,
    BLOCK,
    CANCEL,
    RERENDER,
    REVIEW,
    SEND,
    WAIT,
    Candidate,
    Line,
    Verdict,
    recheck,
)
from receivables.domain.translation import N_
from receivables.services import portal_links, portal_mail, reminder_settings, reminders
from receivables.services import send_journal as journal
from receivables.services.audit import record_audit
from receivables.services.errors import ServiceError
from receivables.services.payment_qr import payment_details, qr_payload
from receivables.services.queue import rerender
from receivables.services.wording import company_name, structured_reference

SENDABLE_CHANNELS = ("email", "letter")  # call tasks are never e-mailed
EXPORTED = "exported"  # written to the outbox folder: not sent until a person says it went out
OUTBOX_FROM = "Debtor Desk <noreply@debtor-desk.invalid>"


@dataclass(frozen=True)
class SendSettings:
    from_addr: str
    reply_to: str | None = None
    rate_per_minute: int = 0  # 0: no limit
    max_attempts: int = 3
    retry_seconds: float = 30.0

    @classmethod
    def from_config(cls, cfg: config.SmtpConfig) -> SendSettings:
        return cls(cfg.from_addr, cfg.reply_to, cfg.rate_per_minute, cfg.max_attempts, cfg.retry_seconds)


def smtp_settings() -> config.SmtpConfig | None:
    """The SMTP settings in use, or None when no server is configured; ServiceError naming the setting
    to fix when one is configured wrongly."""
    try:
        return config.load_smtp_config()
    except config.SmtpConfigError as exc:
        raise ServiceError(exc.msgid or str(exc), **exc.params) from None


def outbox_folder() -> str:
    """Where messages are written as .eml files when they are not sent by SMTP."""
    return config.outbox_dir()


def transport_and_settings(outbox: bool = False):
    """The transport and settings the CLI and the page send with: SMTP as configured, or the outbox
    folder. ServiceError when SMTP is wanted but not configured (or configured wrongly)."""
    try:
        cfg = smtp_settings()
    except ServiceError:
        if not outbox:
            raise
        cfg = None  # the outbox needs no server
    if outbox:
        base = SendSettings.from_config(cfg) if cfg else SendSettings(OUTBOX_FROM)
        return (OutboxTransport(outbox_folder()),
                SendSettings(base.from_addr, base.reply_to, 0, base.max_attempts, base.retry_seconds))
    if cfg is None:
        raise ServiceError("no SMTP server is configured: set SMTP_HOST, SMTP_PORT, SMTP_SECURITY, SMTP_FROM "
                           "(and SMTP_USER/SMTP_PASSWORD) or [smtp] in .streamlit/secrets.toml; or use --outbox "
                           "to write the messages as .eml files")
    return SmtpTransport.from_config(cfg), SendSettings.from_config(cfg)


# --- reading -----------------------------------------------------------------------------------------

def _due_filter(today: date, now: datetime):
    return and_(Message.status == "approved", Message.channel.in_(SENDABLE_CHANNELS),
                Message.planned_date <= today,
                or_(Message.postponed_until.is_(None), Message.postponed_until <= today),
                or_(Message.next_attempt_at.is_(None), Message.next_attempt_at <= now))


# An unsent message goes to the debtor's reminder contact as it is when it is sent (the dossier or a debtor
# import may change it at any time), without the addresses that bounced (contacts.reminder_address); a
# claimed or sent one to the addresses its claim recorded.
_RECIPIENTS = case((Message.status.in_(messages.UNSENT), Debtor.email), else_=Message.recipients)
_BOUNCING = case((Message.status.in_(messages.UNSENT), Debtor.email_bouncing), else_=null())


def _load(session, *, ids=None, where=None, limit: int | None = None, qr: bool = False) -> list[Candidate]:
    q = (select(Message.id, Message.debtor_id, Debtor.code, Debtor.name, Debtor.reminders_blocked,
                Debtor.blocked_reason, Debtor.blocked_until, Message.status, Message.channel, Message.edited,
                _RECIPIENTS, Message.subject, Message.body_text, Message.body_html, Message.currency,
                Message.total_cents, Message.costs_cents, Message.interest_cents, Message.step_name,
                Message.planned_date, Message.postponed_until, Message.next_attempt_at, Message.attempts,
                Message.smtp_message_id, Message.updated_at,
                *((Message.qr_payload, Message.qr_png) if qr else (null(), null())),
                Debtor.language, Debtor.contact_person, Debtor.address, _BOUNCING, Message.status.in_(messages.UNSENT),
                Debtor.portal_generation, Message.track)
         .join(Debtor, Debtor.id == Message.debtor_id)
         .order_by(Message.planned_date, Message.id))
    if ids is not None:
        q = q.where(Message.id.in_(list(ids)))
    if where is not None:
        q = q.where(where)
    if limit is not None:
        q = q.limit(limit)
    rows = session.execute(q).all()
    lines: dict[int, list[Line]] = {}
    message_ids = [r[0] for r in rows]
    in_plan = exists().where(PaymentPlanInvoice.invoice_id == Invoice.id, PaymentPlan.id == PaymentPlanInvoice.plan_id,
                             PaymentPlan.status.in_(sorted(plan_rules.HOLDING)))
    for i in range(0, len(message_ids), 500):
        chunk = message_ids[i:i + 500]
        for r in session.execute(
                select(MessageInvoice.message_id, Invoice.id, Invoice.number, MessageInvoice.active,
                       MessageInvoice.open_cents, Invoice.open_cents, Invoice.disputed, Invoice.paused_until,
                       Invoice.invoice_date, Invoice.due_date, in_plan)
                .join(Invoice, Invoice.id == MessageInvoice.invoice_id)
                .where(MessageInvoice.message_id.in_(chunk))
                .order_by(Invoice.due_date, Invoice.number)):
            lines.setdefault(r[0], []).append(Line(r[1], r[2], bool(r[3]), int(r[4]), int(r[5]), bool(r[6]), r[7],
                                                   r[8], r[9], bool(r[10])))
    out = []
    for r in rows:
        (mid, debtor_id, code, name, blocked, reason, until, status, channel, edited, recipients, subject,
         text, html, currency, total, costs, interest, step, planned, postponed, next_at, attempts, smtp_id,
         updated, qr_payload, qr_png, language, contact, address, bouncing, unsent, generation, track) = r
        on_file = recipients
        if track == plan_rules.NOTICE_TRACK:  # a plan's notice chases the invoices of the plan it announces
            lines[mid] = [replace(ln, in_plan=False) for ln in lines.get(mid, ())]
        if unsent:
            recipients = contacts.reminder_address(recipients, bouncing)
        out.append(Candidate(mid, debtor_id, code, name, bool(blocked), reason, until, status, channel,
                             bool(edited), recipients, subject or "", text or "", html or "", currency,
                             int(total or 0), int(total or 0) + int(costs or 0) + int(interest or 0), step,
                             planned, postponed, next_at, int(attempts or 0), smtp_id, updated,
                             tuple(lines.get(mid, ())), qr_payload, qr_png, language or "nl", contact or "",
                             address or "", int(generation or 0), on_file, bouncing))
    return out


def _settings(session) -> reminder_settings.ReminderSettings:
    return reminder_settings.load_settings(session)


def check_freshness(uow: UnitOfWork, today: date) -> date:
    """The date of the newest import; ServiceError when the open items are too old to chase."""
    cfg = _settings(uow.session)
    return reminders.check_freshness(uow.session, today, cfg.freshness_days)


@dataclass(frozen=True)
class Planned:
    """A due message as the sender sees it now (the dry run)."""
    id: int
    debtor_code: str
    debtor_name: str
    recipients: str
    subject: str
    channel: str
    currency: str
    total_cents: int
    planned_date: date
    attempts: int
    action: str  # what the sender will do: send, cancel, rerender, review, block, invalid
    reason: str


def plan(uow: UnitOfWork, today: date, *, limit: int | None = None, ids=None,
         now: datetime | None = None) -> list[Planned]:
    """What `send` would do with each approved, due message, without changing anything."""
    now = now or utcnow()
    s = uow.session
    tolerance = _settings(s).tolerance_cents
    out = []
    for c in _load(s, ids=ids, where=_due_filter(today, now), limit=limit):
        v = recheck(c, today, now, tolerance)
        out.append(Planned(c.id, c.debtor_code, c.debtor_name, c.recipients or "", c.subject, c.channel,
                           c.currency, c.due_cents, c.planned_date, c.attempts, v.action, v.reason))
    s.rollback()
    return out


# --- composing ---------------------------------------------------------------------------------------

def _payment(session) -> dict | None:
    return payment_details(session)


def _qr_for(c: Candidate, payment: dict | None) -> bytes | None:
    """The EPC QR image for the message as read (its amount due, its invoices): the one kept for it when
    that encodes the same text (drawn when it was rendered or approved: the usual case), else drawn now."""
    if f"cid:{mime.QR_CID}" not in c.body_html:
        return None
    try:
        payload = qr_payload(payment, c.currency, c.due_cents, c.debtor_code,
                             [ln.number for ln in c.active_lines], c.id)
    except epc.EpcError:
        return None
    if payload is None:
        return None
    if c.qr_png and c.qr_payload == payload:
        return c.qr_png
    return epc.qr_png(payload)


def _qr_png(uow: UnitOfWork, c: Candidate) -> bytes | None:
    """The QR image as the sender would attach it now (`c` read with its kept image, or one is drawn)."""
    if f"cid:{mime.QR_CID}" not in c.body_html:
        return None
    try:
        payment = _payment(uow.session)
    finally:
        uow.session.rollback()  # no transaction (nor SQLite's write lock) while an image may be drawn
    return _qr_for(c, payment)


def compose(c: Candidate, settings: SendSettings, message_id: str, now: datetime,
            qr_png: bytes | None, attachments: tuple[mime.Attachment, ...] = (),
            payment: dict | None = None) -> mime.BuiltMail:
    """The wire bytes of a message: the stored words, the QR code inline, our Message-ID; a step whose
    channel is "letter" also carries the words as a PDF letter (from the beneficiary of `payment`); one
    with more invoices than its text lists, the statement of account of all of them (PDF and CSV)."""
    if c.channel == "letter":
        attachments = (*attachments, letter_attachment(c, now.date(), qr_png, payment))
    attachments = (*attachments, *statement_attachments(c, now.date(), payment))
    # a spreadsheet attached (the statement) never carries a formula, however it was made
    attachments = tuple(mime.Attachment(a.filename, exports.protect_csv(a.content), a.mime_type)
                        if a.mime_type == "text/csv" else a for a in attachments)
    text, html = portal_links.fill_link((c.body_text, c.body_html), c.debtor_id, c.id, c.portal_generation)
    return mime.build_mime(mime.OutgoingMail(
        from_addr=settings.from_addr, reply_to=settings.reply_to, to=tuple(parse_recipients(c.recipients)),
        subject=c.subject, text=text, html=html, message_id=message_id,
        date=now.replace(tzinfo=UTC), qr_png=qr_png, attachments=attachments))


def letter_attachment(c: Candidate, on: date, qr_png: bytes | None, payment: dict | None) -> mime.Attachment:
    pdf = letter.render(letter.Letter(
        sender=company_name(payment), addressee=c.debtor_name, attention=c.contact_person,
        address=c.address, debtor_code=c.debtor_code, on=on, subject=c.subject,
        body=portal_links.fill_link((c.body_text,), c.debtor_id, c.id, c.portal_generation)[0],
        qr_png=qr_png, language=c.language))
    return mime.Attachment(letter.file_name(c.debtor_code, on, c.id), pdf)


def statement_attachments(c: Candidate, on: date, payment: dict | None) -> tuple[mime.Attachment, ...]:
    """The statement of account of a message whose text lists only the oldest of its invoices; none else."""
    active = c.active_lines
    if not statement.needed(len(active)):
        return ()
    rows = [statement.Row(ln.number, ln.invoice_date, ln.due_date, ln.line_open_cents) for ln in active]
    return statement.attachments(rows, company=company_name(payment), debtor_code=c.debtor_code,
                                 debtor_name=c.debtor_name, currency=c.currency, on=on, language=c.language,
                                 reference=structured_reference(c.id, (payment or {}).get("reference_kind")))


def statement_for(uow: UnitOfWork, message_id: int, on: date) -> tuple[mime.Attachment, ...]:
    """A message's statement of account (PDF, CSV) as it would go out on `on`; empty when it needs none."""
    found = _load(uow.session, ids=[int(message_id)])
    if not found:
        raise ServiceError("there is no message {message_id}", message_id=message_id)
    payment = _payment(uow.session)
    uow.session.rollback()
    return statement_attachments(found[0], on, payment)


def letter_for(uow: UnitOfWork, message_id: int, on: date) -> mime.Attachment:
    """A letter step's PDF as it would go out on `on` (for downloading from the queue)."""
    found = _load(uow.session, ids=[int(message_id)], qr=True)
    if not found:
        raise ServiceError("there is no message {message_id}", message_id=message_id)
    c = found[0]
    return letter_attachment(c, on, _qr_png(uow, c), _payment(uow.session))


@dataclass(frozen=True)
class Preview:
    id: int
    headers: dict[str, str]
    text: str
    html: str  # the QR as a data URI, as a mail client shows it
    size: int  # bytes on the wire
    action: str
    reason: str
    qr: bool = False  # the EPC QR code is in it


def preview(uow: UnitOfWork, message_id: int, settings: SendSettings, today: date) -> Preview:
    """The message exactly as it would be sent now (headers, text, HTML, size), without sending it."""
    s = uow.session
    found = _load(s, ids=[int(message_id)], qr=True)
    if not found:
        raise ServiceError("there is no message {message_id}", message_id=message_id)
    c = found[0]
    v = recheck(c, today, utcnow(), _settings(s).tolerance_cents)
    if v.action == "address":
        s.rollback()
        return Preview(c.id, {}, c.body_text, c.body_html, 0, v.action, v.reason)
    qr = _qr_png(uow, c)
    mid = c.smtp_message_id or mime.make_message_id(settings.from_addr, f"{c.id}.preview")
    built = compose(c, settings, mid, utcnow(), qr, payment=_payment(s))
    s.rollback()
    parsed = email.message_from_bytes(built.data, policy=policy.default)
    headers = {k: str(parsed[k]) for k in ("From", "Reply-To", "To", "Subject", "Date", "Message-ID") if parsed[k]}
    html = c.body_html
    if qr is not None:
        html = html.replace(f"cid:{mime.QR_CID}", "data:image/png;base64," + base64.b64encode(qr).decode("ascii"))
    else:
        html = mime.strip_qr_image(html)
    return Preview(c.id, headers, c.body_text, html, len(built.data), v.action, v.reason, qr is not None)


# --- claiming and recording ----------------------------------------------------------------------------

# Claims are committed for a chunk of messages at a time, before the first of their SMTP conversations;
# "sent" records wait in memory and are committed with the next claim (or once they waited CHUNK_SECONDS,
# or at the end), anything but "sent" at once. So each message is `sending` before anything of it goes out
# and `sent` only after the server took it. A chunk is one message until messages are seen to go out
# quickly, then doubles up to what goes out in about CHUNK_SECONDS, at most CHUNK_MAX; only then is the
# next chunk claimed ahead, while the server answers a command. The journal has every claim (on disk
# before it is committed) and every step and reply (written before the next conversation begins), so
# after a crash `recover` records the replies the database missed and puts back to approved the claimed
# messages of which nothing went out; only a message whose DATA went out without a reply stays in
# `sending` for a person, and none is sent again by itself. A run that stops in an orderly way (server
# gone, interrupted, an error) puts the claimed messages whose conversation never began back to approved.
CHUNK_MAX = 64
CHUNK_SECONDS = 0.1

# Whether a message may be sent is decided in Python, by the re-check (receivables.domain.recheck, which
# asks the chase rule) on the rows as read. The claim only makes sure that nothing it looked at changed
# since: the message itself (its updated_at moves with every change of it), the block and the address of
# its debtor, and each invoice it chases (its open amount, dispute and pause, and the amount the message
# says, and that it is in no running payment plan unless the message is a plan's notice: the re-check let
# through none that is), no invoice
# more or less. A message changed meanwhile is not claimed here; the sender reads it
# again under a lock and decides afresh (`_Batch.claim`).
# The values read travel as two JSON parameters (the messages, their invoices), so there is one statement
# for any chunk: nothing to build or prepare per chunk size, however many invoices each message has.
_PICKS = {  # key in the JSON: its type in PostgreSQL's jsonb_to_recordset
    "c": "bigint", "m": "text", "r": "text", "s": "timestamp", "b": "boolean", "u": "date", "e": "text", "x": "text",
    "n": "integer"}
_LINES = {"c": "bigint", "i": "bigint", "w": "bigint", "o": "bigint", "d": "boolean", "p": "date"}
_CLAIM_SQL = """
WITH pick AS ({picks}), line AS ({lines})
UPDATE message SET status = 'sending', updated_at = :now, smtp_message_id = pick.m, recipients = pick.r
FROM pick
WHERE message.id = pick.c{lock}
  AND {status} = 'approved' AND message.updated_at = pick.s
  AND EXISTS (SELECT 1 FROM debtor AS d WHERE d.id = message.debtor_id AND d.reminders_blocked = pick.b
              AND d.blocked_until {same} pick.u AND d.email {same} pick.e AND d.email_bouncing {same} pick.x)
  AND (SELECT COUNT(*) FROM message_invoice AS l WHERE l.message_id = message.id AND l.active = :yes) = pick.n
  AND NOT EXISTS (SELECT 1 FROM message_invoice AS l JOIN invoice AS i ON i.id = l.invoice_id
                  WHERE l.message_id = message.id AND l.active = :yes
                    AND NOT EXISTS (SELECT 1 FROM line WHERE line.c = message.id AND line.i = l.invoice_id
                                    AND line.w = l.open_cents AND line.o = i.open_cents AND line.d = i.disputed
                                    AND line.p {same} i.paused_until))
  AND (message.track = '{notices}' OR NOT EXISTS (SELECT 1 FROM message_invoice AS l
                  JOIN payment_plan_invoice AS pi ON pi.invoice_id = l.invoice_id
                  JOIN payment_plan AS p ON p.id = pi.plan_id
                  WHERE l.message_id = message.id AND l.active = :yes AND p.status IN ({holding})))
RETURNING message.id
"""
_HOLDING_SQL = ", ".join(f"'{status}'" for status in sorted(plan_rules.HOLDING))  # the plans the chase rule obeys
_SENT_SQL = """
UPDATE message SET status = 'sent', sent_at = :now, attempts = attempts + 1, last_error = :detail,
       next_attempt_at = NULL, updated_at = :now
WHERE id = :cid AND status = 'sending'
"""
_EXPORTED_SQL = """
UPDATE message SET status = 'exported', attempts = attempts + 1, last_error = NULL, next_attempt_at = NULL,
       updated_at = :now
WHERE id = :cid AND status = 'sending'
"""
_ATTEMPT_SQL = "INSERT INTO send_attempt (message_id, at, outcome, error) VALUES (:cid, :now, :outcome, :detail)"
_RELEASE_SQL = """
UPDATE message SET status = 'approved', smtp_message_id = :before, updated_at = :now
WHERE id = :cid AND status = 'sending' AND smtp_message_id = :mid
"""
_STATEMENTS = {"sent": _SENT_SQL, "exported": _EXPORTED_SQL, "attempt": _ATTEMPT_SQL, "release": _RELEASE_SQL}


# As plain SQL, made once, the statements cost no construction or cache-key work per message.
@functools.cache
def _statement(name: str):
    sql = _STATEMENTS[name]
    return text(sql).bindparams(*[b for b in (bindparam("now", type_=DateTime),) if f":{b.key}" in sql])


def _json_rows(param: str, columns: dict[str, str], dialect: str) -> str:
    """The rows of a JSON array parameter as a table with these columns (typed in PostgreSQL)."""
    if dialect == "postgresql":
        return (f"SELECT * FROM jsonb_to_recordset(CAST(:{param} AS jsonb)) AS r("
                + ", ".join(f"{k} {kind}" for k, kind in columns.items()) + ")")
    return ("SELECT " + ", ".join(f"json_extract(value, '$.{k}') AS {k}" for k in columns)
            + f" FROM json_each(:{param})")


@functools.cache
def _claim_statement(dialect: str):
    same = "IS" if dialect == "sqlite" else "IS NOT DISTINCT FROM"  # equal, or both NULL
    lock = ("" if dialect != "postgresql" else  # rows another sender holds are skipped, not waited for
            "\n  AND message.id IN (SELECT m2.id FROM message AS m2 WHERE m2.id IN (SELECT c FROM pick)"
            " AND m2.status = 'approved' FOR UPDATE SKIP LOCKED)")
    sql = _CLAIM_SQL.format(picks=_json_rows("picks", _PICKS, dialect), lines=_json_rows("lines", _LINES, dialect),
                            lock=lock, same=same, holding=_HOLDING_SQL, notices=plan_rules.NOTICE_TRACK,
                            # SQLite without statistics would read every approved message through the
                            # status index; the unary + makes it look up the ids
                            status="+message.status" if dialect == "sqlite" else "message.status")
    return text(sql).bindparams(bindparam("now", type_=DateTime), bindparam("yes", type_=Boolean))


def _claim_many(s, picks: list[tuple[Candidate, str]], now: datetime) -> set[int]:
    """approved → sending, in one statement, for each (candidate, Message-ID) that the re-check let
    through, whose message, debtor and invoices are still as the candidate was read and which no other
    sender holds (PostgreSQL: SKIP LOCKED). The ids claimed; the caller commits."""
    picks = [(c, mid) for c, mid in picks if c.active_lines]  # nothing to chase: never sent
    if not picks:
        return set()
    dialect = s.get_bind().dialect.name
    stamp = _stamp(dialect)
    rows, lines = [], []
    for c, mid in picks:
        active = c.active_lines
        rows.append({"c": c.id, "m": mid, "r": _to(c), "s": stamp(c.updated_at), "b": bool(c.blocked),
                     "u": _day(c.blocked_until), "e": c.on_file, "x": c.bouncing, "n": len(active)})
        lines += [{"c": c.id, "i": ln.invoice_id, "w": ln.line_open_cents, "o": ln.open_cents,
                   "d": bool(ln.disputed), "p": _day(ln.paused_until)} for ln in active]
    params = {"now": now, "yes": True, "picks": json.dumps(rows), "lines": json.dumps(lines)}
    return set(s.execute(_claim_statement(dialect), params).scalars())


def _day(d: date | None) -> str | None:
    return None if d is None else d.isoformat()


@functools.cache
def _stamp(dialect: str) -> Callable[[datetime], str]:
    """A moment as the database keeps it: SQLite as the text SQLAlchemy writes, PostgreSQL as ISO 8601."""
    if dialect == "sqlite":
        lite = sqlite_dialect()
        return DateTime().dialect_impl(lite).bind_processor(lite)
    return datetime.isoformat


def _to(c: Candidate) -> str:
    """The addresses a claimed message goes to, as recorded on it."""
    return ", ".join(parse_recipients(c.recipients))


def _claim_fast(s, c: Candidate, message_id: str, today: date, now: datetime, tolerance: int) -> bool:
    """One message, as read, claimed on its own when the re-check lets it through; committed."""
    done = recheck(c, today, now, tolerance).action == SEND and c.id in _claim_many(s, [(c, message_id)], now)
    s.commit()
    return done


def _lock_approved(s, message_id: int) -> bool:
    return s.execute(select(Message.id).where(Message.id == message_id, Message.status == "approved")
                     .with_for_update(skip_locked=True)).scalar() is not None


def set_status(s, message_id: int, from_status: str, **values) -> bool:
    """Change the message if it is still in `from_status`; a change of status follows the sender's table."""
    to = values.get("status")
    if to is not None and to not in messages.SENDER_TRANSITIONS[from_status]:
        raise ValueError(f"a message cannot go from {from_status} to {to}")
    values.setdefault("updated_at", utcnow())
    return s.execute(update(Message).where(Message.id == message_id, Message.status == from_status)
                     .values(**values).execution_options(synchronize_session=False)).rowcount == 1


def record_attempt(s, message_id: int, outcome: str, error: Phrase | str | None, now: datetime) -> None:
    """One line of the message's send history (what the dossier shows): an outcome and its words (kept as
    a phrase)."""
    s.execute(insert(SendAttempt).values(message_id=message_id, at=now, outcome=outcome, error=dump(error) or None))


def _backoff(settings: SendSettings, failures: int) -> float:
    return settings.retry_seconds * (2 ** max(0, failures - 1))


def _failures_in_a_row(s, c: Candidate) -> int:
    """Temporary failures of the current try-again cycle (a message approved afresh starts at 0)."""
    if c.next_attempt_at is None:
        return 0
    outcomes = s.scalars(select(SendAttempt.outcome).where(SendAttempt.message_id == c.id)
                         .order_by(SendAttempt.id.desc()).limit(50)).all()
    n = 0
    for o in outcomes:
        if o != TEMPORARY:
            break
        n += 1
    return n


def _said(d: Delivery) -> str | None:
    """What the server said to a delivered message (its queue id in it), and any recipient it refused, as
    stored."""
    if d.reply and d.detail:
        return dump(Phrase(N_("{reply}; {detail}"), {"reply": d.reply, "detail": phrase_of(d.detail)}))
    return dump(d.reply or d.detail) or None


# --- the journal of each run, and what runs that died left behind -------------------------------------

def _journal_key(uow) -> str:
    return journal.database_key(uow.engine.engine.url)


def _open_journal(uow) -> journal.Journal:
    return journal.Journal(journal.journal_dir(), _journal_key(uow))


def _at(t: datetime | None) -> str:
    return f"{t:%H:%M:%S} UTC" if t is not None else ""


def what_is_known(c: journal.Conversation, same_boot: bool) -> str:
    """A message's conversation as far as its journal tells it, in words for the person who decides."""
    facts = [Phrase(N_("claimed {time}"), {"time": _at(c.claimed_at)})]
    if c.begun_at:
        facts.append(Phrase(N_("conversation begun {time}"), {"time": _at(c.begun_at)}))
    if c.data_at:
        facts.append(Phrase(N_("the whole message handed to the server (DATA) {time}"), {"time": _at(c.data_at)}))
    facts.append(Phrase(N_("no reply received") if c.data_at else N_("no reply")))
    known = joined(facts)
    if not same_boot and not c.data_at:
        return said(N_("the machine restarted during the run that had claimed it ({known}, as far as the journal "
                       "reached the disk); look for {message_id} in the server's log or the recipient's mailbox"),
                    known=known, message_id=c.smtp_message_id)
    return said(N_("the sender stopped while the server was taking it in ({known}); the server may have delivered "
                   "it: look for {message_id} in the server's log or the recipient's mailbox"),
                known=known, message_id=c.smtp_message_id)


def _settle(s, c: journal.Conversation, **values) -> bool:
    """Change a message this conversation claimed, if it is still in `sending` under that claim."""
    values.setdefault("updated_at", utcnow())
    return s.execute(update(Message).where(Message.id == c.message_id, Message.status == "sending",
                                           Message.smtp_message_id == c.smtp_message_id)
                     .values(**values).execution_options(synchronize_session=False)).rowcount == 1


def recover(uow: UnitOfWork, *, actor: str) -> list[MessageResult]:
    """Bring the database up to what the journals of dead runs say, before anything is sent: a message
    the server answered is recorded with that answer; one whose message never left (the run died before
    DATA) goes back to approved; the one whose message was on the wire stays in `sending`, with what is
    known, for a person. Runs still alive are left alone. Returns what changed."""
    s = uow.session
    out: list[MessageResult] = []
    runs = journal.dead_runs(journal.journal_dir(), _journal_key(uow))
    for run in runs:
        now = utcnow()
        changed = []
        for c in run.conversations:
            outcome, detail = _recovered(s, c, run.same_boot, now)
            if outcome is None:
                continue
            row = s.execute(select(Debtor.code, Message.recipients, Message.subject)
                            .join(Debtor, Debtor.id == Message.debtor_id).where(Message.id == c.message_id)).first()
            code, recipients, subject = row if row else ("", "", "")
            out.append(MessageResult(c.message_id, code, recipients or "", subject, outcome, detail,
                                     c.smtp_message_id))
            changed.append({"id": c.message_id, "outcome": outcome})
        if changed:
            record_audit(s, actor, "send.recover", "message", None, None,
                         {"journal": run.path.name, "messages": changed})
        uow.commit()
        runs.done(run)
    uow.rollback()
    return out


def _recovered(s, c: journal.Conversation, same_boot: bool, now: datetime) -> tuple[str | None, str]:
    """Apply one conversation of a dead run; (what became of the message, why), or (None, "") when the
    database already knew."""
    at = c.replied_at or now
    if c.outcome in (SENT, EXPORTED):
        exported = c.outcome == EXPORTED
        answer = "; ".join(x for x in (c.reply, c.detail) if x) or None
        if exported:
            done = _settle(s, c, status="exported", attempts=Message.attempts + 1, last_error=None,
                           next_attempt_at=None)
        else:
            done = _settle(s, c, status="sent", sent_at=at, attempts=Message.attempts + 1,
                           last_error=c.detail or None, next_attempt_at=None)
        if not done:
            return None, ""
        record_attempt(s, c.message_id, "outbox" if exported else SENT, answer, at)
        return ("exported" if exported else "sent"), said(N_("recorded from the journal: {answer}"),
                                                          answer=answer or Phrase(N_("accepted")))
    if c.outcome == TEMPORARY:
        why = said(N_("not delivered ({detail}); it will be tried again"), detail=c.detail)
        if not _settle(s, c, status="approved", attempts=Message.attempts + 1, last_error=dump(why),
                       next_attempt_at=None):
            return None, ""
        record_attempt(s, c.message_id, TEMPORARY, c.detail, at)
        return "released", why
    if c.outcome == PERMANENT:
        if not _settle(s, c, status="failed", attempts=Message.attempts + 1, last_error=c.detail,
                       next_attempt_at=None):
            return None, ""
        record_attempt(s, c.message_id, PERMANENT, c.detail, at)
        return "failed", c.detail
    if c.outcome is None and c.data_at is None and same_boot:
        # nothing of the message itself went out: the server cannot have delivered it
        why = (said(N_("the sender stopped before this message was handed to the server (conversation begun "
                       "{time}); it will be sent again"), time=_at(c.begun_at)) if c.begun_at
               else said(N_("the sender stopped before this message was handed to the server; it will be sent again")))
        if not _settle(s, c, status="approved", smtp_message_id=c.before, last_error=dump(why), next_attempt_at=None):
            return None, ""
        return "released", why
    why = c.detail if c.outcome == UNCERTAIN else what_is_known(c, same_boot)
    told = s.scalar(select(SendAttempt.id).where(SendAttempt.message_id == c.message_id,
                                                 SendAttempt.outcome == UNCERTAIN,
                                                 SendAttempt.at >= c.claimed_at).limit(1))
    if told is not None or not _settle(s, c, last_error=dump(why)):  # the run, or an earlier recovery, said so
        return None, ""
    record_attempt(s, c.message_id, UNCERTAIN, why, now)
    return "waiting", why


# --- the batch ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MessageResult:
    id: int
    debtor_code: str
    recipients: str
    subject: str
    outcome: str  # sent, exported, failed, cancelled, retry, waiting (for confirmation), held, skipped;
    # recovered from a journal also: released (back to approved, nothing of it went out)
    detail: str = ""
    message_id: str | None = None


@dataclass
class BatchResult:
    results: list[MessageResult] = field(default_factory=list)
    error: str | None = None  # the run stopped early (server unreachable); the rest stays approved
    recovered: list[MessageResult] = field(default_factory=list)  # from the journals of runs that died
    portal_mails: list[portal_mail.Outcome] = field(default_factory=list)  # waiting ones sent with the run
    seconds: float = 0.0
    connections: int = 0

    def count(self, outcome: str) -> int:
        return sum(1 for r in self.results if r.outcome == outcome)

    @property
    def sent(self) -> int:
        return self.count("sent")

    @property
    def failed(self) -> int:
        return self.count("failed")

    @property
    def cancelled(self) -> int:
        return self.count("cancelled")

    @property
    def waiting(self) -> int:
        return self.count("waiting")

    @property
    def exported(self) -> int:
        return self.count(EXPORTED)

    def summary(self) -> str:
        exported = f"exported {self.exported} (not sent until marked sent), " if self.exported else ""
        return f"sent {self.sent}, {exported}failed {self.failed}, cancelled {self.cancelled}"


class _Stop(Exception):
    pass


class _Batch:
    """One run of the sender. Claimed messages wait in `queue` for their conversation; while the server
    answers the commands of one conversation the next message is built and, when the queue runs low and
    messages go out quickly, the next chunk is claimed (committing the waiting "sent" records with it)."""

    def __init__(self, uow, transport, settings: SendSettings, today: date, actor: str,
                 progress, sleep, clock):
        self.uow, self.s = uow, uow.session
        self.transport, self.settings, self.today, self.actor = transport, settings, today, actor
        self.progress, self.sleep, self.clock = progress, sleep, clock
        self.result = BatchResult()
        self.tolerance = _settings(self.s).tolerance_cents
        self.last_start: float | None = None
        self.connect_failures = 0
        self.total = 0
        self.pending: list[Candidate] = []  # not yet claimed, the next one last
        self.retries: list[tuple[float, int]] = []  # (when, message id) of temporary failures
        self.queue: deque[tuple[Candidate, str]] = deque()  # claimed, conversation not begun
        self.payment: dict | None = None  # the payment details as of the last claim
        self.built: tuple[int, mime.BuiltMail | Exception] | None = None  # the next message, made ahead
        self.sent: list[tuple[Candidate, Delivery, datetime]] = []  # "sent" records not yet written
        self.sent_since = 0.0
        self.chunk = 1  # messages to claim at once; grows while they go out quickly
        self.delivered = 0
        self.mark = (clock(), 0)  # (time, delivered) when the chunk size was last set
        self.failure: Exception | None = None  # from the work done while the server was busy
        self.journal: journal.Journal | None = None  # set by send_batch before the run
        self.interrupted: BaseException | None = None  # raised by the progress callback, re-raised later

    # --- writing ---

    def flush(self) -> None:
        """Write the waiting "sent" (or "exported") records and commit."""
        s = self.s
        if self.sent:
            rows, self.sent = self.sent, []
            exported = self.transport.kind == "outbox"
            s.execute(_statement("exported" if exported else "sent"),
                      [{"cid": c.id, "now": at, "detail": dump(d.detail) or None} for c, d, at in rows])
            s.execute(_statement("attempt"), [{"cid": c.id, "now": at, "outcome": "outbox" if exported else SENT,
                                            "detail": _said(d)} for c, d, at in rows])
        s.commit()

    def report(self, c: Candidate, outcome: str, detail: str = "", message_id: str | None = None) -> None:
        r = MessageResult(c.id, c.debtor_code, c.recipients or "", c.subject, outcome, detail, message_id)
        if outcome != "retry":
            self.result.results.append(r)
        if self.progress is not None:
            try:
                self.progress(r, len(self.result.results), self.total)
            except BaseException as exc:  # noqa: BLE001 — e.g. the page rerunning: stop, but between two messages
                self.interrupted = self.interrupted or exc

    def record(self, c: Candidate, mid: str, delivery: Delivery, now: datetime):
        """Note what happened; returns the pause before the next try, or None. A "sent" is written with
        the next claim (or when it has waited CHUNK_SECONDS, or at the end); anything else at once."""
        if delivery.outcome == SENT:
            if not self.sent:
                self.sent_since = self.clock()
            self.sent.append((c, delivery, now))
            self.report(c, EXPORTED if self.transport.kind == "outbox" else "sent", delivery.detail, mid)
            return None
        s = self.s
        retry_in = None
        if delivery.outcome == TEMPORARY:
            failures = _failures_in_a_row(s, c) + 1
            record_attempt(s, c.id, TEMPORARY, delivery.detail, now)
            if failures >= self.settings.max_attempts:
                reason = said(N_("gave up after {n} tries: {detail}"), n=failures, detail=phrase_of(delivery.detail))
                set_status(s, c.id, "sending", status="failed", attempts=c.attempts + 1, last_error=dump(reason),
                     next_attempt_at=None)
                outcome, delivery = "failed", Delivery(TEMPORARY, reason)
            else:
                retry_in = _backoff(self.settings, failures)
                set_status(s, c.id, "sending", status="approved", attempts=c.attempts + 1,
                     last_error=dump(said(N_("try {n} of {max}: {detail}"), n=failures,
                                          max=self.settings.max_attempts, detail=phrase_of(delivery.detail))),
                     next_attempt_at=now + timedelta(seconds=retry_in))
                outcome = "retry"
        elif delivery.outcome == PERMANENT:
            set_status(s, c.id, "sending", status="failed", attempts=c.attempts + 1, last_error=dump(delivery.detail),
                 next_attempt_at=None)
            record_attempt(s, c.id, PERMANENT, delivery.detail, now)
            outcome = "failed"
        else:  # uncertain: stays in sending until a person says what happened
            set_status(s, c.id, "sending", attempts=c.attempts + 1, last_error=dump(delivery.detail))
            record_attempt(s, c.id, UNCERTAIN, delivery.detail, now)
            outcome = "waiting"
        self.flush()
        self.report(c, outcome, delivery.detail, mid)
        return retry_in

    def release(self) -> None:
        """Queued messages whose conversation never began go back to approved: nothing of them went out."""
        rows = list(self.queue)
        self.queue.clear()
        self.built = None
        s = self.s
        s.rollback()
        if rows:
            now = utcnow()
            s.execute(_statement("release"), [{"cid": c.id, "mid": mid, "before": c.smtp_message_id, "now": now}
                                           for c, mid in rows])
        self.flush()

    # --- the connection ---

    def connect(self) -> None:
        """Open the connection, trying again with growing pauses; _Stop when it cannot be had."""
        if not self.transport.is_open:
            self.flush()
        while True:
            try:
                self.transport.open()
                self.connect_failures = 0
                return
            except TransportUnavailable as exc:
                self.connect_failures += 1
                if exc.permanent or self.connect_failures >= self.settings.max_attempts:
                    raise _Stop(said(N_("cannot send: {error}"), error=phrase_of(exc))) from exc
                self.sleep(_backoff(self.settings, self.connect_failures))

    def pace(self) -> None:
        if self.settings.rate_per_minute and self.last_start is not None:
            wait = 60.0 / self.settings.rate_per_minute - (self.clock() - self.last_start)
            if wait > 0:
                self.sleep(wait)
        self.last_start = self.clock()

    # --- claiming ---

    def grow(self) -> None:
        """The next chunk: twice the last, as long as that many went out in about CHUNK_SECONDS lately
        (one until anything went out, and while the rate limit spaces the messages)."""
        at, done = self.mark
        if self.delivered == done:
            return
        now = self.clock()
        each = (now - at) / (self.delivered - done)
        if self.settings.rate_per_minute:
            each = max(each, 60.0 / self.settings.rate_per_minute)
        fits = int(CHUNK_SECONDS / each) if each > 0 else CHUNK_MAX
        self.chunk = max(1, min(CHUNK_MAX, 2 * self.chunk, fits))
        self.mark = (now, self.delivered)

    def retry_due(self) -> bool:
        return bool(self.retries) and self.retries[0][0] <= self.clock()

    def claim_next(self) -> None:
        """Claim the next chunk of pending messages and queue those claimed."""
        chunk = [self.pending.pop() for _ in range(min(self.chunk, len(self.pending)))]
        now = utcnow()
        s = self.s
        picks = [(c, c.smtp_message_id or mime.make_message_id(self.settings.from_addr, c.id)) for c in chunk
                 if recheck(c, self.today, now, self.tolerance).action == SEND]
        claimed = set()
        if picks:
            claimed = _claim_many(s, picks, now)
            if claimed:
                self.journal.claimed([(c.id, mid, c.smtp_message_id) for c, mid in picks if c.id in claimed], now)
                self.payment = _payment(s)
        self.flush()  # the claims, and the "sent" records waiting
        mids = dict((c.id, mid) for c, mid in picks)
        slow = False
        for c in chunk:  # in order: those not claimed together are looked at one by one
            if c.id in claimed:
                got = (c, mids[c.id])
            else:
                got = self.claim(c, c.id, now)
                if isinstance(got, float):
                    heapq.heappush(self.retries, (self.clock() + got, c.id))
                if not isinstance(got, tuple):
                    continue
                slow = True
            self.queue.append(got)  # at once: if anything fails from here on, it is put back to approved
        if slow:
            self.payment = _payment(s)
            s.rollback()

    def claim(self, c: Candidate | None, message_id: int, now: datetime):
        """One message, looked at under a lock and acted on according to what changed: (candidate,
        Message-ID) when claimed; seconds to wait when its next try is not due yet; None when the message
        is not to be sent now."""
        s = self.s
        self.flush()
        for _ in range(3):
            if not _lock_approved(s, message_id):
                s.rollback()
                if c is not None:
                    self.report(c, "skipped", said(N_("taken by another sender, or no longer approved")))
                return None
            fresh = _load(s, ids=[message_id], qr=True)[0]
            v = recheck(fresh, self.today, now, self.tolerance)
            if v.action == SEND:
                mid = fresh.smtp_message_id or mime.make_message_id(self.settings.from_addr, fresh.id)
                if fresh.id in _claim_many(s, [(fresh, mid)], now):
                    self.journal.claimed([(fresh.id, mid, fresh.smtp_message_id)], now)
                    s.commit()
                    return fresh, mid
                s.rollback()  # an invoice or the debtor changed between the read and the claim
                continue
            if v.action == ADDRESS:  # not sent, not failed: it goes once the debtor has an address
                s.rollback()
                self.report(fresh, "held", v.reason)
                return None
            if v.action == WAIT:
                s.rollback()
                if fresh.next_attempt_at is not None and fresh.next_attempt_at > now:
                    return (fresh.next_attempt_at - now).total_seconds()  # a retry a moment early
                return None
            self._drop_and_follow(fresh, v)
            if v.action == RERENDER:
                try:
                    rerender(self.uow, fresh.id, actor=self.actor, today=self.today)  # commits
                except ServiceError as exc:
                    v = Verdict(REVIEW, said(N_("{reason}; it cannot be rendered again ({error})"),
                                             reason=phrase_of(v.reason), error=exc.phrase))
                else:
                    c = None
                    continue  # claim the re-rendered message under a fresh lock
            self.hold(fresh, v)
            return None
        s.rollback()
        return None

    def hold(self, c: Candidate, v: Verdict) -> None:
        """A message the re-check stops: cancelled (nothing left), back to a person (review) or blocked."""
        to, outcome = {CANCEL: ("cancelled", "cancelled"), REVIEW: ("proposed", "held"),
                       BLOCK: ("blocked", "held")}[v.action]
        set_status(self.s, c.id, "approved", status=to, last_error=dump(v.reason), next_attempt_at=None)
        self.s.commit()
        self.report(c, outcome, v.reason)

    def _drop_and_follow(self, c: Candidate, v: Verdict) -> None:
        s = self.s
        if v.drop:
            s.execute(update(MessageInvoice).where(MessageInvoice.message_id == c.id,
                                                   MessageInvoice.invoice_id.in_(v.drop))
                      .values(active=False).execution_options(synchronize_session=False))
        for invoice_id, cents in v.follow:
            s.execute(update(MessageInvoice).where(MessageInvoice.message_id == c.id,
                                                   MessageInvoice.invoice_id == invoice_id)
                      .values(open_cents=cents).execution_options(synchronize_session=False))

    def retry_next(self) -> None:
        ready, message_id = heapq.heappop(self.retries)
        if ready > self.clock():
            self.flush()
            self.sleep(ready - self.clock())
        self.connect()
        got = self.claim(None, message_id, utcnow())
        if isinstance(got, float):
            heapq.heappush(self.retries, (self.clock() + got, message_id))
        elif got is not None:
            self.queue.append(got)
            self.payment = _payment(self.s)
            self.s.rollback()

    # --- sending ---

    def build(self, c: Candidate, mid: str) -> mime.BuiltMail | Exception:
        """The message's wire bytes, with the EPC QR image for the payment details as of its claim (the one
        kept with it, or drawn here when none was kept or it no longer fits)."""
        try:
            return compose(c, self.settings, mid, utcnow(), _qr_for(c, self.payment), payment=self.payment)
        except Exception as exc:  # noqa: BLE001 — reported as this message's failure
            return exc

    def meanwhile(self) -> None:
        """Work done while the server answers a command of this conversation, one piece a wait (a
        conversation has four: MAIL, RCPT, DATA and the message): build the next message; when the queue
        runs low and messages go out quickly, claim the next chunk; write "sent" records that waited long
        enough. What is left when the conversation ends is done before the next one."""
        try:
            if self.queue and self.built is None:
                c, mid = self.queue[0]
                self.built = (c.id, self.build(c, mid))
                return
            if len(self.queue) <= 1 and self.pending and not self.retry_due():
                self.grow()
                if self.chunk > 1:
                    self.claim_next()
                    return
            if self.sent and self.clock() - self.sent_since >= CHUNK_SECONDS:
                self.flush()
        except Exception as exc:  # noqa: BLE001 — raised once this message's outcome is recorded
            self.failure = exc

    def send_next(self) -> None:
        """The SMTP conversation of the first queued message, and its outcome."""
        self.connect()
        c, mid = self.queue.popleft()
        ready, self.built = self.built, None
        built = ready[1] if ready is not None and ready[0] == c.id else self.build(c, mid)
        if isinstance(built, Exception):  # nothing went out: a message that cannot be built fails plainly
            self.record(c, mid, Delivery(PERMANENT, said(N_("cannot build the message: {error}"),
                                                         error=phrase_of(built))), utcnow())
            return
        self.pace()
        try:
            delivery = self.transport.deliver(built, self.meanwhile,
                                              lambda what: self.journal.step(c.id, what, utcnow()))
        except TransportUnavailable as exc:
            delivery = Delivery(TEMPORARY, str(exc))
        now = utcnow()
        # on record before anything else happens: the next conversation may begin only after this
        self.journal.outcome(c.id, EXPORTED if delivery.outcome == SENT and self.transport.kind == "outbox"
                             else delivery.outcome, delivery.detail, delivery.reply, now)
        self.delivered += 1
        retry_in = self.record(c, mid, delivery, now)
        if retry_in is not None:
            heapq.heappush(self.retries, (self.clock() + retry_in, c.id))
        if self.failure is not None:
            failure, self.failure = self.failure, None
            raise failure

    def run(self, candidates: list[Candidate]) -> None:
        self.total = len(candidates)
        self.pending = list(reversed(candidates))
        try:
            while self.pending or self.queue or self.retries:
                if self.interrupted is not None:  # between two messages
                    raise self.interrupted
                if self.queue:
                    self.send_next()
                elif self.pending and not self.retry_due():
                    self.connect()
                    self.grow()
                    self.claim_next()
                else:
                    self.retry_next()
        except BaseException:
            self.release()
            raise
        finally:
            self.flush()
            self.journal.close(remove=True)  # only reached when everything it says is committed
        if self.interrupted is not None:  # by the report of the last message
            raise self.interrupted


def send_batch(uow: UnitOfWork, transport, settings: SendSettings, *, today: date | None = None,
               actor: str, limit: int | None = None, ids=None,
               progress: Callable[[MessageResult, int, int], None] | None = None,
               sleep: Callable[[float], None] = time.sleep,
               clock: Callable[[], float] = time.monotonic) -> BatchResult:
    """Send the approved, due messages (the first `limit`, or the given ids) over one connection.
    Each is re-checked and claimed before, and recorded after, its SMTP conversation. Temporary
    failures are tried again after growing pauses, up to `max_attempts`; permanent ones fail at once.
    Raises ServiceError when the open items are stale (nothing is sent then)."""
    today = today or date.today()
    if limit is not None and limit < 1:
        raise ServiceError("--limit must be at least 1")
    # One database connection for the whole batch: short transactions on it, none left open while waiting
    # for the server (those run while the server answers a command are committed before its answer is read).
    with uow.engine.connect() as conn, UnitOfWork(conn, immediate=uow.immediate) as inner:
        return _send_batch(inner, transport, settings, today, actor, limit, ids, progress, sleep, clock)


def _send_batch(uow, transport, settings, today, actor, limit, ids, progress, sleep, clock) -> BatchResult:
    started = time.monotonic()
    s = uow.session
    check_freshness(uow, today)
    recovered = recover(uow, actor=actor)  # what runs that died left behind, before anything is sent
    # portal mails whose first try failed for a temporary reason go with the next run, whatever reminders
    # it sends: what they tell was decided when they were written
    mails = portal_mail.deliver(uow, transport, settings, actor=actor) if portal_mail.pending_ids(uow) else []
    candidates = _load(s, ids=ids, where=_due_filter(today, utcnow()), limit=limit, qr=True)
    s.rollback()
    batch = _Batch(uow, transport, settings, today, actor, progress, sleep, clock)
    batch.result.recovered = recovered
    batch.result.portal_mails = mails
    try:
        batch.journal = _open_journal(uow)
    except journal.JournalError as exc:
        raise ServiceError(str(exc)) from None
    try:
        batch.run(candidates)
    except _Stop as exc:
        batch.result.error = exc.args[0] if exc.args else str(exc)  # English, with its phrase for a page
    finally:
        batch.journal.close(remove=False)  # still there when the run died before committing everything
        transport.close()
        s.rollback()
    result = batch.result
    result.seconds = time.monotonic() - started
    result.connections = getattr(transport, "connections", 0)
    if candidates:
        record_audit(s, actor, "send.batch", "message", None, None,
                     {"via": transport.kind, "sent": result.sent, "failed": result.failed,
                      "cancelled": result.cancelled, "waiting": result.waiting, "error": result.error})
        uow.commit()
    return result


def send_test_message(uow: UnitOfWork, transport, settings: SendSettings, to: str, *, actor: str) -> Delivery:
    """A short message to `to` over the configured server, to see that the settings work."""
    try:
        recipients = parse_recipients(to)
    except AddressError as exc:
        raise ServiceError("{problem}; type the address to send the test message to", problem=exc) from None
    built = mime.build_mime(mime.OutgoingMail(
        from_addr=settings.from_addr, reply_to=settings.reply_to, to=tuple(recipients),
        subject="Debtor Desk test message",
        text="This is a test message from Debtor Desk. If you can read it, reminders can be sent.\n",
        message_id=mime.make_message_id(settings.from_addr, "test")))
    try:
        transport.open()
        delivery = transport.deliver(built)
    except TransportUnavailable as exc:
        delivery = Delivery(PERMANENT if exc.permanent else TEMPORARY, str(exc))
    finally:
        transport.close()
    record_audit(uow.session, actor, "send.test", "smtp", None, None,
                 {"to": ", ".join(recipients), "outcome": delivery.outcome, "detail": delivery.detail})
    uow.commit()
    return delivery
