"""The remembered login in a real browser: the cookie logs a new browser in, and after Log out (or a
password reset on the command line) the same saved cookie no longer does."""

from __future__ import annotations

import subprocess
import sys

from receivables.services.users import COOKIE_NAME
from tests.conftest import ROOT
from tests.e2e.conftest import login, wait_for_app

PASSWORD = "Invoice-Harbour-92-Kite"


def _logs_in_with(chromium, server, cookies) -> bool:
    """A new browser holding only the saved cookie: does it open the app logged in?"""
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    context.add_cookies(cookies)
    pg = context.new_page()
    pg.goto(server.url + "/")
    pg.get_by_text("Logged in as").or_(pg.get_by_label("User name")).first.wait_for(timeout=60_000)
    wait_for_app(pg)
    logged_in = pg.get_by_text("Logged in as").count() > 0
    context.close()
    return logged_in


def test_after_log_out_and_after_a_reset_the_saved_cookie_no_longer_logs_in(server, page, chromium):
    server.first_start_password(chromium)
    res = subprocess.run([sys.executable, "-m", "receivables", "users", "add", "carla", "--role", "viewer",
                          "--password-stdin"], cwd=ROOT, env=server.env, input=PASSWORD + "\n",
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    login(page, server, "carla", PASSWORD)
    cookie = [c for c in page.context.cookies() if c["name"] == COOKIE_NAME]
    assert cookie and cookie[0]["sameSite"] == "Strict" and not cookie[0]["secure"]  # plain HTTP here
    assert _logs_in_with(chromium, server, cookie)  # the remembered login works in another browser
    page.get_by_role("button", name="Log out").click()
    page.get_by_label("User name").first.wait_for(timeout=60_000)
    assert not _logs_in_with(chromium, server, cookie)  # the cookie saved before Log out no longer does

    login(page, server, "carla", PASSWORD)
    cookie = [c for c in page.context.cookies() if c["name"] == COOKIE_NAME]
    assert _logs_in_with(chromium, server, cookie)
    assert server.cli("users", "reset-password", "carla").returncode == 0
    assert not _logs_in_with(chromium, server, cookie)
