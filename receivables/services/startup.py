"""Start-up: the schema, the daily sums' triggers, the users and the demo ledger on the very first start."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, select

from db.engine import upgrade
from db.models import Debtor
from db.uow import UnitOfWork
from receivables.services.analytics import ensure_daily_sums
from receivables.services.demo import load_demo
from receivables.services.settings import get_setting, put_setting
from receivables.services.users import ensure_users


@dataclass(frozen=True)
class Bootstrap:
    admin_password: str | None
    demo_loaded: bool


def bootstrap(engine: Engine, *, load_demo_on_first_start: bool = True, seed: int = 42) -> Bootstrap:
    """Upgrade the schema, put back the daily sums' triggers if a table rebuild dropped them (the reads
    never repair), import the users file of earlier versions once or create an admin with a random
    password and, on the very first start of an empty database, load the demo data."""
    upgrade(engine)
    with UnitOfWork(engine, immediate=True) as uow:
        ensure_daily_sums(uow)
    with UnitOfWork(engine, immediate=True) as uow:
        password = ensure_users(uow)
    loaded = False
    with UnitOfWork(engine, immediate=True) as uow:
        if get_setting(uow.session, "initialised") is None:
            empty = uow.session.scalar(select(func.count()).select_from(Debtor)) == 0
            put_setting(uow.session, "initialised", datetime.now().isoformat(timespec="seconds"), "system")
            uow.commit()
            if empty and load_demo_on_first_start:
                load_demo(uow, seed=seed, actor="system")
                loaded = True
    return Bootstrap(password, loaded)
