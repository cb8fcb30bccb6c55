"""Work that must run one at a time across every app server and cron job on one database. PostgreSQL: a
transaction-scoped advisory lock (let go at commit or rollback, also when the process dies); SQLite:
a writer holds the database's write lock already (`UnitOfWork(immediate=True)`), so nothing is needed.
A PostgreSQL lock is taken per schema (the schema's name hashed beside the key): two installations in
one database, each in its own schema, do not wait for each other."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.orm import Session

IMPORT = 0x44_49_4D_50  # "DIMP": imports and their undo (a 32-bit key, taken beside the schema's hash)


def hold(session: Session, key: int, on_wait: Callable[[], None] | None = None) -> bool:
    """Take the lock `key` for the rest of the session's transaction. When another transaction holds
    it, call `on_wait` (to say so) and wait until it is let go. Returns whether there was a wait.
    Taking it again in the same transaction returns at once."""
    if session.get_bind().dialect.name != "postgresql":
        return False
    if session.execute(text("SELECT pg_try_advisory_xact_lock(hashtext(current_schema()), :key)"),
                       {"key": key}).scalar():
        return False
    if on_wait is not None:
        on_wait()
    session.execute(text("SELECT pg_advisory_xact_lock(hashtext(current_schema()), :key)"), {"key": key})
    return True
