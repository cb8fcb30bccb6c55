"""The reminder engine and its queue: which debtor gets which message, in which tone, and the one
service through which every message changes state."""

from __future__ import annotations

import base64
import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from urllib.parse import quote

import pandas as pd
from sqlalchemy import bindparam, func, insert, select, text, update

from db.models import Debtor, ImportBatch, Invoice, Message, MessageInvoice, Note, utcnow
from db.uow import UnitOfWork
from emails import statement
from emails.render import QR_CID, TemplateError, html_from_text, render_message
from receivables.domain import contacts, epc, tracks
from receivables.domain import costs as costing
from receivables.domain.messages import (
    ACTIONS,
    ALLOWED_TRANSITIONS,
    CALL_ONLY,
    IN_FLIGHT,
    REACHED,
    UNSENT,
)
from receivables.domain.money import fmt
from receivables.domain.tracks import Reached, Step, Track
from receivables.services import claims
from receivables.services.audit import record_audit
from receivables.services.errors import ServiceError
from receivables.services.settings import get_setting, put_setting

# --- states: receivables/domain/messages.py ------------------------------------------------------


# --- settings -------------------------------------------------------------------------------------

TRACKS_KEY = "reminder.tracks"
RULES_KEY = "reminder.rules"
PAYMENT_KEY = "reminder.payment"
COSTS_KEY = "reminder.costs"
RATES_KEY = "reminder.interest_rates"
CONSUMER_RATES_KEY = "reminder.consumer_interest_rates"  # art. 6:119 BW, its own table
ENGINE_KEY = "reminder.engine"
GRACE_KEY = "promise_grace_days"  # shared with the dossier's promises
# review_above: a run that would create more messages than this proposes all of them for review;
# catch_up_cap: the highest step an invoice first seen long past due enters at (a template, see tracks)
ENGINE_DEFAULTS = {"freshness_days": 7, "tolerance_cents": 500, "lookahead_days": 1, "review_above": 50,
                   "catch_up_cap": "demand"}
PAYMENT_DEFAULTS = {"iban": "", "bic": "", "beneficiary": "", "link_pattern": ""}
LINK_FIELDS = ("debtor_code", "amount", "reference", "currency")  # known when the words are rendered


@dataclass(frozen=True)
class ReminderSettings:
    tracks: dict[str, Track]
    rules: list[tracks.Rule]
    payment: dict
    costs: costing.CostSettings
    freshness_days: int = 7
    tolerance_cents: int = 500
    lookahead_days: int = 1
    grace_days: int = 3
    review_above: int = 50
    catch_up_cap: str = "demand"


def load_settings(session) -> ReminderSettings:
    """The settings as stored, falling back to the shipped defaults for what was never saved."""
    track_data = get_setting(session, TRACKS_KEY)
    all_tracks = tracks.parse_tracks(track_data) if track_data else tracks.default_tracks()
    rule_data = get_setting(session, RULES_KEY)
    rules = (tracks.parse_rules(rule_data, set(all_tracks)) if rule_data
             else tracks.parse_rules(tracks.rules_to_data(tracks.default_rules()), set(all_tracks)))
    payment = {**PAYMENT_DEFAULTS, **(get_setting(session, PAYMENT_KEY) or {})}
    c = get_setting(session, COSTS_KEY) or {}
    rates = get_setting(session, RATES_KEY)
    consumer_rates = get_setting(session, CONSUMER_RATES_KEY)
    cost_settings = costing.CostSettings(
        mode=c.get("mode", "bik"), interest=bool(c.get("interest", True)),
        vat_on_costs=bool(c.get("vat_on_costs", False)), vat_percent=Decimal(str(c.get("vat_percent", "21"))),
        rates=costing.parse_rates(rates) if rates else costing.DEFAULT_INTEREST_RATES,
        consumer_interest=bool(c.get("consumer_interest", False)),
        consumer_rates=costing.parse_rates(consumer_rates) if consumer_rates else costing.DEFAULT_CONSUMER_RATES,
        wik_extra_days=int(c.get("wik_extra_days", 0) or 0))
    engine = {**ENGINE_DEFAULTS, **(get_setting(session, ENGINE_KEY) or {})}
    try:
        grace = max(0, int(get_setting(session, GRACE_KEY, 3)))
    except (TypeError, ValueError):
        grace = 3
    cap = engine["catch_up_cap"] if engine["catch_up_cap"] in tracks.TEMPLATES else ENGINE_DEFAULTS["catch_up_cap"]
    return ReminderSettings(all_tracks, rules, payment, cost_settings, int(engine["freshness_days"]),
                            int(engine["tolerance_cents"]), int(engine["lookahead_days"]), grace,
                            int(engine["review_above"]), cap)


def _validated(key: str, value, session):
    """The value to store for a settings key, or ServiceError saying what to fix."""
    try:
        if key == TRACKS_KEY:
            parsed = tracks.parse_tracks(value)
            tracks.check_terms(parsed)  # no step inside a letter's term; costs only after a 14-day letter
            rule_data = get_setting(session, RULES_KEY) or tracks.rules_to_data(tracks.default_rules())
            missing = {r["track"] for r in rule_data} - set(parsed)
            if missing:
                raise ServiceError(f"rules still use track(s) {', '.join(sorted(missing))}; change the rules first")
            return tracks.tracks_to_data(parsed)
        if key == RULES_KEY:
            return tracks.rules_to_data(tracks.parse_rules(value, set(load_settings(session).tracks)))
        if key == PAYMENT_KEY:
            p = {**PAYMENT_DEFAULTS, **{k: str(v or "").strip() for k, v in dict(value).items()}}
            if p["iban"] and not epc.valid_iban(p["iban"]):
                raise ServiceError(f"IBAN {p['iban']} is not valid; check the letters and digits")
            if p["bic"] and not epc.valid_bic(p["bic"]):
                raise ServiceError(f"BIC {p['bic']} is not valid; it has 8 or 11 letters and digits")
            if len(p["beneficiary"]) > 70:
                raise ServiceError("the beneficiary name may have at most 70 characters")
            if p["link_pattern"]:
                if not p["link_pattern"].startswith(("https://", "http://")):
                    raise ServiceError("the payment link must start with https://")
                try:
                    p["link_pattern"].format_map({f: "x" for f in LINK_FIELDS})
                except (KeyError, ValueError, IndexError) as exc:
                    raise ServiceError(f"the payment link may only use {', '.join('{' + f + '}' for f in LINK_FIELDS)} "
                                       f"({exc} is unknown)") from None
            p["iban"] = epc.format_iban(p["iban"]) if p["iban"] else ""
            p["bic"] = p["bic"].upper()
            return p
        if key == COSTS_KEY:
            c = dict(value)
            extra = int(c.get("wik_extra_days", 0) or 0)
            if not 0 <= extra <= 30:  # art. 6:96 lid 6 BW: the 14 days are a minimum; a longer term is allowed
                raise ServiceError("the consumer's term can be 0 to 30 days longer than 14, never shorter")
            costing.CostSettings(mode=c.get("mode", "bik"), wik_extra_days=extra)
            vat = Decimal(str(c.get("vat_percent", "21")))
            if not 0 <= vat <= 100:
                raise ServiceError("the VAT percentage must be between 0 and 100")
            return {"mode": c.get("mode", "bik"), "interest": bool(c.get("interest", True)),
                    "vat_on_costs": bool(c.get("vat_on_costs", False)), "vat_percent": str(vat),
                    "consumer_interest": bool(c.get("consumer_interest", False)), "wik_extra_days": extra}
        if key in (RATES_KEY, CONSUMER_RATES_KEY):
            rows = costing.parse_rate_rows(value)
            if not rows:
                raise ServiceError("keep at least one interest rate")
            return costing.rates_to_rows(rows)
        if key == ENGINE_KEY:
            e = {**ENGINE_DEFAULTS, **dict(value)}
            out = {k: int(e[k]) for k in ENGINE_DEFAULTS if k != "catch_up_cap"}
            out["catch_up_cap"] = str(e["catch_up_cap"])
            if out["catch_up_cap"] not in tracks.TEMPLATES:
                raise ServiceError(f"catching up may go at most to one of {', '.join(tracks.TEMPLATES)}, "
                                   f"not {out['catch_up_cap']!r}")
            if not 1 <= out["review_above"] <= 100_000:
                raise ServiceError("the number of messages above which a run is a review must be between 1 and "
                                   "100,000")
            if not 1 <= out["freshness_days"] <= 90:
                raise ServiceError("the data-freshness limit must be between 1 and 90 days")
            if not 0 <= out["tolerance_cents"] <= 100_000:
                raise ServiceError("the tolerance must be between 0 and 1,000.00")
            if not 0 <= out["lookahead_days"] <= 14:
                raise ServiceError("propose at most 14 days ahead")
            return out
        if key == GRACE_KEY:
            days = int(value)
            if not 0 <= days <= 30:
                raise ServiceError("the grace period after a promised date must be between 0 and 30 days")
            return days
    except ServiceError:
        raise
    except (ValueError, TypeError, KeyError, InvalidOperation, tracks.TrackError) as exc:
        raise ServiceError(str(exc) or "this setting cannot be read") from None
    raise ServiceError(f"unknown reminder setting {key!r}")


def save_setting(uow: UnitOfWork, key: str, value, *, actor: str) -> None:
    """Check and store one reminder setting (tracks, rules, payment details, costs, rates, engine)."""
    put_setting(uow.session, key, _validated(key, value, uow.session), actor)
    uow.commit()


def reset_tracks(uow: UnitOfWork, *, actor: str) -> None:
    """Back to the shipped tracks and rules."""
    put_setting(uow.session, TRACKS_KEY, tracks.tracks_to_data(tracks.default_tracks()), actor)
    put_setting(uow.session, RULES_KEY, tracks.rules_to_data(tracks.default_rules()), actor)
    uow.commit()


# --- recipients ----------------------------------------------------------------------------------

ADDRESSED_CHANNELS = ("email", "letter")  # a letter goes out as an e-mail with the PDF attached
NEEDS_ADDRESS = "needs address"  # shown instead of an unsent message's status while its debtor has none


reminder_address = contacts.reminder_address  # the sender's own check decides what is sendable


def debtors_without_address(uow: UnitOfWork) -> pd.DataFrame:
    """The worklist "debtors without a reminder address": every debtor with open invoices to chase and no
    usable reminder address, one row per currency with the open amount, the invoices and the unsent
    messages waiting for that address; the largest amounts first."""
    s = uow.session
    rows = s.execute(select(Debtor.id, Debtor.code, Debtor.name, Debtor.email, Invoice.currency,
                            func.sum(Invoice.open_cents), func.count(Invoice.id))
                     .join(Invoice, Invoice.debtor_id == Debtor.id)
                     .where(Invoice.open_cents > 0, Invoice.amount_cents > 0)
                     .group_by(Debtor.id, Debtor.code, Debtor.name, Debtor.email, Invoice.currency)).all()
    rows = [r for r in rows if reminder_address(r[3]) is None]
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


# --- behaviour signals ----------------------------------------------------------------------------

def behaviour_signals(uow: UnitOfWork, today: date, tracks_by_key: dict[str, Track]) -> dict[int, dict]:
    """Per debtor the signals the track rules read (12 months up to `today`)."""
    from receivables.services import analytics

    s = uow.session
    since = today - timedelta(days=365)
    signals: dict[int, dict] = defaultdict(dict)
    frame = analytics.behaviour(uow, today, months=12)
    for r in frame[["debtor_id", "invoices_paid", "avg_days_late", "share_paid_late",
                    "share_paid_late_30"]].itertuples(index=False):
        if not r.invoices_paid:
            continue  # no payments in the window: no behaviour to read (the rules count it as 0 paid)
        signals[int(r.debtor_id)].update({
            "invoices_paid": int(r.invoices_paid or 0),
            "avg_days_late": 0.0 if pd.isna(r.avg_days_late) else float(r.avg_days_late),
            "share_paid_late": 0.0 if pd.isna(r.share_paid_late) else float(r.share_paid_late),
            "share_paid_late_30": 0.0 if pd.isna(r.share_paid_late_30) else float(r.share_paid_late_30)})
    for debtor_id, n in s.execute(select(Note.debtor_id, func.count()).where(
            Note.kind == "promise", Note.outcome == "broken", Note.promise_date >= since).group_by(Note.debtor_id)):
        signals[debtor_id]["broken_promises"] = int(n)
    for debtor_id, n in s.execute(select(Invoice.debtor_id, func.count()).where(
            Invoice.disputed.is_(True), Invoice.open_cents > 0).group_by(Invoice.debtor_id)):
        signals[debtor_id]["open_disputes"] = int(n)
    for debtor_id, first in s.execute(select(Invoice.debtor_id, func.min(Invoice.invoice_date))
                                      .group_by(Invoice.debtor_id)):
        signals[debtor_id]["debtor_age_days"] = (today - first).days if first else 0
    for debtor_id, track_key, step_key in s.execute(
            select(Message.debtor_id, Message.track, Message.step_name).where(
                Message.status == "sent", Message.sent_at >= datetime.combine(since, datetime.min.time()))
            .group_by(Message.debtor_id, Message.track, Message.step_name)):
        rank = _rank(tracks_by_key, track_key, step_key)
        signals[debtor_id]["highest_step"] = max(signals[debtor_id].get("highest_step", 0), rank)
    return signals


def _rank(tracks_by_key: dict[str, Track], track_key: str, step_key: str) -> int:
    t = tracks_by_key.get(track_key)
    i = t.index_of(step_key) if t else None
    if i is not None:
        return t.steps[i].rank
    return tracks.TEMPLATES.index(step_key) if step_key in tracks.TEMPLATES else 0


# --- generation -----------------------------------------------------------------------------------

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
    review: str | None = None  # why everything this run created waits for a person, if it does
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


@dataclass
class _Inv:
    id: int
    number: str
    debtor_id: int
    currency: str
    invoice_date: date
    due_date: date
    amount_cents: int
    open_cents: int
    disputed: bool
    paused_until: date | None
    description: str | None


_INV_COLUMNS = (Invoice.id, Invoice.number, Invoice.debtor_id, Invoice.currency, Invoice.invoice_date,
                Invoice.due_date, Invoice.amount_cents, Invoice.open_cents, Invoice.disputed, Invoice.paused_until,
                Invoice.description)
_DEBTOR_COLUMNS = (Debtor.id, Debtor.code, Debtor.name, Debtor.email, Debtor.contact_person, Debtor.phone,
                   Debtor.language, Debtor.is_consumer, Debtor.track_override, Debtor.reminders_blocked,
                   Debtor.blocked_until)


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
        views = claims.claim_invoices(self.session, ids, on)
        items = [views.get(i.id) or costing.ClaimInvoice(i.number, i.open_cents, i.due_date) for i in chased]
        letters = {i.number: self.letters[i.id] for i in chased if i.id in self.letters}
        try:
            return costing.claim(items, on, cfg.costs, consumer=bool(debtor.is_consumer),
                                 wik_letters=letters if debtor.is_consumer else None,
                                 costs_charged_on=claims.costs_charged_on(self.session, debtor.id, ids))
        except costing.MissingRateError as exc:
            raise ServiceError(str(exc)) from None


def _claim_basis(session) -> ClaimBasis:
    return ClaimBasis(session, wik_letters(session))


def _lock(session) -> None:
    """Serialise generators: PostgreSQL by a transaction-scoped advisory lock, SQLite by taking the
    write lock with a first write (the unit of work should be `immediate=True` anyway)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(7406001)"))
    else:
        session.execute(text("UPDATE setting SET key = key WHERE 1 = 0"))


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
        raise ServiceError(f"the open items are stale: the last import is of {last:%d-%m-%Y}, {age} days ago "
                           f"(the limit is {limit_days}). Import a fresh open-items export first, so no one "
                           "who already paid gets a reminder")
    return last


def generate(uow: UnitOfWork, today: date | None = None, *, actor: str = "system",
             lookahead_days: int | None = None) -> GenerateResult:
    """Propose the reminders due on `today`: idempotent (a second run creates nothing) and safe from
    two places at once. Also resumes postponed messages whose date came and cancels unsent messages
    that have nothing left to chase."""
    today = today or date.today()
    # promises past their date plus grace become kept or broken first: a broken promise counts in the
    # track choice and its invoices are chased again
    from receivables.services.dossier import review_promises

    s = uow.session
    check_freshness(s, today, load_settings(s).freshness_days)  # stale data: stop before changing anything
    review_promises(uow, today, actor=actor)
    _lock(s)
    cfg = load_settings(s)
    check_freshness(s, today, cfg.freshness_days)
    lookahead = cfg.lookahead_days if lookahead_days is None else lookahead_days
    result = GenerateResult()

    result.resumed = s.execute(update(Message).where(Message.status == "postponed",
                                                     Message.postponed_until <= today)
                               .values(status="proposed", updated_at=utcnow())).rowcount or 0

    invoices = [_Inv(*r) for r in s.execute(select(*_INV_COLUMNS).where(Invoice.open_cents != 0))]
    by_id = {i.id: i for i in invoices}
    debtors = {d.id: d for d in s.execute(select(*_DEBTOR_COLUMNS))} if invoices else {}
    promised = _promised(s, today, cfg.grace_days)
    barred = claims.time_barred(s, today)  # art. 3:307 / 7:28 BW: a person decides, the engine does not
    result.time_barred = len(barred)
    first_seen = dict(s.execute(select(Invoice.id, ImportBatch.as_of)  # the import that brought it in
                                .join(ImportBatch, ImportBatch.id == Invoice.batch_id)
                                .where(Invoice.open_cents != 0)).all()) if invoices else {}

    def held(inv: _Inv) -> str | None:
        d = debtors[inv.debtor_id]
        if d.reminders_blocked and (d.blocked_until is None or d.blocked_until >= today):
            return "held"
        if inv.disputed:
            return "disputed"
        if inv.paused_until is not None and inv.paused_until >= today:
            return "held"
        if inv.id in promised["invoices"] or inv.debtor_id in promised["debtors"]:
            return "held"
        if inv.id in barred:
            return "time-barred"
        return None

    def chaseable(inv: _Inv) -> bool:
        return inv.amount_cents > 0 and inv.open_cents >= max(1, cfg.tolerance_cents) and held(inv) is None

    choice: dict[int, tuple[str, str]] = {}
    need_choice = {i.debtor_id for i in invoices if chaseable(i)}
    if need_choice:
        signals = behaviour_signals(uow, today, cfg.tracks)
        for debtor_id in need_choice:
            d = debtors[debtor_id]
            choice[debtor_id] = tracks.choose_track(signals.get(debtor_id, {}), cfg.rules, d.track_override,
                                                    cfg.tracks)

    # how far every open invoice got: its messages' steps, mapped onto the debtor's current track
    lines = s.execute(select(MessageInvoice.invoice_id, Message.debtor_id, Message.track, Message.step_name,
                             Message.status, Message.sent_at, Message.updated_at)
                      .join(Message, Message.id == MessageInvoice.message_id)
                      .join(Invoice, Invoice.id == MessageInvoice.invoice_id)
                      .where(MessageInvoice.active.is_(True), Message.status.in_(REACHED),
                             Invoice.open_cents != 0))
    reached: dict[int, Reached] = {}
    busy: set[int] = set()
    for inv_id, debtor_id, track_key, step_key, status, sent_at, updated_at in lines:
        if status in IN_FLIGHT:
            busy.add(inv_id)
            continue
        current = choice.get(debtor_id)
        if current is None:
            continue
        on = (sent_at or updated_at).date()
        track = cfg.tracks[current[0]]
        index = track.index_of(step_key) if track_key == track.key else None
        if index is None:
            index = track.index_for_rank(_rank(cfg.tracks, track_key, step_key))
        if index < 0:
            continue
        prev = reached.get(inv_id)
        if prev is None or index > prev.index or (index == prev.index and on > prev.sent_on):
            reached[inv_id] = Reached(index, on)
    wik_sent = _claim_basis(s)

    # the unsent messages: drop what can no longer be chased, follow partial payments
    open_messages = {r.id: r for r in s.execute(select(
        Message.id, Message.debtor_id, Message.track, Message.step_index, Message.status, Message.planned_date,
        Message.edited, Message.currency).where(Message.status.in_(UNSENT)))}
    msg_lines: dict[int, dict[int, int]] = defaultdict(dict)  # message -> invoice -> open cents
    drop, follow = [], []
    changed: set[int] = set()
    for line_id, mid, inv_id, cents in s.execute(
            select(MessageInvoice.id, MessageInvoice.message_id, MessageInvoice.invoice_id, MessageInvoice.open_cents)
            .join(Message, Message.id == MessageInvoice.message_id)
            .where(Message.status.in_(UNSENT), MessageInvoice.active.is_(True))):
        inv = by_id.get(inv_id)
        if inv is None or not chaseable(inv):
            drop.append(line_id)
            changed.add(mid)
            continue
        if cents != inv.open_cents:
            follow.append({"line_id": line_id, "cents": inv.open_cents})
            changed.add(mid)
        msg_lines[mid][inv_id] = inv.open_cents
    for chunk in range(0, len(drop), 500):
        s.execute(update(MessageInvoice).where(MessageInvoice.id.in_(drop[chunk:chunk + 500]))
                  .values(active=False))
    if follow:
        s.connection().execute(MessageInvoice.__table__.update()
                               .where(MessageInvoice.__table__.c.id == bindparam("line_id"))
                               .values(open_cents=bindparam("cents")), follow)
    cancel = [mid for mid in open_messages if not msg_lines.get(mid)]
    for chunk in range(0, len(cancel), 500):
        s.execute(update(Message).where(Message.id.in_(cancel[chunk:chunk + 500]), Message.status.in_(UNSENT))
                  .values(status="cancelled", last_error="nothing left to chase", updated_at=utcnow()))
    result.cancelled = len(cancel)
    cancelled_ids = set(cancel)
    changed -= cancelled_ids

    # what is due now, grouped into one message per debtor, currency and step: an invoice waits at most
    # WAIT_DAYS for another of the debtor's that reaches the same step, so the debtor gets one message,
    # and none calls an invoice overdue before it is
    due_now: dict[tuple[int, str, int], list[tuple[_Inv, date]]] = defaultdict(list)
    caught: dict[int, int] = {}  # invoice -> days past due when first seen, for those that catch up
    for inv in invoices:
        if inv.id in busy or not chaseable(inv):
            continue
        track = cfg.tracks[choice[inv.debtor_id][0]]
        entry = None
        if inv.id not in reached:
            entry = tracks.catch_up_entry(track, inv.due_date, first_seen.get(inv.id), cfg.catch_up_cap,
                                          bool(debtors[inv.debtor_id].is_consumer) and inv.id not in wik_sent.letters)
        if entry is not None:
            nxt = (entry, today)
            caught[inv.id] = (first_seen[inv.id] - inv.due_date).days
        else:
            nxt = tracks.next_step(track, inv.due_date, reached.get(inv.id), today, lookahead)
        if nxt is None:
            continue
        index, planned = nxt
        step = track.steps[index]
        if step.charges_costs and debtors[inv.debtor_id].is_consumer and inv.id in wik_sent.letters:
            # costs only after the 14 days from the day after receipt (art. 6:96 lid 6 BW)
            planned = max(planned, costing.wik_costs_from(*wik_sent.letters[inv.id], cfg.costs.wik_extra_days))
            if planned > today + timedelta(days=lookahead):
                continue
        due_now[(inv.debtor_id, inv.currency, index)].append((inv, planned))
    _one_wik_letter(due_now, invoices, debtors, choice, cfg, wik_sent.letters, busy, chaseable, reached)
    groups: dict[tuple[int, str, int, date], list[_Inv]] = {}
    for key, pairs in due_now.items():
        pairs.sort(key=lambda pair: pair[1])
        start = 0
        for i in range(1, len(pairs) + 1):  # runs of invoices due within WAIT_DAYS of the run's first
            if i == len(pairs) or pairs[i][1] > pairs[start][1] + timedelta(days=WAIT_DAYS):
                groups[(*key, pairs[i - 1][1])] = [inv for inv, _ in pairs[start:i]]
                start = i

    open_by_debtor: dict[int, list[_Inv]] = defaultdict(list)
    for inv in invoices:
        open_by_debtor[inv.debtor_id].append(inv)

    mergeable = {}  # a proposed message at the same step takes the debtor's newly due invoices in
    for m in sorted(open_messages.values(), key=lambda m: m.planned_date):
        if m.status == "proposed" and not m.edited and m.id not in cancelled_ids:
            mergeable[(m.debtor_id, m.currency, m.track, m.step_index)] = m

    planned_days = {k[3] for k in groups}
    taken: set[tuple[int, str]] = set()
    if planned_days:
        taken = set(s.execute(select(Message.debtor_id, Message.step_key).where(
            Message.planned_date >= min(planned_days) - timedelta(days=400))).all())

    new_rows, new_lines = [], []
    for (debtor_id, currency, index, planned), group in sorted(groups.items(), key=lambda kv: kv[0]):
        track_key, reason = choice[debtor_id]
        track = cfg.tracks[track_key]
        step = track.steps[index]
        m = mergeable.get((debtor_id, currency, track_key, index))
        wait = timedelta(days=WAIT_DAYS)  # neither the message nor these invoices wait longer than that
        if m is not None and m.planned_date - wait <= planned <= max(m.planned_date, today) + wait:
            if planned > m.planned_date:  # it waits for the invoice that falls due latest
                s.get(Message, m.id).planned_date = planned
            s.execute(insert(MessageInvoice), [{"message_id": m.id, "invoice_id": inv.id,
                                                "open_cents": inv.open_cents, "active": True} for inv in group])
            for inv in group:
                msg_lines[m.id][inv.id] = inv.open_cents
            changed.add(m.id)
            result.extended += 1
            continue
        key = f"{track_key}/{step.key}/{currency}/{planned.isoformat()}"
        n = 1
        while (debtor_id, key if n == 1 else f"{key}/{n}") in taken:
            n += 1
        key = key if n == 1 else f"{key}/{n}"
        taken.add((debtor_id, key))
        debtor = debtors[debtor_id]
        chased = sorted(group, key=lambda i: (i.due_date, i.number))
        fields = _compose(debtor, track, step, chased, open_by_debtor[debtor_id], currency, planned, cfg,
                          wik_sent, held)
        ages = sorted(caught[i.id] for i in chased if i.id in caught)
        if ages:
            seen = f"{ages[-1]}" if len(ages) == 1 else f"up to {ages[-1]}"
            reason = f"First seen {seen} days past due: enters at {step.key}, for a person to approve. {reason}"
            result.caught_up += 1
        no_address = step.channel != "call" and reminder_address(debtor.email) is None
        result.needs_address += no_address
        auto = not (step.needs_approval or step.channel == "call" or ages or no_address)
        new_rows.append({
            "debtor_id": debtor_id, "track": track_key, "step_index": index, "step_name": step.key,
            "step_key": key, "channel": step.channel, "reason": reason,
            "status": "approved" if auto else "proposed", "planned_date": planned, **fields})
        new_lines.append([(inv.id, inv.open_cents) for inv in chased])
    result.review = _review(s, new_rows, cfg.review_above)
    if result.review:
        for row in new_rows:
            row["status"] = "proposed"
    result.groups = _created_groups(new_rows, new_lines)

    # re-render what changed, unless a person edited the words
    for mid in changed:
        m = s.get(Message, mid)
        active = sorted((by_id[inv_id] for inv_id in msg_lines[mid]), key=lambda i: (i.due_date, i.number))
        track = cfg.tracks.get(m.track)
        if track is None or m.step_index >= len(track.steps):
            continue
        fields = _compose(debtors[m.debtor_id], track, track.steps[m.step_index], active,
                          open_by_debtor[m.debtor_id], m.currency, m.planned_date, cfg, wik_sent, held)
        if m.edited:
            fields = {k: fields[k] for k in AMOUNT_FIELDS}
        for k, v in fields.items():
            setattr(m, k, v)
    s.flush()

    ready = [mid for mid in changed if open_messages[mid].status == "approved"]  # their QR image below
    if new_rows:
        ids = [r[0] for r in s.execute(insert(Message).returning(Message.id, sort_by_parameter_order=True),
                                       new_rows)]
        s.execute(insert(MessageInvoice), [
            {"message_id": mid, "invoice_id": inv_id, "open_cents": cents, "active": True}
            for mid, group in zip(ids, new_lines) for inv_id, cents in group])
        result.message_ids = ids
        ready += [mid for mid, row in zip(ids, new_rows) if row["status"] == "approved" and row["channel"] != "call"]
    result.created = len(new_rows)
    result.unchanged = len(open_messages) - len(cancel) - len(changed)
    record_audit(s, actor, "reminders.generate", "message", None, None,
                 {"date": today, "created": result.created, "extended": result.extended,
                  "unchanged": result.unchanged, "cancelled": result.cancelled, "resumed": result.resumed,
                  "review": result.review, "caught_up": result.caught_up, "needs_address": result.needs_address})
    uow.commit()
    store_qr(uow, ready)  # messages that need no approval get their image now, the others when approved
    return result


def _one_wik_letter(due_now, invoices, debtors, choice, cfg: ReminderSettings, letters, busy, chaseable,
                    reached) -> None:
    """A consumer's claims that can be demanded go into one letter and are charged together (art. 6:96
    lid 7 BW: one letter, costs on the sum of the principals). When the 14-day letter is due, the overdue
    invoices without a letter of their own join it, from an earlier step or from none; when a later
    cost step is due, the invoices that shared its 14-day letter and wait for the same step join it. An
    invoice still in another unsent message follows with its own letter."""
    for (debtor_id, currency, index), pairs in list(due_now.items()):
        if not debtors[debtor_id].is_consumer:
            continue
        step = cfg.tracks[choice[debtor_id][0]].steps[index]
        if not step.charges_costs or step.template not in tracks.WIK_TEMPLATES:
            continue
        planned = max(p for _, p in pairs)
        inside = {inv.id for inv, _ in pairs}
        first_letter = not all(inv.id in letters for inv, _ in pairs)
        shared = {letters[inv.id] for inv, _ in pairs if inv.id in letters}
        for inv in invoices:
            if (inv.debtor_id != debtor_id or inv.currency != currency or inv.id in inside or inv.id in busy
                    or inv.due_date >= planned or not chaseable(inv)):
                continue
            if first_letter:
                if inv.id in letters:
                    continue
            elif letters.get(inv.id) not in shared or reached.get(inv.id) is None \
                    or reached[inv.id].index + 1 != index:
                continue
            for key, other in list(due_now.items()):  # it leaves the step it was due for
                if key[:2] == (debtor_id, currency) and key[2] != index:
                    due_now[key] = [pair for pair in other if pair[0].id != inv.id]
                    if not due_now[key]:
                        del due_now[key]
            pairs.append((inv, planned))
            inside.add(inv.id)
        due_now[(debtor_id, currency, index)] = [(inv, planned) for inv, _ in pairs]


def _review(session, new_rows: list[dict], limit: int) -> str | None:
    """Why the messages of this run all wait for a person, or None: the first run on a ledger (none of
    its debtors ever had a message), or more messages at once than the engine's limit."""
    if not new_rows:
        return None
    debtor_ids = sorted({r["debtor_id"] for r in new_rows})
    known = any(session.scalar(select(Message.id).where(Message.debtor_id.in_(debtor_ids[i:i + 500])).limit(1))
                for i in range(0, len(debtor_ids), 500))
    if not known:
        return f"the first run on this ledger ({len(new_rows)} message(s))"
    if len(new_rows) > limit:
        return f"{len(new_rows)} messages at once, more than the limit of {limit}"
    return None


def _created_groups(new_rows: list[dict], new_lines: list[list]) -> list[CreatedGroup]:
    totals: dict[tuple[str, str, str], list[int]] = {}
    for row, lines in zip(new_rows, new_lines):
        t = totals.setdefault((row["track"], row["step_name"], row["currency"]), [0, 0, 0, 0])
        t[0] += 1
        t[1] += len(lines)
        t[2] += row["total_cents"]
        t[3] += row["status"] == "approved"
    return [CreatedGroup(track, step, currency, *values) for (track, step, currency), values in sorted(totals.items())]


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


PAY_DAYS = {"demand": 14, "final_notice": 14, "handover": 14}


def company_name(payment: dict | None) -> str:
    """Who the reminders are from, in the templates and on letters: the beneficiary of the payment
    details."""
    return (payment or {}).get("beneficiary") or "Debtor Desk"


def _compose(debtor: Debtor, track: Track, step: Step, chased: list[_Inv], open_items: list[_Inv],
             currency: str, planned: date, cfg: ReminderSettings, wik_sent: ClaimBasis, held) -> dict:
    """The stored fields of a message: rendered words, amounts and costs. Not its recipients: they are
    the debtor's reminder contact when it is previewed or sent (see `reminder_address`)."""
    claim = costing.Claim(0, 0, {})
    # a consumer is charged, or sent the 14-day letter, only by a step that can be that letter (art. 6:96 lid 6)
    if step.charges_costs and chased and (not debtor.is_consumer or (step.template in tracks.WIK_TEMPLATES
                                                                      and step.channel != "call")):
        claim = wik_sent.claim(debtor, chased, planned, cfg)
    ctx = message_context(debtor, track, step, chased, open_items, currency, planned, cfg, claim, held)
    rendered = render_message(ctx)
    return {"subject": rendered.subject, "body_text": rendered.text, "body_html": rendered.html,
            "language": ctx["language"], "currency": currency,
            "total_cents": ctx["total_cents"], "costs_cents": claim.costs_cents,
            "interest_cents": claim.interest_cents, "costs_detail": claim.detail or None}


WAIT_DAYS = 1  # how long an invoice due at a step may wait for another of the debtor's at the same step
AMOUNT_FIELDS = ("total_cents", "costs_cents", "interest_cents", "costs_detail")  # what follows edited words


class _Blank(dict):
    """A payment link's fields; one this version does not fill (a pattern saved by an older one) stays
    empty instead of stopping every render."""

    def __missing__(self, key):
        return ""


def _reference(debtor_code: str, numbers: list[str]) -> str:
    ref = f"{debtor_code} " + " ".join(numbers)
    return ref if len(ref) <= 140 else ref[:137] + "..."


def message_context(debtor: Debtor, track: Track, step: Step, chased: list, open_items: list, currency: str,
                    planned: date, cfg: ReminderSettings, claim: costing.Claim, held=None) -> dict:
    """Everything a template may use. Credit notes and items not chased here appear in the overview."""
    chased_ids = {i.id for i in chased}
    listed, more = statement.listed(chased)
    overview = []
    # a message that lists only part of its invoices leaves the overview to the attached statement
    for i in [] if more else sorted((i for i in open_items if i.currency == currency),
                                    key=lambda i: (i.due_date, i.number)):
        if i.id in chased_ids:
            status = "chased"
        elif i.open_cents < 0 or i.amount_cents < 0:
            status = "credit"
        elif held is not None and held(i) == "disputed":
            status = "disputed"
        elif held is not None and held(i) == "held":
            status = "held"
        elif i.due_date >= planned:
            status = "not_due"
        else:
            status = "other"
        overview.append({"number": i.number, "invoice_date": i.invoice_date, "due_date": i.due_date,
                         "open_cents": i.open_cents, "status": status})
    # what remains of the principal after payments went to costs and interest first (art. 6:44 BW)
    principal = {line["invoice"]: line["principal_cents"] for line in claim.detail.get("invoices", [])}
    total = claim.principal_cents if claim.principal_cents is not None else sum(i.open_cents for i in chased)
    due = total + claim.costs_cents + claim.interest_cents
    numbers = [i.number for i in chased]
    pay = cfg.payment
    reference = _reference(debtor.code, numbers)
    link = ""
    if pay.get("link_pattern"):
        values = {"debtor_code": debtor.code, "amount": f"{due // 100}.{due % 100:02d}", "reference": reference,
                  "currency": currency}
        try:
            link = pay["link_pattern"].format_map(_Blank({k: quote(str(v), safe="") for k, v in values.items()}))
        except (ValueError, IndexError):  # a malformed pattern saved before it was checked: no link
            link = ""
    qr = (currency == "EUR" and due > 0 and bool(pay.get("beneficiary")) and epc.valid_iban(pay.get("iban", "")))
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
                    "beneficiary": pay.get("beneficiary", ""), "reference": reference, "link": link},
        "qr": qr,
    }


# --- the queue: one service for every state change ------------------------------------------------

def transition(uow: UnitOfWork, message_ids, action: str, *, actor: str, until: date | None = None,
               note: str | None = None, today: date | None = None) -> list[int]:
    """Move messages to the state `action` leads to, all or none: a message whose status does not allow
    it, an unknown id or a bad date changes nothing and says why. Every change is audited."""
    today = today or date.today()
    if action not in ACTIONS:
        raise ServiceError(f"unknown action {action!r}; use one of {', '.join(ACTIONS)}")
    target = ACTIONS[action]
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
            raise ServiceError(f"postpone until {until:%d-%m-%Y} is not after today; pick a later date")
    s = uow.session
    messages = {m.id: m for m in s.scalars(select(Message).where(Message.id.in_(ids)))}
    missing = [i for i in ids if i not in messages]
    if missing:
        raise ServiceError(f"there is no message {missing[0]}; list them with `queue list`")
    for mid in ids:
        m = messages[mid]
        if target not in ALLOWED_TRANSITIONS[m.status] or (target == m.status):
            raise ServiceError(f"message {mid} is {m.status}; it cannot be {_verb(action)}")
        if action in CALL_ONLY and m.channel != "call":
            raise ServiceError(f"message {mid} is an e-mail, not a call task; approve it instead")
        if target == "sent" and action not in CALL_ONLY:
            raise ServiceError(f"message {mid} can only be sent by the sender")
        if action == "approve" and m.channel in ADDRESSED_CHANNELS and reminder_address(_email(s, m.debtor_id)) is None:
            raise ServiceError(f"message {mid} has no recipient: debtor {_code(s, m.debtor_id)} has no usable reminder "
                               "address; import a debtor list or add it in the dossier (the message waits), or "
                               "block the message")
        if action == "unpostpone" and m.status != "postponed":
            raise ServiceError(f"message {mid} is {m.status}, not postponed")
        if action == "unapprove" and m.status != "approved":
            raise ServiceError(f"message {mid} is {m.status}, not approved")
    for mid in ids:
        m = messages[mid]
        before = {"status": m.status, "planned_date": m.planned_date, "postponed_until": m.postponed_until}
        values: dict = {"status": target, "updated_at": utcnow()}
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
        done = s.execute(update(Message).where(Message.id == mid, Message.status == m.status)
                         .values(**values).execution_options(synchronize_session=False)).rowcount
        if done != 1:
            raise ServiceError(f"message {mid} was changed by someone else meanwhile; reload and try again")
        record_audit(s, actor, f"message.{action}", "message", mid, before,
                     {k: v for k, v in values.items() if k != "updated_at"})
    uow.commit()
    if target == "approved":  # the QR image is drawn now, so that sending takes no time for it
        store_qr(uow, [mid for mid in ids if messages[mid].channel != "call"])
    return ids


def _verb(action: str) -> str:
    return {"approve": "approved", "postpone": "postponed", "block": "blocked", "unpostpone": "brought back",
            "unapprove": "taken back", "called": "marked as called"}.get(action, action)


def _email(session, debtor_id: int) -> str | None:
    return session.scalar(select(Debtor.email).where(Debtor.id == debtor_id))


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


def record_call(uow: UnitOfWork, message_id: int, outcome: str, text_: str = "", *, actor: str) -> int:
    """A call task was done: a call note in the dossier, and the task leaves the call list."""
    s = uow.session
    m = s.get(Message, int(message_id))
    if m is None:
        raise ServiceError(f"there is no message {message_id}")
    if m.channel != "call":
        raise ServiceError(f"message {message_id} is not a call task")
    if not (outcome or "").strip():
        raise ServiceError("say how the call went (e.g. reached, no answer, voicemail)")
    note = Note(debtor_id=m.debtor_id, kind="call", text=(text_ or "").strip(), outcome=outcome.strip()[:30],
                message_id=m.id, created_by=actor)
    s.add(note)
    s.flush()
    transition(uow, [m.id], "called", actor=actor, note=(text_ or None))
    return note.id


def set_note(uow: UnitOfWork, message_id: int, note: str, *, actor: str) -> None:
    """The queue's note on a message (why it was moved, what was agreed)."""
    m = uow.session.get(Message, int(message_id))
    if m is None:
        raise ServiceError(f"there is no message {message_id}")
    before = m.note
    m.note = (note or "").strip() or None
    record_audit(uow.session, actor, "message.note", "message", m.id, {"note": before}, {"note": m.note})
    uow.commit()


def edit_text(uow: UnitOfWork, message_id: int, subject: str, body_text: str, *, actor: str) -> None:
    """A person rewrites the subject and body; that text is what is sent. The edit is audited."""
    s = uow.session
    m = s.get(Message, int(message_id))
    if m is None:
        raise ServiceError(f"there is no message {message_id}")
    if m.status not in UNSENT:
        raise ServiceError(f"message {message_id} is {m.status}; only unsent messages can be edited")
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
        m.last_error = (f"this text no longer gives the 14-day term from the day after receipt and the exact costs "
                        f"({amount}), so it does not count as the 14-day letter: no costs can follow it (art. 6:96 "
                        "lid 6 BW). Put both back, or send it as an ordinary demand")
        if m.status == "approved":
            m.status = "proposed"
    record_audit(s, actor, "message.edit", "message", m.id, before, {"subject": subject, "body_text": body_text})
    uow.commit()


def block_debtor(uow: UnitOfWork, message_id: int, reason: str, until: date | None = None, *,
                 actor: str, today: date | None = None) -> int:
    """Block the debtor of a message: its unsent messages are blocked and no new ones are proposed."""
    from receivables.services import dossier

    s = uow.session
    m = s.get(Message, int(message_id))
    if m is None:
        raise ServiceError(f"there is no message {message_id}")
    code = _code(s, m.debtor_id)
    unsent = list(s.scalars(select(Message.id).where(Message.debtor_id == m.debtor_id,
                                                     Message.status.in_(UNSENT))))
    note_id = dossier.block_reminders(uow, code, reason, until, actor=actor, today=today)
    if unsent:
        transition(uow, unsent, "block", actor=actor, note=f"debtor blocked: {reason}")
    return note_id


# --- payment QR and preview -----------------------------------------------------------------------

def qr_payload(payment: dict | None, currency: str, due_cents: int, debtor_code: str,
               numbers: list[str]) -> str | None:
    """The EPC QR text asking for `due_cents` (total, costs and interest) for these invoices, or None (not
    EUR, nothing due, or no valid payment details). EpcError when the details do not fit in a QR code."""
    pay = {**PAYMENT_DEFAULTS, **(payment or {})}
    if currency != "EUR" or due_cents <= 0 or not pay["beneficiary"] or not epc.valid_iban(pay["iban"]):
        return None
    return epc.epc_payload(name=pay["beneficiary"], iban=pay["iban"], amount_cents=due_cents, bic=pay["bic"],
                           remittance=_reference(debtor_code, numbers))


def payment_payload(uow: UnitOfWork, message_id: int) -> str | None:
    """The EPC QR text for a message's amount due, or None (not EUR, or no valid payment details)."""
    s = uow.session
    m = s.get(Message, int(message_id))
    if m is None:
        raise ServiceError(f"there is no message {message_id}")
    due = (m.total_cents or 0) + (m.costs_cents or 0) + (m.interest_cents or 0)
    numbers = list(s.scalars(select(Invoice.number).join(MessageInvoice, MessageInvoice.invoice_id == Invoice.id)
                             .where(MessageInvoice.message_id == m.id, MessageInvoice.active.is_(True))
                             .order_by(Invoice.due_date, Invoice.number)))
    return qr_payload(get_setting(s, PAYMENT_KEY), m.currency, due, _code(s, m.debtor_id), numbers)


def qr_codes(session, message_ids) -> dict[int, tuple[str | None, str | None]]:
    """For each message: the EPC QR text it asks for now (None: it shows no QR code), and the text kept."""
    ids = list(dict.fromkeys(int(i) for i in message_ids))
    payment = get_setting(session, PAYMENT_KEY) if ids else None
    out = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        numbers: dict[int, list[str]] = defaultdict(list)
        for mid, number in session.execute(
                select(MessageInvoice.message_id, Invoice.number)
                .join(Invoice, Invoice.id == MessageInvoice.invoice_id)
                .where(MessageInvoice.message_id.in_(chunk), MessageInvoice.active.is_(True))
                .order_by(MessageInvoice.message_id, Invoice.due_date, Invoice.number)):
            numbers[mid].append(number)
        for mid, code, currency, total, costs, interest, shows_qr, kept in session.execute(
                select(Message.id, Debtor.code, Message.currency, Message.total_cents, Message.costs_cents,
                       Message.interest_cents, Message.body_html.contains(f"cid:{QR_CID}"), Message.qr_payload)
                .join(Debtor, Debtor.id == Message.debtor_id).where(Message.id.in_(chunk))):
            payload = None
            if shows_qr:
                try:
                    payload = qr_payload(payment, currency, (total or 0) + (costs or 0) + (interest or 0), code,
                                         numbers[mid])
                except epc.EpcError:
                    payload = None  # the message goes without the image, as it always did
            out[mid] = (payload, kept)
    return out


def store_qr(uow: UnitOfWork, message_ids) -> int:
    """Draw and keep the EPC QR image of each of these messages whose kept image does not encode what it
    asks for now, so that the sender finds it ready; a message without a QR code keeps none. Called after
    the transaction that rendered or approved them: each image is drawn with no transaction open (a few
    ms each: no lock held meanwhile), and kept in short ones. Returns how many images were drawn."""
    s = uow.session
    ids = list(message_ids)
    table = Message.__table__
    keep = (table.update().where(table.c.id == bindparam("b_id"))
            # the image follows from the words, it is no change of them: updated_at stays
            .values(qr_payload=bindparam("b_payload"), qr_png=bindparam("b_png"), updated_at=table.c.updated_at))
    drawn = 0
    for start in range(0, len(ids), 200):
        codes = qr_codes(s, ids[start:start + 200])
        s.rollback()
        changes = [{"b_id": mid, "b_payload": payload, "b_png": epc.qr_png(payload) if payload else None}
                   for mid, (payload, kept) in codes.items() if payload != kept]
        if changes:
            s.connection().execute(keep, changes)
            uow.commit()
            drawn += sum(1 for c in changes if c["b_png"] is not None)
    return drawn


def message_qr(uow: UnitOfWork, message_id: int) -> bytes | None:
    """PNG of the EPC QR for the sender to attach as `cid:epcqr`."""
    payload = payment_payload(uow, message_id)
    return epc.qr_png(payload) if payload else None


@dataclass(frozen=True)
class Preview:
    id: int
    status: str
    subject: str
    text: str
    html: str  # with the QR as a data URI, exactly as the mail client will show it
    recipients: str
    payload: str | None
    edited: bool


def preview(uow: UnitOfWork, message_id: int) -> Preview:
    """The message exactly as it will be sent: the stored words, the QR code in place."""
    m = uow.session.get(Message, int(message_id))
    if m is None:
        raise ServiceError(f"there is no message {message_id}")
    try:
        payload = payment_payload(uow, m.id)
    except epc.EpcError:
        payload = None
    html = m.body_html or ""
    if payload:
        png = m.qr_png if m.qr_png and m.qr_payload == payload else epc.qr_png(payload)
        data = base64.b64encode(png).decode("ascii")
        html = html.replace(f"cid:{QR_CID}", f"data:image/png;base64,{data}")
    to = (reminder_address(_email(uow.session, m.debtor_id)) if m.status in UNSENT else m.recipients) or ""
    return Preview(m.id, m.status, m.subject, m.body_text, html, to, payload, m.edited)


def rerender(uow: UnitOfWork, message_id: int, *, actor: str, today: date | None = None) -> None:
    """Render an unedited unsent message again from its template (after a template or settings change);
    an undefined variable is reported here, at preview time."""
    s = uow.session
    m = s.get(Message, int(message_id))
    if m is None or m.status not in UNSENT:
        raise ServiceError(f"message {message_id} is not waiting in the queue")
    _render_again(s, m, load_settings(s), _claim_basis(s))
    m.edited = False
    record_audit(s, actor, "message.rerender", "message", m.id, None, None)
    uow.commit()
    if m.status == "approved":  # a message waiting for approval gets its QR image when it is approved
        store_qr(uow, [m.id])


def _render_again(s, m: Message, cfg: ReminderSettings, wik_sent: ClaimBasis, *, words: bool = True) -> None:
    """The message's words, amounts and costs rendered anew from its active invoices as they stand now;
    with `words` False only the amounts and costs (words a person wrote stay)."""
    track = cfg.tracks.get(m.track)
    if track is None or m.step_index >= len(track.steps):
        raise ServiceError(f"track {m.track} of message {m.id} no longer has this step")
    debtor = s.get(Debtor, m.debtor_id)
    rows = s.execute(select(Invoice.id, Invoice.number, Invoice.debtor_id, Invoice.currency, Invoice.invoice_date,
                            Invoice.due_date, Invoice.amount_cents, Invoice.open_cents, Invoice.disputed,
                            Invoice.paused_until, Invoice.description)
                     .where(Invoice.debtor_id == m.debtor_id, Invoice.open_cents != 0)).all()
    items = [_Inv(*r) for r in rows]
    active = set(s.scalars(select(MessageInvoice.invoice_id).where(MessageInvoice.message_id == m.id,
                                                                   MessageInvoice.active.is_(True))))
    chased = sorted((i for i in items if i.id in active), key=lambda i: (i.due_date, i.number))

    def held(inv: _Inv) -> str | None:  # how the overview of open items names what is not chased
        if inv.disputed:
            return "disputed"
        return "held" if inv.paused_until is not None and inv.paused_until >= m.planned_date else None

    try:
        fields = _compose(debtor, track, track.steps[m.step_index], chased, items, m.currency, m.planned_date,
                          cfg, wik_sent, held)
    except TemplateError as exc:
        raise ServiceError(str(exc)) from None
    if not words:
        fields = {k: fields[k] for k in AMOUNT_FIELDS}
    for k, v in fields.items():
        setattr(m, k, v)
    m.qr_payload = m.qr_png = None  # the kept image asked for the old total: drawn again when needed


def reword(session, message_ids, why: str) -> list[int]:
    """Unsent messages whose invoices changed before they went out (an invoice paid, credited, disputed or
    promised left them; an undone import brought one back): their words, total and QR code follow the
    invoices they still chase, in the same transaction. Words a person wrote are not rewritten: such a
    message goes back to the queue to be checked and approved again. Returns the ids sent back."""
    ids = sorted({int(i) for i in message_ids})
    if not ids:
        return []
    cfg, wik_sent, back = load_settings(session), _claim_basis(session), []
    chosen = [m for start in range(0, len(ids), 500) for m in session.scalars(  # as the caller's updates left them
        select(Message).where(Message.id.in_(ids[start:start + 500]), Message.status.in_(UNSENT))
        .execution_options(populate_existing=True))]
    for m in chosen:
        try:
            _render_again(session, m, cfg, wik_sent, words=not m.edited)  # the amounts follow in any case
            if not m.edited:
                continue
            reason = f"{why}; the text was written by hand, so check it and approve it again"
        except ServiceError as exc:
            reason = f"{why}; it cannot be rendered again ({exc})"
        if m.status == "approved":
            m.status = "proposed"
            back.append(m.id)
        m.last_error = reason
    return back


# --- listing ----------------------------------------------------------------------------------------

QUEUE_COLUMNS = ["id", "debtor_id", "debtor_code", "debtor_name", "account_manager", "step", "template", "track",
                 "channel", "status", "state", "needs_address", "planned_date", "postponed_until", "invoice_numbers",
                 "invoices", "currency", "total_cents", "costs_cents", "interest_cents", "subject", "reason",
                 "recipients", "note", "edited", "language", "last_error"]


def queue(uow: UnitOfWork, *, statuses=None, step: str | None = None, track: str | None = None,
          account_manager: str | None = None, planned_from: date | None = None,
          planned_until: date | None = None) -> pd.DataFrame:
    """The messages in the queue as a frame, oldest planned first. Default: proposed, approved and
    postponed."""
    s = uow.session
    statuses = list(statuses or UNSENT)
    q = (select(Message.id, Message.debtor_id, Debtor.code, Debtor.name, Debtor.account_manager,
                Message.step_name, Message.track, Message.channel, Message.status, Message.planned_date,
                Message.postponed_until, Message.currency, Message.total_cents, Message.costs_cents,
                Message.interest_cents, Message.subject, Message.reason, Message.recipients, Message.note,
                Message.edited, Message.language, Message.step_index, Message.last_error, Debtor.email)
         .join(Debtor, Debtor.id == Message.debtor_id).where(Message.status.in_(statuses)))
    if step:
        q = q.where(Message.step_name == step)
    if track:
        q = q.where(Message.track == track)
    if account_manager:
        q = q.where(Debtor.account_manager == account_manager)
    if planned_from:
        q = q.where(Message.planned_date >= planned_from)
    if planned_until:
        q = q.where(Message.planned_date <= planned_until)
    rows = s.execute(q.order_by(Message.planned_date, Debtor.code, Message.id)).all()
    if not rows:
        return pd.DataFrame(columns=QUEUE_COLUMNS)
    frame = pd.DataFrame(rows, columns=["id", "debtor_id", "debtor_code", "debtor_name", "account_manager", "step",
                                        "track", "channel", "status", "planned_date", "postponed_until",
                                        "currency", "total_cents", "costs_cents", "interest_cents", "subject",
                                        "reason", "recipients", "note", "edited", "language", "step_index",
                                        "last_error", "debtor_email"])
    # an unsent message goes to the debtor's reminder contact as it is now; a sent one to whom it went
    unsent = frame["status"].isin(UNSENT)
    current = frame["debtor_email"].map(reminder_address)
    frame["recipients"] = current.where(unsent, frame["recipients"]).fillna("")
    frame["needs_address"] = (unsent & frame["channel"].isin(ADDRESSED_CHANNELS) & current.isna()).astype(bool)
    waiting = frame["needs_address"] & frame["status"].isin(("proposed", "approved"))  # postponed says so itself
    frame["state"] = frame["status"].where(~waiting, NEEDS_ADDRESS)
    numbers: dict[int, list[str]] = defaultdict(list)
    ids = frame["id"].tolist()
    for chunk in range(0, len(ids), 1000):
        for mid, number in s.execute(
                select(MessageInvoice.message_id, Invoice.number).join(Invoice, Invoice.id == MessageInvoice.invoice_id)
                .where(MessageInvoice.message_id.in_(ids[chunk:chunk + 1000]), MessageInvoice.active.is_(True))
                .order_by(Invoice.due_date, Invoice.number)):
            numbers[mid].append(number)
    frame["invoice_numbers"] = [numbers.get(i, []) for i in ids]
    frame["invoices"] = frame["invoice_numbers"].map(len)
    cfg_tracks = load_settings(s).tracks
    frame["template"] = [_template(cfg_tracks, t, st) for t, st in zip(frame["track"], frame["step"])]
    for c in ("total_cents", "costs_cents", "interest_cents"):
        frame[c] = frame[c].astype("int64")
    frame["edited"] = frame["edited"].astype(bool)
    frame["last_error"] = frame["last_error"].fillna("")
    return frame[QUEUE_COLUMNS]


def _template(tracks_by_key: dict[str, Track], track_key: str, step_key: str) -> str:
    return tracks.TEMPLATES[_rank(tracks_by_key, track_key, step_key)]


def queue_json(frame: pd.DataFrame) -> list[dict]:
    """The CLI's JSON form of the queue."""
    return [{"id": int(r["id"]), "debtor_code": r["debtor_code"], "step": r["step"], "track": r["track"],
             "status": r["status"], "planned_date": r["planned_date"].isoformat(),
             "invoice_numbers": list(r["invoice_numbers"]), "total": round(int(r["total_cents"]) / 100, 2),
             "currency": r["currency"], "channel": r["channel"], "subject": r["subject"],
             "recipients": r["recipients"], "needs_address": bool(r["needs_address"]), "reason": r["reason"]}
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
