"""Unit of work: one transaction around a service call (cosmicpython's pattern). A commit that wrote
anything also raises the data version (`data_version` table), in the same transaction, so that every
app server sees that what it cached is out of date as soon as the write is visible."""

from __future__ import annotations

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from db.models import utcnow
from db.touched import Touched

BUMP = ("INSERT INTO data_version (id, version, changed_at) VALUES (1, 1, :now) "
        "ON CONFLICT (id) DO UPDATE SET version = data_version.version + 1, changed_at = :now RETURNING version")


class UnitOfWork:
    """`with UnitOfWork(engine) as uow: ...; uow.commit()` — leaving without commit rolls back."""

    def __init__(self, engine: Engine, *, immediate: bool = False):
        self.engine = engine
        self.immediate = immediate

    def __enter__(self) -> UnitOfWork:
        bind = self.engine
        if self.immediate and self.engine.dialect.name == "sqlite":
            bind = self.engine.execution_options(sqlite_begin="BEGIN IMMEDIATE")
        self.session = Session(bind=bind, expire_on_commit=False)
        self.touched = Touched(self.session)
        return self

    def __exit__(self, *exc) -> None:
        self.session.rollback()
        self.session.close()

    def commit(self) -> None:
        s = self.session
        if s.in_transaction():
            s.flush()
            if _wrote(s):
                # the debtors touched, journalled under the version this commit leaves: the version row is
                # locked until the commit, so versions (and the journal) follow the order of the commits
                debtors = self.touched.pending()
                version = s.execute(text(BUMP), {"now": utcnow()}).scalar()
                self.touched.journal(version, debtors)
        s.commit()

    def rollback(self) -> None:
        self.session.rollback()


def _wrote(s: Session) -> bool:
    """Whether the session's transaction changed a row: PostgreSQL gives a transaction an id at its first
    write; a SQLite connection (one per unit of work, the engine does not pool them) counts its changes."""
    conn = s.connection()
    if conn.dialect.name == "postgresql":
        return conn.exec_driver_sql("SELECT pg_current_xact_id_if_assigned() IS NOT NULL").scalar()
    return conn.exec_driver_sql("SELECT total_changes()").scalar() > 0


def data_version(s: Session) -> int:
    """The number the last committed write left (0 before any)."""
    return s.execute(text("SELECT version FROM data_version WHERE id = 1")).scalar() or 0
