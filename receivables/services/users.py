"""The users: who logs in, with which role, language and e-mail. One store, the database (`user_account`),
shared by every app server and the command line: each change is one transaction on the user's row, so a
change made on the command line and one made on a page never undo each other. Writers pass a unit of work
opened with `immediate=True` (SQLite then takes its write lock at the start instead of failing halfway).

Every login carries the user's `session_key`; logout, a password reset, a role change, disabling and
removal give the user a new one (or none), which ends every session and every remembered cookie at once."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from db import user_file
from db.models import UserAccount, utcnow
from db.uow import UnitOfWork
from db.user_file import MIN_PASSWORD, ROLES, role_at_least
from receivables.domain import contacts
from receivables.domain.translation import LANGUAGES
from receivables.services.audit import record_audit
from receivables.services.errors import ServiceError
from receivables.services.settings import get_setting, put_setting

__all__ = ["MIN_PASSWORD", "ROLES", "LoginCookie", "LoginUser", "User", "add_user", "change_password",
           "check_password", "end_sessions", "ensure_users", "get_user", "list_users", "login_cookie", "login_credentials",
           "login_user", "record_login", "remembered_login", "remove_user", "reset_password", "role_at_least", "set_disabled",
           "set_email", "set_language", "set_role"]

COOKIE_SETTING = "login_cookie"
COOKIE_NAME = "debtor_desk_auth"
COOKIE_DAYS = 7


@dataclass(frozen=True)
class User:
    username: str
    name: str
    email: str
    role: str
    language: str | None = None
    disabled: bool = False
    last_login: datetime | None = None


@dataclass(frozen=True)
class LoginUser:
    """What a running session needs to know of its user, read again on every run."""

    username: str
    name: str
    role: str
    language: str | None
    session_key: str


@dataclass(frozen=True)
class LoginCookie:
    name: str
    key: str
    expiry_days: float


def _new_session_key() -> str:
    return secrets.token_hex(16)


def _user(row: UserAccount) -> User:
    return User(row.username, row.name, row.email, row.role, row.language, row.disabled, row.last_login_at)


def _row(uow: UnitOfWork, username: str, *, lock: bool = True) -> UserAccount:
    query = select(UserAccount).where(UserAccount.username == (username or "").strip().lower())
    row = uow.session.scalars(query.with_for_update() if lock else query).first()
    if row is None:
        raise ServiceError("there is no user '{name}'", name=username)
    return row


def _checked_password(username: str, password: str) -> str:
    refusal = user_file.password_refusal(username, password)
    if refusal is not None:
        raise ServiceError(refusal.msgid, **refusal.params)
    return password


def _checked_role(role: str) -> str:
    if role not in ROLES:
        raise ServiceError("unknown role '{role}': choose one of {roles}", role=role, roles=", ".join(ROLES))
    return role


def _checked_email(email: str) -> str:
    try:
        return contacts.check_address(email)
    except contacts.AddressError:
        raise ServiceError("'{email}' is not a usable e-mail address", email=email) from None


def _checked_language(language: str | None) -> str | None:
    if language in (None, ""):
        return None
    if language not in LANGUAGES:
        raise ServiceError("unknown language '{language}': choose one of {languages}", language=language,
                           languages=", ".join(LANGUAGES))
    return language


def _admins_left_without(uow: UnitOfWork, username: str) -> int:
    return uow.session.scalar(select(func.count()).select_from(UserAccount).where(
        UserAccount.role == "admin", UserAccount.disabled.is_(False), UserAccount.username != username))


def _keep_an_admin(uow: UnitOfWork, row: UserAccount) -> None:
    if row.role == "admin" and not row.disabled:
        # lock every admin row: two admins demoting each other at once must not leave none
        uow.session.scalars(select(UserAccount.id).where(UserAccount.role == "admin").with_for_update()).all()
        if _admins_left_without(uow, row.username) == 0:
            raise ServiceError("this is the last admin; make another user admin first")


# --- start-up and the login cookie ---------------------------------------------------------------------

def _key_refused(key: str, where: str, fix: str) -> ServiceError | None:
    problem = user_file.cookie_key_problem(key)
    if problem is None:
        return None
    return ServiceError("the login cookie key in {where} cannot be used: {problem}. {fix}",
                        where=where, problem=problem, fix=fix)


_SET_A_KEY = ("Set a random key of at least 32 characters there (for example the output of "
              "`python -c \"import secrets; print(secrets.token_hex(32))\"`), or remove it to use the key made "
              "for this installation")


def ensure_users(uow: UnitOfWork, path: Path | None = None) -> str | None:
    """Start-up: check the login-cookie key (or make one for this installation) and, while there are no
    users, import the users file of earlier versions once or else create `admin` with a random password,
    which is returned (to be printed once). A key anyone could know stops the start (ServiceError)."""
    try:
        return _ensure_users(uow, path)
    except IntegrityError:  # another app server started at the same moment and did it first
        uow.rollback()
        return None


def _ensure_users(uow: UnitOfWork, path: Path | None = None) -> str | None:
    path = path or user_file.users_path()
    configured = user_file.configured_cookie_key()
    if configured is not None:
        refused = _key_refused(configured[0], configured[1], _SET_A_KEY)
        if refused:
            raise refused
    empty = uow.session.scalar(select(func.count()).select_from(UserAccount)) == 0
    old = user_file.load(path) if empty else {"cookie": {}, "credentials": {"usernames": {}}}
    cookie = get_setting(uow.session, COOKIE_SETTING)
    if not cookie:
        old_key = old["cookie"].get("key")
        if old_key and configured is None:
            refused = _key_refused(old_key, str(path), "Delete the line 'key:' under 'cookie:' and restart: a "
                                                       "random key is made for this installation")
            if refused:
                raise refused
        cookie = {"name": old["cookie"].get("name") or COOKIE_NAME, "key": old_key or user_file.new_cookie_key(),
                  "expiry_days": old["cookie"].get("expiry_days", COOKIE_DAYS)}
        put_setting(uow.session, COOKIE_SETTING, cookie, "system")  # "system": the key stays out of the audit log
    password = None
    if empty:
        imported = _import_file(uow, old["credentials"]["usernames"])
        if imported:
            record_audit(uow.session, "system", "user.import", "user", None, None,
                         {"file": str(path), "users": imported})
        else:
            password = user_file.new_password()
            _insert(uow, "admin", "admin", name="Administrator", email="admin@example.invalid",
                    password_hash=user_file.hash_password(password))
    uow.commit()
    return password


def _import_file(uow: UnitOfWork, usernames: dict) -> list[str]:
    imported = []
    for username, data in sorted((usernames or {}).items()):
        username = str(username).strip().lower()
        data = data or {}
        if not user_file.valid_username(username) or not data.get("password"):
            continue
        language = data.get("language") if data.get("language") in LANGUAGES else None
        _insert(uow, username, user_file.role_of(data.get("roles")) or "viewer", name=data.get("name") or username,
                email=data.get("email") or "", password_hash=str(data["password"]), language=language)
        imported.append(username)
    return imported


def _insert(uow: UnitOfWork, username: str, role: str, *, name: str, email: str, password_hash: str,
            language: str | None = None) -> None:
    uow.session.add(UserAccount(username=username, name=name, email=email, role=role, password_hash=password_hash,
                                language=language, disabled=False, session_key=_new_session_key()))
    uow.session.flush()


def login_cookie(uow: UnitOfWork) -> LoginCookie:
    """The login cookie's name, key and lifetime: the key the administrator set, else this installation's."""
    stored = get_setting(uow.session, COOKIE_SETTING) or {}
    configured = user_file.configured_cookie_key()
    if configured is not None:
        refused = _key_refused(configured[0], configured[1], _SET_A_KEY)
        if refused:
            raise refused
        key = configured[0]
    else:
        key = stored.get("key")
        refused = _key_refused(key, "the database", "Restart the app: a random key is made for this installation")
        if refused:
            raise refused
    return LoginCookie(stored.get("name") or COOKIE_NAME, key, float(stored.get("expiry_days", COOKIE_DAYS)))


# --- reading -------------------------------------------------------------------------------------------

def list_users(uow: UnitOfWork) -> list[User]:
    return [_user(r) for r in uow.session.scalars(select(UserAccount).order_by(UserAccount.username))]


def get_user(uow: UnitOfWork, username: str) -> User:
    return _user(_row(uow, username, lock=False))


def login_credentials(uow: UnitOfWork) -> tuple[dict, dict[str, str]]:
    """The users who may log in as streamlit-authenticator wants them (read for every login, never written
    back), and each one's session key at this moment."""
    rows = uow.session.scalars(select(UserAccount).where(UserAccount.disabled.is_(False))).all()
    credentials = {"usernames": {r.username: {"name": r.name, "email": r.email, "password": r.password_hash,
                                              "roles": [r.role]} for r in rows}}
    return credentials, {r.username: r.session_key for r in rows}


def login_user(uow: UnitOfWork, username: str | None) -> LoginUser | None:
    """The user of a session as they are now; None when they are removed or disabled."""
    if not username:
        return None
    row = uow.session.scalars(select(UserAccount).where(UserAccount.username == username)).first()
    if row is None or row.disabled:
        return None
    return LoginUser(row.username, row.name, row.role, row.language, row.session_key)


def remembered_login(uow: UnitOfWork, username: str | None, session_key: str | None) -> LoginUser | None:
    """The user a remembered login cookie names, if it still logs in: the user is there, not disabled, and
    their logins have not been ended since the cookie was made (its session key is still theirs)."""
    found = login_user(uow, username)
    if found is None or not hmac.compare_digest(str(session_key or ""), found.session_key):
        return None
    return found


def check_password(uow: UnitOfWork, username: str, password: str) -> bool:
    row = uow.session.scalars(select(UserAccount).where(UserAccount.username == username)).first()
    return row is not None and user_file.password_matches(password, row.password_hash)


# --- changes -------------------------------------------------------------------------------------------

def record_login(uow: UnitOfWork, username: str) -> None:
    """Note when the user logged in (with the password or their remembered cookie)."""
    row = uow.session.scalars(select(UserAccount).where(UserAccount.username == username)).first()
    if row is not None:
        row.last_login_at = utcnow()
        uow.commit()


def add_user(uow: UnitOfWork, username: str, role: str, *, actor: str, name: str | None = None,
             email: str | None = None, password: str | None = None, language: str | None = None) -> str:
    """Add a user with the password given (it must meet the password policy) or a generated one; returns it."""
    username = (username or "").strip()
    if not user_file.valid_username(username):
        raise ServiceError("'{name}' is not a valid user name: use 2-50 lower-case letters, digits, . _ -",
                           name=username)
    _checked_role(role)
    email = _checked_email(email) if email else f"{username}@example.invalid"
    language = _checked_language(language)
    if uow.session.scalars(select(UserAccount.id).where(UserAccount.username == username)).first() is not None:
        raise ServiceError("user '{name}' already exists; use reset-password or set-role", name=username)
    password = _checked_password(username, password or user_file.new_password())
    try:
        _insert(uow, username, role, name=(name or "").strip() or username, email=email,
                password_hash=user_file.hash_password(password), language=language)
    except IntegrityError:  # added meanwhile by another writer
        uow.rollback()
        raise ServiceError("user '{name}' already exists; use reset-password or set-role", name=username) from None
    record_audit(uow.session, actor, "user.add", "user", username, None, {"role": role, "name": name or username})
    uow.commit()
    return password


def reset_password(uow: UnitOfWork, username: str, *, actor: str, password: str | None = None) -> str:
    """A new password for the user: the one given (it must meet the password policy) or a generated one.
    Ends the user's logins."""
    row = _row(uow, username)
    password_given = bool(password)
    password = _checked_password(row.username, password or user_file.new_password())
    row.password_hash = user_file.hash_password(password)
    row.session_key = _new_session_key()
    record_audit(uow.session, actor, "user.reset_password", "user", row.username, None,
                 {"password": "chosen" if password_given else "generated"})
    uow.commit()
    return password


def change_password(uow: UnitOfWork, username: str, current: str, new: str) -> str:
    """A user changes their own password: the current one first. Ends their other logins (the caller keeps
    this one with the new session key, which is returned)."""
    row = _row(uow, username)
    if not user_file.password_matches(current, row.password_hash):
        raise ServiceError("the current password is not right; nothing was changed")
    row.password_hash = user_file.hash_password(_checked_password(row.username, new))
    row.session_key = _new_session_key()
    record_audit(uow.session, row.username, "user.change_password", "user", row.username, None, None)
    uow.commit()
    return row.session_key


def set_email(uow: UnitOfWork, username: str, email: str, *, actor: str) -> str:
    row = _row(uow, username)
    email = _checked_email(email)
    before = row.email
    row.email = email
    record_audit(uow.session, actor, "user.set_email", "user", row.username, {"email": before}, {"email": email})
    uow.commit()
    return email


def set_language(uow: UnitOfWork, username: str, language: str | None, *, actor: str) -> None:
    row = _row(uow, username)
    language = _checked_language(language)
    if row.language == language:
        return
    before = row.language
    row.language = language
    record_audit(uow.session, actor, "user.set_language", "user", row.username, {"language": before},
                 {"language": language})
    uow.commit()


def set_role(uow: UnitOfWork, username: str, role: str, *, actor: str) -> str:
    """Change a user's role (ends their logins); returns the previous role."""
    row = _row(uow, username)
    _checked_role(role)
    before = row.role
    if before == "admin" and role != "admin":
        _keep_an_admin(uow, row)
    row.role = role
    row.session_key = _new_session_key()
    record_audit(uow.session, actor, "user.set_role", "user", row.username, {"role": before}, {"role": role})
    uow.commit()
    return before


def set_disabled(uow: UnitOfWork, username: str, disabled: bool, *, actor: str) -> None:
    """Disable a user (their logins end and they cannot log in) or enable them again."""
    row = _row(uow, username)
    if row.disabled == disabled:
        return
    if disabled:
        _keep_an_admin(uow, row)
    row.disabled = disabled
    row.session_key = _new_session_key()
    record_audit(uow.session, actor, "user.disable" if disabled else "user.enable", "user", row.username,
                 {"disabled": not disabled}, {"disabled": disabled})
    uow.commit()


def remove_user(uow: UnitOfWork, username: str, *, actor: str) -> None:
    """Remove a user; their logins end. Their name stays in the audit log and on the work they did."""
    row = _row(uow, username)
    _keep_an_admin(uow, row)
    if row.username == actor:
        raise ServiceError("you cannot remove yourself; ask another admin")
    record_audit(uow.session, actor, "user.remove", "user", row.username,
                 {"role": row.role, "name": row.name, "email": row.email}, None)
    uow.session.delete(row)
    uow.commit()


def end_sessions(uow: UnitOfWork, username: str, *, actor: str) -> None:
    """Log the user out everywhere: every session and remembered cookie of theirs ends (logout does this)."""
    row = uow.session.scalars(select(UserAccount).where(UserAccount.username == username)).first()
    if row is None:
        return
    row.session_key = _new_session_key()
    record_audit(uow.session, actor, "user.logout", "user", row.username, None, None)
    uow.commit()
