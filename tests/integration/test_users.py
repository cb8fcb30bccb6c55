"""The users in the database: the command line, Settings and the login change them at the same time from
different processes, a users file of earlier versions is imported once, and each change that must end a
user's logins does so."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest
from sqlalchemy import select

from db.engine import make_engine
from db.models import AuditEvent
from db.uow import UnitOfWork
from receivables.services import users
from receivables.services.errors import ServiceError
from tests import user_store
from tests.conftest import ROOT

PER_WRITER = 20

# One writer: a process of its own (as the command line is), with a cheap hash so that the test is about
# the store and not about bcrypt's cost; it says "ready" and starts adding its users on "go".
WRITER = """
import sys

import bcrypt

from db import user_file
from tests import user_store

user_file.hash_password = lambda password: bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()
prefix, count = sys.argv[1], int(sys.argv[2])
print("ready", flush=True)
sys.stdin.readline()
for n in range(count):
    user_store.add_user(f"{prefix}{n:02d}", "viewer", password="Ledger-Tulip-47-Oven")
"""


def test_two_processes_adding_users_at_the_same_time_lose_none(engine):
    user_store.ensure_users()
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, prefix, str(PER_WRITER)], cwd=ROOT,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for prefix in ("cli", "page")]
    assert [w.stdout.readline().strip() for w in writers] == ["ready", "ready"]
    for w in writers:
        w.stdin.write("go\n")
        w.stdin.flush()
    results = [w.communicate(timeout=180) for w in writers]
    assert [w.returncode for w in writers] == [0, 0], [err for _, err in results]
    names = {u.username for u in user_store.list_users()}
    assert {f"{p}{n:02d}" for p in ("cli", "page") for n in range(PER_WRITER)} <= names
    assert "admin" in names and len(names) == 2 * PER_WRITER + 1


def test_a_refused_change_changes_nothing(engine):
    user_store.ensure_users()
    before = user_store.list_users()
    with pytest.raises(ServiceError, match="last admin"):
        user_store.set_role("admin", "viewer")
    with pytest.raises(ServiceError, match="last admin"):
        user_store.set_disabled("admin", True)
    with pytest.raises(ServiceError, match="already exists"):
        user_store.add_user("admin", "viewer")
    with pytest.raises(ServiceError, match="not a usable e-mail address"):
        user_store.add_user("carla", "viewer", email="carla at example")
    with pytest.raises(ServiceError, match="no user 'nobody'"):
        user_store.reset_password("nobody")
    assert user_store.list_users() == before


OLD_FILE = """cookie:
  name: debtor_desk_auth
  key: 5f3c1b2a9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a291807f6e5d4c3b2a1908f
  expiry_days: 7
credentials:
  usernames:
    admin:
      name: Administrator
      email: admin@example.com
      password: {admin}
      roles: [admin]
    Carla:
      name: Carla de Boer
      email: carla@example.com
      password: {carla}
      roles: [collector]
      failed_login_attempts: 2
"""


def test_the_users_file_of_earlier_versions_is_imported_once_and_then_no_longer_read(engine, tmp_path, monkeypatch):
    from db import user_file

    path = tmp_path / "users.yaml"
    path.write_text(OLD_FILE.format(admin=user_file.hash_password("Ledger-Tulip-47-Oven"),
                                    carla=user_file.hash_password("Invoice-Harbour-92-Kite")))
    monkeypatch.setenv("DEBTOR_DESK_USERS", str(path))
    assert user_store.ensure_users() is None  # no new admin password: the file's admin is kept
    imported = {u.username: u for u in user_store.list_users()}
    assert set(imported) == {"admin", "carla"}
    assert imported["carla"].role == "collector" and imported["carla"].name == "Carla de Boer"
    assert user_store.check_password("carla", "Invoice-Harbour-92-Kite")
    assert user_store.login_cookie().key.startswith("5f3c1b2a")
    user_store.reset_password("carla", password="Tulip-Ledger-74-Nevo")
    path.write_text(path.read_text().replace("Carla de Boer", "Someone Else"))
    assert user_store.ensure_users() is None
    assert user_store.check_password("carla", "Tulip-Ledger-74-Nevo")
    assert {u.name for u in user_store.list_users()} == {"Administrator", "Carla de Boer"}
    with UnitOfWork(engine) as u:
        assert u.session.scalars(select(AuditEvent.action).where(AuditEvent.action == "user.import")).all() == [
            "user.import"]


def test_the_sqlite_file_is_created_readable_by_its_owner_only(tmp_path):
    path = tmp_path / "data" / "receivables.db"
    engine = make_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x)")
        conn.commit()
        for p in (path, path.with_name("receivables.db-wal")):
            assert stat.S_IMODE(os.stat(p).st_mode) == 0o600
    engine.dispose()
    older = tmp_path / "older.db"
    older.touch(mode=0o644)
    os.chmod(older, 0o644)
    make_engine(f"sqlite:///{older}").dispose()
    assert stat.S_IMODE(os.stat(older).st_mode) == 0o600


def _key(engine, username):
    with UnitOfWork(engine) as u:
        found = users.login_user(u, username)
        return None if found is None else found.session_key


@pytest.mark.parametrize("change", ["logout", "reset-password", "set-role", "disable", "remove", "own password"])
def test_each_change_that_must_end_a_users_logins_makes_their_remembered_login_useless(engine, change):
    user_store.ensure_users()
    user_store.add_user("carla", "collector", password="Invoice-Harbour-92-Kite")
    old = _key(engine, "carla")
    with UnitOfWork(engine) as u:
        assert users.remembered_login(u, "carla", old) is not None
    with UnitOfWork(engine, immediate=True) as u:
        {"logout": lambda: users.end_sessions(u, "carla", actor="carla"),
         "reset-password": lambda: users.reset_password(u, "carla", actor="admin"),
         "set-role": lambda: users.set_role(u, "carla", "viewer", actor="admin"),
         "disable": lambda: users.set_disabled(u, "carla", True, actor="admin"),
         "remove": lambda: users.remove_user(u, "carla", actor="admin"),
         "own password": lambda: users.change_password(u, "carla", "Invoice-Harbour-92-Kite", "Tulip-Ledger-74-Nevo"),
         }[change]()
    with UnitOfWork(engine) as u:
        assert users.remembered_login(u, "carla", old) is None
        assert users.remembered_login(u, "carla", None) is None
        credentials, _keys = users.login_credentials(u)
    assert ("carla" in credentials["usernames"]) == (change not in ("disable", "remove"))


def run_cli(*args, stdin: str | None = None):
    return subprocess.run([sys.executable, "-m", "receivables", "users", *args], cwd=ROOT, capture_output=True,
                          text=True, input=stdin, timeout=120)


def test_the_command_line_disables_enables_removes_and_changes_e_mail_language_and_own_password(engine):
    user_store.ensure_users()
    user_store.add_user("carla", "collector", password="Invoice-Harbour-92-Kite")
    assert run_cli("disable", "carla").returncode == 0
    assert user_store.list_users()[1].disabled
    assert run_cli("enable", "carla").returncode == 0
    res = run_cli("set-email", "carla", "carla@example")
    assert res.returncode == 2 and "not a usable e-mail address" in res.stderr
    assert run_cli("set-email", "carla", "carla@bakker.example.com").returncode == 0
    assert run_cli("set-language", "carla", "en").returncode == 0
    res = run_cli("change-password", "carla", stdin="wrong-password-here\nTulip-Ledger-74-Nevo\n")
    assert res.returncode == 2 and "current password is not right" in res.stderr
    res = run_cli("change-password", "carla", stdin="Invoice-Harbour-92-Kite\nTulip-Ledger-74-Nevo\n")
    assert res.returncode == 0, res.stderr
    assert user_store.check_password("carla", "Tulip-Ledger-74-Nevo")
    carla = user_store.list_users()[1]
    assert (carla.email, carla.language, carla.disabled) == ("carla@bakker.example.com", "en", False)
    listed = run_cli("list").stdout
    assert "carla\tcollector" in listed and "never logged in" in listed
    assert run_cli("remove", "carla").returncode == 0
    assert [u.username for u in user_store.list_users()] == ["admin"]
    with UnitOfWork(engine) as u:
        actions = u.session.scalars(select(AuditEvent.action).where(AuditEvent.entity_id == "carla")
                                    .order_by(AuditEvent.id)).all()
    assert actions == ["user.add", "user.disable", "user.enable", "user.set_email", "user.set_language",
                       "user.change_password", "user.remove"]


def test_a_login_is_noted_as_the_users_last_login(engine):
    user_store.ensure_users()
    user_store.add_user("carla", "collector")
    with UnitOfWork(engine, immediate=True) as u:
        users.record_login(u, "carla")
    carla = next(u for u in user_store.list_users() if u.username == "carla")
    assert carla.last_login is not None
