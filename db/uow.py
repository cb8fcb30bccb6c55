"""Unit of work: one transaction around a service call (cosmicpython's pattern)."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.orm import Session


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
        return self

    def __exit__(self, *exc) -> None:
        self.session.rollback()
        self.session.close()

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()
