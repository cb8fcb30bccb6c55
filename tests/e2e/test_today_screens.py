"""Today on the demo data in a real browser, in Dutch and in English, at 1,400 px: it renders without an
error, the navigation counts its items, and the demo's reply, auto-reply and bounce are where a collector
looks. With DEBTOR_DESK_SCREENSHOTS set, the screenshots for the README are written there:

    DEBTOR_DESK_SCREENSHOTS=docs/screenshots python -m pytest tests/e2e/test_today_screens.py
"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import login, open_page, wait_for_app
from tests.e2e.test_screenshots import screenshots_folder

pytestmark = pytest.mark.browser

WORDS = {"en": ("Today", "Replies to read", "Without a usable address"),
         "nl": ("Vandaag", "Te lezen antwoorden", "Zonder bruikbaar adres")}


@pytest.mark.parametrize("language", ["nl", "en"])
def test_today_on_the_demo_data_in_both_languages(server, chromium, language, tmp_path):
    password = server.first_start_password(chromium)
    remind = server.cli("remind")
    assert remind.returncode == 0, remind.stderr
    # the language a user chose in the sidebar stays with them: start each run from the browser's
    assert server.cli("users", "set-language", "admin", "none").returncode == 0
    context = chromium.new_context(viewport={"width": 1400, "height": 1000}, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        login(page, server, "admin", password)
        open_page(page, server, "/")
        if language == "nl":  # as a user chooses it in the sidebar
            page.locator("[data-testid='stSidebar'] [data-testid='stSelectbox']").last.click()
            page.get_by_role("option", name="Nederlands").click()
            page.get_by_text("Ingelogd als").first.wait_for(timeout=60_000)
            wait_for_app(page)
        page.locator("[data-testid='stMetricValue']").first.wait_for()
        page.wait_for_timeout(1500)  # a late rerun (the login cookie) draws the page again
        wait_for_app(page)
        assert not page.locator("[data-testid='stException']").all_inner_texts()
        title, replies, address = WORDS[language]
        main = page.inner_text("[data-testid='stMain']")
        assert title in main and replies in main and address in main
        if language == "nl":  # the bounced address's line: the server's words, what is open, in Dutch
            assert "550 5.1.1" in main and "openstaand €" in main and "open €" not in main
        link = page.locator("[data-testid='stSidebar'] [data-testid='stPageLink']").first.inner_text()
        assert title in link and link.split()[-1].isdigit()  # the count beside Today
        name = "today.png" if language == "en" else "today_nl.png"
        page.screenshot(path=str(screenshots_folder(tmp_path) / name))
        page.get_by_text(address).last.scroll_into_view_if_needed()
        page.screenshot(path=str(screenshots_folder(tmp_path) / name.replace("today", "today_address")))
    finally:
        context.close()
