"""Slowing down password guessing, the password policy and the login-cookie key."""

from __future__ import annotations

import re
import subprocess

import pytest

from db import user_file as users
from receivables.services import login_throttle
from receivables.services.errors import ServiceError
from receivables.services.login_throttle import LoginRefused, LoginThrottle
from tests import user_store
from tests.conftest import ROOT


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("failures, seconds", [(1, 0), (3, 0), (4, 2), (5, 4), (6, 8), (10, 128), (30, 900)])
def test_each_failure_after_the_free_ones_doubles_the_wait(failures, seconds):
    assert login_throttle.delay_after(failures) == seconds


def attempt(throttle, user, client, right, audited):
    return login_throttle.guard(throttle, user, client, lambda: right,
                                lambda action, details: audited.append((action, details)))


def test_a_user_name_guessed_at_is_locked_for_a_growing_time_even_for_the_right_password():
    clock, audited = Clock(), []
    t = LoginThrottle(clock)
    for _ in range(4):
        assert attempt(t, "carla", "10.0.0.9", False, audited) is False
    assert audited[-1] == ("login.failed", {"user": "carla", "client": "10.0.0.9", "failures_in_a_row": 4,
                                            "locked_seconds": 2})
    with pytest.raises(LoginRefused, match="too many failed logins for the user name carla; try again in 2 seconds"):
        attempt(t, "carla", "10.0.0.7", True, audited)  # another computer: the user name itself is locked
    assert audited[-1][0] == "login.throttled"
    clock.now += 2.1
    assert attempt(t, "carla", "10.0.0.9", False, audited) is False  # the 5th: now 4 seconds
    clock.now += 3
    with pytest.raises(LoginRefused):
        attempt(t, "carla", "10.0.0.9", True, audited)
    clock.now += 1.1
    assert attempt(t, "carla", "10.0.0.9", True, audited) is True
    assert attempt(t, "carla", "10.0.0.9", False, audited) is False  # a success starts the count again
    assert audited[-1][1]["failures_in_a_row"] == 1 and audited[-1][1]["locked_seconds"] == 0


def test_one_computer_trying_many_user_names_is_locked_too():
    clock, audited = Clock(), []
    t = LoginThrottle(clock)
    for name in ("anna", "bert", "carla", "dirk"):
        assert attempt(t, name, "203.0.113.5", False, audited) is False
    with pytest.raises(LoginRefused, match="for this computer"):
        attempt(t, "erik", "203.0.113.5", True, audited)
    assert attempt(t, "erik", "198.51.100.1", True, audited) is True  # anyone else logs in as usual


@pytest.mark.parametrize("username, password, problem", [
    ("carla", "kort", "at least 12 characters (this one has 4)"),
    ("carla", "elevenchars", "at least 12 characters"),
    ("carla", "carla", "at least 12 characters"),
    ("carlavandijk", "carlavandijk", "not be the user name"),
    ("carla", "Carla2026!!!", "not be the user name"),
    ("carla", "password1234", "most common passwords"),
    ("carla", "Wachtwoord123", "most common passwords"),
    ("carla", "welkom2026!!", "most common passwords"),
    ("carla", "qwertyuiop123", "most common passwords"),
    ("carla", "zzzzzzzzzzzzzz", "most common passwords"),
    ("carla", "correct horse battery staple", None),
    ("carla", "Ledger-Tulip-47-Oven", None),
])
def test_a_chosen_password_meets_the_policy(username, password, problem):
    got = users.password_problem(username, password)
    assert (got is None) if problem is None else (problem in got)


def test_a_generated_password_meets_the_policy():
    assert all(users.password_problem("carla", users.new_password()) is None for _ in range(200))


def _stored(username):
    from sqlalchemy import select

    from db.engine import make_engine
    from db.models import UserAccount
    from db.uow import UnitOfWork

    engine = make_engine()
    with UnitOfWork(engine) as u:
        row = u.session.scalars(select(UserAccount).where(UserAccount.username == username)).one()
        stored = (row.password_hash, row.session_key)
    engine.dispose()
    return stored


def test_a_weak_password_is_refused_and_changes_nothing(engine):
    user_store.ensure_users()
    with pytest.raises(ServiceError, match="most common"):
        user_store.add_user("carla", "viewer", password="password1234")
    assert [u.username for u in user_store.list_users()] == ["admin"]
    before = _stored("admin")
    with pytest.raises(ServiceError, match="at least 12"):
        user_store.reset_password("admin", password="admin")
    assert _stored("admin") == before
    user_store.reset_password("admin", password="Ledger-Tulip-47-Oven")
    assert user_store.check_password("admin", "Ledger-Tulip-47-Oven")


@pytest.mark.parametrize("key, problem", [
    ("", "fewer than 32"),
    ("0123456789abcdef", "fewer than 32"),
    ("replace-with-a-long-random-string", "placeholder"),
    ("change-me-change-me-change-me-change-me", "placeholder"),
    ("0" * 64, "repeats a few characters"),
    ("abababababababababababababababababab", "repeats"),
])
def test_a_login_cookie_key_anyone_could_know_is_refused(key, problem):
    assert problem in users.cookie_key_problem(key)


def test_each_installation_gets_a_random_cookie_key_and_a_placeholder_refuses_to_start(tmp_path, monkeypatch):
    from db.engine import make_engine, upgrade

    keys = []
    for name in ("a", "b"):
        monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / name}.db")
        upgrade(make_engine())
        user_store.ensure_users()
        keys.append(user_store.login_cookie().key)
    assert keys[0] != keys[1] and all(users.cookie_key_problem(k) is None for k in keys)
    example = (ROOT / ".streamlit" / "users.example.yaml").read_text()
    copied = tmp_path / "copied.yaml"
    copied.write_text(example)  # someone copies the example as it is
    monkeypatch.setenv("DEBTOR_DESK_USERS", str(copied))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'c'}.db")
    upgrade(make_engine())
    with pytest.raises(ServiceError, match="cannot be used: it is a placeholder.*Delete the line"):
        user_store.ensure_users()


EXAMPLE_LINE = 'cookie_key = "replace-with-64-random-hex-digits"'


@pytest.mark.parametrize("secrets_text, problem", [
    (f"[login]\n{EXAMPLE_LINE}\n", "it is a placeholder"),  # the example's line, uncommented as it is
    ('[login]\ncookie_key = "9f86d081884c7d659a2feaa0"\n', "it has 24 characters, fewer than 32"),
])
def test_a_cookie_key_set_in_the_secrets_that_anyone_could_know_refuses_to_start_saying_what_to_set(
        tmp_path, monkeypatch, secrets_text, problem):
    from db.engine import make_engine, upgrade

    assert f"# {EXAMPLE_LINE}" in (ROOT / ".streamlit" / "secrets.example.toml").read_text()
    (tmp_path / "secrets.toml").write_text(secrets_text)
    monkeypatch.setenv("DEBTOR_DESK_SECRETS", str(tmp_path / "secrets.toml"))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'a'}.db")
    upgrade(make_engine())
    with pytest.raises(ServiceError, match=f"login cookie key in \\[login\\] cookie_key .*{problem}.*Set a random key "
                                           "of at least 32 characters"):
        user_store.ensure_users()
    (tmp_path / "secrets.toml").write_text("")
    monkeypatch.setenv("DEBTOR_DESK_COOKIE_KEY", "too-short-0123456789")
    with pytest.raises(ServiceError, match="DEBTOR_DESK_COOKIE_KEY cannot be used: it has 20 characters"):
        user_store.login_cookie()
    monkeypatch.setenv("DEBTOR_DESK_COOKIE_KEY", "3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    assert user_store.login_cookie().key.startswith("3b0c4429")


def test_the_repository_holds_no_usable_cookie_key_and_ignores_the_files_that_do():
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    assignment = re.compile(r"""^\s*(?:cookie_?)?key\s*[:=]\s*["']?([^"'\s#]+)""", re.IGNORECASE | re.MULTILINE)
    found = []
    for name in tracked:
        if not name.endswith((".yaml", ".yml", ".toml", ".env", ".ini", ".cfg", ".json")):
            continue
        for value in assignment.findall((ROOT / name).read_text(encoding="utf-8", errors="replace")):
            found.append((name, value))
            assert users.cookie_key_problem(value) is not None, f"{name} holds a usable key"
    assert ("/.streamlit/users.example.yaml".lstrip("/"), "replace-with-a-long-random-string") in found
    ignored = subprocess.run(["git", "check-ignore", "data/users.yaml", ".streamlit/secrets.toml",
                              ".streamlit/users.yaml"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    assert ignored == ["data/users.yaml", ".streamlit/secrets.toml", ".streamlit/users.yaml"]
