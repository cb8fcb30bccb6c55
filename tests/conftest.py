"""Shared fixtures. `engine` runs a test against a fresh SQLite file and, when a PostgreSQL server is
reachable (TEST_POSTGRES_URL, default postgresql://postgres@127.0.0.1:5432/postgres), against a fresh
schema there too."""

from __future__ import annotations

import os
import shutil
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT))

from db.engine import make_engine, upgrade  # noqa: E402
from db.uow import UnitOfWork  # noqa: E402

PG_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
_pg_state: dict = {}


def postgres_available() -> str | None:
    """None when the server answers, else the reason to skip."""
    if "reason" not in _pg_state:
        try:
            eng = create_engine(PG_URL, connect_args={"connect_timeout": 3})
            with eng.connect() as conn:
                conn.execute(text("SELECT 1"))
            eng.dispose()
            _pg_state["reason"] = None
        except Exception as exc:  # noqa: BLE001
            _pg_state["reason"] = f"PostgreSQL not reachable at {PG_URL} ({type(exc).__name__}); set TEST_POSTGRES_URL"
    return _pg_state["reason"]


def chromium_path() -> str | None:
    return os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")


def skip_or_fail(reason: str):
    """Skip a test whose real service is missing; in CI (DEBTOR_DESK_STRICT_SERVICES=1) fail instead."""
    if os.environ.get("DEBTOR_DESK_STRICT_SERVICES") == "1":
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _isolated_files(tmp_path, monkeypatch):
    """No test touches the real user file, secrets, outbox or sender's journal."""
    monkeypatch.setenv("DEBTOR_DESK_USERS", str(tmp_path / "users.yaml"))
    monkeypatch.setenv("DEBTOR_DESK_SECRETS", str(tmp_path / "secrets.toml"))
    monkeypatch.setenv("DEBTOR_DESK_OUTBOX", str(tmp_path / "outbox"))
    monkeypatch.setenv("DEBTOR_DESK_JOURNAL", str(tmp_path / "send-journal"))
    for var in ("SMTP_HOST", "SMTP_PORT", "SMTP_SECURITY", "SMTP_USER", "SMTP_PASSWORD", "SMTP_FROM", "SMTP_REPLY_TO",
                "PORTAL_URL", "PORTAL_SECRET_KEY", "PORTAL_TOKEN_DAYS"):
        monkeypatch.delenv(var, raising=False)


# Migrating a database for every test is slow, so each worker migrates one SQLite file and one
# PostgreSQL schema once; a test gets a copy of the file, or the schema emptied (DELETE with triggers and
# keys off, the sequences back at 1: a TRUNCATE of its 32 tables took 0.4 to 1 s a test, this 0.02 s), and
# a schema whose triggers a test changed is built again.
_templates: dict = {}


def _sqlite_template(tmp_path_factory) -> Path:
    if "sqlite" not in _templates:
        path = tmp_path_factory.mktemp("template") / "template.db"
        eng = make_engine(f"sqlite:///{path}")
        upgrade(eng)
        with eng.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        eng.dispose()
        _templates["sqlite"] = path
    return _templates["sqlite"]


def _sqlite_engine(tmp_path, tmp_path_factory):
    target = tmp_path / "test.db"
    shutil.copyfile(_sqlite_template(tmp_path_factory), target)
    url = f"sqlite:///{target}"
    return make_engine(url), url


def _pg_url(schema: str) -> str:
    return PG_URL + ("&" if "?" in PG_URL else "?") + f"options=-csearch_path%3D{schema}"


def _pg_triggers(conn, schema: str) -> list:
    return sorted(conn.execute(text(
        "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = :s AND NOT t.tgisinternal"),
        {"s": schema}).all())


def _pg_schema(admin) -> dict:
    """The worker's migrated schema, built on first use or when a test changed its triggers."""
    info = _templates.get("postgres")
    if info is None:
        schema = f"t_{uuid.uuid4().hex[:12]}"
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        eng = make_engine(_pg_url(schema))
        upgrade(eng)
        eng.dispose()
        with admin.connect() as conn:
            tables = [r[0] for r in conn.execute(text(
                "SELECT tablename FROM pg_tables WHERE schemaname = :s AND tablename <> 'alembic_version'"),
                {"s": schema})]
            sequences = [r[0] for r in conn.execute(text(
                "SELECT sequencename FROM pg_sequences WHERE schemaname = :s"), {"s": schema})]
            triggers = _pg_triggers(conn, schema)
        empty = [f'DELETE FROM "{schema}"."{t}"' for t in tables]
        if sequences:
            empty.append("SELECT " + ", ".join(f"setval('\"{schema}\".\"{s}\"', 1, false)" for s in sequences))
        info = _templates["postgres"] = {"schema": schema, "tables": tables, "triggers": triggers,
                                         "empty": "; ".join(empty)}
    return info


def _drop_pg_schema(admin) -> None:
    info = _templates.pop("postgres", None)
    if info:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{info["schema"]}" CASCADE'))


def _postgres_engine():
    reason = postgres_available()
    if reason:
        skip_or_fail(reason)
    admin = _templates.get("pg_admin")
    if admin is None:
        admin = _templates["pg_admin"] = create_engine(PG_URL)
    info = _pg_schema(admin)
    url = _pg_url(info["schema"])
    eng = make_engine(url)

    def reset():
        eng.dispose()
        try:
            with admin.begin() as conn:
                conn.execute(text("SET LOCAL lock_timeout = '5s'"))
                if _pg_triggers(conn, info["schema"]) != info["triggers"]:
                    raise RuntimeError("triggers changed")
                conn.execute(text("SET LOCAL session_replication_role = replica"))  # no triggers, no keys
                conn.exec_driver_sql(info["empty"])
        except Exception:  # noqa: BLE001 - anything odd: start from a freshly migrated schema
            _drop_pg_schema(admin)

    return eng, url, reset


@pytest.fixture(scope="session", autouse=True)
def _drop_worker_schema():
    yield
    admin = _templates.pop("pg_admin", None)
    if admin is not None:
        _drop_pg_schema(admin)
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request, tmp_path, tmp_path_factory, monkeypatch):
    """A migrated, empty database; DATABASE_URL points at it so CLI and app code see the same."""
    if request.param == "sqlite":
        eng, url = _sqlite_engine(tmp_path, tmp_path_factory)
        monkeypatch.setenv("DATABASE_URL", url)
        yield eng
        eng.dispose()
    else:
        eng, url, reset = _postgres_engine()
        monkeypatch.setenv("DATABASE_URL", url)
        yield eng
        reset()


@pytest.fixture
def sqlite_engine(tmp_path, tmp_path_factory, monkeypatch):
    eng, url = _sqlite_engine(tmp_path, tmp_path_factory)
    monkeypatch.setenv("DATABASE_URL", url)
    yield eng
    eng.dispose()


@pytest.fixture
def postgres_engine(monkeypatch):
    eng, url, reset = _postgres_engine()
    monkeypatch.setenv("DATABASE_URL", url)
    yield eng
    reset()


@pytest.fixture
def uow(engine):
    """A factory: `with uow() as u: …`."""
    return lambda **kw: UnitOfWork(engine, **kw)


@pytest.fixture
def shared_data():
    path = SHARED / "data" / "real"
    if not path.is_dir():
        pytest.skip(f"the public sample files are not at {path}")
    return path
