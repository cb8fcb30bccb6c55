"""Digest e-mails as cron sends them (`python -m receivables today digest --send`): a real process, a real
SMTP server (aiosmtpd), SQLite and PostgreSQL. Each digest arrives once, however often the job runs."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from db.models import Debtor, Digest, ImportBatch, Invoice, Message
from db.uow import UnitOfWork
from receivables.services import digest
from receivables.services.errors import ServiceError
from tests import user_store
from tests.conftest import ROOT
from tests.integration import test_send_support as support
from tests.integration.test_send_support import smtp_env

smtp_server = support.smtp_server  # the fixture

TODAY = date(2026, 12, 7)  # a Monday


def cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "receivables", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=120, stdin=subprocess.DEVNULL)


@pytest.fixture
def ledger(engine):
    """Carla follows Bakker Bouw (Sanne de Vries's customer): a reminder waits for approval and a call is due;
    one invoice is disputed."""
    user_store.add_user("carla", "collector", name="Carla de Boer", password="a-long-enough-password-1")
    with UnitOfWork(engine) as u:
        s = u.session
        s.add(ImportBatch(kind="open-items", mode="full", file_name="o.csv", file_hash="h", as_of=TODAY,
                          imported_by="t"))
        d = Debtor(code="100", name="Bakker Bouw B.V.", email="ap@bakker.example", account_manager="Sanne de Vries",
                   owner="carla", phone="+31 20 555 0101")
        other = Debtor(code="200", name="Visser Transport", email="ap@visser.example", account_manager="Piet")
        s.add_all([d, other])
        s.flush()
        for number, debtor, cents, days, disputed in [("F-1", d, 121_000, 20, False), ("F-2", d, 50_000, 5, True),
                                                      ("F-3", other, 99_000, 30, False)]:
            s.add(Invoice(number=number, debtor_id=debtor.id, invoice_date=TODAY - timedelta(days=days + 30),
                          due_date=TODAY - timedelta(days=days), amount_cents=cents, open_cents=cents,
                          disputed=disputed))
        s.add(Message(debtor_id=d.id, track="standard", step_index=1, step_name="reminder", step_key="a",
                      status="proposed", planned_date=TODAY, total_cents=121_000))
        s.add(Message(debtor_id=d.id, track="strict", step_index=2, step_name="call", step_key="c", channel="call",
                      status="proposed", planned_date=TODAY, total_cents=121_000))
        u.commit()
    return engine


def test_each_digest_arrives_once_even_when_the_job_runs_twice(ledger, smtp_server):
    assert cli("today", "subscribe", "Carla de Boer", "carla@example.nl", "--language", "en").returncode == 0
    weekly = cli("today", "subscribe", "Sanne de Vries", "sanne@example.nl", "--weekly")
    assert weekly.stdout.strip() == "Sanne de Vries gets the weekly digest at sanne@example.nl (nl)"
    listed = cli("today", "digest", "--today", TODAY.isoformat())
    assert listed.stdout.strip().splitlines()[-1] == "2 digest(s) due; --send sends them"
    assert smtp_server.messages == []  # listing sends nothing

    env = smtp_env(smtp_server.port)
    first = cli("today", "digest", "--send", "--today", TODAY.isoformat(), env=env)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "digests: 2 sent, 0 sent before, 0 failed"
    again = cli("today", "digest", "--send", "--today", TODAY.isoformat(), env=env)
    assert again.stdout.strip() == "digests: 0 sent, 2 sent before, 0 failed"

    got = {m.rcpt_tos[0]: m.message for m in smtp_server.messages}
    assert len(smtp_server.messages) == 2 and set(got) == {"carla@example.nl", "sanne@example.nl"}
    daily, weekly = got["carla@example.nl"], got["sanne@example.nl"]
    assert daily["Subject"] == "Debtor Desk: 3 item(s) need you today"
    body = daily.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert "  Disputes to resolve: 1\n  Calls due: 1\n  Reminders waiting for approval: 1\n" in body
    assert "  - Call Bakker Bouw B.V.: € 1.210,00 overdue (100 Bakker Bouw B.V.)\n" in body
    assert weekly["Subject"] == "Debtor Desk: vervallen facturen van uw klanten, week 50"  # Sanne reads Dutch
    text = weekly.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert "Vervallen facturen van uw klanten in week 50: 2, samen € 1.710,00." in text
    assert "  - 100 Bakker Bouw B.V.: factuur F-1, € 1.210,00, 20 dagen over de vervaldatum\n" in text
    assert "F-3" not in text  # only Sanne's own customers
    assert "Betwist (1):\n  - 100 Bakker Bouw B.V.: F-2 (€ 500,00)" in text

    with UnitOfWork(ledger) as u:  # the next day's daily is a new one; the week's weekly was sent
        assert [d.status for d in u.session.scalars(select(Digest))] == ["sent", "sent"]
    next_day = cli("today", "digest", "--send", "--today", (TODAY + timedelta(days=1)).isoformat(), env=env)
    assert next_day.stdout.strip() == "digests: 1 sent, 1 sent before, 0 failed"
    assert len(smtp_server.messages) == 3


def test_a_digest_a_broken_off_run_left_with_the_server_is_not_sent_again(ledger, smtp_server):
    with UnitOfWork(ledger) as u:
        digest.subscribe(u, "daily", "carla", "carla@example.nl", "en", actor="carla")
    with UnitOfWork(ledger) as u:  # a run claimed it and died while the server had the message
        u.session.add(Digest(key=f"daily:carla:{TODAY.isoformat()}", kind="daily", recipient_name="carla",
                             recipients="carla@example.nl", language="en", subject="s", body_text="b",
                             status="sending", attempts=1, created_at=datetime(2026, 12, 7, 6, 0)))
        u.commit()
    run = cli("today", "digest", "--send", "--today", TODAY.isoformat(), env=smtp_env(smtp_server.port))
    assert run.stdout.strip().splitlines()[-1] == "digests: 0 sent, 0 sent before, 0 failed, 1 to confirm"
    assert smtp_server.messages == []


def test_a_refused_digest_is_tried_again_by_the_next_run(ledger, smtp_server):
    with UnitOfWork(ledger) as u:
        digest.subscribe(u, "daily", "carla", "carla@example.nl", "nl", actor="carla")
    smtp_server.rcpt_replies["carla@example.nl"] = "451 4.3.0 try again later"
    env = smtp_env(smtp_server.port)
    first = cli("today", "digest", "--send", "--today", TODAY.isoformat(), env=env)
    assert first.returncode == 1 and "451 4.3.0" in first.stdout
    del smtp_server.rcpt_replies["carla@example.nl"]
    second = cli("today", "digest", "--send", "--today", TODAY.isoformat(), env=env)
    assert second.stdout.strip() == "digests: 1 sent, 0 sent before, 0 failed"
    [got] = smtp_server.messages
    assert got.message["Subject"] == "Debtor Desk: 3 punt(en) wachten vandaag op u"


def test_an_opt_in_names_a_real_user_and_a_usable_address(ledger):
    with UnitOfWork(ledger) as u:
        with pytest.raises(ServiceError, match="there is no user 'nobody'"):
            digest.subscribe(u, "daily", "nobody", "x@example.nl", actor="admin")
        with pytest.raises(ServiceError, match="not an e-mail address"):
            digest.subscribe(u, "daily", "carla", "carla at example", actor="admin")
        with pytest.raises(ServiceError, match="account managers: Piet, Sanne de Vries"):
            digest.subscribe(u, "weekly", "Sanne", "sanne@example.nl", actor="admin")
        assert digest.subscriptions(u) == []
