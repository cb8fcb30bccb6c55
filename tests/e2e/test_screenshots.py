"""Every page of the navigation renders in a real browser without an error, as admin on the demo data,
with the reminder queue generated and a busy debtor's dossier open. With DEBTOR_DESK_SCREENSHOTS set,
the screenshots for the README are written there:

    DEBTOR_DESK_SCREENSHOTS=docs/screenshots python -m pytest tests/e2e/test_screenshots.py
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import ROOT
from tests.e2e.conftest import login, open_page, wait_for_app
from ui.nav import pages_for

pytestmark = pytest.mark.browser

BUSY_DEBTOR_SQL = """
SELECT d.code FROM debtor d JOIN note n ON n.debtor_id = d.id
JOIN invoice i ON i.debtor_id = d.id AND i.open_cents > 0
GROUP BY d.code ORDER BY COUNT(DISTINCT n.id) DESC, COUNT(DISTINCT i.id) DESC, d.code LIMIT 1
"""


def test_every_page_renders_without_an_error(server, page, chromium, tmp_path):
    first = chromium.new_page()
    first.goto(server.url)
    password = server.admin_password()
    first.close()
    remind = server.cli("remind")
    assert remind.returncode == 0, remind.stderr
    engine = create_engine(server.env["DATABASE_URL"])
    with engine.connect() as conn:
        busy = conn.execute(text(BUSY_DEBTOR_SQL)).scalar_one()
    engine.dispose()

    target = Path(os.environ.get("DEBTOR_DESK_SCREENSHOTS") or tmp_path)
    if not target.is_absolute():
        target = ROOT / target
    target.mkdir(parents=True, exist_ok=True)
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
        assert title.split()[0] in main
        if slug == "dossier":
            assert busy in main
        page.screenshot(path=str(target / f"{slug}.png"), full_page=False)
