"""The reminder queue: what waits to go out, and what a person does with it (approve, postpone, block,
bring back, mark a call as made, edit the words, block the debtor). Every state change a person makes
goes through `transition`'s checks, and each call is one transaction: all of it or nothing."""

from __future__ import annotations

import base64
import hashlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import date

import pandas as pd
from sqlalchemy import select, update

from db.models import Debtor, Invoice, Message, MessageInvoice, Note, utcnow
from db.uow import UnitOfWork
from emails.render import QR_CID, html_from_text
from receivables.domain import calls, contacts, epc, phrases, tracks
from receivables.domain import costs as costing
from receivables.domain.messages import ACTIONS, ALLOWED_TRANSITIONS, CALL_ONLY, UNSENT
from receivables.domain.money import fmt
from receivables.domain.phrases import Phrase
from receivables.domain.phrasing import kept
from receivables.domain.planning import step_rank
from receivables.domain.translation import N_
from receivables.services import dossier, portal_links
from receivables.services.audit import record_audit
from receivables.services.errors import ServiceError
from receivables.services.payment_qr import payment_payload, store_qr
from receivables.services.reminder_settings import load_settings
from receivables.services.wording import claim_basis, render_again

ADDRESSED_CHANNELS = ("email", "letter")  # a letter goes out as an e-mail with the PDF attached
NEEDS_ADDRESS = "needs address"  # shown instead of an unsent message's status while its debtor has none

# --- the list --------------------------------------------------------------------------------------

QUEUE_COLUMNS = ["id", "debtor_id", "debtor_code", "debtor_name", "account_manager", "step", "template", "track",
                 "channel", "status", "state", "needs_address", "planned_date", "postponed_until", "invoice_numbers",
                 "invoices", "currency", "total_cents", "costs_cents", "interest_cents", "subject", "reason",
                 "recipients", "note", "edited", "language", "last_error"]
_READ = ["id", "debtor_id", "debtor_code", "debtor_name", "account_manager", "step", "track", "channel", "status",
         "planned_date", "postponed_until", "currency", "total_cents", "costs_cents", "interest_cents", "subject",
         "reason", "recipients", "note", "edited", "language", "step_index", "last_error", "debtor_email",
         "debtor_bouncing"]


def queue(uow: UnitOfWork, *, statuses=None, step: str | None = None, track: str | None = None,
          account_manager: str | None = None, planned_from: date | None = None,
          planned_until: date | None = None) -> pd.DataFrame:
    """The messages in the queue as a frame, oldest planned first. Default: proposed, approved and
    postponed. A message's reason is a Phrase (the words of one stored before reasons were kept so: a str)."""
    s = uow.session
    q = (select(Message.id, Message.debtor_id, Debtor.code, Debtor.name, Debtor.account_manager,
                Message.step_name, Message.track, Message.channel, Message.status, Message.planned_date,
                Message.postponed_until, Message.currency, Message.total_cents, Message.costs_cents,
                Message.interest_cents, Message.subject, Message.reason, Message.recipients, Message.note,
                Message.edited, Message.language, Message.step_index, Message.last_error, Debtor.email,
                Debtor.email_bouncing)
         .join(Debtor, Debtor.id == Message.debtor_id).where(Message.status.in_(list(statuses or UNSENT))))
    for column, value in ((Message.step_name, step), (Message.track, track),
                          (Debtor.account_manager, account_manager)):
        if value:
            q = q.where(column == value)
    if planned_from:
        q = q.where(Message.planned_date >= planned_from)
    if planned_until:
        q = q.where(Message.planned_date <= planned_until)
    rows = s.execute(q.order_by(Message.planned_date, Debtor.code, Message.id)).all()
    if not rows:
        return pd.DataFrame(columns=QUEUE_COLUMNS)
    frame = pd.DataFrame(rows, columns=_READ)
    # an unsent message goes to the debtor's reminder contact as it is now; a sent one to whom it went
    unsent = frame["status"].isin(UNSENT)
    emails, bouncing = (frame[c].astype(object).where(frame[c].notna(), None) for c in ("debtor_email", "debtor_bouncing"))
    current = pd.Series([contacts.reminder_address(e, b) for e, b in zip(emails, bouncing)],
                        index=frame.index, dtype=object)
    frame["recipients"] = current.where(unsent, frame["recipients"]).fillna("")
    frame["needs_address"] = (unsent & frame["channel"].isin(ADDRESSED_CHANNELS) & current.isna()).astype(bool)
    waiting = frame["needs_address"] & frame["status"].isin(("proposed", "approved"))  # postponed says so itself
    frame["state"] = frame["status"].where(~waiting, NEEDS_ADDRESS)
    numbers = _invoice_numbers(s, frame["id"].tolist())
    frame["invoice_numbers"] = [numbers.get(i, []) for i in frame["id"]]
    frame["invoices"] = frame["invoice_numbers"].map(len)
    cfg_tracks = load_settings(s).tracks
    frame["template"] = [tracks.TEMPLATES[step_rank(cfg_tracks, t, key)] for t, key in zip(frame["track"], frame["step"])]
    for c in ("total_cents", "costs_cents", "interest_cents"):
        frame[c] = frame[c].astype("int64")
    frame["edited"] = frame["edited"].astype(bool)
    frame["last_error"] = pd.Series([kept(e) for e in frame["last_error"].fillna("")], index=frame.index, dtype=object)
    frame["reason"] = pd.Series([phrases.load(r) for r in frame["reason"]], index=frame.index, dtype=object)
    return frame[QUEUE_COLUMNS]


def _invoice_numbers(s, ids: list[int]) -> dict[int, list[str]]:
    numbers: dict[int, list[str]] = defaultdict(list)
    for chunk in range(0, len(ids), 1000):
        for mid, number in s.execute(
                select(MessageInvoice.message_id, Invoice.number)
                .join(Invoice, Invoice.id == MessageInvoice.invoice_id)
                .where(MessageInvoice.message_id.in_(ids[chunk:chunk + 1000]), MessageInvoice.active.is_(True))
                .order_by(Invoice.due_date, Invoice.number)):
            numbers[mid].append(number)
    return numbers


def queue_json(frame: pd.DataFrame) -> list[dict]:
    """The CLI's JSON form of the queue."""
    return [{"id": int(r["id"]), "debtor_code": r["debtor_code"], "step": r["step"], "track": r["track"],
             "status": r["status"], "planned_date": r["planned_date"].isoformat(),
             "invoice_numbers": list(r["invoice_numbers"]), "total": round(int(r["total_cents"]) / 100, 2),
             "currency": r["currency"], "channel": r["channel"], "subject": r["subject"],
             "recipients": r["recipients"], "needs_address": bool(r["needs_address"]), "reason": str(r["reason"])}
            for r in frame.to_dict("records")]


def step_choices(uow: UnitOfWork) -> tuple[list[str], list[str]]:
    """The step keys and track keys to filter on."""
    cfg = load_settings(uow.session)
    steps = list(dict.fromkeys(s.key for t in cfg.tracks.values() for s in t.steps))
    return steps, list(cfg.tracks)


def fingerprint(frame: pd.DataFrame) -> str:
    """A short hash of what the queue holds, to key editor widgets on."""
    return hashlib.sha1(pd.util.hash_pandas_object(frame[["id", "status", "planned_date"]].astype(str),
                                                   index=False).values.tobytes()).hexdigest()[:10]


# --- state changes -----------------------------------------------------------------------------------

def transition(uow: UnitOfWork, message_ids, action: str, *, actor: str, until: date | None = None,
               note: str | None = None, today: date | None = None) -> list[int]:
    """Move messages to the state `action` leads to, all or none: a message whose status does not allow
    it, an unknown id or a bad date changes nothing and says why. Every change is audited."""
    moved = _move(uow.session, message_ids, action, actor=actor, until=until, note=note, today=today)
    uow.commit()
    _draw_qr(uow, moved, action)
    return [m.id for m in moved]


def _draw_qr(uow: UnitOfWork, moved: list[Message], action: str) -> None:
    if ACTIONS[action] == "approved":  # the QR image is drawn now, so that sending takes no time for it
        store_qr(uow, [m.id for m in moved if m.channel != "call"])


def _move(s, message_ids, action: str, *, actor: str, until: date | None = None, note: str | None = None,
          today: date | None = None) -> list[Message]:
    """`transition` inside the caller's transaction: checks every message first, then changes them."""
    today = today or date.today()
    if action not in ACTIONS:
        raise ServiceError("unknown action {action}; use one of {actions}", action=repr(action),
                           actions=", ".join(ACTIONS))
    try:
        ids = list(dict.fromkeys(int(i) for i in message_ids))
    except (TypeError, ValueError):
        raise ServiceError("message ids are whole numbers, e.g. 12 13 14") from None
    if not ids:
        raise ServiceError("choose at least one message")
    if action == "postpone":
        if until is None:
            raise ServiceError("say until when to postpone (a date after today)")
        if until <= today:
            raise ServiceError("postpone until {until} is not after today; pick a later date", until=until)
    messages = {m.id: m for m in s.scalars(select(Message).where(Message.id.in_(ids)))}
    missing = [i for i in ids if i not in messages]
    if missing:
        raise ServiceError("there is no message {message_id}; list them with `queue list`", message_id=missing[0])
    for mid in ids:
        _check(s, messages[mid], action)
    for mid in ids:
        _apply(s, messages[mid], action, actor=actor, until=until, note=note, today=today)
    return [messages[mid] for mid in ids]


def _check(s, m: Message, action: str) -> None:
    """ServiceError when this message cannot take this action."""
    target = ACTIONS[action]
    if target not in ALLOWED_TRANSITIONS[m.status] or (target == m.status):
        raise ServiceError("message {id} is {status}; it cannot be {verb}", id=m.id, status=m.status,
                           verb=_verb(action))
    if action in CALL_ONLY and m.channel != "call":
        raise ServiceError("message {id} is an e-mail, not a call task; approve it instead", id=m.id)
    if target == "sent" and action not in CALL_ONLY:
        raise ServiceError("message {id} can only be sent by the sender", id=m.id)
    if action == "approve" and m.channel in ADDRESSED_CHANNELS and \
            contacts.reminder_address(*s.execute(select(Debtor.email, Debtor.email_bouncing)
                                                 .where(Debtor.id == m.debtor_id)).one()) is None:
        raise ServiceError("message {id} has no recipient: debtor {code} has no usable reminder address; import a debtor "
                           "list or add it in the dossier (the message waits), or block the message", id=m.id,
                           code=_code(s, m.debtor_id))
    if action == "unpostpone" and m.status != "postponed":
        raise ServiceError("message {id} is {status}, not postponed", id=m.id, status=m.status)
    if action == "unapprove" and m.status != "approved":
        raise ServiceError("message {id} is {status}, not approved", id=m.id, status=m.status)


def _apply(s, m: Message, action: str, *, actor: str, until: date | None, note: str | None, today: date) -> None:
    before = {"status": m.status, "planned_date": m.planned_date, "postponed_until": m.postponed_until}
    values: dict = {"status": ACTIONS[action], "updated_at": utcnow()}
    if m.last_error:  # a person has dealt with the problem the queue showed
        before["last_error"] = m.last_error
        values["last_error"] = None
    if action == "postpone":
        values.update(postponed_until=until, planned_date=until)
    if action == "unpostpone":
        values.update(postponed_until=None, planned_date=max(today, m.planned_date))
    if action == "called":
        values.update(sent_at=utcnow())
    if note is not None and note.strip():
        values["note"] = note.strip()
    done = s.execute(update(Message).where(Message.id == m.id, Message.status == m.status)
                     .values(**values).execution_options(synchronize_session=False)).rowcount
    if done != 1:
        raise ServiceError("message {id} was changed by someone else meanwhile; reload and try again", id=m.id)
    record_audit(s, actor, f"message.{action}", "message", m.id, before,
                 {k: v for k, v in values.items() if k != "updated_at"})


VERBS = {"approve": N_("approved"), "postpone": N_("postponed"), "block": N_("blocked"),
         "unpostpone": N_("brought back"), "unapprove": N_("sent back"), "called": N_("marked as called")}


def _verb(action: str) -> str:
    return VERBS.get(action, action)


def _code(session, debtor_id: int) -> str:
    return session.scalar(select(Debtor.code).where(Debtor.id == debtor_id)) or str(debtor_id)


def approve_all(uow: UnitOfWork, *, actor: str, message_ids=None) -> list[int]:
    """Approve every proposed message (or the given ones that are proposed or postponed)."""
    s = uow.session
    q = select(Message.id).where(Message.status == "proposed")
    if message_ids is not None:
        q = select(Message.id).where(Message.id.in_([int(i) for i in message_ids]),
                                     Message.status.in_(("proposed", "postponed")))
    ids = list(s.scalars(q.order_by(Message.id)))
    if not ids:
        raise ServiceError("there is nothing to approve")
    return transition(uow, ids, "approve", actor=actor)


@dataclass(frozen=True)
class RowChange:
    """One row of the queue page's table: an action (or none) and the note as the person left it (None
    when unchanged)."""
    message_id: int
    action: str = ""
    note: str | None = None
    until: date | None = None


def apply_rows(uow: UnitOfWork, rows: list[RowChange], *, actor: str, today: date | None = None) -> int:
    """The queue page's row changes in one transaction: every row or none. A row that cannot be applied
    stops the batch with a ServiceError naming it. Returns how many rows changed something."""
    s = uow.session
    moved: dict[str, list[Message]] = defaultdict(list)
    done = 0
    for n, row in enumerate(rows, start=1):
        if not row.action and row.note is None:
            continue
        try:
            if row.action:
                moved[row.action] += _move(s, [row.message_id], row.action, actor=actor, until=row.until,
                                           note=row.note, today=today)
            else:
                _set_note(s, row.message_id, row.note, actor=actor)
        except ServiceError as exc:
            raise ServiceError("row {n} (message #{message_id}): {problem}. Nothing was changed", n=n,
                               message_id=row.message_id, problem=exc) from None
        done += 1
    uow.commit()
    for action, messages in moved.items():
        _draw_qr(uow, messages, action)
    return done


BULK_ACTIONS = ("approve", "postpone", "block", "send back")


def bulk(uow: UnitOfWork, message_ids, action: str, *, actor: str, until: date | None = None,
         reason: str | None = None, today: date | None = None) -> int:
    """One action on the messages a person selected, in one transaction (`apply_rows`): all of them or none.
    A block says why (kept as the message's note); "send back" returns approved or postponed messages to
    proposed. Returns how many messages changed."""
    if action not in BULK_ACTIONS:
        raise ServiceError("unknown action {action}; use one of {actions}", action=repr(action),
                           actions=", ".join(BULK_ACTIONS))
    ids = list(dict.fromkeys(int(i) for i in message_ids))
    if not ids:
        raise ServiceError("choose at least one message")
    if action == "block" and not (reason or "").strip():
        raise ServiceError("say why these messages are blocked")
    if action == "send back":
        status = dict(uow.session.execute(select(Message.id, Message.status).where(Message.id.in_(ids))).all())
        rows = [RowChange(i, "unpostpone" if status.get(i) == "postponed" else "unapprove") for i in ids]
    else:
        rows = [RowChange(i, action, (reason or "").strip() or None, until) for i in ids]
    return apply_rows(uow, rows, actor=actor, today=today)


def record_call(uow: UnitOfWork, message_id: int, outcome: str, text_: str = "", *, actor: str) -> int:
    """A call task was done: a call note in the dossier, and the task leaves the call list."""
    s = uow.session
    m = s.get(Message, int(message_id))
    if m is None:
        raise ServiceError("there is no message {message_id}", message_id=message_id)
    if m.channel != "call":
        raise ServiceError("message {message_id} is not a call task", message_id=message_id)
    try:  # the one list of outcomes and what a call note needs (receivables/domain/calls.py)
        text_ = calls.call_note((outcome or "").strip(), text_)
    except calls.CallError as exc:
        raise ServiceError(exc.msgid, **exc.params) from None
    note = Note(debtor_id=m.debtor_id, kind="call", text=text_, outcome=outcome.strip(),
                message_id=m.id, created_by=actor)
    s.add(note)
    s.flush()
    transition(uow, [m.id], "called", actor=actor, note=(text_ or None))
    return note.id


def set_note(uow: UnitOfWork, message_id: int, note: str, *, actor: str) -> None:
    """The queue's note on a message (why it was moved, what was agreed)."""
    _set_note(uow.session, message_id, note, actor=actor)
    uow.commit()


def _set_note(s, message_id: int, note: str, *, actor: str) -> None:
    m = s.get(Message, int(message_id))
    if m is None:
        raise ServiceError("there is no message {message_id}", message_id=message_id)
    before = m.note
    m.note = (note or "").strip() or None
    record_audit(s, actor, "message.note", "message", m.id, {"note": before}, {"note": m.note})


def block_debtor(uow: UnitOfWork, message_id: int, reason: str, until: date | None = None, *,
                 actor: str, today: date | None = None) -> int:
    """Block the debtor of a message: its unsent messages are blocked and no new ones are proposed. The
    debtor's block and its messages' change are one transaction."""
    s = uow.session
    m = s.get(Message, int(message_id))
    if m is None:
        raise ServiceError("there is no message {message_id}", message_id=message_id)
    unsent = list(s.scalars(select(Message.id).where(Message.debtor_id == m.debtor_id,
                                                     Message.status.in_(UNSENT))))
    note_id = dossier.record_block(uow, _code(s, m.debtor_id), reason, until, actor=actor, today=today)
    if unsent:
        _move(s, unsent, "block", actor=actor, note=f"debtor blocked: {reason}")
    uow.commit()
    return note_id


# --- the words ---------------------------------------------------------------------------------------

def edit_text(uow: UnitOfWork, message_id: int, subject: str, body_text: str, *, actor: str) -> None:
    """A person rewrites the subject and body; that text is what is sent. The edit is audited."""
    s = uow.session
    m = s.get(Message, int(message_id))
    if m is None:
        raise ServiceError("there is no message {message_id}", message_id=message_id)
    if m.status not in UNSENT:
        raise ServiceError("message {message_id} is {status}; only unsent messages can be edited",
                           message_id=message_id, status=m.status)
    subject = " ".join((subject or "").split())
    body_text = (body_text or "").replace("\r\n", "\n").strip()
    if not subject:
        raise ServiceError("the subject cannot be empty")
    if not body_text:
        raise ServiceError("the message text cannot be empty")
    if subject == m.subject and body_text == m.body_text.strip():
        return
    before = {"subject": m.subject, "body_text": m.body_text}
    qr = f"cid:{QR_CID}" in (m.body_html or "")
    m.subject, m.body_text = subject, body_text + "\n"
    m.body_html = html_from_text(body_text, {"language": m.language, "qr": qr})
    m.edited = True
    detail = m.costs_detail or {}
    if detail.get("wik_letter") and not costing.is_wik_letter(body_text, int(detail.get("announced_cents", 0)),
                                                              m.currency, m.language):
        amount = fmt(int(detail.get("announced_cents", 0)), m.currency, m.language)
        m.last_error = phrases.dump(Phrase(N_(
            "this text no longer gives the 14-day term from the day after receipt and the exact costs ({amount}), so "
            "it does not count as the 14-day letter: no costs can follow it (art. 6:96 lid 6 BW). Put both back, or "
            "send it as an ordinary demand"), {"amount": amount}))
        if m.status == "approved":
            m.status = "proposed"
    record_audit(s, actor, "message.edit", "message", m.id, before, {"subject": subject, "body_text": body_text})
    uow.commit()


def rerender(uow: UnitOfWork, message_id: int, *, actor: str, today: date | None = None) -> None:
    """Render an unedited unsent message again from its template (after a template or settings change);
    an undefined variable is reported here, at preview time."""
    s = uow.session
    m = s.get(Message, int(message_id))
    if m is None or m.status not in UNSENT:
        raise ServiceError("message {message_id} is not waiting in the queue", message_id=message_id)
    render_again(s, m, load_settings(s), claim_basis(s))
    m.edited = False
    record_audit(s, actor, "message.rerender", "message", m.id, None, None)
    uow.commit()
    if m.status == "approved":  # a message waiting for approval gets its QR image when it is approved
        store_qr(uow, [m.id])


@dataclass(frozen=True)
class Preview:
    id: int
    status: str
    subject: str
    text: str  # the words as stored (and edited): the portal link's token is a mark until it is sent
    html: str  # with the QR as a data URI and the portal link signed, exactly as the mail client will show it
    recipients: str
    payload: str | None
    edited: bool
    shown_text: str = ""  # the text as the debtor will read it: the personal portal link signed in place


def preview(uow: UnitOfWork, message_id: int) -> Preview:
    """The message exactly as it will be sent: the stored words, the QR code in place."""
    s = uow.session
    m = s.get(Message, int(message_id))
    if m is None:
        raise ServiceError("there is no message {message_id}", message_id=message_id)
    try:
        payload = payment_payload(uow, m.id)
    except epc.EpcError:
        payload = None
    html = m.body_html or ""
    if payload:
        png = m.qr_png if m.qr_png and m.qr_payload == payload else epc.qr_png(payload)
        data = base64.b64encode(png).decode("ascii")
        html = html.replace(f"cid:{QR_CID}", f"data:image/png;base64,{data}")
    email, bouncing = s.execute(select(Debtor.email, Debtor.email_bouncing).where(Debtor.id == m.debtor_id)).one()
    to = (contacts.reminder_address(email, bouncing) if m.status in UNSENT else m.recipients) or ""
    shown_text, html = _with_link(s, m, html)
    return Preview(m.id, m.status, m.subject, m.body_text, html, to, payload, m.edited, shown_text)


def _with_link(s, m: Message, html: str) -> tuple[str, str]:
    """The text and HTML with the debtor's personal portal link signed in place of its mark, the way the
    sender signs it (the debtor's link names this message and the debtor's link generation); the words
    as stored when the portal's key is not usable (the sender will refuse it and say what to fix)."""
    generation = s.scalar(select(Debtor.portal_generation).where(Debtor.id == m.debtor_id)) or 0
    try:
        return portal_links.fill_link((m.body_text, html), m.debtor_id, m.id, generation)
    except ServiceError:
        return m.body_text, html
