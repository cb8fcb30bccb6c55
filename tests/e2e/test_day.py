"""The finance team's day in a real browser against a running server: log in, import an export, work a
debtor's dossier, work the reminder queue, send, and what a viewer may not do."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import create_engine

from tests.e2e.conftest import (
    choose_message,
    login,
    open_page,
    select_first_row,
    smtp_env,
    start_server,
    wait_for_app,
)

pytestmark = pytest.mark.browser


def nav_links(page) -> set[str]:
    """Titles of the pages in the sidebar navigation (each link's text ends with its title). The menu is
    drawn again after a login's rerun, so it is read once it is there (an empty menu proves nothing)."""
    links = page.locator("[data-testid='stSidebar'] a")
    links.first.wait_for(timeout=30_000)
    texts = links.all_inner_texts()
    return {t.strip().splitlines()[-1] for t in texts if t.strip()}


def exact_rows(today: date) -> list[tuple]:
    """An Exact Online open-items export's rows, dated from `today` when the file is written (not when
    this module is read: a run that crosses midnight between the two would import a day-old ledger)."""
    def d(days_ago: int) -> str:
        return (today - timedelta(days=days_ago)).strftime("%d-%m-%Y")

    return [  # code, name, number, invoice date, due date, amount text, cents
        ("0042", "Bakkerij Van Dam B.V.", "00012345", d(20), d(-10), "1.234,56", 123456),
        ("0042", "Bakkerij Van Dam B.V.", "00012346", d(55), d(25), "2.500,00", 250000),
        ("0042", "Bakkerij Van Dam B.V.", "00012347", d(100), d(70), "799,99", 79999),
        ("0043", "Smit Installatietechniek B.V.", "00012348", d(160), d(130), "10.000,01", 1000001),
        ("0044", "Harbour Foods Ltd", "00012349", d(50), d(20), "350,50", 35050),
        ("0045", "De Vries Transport B.V.", "00012350", d(40), d(10), "4.321,00", 432100),
    ]


def exact_csv(rows: list[tuple]) -> str:
    """The export as Exact writes it: semicolon, decimal comma, dd-mm-yyyy, leading zeros."""
    return "AccountCode;AccountName;InvoiceNumber;InvoiceDate;DueDate;Amount;CurrencyCode;Description\r\n" + "".join(
        f"{c};{n};{num};{i};{due};{a};EUR;Levering\r\n" for c, n, num, i, due, a, _ in rows)


DEBTORS_CSV = ("Relatiecode;Naam;E-mail;Taal\n0042;Bakkerij Van Dam B.V.;crediteuren@vandam.example;nl\n"
               "0043;Smit Installatietechniek B.V.;administratie@smit.example;nl\n"
               "0044;Harbour Foods Ltd;accounts@harbour.example;en\n"
               "0045;De Vries Transport B.V.;facturen@devries.example;nl\n")


@pytest.fixture(scope="module")
def server(tmp_path_factory, chromium, inbox):
    srv = start_server(tmp_path_factory.mktemp("day"), smtp_env(inbox))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def accounts(server, chromium):
    out = {"admin": server.first_start_password(chromium)}
    for name, role in (("carla", "collector"), ("vera", "viewer")):
        res = server.cli("users", "add", name, "--role", role)
        assert res.returncode == 0, res.stderr
        out[name] = res.stdout.strip().rsplit(" ", 1)[-1]
    return out


@pytest.mark.parametrize("path", ["/", "/ageing", "/settings", "/dossier", "/queue", "/sender", "/import", "/trends"])
def test_1_a_visitor_opening_any_page_sees_only_the_login_form(server, page, path):
    page.goto(server.url + path)
    page.get_by_label("User name").first.wait_for()
    wait_for_app(page)
    body = page.inner_text("body")
    assert "Log in" in body
    assert "Total open" not in body and "Logged in as" not in body
    assert page.locator("[data-testid='stDataFrame']").count() == 0


def test_1_the_printed_admin_password_logs_in_and_shows_the_demo_ageing(server, page, accounts):
    login(page, server, "admin", accounts["admin"], "/ageing")  # the first page is Today; this one, by its link
    page.locator("[data-testid='stMetric']").first.wait_for()
    assert "Total open" in page.inner_text("[data-testid='stMain']")
    assert {"Ageing", "Settings"} <= nav_links(page)
    body = page.inner_text("body")
    assert "demo data" in body and "€" in body


def test_2_a_collector_uploads_an_exact_export_and_the_ageing_matches_the_file(server, page, accounts, tmp_path):
    assert server.cli("demo-remove").returncode == 0  # start from the team's own data only
    export = tmp_path / "Openstaande posten Exact.csv"
    today = date.today()
    ROWS = exact_rows(today)
    export.write_bytes(exact_csv(ROWS).encode("cp1252"))
    login(page, server, "carla", accounts["carla"])
    open_page(page, server, "/import")
    page.locator("input[type='file']").set_input_files(str(export))
    page.get_by_role("button", name="Check the file").click()
    page.get_by_text("No problems").wait_for(timeout=60_000)
    page.get_by_role("button", name="Import", exact=True).click()
    page.get_by_text("as batch").first.wait_for(timeout=60_000)
    assert "new 6, changed 0, closed 0" in page.inner_text("[data-testid='stMain']")

    open_page(page, server, "/ageing")
    page.locator("[data-testid='stMetric']").first.wait_for()
    main = page.inner_text("[data-testid='stMain']")
    total = sum(r[-1] for r in ROWS)
    overdue = sum(r[-1] for r in ROWS if r[4] != (today + timedelta(days=10)).strftime("%d-%m-%Y"))
    assert total == 19_206_06 and overdue == 17_971_50
    assert "€19,206.06" in main and "€17,971.50" in main  # the English the browser asks for
    rows = server.sql("SELECT number FROM invoice ORDER BY number")
    assert [r[0] for r in rows] == [r[2] for r in ROWS]  # leading zeros kept


def test_3_a_collector_adds_a_note_and_a_promise_and_sees_them_on_the_timeline(server, page, accounts, tmp_path):
    debtors = tmp_path / "debiteuren.csv"
    debtors.write_text(DEBTORS_CSV, encoding="utf-8")
    res = server.cli("import", str(debtors), "--kind", "debtors")
    assert res.returncode == 0, res.stderr
    login(page, server, "carla", accounts["carla"])
    open_page(page, server, "/ageing")  # the ageing overview: find the debtor, select its row, open the dossier
    page.get_by_role("textbox", name="Search debtor").fill("0043")
    page.keyboard.press("Enter")
    wait_for_app(page)
    select_first_row(page, page.locator("[data-testid='stDataFrame']").first)
    page.get_by_text("Open items of Smit Installatietechniek B.V. (0043)").wait_for(timeout=60_000)
    page.get_by_role("link", name="Open the dossier").click()
    page.wait_for_url("**/dossier?debtor=0043")
    page.get_by_text("Logged in as").first.wait_for(timeout=60_000)
    wait_for_app(page)
    page.get_by_role("heading", name="Smit Installatietechniek B.V.").first.wait_for()
    page.get_by_role("textbox", name="Note").first.fill("Spoke to finance: invoice approved for payment run.")
    page.get_by_role("button", name="Add note").click()
    page.get_by_text("invoice approved for payment run").first.wait_for(timeout=60_000)
    page.get_by_role("tab", name="Promise to pay").click()
    page.get_by_role("button", name="Record promise").click()
    page.get_by_text("Promise recorded").first.wait_for(timeout=60_000)  # shown after the rerun that saved it
    wait_for_app(page)
    # on a loaded machine the timeline below the message can still be redrawing: wait for it
    page.get_by_text("Promise to pay €10,000.01 by").first.wait_for(timeout=60_000)
    timeline = page.inner_text("[data-testid='stMain']")
    assert "invoice approved for payment run" in timeline
    assert "Promise to pay €10,000.01 by" in timeline  # all its overdue invoices, by default
    kinds = [r[0] for r in server.sql("SELECT kind FROM note WHERE debtor_id = (SELECT id FROM debtor "
                                        "WHERE code = '0043') ORDER BY id")]
    assert kinds == ["note", "promise"]


def test_4_the_queue_is_generated_and_approve_postpone_block_persist_after_a_reload(server, page, accounts):
    # the admin's choice in Settings: every e-mail step waits for a person's approval
    from db.uow import UnitOfWork
    from receivables.domain import tracks
    from receivables.services import reminders
    from receivables.services.settings import get_setting

    engine = create_engine(server.env["DATABASE_URL"])
    with UnitOfWork(engine) as uow:
        data = get_setting(uow.session, reminders.TRACKS_KEY) or tracks.tracks_to_data(tracks.default_tracks())
    for track in data["tracks"] if isinstance(data, dict) else data:
        for step in track["steps"]:
            step["needs_approval"] = True
    with UnitOfWork(engine) as uow:
        reminders.save_setting(uow, reminders.TRACKS_KEY, data, actor="admin")
    engine.dispose()

    login(page, server, "carla", accounts["carla"])
    open_page(page, server, "/queue")
    page.get_by_role("button", name="Propose due reminders").click()
    page.get_by_text("Messages").first.wait_for()
    wait_for_app(page)
    ids = [r[0] for r in server.sql("SELECT id FROM message WHERE status = 'proposed' AND channel = 'email' "
                                     "ORDER BY id")]
    assert len(ids) >= 3, ids

    def act(message_id: int, button: str):
        choose_message(page, message_id)
        page.get_by_role("button", name=button).click()
        wait_for_app(page)

    act(ids[0], "Approve this message")
    act(ids[1], "Postpone this message")  # opens the date chooser; a week ahead is offered
    page.get_by_test_id("stPopoverBody").get_by_role("button", name="Postpone", exact=True).click()
    wait_for_app(page)
    act(ids[2], "Block this message")
    page.reload()
    page.get_by_text("Logged in as").first.wait_for(timeout=60_000)
    wait_for_app(page)
    status = dict(server.sql("SELECT id, status FROM message WHERE id IN (:a, :b, :c)", a=ids[0], b=ids[1], c=ids[2]))
    assert [status[i] for i in ids[:3]] == ["approved", "postponed", "blocked"]
    for message_id, status in zip(ids[:2], ["approved", "postponed"]):  # what the page shows after the reload
        choose_message(page, message_id)
        assert f"Status: {status}" in page.inner_text("[data-testid='stMain']")
    # a blocked message leaves the queue's default view (proposed, approved, postponed)
    page.get_by_label("Preview", exact=True).click()
    page.keyboard.type(f"#{ids[0]} ·")
    page.get_by_role("option", name=f"#{ids[0]} ").first.wait_for()  # the filtered list answers
    page.keyboard.press("Control+A")
    # the whole label of the blocked message: the filter matches loosely, so a short text such as "#4 ·"
    # also finds another label that happens to hold those characters in that order
    [(code, name)] = server.sql("SELECT d.code, d.name FROM message m JOIN debtor d "
                                "ON d.id = m.debtor_id WHERE m.id = :i", i=ids[2])
    page.keyboard.type(f"#{ids[2]} · {code} {name}")
    page.wait_for_timeout(500)
    assert page.get_by_role("option", name=f"#{ids[0]} ").count() == 0  # the list follows the typing
    assert page.get_by_role("option", name=f"#{ids[2]} ").count() == 0
    page.keyboard.press("Escape")


def test_5_the_admin_sends_the_approved_message_and_exactly_one_mail_arrives(server, page, accounts, inbox):
    approved = server.sql("SELECT m.id, m.subject, d.code, m.step_name, m.track FROM message m "
                          "JOIN debtor d ON d.id = m.debtor_id WHERE m.status = 'approved' AND m.channel = 'email'")
    assert len(approved) == 1
    message_id, subject, code, step, track = approved[0]
    login(page, server, "admin", accounts["admin"])
    open_page(page, server, "/sender")
    page.get_by_role("button", name="Send 1 now").click()
    page.get_by_text("Last run").wait_for(timeout=60_000)
    assert len(inbox.messages) == 1
    mail = inbox.messages[0]
    assert mail["Subject"] == subject and mail["Reply-To"] == "debiteuren@seller.example"
    assert server.sql("SELECT status FROM message WHERE id = :i", i=message_id)[0][0] == "sent"
    open_page(page, server, f"/dossier?debtor={code}")
    page.get_by_text("Timeline").first.wait_for()
    main = page.inner_text("[data-testid='stMain']").replace("\u200b", "")  # links are broken up on purpose
    assert f"Sent reminder '{step}' ({track}): {subject}" in main  # an old invoice may have caught up
    page.reload()  # a second visit sends nothing again
    page.get_by_text("Logged in as").first.wait_for(timeout=60_000)
    assert len(inbox.messages) == 1


def test_6_a_viewer_sees_no_sender_settings_or_import_and_no_queue_actions(server, page, accounts):
    login(page, server, "vera", accounts["vera"])
    assert not {"Settings", "Sender", "Import"} & nav_links(page)
    assert "Reminder queue" in nav_links(page)
    open_page(page, server, "/queue")
    main = page.inner_text("[data-testid='stMain']")
    assert "Reminder queue" in main
    for control in ("Propose due reminders", "Apply row changes", "Approve this message"):
        assert page.get_by_role("button", name=control).count() == 0
    for path, admin_only in (("/settings", "Audit log"), ("/sender", "Send a test message"),
                             ("/import", "Check the file")):  # opened by URL, not from the menu
        open_page(page, server, path)
        body = page.inner_text("body")
        # a page outside the viewer's navigation is not served: the default page is, or a refusal
        assert admin_only not in body, (path, body[:500])
        assert page.get_by_role("button").filter(has_text="Send").count() == 0
