"""Counting the statements that change a database: what a read must never send."""

from __future__ import annotations

import re
from contextlib import contextmanager

from sqlalchemy import Engine, event

_WRITE = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER|TRUNCATE)\b", re.IGNORECASE)


@contextmanager
def writes(target=Engine):
    """The writing statements sent inside the block, by every engine (default) or by one."""
    seen: list[str] = []

    def note(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        if _WRITE.match(statement):
            seen.append(" ".join(statement.split())[:120])

    event.listen(target, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(target, "before_cursor_execute", note)
