"""The signals the track rules read (payment behaviour, broken promises, open disputes, the highest step
sent), for every debtor at once, and the reminder track each debtor is on. The engine, the ageing page and
the dossier choose tracks alike."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pandas as pd
from sqlalchemy import func, select, true

from db.models import Debtor, Invoice, Message, Note
from db.touched import touched_since
from db.uow import UnitOfWork, data_version
from receivables.domain import tracks
from receivables.domain.phrases import Phrase
from receivables.domain.planning import step_rank
from receivables.domain.tracks import Track
from receivables.services import analytics, plans
from receivables.services.reminder_settings import ReminderSettings, load_settings


def behaviour_signals(uow: UnitOfWork, today: date, tracks_by_key: dict[str, Track],
                      debtor_ids: list[int] | None = None) -> dict[int, dict]:
    """Per debtor the signals the track rules read (12 months up to `today`); of the `debtor_ids` only
    when given."""
    s = uow.session
    since = today - timedelta(days=365)
    signals: dict[int, dict] = defaultdict(dict)
    ids = None if debtor_ids is None else sorted({int(d) for d in debtor_ids})

    def of(column, query):
        return query if ids is None else query.where(column.in_(ids))

    frame = analytics.behaviour(uow, today, months=12, every_debtor=False, debtor_ids=ids)
    for r in frame[["debtor_id", "invoices_paid", "avg_days_late", "share_paid_late",
                    "share_paid_late_30"]].itertuples(index=False):
        if not r.invoices_paid:
            continue  # no payments in the window: no behaviour to read (the rules count it as 0 paid)
        signals[int(r.debtor_id)].update({
            "invoices_paid": int(r.invoices_paid or 0),
            "avg_days_late": 0.0 if pd.isna(r.avg_days_late) else float(r.avg_days_late),
            "share_paid_late": 0.0 if pd.isna(r.share_paid_late) else float(r.share_paid_late),
            "share_paid_late_30": 0.0 if pd.isna(r.share_paid_late_30) else float(r.share_paid_late_30)})
    for debtor_id, n in s.execute(of(Note.debtor_id, select(Note.debtor_id, func.count()).where(
            Note.kind == "promise", Note.outcome == "broken", Note.promise_date >= since)).group_by(Note.debtor_id)):
        signals[debtor_id]["broken_promises"] = int(n)
    # a broken payment plan counts like a broken promise (also when a person gave it one more chance)
    for debtor_id, n in plans.broken_since(s, since).items():
        if ids is None or debtor_id in ids:
            signals[debtor_id]["broken_promises"] = signals[debtor_id].get("broken_promises", 0) + n
    for debtor_id, n in s.execute(of(Invoice.debtor_id, select(Invoice.debtor_id, func.count()).where(
            Invoice.disputed == true(), Invoice.open_cents > 0)).group_by(Invoice.debtor_id)):  # "= true": its index
        signals[debtor_id]["open_disputes"] = int(n)
    # per debtor a look into the index of its invoices by date (a GROUP BY reads all of that index)
    first_invoice = (select(func.min(Invoice.invoice_date)).where(Invoice.debtor_id == Debtor.id)
                     .correlate(Debtor).scalar_subquery())
    for debtor_id, first in s.execute(of(Debtor.id, select(Debtor.id, first_invoice))):
        if first is not None:
            signals[debtor_id]["debtor_age_days"] = (today - first).days
    for debtor_id, track_key, step_key in s.execute(of(Message.debtor_id,
            select(Message.debtor_id, Message.track, Message.step_name).where(
                Message.status == "sent", Message.sent_at >= datetime.combine(since, datetime.min.time())))
            .group_by(Message.debtor_id, Message.track, Message.step_name)):
        rank = step_rank(tracks_by_key, track_key, step_key)
        signals[debtor_id]["highest_step"] = max(signals[debtor_id].get("highest_step", 0), rank)
    return signals


def track_choices(uow: UnitOfWork, today: date, cfg: ReminderSettings,
                  overrides: dict[int, str | None]) -> dict[int, tuple[str, Phrase]]:
    """For each of these debtors (id -> its track set by hand, if any) the track it is on and why. The
    behaviour is read only when there is a debtor to choose for."""
    if not overrides:
        return {}
    signals = behaviour_signals(uow, today, cfg.tracks)
    return {debtor_id: tracks.choose_track(signals.get(debtor_id, {}), cfg.rules, override, cfg.tracks)
            for debtor_id, override in overrides.items()}


def _track_keys(uow: UnitOfWork, today: date, cfg: ReminderSettings, debtor_ids: list[int] | None) -> dict[int, str]:
    query = select(Debtor.id, Debtor.track_override)
    if debtor_ids is not None:
        query = query.where(Debtor.id.in_(debtor_ids))
    overrides = dict(uow.session.execute(query).all())
    if not overrides:
        return {}
    found = behaviour_signals(uow, today, cfg.tracks, debtor_ids)
    ids = list(overrides)
    columns = {name: [(found[d].get(name) or 0) if d in found else 0 for d in ids] for name in tracks.SIGNALS}
    keys = tracks.choose_track_keys(columns, cfg.rules, [overrides[d] for d in ids], cfg.tracks)
    return dict(zip(ids, (str(k) for k in keys)))


def debtor_tracks(uow: UnitOfWork, today: date | None = None) -> dict[int, str]:
    """The reminder track each debtor is on today (override or the first matching rule): the track of
    `track_choices`, without its reason, chosen for all debtors at once."""
    return _track_keys(uow, today or date.today(), load_settings(uow.session), None)


# past this many debtors touched since the tracks were worked out, they are all worked out again
RECHOOSE_AT_MOST = 2_000


@dataclass(frozen=True)
class DebtorTracks:
    """`debtor_tracks` on a day at a data version, and how it was found: `rechosen` the debtors whose track
    was worked out (None: all of them)."""

    today: date
    version: int
    rules: str  # the tracks and rules they were chosen by
    tracks: dict[int, str]
    rechosen: frozenset[int] | None = None


def debtor_tracks_since(uow: UnitOfWork, today: date, before: DebtorTracks | None = None) -> DebtorTracks:
    """`debtor_tracks`, worked out again only for the debtors the writes since `before` touched (the
    journal of `db.touched`), when `before` is of the same day and rules; else for all debtors."""
    version = data_version(uow.session)
    cfg = load_settings(uow.session)
    rules = repr((cfg.rules, sorted(cfg.tracks.items())))
    touched = None
    if before is not None and before.today == today and before.rules == rules:
        touched = touched_since(uow.session, before.version, version)
    if touched is None or len(touched) > RECHOOSE_AT_MOST:
        return DebtorTracks(today, version, rules, _track_keys(uow, today, cfg, None))
    found = dict(before.tracks)
    if touched:
        ids = sorted(touched)
        for debtor_id in ids:
            found.pop(debtor_id, None)  # a debtor since removed stays out
        found.update(_track_keys(uow, today, cfg, ids))
    return DebtorTracks(today, version, rules, found, frozenset(touched))
