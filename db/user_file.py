"""The users file of earlier versions (YAML, outside git), read once: when the users table is empty at start,
its users (bcrypt hashes, roles) and its login-cookie key are imported into the database, which is the one
store from then on (receivables/services/users.py). Also the password policy, the roles and the check of a
login-cookie key, which the import, the command line and the pages share."""

from __future__ import annotations

import functools
import os
import re
import secrets
from pathlib import Path

import bcrypt
import yaml

from db.engine import PROJECT_ROOT, secrets_section
from receivables.domain.errors import Problem
from receivables.domain.translation import N_

ROLES = ("viewer", "collector", "admin")
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,49}$")
MIN_PASSWORD = 12
MIN_COOKIE_KEY = 32  # characters; ours are 64 hex digits (256 bits)
COMMON_PASSWORDS = Path(__file__).with_name("common_passwords.txt")
_PLACEHOLDER = re.compile(r"replace|change|example|secret|placeholder|random|your|key|xxx|todo|default",
                          re.IGNORECASE)
COOKIE_KEY_ENV = "DEBTOR_DESK_COOKIE_KEY"


class UserError(Problem):
    pass


def users_path() -> Path:
    return Path(os.environ.get("DEBTOR_DESK_USERS", PROJECT_ROOT / "data" / "users.yaml"))


def valid_username(username: str) -> bool:
    return bool(_USERNAME.match(username or ""))


def role_at_least(role: str | None, needed: str) -> bool:
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)


def role_of(roles: list[str] | None) -> str | None:
    """The highest of our roles in a user's role list."""
    known = [r for r in (roles or []) if r in ROLES]
    return max(known, key=ROLES.index) if known else None


def load(path: Path | None = None) -> dict:
    """The file's contents (cookie and credentials), empty ones when there is no file."""
    path = path or users_path()
    if not path.is_file():
        return {"cookie": {}, "credentials": {"usernames": {}}}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    data.setdefault("cookie", {})
    data.setdefault("credentials", {}).setdefault("usernames", {})
    if data["credentials"]["usernames"] is None:
        data["credentials"]["usernames"] = {}
    return data


def hash_password(password: str) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt()).decode()


def password_matches(password: str, hashed: str | None) -> bool:
    try:
        return bool(hashed) and bcrypt.checkpw((password or "").encode(), hashed.encode())
    except ValueError:  # not a bcrypt hash (the example file's placeholder)
        return False


def new_password() -> str:
    return secrets.token_urlsafe(12)  # 16 characters


def new_cookie_key() -> str:
    return secrets.token_hex(32)


@functools.lru_cache(maxsize=1)
def _common() -> frozenset[str]:
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(w.strip().lower() for w in lines if w.strip() and not w.startswith("#"))


def password_refusal(username: str, password: str) -> UserError | None:
    """Why a password chosen for `username` is refused, or None: at least MIN_PASSWORD characters, not
    the user name (nor built from it), not a common password (nor one with a few digits added)."""
    if len(password or "") < MIN_PASSWORD:
        return UserError(N_("a password needs at least {minimum} characters (this one has {length})"),
                         minimum=MIN_PASSWORD, length=len(password or ""))
    low = password.lower()
    if username and username.lower() in low and len(low) - len(username) < MIN_PASSWORD:
        return UserError(N_("a password must not be the user name or built from it"))
    base = low.rstrip("0123456789!?.")
    if low in _common() or base in _common() or len(set(low)) < 4:
        return UserError(N_("this is one of the most common passwords, tried first by anyone guessing; choose another"))
    return None


def password_problem(username: str, password: str) -> str | None:
    """The refusal of `password_refusal` in words, or None."""
    refusal = password_refusal(username, password)
    return None if refusal is None else str(refusal)


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


def configured_cookie_key() -> tuple[str, str] | None:
    """The login-cookie key set by the administrator, with where it was set: the environment variable
    DEBTOR_DESK_COOKIE_KEY, else `[login] cookie_key` in .streamlit/secrets.toml; None when neither is set
    (then the key made for this installation, kept in the database, signs the logins)."""
    if os.environ.get(COOKIE_KEY_ENV):
        return os.environ[COOKIE_KEY_ENV], f"the environment variable {COOKIE_KEY_ENV}"
    key = secrets_section("login").get("cookie_key")
    if key is not None:
        return str(key), "[login] cookie_key in .streamlit/secrets.toml"
    return None
