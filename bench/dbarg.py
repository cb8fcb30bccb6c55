"""The `--db URL` every benchmark takes: without it a temporary SQLite file; with a PostgreSQL URL a fresh
database the benchmark creates beside the one named (on the same server) and drops when it ends.

    with bench_database(args.db, "bench_import") as url:   # a URL for make_engine
        ...
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

PG_EXAMPLE = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
HELP = ("the database to run on: a SQLite path or URL (default: a temporary SQLite file), or a PostgreSQL "
        f"URL such as {PG_EXAMPLE}, on whose server a fresh database is created for the run and dropped after it")


def add_db_argument(parser, default: str | None = None) -> None:  # noqa: ANN001
    parser.add_argument("--db", default=default, help=HELP)


def normalised(url: str) -> str:
    if "://" not in url:
        return f"sqlite:///{Path(url).resolve()}"
    for old in ("postgres://", "postgresql://"):
        if url.startswith(old):
            return "postgresql+psycopg://" + url[len(old):]
    return url


def is_postgres(url: str | None) -> bool:
    return bool(url) and normalised(url).startswith("postgresql")


def _drop_sqlite(path: str) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(path + suffix).unlink(missing_ok=True)


@contextmanager
def bench_database(db: str | None, name: str, keep: bool = False) -> Iterator[str]:
    """A URL for a fresh database for one run: a temporary SQLite file (or the SQLite file given, emptied
    first), or a new PostgreSQL database `<name>_<random>` on the server of the given URL. Dropped
    when the run ends (unless `keep`)."""
    if not is_postgres(db):
        if db:
            path = normalised(db).split("///", 1)[1]
            _drop_sqlite(path)
            yield f"sqlite:///{path}"
            if not keep:
                _drop_sqlite(path)
            return
        with tempfile.TemporaryDirectory(prefix=f"{name}-") as tmp:
            yield f"sqlite:///{tmp}/{name}.db"
        return
    url = make_url(normalised(db))
    fresh = f"{name}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{fresh}"'))
    try:
        yield url.set(database=fresh).render_as_string(hide_password=False)
    finally:
        if not keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{fresh}" WITH (FORCE)'))
        admin.dispose()


def describe(url: str) -> str:
    """How a result names its database: the engine and its version, with the machine's load."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                version = "SQLite " + conn.exec_driver_sql("select sqlite_version()").scalar()
            else:
                version = "PostgreSQL " + conn.exec_driver_sql("show server_version").scalar().split()[0]
    finally:
        engine.dispose()
    return f"{version}; {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}"
