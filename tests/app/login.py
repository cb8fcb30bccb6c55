"""Log a user in for an AppTest the way the login form leaves the session."""

import os

from sqlalchemy import select

from db.engine import make_engine
from db.models import UserAccount
from db.uow import UnitOfWork


def log_in(at, username: str, role: str, name: str | None = None, language: str = "en"):
    """Logged in, and reading the screens in `language` (the tests that check words mostly read English).
    The user is in the test's database (DATABASE_URL) with `role`, as the login form would have found them."""
    assert os.environ.get("DATABASE_URL"), "log_in needs the test's database (the engine fixture)"
    engine = make_engine()
    try:
        with UnitOfWork(engine, immediate=True) as uow:
            user = uow.session.scalars(select(UserAccount).where(UserAccount.username == username)).first()
            if user is None:
                user = UserAccount(username=username, name=name or username.title(), email="", role=role,
                                   password_hash="!", disabled=False, session_key=f"test-{username}")
                uow.session.add(user)
            user.role = role
            uow.commit()
            session_key = user.session_key
    finally:
        engine.dispose()
    at.session_state["_language"] = language
    at.session_state["authentication_status"] = True
    at.session_state["username"] = username
    at.session_state["name"] = name or username.title()
    at.session_state["roles"] = [role]
    at.session_state["_session_key"] = session_key
    return at
