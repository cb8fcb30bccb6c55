"""A debtor's reply in the team mailbox, as a collector meets it in a real browser: fetched with the Today
page's button from a real IMAP server (dovecot), shown on Today and in the dossier, and the debtor's next
reminder waits until the reply is handled."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import create_engine

from tests import reply_samples as samples
from tests.e2e.conftest import login, open_page, start_server, wait_for_app
from tests.integration.imap_server import run_dovecot

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def dovecot():
    yield from run_dovecot()


def a_debtor_we_reminded(server) -> None:
    """Bakkerij Van Dam owes an invoice 15 days overdue; the first reminder went out with the Message-ID
    the sample reply answers, so the second reminder is due today."""
    from db.models import Debtor, ImportBatch, Invoice, Message, MessageInvoice
    from db.uow import UnitOfWork

    today = date.today()
    engine = create_engine(server.env["DATABASE_URL"])
    with UnitOfWork(engine) as u:
        s = u.session
        s.add(ImportBatch(kind="open-items", mode="full", file_name="open.csv", file_hash="e2e", as_of=today,
                          imported_by="test"))
        d = Debtor(code="10999", name="Bakkerij Van Dam B.V.", email="jan@klant.example", language="nl",
                   track_override="standard")
        s.add(d)
        s.flush()
        invoice = Invoice(number="2026-90417", debtor_id=d.id, invoice_date=today - timedelta(days=45),
                          due_date=today - timedelta(days=15), amount_cents=302_500, open_cents=302_500)
        s.add(invoice)
        s.flush()
        sent_on = today - timedelta(days=14)
        m = Message(debtor_id=d.id, track="standard", step_index=1, step_name="reminder",
                    step_key=f"standard/reminder/EUR/{invoice.due_date}", status="sent", planned_date=sent_on,
                    sent_at=datetime.combine(sent_on, datetime.min.time()), recipients="jan@klant.example",
                    subject="Herinnering", body_text="", body_html="", smtp_message_id=f"<{samples.SENT_ID}>",
                    total_cents=302_500)
        s.add(m)
        s.flush()
        s.add(MessageInvoice(message_id=m.id, invoice_id=invoice.id, open_cents=302_500))
        u.commit()
    engine.dispose()


def test_a_reply_fetched_from_the_mailbox_shows_on_today_and_in_the_dossier_and_holds_the_reminder(
        chromium, page, dovecot, tmp_path_factory):
    account = dovecot.new_account()
    imap = {"IMAP_HOST": "127.0.0.1", "IMAP_PORT": str(account.port), "IMAP_SECURITY": "none",
            "IMAP_USER": account.user, "IMAP_PASSWORD": account.password, "IMAP_TIMEOUT": "10"}
    server = start_server(tmp_path_factory.mktemp("mailbox"), imap)
    try:
        server.first_start_password(chromium)
        assert server.cli("demo-remove").returncode == 0
        added = server.cli("users", "add", "carla", "--role", "collector")
        assert added.returncode == 0, added.stderr
        password = added.stdout.strip().rsplit(" ", 1)[-1]
        a_debtor_we_reminded(server)
        account.deliver(samples.reply(body="Beste,\n\nFactuur 2026-90417 hebben wij gisteren betaald.\n"))

        login(page, server, "carla", password)  # Today is a collector's first page
        page.get_by_role("heading", name="Today").first.wait_for()
        page.get_by_text("Nothing needs a person today").wait_for(timeout=60_000)
        page.get_by_text("Team mailbox").click()
        page.get_by_role("button", name="Fetch now").click()
        page.get_by_text("Read 1 new message(s): 1 replies").wait_for(timeout=60_000)
        wait_for_app(page)
        main = page.inner_text("[data-testid='stMain']")
        assert "Replies to read (1)" in main
        assert "Reply from Jan Jansen: Re: Herinnering factuur 2026-014" in main
        assert "hebben wij gisteren betaald" in main
        assert account.folder_uids("INBOX") == []

        reminded = server.cli("remind")  # the daily job: the second reminder is due, but the debtor answered
        assert reminded.returncode == 0, reminded.stderr
        assert server.sql("SELECT step_name FROM message WHERE step_name <> 'reminder'") == []

        page.get_by_role("link", name="Dossier", exact=True).first.click()
        page.wait_for_url("**/dossier?debtor=10999")
        wait_for_app(page)
        page.get_by_text("Reply from Jan Jansen <jan@klant.example>").first.wait_for(timeout=60_000)

        open_page(page, server, "/")
        page.get_by_label("What was done (for the dossier)").fill("betaling gevonden in het bankafschrift")
        page.get_by_role("button", name="Handled").click()
        page.get_by_text("The reply is handled").wait_for(timeout=60_000)
        reminded = server.cli("remind")
        assert reminded.returncode == 0, reminded.stderr
        assert [r[0] for r in server.sql("SELECT step_name FROM message WHERE step_name <> 'reminder'")] == [
            "second_reminder"]
    finally:
        server.stop()
