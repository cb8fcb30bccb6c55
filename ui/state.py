"""The engine and start-up, once per server process."""

from __future__ import annotations

import sys
import threading
import weakref
from datetime import date

import streamlit as st
from sqlalchemy import Engine

from db.engine import make_engine
from db.uow import UnitOfWork
from receivables.services import analytics, demo, errors, signals, startup

_started = False
# per engine (a database; the tests make a new one for each), the reminder tracks this server last worked out
_tracks: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_tracks_lock = threading.Lock()


def start() -> None:
    """At server start, once per process: migrate the database, import or create the users and print the new
    admin password (the first start only), load the demo into an empty database. Safe to call again."""
    global _started
    if _started:
        return
    eng = make_engine()
    try:
        _announce(startup.bootstrap(eng).admin_password)
    except errors.ServiceError as exc:  # every visitor is told the same by desk.py; no login is offered
        print(f"\nDebtor Desk cannot start: {exc}\n", file=sys.stderr, flush=True)
        return
    finally:
        eng.dispose()
    _started = True


def _announce(password: str | None) -> None:
    if password:
        banner = "=" * 64
        print(f"\n{banner}\n Debtor Desk: first start. Log in as 'admin' with password:\n\n"
              f"     {password}\n\n This is shown once. Change users with "
              f"`python -m receivables users …`.\n{banner}\n", file=sys.stderr, flush=True)


@st.cache_resource(show_spinner="Preparing the database…")
def engine() -> Engine:
    eng = make_engine()
    _announce(startup.bootstrap(eng).admin_password)  # a server started on desk.py itself: at the first visit
    return eng


def uow(*, immediate: bool = False) -> UnitOfWork:
    return UnitOfWork(engine(), immediate=immediate)


def data_version() -> str:
    """A key for cached frames that changes with the data, also when the CLI or cron wrote it."""
    with uow() as u:
        return analytics.data_version(u)


def debtor_tracks(today: date) -> dict[int, str]:
    """The reminder track of every debtor today; after a write only the debtors it touched get theirs worked
    out again (`signals.debtor_tracks_since`, from what this server last worked out for this database)."""
    eng = engine()
    with _tracks_lock, uow() as u:
        found = _tracks[eng] = signals.debtor_tracks_since(u, today, _tracks.get(eng))
    return found.tracks


def data_changed() -> None:
    """Call after every write so cached frames are read again."""
    st.cache_data.clear()


def earliest_date(*values: date | None) -> date:
    """The lowest date a date picker offers: the ledger's first date, and never less than Streamlit's own
    ten years back nor above any of `values` (the picker's value, a linked date)."""
    floor = _earliest(data_version())
    ten_years = date.today().replace(year=date.today().year - 10, day=min(date.today().day, 28))
    return min(d for d in (floor, ten_years, *values) if d is not None)


@st.cache_data(show_spinner=False, max_entries=4)
def _earliest(version: str) -> date | None:
    with uow() as u:
        return analytics.earliest_date(u)


def demo_present() -> bool:
    return _demo_present(data_version())


@st.cache_data(show_spinner=False, max_entries=4)
def _demo_present(version: str) -> bool:
    with uow() as u:
        return demo.demo_present(u)
