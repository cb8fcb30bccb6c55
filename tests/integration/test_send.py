"""The sender against a real SMTP server (aiosmtpd on 127.0.0.1) and real SQLite and PostgreSQL."""

from __future__ import annotations

import collections
import email
import re
import subprocess
import sys
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select, update

from db.models import (
    AuditEvent,
    Debtor,
    Invoice,
    Message,
    MessageInvoice,
    PaymentPlan,
    PaymentPlanInvoice,
    SendAttempt,
)
from emails.transport import OutboxTransport, SmtpTransport
from receivables.domain import phrases
from receivables.services import send_confirm, sending
from receivables.services.errors import ServiceError
from tests.conftest import ROOT
from tests.integration import test_send_support as support
from tests.integration.test_send_support import Mailbox, free_port, seed, settings, start_server, statuses

smtp_server = support.smtp_server  # the fixture


def send(uow, port, **kw):
    # today is read when sending, like the seed: a run that crosses midnight agrees with it
    opts = {"today": date.today(), "actor": "carla", "sleep": lambda s: None}
    opts.update(kw)
    cfg = opts.pop("settings", settings())
    with uow(immediate=True) as u:
        return sending.send_batch(u, SmtpTransport("127.0.0.1", port, "none", timeout=10), cfg, **opts)


def attempts(uow, message_id):
    with uow() as u:
        return [(a.outcome, english(a.error)) for a in u.session.scalars(
            select(SendAttempt).where(SendAttempt.message_id == message_id).order_by(SendAttempt.id))]


def message(uow, message_id) -> SimpleNamespace:
    with uow() as u:
        m = u.session.get(Message, message_id)
        return SimpleNamespace(**{c.key: getattr(m, c.key) for c in Message.__table__.columns
                                  if c.key != "last_error"}, last_error=english(m.last_error))


def english(stored: str | None) -> str | None:
    """Stored words (a phrase) as the English the command line prints."""
    return None if stored is None else str(phrases.load(stored))


def test_what_arrives_has_our_headers_both_parts_and_the_qr_inline(uow, smtp_server):
    [mid] = seed(uow, 1)
    result = send(uow, smtp_server.port)
    assert result.summary() == "sent 1, failed 0, cancelled 0"
    [got] = smtp_server.messages
    m = message(uow, mid)
    msg = got.message
    assert got.mail_from == "ar@example.nl" and got.rcpt_tos == ["debtor1@example.nl"]
    assert msg["From"] == "Debiteuren Voorbeeld <ar@example.nl>"
    assert msg["Reply-To"] == "debiteuren@example.nl"
    assert msg["To"] == "debtor1@example.nl"
    assert msg["Subject"] == "Herinnering openstaande factuur D001"
    assert msg["Date"] is not None and msg["Message-ID"] == m.smtp_message_id
    assert m.smtp_message_id.startswith(f"<debtordesk.{mid}.") and m.smtp_message_id.endswith("@example.nl>")
    assert m.status == "sent" and m.sent_at is not None and m.attempts == 1
    assert msg.get_body(("plain",)).get_content().replace("\r\n", "\n") == m.body_text
    assert "cid:epcqr" in msg.get_body(("html",)).get_content()
    [qr] = [p for p in msg.walk() if p.get_content_type() == "image/png"]
    assert qr["Content-ID"] == "<epcqr>" and qr.get_content().startswith(b"\x89PNG")
    assert attempts(uow, mid) == [("sent", "250 OK queued")]  # the server's words, its queue id in them


def test_a_batch_reuses_one_connection(uow, smtp_server):
    seed(uow, 5)
    result = send(uow, smtp_server.port)
    assert result.sent == 5 and smtp_server.connections == 1 and result.connections == 1


def test_a_server_that_refuses_then_accepts_gets_each_message_once(uow, smtp_server):
    [mid] = seed(uow, 1)
    smtp_server.data_replies = ["451 4.3.0 try again later", "421 4.7.0 too busy", None]
    result = send(uow, smtp_server.port)
    assert result.summary() == "sent 1, failed 0, cancelled 0"
    assert smtp_server.ids() == [mid]
    assert [o for o, _ in attempts(uow, mid)] == ["temporary", "temporary", "sent"]
    assert message(uow, mid).attempts == 3


def test_a_temporary_failure_that_lasts_fails_with_the_reason_after_the_limit(uow, smtp_server):
    [mid] = seed(uow, 1)
    smtp_server.data_replies = ["451 4.3.0 mailbox busy"] * 5
    result = send(uow, smtp_server.port)
    assert result.summary() == "sent 0, failed 1, cancelled 0"
    m = message(uow, mid)
    assert m.status == "failed" and "gave up after 3 tries" in m.last_error and "451" in m.last_error
    assert smtp_server.messages == []


def test_a_refused_recipient_fails_at_once_with_the_servers_words(uow, smtp_server):
    [mid] = seed(uow, 1)
    smtp_server.rcpt_replies["debtor1@example.nl"] = "550 5.1.1 no such user here"
    result = send(uow, smtp_server.port)
    assert result.failed == 1
    m = message(uow, mid)
    assert m.status == "failed" and "550 5.1.1 no such user here" in m.last_error
    assert attempts(uow, mid) == [("permanent", m.last_error)]


def test_connection_refused_is_retried_until_the_server_is_up(uow):
    seed(uow, 2)
    port = free_port()
    started = []

    def sleep(seconds):  # the server comes up while the sender waits to try again
        if not started:
            started.append(start_server(handler, port))

    handler = Mailbox()
    try:
        result = send(uow, port, sleep=sleep)
        assert result.sent == 2 and result.error is None and sorted(handler.ids()) == sorted(statuses(uow))
    finally:
        for c in started:
            c.stop()


def test_a_server_that_stays_down_stops_the_run_and_leaves_the_messages_approved(uow):
    ids = seed(uow, 2)
    result = send(uow, free_port())
    assert result.error and "connection was refused" in result.error
    assert set(statuses(uow).values()) == {"approved"} and result.sent == 0
    assert all(attempts(uow, i) == [] for i in ids)


def test_a_connection_dropped_before_the_data_is_retried_and_nothing_arrives_twice(uow, smtp_server):
    ids = seed(uow, 4)
    smtp_server.drop_at_rcpt = [False, True, False, False, False]
    result = send(uow, smtp_server.port)
    assert result.sent == 4
    assert sorted(smtp_server.ids()) == sorted(ids) and smtp_server.connections == 2


def test_a_connection_dropped_after_the_data_leaves_that_message_waiting_for_a_person(uow, smtp_server):
    ids = seed(uow, 4)
    smtp_server.drop_after_data = [False, True, False, False]
    result = send(uow, smtp_server.port)
    assert result.sent == 3 and result.waiting == 1 and result.failed == 0
    second = ids[1]
    assert statuses(uow)[second] == "sending"
    assert "check whether it arrived" in message(uow, second).last_error
    again = send(uow, smtp_server.port)  # the next run does not send it again
    assert again.results == [] and sorted(smtp_server.ids()) == sorted(ids)
    with uow() as u:
        [stuck] = send_confirm.waiting_for_confirmation(u)
    assert stuck.id == second and not stuck.in_flight


def test_confirming_a_stuck_message_as_sent_is_audited(uow, smtp_server):
    [mid] = seed(uow, 1)
    smtp_server.drop_after_data = [True]
    send(uow, smtp_server.port)
    with uow() as u:
        send_confirm.confirm_sent(u, mid, actor="carla")
    m = message(uow, mid)
    assert m.status == "sent" and m.sent_at is not None
    with uow() as u:
        audit = u.session.scalars(select(AuditEvent).where(AuditEvent.action == "send.confirm_sent")).one()
        assert audit.actor == "carla" and audit.entity_id == str(mid)
        with pytest.raises(ServiceError, match="not waiting for confirmation"):
            send_confirm.confirm_sent(u, mid, actor="carla")


def test_resend_goes_out_again_with_the_same_message_id(uow, smtp_server):
    [mid] = seed(uow, 1)
    smtp_server.drop_after_data = [True]
    send(uow, smtp_server.port)
    first_id = message(uow, mid).smtp_message_id
    with uow() as u:
        send_confirm.confirm_resend(u, mid, actor="carla")
    assert statuses(uow)[mid] == "approved"
    send(uow, smtp_server.port)
    assert [m.message_id for m in smtp_server.messages] == [first_id, first_id]
    assert message(uow, mid).status == "sent"
    with uow() as u:
        assert u.session.scalars(select(AuditEvent.actor).where(AuditEvent.action == "send.confirm_resend")).all() == ["carla"]


def test_a_message_just_claimed_cannot_be_confirmed_yet(uow):
    [mid] = seed(uow, 1)
    with uow() as u:
        u.session.execute(Message.__table__.update().where(Message.id == mid).values(status="sending"))
        u.commit()
    with uow() as u, pytest.raises(ServiceError, match="may still be on its way"):
        send_confirm.confirm_resend(u, mid, actor="carla")


def _change(uow, message_id, **values):
    with uow() as u:
        s = u.session
        inv = s.scalars(select(Invoice).join(MessageInvoice, MessageInvoice.invoice_id == Invoice.id)
                        .where(MessageInvoice.message_id == message_id).order_by(Invoice.number)).first()
        for k, v in values.items():
            setattr(inv, k, v)
        u.commit()


@pytest.mark.parametrize("change, reason", [
    ({"open_cents": 0}, "paid"),
    ({"disputed": True}, "disputed"),
    ({"paused_until": timedelta(days=10)}, "paused until"),  # from the day the test runs
])
def test_a_message_whose_only_invoice_left_since_approval_is_cancelled_not_sent(uow, smtp_server, change, reason):
    [mid] = seed(uow, 1)
    _change(uow, mid, **{k: date.today() + v if isinstance(v, timedelta) else v for k, v in change.items()})
    result = send(uow, smtp_server.port)
    assert result.summary() == "sent 0, failed 0, cancelled 1"
    m = message(uow, mid)
    assert m.status == "cancelled" and reason in m.last_error and smtp_server.messages == []


def test_an_invoice_paid_since_approval_leaves_the_message_and_the_rest_is_sent(uow, smtp_server):
    [mid] = seed(uow, 1, invoices=2)
    _change(uow, mid, open_cents=0)
    with uow() as u:
        assert [p.action for p in sending.plan(u, date.today())] == ["rerender"]
    result = send(uow, smtp_server.port)
    assert result.summary() == "sent 1, failed 0, cancelled 0"
    with uow() as u:
        active = u.session.scalars(select(Invoice.number).join(MessageInvoice, MessageInvoice.invoice_id == Invoice.id)
                                   .where(MessageInvoice.message_id == mid, MessageInvoice.active.is_(True))).all()
    assert active == ["2026-001-1"]
    [got] = smtp_server.messages
    text = got.message.get_body(("plain",)).get_content()
    assert "2026-001-1" in text and "2026-001-0" not in text  # the words were rendered again
    assert message(uow, mid).body_text.replace("\n", "\r\n") == text


def test_a_hand_written_message_that_changed_goes_back_for_review(uow, smtp_server):
    [mid] = seed(uow, 1, invoices=2, edited=True)
    _change(uow, mid, open_cents=0)
    result = send(uow, smtp_server.port)
    assert result.sent == 0 and smtp_server.messages == []
    m = message(uow, mid)
    assert m.status == "proposed" and "2026-001-0 paid" in m.last_error


def test_a_debtor_blocked_since_approval_gets_nothing(uow, smtp_server):
    [mid] = seed(uow, 1)
    with uow() as u:
        d = u.session.scalars(select(Debtor)).one()
        d.reminders_blocked, d.blocked_reason = True, "in gesprek over betalingsregeling"
        u.commit()
    send(uow, smtp_server.port)
    m = message(uow, mid)
    assert m.status == "blocked" and "betalingsregeling" in m.last_error and smtp_server.messages == []


def test_stale_open_items_send_nothing(uow, smtp_server):
    seed(uow, 2, as_of=date.today() - timedelta(days=30))
    with pytest.raises(ServiceError, match="stale"):
        send(uow, smtp_server.port)
    assert set(statuses(uow).values()) == {"approved"} and smtp_server.messages == []


@pytest.mark.parametrize("recipients", [
    "debtor@example.nl\r\nBcc: victim@example.org",
    "debtor@example.nl\nBcc: victim@example.org",
    "not an address",
])
def test_a_recipient_that_could_inject_a_header_is_refused_and_nothing_goes_out(uow, smtp_server, recipients):
    # an unusable address is no failure of the message: it waits, approved, for its debtor's address
    [mid] = seed(uow, 1, recipients=recipients)
    result = send(uow, smtp_server.port)
    assert (result.failed, result.count("held")) == (0, 1) and smtp_server.messages == []
    assert "needs an address" in result.results[0].detail
    assert message(uow, mid).status == "approved"


def test_a_subject_with_a_line_break_stays_one_header(uow, smtp_server):
    [mid] = seed(uow, 1)
    with uow() as u:
        m = u.session.get(Message, mid)
        m.subject = "Herinnering\r\nBcc: victim@example.org"
        u.commit()
    send(uow, smtp_server.port)
    [got] = smtp_server.messages
    assert got.rcpt_tos == ["debtor1@example.nl"]
    assert got.message["Bcc"] is None and got.message["Subject"] == "Herinnering Bcc: victim@example.org"


def test_the_rate_limit_spaces_the_messages(uow, smtp_server):
    seed(uow, 3)
    waits = []
    # 6 a minute: 10 s apart, far more than one send takes even on a loaded machine (sleep is not real here)
    result = send(uow, smtp_server.port, settings=settings(rate_per_minute=6), sleep=waits.append)
    assert result.sent == 3 and len(waits) == 2 and all(5 < w <= 10 for w in waits)


def test_limit_sends_only_the_first_n(uow, smtp_server):
    ids = seed(uow, 4)
    result = send(uow, smtp_server.port, limit=2)
    assert result.sent == 2 and sorted(smtp_server.ids()) == ids[:2]


def test_call_tasks_and_messages_planned_later_are_left_alone(uow, smtp_server):
    [call] = seed(uow, 1, channel="call")
    with uow() as u:
        u.session.execute(Message.__table__.update().where(Message.id == call).values(
            planned_date=date.today() + timedelta(days=1), channel="email"))
        u.commit()
    result = send(uow, smtp_server.port)
    assert result.results == [] and statuses(uow)[call] == "approved"


def test_two_senders_never_claim_the_same_message(uow, smtp_server):
    ids = seed(uow, 3)
    with uow(immediate=True) as a:
        [first] = sending._load(a.session, ids=[ids[0]])
        a.session.rollback()
    with uow(immediate=True) as u:
        assert sending._claim_fast(u.session, first, "<x.1@example.nl>", date.today(), sending.utcnow(), 0)
    with uow(immediate=True) as u:  # the same candidate, read before the claim, cannot be claimed again
        assert not sending._claim_fast(u.session, first, "<x.2@example.nl>", date.today(), sending.utcnow(), 0)
    assert message(uow, ids[0]).smtp_message_id == "<x.1@example.nl>"


def _first_invoice(s, message_id) -> Invoice:
    return s.scalars(select(Invoice).join(MessageInvoice, MessageInvoice.invoice_id == Invoice.id)
                     .where(MessageInvoice.message_id == message_id).order_by(Invoice.number)).first()


def _line(s, message_id) -> MessageInvoice:
    return s.scalars(select(MessageInvoice).where(MessageInvoice.message_id == message_id)
                     .order_by(MessageInvoice.invoice_id)).first()


def _debtor(s, message_id) -> Debtor:
    return s.scalars(select(Debtor).join(Message, Message.debtor_id == Debtor.id).where(Message.id == message_id)).one()


def _another_line(s, message_id):
    m = s.get(Message, message_id)
    inv = Invoice(number="2026-999", debtor_id=m.debtor_id, invoice_date=date.today() - timedelta(days=60),
                  due_date=date.today() - timedelta(days=30), amount_cents=5_000, open_cents=5_000)
    s.add(inv)
    s.flush()
    s.add(MessageInvoice(message_id=message_id, invoice_id=inv.id, open_cents=5_000, active=True))


def _in_plan(s, message_id, status="active"):
    """The message's first invoice put in a payment plan behind the services' back (as if between the read
    and the claim)."""
    m = s.get(Message, message_id)
    plan = PaymentPlan(debtor_id=m.debtor_id, status=status, source="staff", principal_cents=1, created_by="carla")
    s.add(plan)
    s.flush()
    s.add(PaymentPlanInvoice(plan_id=plan.id, invoice_id=_first_invoice(s, message_id).id))


@pytest.mark.parametrize("change", [
    pytest.param(lambda s, mid: setattr(_first_invoice(s, mid), "open_cents", 6_000), id="part-paid"),
    pytest.param(_in_plan, id="in-plan"),
    pytest.param(lambda s, mid: _in_plan(s, mid, "broken"), id="in-broken-plan"),
    pytest.param(lambda s, mid: setattr(_first_invoice(s, mid), "open_cents", 0), id="paid"),
    pytest.param(lambda s, mid: setattr(_first_invoice(s, mid), "disputed", True), id="disputed"),
    pytest.param(lambda s, mid: setattr(_first_invoice(s, mid), "paused_until", date.today() + timedelta(days=5)),
                 id="paused"),
    pytest.param(lambda s, mid: setattr(_first_invoice(s, mid), "paused_until", date.today() - timedelta(days=5)),
                 id="pause-over"),  # no longer held, but not as read: read again before it is claimed
    pytest.param(lambda s, mid: setattr(_debtor(s, mid), "reminders_blocked", True), id="debtor-blocked"),
    pytest.param(lambda s, mid: setattr(_debtor(s, mid), "blocked_until", date.today() + timedelta(days=3)),
                 id="block-end-date"),
    pytest.param(lambda s, mid: setattr(_debtor(s, mid), "email", "new@example.nl"), id="new-address"),
    pytest.param(lambda s, mid: setattr(_line(s, mid), "active", False), id="invoice-left"),
    pytest.param(lambda s, mid: setattr(_line(s, mid), "open_cents", 1), id="amount-said"),
    pytest.param(_another_line, id="invoice-added"),
    pytest.param(lambda s, mid: setattr(s.get(Message, mid), "planned_date", date.today() + timedelta(days=1)),
                 id="message-changed"),
])
def test_a_claim_takes_a_message_only_as_it_was_read(uow, change):
    [mid, other] = seed(uow, 2, invoices=2)
    with uow() as a:
        [read, other_read] = sending._load(a.session, ids=[mid, other])
        a.session.rollback()
    with uow() as u:
        change(u.session, mid)
        u.commit()
    with uow(immediate=True) as u:
        assert not sending._claim_fast(u.session, read, "<x.1@example.nl>", date.today(), sending.utcnow(), 0)
        assert sending._claim_fast(u.session, other_read, "<x.2@example.nl>", date.today(), sending.utcnow(), 0)
    assert statuses(uow) == {mid: "approved", other: "sending"}


def _plan_on_first_invoice(uow, mid) -> str:
    from receivables.services import plans

    with uow() as u:
        inv = _first_invoice(u.session, mid)
        today = date.today()
        plans.create_plan(u, inv.debtor_id, [inv.id], 2, today + timedelta(days=7), actor="carla", today=today)
        return inv.number


def test_an_invoice_put_in_a_plan_after_approval_is_not_demanded(uow, smtp_server):
    [mid, other] = seed(uow, 2, invoices=2)
    planned = _plan_on_first_invoice(uow, mid)
    assert send(uow, smtp_server.port).sent == 2
    with uow() as u:
        lines = dict(u.session.execute(select(Invoice.number, MessageInvoice.active).join(
            Invoice, Invoice.id == MessageInvoice.invoice_id).where(MessageInvoice.message_id == mid)).all())
    assert lines[planned] is False and list(lines.values()).count(True) == 1
    got = next(m for m in smtp_server.messages if m.our_id == mid)
    text = got.message.get_body(("plain",)).get_content()
    assert re.search(rf"{planned} .* afspraak loopt", text)  # in the overview, named as held
    assert "Bedrag: € 101,50" in text and f"Omschrijving: D001 {planned}" not in text  # not in the demand


def test_a_failed_message_approved_again_after_a_plan_was_made_leaves_the_planned_invoice_out(uow, smtp_server):
    [mid] = seed(uow, 1, invoices=2)
    with uow() as u:  # it failed; meanwhile a plan is made (which leaves only unsent messages alone) ...
        u.session.get(Message, mid).status = "failed"
        u.commit()
    planned = _plan_on_first_invoice(uow, mid)
    with uow() as u:  # ... and a person approves it again
        u.session.get(Message, mid).status = "approved"
        u.commit()
    result = send(uow, smtp_server.port)
    assert result.sent == 1
    with uow() as u:
        active = dict(u.session.execute(select(Invoice.number, MessageInvoice.active).join(
            Invoice, Invoice.id == MessageInvoice.invoice_id).where(MessageInvoice.message_id == mid)).all())
        assert message(uow, mid).total_cents == u.session.scalar(
            select(Invoice.open_cents).where(Invoice.number != planned))
    assert active[planned] is False


def test_a_message_with_only_planned_invoices_is_not_sent_and_says_why(uow, smtp_server):
    [mid] = seed(uow, 1)
    with uow() as u:
        u.session.get(Message, mid).status = "failed"
        u.commit()
    planned = _plan_on_first_invoice(uow, mid)
    with uow() as u:
        u.session.get(Message, mid).status = "approved"
        u.commit()
    result = send(uow, smtp_server.port)
    assert result.sent == 0 and smtp_server.messages == [] and statuses(uow)[mid] == "cancelled"
    assert f"{planned} in a payment plan" in message(uow, mid).last_error


def test_a_new_address_given_after_the_run_read_the_message_is_the_one_it_goes_to(uow, smtp_server, monkeypatch):
    [mid] = seed(uow, 1)
    load = sending._load

    def load_then_change_the_address(session, **kw):
        found = load(session, **kw)
        if kw.get("where") is not None:  # the run's read of what is due; then the dossier gets a new address
            session.rollback()
            with uow() as u:
                _debtor(u.session, mid).email = "new@example.nl"
                u.commit()
        return found

    monkeypatch.setattr(sending, "_load", load_then_change_the_address)
    assert send(uow, smtp_server.port).sent == 1
    [got] = smtp_server.messages
    assert got.rcpt_tos == ["new@example.nl"] and message(uow, mid).recipients == "new@example.nl"


def test_the_outbox_writes_one_eml_file_per_message_and_they_are_exported_not_sent(uow, tmp_path):
    ids = seed(uow, 2)
    with uow(immediate=True) as u:
        result = sending.send_batch(u, OutboxTransport(tmp_path / "out"), settings(), today=date.today(), actor="carla")
    files = sorted((tmp_path / "out").glob("*.eml"))
    assert result.sent == 0 and result.exported == 2 and len(files) == 2
    assert result.summary().startswith("sent 0, exported 2")
    assert all(b"Message-ID: <debtordesk." in f.read_bytes() for f in files)
    assert [o for o, _ in attempts(uow, ids[0])] == ["outbox"]
    assert {statuses(uow)[i] for i in ids} == {"exported"} and message(uow, ids[0]).sent_at is None
    from receivables.services import dossier

    with uow() as u:
        [entry] = [e for e in dossier.open_dossier(u, "D001", today=date.today()).timeline if e.title.startswith("Exported")]
        assert entry.title.startswith("Exported, not sent: reminder") and any(".eml" in d for d in entry.details)
        send_confirm.mark_sent(u, [ids[0]], actor="carla")
        titles = [(e.title.split(":")[0], e.by) for e in dossier.open_dossier(u, "D001", today=date.today()).timeline]
    assert ("Sent reminder 'reminder' (standard)", "sender") in titles and ("Mark sent", "carla") in titles
    assert not any(t.startswith("Exported") for t, _ in titles)


def test_sent_messages_keep_their_full_text_for_the_dossier(uow, smtp_server):
    [mid] = seed(uow, 1)
    send(uow, smtp_server.port)
    m = message(uow, mid)
    assert m.status == "sent" and m.sent_at is not None and "Factuur 2026-001-0 staat nog open." in m.body_text


def test_the_test_message_arrives_and_is_audited(uow, smtp_server):
    with uow() as u:
        d = sending.send_test_message(u, SmtpTransport("127.0.0.1", smtp_server.port, "none"), settings(),
                                      "carla@example.nl", actor="carla")
    assert d.outcome == "sent"
    [got] = smtp_server.messages
    assert got.rcpt_tos == ["carla@example.nl"] and got.message["Subject"] == "Debtor Desk test message"
    with uow() as u:
        assert u.session.scalars(select(AuditEvent.action).where(AuditEvent.actor == "carla")).all() == ["send.test"]
        with pytest.raises(ServiceError, match="not a valid e-mail address"):
            sending.send_test_message(u, SmtpTransport("127.0.0.1", smtp_server.port, "none"), settings(),
                                      "carla", actor="carla")


def test_an_interruption_from_the_progress_callback_stops_between_two_messages(uow, smtp_server):
    ids = seed(uow, 5)
    calls = []

    def progress(result, done, total):  # the page rerunning raises inside its progress callback
        calls.append(result.id)
        if len(calls) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        send(uow, smtp_server.port, progress=progress)
    state = statuses(uow)
    assert "sending" not in state.values()  # nothing claimed and left unrecorded
    assert sorted(i for i in ids if state[i] == "sent") == sorted(smtp_server.ids())
    assert 2 <= len(smtp_server.ids()) < 5


def test_in_a_fast_batch_each_message_is_sending_while_the_server_takes_it_in_and_sent_after(
        uow, smtp_server, monkeypatch):
    ids = seed(uow, 80)
    seen, chunks = {}, []
    take_in = smtp_server.handle_DATA

    async def handle_data(server, session, envelope):
        our_id = int(email.message_from_bytes(envelope.content)["Message-ID"].split(".")[1])
        with uow() as u:
            seen[our_id] = u.session.get(Message, our_id).status
        return await take_in(server, session, envelope)

    smtp_server.handle_DATA = handle_data
    claim_many = sending._claim_many

    def counted(s, picks, *args):
        chunks.append(len(picks))
        return claim_many(s, picks, *args)

    monkeypatch.setattr(sending, "_claim_many", counted)
    result = send(uow, smtp_server.port)
    assert result.sent == 80 and sorted(smtp_server.ids()) == ids
    assert seen == {i: "sending" for i in ids}  # committed as sending before the conversation began
    assert set(statuses(uow).values()) == {"sent"}  # and as sent after it
    assert all(attempts(uow, i) == [("sent", "250 OK queued")] for i in ids)
    assert sum(chunks) == 80 and max(chunks) >= 4  # claimed a chunk at a time once they went out quickly


DIE_AFTER = """
import os, sys
from datetime import date
from db.engine import make_engine
from emails.transport import SmtpTransport
from receivables.services import sending
from db.uow import UnitOfWork
from tests.integration.test_send_support import settings

def progress(result, done, total):
    if done == int(sys.argv[2]):
        os._exit(9)  # the process dies: nothing is cleaned up, nothing more is committed

with UnitOfWork(make_engine(), immediate=True) as u:
    sending.send_batch(u, SmtpTransport("127.0.0.1", int(sys.argv[1]), "none"), settings(), today=date.today(),
                       actor="cron", progress=progress)
"""


def test_a_sender_that_dies_between_two_messages_of_a_fast_batch_leaves_none_in_doubt(uow, smtp_server):
    ids = seed(uow, 120)
    died = subprocess.run([sys.executable, "-c", DIE_AFTER, str(smtp_server.port), "60"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert died.returncode == 9, died.stderr
    arrived = set(smtp_server.ids())
    state = statuses(uow)
    assert {i for i in ids if state[i] == "sent"} <= arrived  # recorded as sent: it did go out
    assert not {i for i in ids if state[i] == "approved"} & arrived  # never claimed: never sent
    assert len(arrived) == 60 and {i for i in ids if state[i] == "sending"}  # claimed ahead, recorded later
    with uow() as u:  # what the next run does first
        recovered = sending.recover(u, actor="cron")
    state = statuses(uow)
    assert {i for i in ids if state[i] == "sent"} == arrived  # every answer the server gave is on record
    assert [i for i in ids if state[i] == "sending"] == []  # it died between two conversations
    assert {r.outcome for r in recovered} <= {"sent", "released"}
    again = send(uow, smtp_server.port)
    assert again.sent == len(ids) - len(arrived) and again.recovered == []
    counts = collections.Counter(smtp_server.ids())
    assert set(counts.values()) == {1} and set(counts) == set(ids)  # nothing twice, nothing lost


def test_a_failure_after_a_person_approved_shows_its_reason_on_the_dossier_and_the_queue(uow, smtp_server):
    from receivables.services import dossier, reminders
    from receivables.services.audit import record_audit

    [mid] = seed(uow, 1)
    with uow() as u:  # as the queue records a person's approval
        record_audit(u.session, "carla", "message.approve", "message", mid, {"status": "proposed"},
                     {"status": "approved"})
        u.commit()
    smtp_server.rcpt_replies["debtor1@example.nl"] = "550 5.1.1 no such user here"
    assert send(uow, smtp_server.port).failed == 1
    with uow() as u:
        timeline = dossier.open_dossier(u, "D001", today=date.today()).timeline
        queue = reminders.queue(u, statuses=["failed"])
    failed = [e for e in timeline if e.title.startswith("Failed")]
    assert len(failed) == 1 and "550 5.1.1 no such user here" in failed[0].text
    assert any(e.title.startswith("Approve") and e.by == "carla" for e in timeline)
    assert "550 5.1.1 no such user here" in queue.loc[queue["id"] == mid, "last_error"].iloc[0]


@pytest.mark.parametrize("before, after", [("sent", "approved"), ("cancelled", "approved"), ("blocked", "sending"),
                                           ("proposed", "sending")])
def test_the_sender_cannot_move_a_message_outside_the_transition_table(uow, before, after):
    [mid] = seed(uow, 1)
    with uow() as u:
        u.session.execute(update(Message).where(Message.id == mid).values(status=before))
        u.commit()
    with uow() as u:
        with pytest.raises(ValueError, match=f"cannot go from {before} to {after}"):
            sending.set_status(u.session, mid, before, status=after)
    assert message(uow, mid).status == before
