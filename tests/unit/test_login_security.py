"""Slowing down password guessing, the password policy and the login-cookie key."""

from __future__ import annotations

import re
import subprocess

import pytest
import yaml

from db import user_file as users
from receivables.services import login_throttle
from receivables.services.login_throttle import LoginRefused, LoginThrottle
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


def test_a_weak_password_is_refused_and_changes_nothing(tmp_path):
    path = tmp_path / "users.yaml"
    users.ensure_file(path)
    with pytest.raises(users.UserError, match="most common"):
        users.add_user("carla", "viewer", password="password1234", path=path)
    assert [u.username for u in users.list_users(path)] == ["admin"]
    before = path.read_text()
    with pytest.raises(users.UserError, match="at least 12"):
        users.reset_password("admin", password="admin", path=path)
    assert path.read_text() == before
    users.reset_password("admin", password="Ledger-Tulip-47-Oven", path=path)
    assert users.check_password("admin", "Ledger-Tulip-47-Oven", path)


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


def test_each_installation_gets_a_random_cookie_key_and_a_placeholder_refuses_to_start(tmp_path):
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    users.ensure_file(a)
    users.ensure_file(b)
    keys = [yaml.safe_load(p.read_text())["cookie"]["key"] for p in (a, b)]
    assert keys[0] != keys[1] and all(users.cookie_key_problem(k) is None for k in keys)
    example = (ROOT / ".streamlit" / "users.example.yaml").read_text()
    copied = tmp_path / "copied.yaml"
    copied.write_text(example)  # someone copies the example as it is
    with pytest.raises(users.UserError, match="cannot be used: it is a placeholder.*Delete the line"):
        users.ensure_file(copied)
    with pytest.raises(users.UserError):
        users.cookie_settings(copied)


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
