"""Mails to a debtor that are no reminder: the link confirming a new reminder address and the answer to a
rejected dispute. Each is written as a row in the same transaction as what it tells (so none is lost)
and sent by the reminders' rule: claimed (queued → sending, committed) before its SMTP conversation
begins, recorded after it ended. Two senders cannot both claim one; a crash in between leaves it in
`sending`, in doubt: never sent again by itself, a person says whether it went out (`confirm_sent`,
`confirm_resend`). A temporary failure puts it back in the queue for the next sending run.

A confirmation's link is not stored: its words hold CONFIRM_MARK, and the code is derived from the
portal's key and the address change when the mail is built (only its hash is kept, on the change)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from db.models import Debtor, PortalAddressChange, PortalMail, utcnow
from db.uow import UnitOfWork
from emails import mime
from emails.transport import PERMANENT, SENT, TEMPORARY, Delivery, TransportUnavailable
from receivables.domain import phrases
from receivables.domain.messages import SEND_AGAIN, on_its_way
from receivables.domain.phrases import Phrase
from receivables.domain.phrasing import kept, phrase_of, said
from receivables.domain.translation import N_
from receivables.services import portal_links
from receivables.services.audit import record_audit
from receivables.services.errors import ServiceError

ADDRESS_CONFIRMATION = "address_confirmation"
DISPUTE_REJECTED = "dispute_rejected"
QUEUED, SENDING, DONE, FAILED = "queued", "sending", "sent", "failed"
CONFIRM_MARK = "{confirm-link}"  # where a confirmation's words hold its link until it is sent
_AUDIT = {ADDRESS_CONFIRMATION: "portal.address_mailed", DISPUTE_REJECTED: "portal.dispute_rejected_mailed"}


def confirmation_code(change_id: int) -> str:
    """The code in the link confirming address change `change_id`: derived from the portal's key, so the
    database holds only its hash and the mail can still be built (again) when it is sent."""
    cfg = portal_links.config()
    try:
        key = cfg.signing_key()
    except Exception as exc:  # noqa: BLE001 — PortalConfigError, worded by its own message id
        raise ServiceError(getattr(exc, "msgid", str(exc)), **getattr(exc, "params", {})) from None
    digest = hmac.new(key.encode(), f"address-confirmation:{change_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def queue(s, debtor_id: int, kind: str, to: str, subject: str, body_text: str, *, actor: str,
          change_id: int | None = None) -> PortalMail:
    """A mail to send, added to the caller's transaction (committed with what it tells)."""
    mail = PortalMail(debtor_id=debtor_id, kind=kind, change_id=change_id, recipients=to, subject=subject,
                      body_text=body_text, status=QUEUED, attempts=0, created_by=actor)
    s.add(mail)
    s.flush()
    return mail


@dataclass(frozen=True)
class Outcome:
    id: int
    kind: str
    recipients: str
    outcome: str  # sent, retry (back in the queue), failed, waiting (in doubt)
    detail: str = ""


def _build(mail: PortalMail, settings, message_id: str) -> mime.BuiltMail:
    text = mail.body_text
    if CONFIRM_MARK in text:
        url = portal_links.config().url
        if not url:
            raise ServiceError("the portal has no address: set PORTAL_URL (or url in [portal] of "
                               ".streamlit/secrets.toml)")
        text = text.replace(CONFIRM_MARK, f"{url}/?confirm={confirmation_code(mail.change_id)}")
    return mime.build_mime(mime.OutgoingMail(
        from_addr=settings.from_addr, reply_to=settings.reply_to,
        to=tuple(a.strip() for a in mail.recipients.split(",") if a.strip()), subject=mail.subject, text=text,
        message_id=message_id))


def _claim(uow: UnitOfWork, mail_id: int, message_id: str, now: datetime) -> bool:
    """queued → sending, committed before anything of the mail goes out; False when another sender has it."""
    done = uow.session.execute(
        update(PortalMail).where(PortalMail.id == mail_id, PortalMail.status == QUEUED)
        .values(status=SENDING, smtp_message_id=message_id, claimed_at=now, last_error=None)
        .execution_options(synchronize_session=False)).rowcount == 1
    uow.commit()
    return done


def _record(uow: UnitOfWork, mail: PortalMail, delivery: Delivery, max_attempts: int, now: datetime,
            actor: str) -> str:
    s = uow.session
    attempts = mail.attempts + 1
    values: dict = {"attempts": attempts, "last_error": phrases.dump(delivery.detail) or None}
    if delivery.outcome == SENT:
        values.update(status=DONE, sent_at=now)
        outcome = "sent"
        if mail.change_id is not None:
            s.execute(update(PortalAddressChange).where(PortalAddressChange.id == mail.change_id)
                      .values(sent_at=now).execution_options(synchronize_session=False))
    elif delivery.outcome == TEMPORARY and attempts < max_attempts:
        values.update(status=QUEUED)
        outcome = "retry"
    elif delivery.outcome in (TEMPORARY, PERMANENT):
        values.update(status=FAILED)
        outcome = "failed"
    else:  # uncertain: in doubt, a person says what happened
        outcome = "waiting"
        values["last_error"] = phrases.dump(delivery.detail or said(N_("no answer from the server")))
    s.execute(update(PortalMail).where(PortalMail.id == mail.id, PortalMail.status == SENDING).values(**values)
              .execution_options(synchronize_session=False))
    code = s.scalar(select(Debtor.code).where(Debtor.id == mail.debtor_id))
    record_audit(s, actor, _AUDIT[mail.kind] if outcome == "sent" else "portal.mail_not_sent", "debtor", code, None,
                 {"mail_id": mail.id, "change_id": mail.change_id, "to": mail.recipients,
                  "outcome": delivery.outcome, "detail": delivery.detail})
    uow.commit()
    return outcome


def deliver(uow: UnitOfWork, transport, settings, *, ids=None, actor: str = "sender",
            now: datetime | None = None) -> list[Outcome]:
    """Send the queued portal mails (the given ids, or all of them), one at a time over one connection:
    each claimed before and recorded after its SMTP conversation. What became of each."""
    s = uow.session
    q = select(PortalMail.id, PortalMail.smtp_message_id).where(PortalMail.status == QUEUED).order_by(PortalMail.id)
    if ids is not None:
        q = q.where(PortalMail.id.in_([int(i) for i in ids]))
    pending = s.execute(q).all()
    uow.rollback()
    out: list[Outcome] = []
    max_attempts = getattr(settings, "max_attempts", 3)
    try:
        for mail_id, kept in pending:
            at = now or utcnow()
            message_id = kept or mime.make_message_id(settings.from_addr, f"portal{mail_id}")
            if not _claim(uow, mail_id, message_id, at):
                continue
            mail = s.get(PortalMail, mail_id, populate_existing=True)
            try:
                built = _build(mail, settings, message_id)
            except Exception as exc:  # noqa: BLE001 — nothing went out: this mail fails plainly
                delivery = Delivery(PERMANENT, said(N_("cannot build the message: {error}"),
                                                    error=phrase_of(exc)))
            else:
                try:
                    if not transport.is_open:
                        transport.open()
                    delivery = transport.deliver(built)
                except TransportUnavailable as exc:
                    delivery = Delivery(PERMANENT if exc.permanent else TEMPORARY, str(exc))
            outcome = _record(uow, mail, delivery, max_attempts, now or utcnow(), actor)
            out.append(Outcome(mail.id, mail.kind, mail.recipients, outcome, delivery.detail))
    finally:
        transport.close()
        uow.rollback()
    return out


def pending_ids(uow: UnitOfWork) -> list[int]:
    """The portal mails waiting in the queue (new, or back after a temporary failure)."""
    ids = list(uow.session.scalars(select(PortalMail.id).where(PortalMail.status == QUEUED).order_by(PortalMail.id)))
    uow.rollback()
    return ids


@dataclass(frozen=True)
class InDoubt:
    id: int
    debtor_code: str
    kind: str
    recipients: str
    subject: str
    claimed_at: datetime
    message_id: str | None
    last_error: str | None
    in_flight: bool  # claimed moments ago without a problem: a sender may still be at it


def in_doubt(uow: UnitOfWork, now: datetime | None = None) -> list[InDoubt]:
    """Portal mails in `sending`: handed to the server or about to be, with no word back."""
    now = now or utcnow()
    rows = uow.session.execute(
        select(PortalMail.id, Debtor.code, PortalMail.kind, PortalMail.recipients, PortalMail.subject,
               PortalMail.claimed_at, PortalMail.smtp_message_id, PortalMail.last_error)
        .join(Debtor, Debtor.id == PortalMail.debtor_id)
        .where(PortalMail.status == SENDING).order_by(PortalMail.claimed_at, PortalMail.id)).all()
    uow.rollback()
    return [InDoubt(*r[:7], kept(r[7]) if r[7] is not None else None, in_flight=on_its_way(r[7], r[5], now))
            for r in rows]


def _stuck(s, mail_id: int, now: datetime) -> PortalMail:
    mail = s.get(PortalMail, int(mail_id), with_for_update=True)
    if mail is None or mail.status != SENDING:
        raise ServiceError("portal mail {mail_id} is not waiting for confirmation", mail_id=mail_id)
    if on_its_way(mail.last_error, mail.claimed_at, now):
        raise ServiceError("portal mail {mail_id} was handed to a sender at {time} UTC and may still be on its way; "
                           "wait a few minutes before confirming it", mail_id=mail_id,
                           time=mail.claimed_at.strftime("%H:%M:%S"))
    return mail


def confirm_sent(uow: UnitOfWork, mail_id: int, *, actor: str, now: datetime | None = None) -> None:
    """A person checked: it did go out (as of when it was handed over)."""
    now = now or utcnow()
    s = uow.session
    mail = _stuck(s, mail_id, now)
    mail.status, mail.sent_at, mail.last_error = DONE, mail.claimed_at, None
    if mail.change_id is not None:
        s.get(PortalAddressChange, mail.change_id).sent_at = mail.claimed_at
    record_audit(s, actor, "portal.mail_confirm_sent", "portal_mail", mail.id, {"status": SENDING}, {"status": DONE})
    uow.commit()


def confirm_resend(uow: UnitOfWork, mail_id: int, *, actor: str, now: datetime | None = None) -> None:
    """A person checked: it did not arrive. It goes back in the queue, with the same Message-ID."""
    now = now or utcnow()
    s = uow.session
    mail = _stuck(s, mail_id, now)
    mail.status, mail.last_error = QUEUED, phrases.dump(Phrase(SEND_AGAIN, {"actor": actor}))
    record_audit(s, actor, "portal.mail_confirm_resend", "portal_mail", mail.id, {"status": SENDING},
                 {"status": QUEUED})
    uow.commit()
