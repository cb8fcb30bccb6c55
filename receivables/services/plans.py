"""Payment plans (betalingsregelingen): proposed from the portal or made by staff, accepted or rejected,
their terms paid from the ledger's payments (the oldest open term first), late and broken after the grace
period, and a person's decision about a broken plan. The plan's invoices leave the reminder track while it
runs (the chase rule asks `held_invoices`); a broken plan counts like a broken promise in the signals."""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date, datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from db.models import (
    Debtor,
    Invoice,
    InvoiceChange,
    Message,
    MessageInvoice,
    PaymentPlan,
    PaymentPlanInvoice,
    PaymentPlanTerm,
    utcnow,
)
from db.uow import UnitOfWork
from emails.plan_notice import render_notice
from emails.render import TemplateError
from receivables.domain import phrases
from receivables.domain import plans as rules
from receivables.domain.dossier import RuleError, clean_text
from receivables.domain.messages import UNSENT
from receivables.domain.money import fmt
from receivables.domain.phrases import Phrase
from receivables.domain.translation import N_
from receivables.services.audit import record_audit
from receivables.services.errors import ServiceError
from receivables.services.ledger import drop_from_pending_messages
from receivables.services.reminder_settings import PAYMENT_DEFAULTS, PAYMENT_KEY
from receivables.services.settings import get_setting, put_setting
from receivables.services.wording import company_name, reference

LIMITS_KEY = "plans.limits"
PAYMENT_KINDS = ("payment", "credit")


@contextmanager
def _rules():
    """A rule's refusal as the error the pages and the command line show."""
    try:
        yield
    except RuleError as exc:
        raise ServiceError(exc.msgid, **exc.params) from None


# --- settings --------------------------------------------------------------------------------------

def limits(session: Session) -> rules.Limits:
    """The administrator's limits and grace period (the shipped defaults for what was never saved)."""
    stored = get_setting(session, LIMITS_KEY) or {}
    defaults = asdict(rules.Limits())
    try:
        return rules.Limits(**{k: int(stored.get(k, v)) for k, v in defaults.items()})
    except (TypeError, ValueError):
        return rules.Limits()


def save_limits(uow: UnitOfWork, values: dict, *, actor: str) -> rules.Limits:
    """Check and store the limits (any of max_terms, max_first_delay_days, min_term_cents, grace_days,
    notice_days); audited."""
    current = asdict(limits(uow.session))
    unknown = set(values) - set(current)
    if unknown:
        raise ServiceError("unknown plan setting {name}", name=", ".join(sorted(unknown)))
    try:
        new = rules.Limits(**{k: int(values.get(k, v)) for k, v in current.items()})
    except (TypeError, ValueError):
        raise ServiceError("the plan settings are whole numbers") from None
    with _rules():
        new.check()
    put_setting(uow.session, LIMITS_KEY, asdict(new), actor)
    uow.commit()
    return new


# --- what the pages and the command line read ---------------------------------------------------------

@dataclass(frozen=True)
class TermView:
    seq: int
    due_date: date
    amount_cents: int
    paid_cents: int
    paid_on: date | None
    state: str


@dataclass(frozen=True)
class PlanView:
    id: int
    debtor_id: int
    debtor_code: str
    debtor_name: str
    status: str
    source: str
    currency: str
    interval: str
    principal_cents: int
    interest_cents: int
    costs_cents: int
    total_cents: int
    paid_cents: int
    invoices: tuple[str, ...]
    note: str
    reason: str
    created_by: str
    created_at: datetime
    decided_by: str | None
    broken_on: date | None
    chance_on: date | None
    terms: tuple[TermView, ...] = field(default_factory=tuple)

    @property
    def late_terms(self) -> tuple[TermView, ...]:
        return tuple(t for t in self.terms if t.state in (rules.LATE, rules.BROKEN))


def _view(plan: PaymentPlan, debtor: Debtor, numbers: dict[int, str]) -> PlanView:
    terms = tuple(TermView(t.seq, t.due_date, t.amount_cents, t.paid_cents, t.paid_on, t.state) for t in plan.terms)
    return PlanView(plan.id, plan.debtor_id, debtor.code, debtor.name, plan.status, plan.source, plan.currency,
                    plan.interval, plan.principal_cents, plan.interest_cents, plan.costs_cents,
                    sum(t.amount_cents for t in terms), sum(t.paid_cents for t in terms),
                    tuple(sorted(numbers[link.invoice_id] for link in plan.invoices)), plan.note, plan.reason,
                    plan.created_by, plan.created_at, plan.decided_by, plan.broken_on, plan.chance_on, terms)


def list_plans(uow: UnitOfWork, *, debtor_id: int | None = None, code: str | None = None,
               status: str | Iterable[str] | None = None) -> list[PlanView]:
    """The plans (newest first), of one debtor (by id or code) and/or in some statuses."""
    s = uow.session
    query = select(PaymentPlan, Debtor).join(Debtor, Debtor.id == PaymentPlan.debtor_id)
    if code is not None:
        query = query.where(Debtor.code == code)
    if debtor_id is not None:
        query = query.where(PaymentPlan.debtor_id == debtor_id)
    if status is not None:
        wanted = [status] if isinstance(status, str) else list(status)
        bad = set(wanted) - set(rules.STATUSES)
        if bad:
            raise ServiceError("unknown plan status {status}; choose from {choices}", status=", ".join(sorted(bad)),
                               choices=", ".join(rules.STATUSES))
        query = query.where(PaymentPlan.status.in_(wanted))
    rows = s.execute(query.order_by(PaymentPlan.id.desc())).all()
    ids = {link.invoice_id for plan, _ in rows for link in plan.invoices}
    numbers = dict(s.execute(select(Invoice.id, Invoice.number).where(Invoice.id.in_(ids))).all()) if ids else {}
    return [_view(plan, debtor, numbers) for plan, debtor in rows]


def get_plan(uow: UnitOfWork, plan_id: int) -> PlanView:
    plan = _plan(uow.session, plan_id)
    debtor = uow.session.get(Debtor, plan.debtor_id)
    ids = [link.invoice_id for link in plan.invoices]
    numbers = dict(uow.session.execute(select(Invoice.id, Invoice.number).where(Invoice.id.in_(ids))).all())
    return _view(plan, debtor, numbers)


def as_json(views: Iterable[PlanView]) -> list[dict]:
    """Plans as JSON-ready dicts (dates as ISO text, amounts in cents)."""
    def plain(value):
        if isinstance(value, (date, datetime)):
            return value.isoformat()
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        return value
    return [plain(asdict(v)) for v in views]


def held_invoices(session: Session) -> set[int]:
    """The invoices of running plans (active, or broken and waiting for a person): the reminder track leaves
    them alone."""
    return set(session.scalars(select(PaymentPlanInvoice.invoice_id).join(
        PaymentPlan, PaymentPlan.id == PaymentPlanInvoice.plan_id).where(PaymentPlan.status.in_(rules.HOLDING))))


def resolve(uow: UnitOfWork, code: str, numbers: Iterable[str]) -> tuple[int, list[int]]:
    """A debtor's id and the ids of its invoices named by number (for the command line)."""
    s = uow.session
    debtor = s.scalar(select(Debtor).where(Debtor.code == code))
    if debtor is None:
        raise ServiceError("there is no debtor {code}", code=code)
    wanted = [n.strip() for n in numbers if n and n.strip()]
    found = dict(s.execute(select(Invoice.number, Invoice.id).where(Invoice.number.in_(wanted))).all()) if wanted else {}
    missing = [n for n in wanted if n not in found]
    if missing:
        raise ServiceError("there is no invoice {number}", number=", ".join(missing))
    return debtor.id, [found[n] for n in wanted]


@dataclass(frozen=True)
class Plannable:
    id: int
    number: str
    currency: str
    due_date: date
    open_cents: int


def plannable_invoices(uow: UnitOfWork, code: str | None = None, *, debtor_id: int | None = None) -> list[Plannable]:
    """The debtor's invoices (by code or id) a plan may cover: open, undisputed and in no other plan that
    runs or waits."""
    s = uow.session
    busy = select(PaymentPlanInvoice.invoice_id).join(PaymentPlan, PaymentPlan.id == PaymentPlanInvoice.plan_id).where(
        PaymentPlan.status.in_(rules.LIVE))
    query = (select(Invoice.id, Invoice.number, Invoice.currency, Invoice.due_date, Invoice.open_cents)
             .join(Debtor, Debtor.id == Invoice.debtor_id)
             .where(Invoice.open_cents > 0, Invoice.disputed.is_(False), Invoice.id.not_in(busy)))
    if code is not None:
        query = query.where(Debtor.code == code)
    if debtor_id is not None:
        query = query.where(Debtor.id == int(debtor_id))
    if code is None and debtor_id is None:
        raise ServiceError("name the debtor")
    rows = s.execute(query.order_by(Invoice.due_date, Invoice.number)).all()
    return [Plannable(*r) for r in rows]


# --- making a plan --------------------------------------------------------------------------------------

def _plan(session: Session, plan_id: int, *, lock: bool = False) -> PaymentPlan:
    query = select(PaymentPlan).where(PaymentPlan.id == int(plan_id))
    plan = session.scalar(query.with_for_update() if lock else query)
    if plan is None:
        raise ServiceError("there is no payment plan {id}", id=plan_id)
    return plan


def _in_other_plans(session: Session, invoice_ids: list[int], but: int | None = None) -> list[str]:
    query = (select(Invoice.number).join(PaymentPlanInvoice, PaymentPlanInvoice.invoice_id == Invoice.id)
             .join(PaymentPlan, PaymentPlan.id == PaymentPlanInvoice.plan_id)
             .where(Invoice.id.in_(invoice_ids), PaymentPlan.status.in_(rules.LIVE)))
    if but is not None:
        query = query.where(PaymentPlan.id != but)
    return list(session.scalars(query))


def propose_plan(uow: UnitOfWork, debtor_id: int, invoice_ids: Iterable[int], terms: int, start_date: date, *,
                 source: str, actor: str, note: str = "", interval: str = "month", interest_cents: int = 0,
                 costs_cents: int = 0, today: date | None = None) -> int:
    """A plan for some of a debtor's open invoices: their open amount (plus the interest and costs agreed) in
    `terms` instalments from `start_date` at the interval, within the administrator's limits. From the
    portal it is proposed and waits for a person; from staff it runs at once. Returns the plan's id."""
    today = today or date.today()
    if source not in rules.SOURCES:
        raise ServiceError("a plan comes from staff or the portal, not {source}", source=source)
    if not isinstance(start_date, date):
        raise ServiceError("choose the date of the first term")
    try:
        terms, interest_cents, costs_cents = int(terms), int(interest_cents or 0), int(costs_cents or 0)
    except (TypeError, ValueError):
        raise ServiceError("the number of terms, the interest and the costs are whole numbers") from None
    s = uow.session
    debtor = s.get(Debtor, int(debtor_id))
    if debtor is None:
        raise ServiceError("there is no debtor with id {id}", id=debtor_id)
    ids = list(dict.fromkeys(int(i) for i in invoice_ids))
    invoices = list(s.scalars(select(Invoice).where(Invoice.id.in_(ids)).order_by(Invoice.due_date, Invoice.number)))
    if len(invoices) != len(ids):
        raise ServiceError("choose the invoices the plan covers from the debtor's open invoices")
    limits_now = limits(s)
    with _rules():
        currency = rules.check_invoices(invoices, debtor.id, _in_other_plans(s, ids))
        principal = sum(i.open_cents for i in invoices)
        schedule = rules.schedule(principal, terms, start_date, interval, interest_cents=interest_cents,
                                  costs_cents=costs_cents)
        rules.check_plan(schedule, start_date, today, limits_now, currency)
        note = clean_text(note, "the note", required=False)
    plan = PaymentPlan(debtor_id=debtor.id, status=rules.PROPOSED if source == "portal" else rules.ACTIVE,
                       source=source, currency=currency, interval=interval, principal_cents=principal,
                       interest_cents=interest_cents, costs_cents=costs_cents, note=note, reason="",
                       created_by=actor)
    plan.invoices = [PaymentPlanInvoice(invoice_id=i.id) for i in invoices]
    plan.terms = [PaymentPlanTerm(seq=t.seq, due_date=t.due_date, amount_cents=t.amount_cents, paid_cents=0,
                                  state=rules.OPEN) for t in schedule]
    s.add(plan)
    s.flush()
    cancelled = []
    if plan.status == rules.ACTIVE:
        plan.decided_by, plan.decided_at = actor, utcnow()
        cancelled = drop_from_pending_messages(s, ids)
    record_audit(s, actor, "plan.create" if source == "staff" else "plan.propose", "debtor", debtor.code, None,
                 {"plan_id": plan.id, "source": source, "status": plan.status, "invoices": [i.number for i in invoices],
                  "terms": [(t.due_date, t.amount_cents) for t in schedule], "interest_cents": interest_cents,
                  "costs_cents": costs_cents, "cancelled_messages": cancelled})
    uow.commit()
    return plan.id


def create_plan(uow: UnitOfWork, debtor_id: int, invoice_ids: Iterable[int], terms: int, start_date: date, *,
                actor: str, note: str = "", interval: str = "month", interest_cents: int = 0, costs_cents: int = 0,
                today: date | None = None) -> int:
    """A plan a person agreed with the debtor: it runs at once, and its invoices leave the reminder track."""
    return propose_plan(uow, debtor_id, invoice_ids, terms, start_date, source="staff", actor=actor, note=note,
                        interval=interval, interest_cents=interest_cents, costs_cents=costs_cents, today=today)


def accept_plan(uow: UnitOfWork, plan_id: int, *, actor: str, today: date | None = None) -> None:
    """A person accepts a proposed plan: it runs, and its invoices leave the reminder track."""
    today = today or date.today()
    s = uow.session
    plan = _plan(s, plan_id, lock=True)
    if plan.status != rules.PROPOSED:
        raise ServiceError("plan {id} is {status}, not proposed; only a proposed plan can be accepted", id=plan.id,
                           status=plan.status)
    ids = [link.invoice_id for link in plan.invoices]
    busy = _in_other_plans(s, ids, but=plan.id)
    if busy:
        raise ServiceError("invoice {numbers} is already in a payment plan; decide about that plan first",
                           numbers=", ".join(sorted(busy)))
    plan.status, plan.decided_by, plan.decided_at = rules.ACTIVE, actor, utcnow()
    cancelled = drop_from_pending_messages(s, ids)
    _follow(s, plan, today)
    record_audit(s, actor, "plan.accept", "payment_plan", plan.id, {"status": rules.PROPOSED},
                 {"status": plan.status, "cancelled_messages": cancelled})
    uow.commit()


def reject_plan(uow: UnitOfWork, plan_id: int, *, actor: str, reason: str) -> None:
    """A person turns a proposed plan down, saying why; its invoices stay on their track."""
    s = uow.session
    plan = _plan(s, plan_id, lock=True)
    if plan.status != rules.PROPOSED:
        raise ServiceError("plan {id} is {status}, not proposed; only a proposed plan can be rejected", id=plan.id,
                           status=plan.status)
    with _rules():
        reason = clean_text(reason, "the reason")
    plan.status, plan.reason, plan.decided_by, plan.decided_at = rules.REJECTED, reason, actor, utcnow()
    record_audit(s, actor, "plan.reject", "payment_plan", plan.id, {"status": rules.PROPOSED},
                 {"status": plan.status, "reason": reason})
    uow.commit()


def decide_broken(uow: UnitOfWork, plan_id: int, choice: str, *, actor: str, note: str = "",
                  today: date | None = None) -> str:
    """A person decides about a broken plan: one more chance (the missed terms may still be paid within the
    grace period from today; the plan runs on) or back on the reminder track (the plan ends; its invoices
    are chased again from the step where they left). Returns the plan's new status."""
    today = today or date.today()
    s = uow.session
    with _rules():
        rules.check_choice(choice)
        note = clean_text(note, "the note", required=False)
    plan = _plan(s, plan_id, lock=True)
    if plan.status != rules.BROKEN:
        raise ServiceError("plan {id} is {status}, not broken; a decision is only asked of a broken plan",
                           id=plan.id, status=plan.status)
    if choice == rules.ONE_MORE_CHANCE:
        plan.status, plan.chance_on = rules.ACTIVE, today
        _follow(s, plan, today)
    else:
        plan.status = rules.ENDED
        _cancel_notices(s, plan.terms, Phrase(N_("the payment plan ended")))
    plan.reason, plan.decided_by, plan.decided_at = note, actor, utcnow()
    record_audit(s, actor, f"plan.{choice}", "payment_plan", plan.id, {"status": rules.BROKEN},
                 {"status": plan.status, "note": note})
    uow.commit()
    return plan.status


# --- payments and the days passing -------------------------------------------------------------------

def _payments(session: Session, plan: PaymentPlan) -> list[tuple[date, int]]:
    """The payments and credits on the plan's invoices recorded since the plan was made: its principal was
    what was open then."""
    ids = [link.invoice_id for link in plan.invoices]
    rows = session.execute(select(InvoiceChange.change_date, InvoiceChange.delta_cents).where(
        InvoiceChange.invoice_id.in_(ids), InvoiceChange.kind.in_(PAYMENT_KINDS), InvoiceChange.delta_cents < 0,
        InvoiceChange.created_at >= plan.created_at)).all()
    return [(day, -cents) for day, cents in rows]


def _follow(session: Session, plan: PaymentPlan, today: date, actor: str = "system", *,
            may_break: bool = True) -> str | None:
    """Set the plan's payments against its terms and bring the terms and the plan to their state on `today`.
    Returns the plan's new status when it changed."""
    grace = limits(session).grace_days
    terms = [rules.Term(t.seq, t.due_date, t.amount_cents) for t in plan.terms]
    standing = rules.standing(terms, _payments(session, plan), today, grace, plan.chance_on)
    for row, now in zip(plan.terms, standing, strict=True):
        row.paid_cents, row.paid_on = now.paid_cents, now.paid_on
        if may_break or rules.PAID in (now.state, row.state):  # late and broken are the daily refresh's to say
            row.state = now.state
    _cancel_notices(session, [t for t in plan.terms if t.state == rules.PAID], Phrase(N_("the term is paid")))
    ids = [link.invoice_id for link in plan.invoices]
    settled = all(o <= 0 for o in session.scalars(select(Invoice.open_cents).where(Invoice.id.in_(ids))))
    status = rules.next_status(plan.status, rules.plan_state(standing, settled))
    if status == plan.status or (status == rules.BROKEN and not may_break):
        return None
    before, plan.status = plan.status, status
    if status == rules.BROKEN:
        plan.broken_on = today
    record_audit(session, actor, f"plan.{status}", "payment_plan", plan.id, {"status": before}, {"status": status})
    return status


def apply_payments(session: Session, invoice_ids: Iterable[int], today: date | None = None) -> list[int]:
    """After payments landed on these invoices (an import, the bank): the running plans covering them set
    the payments against their oldest open terms, and a plan paid in full ends. Breaking a plan is left to
    `refresh`. In the caller's transaction. Returns the plans looked at."""
    today = today or date.today()
    landed = {int(i) for i in invoice_ids}
    if not landed:
        return []
    running = session.execute(select(PaymentPlanInvoice.plan_id, PaymentPlanInvoice.invoice_id).join(
        PaymentPlan, PaymentPlan.id == PaymentPlanInvoice.plan_id).where(PaymentPlan.status.in_(rules.HOLDING))).all()
    plan_ids = sorted({plan_id for plan_id, invoice_id in running if invoice_id in landed})
    for plan_id in plan_ids:
        _follow(session, session.get(PaymentPlan, plan_id), today, may_break=False)
    return plan_ids


@dataclass
class Refresh:
    looked_at: int = 0
    broken: list[int] = field(default_factory=list)
    paid: list[int] = field(default_factory=list)
    notices: list[int] = field(default_factory=list)  # messages proposed


def refresh(uow: UnitOfWork, today: date | None = None, *, actor: str = "system") -> Refresh:
    """The running plans on `today`: payments set against the terms, terms late or broken after the grace
    period (a broken plan waits for a person), plans paid; and the notice of each term due soon proposed
    into the queue."""
    today = today or date.today()
    out = refresh_in(uow.session, today, actor=actor)
    uow.commit()
    return out


def refresh_in(session: Session, today: date, *, actor: str = "system") -> Refresh:
    """`refresh` in the caller's transaction (the reminder engine runs it before planning)."""
    out = Refresh()
    running = session.scalars(select(PaymentPlan).where(PaymentPlan.status.in_(rules.HOLDING))
                              .order_by(PaymentPlan.id)).all()
    for plan in running:
        out.looked_at += 1
        changed = _follow(session, plan, today, actor)
        if changed == rules.BROKEN:
            out.broken.append(plan.id)
        elif changed == rules.PAID:
            out.paid.append(plan.id)
        if plan.status == rules.ACTIVE:
            out.notices += _propose_notices(session, plan, today)
    return out


# --- the notice before each term ----------------------------------------------------------------------

def _cancel_notices(session: Session, terms: Iterable[PaymentPlanTerm], why: Phrase) -> None:
    """The unsent notices of these terms are not sent any more."""
    ids = [t.notice_message_id for t in terms if t.notice_message_id]
    if ids:
        session.execute(update(Message).where(Message.id.in_(ids), Message.status.in_(UNSENT))
                        .values(status="cancelled", last_error=phrases.dump(why), updated_at=utcnow()))


def _propose_notices(session: Session, plan: PaymentPlan, today: date) -> list[int]:
    """The notice of each unpaid term due within the notice period, proposed into the queue once (its
    step key names the plan and the term; the sender sends it like any message)."""
    notice_days = limits(session).notice_days
    due = [t for t in plan.terms if t.notice_message_id is None and t.state != rules.PAID
           and rules.notice_due(rules.TermStanding(t.seq, t.due_date, t.amount_cents, t.paid_cents, t.paid_on, t.state),
                                today, notice_days)]
    if not due:
        return []
    debtor = session.get(Debtor, plan.debtor_id)
    invoices = list(session.execute(select(Invoice.id, Invoice.number, Invoice.open_cents).join(
        PaymentPlanInvoice, PaymentPlanInvoice.invoice_id == Invoice.id).where(PaymentPlanInvoice.plan_id == plan.id)
        .order_by(Invoice.due_date, Invoice.number)).all())
    numbers = [n for _, n, _ in invoices]
    payment = {**PAYMENT_DEFAULTS, **(get_setting(session, PAYMENT_KEY) or {})}
    total = sum(t.amount_cents for t in plan.terms)
    made = []
    for term in due:
        amount = term.amount_cents - term.paid_cents
        left_after = total - sum(t.paid_cents for t in plan.terms) - amount
        ctx = {"debtor": debtor, "company": {"name": company_name(payment)}, "term": term,
               "term_count": len(plan.terms), "amount_cents": amount, "left_after_cents": max(left_after, 0),
               "currency": plan.currency, "numbers": ", ".join(numbers), "many": len(numbers) > 1,
               "payment": {**payment, "reference": reference(debtor.code, numbers)}, "language": debtor.language,
               "qr": plan.currency == "EUR" and bool(payment["iban"])}
        try:
            words = render_notice(ctx)
        except TemplateError as exc:
            raise ServiceError(exc.msgid, **exc.params) from None
        message = Message(debtor_id=debtor.id, track=rules.NOTICE_TRACK, step_index=0, step_name=rules.NOTICE_STEP,
                          step_key=f"plan/{plan.id}/{term.seq}", channel="email", language=debtor.language,
                          reason=phrases.dump(Phrase(N_("term {seq} of {terms} of payment plan {plan} falls due on {day}"),
                                                     {"seq": term.seq, "terms": len(plan.terms), "plan": plan.id,
                                                      "day": term.due_date})),
                          status="proposed", planned_date=today, subject=words.subject, body_text=words.text,
                          body_html=words.html, currency=plan.currency, total_cents=amount)
        message.lines = [MessageInvoice(invoice_id=i, open_cents=cents, active=True) for i, _, cents in invoices]
        session.add(message)
        session.flush()
        term.notice_message_id = message.id
        made.append(message.id)
    return made


def waiting(session: Session) -> list[PaymentPlan]:
    """Plans that wait for a person: portal proposals and broken plans."""
    return list(session.scalars(select(PaymentPlan).where(PaymentPlan.status.in_((rules.PROPOSED, rules.BROKEN)))
                                .order_by(PaymentPlan.id)))


def broken_since(session: Session, since: date, debtor_id: int | None = None) -> dict[int, int]:
    """Per debtor the plans broken since `since` (also those given one more chance since): the track rules
    count them like broken promises."""
    query = select(PaymentPlan.debtor_id, func.count()).where(PaymentPlan.broken_on >= since)
    if debtor_id is not None:
        query = query.where(PaymentPlan.debtor_id == debtor_id)
    return {d: int(n) for d, n in session.execute(query.group_by(PaymentPlan.debtor_id))}


def debtors_in_plan(uow: UnitOfWork) -> set[int]:
    """The debtors with a running payment plan (the ageing's "in a plan" filter)."""
    return set(uow.session.scalars(select(PaymentPlan.debtor_id).where(PaymentPlan.status.in_(rules.HOLDING))))


def worklist_items(session: Session, today: date) -> list[dict]:
    """What the Today list shows of plans: portal proposals waiting, broken plans waiting for a decision,
    and running plans with a term past its date and not paid. Each as the fields of a worklist item."""
    rows = session.execute(select(PaymentPlan, Debtor.code, Debtor.name).join(Debtor, Debtor.id == PaymentPlan.debtor_id)
                           .where(PaymentPlan.status.in_((rules.PROPOSED, rules.ACTIVE, rules.BROKEN)))
                           .order_by(PaymentPlan.id)).all()
    out = []
    for plan, code, name in rows:
        total = sum(t.amount_cents for t in plan.terms)
        missed = [t for t in plan.terms if t.paid_cents < t.amount_cents and t.due_date < today]
        base = {"key": f"plan:{plan.id}", "debtor_id": plan.debtor_id, "debtor_code": code, "debtor_name": name,
                "ref": plan.id, "currency": plan.currency}
        if plan.status == rules.PROPOSED:
            out.append({**base, "since": plan.created_at.date(), "amount_cents": total, "late": False,
                        "detail": plan.note, "title": N_("Payment plan proposed: {amount} in {terms} terms"),
                        "params": {"amount": fmt(total, plan.currency), "terms": len(plan.terms)}})
        elif missed:
            t = missed[0]
            broken = plan.status == rules.BROKEN
            out.append({**base, "since": plan.broken_on if broken and plan.broken_on else t.due_date,
                        "amount_cents": t.amount_cents - t.paid_cents, "late": broken, "detail": "",
                        "title": N_("Payment plan broken: term {seq} of {amount} due {date} not paid") if broken
                        else N_("Plan term missed: term {seq} of {amount} due {date}"),
                        "params": {"seq": t.seq, "amount": fmt(t.amount_cents - t.paid_cents, plan.currency),
                                   "date": f"{t.due_date:%d-%m-%Y}"}})
    return out
