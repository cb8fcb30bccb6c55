"""The debtor's portal: its public address (`[portal] url` in .streamlit/secrets.toml, or PORTAL_URL) and
the key its links are signed with (`[portal] secret_key`, or PORTAL_SECRET_KEY). No address: reminders
carry no link. An address with a missing, short or placeholder key is a configuration error."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from db.engine import secrets_section
from receivables.domain import portal as rules
from receivables.domain.errors import Problem


class PortalConfigError(Problem):
    """The portal's settings are wrong; the message names the setting to fix."""


@dataclass(frozen=True)
class PortalConfig:
    url: str | None  # None: no links in reminders
    secret_key: str | None
    token_days: int = rules.TOKEN_DAYS

    def signing_key(self) -> str:
        problem = rules.key_problem(self.secret_key)
        if problem:
            raise PortalConfigError("{problem}: set PORTAL_SECRET_KEY (or secret_key in [portal] of "
                                    ".streamlit/secrets.toml) to a random text of at least {n} characters, e.g. "
                                    "from `python -c \"import secrets; print(secrets.token_urlsafe(48))\"`",
                                    problem=problem, n=rules.MIN_KEY_LENGTH)
        return self.secret_key.strip()


def _value(environ: Mapping[str, str], secrets: Mapping, env: str, key: str) -> str | None:
    if environ.get(env, "").strip():
        return environ[env].strip()
    value = secrets.get(key)
    return str(value).strip() if value not in (None, "") else None


def load_portal_config(environ: Mapping[str, str] | None = None, secrets: Mapping | None = None) -> PortalConfig:
    """The portal's settings. PortalConfigError when the address is set but not usable, or its key is not."""
    environ = os.environ if environ is None else environ
    secrets = secrets_section("portal") if secrets is None else secrets
    try:
        url = rules.clean_base_url(_value(environ, secrets, "PORTAL_URL", "url"))
    except rules.PortalError as exc:
        raise PortalConfigError(exc.msgid, **exc.params) from None
    days = _value(environ, secrets, "PORTAL_TOKEN_DAYS", "token_days")
    try:
        token_days = int(days) if days else rules.TOKEN_DAYS
    except ValueError:
        raise PortalConfigError("PORTAL_TOKEN_DAYS must be a number of days, not {value}", value=days) from None
    config = PortalConfig(url, _value(environ, secrets, "PORTAL_SECRET_KEY", "secret_key"), max(1, token_days))
    if url:
        config.signing_key()
    return config
