"""Payment plans against real SQLite and PostgreSQL: made by staff or proposed from the portal, paid term by
term from the ledger's payments, late and broken after the grace period, and a person's decision."""

import json
import subprocess
import sys
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from db.models import AuditEvent, Debtor, ImportBatch, Invoice, Message
from db.uow import UnitOfWork
from emails.transport import SmtpTransport
from receivables.domain import phrases
from receivables.services import plans
from receivables.services.errors import ServiceError
from receivables.services.ledger import apply_change
from tests.conftest import ROOT
from tests.integration import test_send_support

smtp_server = test_send_support.smtp_server  # the fixture

TODAY = date(2026, 3, 10)


def add_invoice(s, debtor, number, invoice_date, amount_cents, term=30):
    inv = Invoice(number=number, debtor_id=debtor.id, invoice_date=invoice_date,
                  due_date=invoice_date + timedelta(days=term), amount_cents=amount_cents, open_cents=amount_cents)
    s.add(inv)
    s.flush()
    return inv


def build(uow):
    """De Jong (0100): two overdue invoices of 600.00 and 300.00; Northwind (0200): one."""
    with uow() as u:
        s = u.session
        a = Debtor(code="0100", name="De Jong Bouw B.V.", email="crediteuren@dejong.nl", language="nl")
        b = Debtor(code="0200", name="Northwind Traders Ltd", email="accounts@northwind.co.uk", language="en")
        s.add_all([a, b])
        s.flush()
        add_invoice(s, a, "2026-0001", date(2026, 1, 1), 60_000)
        add_invoice(s, a, "2026-0002", date(2026, 1, 15), 30_000)
        add_invoice(s, b, "2026-0900", date(2026, 1, 5), 70_000)
        u.commit()
    return uow


@pytest.fixture
def ledger(uow):
    return build(uow)


def ids(u, code="0100", numbers=("2026-0001", "2026-0002")):
    return plans.resolve(u, code, numbers)


def pay(u, number, cents, day):
    inv = u.session.scalar(select(Invoice).where(Invoice.number == number))
    apply_change(u.session, inv, day, "payment", -cents)
    plans.apply_payments(u.session, [inv.id], day)
    u.commit()


def test_a_staff_plan_runs_at_once_with_terms_that_add_up_to_the_open_amount(ledger):
    with ledger() as u:
        debtor_id, invoice_ids = ids(u)
        plan_id = plans.create_plan(u, debtor_id, invoice_ids, 4, TODAY, actor="anna", interest_cents=1_000,
                                    today=TODAY)
    with ledger() as u:
        view = plans.get_plan(u, plan_id)
        assert view.status == "active" and view.source == "staff"
        assert view.invoices == ("2026-0001", "2026-0002")
        assert [t.amount_cents for t in view.terms] == [22_750, 22_750, 22_750, 22_750]
        assert [t.due_date for t in view.terms] == [TODAY, date(2026, 4, 10), date(2026, 5, 10), date(2026, 6, 10)]
        assert plans.held_invoices(u.session) == set(invoice_ids)
        assert u.session.scalar(select(AuditEvent).where(AuditEvent.action == "plan.create")).actor == "anna"


def test_a_portal_proposal_waits_for_a_person_and_holds_nothing_until_accepted(ledger):
    with ledger() as u:
        debtor_id, invoice_ids = ids(u)
        plan_id = plans.propose_plan(u, debtor_id, invoice_ids, 3, TODAY + timedelta(days=5), source="portal",
                                     actor="portal", note="ik betaal in drie delen", today=TODAY)
    with ledger() as u:
        assert plans.get_plan(u, plan_id).status == "proposed"
        assert plans.held_invoices(u.session) == set()
        assert [p.id for p in plans.waiting(u.session)] == [plan_id]
        plans.accept_plan(u, plan_id, actor="anna", today=TODAY)
    with ledger() as u:
        assert plans.get_plan(u, plan_id).status == "active"
        assert plans.held_invoices(u.session) == set(invoice_ids)
        with pytest.raises(ServiceError, match="only a proposed plan can be accepted"):
            plans.accept_plan(u, plan_id, actor="anna", today=TODAY)


def test_a_rejected_proposal_says_why_and_leaves_the_invoices_free_for_another_plan(ledger):
    with ledger() as u:
        debtor_id, invoice_ids = ids(u)
        plan_id = plans.propose_plan(u, debtor_id, invoice_ids, 3, TODAY, source="portal", actor="portal",
                                     today=TODAY)
        with pytest.raises(ServiceError, match="already in a payment plan"):
            plans.create_plan(u, debtor_id, invoice_ids, 2, TODAY, actor="anna", today=TODAY)
        with pytest.raises(ServiceError, match="the reason is empty"):
            plans.reject_plan(u, plan_id, actor="anna", reason=" ")
        plans.reject_plan(u, plan_id, actor="anna", reason="te lang")
    with ledger() as u:
        view = plans.get_plan(u, plan_id)
        assert (view.status, view.reason, view.decided_by) == ("rejected", "te lang", "anna")
        assert plans.create_plan(u, debtor_id, invoice_ids, 2, TODAY, actor="anna", today=TODAY)


@pytest.mark.parametrize("terms, start, invoices, says", [
    (13, TODAY, ("2026-0001",), "at most 12 terms"),
    (2, TODAY - timedelta(days=1), ("2026-0001",), "is in the past"),
    (2, TODAY + timedelta(days=40), ("2026-0001",), "at most 31 days away"),
    (2, TODAY, ("2026-0900",), "not an invoice of this debtor"),
])
def test_a_plan_outside_the_limits_is_refused_and_nothing_is_written(ledger, terms, start, invoices, says):
    with ledger() as u:
        debtor_id, _ = ids(u)
        _, invoice_ids = plans.resolve(u, "0100", invoices)
        with pytest.raises(ServiceError, match=says):
            plans.create_plan(u, debtor_id, invoice_ids, terms, start, actor="anna", today=TODAY)
    with ledger() as u:
        assert plans.list_plans(u) == []


def test_payments_pay_the_oldest_term_first_and_a_paid_plan_ends(ledger):
    with ledger() as u:
        debtor_id, invoice_ids = ids(u)
        plan_id = plans.create_plan(u, debtor_id, invoice_ids, 3, TODAY, actor="anna", today=TODAY)
    with ledger() as u:
        pay(u, "2026-0001", 30_000, TODAY)  # the first term, and no more
    with ledger() as u:
        view = plans.get_plan(u, plan_id)
        assert [(t.paid_cents, t.state) for t in view.terms] == [(30_000, "paid"), (0, "open"), (0, "open")]
        pay(u, "2026-0001", 30_000, TODAY + timedelta(days=31))
        pay(u, "2026-0002", 30_000, TODAY + timedelta(days=60))
    with ledger() as u:
        view = plans.get_plan(u, plan_id)
        assert view.status == "paid"
        assert [t.state for t in view.terms] == ["paid", "paid", "paid"]
        assert plans.held_invoices(u.session) == set()


def test_a_term_unpaid_after_the_grace_period_breaks_the_plan_and_a_person_decides(ledger):
    with ledger() as u:
        debtor_id, invoice_ids = ids(u)
        plan_id = plans.create_plan(u, debtor_id, invoice_ids, 3, TODAY, actor="anna", today=TODAY)
    with ledger() as u:
        assert plans.refresh(u, TODAY + timedelta(days=3)).broken == []
        assert [t.state for t in plans.get_plan(u, plan_id).terms] == ["late", "open", "open"]
    with ledger() as u:
        assert plans.refresh(u, TODAY + timedelta(days=6)).broken == [plan_id]
    with ledger() as u:
        view = plans.get_plan(u, plan_id)
        assert (view.status, view.broken_on) == ("broken", TODAY + timedelta(days=6))
        assert plans.held_invoices(u.session) == set(invoice_ids)  # waits for a person
        with pytest.raises(ServiceError, match="one more chance or back on the track"):
            plans.decide_broken(u, plan_id, "maybe", actor="anna")
        plans.decide_broken(u, plan_id, "one_more_chance", actor="anna", today=TODAY + timedelta(days=7))
    with ledger() as u:
        view = plans.get_plan(u, plan_id)
        assert view.status == "active" and view.terms[0].state == "late"
        assert plans.refresh(u, TODAY + timedelta(days=13)).broken == [plan_id]
        plans.decide_broken(u, plan_id, "back_on_track", actor="anna", note="geen reactie",
                            today=TODAY + timedelta(days=13))
    with ledger() as u:
        assert plans.get_plan(u, plan_id).status == "ended"
        assert plans.held_invoices(u.session) == set()
        actions = set(u.session.scalars(select(AuditEvent.action)))
        assert {"plan.broken", "plan.one_more_chance", "plan.back_on_track"} <= actions


def test_the_limits_are_settings_checked_and_audited(ledger):
    with ledger() as u:
        with pytest.raises(ServiceError, match="grace period"):
            plans.save_limits(u, {"grace_days": 99}, actor="admin")
        plans.save_limits(u, {"max_terms": 6, "grace_days": 2}, actor="admin")
    with ledger() as u:
        assert plans.limits(u.session).max_terms == 6
        debtor_id, invoice_ids = ids(u)
        with pytest.raises(ServiceError, match="at most 6 terms"):
            plans.create_plan(u, debtor_id, invoice_ids, 7, TODAY, actor="anna", today=TODAY)
        assert u.session.scalar(select(AuditEvent).where(AuditEvent.action == "setting.change")).actor == "admin"


# --- the plan and the reminder track ------------------------------------------------------------------

def test_a_plans_invoices_leave_the_track_and_a_broken_plan_sent_back_resumes_at_the_next_step(uow):
    from tests.integration import test_reminders as r  # the reminder engine's ledger helpers
    day0 = r.TODAY
    with uow() as u:
        s = u.session
        r.fresh_import(s)
        d = r.debtor(s, "100")
        r.invoice(s, d, "F-1", day0 - timedelta(days=10), 121_000)
        r.invoice(s, d, "F-2", day0 - timedelta(days=5), 50_050)
        r.history(s, d)
        u.commit()
    r.generate(uow)
    [(first, numbers)] = r.messages(uow)
    assert first.step_name == "reminder" and numbers == ["F-1", "F-2"]
    r.mark_sent(uow, first.id, day0)
    with uow() as u:
        debtor_id, invoice_ids = plans.resolve(u, "100", ["F-1", "F-2"])
        plan_id = plans.create_plan(u, debtor_id, invoice_ids, 3, day0 + timedelta(days=1), actor="anna",
                                    today=day0 + timedelta(days=1))
    # the second reminder would be due 13 days after the first: the plan holds it back
    assert r.generate(uow, day0 + timedelta(days=16)).created == 0
    with uow() as u:
        assert plans.get_plan(u, plan_id).status == "broken"  # the first term was missed; a person decides
    assert r.generate(uow, day0 + timedelta(days=17)).created == 0
    with uow() as u:
        plans.decide_broken(u, plan_id, "back_on_track", actor="anna", today=day0 + timedelta(days=17))
    assert r.generate(uow, day0 + timedelta(days=17)).created == 1
    newest, numbers = r.messages(uow)[-1]
    assert newest.step_name == "second_reminder" and numbers == ["F-1", "F-2"]  # from where it left


def test_making_a_plan_takes_its_invoices_out_of_the_unsent_reminders(uow):
    from tests.integration import test_reminders as r
    with uow() as u:
        s = u.session
        r.fresh_import(s)
        d = r.debtor(s, "100")
        r.invoice(s, d, "F-1", r.TODAY - timedelta(days=10), 121_000)
        r.invoice(s, d, "F-2", r.TODAY - timedelta(days=5), 50_050)
        r.history(s, d)
        u.commit()
    r.generate(uow)
    with uow() as u:
        debtor_id, invoice_ids = plans.resolve(u, "100", ["F-1"])
        plans.create_plan(u, debtor_id, invoice_ids, 2, r.TODAY, actor="anna", today=r.TODAY)
    [(message, numbers)] = r.messages(uow)
    assert numbers == ["F-2"] and message.status in ("proposed", "approved")


def test_a_broken_plan_counts_like_a_broken_promise_in_the_track_signals(ledger):
    from receivables.services import dossier, signals
    from receivables.services.reminder_settings import load_settings
    with ledger() as u:
        debtor_id, invoice_ids = ids(u)
        plan_id = plans.create_plan(u, debtor_id, invoice_ids, 2, TODAY, actor="anna", today=TODAY)
        plans.refresh(u, TODAY + timedelta(days=10))
    with ledger() as u:
        assert plans.get_plan(u, plan_id).status == "broken"
        found = signals.behaviour_signals(u, TODAY + timedelta(days=10), load_settings(u.session).tracks)
        assert found[debtor_id]["broken_promises"] == 1
        assert dossier.debtor_signals(u, "0100", TODAY + timedelta(days=10))["broken_promises"] == 1


def test_a_payment_in_an_import_is_set_against_the_oldest_open_term(ledger):
    from receivables.services import imports
    with ledger() as u:
        debtor_id, invoice_ids = ids(u)
        plan_id = plans.create_plan(u, debtor_id, invoice_ids, 3, TODAY, actor="anna", today=TODAY)
    rows = ["Relatiecode;Relatie;Factuurnummer;Factuurdatum;Vervaldatum;Bedrag;Openstaand;Soort",
            "0100;De Jong Bouw B.V.;2026-0001;01-01-2026;31-01-2026;600,00;300,00;Factuur",
            "0100;De Jong Bouw B.V.;2026-0002;15-01-2026;14-02-2026;300,00;300,00;Factuur",
            "0200;Northwind Traders Ltd;2026-0900;05-01-2026;04-02-2026;700,00;700,00;Factuur"]
    with ledger(immediate=True) as u:
        imports.run_import(u, ("\r\n".join(rows) + "\r\n").encode(), "open.csv", actor="anna",
                           as_of=TODAY + timedelta(days=2))
    with ledger() as u:
        terms = plans.get_plan(u, plan_id).terms
        assert [(t.paid_cents, t.state) for t in terms][0] == (30_000, "paid")
        assert [t.paid_cents for t in terms[1:]] == [0, 0]


# --- the command line ----------------------------------------------------------------------------------

def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "receivables", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


@pytest.fixture
def sqlite_ledger(sqlite_engine):
    return build(lambda **kw: UnitOfWork(sqlite_engine, **kw))


def test_the_command_line_creates_lists_refreshes_and_decides_plans(sqlite_ledger):
    made = run_cli("plans", "create", "0100", "2026-0001", "2026-0002", "--terms", "3", "--start", "2026-03-10",
                   "--interest", "15,00", "--today", "2026-03-10", "--as", "anna")
    assert made.returncode == 0, made.stderr
    assert "plan 1 created for 0100" in made.stdout
    listed = run_cli("plans", "list", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    [plan] = json.loads(listed.stdout)
    assert plan["status"] == "active" and plan["invoices"] == ["2026-0001", "2026-0002"]
    assert [t["amount_cents"] for t in plan["terms"]] == [30_500, 30_500, 30_500]
    assert plan["terms"][0]["due_date"] == "2026-03-10"
    assert "1 broken" in run_cli("plans", "refresh", "--today", "2026-03-20").stdout
    assert "plan 1 is ended" in run_cli("plans", "decide", "1", "back_on_track", "--today", "2026-03-21").stdout
    assert "ended" in run_cli("plans", "list", "--debtor", "0100").stdout


def test_the_command_line_refuses_a_plan_outside_the_limits_with_what_to_change(sqlite_ledger):
    out = run_cli("plans", "create", "0100", "2026-0001", "--terms", "40", "--start", "2026-03-10",
                  "--today", "2026-03-10")
    assert out.returncode == 2 and "at most 12 terms" in out.stderr
    refused = run_cli("plans", "accept", "7")
    assert refused.returncode == 2 and "there is no payment plan 7" in refused.stderr
    assert json.loads(run_cli("plans", "list", "--format", "json").stdout) == []


# --- the notice before each term -------------------------------------------------------------------------

def notices(u):
    return list(u.session.scalars(select(Message).where(Message.track == "plan").order_by(Message.id)))


def test_a_notice_is_proposed_a_few_days_before_each_term_once_in_the_debtors_language(ledger):
    with ledger() as u:
        debtor_id, invoice_ids = ids(u)
        plan_id = plans.create_plan(u, debtor_id, invoice_ids, 3, TODAY + timedelta(days=10), actor="anna",
                                    today=TODAY)
        northwind, [nw_invoice] = plans.resolve(u, "0200", ["2026-0900"])
        plans.create_plan(u, northwind, [nw_invoice], 2, TODAY + timedelta(days=10), actor="anna", today=TODAY)
    with ledger() as u:
        assert plans.refresh(u, TODAY + timedelta(days=6)).notices == []  # 4 days ahead: not yet
    with ledger() as u:
        made = plans.refresh(u, TODAY + timedelta(days=7)).notices
        assert len(made) == 2
    with ledger() as u:
        assert plans.refresh(u, TODAY + timedelta(days=8)).notices == []  # once
        nl, en = notices(u)
        assert (nl.status, nl.planned_date, nl.total_cents) == ("proposed", TODAY + timedelta(days=7), 30_000)
        assert nl.subject == "Aankondiging termijn 1 van 3 van uw betalingsregeling"
        assert "20 maart 2026" in nl.body_text and "€ 300,00" in nl.body_text and "€ 600,00" in nl.body_text
        assert "2026-0001, 2026-0002" in nl.body_text
        assert en.subject == "Notice of instalment 1 of 2 of your payment plan" and "€350.00" in en.body_text
        assert plans.get_plan(u, plan_id).status == "active"
        # why it is in the queue: kept as a message id with its parameters, worded by the reader
        why = phrases.load(nl.reason)
        assert why.msgid == "term {seq} of {terms} of payment plan {plan} falls due on {day}"
        assert str(why) == f"term 1 of 3 of payment plan {plan_id} falls due on {TODAY + timedelta(days=10):%d-%m-%Y}"


def test_the_reminder_engine_leaves_a_plans_notice_alone(ledger):
    from receivables.services import reminders
    with ledger() as u:
        debtor_id, invoice_ids = ids(u)
        plans.create_plan(u, debtor_id, invoice_ids, 3, TODAY + timedelta(days=3), actor="anna", today=TODAY)
        u.session.add(ImportBatch(kind="open-items", mode="full", file_name="open.csv", file_hash="h", as_of=TODAY,
                                  imported_by="test"))
        u.commit()
    with ledger(immediate=True) as u:
        result = reminders.generate(u, TODAY, actor="test")
        assert result.cancelled == 0
    with ledger() as u:
        [notice] = notices(u)
        assert notice.status == "proposed"
        assert [m.track for m in u.session.scalars(select(Message))] == ["plan", "standard"]  # Northwind's


def test_a_paid_term_cancels_its_unsent_notice(ledger):
    with ledger() as u:
        debtor_id, invoice_ids = ids(u)
        plans.create_plan(u, debtor_id, invoice_ids, 3, TODAY + timedelta(days=2), actor="anna", today=TODAY)
        plans.refresh(u, TODAY)
    with ledger() as u:
        pay(u, "2026-0001", 30_000, TODAY + timedelta(days=1))
    with ledger() as u:
        [notice] = notices(u)
        assert (notice.status, str(phrases.load(notice.last_error))) == ("cancelled", "the term is paid")


def test_the_sender_sends_a_notice_exactly_once(uow, smtp_server):
    from receivables.services import queue, sending
    from tests.integration.test_send_support import settings
    today = date.today()
    with uow() as u:
        s = u.session
        d = Debtor(code="0100", name="De Jong Bouw B.V.", email="crediteuren@dejong.nl", language="nl")
        s.add(d)
        s.flush()
        add_invoice(s, d, "2026-0001", today - timedelta(days=60), 60_000)
        s.add(ImportBatch(kind="open-items", mode="full", file_name="open.csv", file_hash="h", as_of=today,
                          imported_by="test"))
        u.commit()
    with uow() as u:
        debtor_id, invoice_ids = plans.resolve(u, "0100", ["2026-0001"])
        plans.create_plan(u, debtor_id, invoice_ids, 2, today + timedelta(days=1), actor="anna", today=today)
        [message_id] = plans.refresh(u, today).notices
    with uow() as u:
        queue.transition(u, [message_id], "approve", actor="anna", today=today)
    for _ in range(2):
        with uow(immediate=True) as u:
            sending.send_batch(u, SmtpTransport("127.0.0.1", smtp_server.port, "none", timeout=10), settings(),
                               today=today, actor="anna", sleep=lambda s: None)
    assert len(smtp_server.messages) == 1
    with uow() as u:
        assert plans.refresh(u, today).notices == []
        assert u.session.get(Message, message_id).status == "sent"


def test_the_today_list_shows_proposals_waiting_terms_missed_and_broken_plans(ledger):
    from receivables.services import today
    with ledger() as u:
        debtor_id, [first, second] = ids(u)
        proposed = plans.propose_plan(u, debtor_id, [first], 2, TODAY, source="portal", actor="portal",
                                      note="twee delen", today=TODAY)
        running = plans.create_plan(u, debtor_id, [second], 2, TODAY, actor="anna", today=TODAY)
    with ledger() as u:
        items = today.worklist(u, today=TODAY + timedelta(days=2)).of("plan")
        assert sorted((i.key, i.title, i.late) for i in items) == [
            (f"plan:{proposed}", "Payment plan proposed: € 600,00 in 2 terms", False),
            (f"plan:{running}", "Plan term missed: term 1 of € 150,00 due 10-03-2026", False)]
        plans.refresh(u, TODAY + timedelta(days=6))
    with ledger() as u:
        items = today.worklist(u, today=TODAY + timedelta(days=6)).of("plan")
        assert items[0].key == f"plan:{running}"  # late first
        broken = items[0]
        assert broken.late and broken.title == "Payment plan broken: term 1 of € 150,00 due 10-03-2026 not paid"


def test_the_command_line_shows_and_changes_the_limits(sqlite_ledger):
    out = run_cli("plans", "limits", "--max-terms", "6", "--grace-days", "2", "--as", "admin")
    assert out.returncode == 0, out.stderr
    assert "at most 6 terms" in out.stdout and "unpaid 2 days" in out.stdout
    refused = run_cli("plans", "limits", "--grace-days", "90")
    assert refused.returncode == 2 and "grace period" in refused.stderr
    assert "at most 6 terms" in run_cli("plans", "limits").stdout


def test_a_bank_payment_quoting_the_notices_reference_pays_the_term(uow):
    from receivables.services import bank
    from tests.integration import test_bank_service as b
    with uow() as u:
        acme = b.debtor(u.session, "ACME", "Acme Trading B.V.")
        b.invoice(u.session, acme, "F2026-0101", 121_000, b.DAY - timedelta(days=40))
        u.commit()
    with uow() as u:
        bank.add_account(u, b.OURS, actor="test")
    with uow() as u:
        debtor_id, invoice_ids = plans.resolve(u, "ACME", ["F2026-0101"])
        plan_id = plans.create_plan(u, debtor_id, invoice_ids, 2, b.DAY, actor="anna", today=b.DAY)
        [notice_id] = plans.refresh(u, b.DAY).notices
    with uow() as u:
        ref = bank.payment_reference(u.session, notice_id)
    summary = b.import_file(uow, b.statement(b.tx("605.00", name="ACME TRADING", iban=b.STRANGER_IBAN, ref=ref)))
    assert summary.summary() == "lines 1, matched 1, suggested 0, unmatched 0"
    with uow() as u:
        terms = plans.get_plan(u, plan_id).terms
        assert [(t.paid_cents, t.state) for t in terms] == [(60_500, "paid"), (0, "open")]


def test_the_ageing_on_the_command_line_can_show_only_the_debtors_in_a_plan(sqlite_ledger):
    with sqlite_ledger() as u:
        debtor_id, invoice_ids = plans.resolve(u, "0100", ["2026-0001"])
        plans.create_plan(u, debtor_id, invoice_ids, 2, date.today(), actor="anna")
    everyone = json.loads(run_cli("report", "ageing", "--format", "json").stdout)
    assert sorted(d["code"] for d in everyone["debtors"]) == ["0100", "0200"]
    out = run_cli("report", "ageing", "--in-plan", "--format", "json")
    assert out.returncode == 0, out.stderr
    planned = json.loads(out.stdout)
    assert [d["code"] for d in planned["debtors"]] == ["0100"]
    assert planned["totals"]["total"] == 900.0  # the debtor's whole ageing


def test_an_unknown_interval_is_refused(ledger):
    with ledger() as u:
        debtor_id, invoice_ids = ids(u)
        with pytest.raises(ServiceError, match="unknown interval daily"):
            plans.create_plan(u, debtor_id, invoice_ids, 2, TODAY, actor="anna", interval="daily", today=TODAY)
