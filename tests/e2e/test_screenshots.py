"""Every page of the navigation renders in a real browser without an error, as admin on the demo data,
with the reminder queue generated and a busy debtor's dossier open; then a real send to a local SMTP
server and the public sample exports through the import page. With DEBTOR_DESK_SCREENSHOTS set, the
screenshots for the README are written there:

    DEBTOR_DESK_SCREENSHOTS=docs/screenshots python -m pytest tests/e2e/test_screenshots.py
"""

from __future__ import annotations

import os
import re
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from receivables.domain.translation import translate
from tests.conftest import ROOT
from tests.e2e.conftest import choose_message, login, open_page, smtp_env, start_server, wait_for_app
from ui.nav import PAGES, pages_for

pytestmark = pytest.mark.browser
ENGLISH_TITLES = {file: title for file, title, _icon, _role in PAGES}
# pages whose Dutch screenshot a test of their own takes, showing more than the first view
OWN_SCREENSHOT_TEST = ("today", "settings")  # tests/e2e/test_today_screens.py; settings_nl.png shows the Reminders tab
DUTCH_TITLES = {file: translate(title, "nl") for file, title, _icon, _role in PAGES}

BUSY_DEBTOR_SQL = """
SELECT d.code FROM debtor d JOIN note n ON n.debtor_id = d.id
JOIN invoice i ON i.debtor_id = d.id AND i.open_cents > 0
GROUP BY d.code ORDER BY COUNT(DISTINCT n.id) DESC, COUNT(DISTINCT i.id) DESC, d.code LIMIT 1
"""


def screenshots_folder(tmp_path: Path) -> Path:
    target = Path(os.environ.get("DEBTOR_DESK_SCREENSHOTS") or tmp_path)
    if not target.is_absolute():
        target = ROOT / target
    target.mkdir(parents=True, exist_ok=True)
    return target


def preview_of(page, server, message_id: int):
    """The queue's preview of one message: the frame its words are shown in."""
    open_page(page, server, "/queue")
    choose_message(page, message_id)
    page.get_by_text("As the e-mail will look").click()  # the expander under the plain text
    return page.frame_locator("iframe").first


def debtor_past_the_call(server) -> None:
    """A Dutch debtor on the standard track whose invoice of € 3.025,00 is 40 days overdue and whose
    reminder, second reminder and call went unanswered: the demand with costs is next."""
    from db.models import Debtor, Invoice, Message, MessageInvoice
    from db.uow import UnitOfWork
    from receivables.services import reminders

    today = date.today()
    engine = create_engine(server.env["DATABASE_URL"])
    with UnitOfWork(engine) as u:
        s = u.session
        d = Debtor(code="10999", name="Bakkerij Van Dam B.V.", email="crediteuren@vandam.example", language="nl",
                   contact_person="Anouk de Vries", track_override="standard")
        s.add(d)
        s.flush()
        invoice = Invoice(number="2026-90417", debtor_id=d.id, invoice_date=today - timedelta(days=70),
                          due_date=today - timedelta(days=40), amount_cents=302_500, open_cents=302_500)
        s.add(invoice)
        s.flush()
        for index, step, days_ago in ((1, "reminder", 38), (2, "second_reminder", 25), (3, "call", 18)):
            on = today - timedelta(days=days_ago)
            m = Message(debtor_id=d.id, track="standard", step_index=index, step_name=step,
                        step_key=f"standard/{step}/EUR/{on}", channel="call" if step == "call" else "email",
                        status="sent", planned_date=on, sent_at=datetime.combine(on, datetime.min.time()),
                        subject=step, body_text=step, body_html=step, total_cents=302_500, currency="EUR")
            s.add(m)
            s.flush()
            s.add(MessageInvoice(message_id=m.id, invoice_id=invoice.id, open_cents=302_500, active=True))
        u.commit()
    with UnitOfWork(engine) as u:  # the beneficiary's details, as an admin sets them in Settings
        payment = dict(reminders.load_settings(u.session).payment)
        payment.update(iban="NL91ABNA0417164300", bic="ABNANL2A", beneficiary="Groothandel De Ruyter B.V.")
        reminders.save_setting(u, reminders.PAYMENT_KEY, payment, actor="admin")
    engine.dispose()


def test_every_page_renders_without_an_error(server, page, chromium, tmp_path):
    password = server.first_start_password(chromium)
    remind = server.cli("remind")
    assert remind.returncode == 0, remind.stderr
    [(busy,)] = server.sql(BUSY_DEBTOR_SQL)

    target = screenshots_folder(tmp_path)
    page.set_viewport_size({"width": 1440, "height": 1100})
    page.goto(server.url)
    # .first: while a rerun replaces the form (the login cookie component answering), the old one can
    # still be on the page for a moment
    page.get_by_label("User name").first.wait_for()
    wait_for_app(page)
    page.screenshot(path=str(target / "login.png"))
    login(page, server, "admin", password)
    for n, (file, title, _) in enumerate(pages_for("admin")):
        slug = Path(file).stem
        path = "/" if n == 0 else f"/{slug}"
        if slug == "dossier":
            path += f"?debtor={busy}"
        open_page(page, server, path)
        page.wait_for_timeout(1500)  # charts draw after the script finishes
        main = page.inner_text("[data-testid='stMain']")
        errors = page.locator("[data-testid='stException']").all_inner_texts()
        assert not errors, f"{title}: {errors}"
        assert "Page not found" not in page.inner_text("body")
        assert ENGLISH_TITLES[file].split()[0] in main  # the browser asks for English
        if slug == "dossier":
            assert busy in main
        page.screenshot(path=str(target / f"{slug}.png"), full_page=False)

    # the same pages in Dutch, chosen in the sidebar and followed through its links (one session)
    page.locator("[data-testid='stSidebar']").get_by_label("Language").click()
    page.get_by_role("option", name="Nederlands").click()
    page.get_by_text("Ingelogd als").first.wait_for(timeout=60_000)
    wait_for_app(page)
    links = page.locator("[data-testid='stSidebar'] [data-testid='stPageLink-NavLink']")
    for n, (file, _title, _) in enumerate(pages_for("admin")):
        slug = Path(file).stem
        links.nth(n).click()
        page.wait_for_url(re.compile(rf"/{'' if n == 0 else slug}(\?.*)?$"))
        wait_for_app(page)
        if slug == "dossier":
            page.get_by_role("textbox").first.fill(busy)
            page.keyboard.press("Enter")
            wait_for_app(page)
        page.wait_for_timeout(1500)
        errors = page.locator("[data-testid='stException']").all_inner_texts()
        assert not errors, f"{slug} (nl): {errors}"
        main = page.inner_text("[data-testid='stMain']")
        assert DUTCH_TITLES[file].split()[0] in main, (slug, main[:200])
        for english in ("Logged in as", "Search debtor", "Open items", "No messages"):
            assert english not in page.inner_text("body"), f"{slug} (nl) shows {english!r}"
        if slug not in OWN_SCREENSHOT_TEST:
            page.screenshot(path=str(target / f"{slug}_nl.png"), full_page=False)


def test_a_real_send_and_the_public_sample_exports_as_a_user_meets_them(chromium, page, inbox, shared_data,
                                                                         tmp_path_factory, tmp_path):
    server = start_server(tmp_path_factory.mktemp("shots"), smtp_env(inbox))
    try:
        target = screenshots_folder(tmp_path)
        password = server.first_start_password(chromium)
        debtor_past_the_call(server)
        reminded = server.cli("remind")
        assert reminded.returncode == 0 and "review: " in reminded.stdout
        # the review: a person approves the friendly steps, the rest stays proposed for the screenshots
        friendly = [str(r[0]) for r in server.sql(
            "SELECT id FROM message WHERE status = 'proposed' AND channel = 'email' "
            "AND step_name IN ('courtesy', 'reminder', 'second_reminder')")]
        assert friendly and server.cli("queue", "approve", *friendly).returncode == 0
        page.set_viewport_size({"width": 1440, "height": 1100})
        login(page, server, "admin", password)

        # a Dutch demand with statutory interest, BIK costs and the QR code, as the queue previews it
        [(demand,)] = server.sql("SELECT m.id FROM message m JOIN debtor d ON d.id = m.debtor_id "
                                  "WHERE d.code = '10999' AND m.step_name = 'demand'")
        letter = preview_of(page, server, demand)
        letter.get_by_text("Buitengerechtelijke incassokosten").first.wait_for()
        assert "€ 427,50" in letter.locator("body").inner_text()  # BIK on € 3.025,00: 15 % of 2,500 + 10 % of 525
        page.locator("iframe").first.screenshot(path=str(target / "demand-nl.png"))

        # the queue's preview of a Dutch reminder, with its invoices and the QR code to pay it
        [(dutch,)] = server.sql("SELECT m.id FROM message m JOIN debtor d ON d.id = m.debtor_id WHERE "
                                 "d.language = 'nl' AND m.step_name = 'reminder' ORDER BY m.total_cents DESC LIMIT 1")
        preview = preview_of(page, server, dutch)
        preview.get_by_text("Betaalgegevens").first.wait_for()
        assert preview.locator("img[src^='data:image/png;base64,']").count() == 1  # the EPC QR code
        page.get_by_text("Subject:").first.scroll_into_view_if_needed()
        page.screenshot(path=str(target / "queue-preview.png"))

        # the approved messages that are due go out to a real SMTP server, each once
        due = server.sql(f"SELECT COUNT(*) FROM message WHERE status = 'approved' AND channel = 'email' "
                          f"AND planned_date <= '{date.today().isoformat()}'")[0][0]
        assert due > 0
        open_page(page, server, "/sender")
        page.get_by_role("button", name=re.compile(r"^Send \d+ now")).click()
        page.get_by_text("Last run").wait_for(timeout=120_000)
        wait_for_app(page)
        assert len(inbox.messages) == due
        assert len({m["Message-ID"] for m in inbox.messages}) == due
        assert f"sent {due}, failed 0" in page.inner_text("[data-testid='stMain']")
        page.get_by_text("Last run").scroll_into_view_if_needed()
        page.screenshot(path=str(target / "sender-sent.png"))

        # the team's own data: the IBM ledger through the import page, then its trends
        assert server.cli("demo-remove").returncode == 0
        open_page(page, server, "/import")
        page.locator("input[type='file']").set_input_files(str(shared_data / "ar" / "WA_Fn-UseC_-Accounts-Receivable.csv"))
        page.get_by_role("button", name="Check the file").wait_for()
        wait_for_app(page)
        page.screenshot(path=str(target / "import-mapping.png"), full_page=True)
        page.get_by_role("button", name="Check the file").click()
        page.get_by_text("No problems").wait_for(timeout=60_000)
        page.get_by_role("button", name="Import", exact=True).click()
        page.get_by_text("as batch").first.wait_for(timeout=120_000)
        wait_for_app(page)
        assert "new 2,466, changed 0, closed 0, unchanged 0, skipped 0" in page.inner_text("[data-testid='stMain']")
        page.screenshot(path=str(target / "import-result.png"))
        open_page(page, server, "/trends?as_of=2013-11-30")
        page.wait_for_timeout(1500)  # charts draw after the script finishes
        assert not page.locator("[data-testid='stException']").count()
        assert "DSO" in page.inner_text("[data-testid='stMain']")
        page.screenshot(path=str(target / "trends-ibm.png"))
    finally:
        server.stop()
