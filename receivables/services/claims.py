"""The claim on a debtor on a day: principal, statutory interest and collection costs, computed by
`costs.claim` from the invoices and their dated payments, exactly as the letters compute them. Also the
prescription flags of a debtor's invoices and the hand-sent letter that interrupts prescription."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select

from db.models import Debtor, Invoice, InvoiceChange, Message, MessageInvoice, Note
from db.uow import UnitOfWork
from receivables.domain import costs as costing
from receivables.domain.money import to_units
from receivables.services.audit import record_audit
from receivables.services.errors import ServiceError
from receivables.services.reminder_settings import ReminderSettings, load_settings

INTERRUPTION_NOTE = "interruption"  # Note.kind of a letter that interrupts prescription (art. 3:317 BW)


def claim_invoices(session, invoice_ids, on: date) -> dict[int, costing.ClaimInvoice]:
    """Per invoice id its claim view: original amount, due date and the dated changes up to `on`."""
    ids = sorted({int(i) for i in invoice_ids})
    changes: dict[int, list] = defaultdict(list)
    rows: dict[int, tuple] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        for inv_id, number, amount, due in session.execute(
                select(Invoice.id, Invoice.number, Invoice.amount_cents, Invoice.due_date)
                .where(Invoice.id.in_(chunk))):
            rows[inv_id] = (number, amount, due)
        for inv_id, day, delta, kind in session.execute(
                select(InvoiceChange.invoice_id, InvoiceChange.change_date, InvoiceChange.delta_cents,
                       InvoiceChange.kind)
                .where(InvoiceChange.invoice_id.in_(chunk), InvoiceChange.change_date <= on)
                .order_by(InvoiceChange.change_date, InvoiceChange.id)):
            changes[inv_id].append((day, int(delta), kind))
    return {i: costing.ClaimInvoice(rows[i][0], int(rows[i][1]), rows[i][2], tuple(changes[i])) for i in rows}


def costs_charged_on(session, debtor_id: int, invoice_ids) -> date | None:
    """The day a sent letter first charged costs on any of these invoices: payments from then on settle
    those costs first (art. 6:44 BW)."""
    ids = [int(i) for i in invoice_ids]
    if not ids:
        return None
    first = session.scalar(
        select(func.min(Message.sent_at)).join(MessageInvoice, MessageInvoice.message_id == Message.id)
        .where(Message.debtor_id == debtor_id, Message.status == "sent", Message.costs_cents > 0,
               MessageInvoice.invoice_id.in_(ids)))
    return first.date() if isinstance(first, datetime) else first


def wik_letters(session) -> dict[int, tuple[date, str]]:
    """Per invoice the consumer's 14-day letter that covered it: (day sent, channel). A sent message counts
    only when it was rendered as that letter and its words, as sent, give the 14-day term and the exact
    costs (art. 6:96 lid 6 BW); a text a person rewrote without them does not count."""
    out: dict[int, tuple[date, str]] = {}
    rows = session.execute(select(MessageInvoice.invoice_id, Invoice.number, Message.id, Message.sent_at,
                                  Message.channel, Message.costs_detail, Message.body_text, Message.currency,
                                  Message.language)
                           .join(Message, Message.id == MessageInvoice.message_id)
                           .join(Invoice, Invoice.id == MessageInvoice.invoice_id)
                           .join(Debtor, Debtor.id == Message.debtor_id)
                           .where(Debtor.is_consumer.is_(True), Message.status == "sent",
                                  Message.costs_detail.is_not(None), MessageInvoice.active.is_(True)))
    words: dict[int, bool] = {}
    for inv_id, number, mid, sent_at, channel, detail, body, currency, language in rows:
        if not detail or not detail.get("wik_letter") or sent_at is None:
            continue
        if "wik_invoices" in detail and number not in detail["wik_invoices"]:
            continue  # in that message, but its costs were charged or announced by an earlier letter
        if mid not in words:
            words[mid] = costing.is_wik_letter(body, int(detail.get("announced_cents", 0)), currency, language)
        if words[mid]:
            on = sent_at.date()
            if inv_id not in out or on < out[inv_id][0]:
                out[inv_id] = (on, channel)
    return out


@dataclass
class ClaimBasis:
    """What a cost-charging message needs beyond its invoices: the consumer's 14-day letters, and (read
    when needed) the invoices' dated payments and the day costs were first charged (art. 6:44 BW)."""

    session: object
    letters: dict[int, tuple[date, str]]

    def claim(self, debtor, chased: list, on: date, cfg: ReminderSettings) -> costing.Claim:
        ids = [i.id for i in chased]
        views = claim_invoices(self.session, ids, on)
        items = [views.get(i.id) or costing.ClaimInvoice(i.number, i.open_cents, i.due_date) for i in chased]
        letters = {i.number: self.letters[i.id] for i in chased if i.id in self.letters}
        try:
            return costing.claim(items, on, cfg.costs, consumer=bool(debtor.is_consumer),
                                 wik_letters=letters if debtor.is_consumer else None,
                                 costs_charged_on=costs_charged_on(self.session, debtor.id, ids))
        except costing.MissingRateError as exc:
            raise ServiceError(exc.msgid, **exc.params) from None


# --- the claim statement ----------------------------------------------------------------------------

COSTS_BASIS = ("bik", "bik_incl_vat", "eu40", "wik_letter_pending", "none")


@dataclass(frozen=True)
class ClaimStatement:
    debtor: str
    on: date
    currency: str
    consumer: bool
    claim: costing.Claim
    invoices: list[costing.ClaimInvoice]

    @property
    def costs_basis(self) -> str:
        d = self.claim.detail
        if d.get("mode") == "none":
            return "none"
        if self.consumer and not d.get("bik_cents") and self.claim.costs_cents == 0:
            return "wik_letter_pending"
        if d.get("mode") == "eu40":
            return "eu40"
        return "bik_incl_vat" if d.get("vat_included") else "bik"


def claim_statement(uow: UnitOfWork, debtor_code: str, on: date | None = None,
                    currency: str | None = None) -> ClaimStatement:
    """What a debtor owes on `on` for its overdue, undisputed invoices: the claim statement a collection
    agency asks for, by the same computation as the letters (`costs.claim`, with the cost settings)."""
    on = on or date.today()
    s = uow.session
    debtor = s.scalars(select(Debtor).where(Debtor.code == str(debtor_code).strip())).first()
    if debtor is None:
        raise ServiceError("there is no debtor {code}; check the code in the ageing list", code=debtor_code)
    candidates = list(s.scalars(select(Invoice).where(Invoice.debtor_id == debtor.id, Invoice.amount_cents > 0,
                                                      Invoice.due_date < on, Invoice.invoice_date <= on,
                                                      Invoice.disputed.is_(False))))
    views = claim_invoices(s, [i.id for i in candidates], on)
    open_on = [i for i in candidates
               if views[i.id].amount_cents + sum(d for _, d, _ in views[i.id].changes) > 0]
    currencies = sorted({i.currency for i in open_on})
    if currency:
        currency = currency.upper()
        open_on = [i for i in open_on if i.currency == currency]
    elif len(currencies) > 1:
        raise ServiceError("debtor {code} owes in {currencies}; choose one with --currency", code=debtor.code, currencies=", ".join(currencies))
    else:
        currency = currencies[0] if currencies else "EUR"
    open_on.sort(key=lambda i: (i.due_date, i.number))
    cfg = load_settings(s)
    ids = [i.id for i in open_on]
    result = ClaimBasis(s, wik_letters(s)).claim(debtor, open_on, on, cfg)  # as a letter does
    return ClaimStatement(debtor.code, on, currency, bool(debtor.is_consumer), result, [views[i] for i in ids])


def claim_json(st: ClaimStatement) -> dict:
    """The claim statement as the command line prints it: amounts in units, rounded to cents."""
    c = st.claim
    lines = {line["invoice"]: line for line in c.detail.get("interest", [])}
    principals = {line["invoice"]: line["principal_cents"] for line in c.detail.get("invoices", [])}
    invoices = []
    for inv in st.invoices:
        line = lines.get(inv.number, {})
        invoices.append({
            "number": inv.number, "due_date": inv.due_date.isoformat(),
            "principal": to_units(principals.get(inv.number, inv.amount_cents)),
            "interest": to_units(line.get("interest_cents", 0)),
            "periods": [{"from": p["from"], "to": p["to"], "rate": float(p["rate"]),
                         "interest": to_units(p["interest_cents"])} for p in line.get("periods", [])]})
    principal = c.principal_cents if c.principal_cents is not None else sum(i.amount_cents for i in st.invoices)
    return {"debtor": st.debtor, "on": st.on.isoformat(), "currency": st.currency, "consumer": st.consumer,
            "principal": to_units(principal), "interest": to_units(c.interest_cents),
            "costs": to_units(c.costs_cents), "costs_basis": st.costs_basis,
            "total": to_units(principal + c.interest_cents + c.costs_cents), "invoices": invoices}


# --- prescription -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PrescriptionFlag:
    invoice_id: int
    number: str
    due_date: date
    prescribed_on: date
    interrupted_on: date | None


def interruptions(session, debtor_ids=None) -> dict[int, date]:
    """Per invoice the day of the latest recorded letter that interrupted prescription (art. 3:317 BW)."""
    q = select(Note.invoice_id, func.max(Note.created_at)).where(Note.kind == INTERRUPTION_NOTE,
                                                                 Note.invoice_id.is_not(None))
    if debtor_ids is not None:
        q = q.where(Note.debtor_id.in_(list(debtor_ids)))
    return {inv_id: (at.date() if isinstance(at, datetime) else at)
            for inv_id, at in session.execute(q.group_by(Note.invoice_id)) if at is not None}


def time_barred(session, today: date, debtor_ids=None) -> dict[int, PrescriptionFlag]:
    """Open invoices that may be time-barred on `today` (five years after the due date, art. 3:307 BW; two
    for a consumer purchase, art. 7:28 BW; restarted by a recorded interruption, art. 3:317/3:319 BW). They
    are flagged in the dossier and left out of automatic reminder steps."""
    interrupted = interruptions(session, debtor_ids)
    q = (select(Invoice.id, Invoice.number, Invoice.due_date, Debtor.is_consumer)
         .join(Debtor, Debtor.id == Invoice.debtor_id)
         .where(Invoice.open_cents > 0, Invoice.amount_cents > 0,
                Invoice.due_date < costing._plus_years(today, -costing.CONSUMER_PURCHASE_YEARS)))
    if debtor_ids is not None:
        q = q.where(Invoice.debtor_id.in_(list(debtor_ids)))
    out = {}
    for inv_id, number, due, consumer in session.execute(q):
        when = costing.prescribed_on(due, consumer=bool(consumer), interrupted_on=interrupted.get(inv_id))
        if today >= when:
            out[inv_id] = PrescriptionFlag(inv_id, number, due, when, interrupted.get(inv_id))
    return out


def record_interruption(uow: UnitOfWork, code: str, numbers, text: str, *, actor: str,
                        sent_on: date | None = None) -> list[int]:
    """A letter that interrupts prescription (a written demand that clearly reserves the right to payment,
    art. 3:317 lid 1 BW) was sent by hand: recorded per invoice in the dossier, audited, and from that day a
    new term runs (art. 3:319 BW)."""
    s = uow.session
    debtor = s.scalars(select(Debtor).where(Debtor.code == str(code).strip())).first()
    if debtor is None:
        raise ServiceError("there is no debtor {code}", code=code)
    text = (text or "").strip()
    if not text:
        raise ServiceError("describe the letter (date, how it was sent, what it demanded), so it can be proved")
    wanted = [str(n).strip() for n in numbers if str(n).strip()]
    if not wanted:
        raise ServiceError("name the invoices the letter demanded")
    invoices = {i.number: i for i in s.scalars(select(Invoice).where(Invoice.debtor_id == debtor.id,
                                                                     Invoice.number.in_(wanted)))}
    missing = [n for n in wanted if n not in invoices]
    if missing:
        raise ServiceError("debtor {code} has no invoice {number}", code=debtor.code, number=missing[0])
    when = datetime.combine(sent_on, datetime.min.time()) if sent_on else None
    ids = []
    for number in wanted:
        note = Note(debtor_id=debtor.id, invoice_id=invoices[number].id, kind=INTERRUPTION_NOTE,
                    text=text, created_by=actor, **({"created_at": when} if when else {}))
        s.add(note)
        s.flush()
        ids.append(note.id)
        record_audit(s, actor, "prescription.interrupt", "invoice", invoices[number].id, None,
                     {"number": number, "sent_on": (sent_on or date.today()).isoformat(), "text": text})
    uow.commit()
    return ids
