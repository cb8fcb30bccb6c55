"""Logins that end when they must, user changes that no open login page undoes, My account, and a login
page in the browser's language; driven through Streamlit's AppTest."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests import user_store as users
from tests.app.login import log_in
from tests.conftest import ROOT

DESK = str(ROOT / "desk.py")
PASSWORD = "Invoice-Harbour-92-Kite"


@pytest.fixture
def carla(engine):
    from receivables.services import startup

    startup.bootstrap(engine, load_demo_on_first_start=False)
    users.add_user("carla", "collector", name="Carla de Boer", password=PASSWORD)
    return engine


def app(page: str = DESK) -> AppTest:
    return AppTest.from_file(page, default_timeout=60)


def shows_the_login_form(at) -> bool:
    return [t.label for t in at.text_input][:2] == ["User name", "Password"]


def on_today(at) -> bool:
    return "Today" in [t.value for t in at.title]


def log_in_with_the_form(at, username, password):
    at.text_input[0].input(username)
    at.text_input[1].input(password)
    return at.button[0].click().run()


def test_a_password_reset_on_the_command_line_survives_a_failed_login_in_a_login_page_open_before(carla):
    at = app()
    at.session_state["_language"] = "en"
    at.run()  # the login page is open
    res = subprocess.run([sys.executable, "-m", "receivables", "users", "reset-password", "carla", "--password-stdin"],
                         cwd=ROOT, capture_output=True, text=True, input="Tulip-Ledger-74-Nevo\n", timeout=120)
    assert res.returncode == 0, res.stderr
    at = log_in_with_the_form(at, "carla", "not-the-password")
    assert not at.exception and any("incorrect" in e.value for e in at.error)
    at = log_in_with_the_form(at, "carla", PASSWORD)  # the old one
    assert at.session_state["authentication_status"] is not True
    assert users.check_password("carla", "Tulip-Ledger-74-Nevo") and not users.check_password("carla", PASSWORD)
    at = log_in_with_the_form(at, "carla", "Tulip-Ledger-74-Nevo")
    assert not at.exception and at.session_state["authentication_status"] is True
    assert next(u for u in users.list_users() if u.username == "carla").last_login is not None
    assert not Path(os.environ["DEBTOR_DESK_USERS"]).exists()  # the authenticator wrote no users file


@pytest.mark.parametrize("change", [
    lambda: users.reset_password("carla"),
    lambda: users.set_role("carla", "viewer"),
    lambda: users.set_disabled("carla", True),
    lambda: users.remove_user("carla"),
    lambda: users.end_sessions("carla"),  # what the Log out button does (tests/e2e/test_logins.py clicks it)
], ids=["reset-password", "demotion", "disabled", "removed", "logged-out-elsewhere"])
def test_a_change_to_the_user_sends_their_open_page_to_the_login_at_its_next_run(carla, change):
    at = log_in(app(), "carla", "collector").run()
    assert not at.exception and on_today(at) and not shows_the_login_form(at)
    change()
    at.run()
    assert not at.exception and shows_the_login_form(at)
    assert not on_today(at) and at.session_state["authentication_status"] is not True


def test_a_disabled_user_cannot_log_in_and_can_again_once_enabled(carla):
    users.set_disabled("carla", True)
    at = app()
    at.session_state["_language"] = "en"
    at = log_in_with_the_form(at.run(), "carla", PASSWORD)
    assert at.session_state["authentication_status"] is not True and any("incorrect" in e.value for e in at.error)
    users.set_disabled("carla", False)
    at = log_in_with_the_form(at, "carla", PASSWORD)
    assert not at.exception and at.session_state["authentication_status"] is True


def test_an_admin_disables_a_user_in_settings_and_sees_each_users_last_login(carla):
    at = app()
    at.session_state["_language"] = "en"
    at = log_in_with_the_form(at.run(), "carla", PASSWORD)  # a real login: noted as carla's last login
    admin = log_in(app(str(ROOT / "pages/settings.py")), "admin", "admin").run()
    assert not admin.exception
    table = admin.dataframe[0].value
    last = dict(zip(table["username"], table["Last login"], strict=True))
    assert last["admin"] == "never" and last["carla"] != "never"
    form = [s for s in admin.selectbox if s.key == "disable_who"][0]
    form.select("carla")
    next(b for b in admin.button if b.label == "Disable").click()
    admin.run()
    assert not admin.exception and any("carla is disabled" in s.value for s in admin.success)
    assert next(u for u in users.list_users() if u.username == "carla").disabled
    at.run()
    assert shows_the_login_form(at)


def test_my_account_changes_the_password_keeping_this_login_and_ending_the_others(carla):
    page = str(ROOT / "pages/account.py")
    here = log_in(app(page), "carla", "collector").run()
    there = log_in(app(DESK), "carla", "collector").run()
    assert not here.exception and [t.value for t in here.title] == ["My account"]
    fields = {t.label: t for t in here.text_input}
    fields["Current password"].input("not-my-password")
    fields["New password"].input("Tulip-Ledger-74-Nevo")
    fields["New password again"].input("Tulip-Ledger-74-Nevo")
    next(b for b in here.button if b.label == "Change password").click()
    here.run()
    assert any("current password is not right" in e.value for e in here.error)
    assert users.check_password("carla", PASSWORD)
    fields = {t.label: t for t in here.text_input}
    fields["Current password"].input(PASSWORD)
    fields["New password"].input("Tulip-Ledger-74-Nevo")
    fields["New password again"].input("Tulip-Ledger-74-Nevo")
    next(b for b in here.button if b.label == "Change password").click()
    here.run()
    assert not here.exception and any("Your password is changed" in s.value for s in here.success)
    assert users.check_password("carla", "Tulip-Ledger-74-Nevo")
    here.run()
    assert [t.value for t in here.title] == ["My account"]  # still logged in here
    there.run()
    assert shows_the_login_form(there)


def test_my_account_changes_the_e_mail_address_only_to_a_usable_one(carla):
    at = log_in(app(str(ROOT / "pages/account.py")), "carla", "collector").run()
    email = next(t for t in at.text_input if t.label == "E-mail address")
    email.input("carla@bakker")
    next(b for b in at.button if b.label == "Save e-mail address").click()
    at.run()
    assert any("not a usable e-mail address" in e.value for e in at.error)
    next(t for t in at.text_input if t.label == "E-mail address").input("carla@bakker.example.com")
    next(b for b in at.button if b.label == "Save e-mail address").click()
    at.run()
    assert not at.exception and any("carla@bakker" in s.value for s in at.success)
    assert next(u for u in users.list_users() if u.username == "carla").email == "carla@bakker.example.com"


@pytest.mark.parametrize("locale, labels, button", [
    ("nl-NL", ["Gebruikersnaam", "Wachtwoord"], "Inloggen"),
    ("en-GB", ["User name", "Password"], "Log in"),
])
def test_the_login_page_speaks_the_browsers_language(carla, locale, labels, button):
    at = app()
    at.context = {"locale": locale}
    at.run()
    assert not at.exception
    assert [t.label for t in at.text_input] == labels and at.button[0].label == button


def test_after_logging_in_the_screens_are_in_the_users_own_language(carla):
    users.set_language("carla", "en")
    at = app()
    at.context = {"locale": "nl-NL"}
    at = log_in_with_the_form(at.run(), "carla", PASSWORD)
    assert not at.exception and at.session_state["_language"] == "en"
    assert "Today" in [t.value for t in at.title]
