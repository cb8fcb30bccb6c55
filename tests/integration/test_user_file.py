"""The user file under concurrent writers: the command line and the settings page change it from
different processes (and Streamlit sessions from different threads)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

from db import user_file as users
from tests.conftest import ROOT

PER_WRITER = 20

# One writer: a process of its own (as the command line is), with a cheap hash so that the test is about
# the file and not about bcrypt's cost; it says "ready" and starts adding its users on "go".
WRITER = """
import sys
from pathlib import Path

import bcrypt

from db import user_file as users

users._hash = lambda password: bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()
path, prefix, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
print("ready", flush=True)
sys.stdin.readline()
for n in range(count):
    users.add_user(f"{prefix}{n:02d}", "viewer", password="Ledger-Tulip-47-Oven", path=path)
"""


def test_two_processes_adding_users_at_the_same_time_lose_none(tmp_path):
    path = tmp_path / "users.yaml"
    users.ensure_file(path)
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), prefix, str(PER_WRITER)], cwd=ROOT,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for prefix in ("cli", "page")]
    assert [w.stdout.readline().strip() for w in writers] == ["ready", "ready"]
    for w in writers:
        w.stdin.write("go\n")
        w.stdin.flush()
    results = [w.communicate(timeout=120) for w in writers]
    assert [w.returncode for w in writers] == [0, 0], [err for _, err in results]
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
