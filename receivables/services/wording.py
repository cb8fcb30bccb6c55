"""The words and amounts of a reminder: its template context, rendered subject and text, the costs a step
charges; and rendering an unsent message again when its invoices changed before it went out. The engine,
the queue and the ledger (an invoice paid, credited or disputed leaves its messages) all word a message
here."""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import quote

from sqlalchemy import select

from db.models import Debtor, Invoice, Message, MessageInvoice, PaymentPlan, PaymentPlanInvoice
from emails import statement
from emails.render import TemplateError, render_message
from receivables.domain import chase, contacts, epc, phrases, references, tracks
from receivables.domain import costs as costing
from receivables.domain import plans as plan_rules
from receivables.domain.messages import UNSENT
from receivables.domain.phrases import Phrase
from receivables.domain.planning import OpenInvoice
from receivables.domain.tracks import Step, Track
from receivables.domain.translation import N_
from receivables.services import claims
from receivables.services.errors import ServiceError
from receivables.services.reminder_settings import ReminderSettings, load_settings

PAY_DAYS = {"demand": 14, "final_notice": 14, "handover": 14}
AMOUNT_FIELDS = ("total_cents", "costs_cents", "interest_cents", "costs_detail")  # what follows edited words
# the invoice columns an OpenInvoice is made of, in its order
INVOICE_COLUMNS = (Invoice.id, Invoice.number, Invoice.debtor_id, Invoice.currency, Invoice.invoice_date,
                   Invoice.due_date, Invoice.amount_cents, Invoice.open_cents, Invoice.disputed,
                   Invoice.paused_until, Invoice.description)


def company_name(payment: dict | None) -> str:
    """Who the reminders are from, in the templates and on letters: the beneficiary of the payment
    details."""
    return (payment or {}).get("beneficiary") or "Debtor Desk"


def reference(debtor_code: str, numbers: list[str]) -> str:
    """The payment reference of a message: the debtor's code and the invoice numbers, at most 140 characters."""
    ref = f"{debtor_code} " + " ".join(numbers)
    return ref if len(ref) <= 140 else ref[:137] + "..."


def structured_reference(message_id: int | None, kind: str | None = None) -> str:
    """The structured payment reference of a message (RF creditor reference or betalingskenmerk, compact),
    or "" while the message has no id: a payment quoting it is matched to that message's invoices."""
    if not message_id:
        return ""
    return references.message_reference(int(message_id), kind if kind in references.KINDS else references.RF)


def claim_basis(session) -> claims.ClaimBasis:
    return claims.ClaimBasis(session, claims.wik_letters(session))


class _Blank(dict):
    """A payment link's fields; one this version does not fill (a pattern saved by an older one) stays
    empty instead of stopping every render."""

    def __missing__(self, key):
        return ""


def _overview_status(i, chased_ids: set[int], holds: dict[int, str], planned: date) -> str:
    if i.id in chased_ids:
        return "chased"
    if i.open_cents < 0 or i.amount_cents < 0:
        return "credit"
    reason = holds.get(i.id)
    if reason == chase.DISPUTED:
        return "disputed"
    if reason in chase.HELD:  # blocked, paused or promised: the template says "held"
        return "held"
    return "not_due" if i.due_date >= planned else "other"


def payment_link(pattern: str, values: dict) -> str:
    if not pattern:
        return ""
    try:
        return pattern.format_map(_Blank({k: quote(str(v), safe="") for k, v in values.items()}))
    except (ValueError, IndexError):  # a malformed pattern saved before it was checked: no link
        return ""


def message_context(debtor, track: Track, step: Step, chased: list, open_items: list, currency: str,
                    planned: date, cfg: ReminderSettings, claim: costing.Claim,
                    holds: dict[int, str] | None = None, message_id: int | None = None) -> dict:
    """Everything a template may use. Credit notes and items not chased here appear in the overview, named
    by why they are not chased (`holds`: invoice id -> a reason of `receivables.domain.chase`). The
    payment reference is the message's structured reference (`message_id`; the debtor's code and the
    invoice numbers are the description beside it), or those words alone for a message without an id."""
    chased_ids = {i.id for i in chased}
    listed, more = statement.listed(chased)
    # a message that lists only part of its invoices leaves the overview to the attached statement
    overview = [{"number": i.number, "invoice_date": i.invoice_date, "due_date": i.due_date,
                 "open_cents": i.open_cents, "status": _overview_status(i, chased_ids, holds or {}, planned)}
                for i in ([] if more else sorted((i for i in open_items if i.currency == currency),
                                                 key=lambda i: (i.due_date, i.number)))]
    # what remains of the principal after payments went to costs and interest first (art. 6:44 BW)
    principal = {line["invoice"]: line["principal_cents"] for line in claim.detail.get("invoices", [])}
    total = claim.principal_cents if claim.principal_cents is not None else sum(i.open_cents for i in chased)
    due = total + claim.costs_cents + claim.interest_cents
    pay = cfg.payment
    described = reference(debtor.code, [i.number for i in chased])
    structured = structured_reference(message_id, cfg.reference_kind)
    ref = references.format_reference(structured) if structured else described
    link = payment_link(pay.get("link_pattern") or "", {
        "debtor_code": debtor.code, "amount": f"{due // 100}.{due % 100:02d}", "reference": structured or described,
        "currency": currency})
    language = contacts.letter_language(debtor.language)
    if more:
        more = {**more, "note": statement.more_note(more, language)}
    return {
        "language": language, "tone": track.tone, "channel": step.channel,
        "step": {"key": step.key, "template": step.template},
        "track": {"key": track.key, "name": track.name},
        "debtor": {"code": debtor.code, "name": debtor.name, "contact_person": debtor.contact_person or "",
                   "phone": debtor.phone or "", "email": debtor.email or ""},
        "company": {"name": company_name(pay)},
        "currency": currency, "many": len(chased) > 1,
        "invoices": [{"number": i.number, "invoice_date": i.invoice_date, "due_date": i.due_date,
                      "days_overdue": max(0, (planned - i.due_date).days),
                      "open_cents": principal.get(i.number, i.open_cents),
                      "description": i.description or ""} for i in listed],
        "more": more, "invoice_count": len(chased),
        "overview": overview,
        "total_cents": total, "costs_cents": claim.costs_cents, "interest_cents": claim.interest_cents,
        "amount_due_cents": due, "costs": {"rates_used": [], "consumer": bool(debtor.is_consumer), **claim.detail},
        "planned_date": planned, "pay_by": planned + timedelta(days=PAY_DAYS.get(step.template, 7)),
        "payment": {"iban": pay.get("iban", ""), "bic": pay.get("bic", ""),
                    "beneficiary": pay.get("beneficiary", ""), "reference": ref,
                    "description": described if structured else "", "link": link},
        "portal": {"link": cfg.portal_link},
        "qr": currency == "EUR" and due > 0 and bool(pay.get("beneficiary")) and epc.valid_iban(pay.get("iban", "")),
    }


def compose(debtor, track: Track, step: Step, chased: list, open_items: list, currency: str, planned: date,
            cfg: ReminderSettings, basis: claims.ClaimBasis, holds: dict[int, str] | None = None,
            message_id: int | None = None) -> dict:
    """The stored fields of a message: rendered words, amounts and costs. Not its recipients: they are
    the debtor's reminder contact when it is previewed or sent (`contacts.reminder_address`)."""
    claim = costing.Claim(0, 0, {})
    # a consumer is charged, or sent the 14-day letter, only by a step that can be that letter (art. 6:96 lid 6)
    if step.charges_costs and chased and (not debtor.is_consumer or (step.template in tracks.WIK_TEMPLATES
                                                                      and step.channel != "call")):
        claim = basis.claim(debtor, chased, planned, cfg)
    ctx = message_context(debtor, track, step, chased, open_items, currency, planned, cfg, claim, holds, message_id)
    rendered = render_message(ctx, cfg.texts)
    return {"subject": rendered.subject, "body_text": rendered.text, "body_html": rendered.html,
            "language": ctx["language"], "currency": currency,
            "total_cents": ctx["total_cents"], "costs_cents": claim.costs_cents,
            "interest_cents": claim.interest_cents, "costs_detail": claim.detail or None}


def render_again(s, m: Message, cfg: ReminderSettings, basis: claims.ClaimBasis, *, words: bool = True) -> None:
    """The message's words, amounts and costs rendered anew from its active invoices as they stand now;
    with `words` False only the amounts and costs (words a person wrote stay)."""
    track = cfg.tracks.get(m.track)
    if track is None or m.step_index >= len(track.steps):
        raise ServiceError("track {track} of message {id} no longer has this step", track=m.track, id=m.id)
    debtor = s.get(Debtor, m.debtor_id)
    items = [OpenInvoice(*r) for r in s.execute(select(*INVOICE_COLUMNS).where(
        Invoice.debtor_id == m.debtor_id, Invoice.open_cents != 0))]
    active = set(s.scalars(select(MessageInvoice.invoice_id).where(MessageInvoice.message_id == m.id,
                                                                   MessageInvoice.active.is_(True))))
    chased = sorted((i for i in items if i.id in active), key=lambda i: (i.due_date, i.number))
    planned = set(s.scalars(select(PaymentPlanInvoice.invoice_id).join(
        PaymentPlan, PaymentPlan.id == PaymentPlanInvoice.plan_id).where(
        PaymentPlan.status.in_(sorted(plan_rules.HOLDING)), PaymentPlan.debtor_id == m.debtor_id)))
    # how the overview names what is not chased, on the message's day: disputed, or paused or in a plan then
    holds = {i.id: reason for i in items if (reason := chase.hold_reason(chase.InvoiceState(
        open_cents=i.open_cents, amount_cents=i.amount_cents, disputed=i.disputed, paused_until=i.paused_until,
        in_plan=i.id in planned), m.planned_date))}
    try:
        fields = compose(debtor, track, track.steps[m.step_index], chased, items, m.currency, m.planned_date,
                         cfg, basis, holds, m.id)
    except TemplateError as exc:
        raise ServiceError(exc.msgid, **exc.params) from None
    if not words:
        fields = {k: fields[k] for k in AMOUNT_FIELDS}
    for k, v in fields.items():
        setattr(m, k, v)
    m.qr_payload = m.qr_png = None  # the kept image asked for the old total: drawn again when needed


def reword(session, message_ids, why: Phrase) -> list[int]:
    """Unsent messages whose invoices changed before they went out (an invoice paid, credited, disputed or
    promised left them; an undone import brought one back): their words, total and QR code follow the
    invoices they still chase, in the same transaction. Words a person wrote are not rewritten: such a
    message goes back to the queue to be checked and approved again. Returns the ids sent back."""
    ids = sorted({int(i) for i in message_ids})
    if not ids:
        return []
    cfg, basis, back = load_settings(session), claim_basis(session), []
    chosen = [m for start in range(0, len(ids), 500) for m in session.scalars(  # as the caller's updates left them
        select(Message).where(Message.id.in_(ids[start:start + 500]), Message.status.in_(UNSENT))
        .execution_options(populate_existing=True))]
    for m in chosen:
        try:
            render_again(session, m, cfg, basis, words=not m.edited)  # the amounts follow in any case
            if not m.edited:
                continue
            reason = Phrase(N_("{why}; the text was written by hand, so check it and approve it again"), {"why": why})
        except ServiceError as exc:
            reason = Phrase(N_("{reason}; it cannot be rendered again ({error})"), {"reason": why, "error": exc.phrase})
        if m.status == "approved":
            m.status = "proposed"
            back.append(m.id)
        m.last_error = phrases.dump(reason)
    return back
