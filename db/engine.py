"""Engine and schema upgrade. SQLite (the embedded default) or PostgreSQL via DATABASE_URL."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.pool import NullPool

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE = PROJECT_ROOT / "data" / "receivables.db"


def _secrets() -> dict:
    path = Path(os.environ.get("DEBTOR_DESK_SECRETS", PROJECT_ROOT / ".streamlit" / "secrets.toml"))
    if not path.is_file():
        return {}
    with path.open("rb") as fh:
        return tomllib.load(fh)


def secrets_section(name: str) -> dict:
    """A section of .streamlit/secrets.toml, read without Streamlit so the CLI sees the same."""
    value = _secrets().get(name)
    return dict(value) if isinstance(value, dict) else {}


def database_url() -> str:
    """DATABASE_URL from the environment, else `[database] url` in secrets.toml, else the SQLite file."""
    url = os.environ.get("DATABASE_URL") or secrets_section("database").get("url")
    if not url:
        return f"sqlite:///{DEFAULT_SQLITE}"
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def _private_file(path: Path) -> None:
    """Create the SQLite file readable by its owner only (it holds the password hashes and the ledger), and
    take group and others' access off a file made before; SQLite gives its -wal and -shm files the same."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    for part in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if part.exists() and os.stat(part).st_mode & 0o077:
            os.chmod(part, 0o600)


def make_engine(url: str | None = None) -> Engine:
    url = url or database_url()
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1].split("?", 1)[0]
        if path and path != ":memory:":
            _private_file(Path(path))
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False},
                               poolclass=NullPool)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # noqa: ANN001
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        # pysqlite's own transaction handling defers BEGIN; emit it ourselves so that
        # "BEGIN IMMEDIATE" can be used for the writers that must serialise.
        @event.listens_for(engine, "connect")
        def _no_autobegin(dbapi_conn, _record):  # noqa: ANN001
            dbapi_conn.isolation_level = None

        @event.listens_for(engine, "begin")
        def _begin(conn):  # noqa: ANN001
            options = conn.get_execution_options()
            if options.get("sqlite_foreign_keys") is False:
                # a bulk writer that checks the references it writes itself (SQLite ignores this
                # pragma inside a transaction, hence here, before BEGIN)
                conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            conn.exec_driver_sql(options.get("sqlite_begin", "BEGIN"))

        @event.listens_for(engine, "reset")
        def _foreign_keys_back_on(dbapi_conn, _record, _state):  # noqa: ANN001
            dbapi_conn.execute("PRAGMA foreign_keys=ON")  # after the transaction, before the next user

        return engine
    return create_engine(url, pool_pre_ping=True)


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration (the app and the CLI call this on start)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "db" / "migrations"))
    with engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "heads")
        conn.commit()
