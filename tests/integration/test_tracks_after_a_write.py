"""After a write, the ageing page works out the reminder track again only for the debtors the write touched
(the journal of db.touched), and the tracks are still those worked out from scratch."""

from datetime import date, timedelta

import pytest
from sqlalchemy import select, text

from db.models import Debtor, Invoice, InvoiceChange, Note
from db.touched import touched_since
from db.uow import data_version
from receivables.services import demo as demo_service
from receivables.services import settings, signals

ANCHOR = date(2026, 6, 30)


@pytest.fixture
def ledger(uow):
    with uow() as u:
        demo_service.load_demo(u, seed=11, anchor=ANCHOR)
    return uow


def first_tracks(uow):
    with uow() as u:
        found = signals.debtor_tracks_since(u, ANCHOR)
        return found, u.session.scalars(select(Debtor.id).order_by(Debtor.code)).all()


def from_scratch(uow):
    with uow() as u:
        return signals.debtor_tracks(u, ANCHOR)


def test_broken_promises_of_one_debtor_change_its_track_and_nothing_else_is_worked_out_again(ledger):
    before, debtors = first_tracks(ledger)
    assert before.rechosen is None  # the first time: every debtor
    target = next(d for d in debtors if before.tracks[d] != "strict")
    with ledger() as u:
        for days in (10, 40):
            u.session.add(Note(debtor_id=target, kind="promise", outcome="broken", promise_cents=100,
                               promise_date=ANCHOR - timedelta(days=days), created_by="t"))
        u.commit()
    with ledger() as u:
        after = signals.debtor_tracks_since(u, ANCHOR, before)
    assert after.rechosen == {target}
    assert after.tracks[target] == "strict" != before.tracks[target]
    assert after.tracks == from_scratch(ledger)


def test_a_payment_booked_on_an_invoice_touches_the_invoices_debtor(ledger):
    before, _ = first_tracks(ledger)
    with ledger() as u:
        invoice = u.session.scalars(select(Invoice).where(Invoice.open_cents > 0).order_by(Invoice.id)).first()
        u.session.add(InvoiceChange(invoice_id=invoice.id, change_date=ANCHOR, kind="payment",
                                    delta_cents=-invoice.open_cents))
        invoice.open_cents, invoice.settled_date = 0, ANCHOR
        u.commit()
        debtor_id = invoice.debtor_id
    with ledger() as u:
        after = signals.debtor_tracks_since(u, ANCHOR, before)
    assert after.rechosen == {debtor_id}
    assert after.tracks == from_scratch(ledger)


def test_a_write_that_touches_no_debtor_works_out_no_track(ledger):
    before, _ = first_tracks(ledger)
    with ledger() as u:
        settings.put_setting(u.session, "test.touched", 1, actor="t")
        u.commit()
    with ledger() as u:
        after = signals.debtor_tracks_since(u, ANCHOR, before)
        assert data_version(u.session) > before.version
    assert after.rechosen == frozenset() and after.tracks == before.tracks


def test_a_statement_the_flushes_do_not_account_for_may_have_touched_any_debtor(ledger):
    before, _ = first_tracks(ledger)
    with ledger() as u:
        u.session.execute(text("UPDATE invoice SET disputed = :yes WHERE id = (SELECT MIN(id) FROM invoice "
                               "WHERE open_cents > 0 AND disputed = :no)"), {"yes": True, "no": False})
        u.commit()
    with ledger() as u:
        assert touched_since(u.session, before.version, data_version(u.session)) is None
        after = signals.debtor_tracks_since(u, ANCHOR, before)
    assert after.rechosen is None
    assert after.tracks == from_scratch(ledger)


def test_a_track_set_by_hand_and_a_new_debtor_are_seen(ledger):
    before, debtors = first_tracks(ledger)
    with ledger() as u:
        u.session.get(Debtor, debtors[1]).track_override = "friendly"
        new = Debtor(code="ZZ-NEW", name="New debtor")
        u.session.add(new)
        u.commit()
        new_id = new.id
    with ledger() as u:
        after = signals.debtor_tracks_since(u, ANCHOR, before)
    assert after.rechosen == {debtors[1], new_id}
    assert after.tracks[debtors[1]] == "friendly" and new_id in after.tracks
    assert after.tracks == from_scratch(ledger)


def test_another_day_works_out_every_track_again(ledger):
    before, _ = first_tracks(ledger)
    with ledger() as u:
        after = signals.debtor_tracks_since(u, ANCHOR + timedelta(days=1), before)
    assert after.rechosen is None
