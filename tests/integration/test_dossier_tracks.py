"""The dossier shows the track the reminder engine would choose: its per-debtor signals must equal the
engine's portfolio-wide ones."""

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from db.models import Debtor, Message, Note
from receivables.domain import tracks
from receivables.services import demo as demo_service
from receivables.services import dossier, reminder_settings, signals

ANCHOR = date(2026, 6, 30)


@pytest.fixture
def demo(uow):
    with uow() as u:
        demo_service.load_demo(u, seed=11, anchor=ANCHOR)
    with uow() as u:
        s = u.session
        debtors = s.scalars(select(Debtor).order_by(Debtor.code)).all()
        # a few broken promises, a sent final notice and an old one outside the 12 months
        for d in debtors[:3]:
            for days in (10, 40):
                s.add(Note(debtor_id=d.id, kind="promise", outcome="broken", promise_cents=100,
                           promise_date=ANCHOR - timedelta(days=days), created_by="t"))
        s.add(Message(debtor_id=debtors[3].id, track="standard", step_index=4, step_name="final_notice",
                      step_key="a", planned_date=ANCHOR, status="sent", sent_at=datetime(2026, 5, 1)))
        s.add(Message(debtor_id=debtors[4].id, track="strict", step_index=1, step_name="demand",
                      step_key="b", planned_date=ANCHOR, status="sent", sent_at=datetime(2025, 1, 1)))
        s.add(Message(debtor_id=debtors[5].id, track="gone", step_index=1, step_name="call",
                      step_key="c", planned_date=ANCHOR, status="sent", sent_at=datetime(2026, 6, 1)))
        u.commit()
    with uow() as u:  # as the engine does before it chooses: the demo's promises past their date are closed
        dossier.review_promises(u, ANCHOR)
    return uow


def test_the_dossier_shows_the_track_and_reason_the_reminder_engine_chooses(demo):
    with demo() as u:
        s = u.session
        cfg = reminder_settings.load_settings(s)
        engine_signals = signals.behaviour_signals(u, ANCHOR, cfg.tracks)
        sample = s.scalars(select(Debtor).order_by(Debtor.code).limit(40)).all()
        differences, seen = {}, set()
        for debtor in sample:
            ours = dossier.debtor_signals(u, debtor.code, ANCHOR)
            theirs = engine_signals.get(debtor.id, {})
            if ours.keys() != theirs.keys() or any(abs(float(ours[k]) - float(theirs[k])) > 1e-9 for k in ours):
                differences[debtor.code] = (ours, theirs)
            expected = tracks.choose_track(theirs, cfg.rules, debtor.track_override, cfg.tracks)
            track = dossier.open_dossier(u, debtor.code, ANCHOR).header.track
            assert (track.name, track.reason) == expected
            seen.add(track.name)
        assert differences == {}
        assert len(seen) >= 2  # the sample covers more than one track
        assert {"broken_promises", "highest_step", "open_disputes"} <= {k for d in sample
                                                                        for k in engine_signals.get(d.id, {})}
        sample[0].track_override = "friendly"
        s.flush()
        track = dossier.open_dossier(u, sample[0].code, ANCHOR).header.track
        assert (track.name, str(track.reason)) == ("friendly", "Track friendly set by hand for this debtor")


def test_the_ageing_pages_track_of_every_debtor_is_the_track_the_reminder_engine_chooses(demo):
    with demo() as u:
        s = u.session
        cfg = reminder_settings.load_settings(s)
        debtors = s.scalars(select(Debtor).order_by(Debtor.code)).all()
        debtors[6].track_override = "friendly"
        debtors[7].track_override = "no_longer_a_track"
        s.flush()
        overrides = {d.id: d.track_override for d in debtors}
        expected = {d: choice[0] for d, choice in signals.track_choices(u, ANCHOR, cfg, overrides).items()}
        assert signals.debtor_tracks(u, ANCHOR) == expected
        assert expected[debtors[6].id] == "friendly"
        assert len(set(expected.values())) >= 2
