"""Today: one worklist of what needs a person now, read from where each thing lives (the mailbox, disputes,
promises, call tasks, the reminder queue, the address check, the sender). An item is done when a person
acts on it there: a reply handled, a dispute resolved, a call logged, a reminder approved, an address
entered; nothing is ever just hidden. Who does what: each debtor's owner (receivables.domain.worklist),
or the colleague an item was handed to."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, datetime

from sqlalchemy import and_, func, or_, select

from db.models import BankLine, Debtor, InboundMail, Invoice, Message, Note, UserAccount, WorkHandoff
from db.uow import UnitOfWork
from receivables.domain import contacts, phrases, tracks
from receivables.domain.money import fmt
from receivables.domain.phrases import Money, Phrase
from receivables.domain.phrasing import Said, phrase_of
from receivables.domain.translation import N_, Count
from receivables.domain.worklist import (
    SOURCES,
    Item,
    OwnerRules,
    counts,
    handed,
    mine,
    ordered,
    owner_of,
    worded,
)
from receivables.services import bank, plans, reminders, send_confirm
from receivables.services.audit import record_audit
from receivables.services.errors import ServiceError
from receivables.services.settings import get_setting, put_setting

OWNER_RULES_KEY = "today.owner_rules"
DETAIL_CHARS = 400
PERSON_NOTES = ("note", "call", "promise", "dispute", "dispute_resolved", "dispute_rejected", "block", "unblock", "contact_change")


@dataclass(frozen=True)
class Worklist:
    today: date
    user: str | None  # whose view: None is everyone's
    items: list[Item]

    @property
    def counts(self) -> dict[str, int]:
        return counts(self.items)

    def of(self, source: str) -> list[Item]:
        return [i for i in self.items if i.source == source]


def worklist(uow: UnitOfWork, *, today: date | None = None, user: str | None = None) -> Worklist:
    """Everything that needs a person today, in the order to work through it; with `user`, only that
    user's items and those nobody owns yet."""
    today = today or date.today()
    s = uow.session
    items = [*_replies(s, today), *_unassigned(s), *_disputes(s), *_reported(s, today),
             *_promises(s, today), *_bank(s), *_calls(s, today),
             *_approvals(s, today), *_addresses(uow), *_failed(s), *_sending(uow), *_plans(s, today)]
    owners = _owners(s, {i.debtor_id for i in items if i.debtor_id is not None})
    items = [replace(i, owner=owners.get(i.debtor_id)) for i in items]
    items = handed(items, _handoffs(s, [i.key for i in items]))
    if user:
        items = mine(items, user)
    return Worklist(today, user or None, ordered(items))


def waiting(uow: UnitOfWork, *, today: date | None = None, user: str | None = None) -> int:
    """How many items need a person: the count the navigation shows next to Today."""
    return len(worklist(uow, today=today, user=user).items)


def _reason(stored: Phrase | str | None) -> dict:
    """Stored words (a message's reason or last problem, a bank line's reason) as an item's detail: in English,
    and as a phrase for a screen to word."""
    words = phrase_of(stored) if isinstance(stored, (Phrase, Said)) else phrases.load(stored)
    return {"detail": _short(str(words)), "detail_phrase": words if isinstance(words, Phrase) else None}


def _short(text: str | None) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= DETAIL_CHARS else text[:DETAIL_CHARS - 1] + "…"


# --- the sources ----------------------------------------------------------------------------------

def _replies(s, today: date) -> list[Item]:
    rows = s.execute(select(InboundMail, Debtor.code, Debtor.name).join(Debtor, Debtor.id == InboundMail.debtor_id)
                     .where(InboundMail.kind == "reply", InboundMail.handled_at.is_(None))).all()
    out = []
    for mail, code, name in rows:
        late = mail.paused_until is not None and mail.paused_until < today
        out.append(Item(f"reply:{mail.id}", "reply", detail=_short(mail.text),
                        since=(mail.sent_at or mail.received_at).date(), debtor_id=mail.debtor_id, debtor_code=code,
                        debtor_name=name, ref=mail.id, late=late, extra={"paused_until": mail.paused_until},
                        **worded(N_("Reply from {sender}: {subject}"), sender=mail.from_name or mail.from_address,
                                 subject=mail.subject or "—")))
    return out


def _unassigned(s) -> list[Item]:
    rows = s.scalars(select(InboundMail).where(InboundMail.debtor_id.is_(None), InboundMail.handled_at.is_(None)))
    return [Item(f"unassigned:{m.id}", "unassigned", detail=_short(m.text), since=(m.sent_at or m.received_at).date(),
                 ref=m.id, extra={"from": m.from_address},
                 **worded(N_("Mail from {sender}: {subject}"), sender=m.from_name or m.from_address,
                          subject=m.subject or "—"))
            for m in rows]


def _disputes(s) -> list[Item]:
    rows = s.execute(select(Invoice.id, Invoice.number, Invoice.open_cents, Invoice.currency, Invoice.due_date,
                            Debtor.id, Debtor.code, Debtor.name).join(Debtor, Debtor.id == Invoice.debtor_id)
                     .where(Invoice.disputed.is_(True), Invoice.open_cents > 0)).all()
    if not rows:
        return []
    reasons: dict[int, tuple[str, datetime]] = {}
    for invoice_id, text, at in s.execute(select(Note.invoice_id, Note.text, Note.created_at).where(
            Note.kind == "dispute", Note.invoice_id.in_([r[0] for r in rows])).order_by(Note.created_at)):
        reasons[invoice_id] = (text, at)  # the newest dispute of the invoice
    out = []
    for invoice_id, number, open_cents, currency, due, debtor_id, code, name in rows:
        text, at = reasons.get(invoice_id, ("", None))
        out.append(Item(f"dispute:{invoice_id}", "dispute", detail=_short(text), since=at.date() if at else due,
                        debtor_id=debtor_id, debtor_code=code, debtor_name=name, ref=invoice_id,
                        amount_cents=open_cents, currency=currency, extra={"number": number},
                        **worded(N_("Invoice {number} disputed ({amount})"), number=number,
                                 amount=fmt(open_cents, currency))))
    return out


def _reported(s, today: date) -> list[Item]:
    """Payments a debtor reported in the portal ("I have paid") while their invoices are still open and no
    person has written in the dossier since: someone looks for the money while chasing waits."""
    rows = s.execute(select(Note, Debtor.code, Debtor.name).join(Debtor, Debtor.id == Note.debtor_id)
                     .where(Note.kind == "portal_paid")).all()
    followed = dict(s.execute(select(Note.debtor_id, func.max(Note.created_at)).where(
        Note.kind.in_(PERSON_NOTES), Note.created_by != "portal", Note.debtor_id.in_({r[0].debtor_id for r in rows}))
        .group_by(Note.debtor_id)).all()) if rows else {}
    out = []
    for note, code, name in rows:
        if followed.get(note.debtor_id) and followed[note.debtor_id] > note.created_at:
            continue  # a person has followed it up in the dossier
        data = note.data or {}
        ids = data.get("invoice_ids") or []
        still_open = s.execute(select(func.coalesce(func.sum(Invoice.open_cents), 0), func.max(Invoice.currency))
                               .where(Invoice.id.in_(ids), Invoice.open_cents > 0)).one() if ids else (0, None)
        if not still_open[0]:
            continue
        until = date.fromisoformat(data["paused_until"]) if data.get("paused_until") else None
        paid = (fmt(note.promise_cents, data.get("currency", "EUR")) if note.promise_cents else "—")
        out.append(Item(f"portal:{note.id}", "portal", detail=_short(note.text), since=note.created_at.date(),
                        debtor_id=note.debtor_id, debtor_code=code, debtor_name=name, ref=note.id,
                        amount_cents=int(still_open[0]), currency=still_open[1], late=bool(until and until < today),
                        extra={"invoices": data.get("invoices", []), "paused_until": until},
                        **worded(N_("Reported paid on {date}: {amount} ({invoices})"), date=f"{note.promise_date:%d-%m-%Y}",
                                 amount=paid, invoices=", ".join(data.get("invoices", [])))))
    return out


def _promises(s, today: date) -> list[Item]:
    """Pending promises whose date has come (the money should be in), and broken ones nobody has followed
    up since they broke (a later note, call, promise… in the dossier follows one up)."""
    rows = s.execute(select(Note, Debtor.code, Debtor.name).join(Debtor, Debtor.id == Note.debtor_id).where(
        Note.kind == "promise", or_(and_(or_(Note.outcome == "pending", Note.outcome.is_(None)),
                                         Note.promise_date <= today), Note.outcome == "broken"))).all()
    if not rows:
        return []
    followed = dict(s.execute(select(Note.debtor_id, func.max(Note.created_at)).where(
        Note.kind.in_(PERSON_NOTES), Note.debtor_id.in_({r[0].debtor_id for r in rows}))
        .group_by(Note.debtor_id)).all())
    out = []
    for note, code, name in rows:
        data = note.data or {}
        currency = data.get("currency", "EUR")
        promised = fmt(note.promise_cents or 0, currency)
        if note.outcome == "broken":
            broke = date.fromisoformat(data["resolved_on"]) if data.get("resolved_on") else note.promise_date
            last = followed.get(note.debtor_id)
            if last is not None and last.date() >= broke and last > note.created_at:
                continue
            title, since, late = N_("Promise broken: {amount} by {date}"), broke, True
        else:
            title, since, late = N_("Promise due: {amount} by {date}"), note.promise_date, False
        out.append(Item(f"promise:{note.id}", "promise", detail=_short(note.text), since=since,
                        debtor_id=note.debtor_id, debtor_code=code, debtor_name=name, ref=note.id,
                        amount_cents=note.promise_cents, currency=currency, late=late,
                        **worded(title, amount=promised, date=f"{note.promise_date:%d-%m-%Y}")))
    return out


def _plans(s, today: date) -> list[Item]:
    """Portal proposals waiting, broken plans waiting for a decision, terms missed (receivables.services.plans)."""
    return [Item(i["key"], "plan", detail=_short(i["detail"]), since=i["since"], debtor_id=i["debtor_id"],
                 debtor_code=i["debtor_code"], debtor_name=i["debtor_name"], ref=i["ref"],
                 amount_cents=i["amount_cents"], currency=i["currency"], late=i["late"],
                 **worded(i["title"], **i["params"]))
            for i in plans.worklist_items(s, today)]


def _bank(s) -> list[Item]:
    """Payments the bank matching suggests: a person confirms, changes or rejects them on the Bank page."""
    rows = s.execute(select(BankLine, Debtor.code, Debtor.name).outerjoin(Debtor, Debtor.id == BankLine.debtor_id)
                     .where(BankLine.status == bank.SUGGESTED)).all()
    return [Item(f"bank:{line.id}", "bank", **_reason(line.reason), since=line.booking_date,
                 debtor_id=line.debtor_id, debtor_code=code, debtor_name=name, ref=line.id,
                 amount_cents=line.amount_cents, currency=line.currency,
                 **worded(N_("Payment to confirm: {amount} from {payer}"), amount=fmt(line.amount_cents, line.currency),
                          payer=line.counterparty_name or line.counterparty_iban or "—"))
            for line, code, name in rows]


def _due(today: date):
    return and_(Message.planned_date <= today, or_(Message.postponed_until.is_(None), Message.postponed_until <= today))


def _calls(s, today: date) -> list[Item]:
    rows = s.execute(select(Message.id, Message.step_name, Message.planned_date, Message.total_cents, Message.currency,
                            Message.reason, Debtor.id, Debtor.code, Debtor.name, Debtor.phone, Debtor.contact_person)
                     .join(Debtor, Debtor.id == Message.debtor_id)
                     .where(Message.channel == "call", Message.status.in_(("proposed", "approved")), _due(today))).all()
    notes = _last_notes(s, {r[6] for r in rows})
    return [Item(f"call:{mid}", "call", **_reason(reason), since=planned, debtor_id=debtor_id, debtor_code=code,
                 debtor_name=name, ref=mid, amount_cents=total, currency=cur, phone=phone,
                 notes=tuple(notes.get(debtor_id, ())),
                 **worded(N_("Call {debtor} ({person}): {amount} overdue") if person else
                          N_("Call {debtor}: {amount} overdue"), debtor=name, person=person, amount=fmt(total, cur)))
            for mid, step, planned, total, cur, reason, debtor_id, code, name, phone, person in rows]


def _last_notes(s, debtor_ids: set[int], per_debtor: int = 3) -> dict[int, list[str]]:
    if not debtor_ids:
        return {}
    out: dict[int, list[str]] = defaultdict(list)
    for debtor_id, kind, text, at, by in s.execute(
            select(Note.debtor_id, Note.kind, Note.text, Note.created_at, Note.created_by)
            .where(Note.debtor_id.in_(debtor_ids), Note.kind.in_(("note", "call", "promise", "reply", "dispute")))
            .order_by(Note.created_at.desc(), Note.id.desc())):
        if len(out[debtor_id]) < per_debtor:
            out[debtor_id].append(f"{at:%d-%m-%Y} {kind} ({by}): {_short(text)[:160]}")
    return out


def _approvals(s, today: date) -> list[Item]:
    rows = s.execute(select(Message.id, Message.step_name, Message.planned_date, Message.total_cents, Message.currency,
                            Message.reason, Debtor.id, Debtor.code, Debtor.name, Debtor.email, Debtor.email_bouncing)
                     .join(Debtor, Debtor.id == Message.debtor_id)
                     .where(Message.status == "proposed", Message.channel != "call", _due(today))).all()
    return [Item(f"approval:{mid}", "approval", **_reason(reason), since=planned, debtor_id=debtor_id,
                 debtor_code=code, debtor_name=name, ref=mid, amount_cents=total, currency=cur, extra={"step": step},
                 **worded(N_("{step} to {debtor}: {amount}"), step=tracks.step_name(step), debtor=name,
                          amount=fmt(total, cur)))
            for mid, step, planned, total, cur, reason, debtor_id, code, name, email, bouncing in rows
            if contacts.reminder_address(email, bouncing) is not None]  # without one: an address item


def _addresses(uow: UnitOfWork) -> list[Item]:
    missing = reminders.debtors_without_address(uow)
    if missing.empty:
        return []
    s = uow.session
    debtors = {d.code: d for d in s.scalars(select(Debtor).where(Debtor.code.in_(missing["debtor_code"].unique().tolist())))}
    bounced = _last_bounces(s, [d.id for d in debtors.values() if d.email_bouncing])
    out = []
    for code, rows in missing.groupby("debtor_code", sort=False):
        d = debtors[code]
        owed = phrases.joined(Money(int(v), c) for c, v in zip(rows["currency"], rows["open_cents"]))
        waiting = int(rows["waiting_messages"].max())
        words, since = bounced.get(d.id, (None, d.created_at.date()))
        if d.email_bouncing:
            title = worded(N_("Address bounced: {address}"), address=d.email_bouncing)
        elif d.email:
            title = worded(N_("No usable reminder address ({address})"), address=d.email)
        else:
            title = worded(N_("No reminder address"))
        parts = [words, Phrase(N_("open {amount}"), {"amount": owed}),
                 Phrase(N_("reminders waiting for an address: {n}"), {"n": Count(waiting)}) if waiting else None]
        out.append(Item(f"address:{d.id}", "address", **_reason(phrases.joined([p for p in parts if p], "; ")),
                        since=since, debtor_id=d.id, debtor_code=code, debtor_name=d.name, ref=d.id,
                        late=bool(d.email_bouncing), **title))
    return out


def _last_bounces(s, debtor_ids: list[int]) -> dict[int, tuple[Phrase, date]]:
    """Per debtor, the newest bounce in the server's words (verbatim) and the day it came."""
    if not debtor_ids:
        return {}
    out = {}
    for debtor_id, recipient, diagnostic, status, at in s.execute(
            select(InboundMail.debtor_id, InboundMail.bounce_recipient, InboundMail.bounce_diagnostic,
                   InboundMail.bounce_status, InboundMail.received_at)
            .where(InboundMail.kind == "bounce", InboundMail.debtor_id.in_(debtor_ids)).order_by(InboundMail.id)):
        server = diagnostic or status
        out[debtor_id] = (Phrase(N_("{address}: {words}"), {"address": recipient, "words": server}) if server
                          else Phrase(N_("{address}: refused"), {"address": recipient}), at.date())
    return out


def _failed(s) -> list[Item]:
    rows = s.execute(select(Message.id, Message.step_name, Message.last_error, Message.updated_at, Message.recipients,
                            Debtor.id, Debtor.code, Debtor.name).join(Debtor, Debtor.id == Message.debtor_id)
                     .where(Message.status == "failed")).all()
    return [Item(f"failed:{mid}", "failed", **_reason(error), since=at.date(), debtor_id=debtor_id,
                 debtor_code=code, debtor_name=name, ref=mid, late=True,
                 **worded(N_("Not delivered: {step} to {recipients}"), step=step.replace("_", " "),
                          recipients=recipients or name))
            for mid, step, error, at, recipients, debtor_id, code, name in rows]


def _sending(uow: UnitOfWork) -> list[Item]:
    stuck = [m for m in send_confirm.waiting_for_confirmation(uow) if not m.in_flight]
    if not stuck:
        return []
    ids = dict(uow.session.execute(select(Message.id, Message.debtor_id).where(Message.id.in_([m.id for m in stuck]))).all())
    return [Item(f"sending:{m.id}", "sending",
                 **_reason(m.last_error or Phrase(N_("handed to the mail server at {moment} UTC, no answer"),
                                                  {"moment": f"{m.claimed_at:%d-%m-%Y %H:%M}"})),
                 since=m.claimed_at.date(), debtor_id=ids.get(m.id), debtor_code=m.debtor_code, ref=m.id,
                 extra={"to": m.recipients}, **worded(N_("Did it go out? {subject}"), subject=m.subject))
            for m in stuck]


# --- who ------------------------------------------------------------------------------------------

def owner_rules(uow: UnitOfWork) -> OwnerRules:
    return OwnerRules.from_data(get_setting(uow.session, OWNER_RULES_KEY, {}))


def _users(s) -> dict[str, str]:
    out = {}
    for username, name in s.execute(select(UserAccount.username, UserAccount.name).order_by(UserAccount.username)):
        out[username.lower()] = username
        if name:
            out.setdefault(name.strip().lower(), username)
    return out


def _owners(s, debtor_ids: set[int]) -> dict[int, str | None]:
    if not debtor_ids:
        return {}
    rules = OwnerRules.from_data(get_setting(s, OWNER_RULES_KEY, {}))
    users = _users(s)
    rows = s.execute(select(Debtor.id, Debtor.owner, Debtor.segment, Debtor.account_manager)
                     .where(Debtor.id.in_(debtor_ids))).all()
    return {i: owner_of(owner, segment, manager, rules, users) for i, owner, segment, manager in rows}


def _handoffs(s, keys: list[str]) -> dict[str, tuple[str, str, str]]:
    if not keys:
        return {}
    out = {}
    for start in range(0, len(keys), 500):
        for key, by, to, note in s.execute(select(WorkHandoff.item_key, WorkHandoff.from_user, WorkHandoff.to_user,
                                                  WorkHandoff.note).where(WorkHandoff.item_key.in_(keys[start:start + 500]))
                                           .order_by(WorkHandoff.id)):
            out[key] = (by, to, note)  # the newest wins
    return out


def user_name(s, name: str | None) -> str:
    """The user name of a user given by user name or full name; ServiceError listing the users otherwise."""
    return _user(s, name)


def _user(s, name: str | None) -> str:
    users = _users(s)
    found = users.get((name or "").strip().lower())
    if found is None:
        known = ", ".join(sorted({u for u in users.values()})) or "none yet"
        raise ServiceError("there is no user '{name}'; users: {known}", name=name, known=known)
    return found


def hand_over(uow: UnitOfWork, item_key: str, to_user: str, note: str = "", *, actor: str,
              today: date | None = None) -> None:
    """Give an item of the worklist to a colleague, with a note on what to do; it stays open until acted on."""
    to = _user(uow.session, to_user)
    source, _, ref = (item_key or "").partition(":")
    if source not in SOURCES or not ref.isdigit():
        raise ServiceError("'{key}' is not an item of the worklist (e.g. reply:12)", key=item_key)
    items = {i.key: i for i in worklist(uow, today=today).items}
    item = items.get(item_key)
    if item is None:
        raise ServiceError("{key} is no longer on the worklist: someone has acted on it", key=item_key)
    if item.owner == to:
        raise ServiceError("{key} is already {user}'s", key=item_key, user=to)
    uow.session.add(WorkHandoff(item_key=item_key, debtor_id=item.debtor_id, from_user=actor, to_user=to,
                                note=(note or "").strip()[:2000]))
    record_audit(uow.session, actor, "today.hand_over", "worklist", item_key, {"owner": item.owner},
                 {"owner": to, "note": (note or "").strip()[:2000]})
    uow.commit()


def set_owner(uow: UnitOfWork, code: str, owner: str | None, *, actor: str) -> str | None:
    """Make a user the debtor's owner (None or '' clears it: the rules decide again). Returns the owner."""
    s = uow.session
    debtor = s.scalars(select(Debtor).where(Debtor.code == (code or "").strip())).first()
    if debtor is None:
        raise ServiceError("there is no debtor with code '{code}'", code=code)
    new = _user(s, owner) if (owner or "").strip() else None
    before = debtor.owner
    debtor.owner = new
    record_audit(s, actor, "debtor.owner", "debtor", debtor.code, {"owner": before}, {"owner": new})
    uow.commit()
    return new


def save_owner_rules(uow: UnitOfWork, rules: OwnerRules, *, actor: str) -> None:
    """Who follows debtors without an owner: per segment, and per account manager."""
    checked = OwnerRules({k: _user(uow.session, v) for k, v in rules.by_segment.items() if k and v},
                         {k: _user(uow.session, v) for k, v in rules.by_account_manager.items() if k and v})
    put_setting(uow.session, OWNER_RULES_KEY, checked.to_data(), actor)
    uow.commit()


def owner_choices(uow: UnitOfWork) -> tuple[list[str], list[str]]:
    """The segments and account managers in use, for the rules screen."""
    s = uow.session
    segments = sorted(x for x in s.scalars(select(Debtor.segment).distinct()) if x)
    managers = sorted(x for x in s.scalars(select(Debtor.account_manager).distinct()) if x)
    return segments, managers


def as_json(work: Worklist) -> dict:
    """The worklist as the command line prints it."""
    return {"today": work.today.isoformat(), "user": work.user, "counts": work.counts,
            "items": [{"key": i.key, "source": i.source, "title": i.title, "detail": i.detail,
                       "since": i.since.isoformat() if i.since else None, "debtor_code": i.debtor_code,
                       "debtor_name": i.debtor_name, "owner": i.owner, "late": i.late, "phone": i.phone,
                       "notes": list(i.notes), "amount_cents": i.amount_cents, "currency": i.currency,
                       "handed_by": i.handed_by, "hand_note": i.hand_note} for i in work.items]}


def since_days(item: Item, today: date) -> int | None:
    """How many days the item has waited."""
    return None if item.since is None else max(0, (today - item.since).days)

