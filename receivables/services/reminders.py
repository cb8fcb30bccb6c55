"""The reminder engine: which debtor gets which message, in which tone, on which day. A run reads the
ledger, lets `receivables.domain.planning` decide, and writes the plan; the queue (`services.queue`) is
where a person takes it from there."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

import pandas as pd
from sqlalchemy import bindparam, func, insert, select, text, update

from db.models import Debtor, ImportBatch, Invoice, Message, MessageInvoice, Note, utcnow
from db.uow import UnitOfWork
from receivables.domain import contacts, phrases, planning
from receivables.domain.messages import REACHED, UNSENT
from receivables.domain.money import fmt
from receivables.domain.phrases import Phrase
from receivables.domain.planning import OpenInvoice
from receivables.domain.plans import NOTICE_TRACK
from receivables.domain.recheck import NOTHING_LEFT
from receivables.services import claims, plans, signals
from receivables.services.audit import record_audit
from receivables.services.dossier import review_promises
from receivables.services.errors import ServiceError
from receivables.services.payment_qr import payment_payload, qr_payload, store_qr
from receivables.services.queue import ADDRESSED_CHANNELS, queue, rerender, transition
from receivables.services.reminder_settings import (
    PAYMENT_KEY,
    RATES_KEY,
    TRACKS_KEY,
    ReminderSettings,
    load_settings,
    save_setting,
)
from receivables.services.settings import get_setting
from receivables.services.wording import (
    AMOUNT_FIELDS,
    INVOICE_COLUMNS,
    claim_basis,
    company_name,
    compose,
    reword,
)

__all__ = [
    "FRESH_KINDS", "CreatedGroup", "GenerateResult", "check_freshness", "debtors_without_address", "generate",
    "totals_by_currency",
    # reached here by the sender, the import and their tests; their homes are the modules imported above
    "PAYMENT_KEY", "RATES_KEY", "TRACKS_KEY", "ReminderSettings", "company_name", "get_setting", "load_settings",
    "payment_payload", "qr_payload", "queue", "rerender", "reword", "save_setting", "transition",
]


# --- the worklist of debtors without an address ---------------------------------------------------------

def debtors_without_address(uow: UnitOfWork) -> pd.DataFrame:
    """The worklist "debtors without a reminder address": every debtor with open invoices to chase and no
    usable reminder address, one row per currency with the open amount, the invoices and the unsent
    messages waiting for that address; the largest amounts first."""
    s = uow.session
    rows = s.execute(select(Debtor.id, Debtor.code, Debtor.name, Debtor.email, Invoice.currency,
                            func.sum(Invoice.open_cents), func.count(Invoice.id), Debtor.email_bouncing)
                     .join(Invoice, Invoice.debtor_id == Debtor.id)
                     .where(Invoice.open_cents > 0, Invoice.amount_cents > 0)
                     .group_by(Debtor.id, Debtor.code, Debtor.name, Debtor.email, Invoice.currency,
                               Debtor.email_bouncing)).all()
    rows = [r for r in rows if contacts.reminder_address(r[3], r[7]) is None]
    columns = ["debtor_code", "debtor_name", "email", "currency", "open_cents", "invoices", "waiting_messages"]
    if not rows:
        return pd.DataFrame(columns=columns)
    waiting = dict(s.execute(select(Message.debtor_id, func.count()).where(
        Message.status.in_(UNSENT), Message.channel.in_(ADDRESSED_CHANNELS)).group_by(Message.debtor_id)).all())
    frame = pd.DataFrame([(r[1], r[2], r[3] or "", r[4], int(r[5]), int(r[6]), int(waiting.get(r[0], 0)))
                          for r in rows], columns=columns)
    return frame.sort_values(["currency", "open_cents", "debtor_code"], ascending=[True, False, True],
                             ignore_index=True)


def totals_by_currency(frame: pd.DataFrame, column: str = "total_cents") -> dict[str, int]:
    """One total per currency (never EUR and USD added up), in the order of the currencies."""
    if frame.empty:
        return {}
    return {str(c): int(v) for c, v in frame.groupby("currency")[column].sum().sort_index().items()}


# --- a run's result --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CreatedGroup:
    """The messages one run created at one step of one track, in one currency."""
    track: str
    step: str
    currency: str
    messages: int
    invoices: int
    total_cents: int
    approved: int  # of them; the rest wait for a person


@dataclass
class GenerateResult:
    created: int = 0
    extended: int = 0
    unchanged: int = 0
    cancelled: int = 0
    resumed: int = 0  # postponed messages whose date came
    message_ids: list[int] = field(default_factory=list)
    review: Phrase | None = None  # why everything this run created waits for a person, if it does
    caught_up: int = 0  # messages for invoices first seen long past due, entered at a later step
    needs_address: int = 0  # created for debtors without a usable reminder address
    groups: list[CreatedGroup] = field(default_factory=list)
    time_barred: int = 0  # open invoices left out because they may be time-barred (art. 3:307 / 7:28 BW)

    def summary(self) -> str:
        text = f"created {self.created}, unchanged {self.unchanged}, cancelled {self.cancelled}"
        return text + (f", extended {self.extended}" if self.extended else "")

    def review_lines(self) -> list[str]:
        """What this run created, by step, track and currency, and what waits for whom."""
        lines = []
        if self.review:
            lines.append(f"review: {self.review}; nothing was approved, check the queue and approve what may go")
        for g in self.groups:
            lines.append(f"  {g.track:<10} {g.step:<16} {g.currency}  {g.messages:>5} message(s)  "
                         f"{g.invoices:>6} invoice(s)  {fmt(g.total_cents, g.currency, 'en'):>16}"
                         + (f"  ({g.approved} approved)" if g.approved else ""))
        if self.caught_up:
            lines.append(f"caught up: {self.caught_up} message(s) for invoices first seen long past due start at a "
                         "later step and wait for approval")
        if self.time_barred:
            lines.append(f"time-barred: {self.time_barred} invoice(s) more than five years past due (two for a "
                         "consumer purchase) get no automatic reminder; see the dossier to interrupt by letter")
        if self.needs_address:
            lines.append(f"needs address: {self.needs_address} message(s) for debtors without a usable reminder "
                         "address; import a debtor list or add the address in the dossier (`queue addresses`)")
        return lines

    def __str__(self) -> str:
        return self.summary()


# --- generation --------------------------------------------------------------------------------------------

FRESH_KINDS = ("open-items", "ledger", "demo")  # the imports that say what is still open


def check_freshness(session, today: date, limit_days: int) -> date:
    """The date of the newest applied import of open items or of the ledger (a debtor list says nothing
    about who paid); ServiceError when it is older than `limit_days`."""
    last = session.scalar(select(func.max(ImportBatch.as_of)).where(ImportBatch.status == "applied",
                                                                   ImportBatch.kind.in_(FRESH_KINDS)))
    if last is None:
        raise ServiceError("no open items have been imported yet; import an open-items export first, "
                           "then generate reminders")
    age = (today - last).days
    if age > limit_days:
        raise ServiceError("the open items are stale: the last import is of {last}, {age} days ago (the limit is "
                           "{limit_days}). Import a fresh open-items export first, so no one who already paid gets "
                           "a reminder", last=last, age=age, limit_days=limit_days)
    return last


def generate(uow: UnitOfWork, today: date | None = None, *, actor: str = "system",
             lookahead_days: int | None = None) -> GenerateResult:
    """Propose the reminders due on `today`: idempotent (a second run creates nothing) and safe from
    two places at once. Also resumes postponed messages whose date came and cancels unsent messages
    that have nothing left to chase."""
    today = today or date.today()
    s = uow.session
    check_freshness(s, today, load_settings(s).freshness_days)  # stale data: stop before changing anything
    # promises past their date plus grace become kept or broken first: a broken promise counts in the
    # track choice and its invoices are chased again
    review_promises(uow, today, actor=actor)
    plans.refresh(uow, today, actor=actor)  # likewise plans: a broken one waits for a person, not the track
    _lock(s)
    cfg = load_settings(s)
    check_freshness(s, today, cfg.freshness_days)
    result = GenerateResult(resumed=_resume_postponed(s, today))
    ledger = _read(uow, today, cfg, cfg.lookahead_days if lookahead_days is None else lookahead_days)
    result.time_barred = ledger.time_barred
    plan = planning.plan(ledger.run)
    ready = _write(s, ledger, plan, cfg, result)
    record_audit(s, actor, "reminders.generate", "message", None, None,
                 {"date": today, "created": result.created, "extended": result.extended,
                  "unchanged": result.unchanged, "cancelled": result.cancelled, "resumed": result.resumed,
                  "review": str(result.review) if result.review else None, "caught_up": result.caught_up, "needs_address": result.needs_address})
    uow.commit()
    store_qr(uow, ready)  # messages that need no approval get their image now, the others when approved
    return result


def _lock(session) -> None:
    """Serialise generators: PostgreSQL by a transaction-scoped advisory lock, SQLite by taking the
    write lock with a first write (the unit of work should be `immediate=True` anyway)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(7406001)"))
    else:
        session.execute(text("UPDATE setting SET key = key WHERE 1 = 0"))


def _resume_postponed(s, today: date) -> int:
    return s.execute(update(Message).where(Message.status == "postponed", Message.postponed_until <= today)
                     .values(status="proposed", updated_at=utcnow())).rowcount or 0


# --- the reads -----------------------------------------------------------------------------------------------

_DEBTOR_COLUMNS = (Debtor.id, Debtor.code, Debtor.name, Debtor.email, Debtor.contact_person, Debtor.phone,
                   Debtor.language, Debtor.is_consumer, Debtor.track_override, Debtor.reminders_blocked,
                   Debtor.blocked_until, Debtor.email_bouncing)


@dataclass
class _Ledger:
    """What a run read: the plan's input, and what the writer needs beyond it to word the messages."""
    run: planning.Run
    debtors: dict[int, object]  # rows of _DEBTOR_COLUMNS, as the words address them
    open_by_debtor: dict[int, list[OpenInvoice]]
    basis: claims.ClaimBasis
    time_barred: int


def _read(uow: UnitOfWork, today: date, cfg: ReminderSettings, lookahead: int) -> _Ledger:
    s = uow.session
    invoices, time_barred = _open_invoices(s, today, cfg.grace_days)
    debtors = {d.id: d for d in s.execute(select(*_DEBTOR_COLUMNS))} if invoices else {}
    facts = {d.id: planning.DebtorFacts(d.id, bool(d.is_consumer), bool(d.reminders_blocked), d.blocked_until,
                                        d.email, d.email_bouncing) for d in debtors.values()}
    to_chase = planning.debtors_to_chase(invoices, facts, today, cfg.tolerance_cents)
    choices = signals.track_choices(uow, today, cfg, {d: debtors[d].track_override for d in to_chase})
    basis = claim_basis(s)
    unsent, lines = _unsent(s)
    settings = planning.PlanSettings(cfg.tracks, cfg.tolerance_cents, lookahead, cfg.catch_up_cap,
                                     cfg.costs.wik_extra_days)
    run = planning.Run(today, settings, invoices, facts, choices, _steps_taken(s), unsent, lines, basis.letters)
    open_by_debtor: dict[int, list[OpenInvoice]] = defaultdict(list)
    for inv in invoices:
        open_by_debtor[inv.debtor_id].append(inv)
    return _Ledger(run, debtors, open_by_debtor, basis, time_barred)


def _open_invoices(s, today: date, grace_days: int) -> tuple[list[OpenInvoice], int]:
    """The invoices with an open amount, with what the chase rule asks of them; and how many may be
    time-barred (art. 3:307 / 7:28 BW: a person decides, the engine does not)."""
    rows = s.execute(select(*INVOICE_COLUMNS).where(Invoice.open_cents != 0)).all()
    promised = _promised(s, today, grace_days)
    planned = plans.held_invoices(s)
    barred = claims.time_barred(s, today)
    first_seen = dict(s.execute(select(Invoice.id, ImportBatch.as_of)  # the import that brought it in
                                .join(ImportBatch, ImportBatch.id == Invoice.batch_id)
                                .where(Invoice.open_cents != 0)).all()) if rows else {}
    invoices = [OpenInvoice(*r, promised=r.id in promised["invoices"] or r.debtor_id in promised["debtors"],
                            in_plan=r.id in planned, time_barred=r.id in barred, first_seen=first_seen.get(r.id)) for r in rows]
    return invoices, len(barred)


def _promised(session, today: date, grace: int) -> dict[str, set[int]]:
    """Invoices (or whole debtors) under a pending promise to pay whose date + grace has not passed."""
    out: dict[str, set[int]] = {"invoices": set(), "debtors": set()}
    rows = session.execute(select(Note.debtor_id, Note.promise_invoice_ids).where(
        Note.kind == "promise", (Note.outcome == "pending") | Note.outcome.is_(None),
        Note.promise_date >= today - timedelta(days=grace)))
    for debtor_id, ids in rows:
        if ids:
            out["invoices"].update(int(i) for i in ids)
        else:
            out["debtors"].add(debtor_id)
    return out


def _steps_taken(s) -> list[planning.StepTaken]:
    """The steps of every open invoice's messages, sent, blocked or still on their way."""
    rows = s.execute(select(MessageInvoice.invoice_id, Message.debtor_id, Message.track, Message.step_name,
                            Message.status, Message.sent_at, Message.updated_at)
                     .join(Message, Message.id == MessageInvoice.message_id)
                     .join(Invoice, Invoice.id == MessageInvoice.invoice_id)
                     .where(MessageInvoice.active.is_(True), Message.status.in_(REACHED), Invoice.open_cents != 0,
                            Message.track != NOTICE_TRACK))
    return [planning.StepTaken(inv_id, debtor_id, track, step, status, (sent_at or updated_at).date())
            for inv_id, debtor_id, track, step, status, sent_at, updated_at in rows]


def _unsent(s) -> tuple[list[planning.UnsentMessage], list[planning.UnsentLine]]:
    messages = [planning.UnsentMessage(*r) for r in s.execute(select(
        Message.id, Message.debtor_id, Message.track, Message.step_index, Message.status, Message.planned_date,
        Message.edited, Message.currency).where(Message.status.in_(UNSENT), Message.track != NOTICE_TRACK))]
    lines = [planning.UnsentLine(*r) for r in s.execute(
        select(MessageInvoice.id, MessageInvoice.message_id, MessageInvoice.invoice_id, MessageInvoice.open_cents)
        .join(Message, Message.id == MessageInvoice.message_id)
        .where(Message.status.in_(UNSENT), MessageInvoice.active.is_(True), Message.track != NOTICE_TRACK))]
    return messages, lines


# --- the writes ----------------------------------------------------------------------------------------------

def _write(s, ledger: _Ledger, plan: planning.Plan, cfg: ReminderSettings, result: GenerateResult) -> list[int]:
    """Write the plan into the run's transaction and count it in `result`. Returns the messages whose
    QR image is to be drawn once it has committed."""
    _follow(s, plan)
    for ext in plan.extend:
        if ext.planned_date is not None:  # it waits for the invoice that falls due latest
            s.get(Message, ext.message_id).planned_date = ext.planned_date
        s.execute(insert(MessageInvoice), [{"message_id": ext.message_id, "invoice_id": inv.id,
                                            "open_cents": inv.open_cents, "active": True} for inv in ext.invoices])
    rows, lines = _new_rows(s, ledger, plan, cfg)
    result.review = _review(s, plan.create, cfg.review_above)
    if result.review:
        for row in rows:
            row["status"] = "proposed"
    _reword_changed(s, ledger, plan, cfg)
    s.flush()
    status = {m.id: m.status for m in ledger.run.unsent}
    ready = [mid for mid in plan.rerender if status[mid] == "approved"]
    if rows:
        ids = [r[0] for r in s.execute(insert(Message).returning(Message.id, sort_by_parameter_order=True), rows)]
        s.execute(insert(MessageInvoice), [
            {"message_id": mid, "invoice_id": inv_id, "open_cents": cents, "active": True}
            for mid, group in zip(ids, lines) for inv_id, cents in group])
        result.message_ids = ids
        ready += [mid for mid, row in zip(ids, rows) if row["status"] == "approved" and row["channel"] != "call"]
    result.created, result.extended, result.cancelled = len(rows), len(plan.extend), len(plan.cancel)
    result.unchanged = len(ledger.run.unsent) - len(plan.cancel) - plan.changed
    result.caught_up = sum(m.caught_up for m in plan.create)
    result.needs_address = sum(m.needs_address for m in plan.create)
    result.groups = _created_groups(rows, lines)
    return ready


def _follow(s, plan: planning.Plan) -> None:
    """Invoices leave unsent messages or follow a part payment there; empty messages are cancelled."""
    for chunk in range(0, len(plan.drop_lines), 500):
        s.execute(update(MessageInvoice).where(MessageInvoice.id.in_(plan.drop_lines[chunk:chunk + 500]))
                  .values(active=False))
    if plan.follow_lines:
        s.connection().execute(MessageInvoice.__table__.update()
                               .where(MessageInvoice.__table__.c.id == bindparam("line_id"))
                               .values(open_cents=bindparam("cents")),
                               [{"line_id": line, "cents": cents} for line, cents in plan.follow_lines.items()])
    for chunk in range(0, len(plan.cancel), 500):
        s.execute(update(Message).where(Message.id.in_(plan.cancel[chunk:chunk + 500]), Message.status.in_(UNSENT))
                  .values(status="cancelled", last_error=phrases.dump(NOTHING_LEFT), updated_at=utcnow()))


def _new_rows(s, ledger: _Ledger, plan: planning.Plan, cfg: ReminderSettings) -> tuple[list[dict], list[list]]:
    """The new messages' rows, worded, each with a step key of its own; and their invoice lines."""
    taken: set[tuple[int, str]] = set()
    if plan.create:
        since = min(m.planned_date for m in plan.create) - timedelta(days=400)
        taken = set(s.execute(select(Message.debtor_id, Message.step_key).where(Message.planned_date >= since)).all())
    rows, lines = [], []
    ids = _reserve_ids(s, len(plan.create))
    for new, message_id in zip(plan.create, ids):
        key, n = new.key, 1
        while (new.debtor_id, key) in taken:
            n += 1
            key = f"{new.key}/{n}"
        taken.add((new.debtor_id, key))
        track = cfg.tracks[new.track]
        step = track.steps[new.step_index]
        fields = compose(ledger.debtors[new.debtor_id], track, step, list(new.invoices),
                         ledger.open_by_debtor[new.debtor_id], new.currency, new.planned_date, cfg, ledger.basis,
                         plan.holds, message_id)
        rows.append({"id": message_id, "debtor_id": new.debtor_id, "track": new.track, "step_index": new.step_index,
                     "step_name": new.step, "step_key": key, "channel": step.channel, "reason": phrases.dump(new.reason),
                     "status": "approved" if new.approved else "proposed", "planned_date": new.planned_date,
                     **fields})
        lines.append([(inv.id, inv.open_cents) for inv in new.invoices])
    return rows, lines


def _reserve_ids(s, n: int) -> list[int]:
    """Ids for `n` new messages, known before they are worded: each message's payment reference is made
    from its id. The run holds the generators' lock (and on SQLite the write lock), so nobody else
    inserts meanwhile; PostgreSQL takes them from the id sequence."""
    if n <= 0:
        return []
    if s.get_bind().dialect.name == "postgresql":
        return list(s.scalars(text("SELECT nextval(pg_get_serial_sequence('message', 'id')) "
                                   "FROM generate_series(1, :n)"), {"n": n}))
    first = (s.scalar(select(func.max(Message.id))) or 0) + 1
    return list(range(first, first + n))


def _reword_changed(s, ledger: _Ledger, plan: planning.Plan, cfg: ReminderSettings) -> None:
    """Word again the unsent messages whose invoices changed, unless a person wrote the words: then only
    the amounts follow."""
    for mid, invoices in plan.rerender.items():
        m = s.get(Message, mid)
        track = cfg.tracks.get(m.track)
        if track is None or m.step_index >= len(track.steps):
            continue
        fields = compose(ledger.debtors[m.debtor_id], track, track.steps[m.step_index], list(invoices),
                         ledger.open_by_debtor[m.debtor_id], m.currency, m.planned_date, cfg, ledger.basis,
                         plan.holds, m.id)
        if m.edited:
            fields = {k: fields[k] for k in AMOUNT_FIELDS}
        for k, v in fields.items():
            setattr(m, k, v)


def _review(session, created: list[planning.NewMessage], limit: int) -> Phrase | None:
    """Why the messages of this run all wait for a person, or None (see `planning.review_reason`)."""
    if not created:
        return None
    debtor_ids = sorted({m.debtor_id for m in created})
    known = any(session.scalar(select(Message.id).where(Message.debtor_id.in_(debtor_ids[i:i + 500])).limit(1))
                for i in range(0, len(debtor_ids), 500))
    return planning.review_reason(len(created), known, limit)


def _created_groups(rows: list[dict], lines: list[list]) -> list[CreatedGroup]:
    totals: dict[tuple[str, str, str], list[int]] = {}
    for row, group in zip(rows, lines):
        t = totals.setdefault((row["track"], row["step_name"], row["currency"]), [0, 0, 0, 0])
        t[0] += 1
        t[1] += len(group)
        t[2] += row["total_cents"]
        t[3] += row["status"] == "approved"
    return [CreatedGroup(track, step, currency, *values) for (track, step, currency), values in sorted(totals.items())]
