"""The dossier services against real SQLite and PostgreSQL."""

import json
import subprocess
import sys
from datetime import date, datetime, timedelta
from email.message import EmailMessage

import pytest
from sqlalchemy import func, select

from db.models import AuditEvent, Debtor, Invoice, Message, MessageInvoice, Note
from db.uow import UnitOfWork
from receivables.domain import calls
from receivables.services import dossier, promises
from receivables.services.errors import ServiceError
from receivables.services.ledger import apply_change
from receivables.services.settings import put_setting
from tests.conftest import ROOT

TODAY = date(2026, 3, 10)


def add_invoice(s, debtor, number, invoice_date, amount_cents, term=30, paid_on=None):
    inv = Invoice(number=number, debtor_id=debtor.id, invoice_date=invoice_date,
                  due_date=invoice_date + timedelta(days=term), amount_cents=amount_cents, open_cents=amount_cents)
    s.add(inv)
    s.flush()
    if paid_on:
        apply_change(s, inv, paid_on, "payment", -amount_cents)
    return inv


def build_ledger(uow):
    """De Jong (0100): one invoice paid 20 days late, two overdue, one not yet due. Northwind (0200): one."""
    with uow() as u:
        s = u.session
        a = Debtor(code="0100", name="De Jong Bouw B.V.", email="crediteuren@dejong.nl", language="nl",
                   segment="Bouw", account_manager="Sanne de Vries", contact_person="Anouk de Jong")
        b = Debtor(code="0200", name="Northwind Traders Ltd", email="accounts@northwind.co.uk", language="en")
        s.add_all([a, b])
        s.flush()
        add_invoice(s, a, "2025-0100", date(2025, 11, 1), 80000, paid_on=date(2025, 12, 21))
        add_invoice(s, a, "2026-0001", date(2026, 1, 1), 100000)
        add_invoice(s, a, "2026-0002", date(2026, 2, 1), 50000)
        add_invoice(s, a, "2026-0003", date(2026, 3, 1), 25000)
        add_invoice(s, b, "2026-0900", date(2026, 1, 5), 70000)
        u.commit()
    return uow


@pytest.fixture
def ledger(uow):
    return build_ledger(uow)


@pytest.fixture
def sqlite_ledger(sqlite_engine):
    """For what does not depend on the database: refused input (checked before anything is written) and
    the command line (the same services, slow to start), on SQLite only."""
    return build_ledger(lambda **kw: UnitOfWork(sqlite_engine, **kw))


def ids(u, *numbers):
    rows = dict(u.session.execute(select(Invoice.number, Invoice.id).where(Invoice.number.in_(numbers))).all())
    return [rows[n] for n in numbers]


def pending_message(u, code, numbers, status="proposed", **extra):
    debtor = u.session.scalars(select(Debtor).where(Debtor.code == code)).one()
    msg = Message(debtor_id=debtor.id, track="standard", step_index=1, step_name="reminder",
                  step_key=f"standard/1/{'-'.join(numbers)}", planned_date=TODAY, status=status,
                  subject="Herinnering", body_text="Beste klant, wij missen uw betaling.", **extra)
    msg.lines = [MessageInvoice(invoice_id=i, open_cents=1) for i in ids(u, *numbers)]
    u.session.add(msg)
    u.session.commit()
    return msg.id


def audit_actions(u):
    return u.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()


def count_notes(u):
    return u.session.scalar(select(func.count()).select_from(Note))


# --- finding ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("query, code, matched_on", [
    ("0100", "0100", "code"),
    ("jong", "0100", "name"),
    ("JONG", "0100", "name"),
    ("northwind.co", "0200", "e-mail"),
    ("traders", "0200", "name"),
    ("accounts@", "0200", "e-mail"),
    ("2026-0002", "0100", "invoice 2026-0002"),
    ("0900", "0200", "invoice 2026-0900"),
])
def test_a_debtor_is_found_by_a_few_letters_of_code_name_email_or_invoice_number(ledger, query, code, matched_on):
    with ledger() as u:
        found = dossier.find_debtors(u, query)
    assert (found[0].code, found[0].matched_on) == (code, matched_on)


@pytest.mark.parametrize("query", ["", "j", "%", "_%", "zzz"])
def test_too_short_or_wildcard_queries_find_nothing(ledger, query):
    with ledger() as u:
        assert dossier.find_debtors(u, query) == []


def test_an_unknown_debtor_code_says_how_to_find_one(ledger):
    with ledger() as u, pytest.raises(ServiceError, match="search by name"):
        dossier.open_dossier(u, "9999", TODAY)


# --- header and invoices ----------------------------------------------------------------------------

def test_the_header_shows_open_and_overdue_amounts_and_weighted_days_late(ledger):
    with ledger() as u:
        s = u.session
        debtor = Debtor(code="0300", name="Visser Transport B.V.", email="a@visser.nl, b@visser.nl",
                        segment="Transport", account_manager="Tom Bakker")
        s.add(debtor)
        s.flush()
        # the domain example: 100 paid 10 days late and 1,000 paid 20 days late -> 19.1 days
        add_invoice(s, debtor, "2025-0200", date(2025, 12, 1), 10000, paid_on=date(2026, 1, 10))
        add_invoice(s, debtor, "2025-0201", date(2025, 12, 2), 100000, paid_on=date(2026, 1, 21))
        add_invoice(s, debtor, "2026-0301", date(2026, 1, 15), 30000)
        add_invoice(s, debtor, "2026-0302", date(2026, 3, 1), 20000)
        u.commit()
    with ledger() as u:
        h = dossier.open_dossier(u, "0300", TODAY).header
    assert h.open_cents == {"EUR": 50000}
    assert h.overdue_cents == {"EUR": 30000}
    assert round(h.behaviour.avg_days_late, 1) == 19.1
    assert h.behaviour.share_paid_late == 1.0 and h.behaviour.invoices_paid == 2
    assert (h.name, h.emails, h.segment, h.account_manager) == (
        "Visser Transport B.V.", ["a@visser.nl", "b@visser.nl"], "Transport", "Tom Bakker")
    assert h.track.name == "standard" and h.track.reason
    assert h.flags == []


def test_the_invoice_list_shows_days_late_and_the_reminder_step(ledger):
    with ledger() as u:
        pending_message(u, "0100", ["2026-0001"], status="sent", sent_at=datetime(2026, 2, 10, 9, 0))
        msg = Message(debtor_id=u.session.scalars(select(Debtor.id).where(Debtor.code == "0100")).one(),
                      track="standard", step_index=2, step_name="second_reminder", step_key="standard/2/x",
                      planned_date=date(2026, 3, 12), status="approved")
        msg.lines = [MessageInvoice(invoice_id=ids(u, "2026-0001")[0], open_cents=1)]
        u.session.add(msg)
        u.commit()
    with ledger() as u:
        frame = dossier.open_dossier(u, "0100", TODAY).invoices.set_index("number")
    assert frame.loc["2025-0100", "days_late"] == 20 and frame.loc["2025-0100", "status"] == "paid"
    assert frame.loc["2026-0001", "days_late"] == (TODAY - date(2026, 1, 31)).days
    assert frame.loc["2026-0003", "days_late"] == 0
    assert frame.loc["2026-0001", "reminder_step"] == "reminder (sent 10-02-2026)"
    assert frame.loc["2026-0001", "next_step"] == "second_reminder (approved)"
    assert frame.loc["2026-0001", "next_step_date"] == date(2026, 3, 12)
    assert frame.index.tolist()[0] == "2026-0003"  # newest first


# --- notes and calls --------------------------------------------------------------------------------

def test_a_note_and_a_call_appear_on_the_timeline_newest_first_with_an_audit_event(ledger):
    with ledger() as u:
        dossier.add_note(u, "0100", "Facturen naar de centrale administratie.", actor="carla")
    with ledger() as u:
        dossier.log_call(u, "0100", "reached", "Betaling volgt vrijdag.", actor="carla")
    with ledger() as u:
        timeline = dossier.open_dossier(u, "0100", TODAY).timeline
        assert audit_actions(u) == ["note.add", "call.log"]
        events = [(e.actor, e.entity_id) for e in u.session.scalars(select(AuditEvent))]
    assert [(e.kind, e.title, e.text, e.by) for e in timeline[:2]] == [
        ("call", "Call: reached", "Betaling volgt vrijdag.", "carla"),
        ("note", "Note", "Facturen naar de centrale administratie.", "carla")]
    assert events == [("carla", "0100"), ("carla", "0100")]
    assert [e.at for e in timeline] == sorted((e.at for e in timeline), reverse=True)


def test_the_timeline_holds_invoices_and_payments_from_imports_and_filters_by_kind(ledger):
    with ledger() as u:
        dossier.add_note(u, "0100", "n", actor="carla")
    with ledger() as u:
        d = dossier.open_dossier(u, "0100", TODAY)
        only = dossier.open_dossier(u, "0100", TODAY, kinds=["payment"])
        few = dossier.open_dossier(u, "0100", TODAY, limit=2)
    titles = [e.title for e in d.timeline]
    assert "Invoice 2026-0003 issued: € 250,00" in titles
    assert "Payment received: € 800,00 on 2025-0100" in titles
    assert [e.title for e in only.timeline] == ["Payment received: € 800,00 on 2025-0100"]
    assert only.timeline[0].details == ["20 days after the due date"]
    assert len(few.timeline) == 2 and few.timeline_total == len(d.timeline) == 6


@pytest.mark.parametrize("outcome, text", [("answered", "x"), ("reached", ""), ("reached", "   ")])
def test_a_call_needs_a_known_outcome_and_a_summary_when_reached(sqlite_ledger, outcome, text):
    with sqlite_ledger() as u, pytest.raises(ServiceError):
        dossier.log_call(u, "0100", outcome, text, actor="carla")
    with sqlite_ledger() as u:
        assert count_notes(u) == 0 and audit_actions(u) == []


@pytest.mark.parametrize("outcome", calls.CALL_OUTCOMES)
def test_every_call_outcome_can_be_logged_in_the_dossier(ledger, outcome):
    with ledger() as u:
        dossier.log_call(u, "0100", outcome, "Betaling volgt.", actor="carla")
    with ledger() as u:
        assert dossier.open_dossier(u, "0100", TODAY).timeline[0].title == f"Call: {outcome}"


def test_a_call_without_answer_needs_no_text(ledger):
    with ledger() as u:
        dossier.log_call(u, "0100", "no answer", "", actor="carla")
    with ledger() as u:
        assert dossier.open_dossier(u, "0100", TODAY).timeline[0].title == "Call: no answer"


# --- promises ---------------------------------------------------------------------------------------

def test_a_promise_pauses_its_invoices_and_takes_them_out_of_unsent_reminders(ledger):
    with ledger() as u:
        msg_id = pending_message(u, "0100", ["2026-0001", "2026-0002"])
        dossier.promise_to_pay(u, "0100", TODAY + timedelta(days=5), 100000, ["2026-0001"], "belt terug",
                               actor="carla", today=TODAY)
    with ledger() as u:
        s = u.session
        one, two = (s.get(Invoice, i) for i in ids(u, "2026-0001", "2026-0002"))
        assert one.paused_until == TODAY + timedelta(days=8) and two.paused_until is None
        lines = {li.invoice_id: li.active for li in s.get(Message, msg_id).lines}
        assert lines == {one.id: False, two.id: True} and s.get(Message, msg_id).status == "proposed"
        note = s.scalars(select(Note).where(Note.kind == "promise")).one()
        assert (note.outcome, note.promise_cents, note.promise_invoice_ids) == ("pending", 100000, [one.id])
        assert audit_actions(u) == ["promise.add"]
        d = dossier.open_dossier(u, "0100", TODAY)
    assert d.timeline[0].title == f"Promise to pay € 1.000,00 by {TODAY + timedelta(days=5):%d-%m-%Y}"
    assert any(f.label.startswith("promise pending") for f in d.header.flags)
    assert d.invoices.set_index("number").loc["2026-0001", "paused_until"] == TODAY + timedelta(days=8)


def test_a_promise_without_invoices_covers_every_open_overdue_invoice_and_cancels_an_empty_reminder(ledger):
    with ledger() as u:
        msg_id = pending_message(u, "0100", ["2026-0001", "2026-0002"])
        put_setting(u.session, promises.GRACE_SETTING, 5, "admin")
        u.commit()
        dossier.promise_to_pay(u, "0100", TODAY + timedelta(days=2), None, [], actor="carla", today=TODAY)
    with ledger() as u:
        note = u.session.scalars(select(Note).where(Note.kind == "promise")).one()
        assert sorted(note.promise_invoice_ids) == sorted(ids(u, "2026-0001", "2026-0002"))
        assert note.promise_cents == 150000
        assert u.session.get(Message, msg_id).status == "cancelled"
        assert u.session.get(Invoice, ids(u, "2026-0001")[0]).paused_until == TODAY + timedelta(days=7)
        assert u.session.get(Invoice, ids(u, "2026-0003")[0]).paused_until is None


@pytest.mark.parametrize("kwargs, says", [
    ({"promise_date": TODAY - timedelta(days=1)}, "in the past"),
    ({"promise_date": TODAY + timedelta(days=400)}, "more than a year"),
    ({"amount_cents": -500}, "more than zero"),
    ({"invoice_numbers": ["2026-0900"]}, "not an invoice of De Jong"),
    ({"invoice_numbers": ["nope"]}, "not an invoice of De Jong"),
    ({"invoice_numbers": ["2025-0100"]}, "nothing open"),
])
def test_a_promise_that_cannot_be_kept_is_refused_and_changes_nothing(sqlite_ledger, kwargs, says):
    args = {"promise_date": TODAY + timedelta(days=3), "amount_cents": 1000, "invoice_numbers": ["2026-0001"],
            **kwargs}
    with sqlite_ledger() as u, pytest.raises(ServiceError, match=says):
        dossier.promise_to_pay(u, "0100", actor="carla", today=TODAY, **args)
    with sqlite_ledger() as u:
        assert count_notes(u) == 0 and audit_actions(u) == []
        assert u.session.scalar(select(func.count()).select_from(Invoice).where(Invoice.paused_until.is_not(None))) == 0


def promise(ledger, days=5, amount=100000, numbers=("2026-0001",)):
    """A promise recorded on TODAY (its time stamp moved there, as if written down that morning)."""
    with ledger() as u:
        note_id = dossier.promise_to_pay(u, "0100", TODAY + timedelta(days=days), amount, list(numbers),
                                         actor="carla", today=TODAY)
        u.session.get(Note, note_id).created_at = datetime(TODAY.year, TODAY.month, TODAY.day, 9, 0)
        u.commit()
    return note_id


def dossier_id(u, code):
    return u.session.scalars(select(Debtor.id).where(Debtor.code == code)).one()


def pay(ledger, number, cents, on):
    with ledger() as u:
        inv = u.session.scalars(select(Invoice).where(Invoice.number == number)).one()
        apply_change(u.session, inv, on, "payment", -cents)
        u.commit()


def review(ledger, on):
    with ledger() as u:
        return dossier.review_promises(u, on)


def test_a_promise_that_passes_unpaid_becomes_broken_and_counts_against_the_debtor(ledger):
    note_id = promise(ledger)  # promised in 5 days, grace 3: broken from day 9
    with ledger() as u:  # the dossier shows it broken before a review has recorded it, and records nothing
        assert promises.verdicts(u.session, dossier_id(u, "0100"), TODAY + timedelta(days=8)) == {}
        assert promises.verdicts(u.session, dossier_id(u, "0100"), TODAY + timedelta(days=9))[note_id].outcome == \
            "broken"
        assert dossier.open_dossier(u, "0100", TODAY + timedelta(days=9)).header.behaviour.broken_promises == 1
        assert u.session.get(Note, note_id).outcome == "pending" and audit_actions(u) == ["promise.add"]
    assert review(ledger, TODAY + timedelta(days=8)).broken == []
    assert review(ledger, TODAY + timedelta(days=9)).broken == [note_id]
    assert review(ledger, TODAY + timedelta(days=10)).broken == []  # once
    with ledger() as u:
        assert u.session.get(Note, note_id).outcome == "broken"
        debtor_id = u.session.get(Note, note_id).debtor_id
        assert dossier.broken_promises(u, debtor_id, TODAY - timedelta(days=365)) == 1
        assert audit_actions(u) == ["promise.add", "promise.broken"]
        d = dossier.open_dossier(u, "0100", TODAY + timedelta(days=10))
    assert d.header.behaviour.broken_promises == 1
    assert "1 broken promise in 12 months" in [f.label for f in d.header.flags]
    entry = next(e for e in d.timeline if e.title.startswith("Promise broken"))
    assert entry.at.date() == TODAY + timedelta(days=9) and entry.kind == "promise"


def test_a_promise_that_is_kept_closes_itself_before_its_date(ledger):
    note_id = promise(ledger)
    pay(ledger, "2026-0001", 100000, TODAY + timedelta(days=2))
    assert review(ledger, TODAY + timedelta(days=3)).kept == [note_id]
    with ledger() as u:
        note = u.session.get(Note, note_id)
        assert note.outcome == "kept" and note.data["resolved_on"] == (TODAY + timedelta(days=2)).isoformat()
        d = dossier.open_dossier(u, "0100", TODAY + timedelta(days=3))
    assert not any("promise" in f.label for f in d.header.flags)
    assert any(e.title.startswith("Promise kept") for e in d.timeline)


@pytest.mark.parametrize("paid, paid_day, outcome", [
    (100000, 8, "kept"),      # on the last day of the grace period
    (100000, 9, "broken"),    # a day too late
    (50000, 3, "broken"),     # half of it
    (120000, 3, "kept"),      # more than promised (a credit or an overpayment)
])
def test_a_promise_is_judged_on_the_amount_received_by_the_promised_date_plus_grace(ledger, paid, paid_day, outcome):
    if paid > 100000:
        pay(ledger, "2026-0001", 100000, TODAY + timedelta(days=paid_day))
        promise(ledger, numbers=("2026-0002",), amount=50000)
        pay(ledger, "2026-0002", paid - 100000 + 30000, TODAY + timedelta(days=paid_day))
        pay(ledger, "2026-0002", 20000, TODAY + timedelta(days=paid_day))
    else:
        promise(ledger)
        pay(ledger, "2026-0001", paid, TODAY + timedelta(days=paid_day))
    review(ledger, TODAY + timedelta(days=12))
    with ledger() as u:
        assert u.session.scalars(select(Note.outcome).where(Note.kind == "promise")).one() == outcome


@pytest.mark.parametrize("paid, paid_day, review_day", [(None, None, 9), (100000, 2, 3), (50000, 3, 12),
                                                      (100000, 8, 12)])
def test_the_dossier_shows_before_a_review_what_the_review_records(ledger, paid, paid_day, review_day):
    note_id = promise(ledger)
    if paid:
        pay(ledger, "2026-0001", paid, TODAY + timedelta(days=paid_day))
    on = TODAY + timedelta(days=review_day)
    with ledger() as u:
        shown = dossier.open_dossier(u, "0100", on)
    result = review(ledger, on)
    with ledger() as u:
        outcome = u.session.get(Note, note_id).outcome
        recorded = dossier.open_dossier(u, "0100", on)
    assert [note_id] == (result.kept or result.broken)
    assert [(e.at, e.kind, e.title) for e in shown.timeline] == [(e.at, e.kind, e.title) for e in recorded.timeline]
    assert shown.header == recorded.header
    assert next(e for e in recorded.timeline if e.title.startswith("Promise to pay")).details[-1] == \
        f"status: {outcome}"


def test_a_broken_promise_becomes_kept_when_a_payment_dated_in_time_is_imported_later(ledger):
    note_id = promise(ledger)
    assert review(ledger, TODAY + timedelta(days=9)).broken == [note_id]
    pay(ledger, "2026-0001", 100000, TODAY + timedelta(days=6))  # the bank file arrived late
    assert review(ledger, TODAY + timedelta(days=11)).kept == [note_id]
    with ledger() as u:
        assert u.session.get(Note, note_id).outcome == "kept"
        assert audit_actions(u) == ["promise.add", "promise.broken", "promise.kept"]


def test_old_payments_loaded_after_a_promise_do_not_keep_it(ledger):
    note_id = promise(ledger, numbers=(), amount=100000)  # covers 2026-0001 and 2026-0002
    pay(ledger, "2026-0001", 100000, TODAY - timedelta(days=20))  # history imported late: not for this promise
    pay(ledger, "2026-0002", 20000, TODAY - timedelta(days=3))  # paid just before the call, imported after it
    assert review(ledger, TODAY + timedelta(days=9)).broken == [note_id]
    with ledger() as u:
        assert u.session.get(Note, note_id).data["paid_cents"] == 20000


# --- disputes ---------------------------------------------------------------------------------------

def test_a_dispute_takes_the_invoice_out_of_reminders_until_it_is_resolved(ledger):
    with ledger() as u:
        msg_id = pending_message(u, "0100", ["2026-0002"])
        dossier.dispute_invoice(u, "0100", "2026-0002", "2 pallets retour", actor="carla")
    with ledger() as u:
        inv = u.session.get(Invoice, ids(u, "2026-0002")[0])
        assert inv.disputed and u.session.get(Message, msg_id).status == "cancelled"
        with pytest.raises(ServiceError, match="already disputed"):
            dossier.dispute_invoice(u, "0100", "2026-0002", "again", actor="carla")
    with ledger() as u:
        d = dossier.open_dossier(u, "0100", TODAY)
        assert "1 disputed invoice" in [f.label for f in d.header.flags]
        dossier.resolve_dispute(u, "0100", "2026-0002", "creditnota gestuurd", actor="dave")
    with ledger() as u:
        assert not u.session.get(Invoice, ids(u, "2026-0002")[0]).disputed
        timeline = dossier.open_dossier(u, "0100", TODAY, kinds=["dispute"]).timeline
        assert audit_actions(u) == ["invoice.dispute", "invoice.resolve_dispute"]
    assert [(e.title, e.text, e.by) for e in timeline] == [
        ("Dispute resolved on invoice 2026-0002", "creditnota gestuurd", "dave"),
        ("Dispute opened on invoice 2026-0002", "2 pallets retour", "carla")]


@pytest.mark.parametrize("number, reason, says", [
    ("2026-0900", "wrong", "not an invoice of De Jong"),
    ("2026-0001", "  ", "reason of the dispute is empty"),
    ("2025-0100", "paid already", "nothing open"),
    ("", "x", "choose the invoice"),
])
def test_a_dispute_on_the_wrong_invoice_or_without_a_reason_is_refused(sqlite_ledger, number, reason, says):
    with sqlite_ledger() as u, pytest.raises(ServiceError, match=says):
        dossier.dispute_invoice(u, "0100", number, reason, actor="carla")
    with sqlite_ledger() as u:
        assert not u.session.scalar(select(func.count()).select_from(Invoice).where(Invoice.disputed))
        assert audit_actions(u) == []


# --- blocks and contact data -----------------------------------------------------------------------

def test_reminders_can_be_blocked_until_a_date_and_unblocked(ledger):
    until = TODAY + timedelta(days=30)
    with ledger() as u:
        dossier.block_reminders(u, "0100", "in gesprek met directie", until, actor="carla", today=TODAY)
    with ledger() as u:
        debtor = u.session.scalars(select(Debtor).where(Debtor.code == "0100")).one()
        assert (debtor.reminders_blocked, debtor.blocked_reason, debtor.blocked_until) == (
            True, "in gesprek met directie", until)
        d = dossier.open_dossier(u, "0100", TODAY)
        assert f"reminders blocked until {until:%d-%m-%Y}" in [f.label for f in d.header.flags]
        dossier.unblock_reminders(u, "0100", "afspraak gemaakt", actor="carla")
    with ledger() as u:
        debtor = u.session.scalars(select(Debtor).where(Debtor.code == "0100")).one()
        assert (debtor.reminders_blocked, debtor.blocked_reason, debtor.blocked_until) == (False, None, None)
        titles = [e.title for e in dossier.open_dossier(u, "0100", TODAY, kinds=["block"]).timeline]
        assert titles == ["Reminders unblocked", f"Reminders blocked until {until:%d-%m-%Y}"]
        with pytest.raises(ServiceError, match="not blocked"):
            dossier.unblock_reminders(u, "0100", actor="carla")
        assert audit_actions(u) == ["debtor.block", "debtor.unblock"]


def test_a_block_whose_date_has_passed_no_longer_shows_as_blocked_and_can_be_set_again(ledger):
    until = TODAY + timedelta(days=5)
    with ledger() as u:
        dossier.block_reminders(u, "0100", "in gesprek met directie", until, actor="carla", today=TODAY)
    later = TODAY + timedelta(days=6)
    with ledger() as u:
        header = dossier.open_dossier(u, "0100", later).header
        assert (header.reminders_blocked, header.blocked_reason, header.blocked_until) == (False, None, None)
        assert not [f for f in header.flags if "blocked" in f.label]
        assert dossier.open_dossier(u, "0100", TODAY).header.reminders_blocked  # still blocked back then
        dossier.block_reminders(u, "0100", "nieuwe afspraak", later + timedelta(days=10), actor="carla", today=later)
    with ledger() as u:
        assert dossier.open_dossier(u, "0100", later).header.blocked_reason == "nieuwe afspraak"


@pytest.mark.parametrize("reason, until, says", [
    ("", None, "reason for blocking is empty"),
    ("x", TODAY, "not in the future"),
    ("x", TODAY - timedelta(days=3), "not in the future"),
])
def test_a_block_without_reason_or_with_a_past_date_is_refused(sqlite_ledger, reason, until, says):
    with sqlite_ledger() as u, pytest.raises(ServiceError, match=says):
        dossier.block_reminders(u, "0100", reason, until, actor="carla", today=TODAY)
    with sqlite_ledger() as u:
        assert not u.session.scalars(select(Debtor.reminders_blocked).where(Debtor.code == "0100")).one()


@pytest.mark.parametrize("typed, stored", [
    ("a@dejong.nl", "a@dejong.nl"),
    ("a@dejong.nl, b@dejong.nl", "a@dejong.nl, b@dejong.nl"),
    ("a@dejong.nl;b@dejong.nl\nc@dejong.nl", "a@dejong.nl, b@dejong.nl, c@dejong.nl"),
    ("Anouk <anouk@dejong.nl>", "anouk@dejong.nl"),
    ("a@dejong.nl, A@DEJONG.NL", "a@dejong.nl"),
    ("", None),
])
def test_several_reminder_addresses_can_be_saved(sqlite_ledger, typed, stored):
    with sqlite_ledger() as u:
        dossier.update_contact(u, "0100", emails=typed, language="en", contact_person="Anouk",
                               phone="+31 20 123 4567", actor="carla")
    with sqlite_ledger() as u:
        debtor = u.session.scalars(select(Debtor).where(Debtor.code == "0100")).one()
        assert (debtor.email, debtor.language, debtor.phone) == (stored, "en", "+31 20 123 4567")
        assert dossier.open_dossier(u, "0100", TODAY).timeline[0].kind == "contact"
        assert audit_actions(u) == ["debtor.contact"]


@pytest.mark.parametrize("kwargs, says", [
    ({"emails": "anouk@dejong"}, "not a valid e-mail address"),
    ({"emails": "a@dejong.nl, anouk at dejong.nl"}, "'anouk at dejong.nl' is not a valid"),
    ({"emails": "a b@dejong.nl"}, "not a valid"),
    ({"emails": "<script>@x.nl"}, "not a valid"),
    ({"language": "de"}, "language 'de' is not supported"),
    ({"phone": "call me maybe"}, "not a phone number"),
    ({"address": "\n".join(f"regel {i}" for i in range(7))}, "at most 6 lines"),
    ({"emails": "crediteuren@dejong.nl", "language": "nl", "contact_person": "Anouk de Jong", "phone": ""},
     "nothing changed"),
])
def test_bad_contact_data_is_refused_and_changes_nothing(sqlite_ledger, kwargs, says):
    args = {"emails": "x@dejong.nl", "language": "nl", "contact_person": "", "phone": "", **kwargs}
    with sqlite_ledger() as u, pytest.raises(ServiceError, match=says):
        dossier.update_contact(u, "0100", actor="carla", **args)
    with sqlite_ledger() as u:
        debtor = u.session.scalars(select(Debtor).where(Debtor.code == "0100")).one()
        assert (debtor.email, debtor.language) == ("crediteuren@dejong.nl", "nl")
        assert count_notes(u) == 0


# --- replies ----------------------------------------------------------------------------------------

def reply_eml(in_reply_to="<m-1@desk.example>", message_id="<r-1@dejong.nl>") -> bytes:
    msg = EmailMessage()
    msg["From"] = "Anouk de Jong <anouk@dejong.nl>"
    msg["Subject"] = "Re: Herinnering"
    msg["Date"] = "Wed, 04 Mar 2026 10:15:00 +0000"
    msg["Message-ID"] = message_id
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = in_reply_to
    msg.set_content("Wij betalen volgende week, excuses.")
    msg.add_attachment(b"%PDF", maintype="application", subtype="pdf", filename="betaalbewijs.pdf")
    return msg.as_bytes()


def test_an_eml_reply_is_linked_to_the_reminder_it_answers(ledger):
    with ledger() as u:
        msg_id = pending_message(u, "0100", ["2026-0001"], status="sent", smtp_message_id="<m-1@desk.example>",
                                 sent_at=datetime(2026, 3, 2, 8, 0))
        note_id = dossier.record_reply(u, "0100", actor="carla", eml=reply_eml(), file_name="antwoord.eml")
    with ledger() as u:
        note = u.session.get(Note, note_id)
        assert note.message_id == msg_id and note.text == "Wij betalen volgende week, excuses."
        assert note.data["attachments"] == ["betaalbewijs.pdf"]
        entry = dossier.open_dossier(u, "0100", TODAY, kinds=["reply"]).timeline[0]
        assert entry.title == "Reply from Anouk de Jong <anouk@dejong.nl>: Re: Herinnering"
        assert "answers reminder 'reminder', sent 02-03-2026" in entry.details
        assert "attachments: betaalbewijs.pdf" in entry.details
        with pytest.raises(ServiceError, match="already recorded"):
            dossier.record_reply(u, "0100", actor="carla", eml=reply_eml(), file_name="antwoord.eml")
        assert audit_actions(u) == ["reply.record"]


def test_a_reply_without_references_is_recorded_unlinked(ledger):
    with ledger() as u:
        note_id = dossier.record_reply(u, "0100", actor="carla", eml=reply_eml(in_reply_to=None))
    with ledger() as u:
        assert u.session.get(Note, note_id).message_id is None


def test_a_reply_to_another_debtors_reminder_is_refused(ledger):
    with ledger() as u:
        pending_message(u, "0200", ["2026-0900"], status="sent", smtp_message_id="m-1@desk.example")
        with pytest.raises(ServiceError, match="Northwind Traders Ltd \\(0200\\)"):
            dossier.record_reply(u, "0100", actor="carla", eml=reply_eml())
    with ledger() as u:
        assert count_notes(u) == 0


@pytest.mark.parametrize("kwargs, says", [
    ({"text": "   "}, "the reply is empty"),
    ({"eml": b"just some bytes", "file_name": "x.eml"}, "x.eml: this file has no From header"),
])
def test_an_empty_or_unreadable_reply_is_refused(sqlite_ledger, kwargs, says):
    with sqlite_ledger() as u, pytest.raises(ServiceError, match=says):
        dossier.record_reply(u, "0100", actor="carla", **kwargs)
    with sqlite_ledger() as u:
        assert count_notes(u) == 0


def test_a_pasted_reply_is_kept_as_plain_text(ledger):
    text = "<script>alert(1)</script> [klik](http://evil.example)"
    with ledger() as u:
        dossier.record_reply(u, "0100", actor="carla", text=text)
    with ledger() as u:
        entry = dossier.open_dossier(u, "0100", TODAY).timeline[0]
    assert (entry.kind, entry.text) == ("reply", text)


# --- reminders on the timeline -----------------------------------------------------------------------

def test_reminders_proposed_approved_and_sent_are_on_the_timeline_with_their_text(ledger):
    with ledger() as u:
        msg_id = pending_message(u, "0100", ["2026-0001"], status="sent", sent_at=datetime(2026, 3, 3, 9, 0),
                                 recipients="crediteuren@dejong.nl")
        u.session.add(AuditEvent(actor="dave", action="message.approve", entity="message", entity_id=str(msg_id),
                                 at=datetime(2026, 3, 2, 16, 0), after={"planned_date": "2026-03-03"}))
        u.session.add(AuditEvent(actor="dave", action="message.send", entity="message", entity_id=str(msg_id),
                                 at=datetime(2026, 3, 3, 9, 0)))
        postponed = Message(debtor_id=u.session.get(Message, msg_id).debtor_id, track="standard", step_index=2,
                            step_name="second_reminder", step_key="k2", planned_date=TODAY, status="postponed",
                            postponed_until=date(2026, 3, 20))
        u.session.add(postponed)
        u.commit()
    with ledger() as u:
        reminders = dossier.open_dossier(u, "0100", TODAY, kinds=["reminder"]).timeline
    by_title = {e.title: e for e in reminders}
    sent = by_title["Sent reminder 'reminder' (standard): Herinnering"]
    assert sent.text == "Beste klant, wij missen uw betaling." and sent.details == ["to crediteuren@dejong.nl"]
    assert by_title["Approve: reminder 'reminder' (standard)"].by == "dave"
    assert "Proposed reminder 'reminder' (standard)" in by_title
    assert str(by_title["Postponed: reminder 'second_reminder' (standard)"].text) == "until 20-03-2026"  # a phrase, worded by the reader
    assert not any(t.startswith("Send") for t in by_title)  # the sent entry carries the text, once


# --- the command line -------------------------------------------------------------------------------

def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "receivables", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


def test_the_cli_records_a_promise_reviews_it_and_shows_the_dossier(sqlite_ledger, tmp_path):
    today = date.today()
    res = run_cli("dossier", "promise", "0100", "--date", today.isoformat(), "--invoice", "2026-0001",
                  "--amount", "1000,00")
    assert res.returncode == 0, res.stderr
    res = run_cli("promises", "review", "--today", (today + timedelta(days=4)).isoformat())
    assert res.returncode == 0 and res.stdout.strip() == "promises kept: 0, broken: 1"
    path = tmp_path / "reply.eml"
    path.write_bytes(reply_eml(in_reply_to=None))
    assert run_cli("dossier", "reply", "0100", "--eml", str(path)).returncode == 0
    res = run_cli("dossier", "call", "0100", "--outcome", "reached", "--text", "Betaalt vrijdag.")
    assert res.returncode == 0, res.stderr
    res = run_cli("dossier", "show", "0100", "--format", "json", "--kind", "promise", "--kind", "reply",
                  "--kind", "call")
    assert res.returncode == 0, res.stderr
    shown = json.loads(res.stdout)
    assert [(e["title"], e["text"]) for e in shown["timeline"] if e["kind"] == "call"] == [
        ("Call: reached", "Betaalt vrijdag.")]
    assert shown["broken_promises"] == 1
    assert [e["kind"] for e in shown["timeline"]].count("promise") == 2
    assert any(e["title"].startswith("Reply from Anouk") for e in shown["timeline"])


def test_cli_dossier_errors_are_one_line(sqlite_ledger):
    res = run_cli("dossier", "dispute", "0100", "2026-0900", "wrong debtor")
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and "not an invoice of De Jong" in res.stderr


def test_the_postal_address_for_letters_is_saved_tidied_and_audited(sqlite_ledger):
    with sqlite_ledger() as u:
        dossier.update_contact(u, "0100", emails="crediteuren@dejong.nl", language="nl",
                               contact_person="Anouk de Jong", phone="", actor="carla",
                               address="  Kerkstraat 1 \n\n1234 AB  Amsterdam\n")
    with sqlite_ledger() as u:
        debtor = u.session.scalars(select(Debtor).where(Debtor.code == "0100")).one()
        assert debtor.address == "Kerkstraat 1\n1234 AB  Amsterdam"
        assert dossier.open_dossier(u, "0100", TODAY).header.address == debtor.address
        assert audit_actions(u) == ["debtor.contact"]
