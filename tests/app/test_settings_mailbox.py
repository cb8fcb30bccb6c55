"""Settings: an admin tries the team mailbox's IMAP settings against a real IMAP server (dovecot) and is
told in words which step works and which does not."""

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.login import log_in
from tests.conftest import ROOT
from tests.integration.imap_server import run_dovecot


@pytest.fixture(scope="module")
def dovecot():
    yield from run_dovecot()


def use(monkeypatch, values: dict) -> None:
    for name in ("host", "port", "security", "user", "password", "folder", "processed_folder", "timeout"):
        monkeypatch.delenv(f"IMAP_{name.upper()}", raising=False)
    for name, value in values.items():
        monkeypatch.setenv(f"IMAP_{name.upper()}", str(value))


def tested(language="en") -> AppTest:
    at = log_in(AppTest.from_file(str(ROOT / "pages" / "settings.py"), default_timeout=60), "admin", "admin",
                language=language).run()
    assert not at.exception
    [b for b in at.button if b.key == "mailbox_test"][0].click().run()
    assert not at.exception
    return at


def said(at) -> list[str]:
    return [m.value.replace("\\", "") for m in at.markdown if "material/" in m.value]


def test_working_settings_are_confirmed_step_by_step(engine, dovecot, monkeypatch):
    account = dovecot.new_account()
    use(monkeypatch, account.settings())
    at = tested()
    assert [s.split("] ", 1)[1] for s in said(at)] == [
        "The settings are complete (none).", f"The server 127.0.0.1:{account.port} is reachable.",
        f"User {account.user} is logged in.", "The folder INBOX exists."]
    assert at.success[-1].value == "The team mailbox works."


def test_a_wrong_password_is_named_as_the_step_that_fails_in_dutch(engine, dovecot, monkeypatch):
    account = dovecot.new_account()
    use(monkeypatch, account.settings(password="niet-goed"))
    at = tested("nl")
    steps = said(at)
    assert ":green[" in steps[1] and ":red[" in steps[2]
    assert f"De server weigert gebruiker {account.user}" in steps[2]
    assert steps[3].startswith(":gray[")  # the folder was not reached
    assert at.error[-1].value.startswith("De teammailbox kan nog niet gelezen worden")


def test_a_missing_folder_and_an_unreachable_server_are_told_apart(engine, dovecot, monkeypatch):
    account = dovecot.new_account()
    use(monkeypatch, account.settings(folder="Debiteuren"))
    assert "The folder Debiteuren does not exist: check the folder setting." in said(tested())[3]
    use(monkeypatch, account.settings(port=1))
    assert "The server 127.0.0.1:1 cannot be reached." in said(tested())[1]


def test_incomplete_settings_say_what_to_set(engine, monkeypatch):
    use(monkeypatch, {"host": "imap.example"})
    (step,) = said(tested())
    assert "IMAP settings incomplete: set user (IMAP_USER), password (IMAP_PASSWORD)" in step
