"""The user file (YAML, outside git) that streamlit-authenticator reads: bcrypt hashes and roles.

The command line and the settings page (each Streamlit session a thread) change it at the same time:
every change reads, changes and writes the file under an exclusive lock on `users.yaml.lock`, and
writes a new file that replaces the old one whole, so no change is lost and no reader sees half a file."""

from __future__ import annotations

import copy
import functools
import os
import re
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import bcrypt
import yaml

try:
    import fcntl
except ImportError:  # Windows: a lock on the first byte of the lock file does the same
    fcntl = None
    import msvcrt

from db.engine import PROJECT_ROOT

ROLES = ("viewer", "collector", "admin")
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,49}$")
MIN_PASSWORD = 12
MIN_COOKIE_KEY = 32  # characters; ours are 64 hex digits (256 bits)
COMMON_PASSWORDS = Path(__file__).with_name("common_passwords.txt")
_PLACEHOLDER = re.compile(r"replace|change|example|secret|placeholder|random|your|key|xxx|todo|default",
                          re.IGNORECASE)


class UserError(ValueError):
    pass


@dataclass(frozen=True)
class User:
    username: str
    name: str
    email: str
    role: str


def users_path() -> Path:
    return Path(os.environ.get("DEBTOR_DESK_USERS", PROJECT_ROOT / "data" / "users.yaml"))


def role_at_least(role: str | None, needed: str) -> bool:
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)


def role_of(roles: list[str] | None) -> str | None:
    """The highest of our roles in a user's role list."""
    known = [r for r in (roles or []) if r in ROLES]
    return max(known, key=ROLES.index) if known else None


def load(path: Path | None = None) -> dict:
    path = path or users_path()
    if not path.is_file():
        return {"cookie": {}, "credentials": {"usernames": {}}}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    data.setdefault("cookie", {})
    data.setdefault("credentials", {}).setdefault("usernames", {})
    if data["credentials"]["usernames"] is None:
        data["credentials"]["usernames"] = {}
    return data


def _lock_path(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold the user file's exclusive lock (waits for another writer; the kernel drops it when its
    process dies, however it dies)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(_lock_path(path), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        else:
            while True:
                try:
                    msvcrt.locking(fd, msvcrt.LK_LOCK, 1)  # retries for ten seconds, then OSError
                    break
                except OSError:
                    continue
        yield
    finally:
        os.close(fd)  # drops the lock


def _write(data: dict, path: Path) -> None:
    """Replace the file whole: a new file in the same folder, flushed to disk, moved over the old one."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def changing(path: Path | None = None) -> Iterator[dict]:
    """The user file's contents, read under its lock, to change in place; written back (still under
    the lock) when the block ends without an error and something changed."""
    path = path or users_path()
    with _locked(path):
        data = load(path)
        before = copy.deepcopy(data)
        yield data
        if data != before:
            _write(data, path)


def _hash(password: str) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt()).decode()


def new_password() -> str:
    return secrets.token_urlsafe(12)  # 16 characters


@functools.lru_cache(maxsize=1)
def _common() -> frozenset[str]:
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(w.strip().lower() for w in lines if w.strip() and not w.startswith("#"))


def password_problem(username: str, password: str) -> str | None:
    """Why a password chosen for `username` is refused, or None: at least MIN_PASSWORD characters, not
    the user name (nor built from it), not a common password (nor one with a few digits added)."""
    if len(password or "") < MIN_PASSWORD:
        return f"a password needs at least {MIN_PASSWORD} characters (this one has {len(password or '')})"
    low = password.lower()
    if username and username.lower() in low and len(low) - len(username) < MIN_PASSWORD:
        return "a password must not be the user name or built from it"
    base = low.rstrip("0123456789!?.")
    if low in _common() or base in _common() or len(set(low)) < 4:
        return "this is one of the most common passwords, tried first by anyone guessing; choose another"
    return None


def _checked(username: str, password: str) -> str:
    problem = password_problem(username, password)
    if problem:
        raise UserError(problem)
    return password


def cookie_key_problem(key) -> str | None:
    """Why a login-cookie key must not be used (anyone who knows it can forge a login), or None."""
    key = str(key or "")
    if len(key) < MIN_COOKIE_KEY:
        return f"it has {len(key)} characters, fewer than {MIN_COOKIE_KEY}"
    if _PLACEHOLDER.search(key):
        return "it is a placeholder, not a random key"
    if len(set(key)) < 10:
        return "it repeats a few characters: not a random key"
    return None


def _usable(cookie: dict, path: Path) -> dict:
    problem = cookie_key_problem(cookie.get("key"))
    if problem:
        raise UserError(f"the login cookie key in {path} cannot be used: {problem}. Delete the line "
                        "'key:' under 'cookie:' and restart: a random key is made for this installation")
    return cookie


def cookie_settings(path: Path | None = None) -> dict:
    """The login cookie's name, key and expiry; UserError when the key is not fit to sign logins."""
    path = path or users_path()
    return _usable(load(path)["cookie"], path)


def ensure_file(path: Path | None = None) -> str | None:
    """Create the user file on first start: a random cookie key and an `admin` with a random
    password, which is returned (to be printed once). Returns None when the file already exists.
    UserError when the file has a cookie key that cannot be used (a placeholder, too short)."""
    path = path or users_path()
    password = None
    with changing(path) as data:
        if not data["cookie"].get("key"):
            data["cookie"] = {"name": data["cookie"].get("name") or "debtor_desk_auth",
                              "key": secrets.token_hex(32), "expiry_days": data["cookie"].get("expiry_days", 7)}
        else:
            _usable(data["cookie"], path)
        if not data["credentials"]["usernames"]:
            password = new_password()
            data["credentials"]["usernames"]["admin"] = {
                "name": "Administrator", "email": "admin@example.invalid",
                "password": _hash(password), "roles": ["admin"],
            }
    return password


def credentials(path: Path | None = None) -> dict:
    """The user names with their hashes, names and roles, as streamlit-authenticator wants them."""
    return load(path)["credentials"]


def list_users(path: Path | None = None) -> list[User]:
    users = load(path)["credentials"]["usernames"]
    return [User(u, d.get("name", u), d.get("email", ""), role_of(d.get("roles")) or "viewer")
            for u, d in sorted(users.items())]


def add_user(username: str, role: str, *, name: str | None = None, email: str | None = None,
             password: str | None = None, path: Path | None = None) -> str:
    """Add a user; returns the password (generated when not given)."""
    if not _USERNAME.match(username or ""):
        raise UserError(f"'{username}' is not a valid user name: use 2-50 lower-case letters, digits, . _ -")
    if role not in ROLES:
        raise UserError(f"unknown role '{role}': choose one of {', '.join(ROLES)}")
    with changing(path) as data:
        if username in data["credentials"]["usernames"]:
            raise UserError(f"user '{username}' already exists; use reset-password or set-role")
        password = _checked(username, password or new_password())
        data["credentials"]["usernames"][username] = {
            "name": name or username, "email": email or f"{username}@example.invalid",
            "password": _hash(password), "roles": [role],
        }
    return password


def reset_password(username: str, *, password: str | None = None, path: Path | None = None) -> str:
    with changing(path) as data:
        user = data["credentials"]["usernames"].get(username)
        if user is None:
            raise UserError(f"no user '{username}'")
        password = _checked(username, password or new_password())
        user["password"] = _hash(password)
        user.pop("failed_login_attempts", None)
    return password


def set_role(username: str, role: str, *, path: Path | None = None) -> str:
    """Change a user's role; returns the previous role."""
    if role not in ROLES:
        raise UserError(f"unknown role '{role}': choose one of {', '.join(ROLES)}")
    with changing(path) as data:
        user = data["credentials"]["usernames"].get(username)
        if user is None:
            raise UserError(f"no user '{username}'")
        before = role_of(user.get("roles")) or "viewer"
        if before == "admin" and role != "admin":
            admins = [u for u, d in data["credentials"]["usernames"].items() if role_of(d.get("roles")) == "admin"]
            if admins == [username]:
                raise UserError("this is the last admin; make another user admin first")
        user["roles"] = [role]
    return before


def check_password(username: str, password: str, path: Path | None = None) -> bool:
    user = load(path)["credentials"]["usernames"].get(username)
    return bool(user) and bcrypt.checkpw(password.encode(), user["password"].encode())
