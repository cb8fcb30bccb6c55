"""The team mailbox's IMAP settings: `[imap]` in .streamlit/secrets.toml, overridden by IMAP_* environment
variables (host, port, security, user, password, folder, processed_folder, timeout; see emails/imap.py)."""

from __future__ import annotations

import os
from collections.abc import Mapping

from db.engine import secrets_section
from emails.imap import ENVIRONMENT, ImapConfigError, ImapSettings, settings_from
from receivables.services.errors import ServiceError


class MailboxConfigError(ServiceError):
    """The IMAP settings are incomplete or wrong; the message names the setting to fix."""


def configured(environ: Mapping[str, str] | None = None, secrets: Mapping | None = None) -> bool:
    """Whether a team mailbox is set up at all (a host is given)."""
    environ = os.environ if environ is None else environ
    secrets = secrets_section("imap") if secrets is None else secrets
    return bool(environ.get(ENVIRONMENT["host"], "").strip() or str(secrets.get("host") or "").strip())


def load_imap_settings(environ: Mapping[str, str] | None = None,
                       secrets: Mapping | None = None) -> ImapSettings | None:
    """The IMAP settings, or None when no mailbox is configured (no host). Raises MailboxConfigError
    when a mailbox is configured but a setting is missing or wrong."""
    environ = os.environ if environ is None else environ
    secrets = secrets_section("imap") if secrets is None else secrets
    if not configured(environ, secrets):
        return None
    try:
        return settings_from(environ, secrets)
    except ImapConfigError as exc:
        raise MailboxConfigError(str(exc)) from None


def sources(environ: Mapping[str, str] | None = None, secrets: Mapping | None = None) -> list[tuple[str, str]]:
    """(environment variable, where its value comes from) for each setting, for a settings screen; the
    values themselves (the password) are never shown."""
    environ = os.environ if environ is None else environ
    secrets = secrets_section("imap") if secrets is None else secrets
    out = []
    for name, variable in ENVIRONMENT.items():
        if environ.get(variable, "").strip():
            out.append((variable, "environment"))
        elif str(secrets.get(name) or "").strip():
            out.append((variable, "secrets.toml"))
        else:
            out.append((variable, "default"))
    return out
