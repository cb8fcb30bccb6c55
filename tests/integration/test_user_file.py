"""The user file under concurrent writers: the command line and the settings page change it from
different processes (and Streamlit sessions from different threads)."""

from __future__ import annotations

import multiprocessing
import os
import stat
from pathlib import Path

import bcrypt
import pytest

from db import user_file as users

PER_WRITER = 20


def _add_users(path: str, prefix: str, start) -> None:
    """One writer: add PER_WRITER users once both writers are ready (a cheap hash keeps the test about
    the file, not about bcrypt's cost)."""
    users._hash = lambda password: bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()
    start.wait()
    for n in range(PER_WRITER):
        users.add_user(f"{prefix}{n:02d}", "viewer", password="Ledger-Tulip-47-Oven", path=Path(path))


def test_two_processes_adding_users_at_the_same_time_lose_none(tmp_path):
    path = tmp_path / "users.yaml"
    users.ensure_file(path)
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(2)
    writers = [ctx.Process(target=_add_users, args=(str(path), prefix, start)) for prefix in ("cli", "page")]
    for w in writers:
        w.start()
    for w in writers:
        w.join(120)
    assert [w.exitcode for w in writers] == [0, 0]
    names = {u.username for u in users.list_users(path)}
    assert {f"{p}{n:02d}" for p in ("cli", "page") for n in range(PER_WRITER)} <= names
    assert "admin" in names and len(names) == 2 * PER_WRITER + 1


def test_a_change_replaces_the_file_whole_and_keeps_it_private(tmp_path):
    path = tmp_path / "users.yaml"
    users.ensure_file(path)
    before = os.stat(path).st_ino
    users.add_user("carla", "viewer", password="Ledger-Tulip-47-Oven", path=path)
    assert os.stat(path).st_ino != before  # a new file moved into place, never one written in place
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("users")) == ["users.yaml",
                                                                                        "users.yaml.lock"]


def test_a_refused_change_writes_nothing(tmp_path):
    path = tmp_path / "users.yaml"
    users.ensure_file(path)
    text, inode = path.read_text(), os.stat(path).st_ino
    with pytest.raises(users.UserError, match="last admin"):
        users.set_role("admin", "viewer", path=path)
    with pytest.raises(users.UserError, match="already exists"):
        users.add_user("admin", "viewer", path=path)
    assert path.read_text() == text and os.stat(path).st_ino == inode
