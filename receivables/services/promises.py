"""Promises to pay as the ledger holds them: which ones a review looks at, the payments that count for
one, and how each would be judged on a day. Reads only: recording an outcome is the review's
(`dossier.review_promises`), run by the reminder engine and `python -m receivables promises review`."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from db.models import Invoice, InvoiceChange, Note
from receivables.domain import promises as rules
from receivables.services.settings import get_setting

GRACE_SETTING = "promise_grace_days"


def grace_days(session: Session) -> int:
    """Days after the promised date the money may still arrive (the setting, else 3)."""
    try:
        return max(0, int(get_setting(session, GRACE_SETTING, rules.DEFAULT_GRACE_DAYS)))
    except (TypeError, ValueError):
        return rules.DEFAULT_GRACE_DAYS


def to_review(today: date, grace: int, debtor_id: int | None = None) -> Select:
    """Promises a review looks at: pending ones, and recently broken ones a late import may still keep."""
    recent = today - timedelta(days=rules.RECHECK_BROKEN_DAYS + grace)
    query = select(Note).where(Note.kind == "promise", or_(
        Note.outcome == "pending", Note.outcome.is_(None),
        (Note.outcome == "broken") & (Note.promise_date >= recent)))
    return query if debtor_id is None else query.where(Note.debtor_id == debtor_id)


def check(session: Session, promise: Note, deadline: date, today: date) -> rules.PromiseCheck:
    """The promise judged on `today` against the payments and credits on its invoices (every invoice of
    the debtor when it names none)."""
    ids = list(promise.promise_invoice_ids or [])
    made_on = promise.created_at.date()
    scope = Invoice.id.in_(ids) if ids else Invoice.debtor_id == promise.debtor_id
    rows = session.execute(
        select(InvoiceChange.change_date, InvoiceChange.delta_cents, InvoiceChange.created_at)
        .join(Invoice, Invoice.id == InvoiceChange.invoice_id)
        .where(scope, InvoiceChange.kind.in_(rules.PAYMENT_KINDS), InvoiceChange.delta_cents < 0,
               Invoice.amount_cents > 0,
               InvoiceChange.change_date >= made_on - timedelta(days=rules.LOOKBACK_DAYS))).all()
    payments = [(day, -cents) for day, cents, imported_at in rows
                if rules.counts_for_promise(day, imported_at or datetime.min, promise.created_at)]
    settled = None
    if ids:
        settled = rules.settled_on(session.execute(
            select(Invoice.open_cents, Invoice.settled_date).where(Invoice.id.in_(ids))).all())
    return rules.check_promise(promise.promise_cents or 0, made_on, deadline, payments, today, settled)


def verdicts(session: Session, debtor_id: int, today: date) -> dict[int, rules.PromiseCheck]:
    """The promises of a debtor whose outcome the next review would change, judged on `today`: what the
    dossier shows before the review has recorded it."""
    grace = grace_days(session)
    out = {}
    for p in session.scalars(to_review(today, grace, debtor_id).order_by(Note.id)):
        now = check(session, p, rules.deadline(p.promise_date, grace), today)
        by_hand = p.outcome == "broken" and not (p.data or {}).get("reviewed_by")
        if rules.reviewed_outcome(p.outcome, now, set_by_hand=by_hand) is not None:
            out[p.id] = now
    return out
