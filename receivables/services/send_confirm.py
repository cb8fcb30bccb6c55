"""What the sender leaves to a person: messages in doubt (handed to the server with no word back: the
person confirms they went out, or has them sent again), messages exported to the outbox folder (marked
sent once mailed by hand), and the messages that failed. Nothing here sends anything."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from db.models import Debtor, Message, SendAttempt, utcnow
from db.uow import UnitOfWork
from emails.transport import SENT, WRITTEN_TO
from receivables.domain import phrases
from receivables.domain.messages import SEND_AGAIN, on_its_way
from receivables.domain.phrases import Phrase
from receivables.domain.phrasing import kept
from receivables.domain.translation import N_
from receivables.services.audit import record_audit
from receivables.services.errors import ServiceError
from receivables.services.sending import EXPORTED, record_attempt, set_status


@dataclass(frozen=True)
class Stuck:
    id: int
    debtor_code: str
    recipients: str
    subject: str
    claimed_at: datetime
    message_id: str | None
    last_error: str | None
    in_flight: bool  # claimed moments ago without a problem: a sender may still be at it


def waiting_for_confirmation(uow: UnitOfWork, now: datetime | None = None) -> list[Stuck]:
    """Messages in `sending`: handed to the server or about to be, with no word back. They are never sent
    again automatically; a person says whether they went out."""
    now = now or utcnow()
    rows = uow.session.execute(
        select(Message.id, Debtor.code, Message.recipients, Message.subject, Message.updated_at,
               Message.smtp_message_id, Message.last_error)
        .join(Debtor, Debtor.id == Message.debtor_id)
        .where(Message.status == "sending").order_by(Message.updated_at, Message.id)).all()
    uow.rollback()
    return [Stuck(r[0], r[1], r[2] or "", r[3], r[4], r[5], kept(r[6]) if r[6] is not None else None,
                  on_its_way(r[6], r[4], now)) for r in rows]


def _stuck(s, message_id: int, now: datetime) -> Message:
    m = s.get(Message, int(message_id), with_for_update=True)
    if m is None:
        raise ServiceError("there is no message {message_id}", message_id=message_id)
    if m.status != "sending":
        raise ServiceError("message {message_id} is {status}, not waiting for confirmation", message_id=message_id,
                           status=m.status)
    if on_its_way(m.last_error, m.updated_at, now):
        raise ServiceError("message {message_id} was handed to a sender at {time} UTC and may still be on its way; "
                           "wait a few minutes before confirming it", message_id=message_id,
                           time=m.updated_at.strftime("%H:%M:%S"))
    return m


def confirm_sent(uow: UnitOfWork, message_id: int, *, actor: str, now: datetime | None = None) -> None:
    """A person checked: it did go out. It becomes sent (as of when it was handed over)."""
    now = now or utcnow()
    s = uow.session
    m = _stuck(s, message_id, now)
    before = {"status": m.status, "last_error": m.last_error}
    set_status(s, m.id, "sending", status="sent", sent_at=m.updated_at, last_error=None, next_attempt_at=None)
    record_attempt(s, m.id, SENT, Phrase(N_("confirmed by {actor}"), {"actor": actor}), now)
    record_audit(s, actor, "send.confirm_sent", "message", m.id, before, {"status": "sent"})
    uow.commit()


def confirm_resend(uow: UnitOfWork, message_id: int, *, actor: str, now: datetime | None = None) -> None:
    """A person checked: it did not arrive. It goes back to approved and the next run sends it, with the
    same Message-ID (so a copy that did arrive after all is recognisable as the same message)."""
    now = now or utcnow()
    s = uow.session
    m = _stuck(s, message_id, now)
    before = {"status": m.status, "last_error": m.last_error}
    set_status(s, m.id, "sending", status="approved", last_error=phrases.dump(Phrase(SEND_AGAIN, {"actor": actor})),
               next_attempt_at=None)
    record_audit(s, actor, "send.confirm_resend", "message", m.id, before, {"status": "approved"})
    uow.commit()


@dataclass(frozen=True)
class Exported:
    id: int
    debtor_code: str
    recipients: str
    subject: str
    exported_at: datetime
    file: str  # where it was written, as the sender said


def exported(uow: UnitOfWork) -> list[Exported]:
    """Messages written to the outbox folder and not yet marked sent: they did not go out by themselves."""
    rows = uow.session.execute(
        select(Message.id, Debtor.code, Message.recipients, Message.subject, Message.updated_at)
        .join(Debtor, Debtor.id == Message.debtor_id)
        .where(Message.status == EXPORTED).order_by(Message.updated_at, Message.id)).all()
    files = {}
    if rows:
        for mid, detail in uow.session.execute(
                select(SendAttempt.message_id, SendAttempt.error)
                .where(SendAttempt.message_id.in_([r[0] for r in rows]), SendAttempt.outcome == "outbox")
                .order_by(SendAttempt.id)):
            files[mid] = _file_of(detail)
    uow.rollback()
    return [Exported(r[0], r[1], r[2] or "", r[3], r[4], files.get(r[0], "")) for r in rows]


def _file_of(stored: str | None) -> str:
    """The .eml file an outbox attempt says it wrote."""
    words = phrases.load(stored)
    if isinstance(words, Phrase):
        return str(words.params.get("path", "")) if words.msgid == WRITTEN_TO else ""
    return words.removeprefix("written to ")


def mark_sent(uow: UnitOfWork, message_ids, *, actor: str, now: datetime | None = None) -> int:
    """A person says these exported messages went out (mailed by hand from the .eml files): they become
    sent as of now. All or nothing: any id that is not an exported message changes nothing."""
    now = now or utcnow()
    s = uow.session
    ids = sorted({int(i) for i in message_ids})
    if not ids:
        raise ServiceError("name the exported messages to mark as sent")
    found = dict(s.execute(select(Message.id, Message.status).where(Message.id.in_(ids)).with_for_update()).all())
    wrong = [f"{i} ({'there is no such message' if i not in found else found[i]})"
             for i in ids if found.get(i) != EXPORTED]
    if wrong:
        s.rollback()
        raise ServiceError("only messages written to the outbox (exported) can be marked sent, not {messages}; "
                           "nothing was changed", messages=", ".join(wrong))
    for i in ids:
        set_status(s, i, EXPORTED, status="sent", sent_at=now, last_error=None, updated_at=now)
        record_attempt(s, i, SENT, Phrase(N_("marked sent by {actor}"), {"actor": actor}), now)
        record_audit(s, actor, "send.mark_sent", "message", i, {"status": EXPORTED}, {"status": "sent"})
    uow.commit()
    return len(ids)


def recent_failures(uow: UnitOfWork, limit: int = 50) -> list[dict]:
    rows = uow.session.execute(
        select(Message.id, Debtor.code, Message.recipients, Message.subject, Message.attempts,
               Message.last_error, Message.updated_at)
        .join(Debtor, Debtor.id == Message.debtor_id).where(Message.status == "failed")
        .order_by(Message.updated_at.desc()).limit(limit)).all()
    uow.rollback()
    return [{"id": r[0], "debtor": r[1], "recipients": r[2], "subject": r[3], "attempts": r[4],
             "reason": r[5], "at": r[6]} for r in rows]
