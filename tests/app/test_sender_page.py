"""The Sender page through Streamlit's AppTest: a small ledger with approved messages, a real SMTP server."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from db.models import AuditEvent, Message
from db.uow import UnitOfWork
from tests.app.login import log_in
from tests.conftest import ROOT
from tests.integration import test_send_support as support
from tests.integration.test_send_support import seed, smtp_env

smtp_server = support.smtp_server  # the fixture


@pytest.fixture
def uow(engine):
    return lambda **kw: UnitOfWork(engine, **kw)


def page(role="admin", language="en", name="sender.py") -> AppTest:
    import streamlit as st

    from ui import state

    state.engine.clear()  # the page must use this test's database
    st.cache_data.clear()
    at = AppTest.from_file(str(ROOT / "pages" / name), default_timeout=60)
    log_in(at, "carla", role, language=language)
    return at.run()


def texts(at: AppTest) -> str:
    return "\n".join(str(e.value) for kind in ("warning", "error", "success", "info", "caption", "markdown")
                     for e in getattr(at, kind))


def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label.startswith(label))


def status_of(uow, message_id) -> str:
    with uow() as u:
        return u.session.scalar(select(Message.status).where(Message.id == message_id))


def test_without_a_server_the_page_says_so_and_writes_the_outbox(uow):
    ids = seed(uow, 2)
    at = page()
    assert not at.exception
    assert "No SMTP server is configured" in texts(at)
    assert "**2** will be sent" in texts(at)
    at = button(at, "Write 2 as .eml files").click().run()
    assert not at.exception
    assert "sent 0, exported 2 (not sent until marked sent), failed 0, cancelled 0" in texts(at)
    assert len(list(Path(os.environ["DEBTOR_DESK_OUTBOX"]).glob("*.eml"))) == 2
    assert {status_of(uow, i) for i in ids} == {"exported"}
    with uow() as u:
        assert u.session.scalars(select(AuditEvent.actor).where(AuditEvent.action == "send.batch")).all() == ["carla"]


def test_exported_messages_are_listed_until_a_person_marks_them_sent(uow):
    ids = seed(uow, 2)
    at = button(page(), "Write 2 as .eml files").click().run()
    assert "Exported, not sent" in [s.value for s in at.subheader]
    [listed] = [d.value for d in at.dataframe if "exported" in d.value.columns]
    assert sorted(listed["id"]) == ids and all(f.endswith(".eml") for f in listed["file"])
    at = at.multiselect(key="mark_sent_ids").set_value([ids[0]]).run()
    at = button(at, "Mark as sent").click().run()
    assert not at.exception
    assert [status_of(uow, i) for i in ids] == ["sent", "exported"]
    with uow() as u:
        assert u.session.execute(select(AuditEvent.actor, AuditEvent.entity_id)
                                 .where(AuditEvent.action == "send.mark_sent")).all() == [("carla", str(ids[0]))]


def test_sending_from_the_page_reaches_the_server_and_shows_each_result(uow, smtp_server, monkeypatch):
    for k, v in smtp_env(smtp_server.port).items():
        monkeypatch.setenv(k, v)
    ids = seed(uow, 3)
    smtp_server.rcpt_replies["debtor3@example.nl"] = "550 5.1.1 unknown user"
    at = page()
    assert not at.exception
    assert "Sending through **127.0.0.1" in texts(at)
    at = button(at, "Send 3 now").click().run()
    assert not at.exception
    assert "sent 2, failed 1, cancelled 0" in texts(at)
    [last_run] = [d.value for d in at.dataframe if "result" in d.value.columns]
    assert sorted(last_run["result"]) == ["FAILED", "sent", "sent"]
    assert "550 5.1.1 unknown user" in " ".join(last_run["details"])
    assert sorted(smtp_server.ids()) == ids[:2]


def test_the_dry_run_preview_shows_the_headers_and_sends_nothing(uow, smtp_server, monkeypatch):
    for k, v in smtp_env(smtp_server.port).items():
        monkeypatch.setenv(k, v)
    seed(uow, 1)
    at = page()
    assert not at.exception
    headers = [d.value for d in at.dataframe if "header" in d.value.columns][0]
    got = dict(zip(headers["header"], headers["value"]))
    assert got["To"] == "debtor1@example.nl" and got["Reply-To"] == "debiteuren@example.nl"
    assert got["Subject"] == "Herinnering openstaande factuur D001"
    assert smtp_server.messages == []


def test_the_test_message_goes_to_the_address_given(uow, smtp_server, monkeypatch):
    for k, v in smtp_env(smtp_server.port).items():
        monkeypatch.setenv(k, v)
    seed(uow, 1)
    at = page()
    at.text_input[0].set_value("carla@example.nl")
    at = button(at, "Send test message").click().run()
    assert not at.exception
    assert "Check the inbox of carla@example.nl" in texts(at)
    assert smtp_server.messages[0].rcpt_tos == ["carla@example.nl"]


def test_a_stuck_message_is_shown_and_a_person_confirms_it(uow, smtp_server, monkeypatch):
    for k, v in smtp_env(smtp_server.port).items():
        monkeypatch.setenv(k, v)
    [mid] = seed(uow, 1)
    smtp_server.drop_after_data = [True]
    at = page()
    at = button(at, "Send 1 now").click().run()
    assert not at.exception
    assert "Waiting for your confirmation" in [s.value for s in at.subheader]
    at = button(at, "It was sent").click().run()
    assert not at.exception
    assert status_of(uow, mid) == "sent"
    assert "Waiting for your confirmation" not in [s.value for s in at.subheader]


def test_stale_open_items_block_sending_with_the_reason(uow):
    from datetime import date, timedelta

    seed(uow, 1, as_of=date.today() - timedelta(days=40))
    at = page()
    assert not at.exception
    assert "Nothing can be sent" in texts(at) and "stale" in texts(at)
    assert button(at, "Write 1").disabled


def test_a_collector_cannot_open_the_sender(uow):
    seed(uow, 1)
    at = page(role="collector")
    assert not at.exception
    assert any("needs the admin role" in e.value for e in at.error) and not at.button


def test_a_message_a_dead_sender_left_on_the_wire_waits_with_what_is_known(uow):
    from datetime import datetime, timedelta

    from receivables.services import send_journal, sending

    [mid] = seed(uow, 1)
    smtp_id = f"<debtordesk.{mid}.0f0f@example.nl>"
    with uow() as u:  # as the dead run had claimed it
        u.session.execute(Message.__table__.update().where(Message.id == mid).values(
            status="sending", smtp_message_id=smtp_id))
        u.commit()
        journal = send_journal.Journal(send_journal.journal_dir(), sending._journal_key(u))
    at = datetime(2026, 12, 4, 9, 30, 0)
    journal.claimed([(mid, smtp_id, None)], at)
    journal.step(mid, send_journal.BEGIN, at + timedelta(seconds=1))
    journal.step(mid, send_journal.DATA, at + timedelta(seconds=2))
    journal.close(remove=False)  # the process died: the kernel dropped its lock
    at = page()
    assert not at.exception
    [stuck] = [d.value for d in at.dataframe if "what happened" in d.value.columns]
    known = stuck["what happened"].iloc[0]
    assert "conversation begun 09:30:01 UTC" in known and "(DATA) 09:30:02 UTC" in known
    assert "no reply received" in known and smtp_id in known
    assert status_of(uow, mid) == "sending"


def test_a_message_whose_debtor_has_no_address_is_not_offered_until_it_has_one(uow, smtp_server, monkeypatch):
    from db.models import Debtor

    for k, v in smtp_env(smtp_server.port).items():
        monkeypatch.setenv(k, v)
    ids = seed(uow, 3)
    with uow() as u:
        u.session.execute(Debtor.__table__.update().where(Debtor.code == "D002").values(email=None))
        u.commit()
    at = page()
    assert not at.exception
    assert "**2** will be sent, **1** needs address: not sent" in texts(at)
    assert "1 approved message waits for its debtor's reminder address" in texts(at)
    at = button(at, "Send 2 now").click().run()
    assert not at.exception
    assert "sent 2, failed 0, cancelled 0" in texts(at)
    assert sorted(smtp_server.ids()) == [ids[0], ids[2]] and status_of(uow, ids[1]) == "approved"
    with uow() as u:  # the address arrives: the same approved message goes, to that address
        u.session.execute(Debtor.__table__.update().where(Debtor.code == "D002").values(email="nieuw@klant2.nl"))
        u.commit()
    at = button(page(), "Send 1 now").click().run()
    assert not at.exception and status_of(uow, ids[1]) == "sent"
    assert smtp_server.messages[-1].rcpt_tos == ["nieuw@klant2.nl"]
    with uow() as u:
        assert u.session.get(Message, ids[1]).recipients == "nieuw@klant2.nl"  # recorded as it went


def test_the_amount_to_send_is_one_figure_per_currency(uow):
    from db.models import Invoice

    seed(uow, 3)
    with uow() as u:
        u.session.execute(Message.__table__.update().where(Message.id == 2).values(currency="USD"))
        u.session.execute(Invoice.__table__.update().where(Invoice.number.like("2026-002-%")).values(currency="USD"))
        u.commit()
    at = page()
    assert not at.exception
    assert "To send: **€401.00** · **US$200.50**" in texts(at)  # in the English the test reads


def test_what_went_wrong_reads_in_dutch_with_the_servers_own_words_on_the_sender_and_today(uow, smtp_server,
                                                                                                monkeypatch):
    for k, v in smtp_env(smtp_server.port).items():
        monkeypatch.setenv(k, v)
    ids = seed(uow, 2)
    smtp_server.rcpt_replies["debtor1@example.nl"] = "550 5.1.1 unknown user"
    smtp_server.data_replies = ["451 4.3.0 mailbox busy"] * 5  # the second message: busy, each of its tries
    at = page(language="nl")
    at = button(at, "2 nu verzenden").click().run()
    assert not at.exception
    [last_run] = [d.value for d in at.dataframe if "resultaat" in d.value.columns]
    details = " ".join(last_run["details"])
    assert "de server weigerde debtor1@example.nl (550 5.1.1 unknown user)" in details  # the server's words verbatim
    assert "opgegeven na 3 pogingen: de server weigerde het bericht: 451 4.3.0 mailbox busy" in details
    assert "refused" not in details and "gave up" not in details
    with uow() as u:
        assert u.session.get(Message, ids[1]).last_error.startswith('{"phrase":')  # kept as a phrase

    today = page("collector", "nl", "today.py")
    assert not today.exception
    shown = " ".join(c.value for c in [*today.markdown, *today.text, *today.caption]).replace("\\", "")
    assert "opgegeven na 3 pogingen: de server weigerde het bericht: 451 4.3.0 mailbox busy" in shown
    assert "gave up" not in shown


def test_why_a_message_will_not_go_reads_in_dutch_in_the_plan_and_the_preview(uow, smtp_server, monkeypatch):
    from db.models import Debtor, Invoice

    for k, v in smtp_env(smtp_server.port).items():
        monkeypatch.setenv(k, v)
    seed(uow, 2)
    with uow() as u:
        blocked = u.session.scalars(select(Debtor).where(Debtor.code == "D001")).one()
        blocked.reminders_blocked, blocked.blocked_reason = True, "curator benoemd"
        u.session.scalars(select(Invoice).where(Invoice.number == "2026-002-0")).one().open_cents = 0
        u.commit()
    at = page(language="nl")
    assert not at.exception
    plan = " ".join(next(d.value for d in at.dataframe if "wat er gebeurt" in d.value.columns)["wat er gebeurt"])
    assert "herinneringen aan D001 zijn geblokkeerd: curator benoemd" in plan
    assert "niets meer te vorderen: 2026-002-0 betaald" in plan
    assert "nothing left" not in plan and "are blocked" not in plan
