"""The debtor's portal in a real browser: a reminder sent to a local SMTP server carries a personal link; the
debtor opens it in chromium (the portal is its own server, `streamlit run portal.py`), disputes an invoice
and proposes a payment plan for the other, and a collector sees both in the dossier of the staff app while
the next reminder leaves the disputed invoice out. Screenshots of the portal in Dutch and English, desktop and phone width, go to DEBTOR_DESK_SCREENSHOTS
when set:

    DEBTOR_DESK_SCREENSHOTS=docs/screenshots python -m pytest -n 0 tests/e2e/test_portal.py
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import create_engine

from tests.e2e.conftest import _free_port, login, open_page, smtp_env, start_server, wait_for_app
from tests.e2e.test_screenshots import screenshots_folder

pytestmark = pytest.mark.browser
KEY = "e2e-KEY-for-the-portal-q8w7e6r5t4y3u2i1o0-zxcvbnm"


def two_debtors_overdue(server) -> None:
    """A Dutch bakery and an English trader, each with two invoices overdue on the standard track, the
    company's bank details set, and an export imported today."""
    from db.models import Debtor, ImportBatch, Invoice
    from db.uow import UnitOfWork
    from receivables.services import reminder_settings

    today = date.today()
    engine = create_engine(server.env["DATABASE_URL"])
    with UnitOfWork(engine) as u:
        s = u.session
        s.add(ImportBatch(kind="open-items", mode="full", file_name="open.csv", file_hash="h", as_of=today,
                          imported_by="test"))
        for code, name, email, language, numbers in [
                ("10999", "Bakkerij Van Dam B.V.", "crediteuren@vandam.example", "nl", ("2026-90417", "2026-90502")),
                ("20500", "Northwind Traders Ltd", "accounts@northwind.example", "en", ("2026-90611", "2026-90644"))]:
            d = Debtor(code=code, name=name, email=email, language=language, contact_person="Anouk de Vries",
                       track_override="standard")
            s.add(d)
            s.flush()
            for n, (number, days) in enumerate(zip(numbers, (12, 9))):
                amount = (302_500, 48_400)[n]
                s.add(Invoice(number=number, debtor_id=d.id, invoice_date=today - timedelta(days=days + 30),
                              due_date=today - timedelta(days=days), amount_cents=amount, open_cents=amount))
        reminder_settings.save_setting(u, reminder_settings.PAYMENT_KEY, {
            "iban": "NL91ABNA0417164300", "bic": "ABNANL2A", "beneficiary": "Groothandel De Ruyter B.V.",
            "link_pattern": ""}, actor="admin")
    engine.dispose()


def portal_link(mail, base: str) -> str:
    text = mail.get_body(("plain",)).get_content()
    found = re.search(re.escape(base) + r"/\?t=[A-Za-z0-9_.-]+", text)
    assert found, text
    return found.group(0)


def shoot(pg, folder, name: str) -> None:
    """The whole page: the window made as tall as the page (Streamlit scrolls inside its own container)."""
    wait_for_app(pg)
    pg.locator("[data-testid='stImage'] img").first.wait_for()
    pg.wait_for_timeout(1500)
    width = pg.viewport_size["width"]
    height = pg.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    pg.set_viewport_size({"width": width, "height": min(int(height) + 40, 5000)})
    pg.wait_for_timeout(1000)
    pg.screenshot(path=str(folder / name))


def test_a_debtor_disputes_and_proposes_a_plan_from_a_reminders_link_and_the_collector_sees_both(chromium, inbox, tmp_path,
                                                                                 tmp_path_factory):
    folder = screenshots_folder(tmp_path)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**smtp_env(inbox), "PORTAL_URL": base, "PORTAL_SECRET_KEY": KEY}
    work = tmp_path_factory.mktemp("portal")
    staff = start_server(work, env)
    debtor_portal = None
    try:
        staff.first_start_password(chromium)
        assert staff.cli("demo-remove").returncode == 0
        added = staff.cli("users", "add", "carla", "--role", "collector")
        assert added.returncode == 0, added.stderr
        password = added.stdout.strip().rsplit(" ", 1)[-1]
        two_debtors_overdue(staff)
        for step in (("remind",), ("queue", "approve", "--all"), ("send",)):
            done = staff.cli(*step)
            assert done.returncode == 0, done.stderr
        mails = {m["To"]: m for m in inbox.messages}
        dutch, english = (portal_link(mails[a], base) for a in ("crediteuren@vandam.example",
                                                               "accounts@northwind.example"))
        debtor_portal = start_server(work, env, script="portal.py", port=port)
        probe = chromium.new_page()
        for path in ("/settings", "/dossier", "/queue"):  # a fresh portal server shows no staff page
            probe.goto(base + path)
            wait_for_app(probe)
            probe.wait_for_timeout(1500)
            assert "User name" not in probe.inner_text("body") and "Password" not in probe.inner_text("body")
        probe.close()

        desktop = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
        pg = desktop.new_page()
        pg.set_default_timeout(60_000)
        pg.goto(english)
        pg.get_by_role("heading", name="Your open invoices").wait_for()
        shoot(pg, folder, "portal_en.png")
        main = pg.inner_text("[data-testid='stMain']")
        assert "Northwind Traders Ltd" in main and "NL91 ABNA 0417 1643 00" in main

        pg.goto(dutch)  # the bakery reads Dutch, whatever the browser asks for
        pg.get_by_role("heading", name="Uw openstaande facturen").wait_for()
        shoot(pg, folder, "portal_nl.png")
        pg.get_by_role("tab", name="Factuur betwisten").click()
        pg.locator("[data-testid='stMultiSelect']").first.click()
        pg.get_by_role("option", name="2026-90502").click()
        pg.keyboard.press("Escape")
        pg.get_by_label("Licht in een paar woorden toe").fill("Deze levering is <b>nooit</b> aangekomen")
        pg.get_by_role("button", name="Betwisting versturen").click()
        pg.get_by_text("Dank u wel. Wij zoeken het uit").wait_for()
        wait_for_app(pg)
        pg.get_by_role("tab", name="Betalingsregeling").click()
        pg.locator("[data-testid='stMultiSelect']:visible").first.click()
        pg.get_by_role("option", name="2026-90417").click()
        pg.keyboard.press("Escape")
        pg.get_by_role("button", name="Betalingsregeling voorstellen").click()
        pg.get_by_text("Dank u wel. Wij bekijken uw voorstel").wait_for()
        wait_for_app(pg)
        desktop.close()

        phone = chromium.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                     is_mobile=True, has_touch=True, locale="nl-NL")
        pp = phone.new_page()
        pp.set_default_timeout(60_000)
        pp.goto(dutch)
        pp.get_by_role("heading", name="Uw openstaande facturen").wait_for()
        shoot(pp, folder, "portal_phone_nl.png")
        phone.close()

        staff_context = chromium.new_context(viewport={"width": 1400, "height": 1000}, locale="en-GB")
        sp = staff_context.new_page()
        sp.set_default_timeout(60_000)
        login(sp, staff, "carla", password)
        open_page(sp, staff, "/dossier?debtor=10999")
        sp.get_by_text("Dispute opened on invoice 2026-90502").first.wait_for()
        # the debtor's words as they typed them, shown as text (not as bold); waited for, since the
        # timeline's entries appear one after the other
        sp.get_by_text("Deze levering is <b>nooit</b> aangekomen").first.wait_for()
        sp.get_by_role("button", name="Accept the plan").first.wait_for()  # the plan proposed in the portal
        staff_context.close()

        later = (date.today() + timedelta(days=14)).isoformat()
        assert staff.cli("import-history").returncode == 0
        staff.sql("SELECT 1")
        engine = create_engine(staff.env["DATABASE_URL"])
        with engine.begin() as conn:  # the export of that day, so that the data is fresh
            conn.exec_driver_sql("INSERT INTO import_batch (kind, mode, file_name, file_hash, as_of, imported_by, "
                                 "imported_at, status, count_new, count_changed, count_closed, count_unchanged, "
                                 f"count_skipped) VALUES ('open-items', 'full', 'o.csv', 'h2', '{later}', 'test', "
                                 f"'{later} 08:00:00', 'applied', 0, 0, 0, 0, 0)")
        engine.dispose()
        reminded = staff.cli("remind", "--date", later)
        assert reminded.returncode == 0, reminded.stderr
        chased = staff.sql("SELECT m.step_name, i.number FROM message m JOIN message_invoice mi ON mi.message_id = m.id "
                           "JOIN invoice i ON i.id = mi.invoice_id JOIN debtor d ON d.id = m.debtor_id "
                           "WHERE d.code = '10999' AND m.status IN ('proposed', 'approved') AND mi.active")
        assert chased and all(number != "2026-90502" for _, number in chased)
        assert "2026-90417" in {number for _, number in chased}
    finally:
        if debtor_portal is not None:
            debtor_portal.stop()
        staff.stop()
