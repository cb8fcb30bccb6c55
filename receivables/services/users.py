"""User changes with their audit trail; the store itself is db/user_file.py."""

from __future__ import annotations

from db import user_file as users
from db.uow import UnitOfWork
from db.user_file import MIN_PASSWORD, ROLES, User
from receivables.services.audit import record_audit
from receivables.services.errors import ServiceError

__all__ = ["MIN_PASSWORD", "ROLES", "add_user", "list_users", "reset_password", "set_role"]


def list_users() -> list[User]:
    return users.list_users()


def add_user(uow: UnitOfWork, username: str, role: str, *, actor: str, name: str | None = None,
             email: str | None = None, password: str | None = None) -> str:
    """Add a user with the password given (it must meet the password policy) or a generated one."""
    try:
        password = users.add_user(username, role, name=name, email=email, password=password)
    except users.UserError as exc:
        raise ServiceError(str(exc)) from exc
    record_audit(uow.session, actor, "user.add", "user", username, None, {"role": role})
    uow.commit()
    return password


def reset_password(uow: UnitOfWork, username: str, *, actor: str, password: str | None = None) -> str:
    """A new password for the user: the one given (it must meet the password policy) or a generated one."""
    password_given = bool(password)
    try:
        password = users.reset_password(username, password=password)
    except users.UserError as exc:
        raise ServiceError(str(exc)) from exc
    record_audit(uow.session, actor, "user.reset_password", "user", username, None,
                 {"password": "chosen" if password_given else "generated"})
    uow.commit()
    return password


def set_role(uow: UnitOfWork, username: str, role: str, *, actor: str) -> None:
    try:
        before = users.set_role(username, role)
    except users.UserError as exc:
        raise ServiceError(str(exc)) from exc
    record_audit(uow.session, actor, "user.set_role", "user", username, {"role": before}, {"role": role})
    uow.commit()
