"""The users service as the command line drives it (each call its own write transaction), on the test's
database (DATABASE_URL, set by the engine fixture): `user_store.add_user("carla", "collector")`."""

from __future__ import annotations

from db.engine import make_engine
from db.uow import UnitOfWork
from receivables.services import users

ACTOR = "cli"


def _run(fn, *args, **kwargs):
    engine = make_engine()
    try:
        with UnitOfWork(engine, immediate=True) as uow:
            return fn(uow, *args, **kwargs)
    finally:
        engine.dispose()


def ensure_users():
    return _run(users.ensure_users)


def add_user(username: str, role: str, *, name=None, email=None, password=None, language=None) -> str:
    return _run(users.add_user, username, role, actor=ACTOR, name=name, email=email, password=password,
                language=language)


def reset_password(username: str, *, password=None) -> str:
    return _run(users.reset_password, username, actor=ACTOR, password=password)


def set_role(username: str, role: str) -> str:
    return _run(users.set_role, username, role, actor=ACTOR)


def set_disabled(username: str, disabled: bool) -> None:
    return _run(users.set_disabled, username, disabled, actor=ACTOR)


def remove_user(username: str) -> None:
    return _run(users.remove_user, username, actor=ACTOR)


def check_password(username: str, password: str) -> bool:
    return _run(users.check_password, username, password)


def list_users() -> list[users.User]:
    return _run(users.list_users)


def login_cookie() -> users.LoginCookie:
    return _run(users.login_cookie)


def set_language(username: str, language: str | None) -> None:
    return _run(users.set_language, username, language, actor=ACTOR)


def end_sessions(username: str) -> None:
    return _run(users.end_sessions, username, actor=username)
