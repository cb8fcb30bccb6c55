"""SMTP settings: `[smtp]` in .streamlit/secrets.toml, overridden by SMTP_* environment variables; and
the outbox folder (DEBTOR_DESK_OUTBOX) used instead of a server.

Nothing here ever asks for a password: a user without a password is a configuration error."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from db.engine import PROJECT_ROOT, secrets_section
from receivables.domain.contacts import AddressError, parse_mailbox
from receivables.domain.errors import Problem

SECURITY = ("ssl", "starttls", "none")
DEFAULT_PORTS = {"ssl": 465, "starttls": 587, "none": 25}

# field -> (environment variable, key in [smtp])
SOURCES = {
    "host": ("SMTP_HOST", "host"),
    "port": ("SMTP_PORT", "port"),
    "security": ("SMTP_SECURITY", "security"),
    "user": ("SMTP_USER", "user"),
    "password": ("SMTP_PASSWORD", "password"),
    "from_addr": ("SMTP_FROM", "from"),
    "reply_to": ("SMTP_REPLY_TO", "reply_to"),
    "rate_per_minute": ("SMTP_RATE_PER_MINUTE", "rate_per_minute"),
    "max_attempts": ("SMTP_MAX_ATTEMPTS", "max_attempts"),
    "retry_seconds": ("SMTP_RETRY_SECONDS", "retry_seconds"),
    "timeout": ("SMTP_TIMEOUT", "timeout"),
}


class SmtpConfigError(Problem):
    """The SMTP settings are incomplete or wrong; the message names the setting to fix. (The sender's
    services say it as a ServiceError.)"""


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    security: str  # ssl | starttls | none
    user: str | None
    password: str | None
    from_addr: str  # "Name <address>" or an address
    reply_to: str | None
    rate_per_minute: int = 60  # 0 = no limit
    max_attempts: int = 3  # for temporary failures, the first try included
    retry_seconds: float = 30.0  # first wait; doubles with every further try
    timeout: float = 30.0
    sources: dict[str, str] = field(default_factory=dict, compare=False)  # field -> where it came from

    def summary(self) -> list[tuple[str, str, str]]:
        """(setting, value as shown, source) rows for the page; the password is never shown."""
        shown = {
            "host": self.host, "port": str(self.port), "security": self.security, "user": self.user or "(none)",
            "password": "set" if self.password else "(none)", "from_addr": self.from_addr,
            "reply_to": self.reply_to or "(same as From)",
            "rate_per_minute": f"{self.rate_per_minute} per minute" if self.rate_per_minute else "no limit",
            "max_attempts": str(self.max_attempts), "retry_seconds": f"{self.retry_seconds:g} s",
            "timeout": f"{self.timeout:g} s",
        }
        return [(SOURCES[k][0], v, self.sources.get(k, "default")) for k, v in shown.items()]


def _raw(environ: Mapping[str, str], secrets: Mapping) -> tuple[dict[str, str], dict[str, str]]:
    values, sources = {}, {}
    for name, (env, key) in SOURCES.items():
        if environ.get(env, "").strip():
            values[name], sources[name] = environ[env].strip(), "environment"
        elif secrets.get(key) not in (None, ""):
            values[name], sources[name] = str(secrets[key]).strip(), "secrets.toml"
    return values, sources


def _number(values: dict, name: str, default, kind=int, minimum=0):
    if name not in values:
        return default
    try:
        value = kind(values[name])
    except ValueError:
        raise SmtpConfigError(f"{SOURCES[name][0]} must be a number, not {values[name]!r}") from None
    if value < minimum:
        raise SmtpConfigError(f"{SOURCES[name][0]} must be at least {minimum}")
    return value


def load_smtp_config(environ: Mapping[str, str] | None = None, secrets: Mapping | None = None) -> SmtpConfig | None:
    """The SMTP settings, or None when no server is configured (no host). Raises SmtpConfigError
    when a server is configured but a setting is missing or wrong."""
    environ = os.environ if environ is None else environ
    secrets = secrets_section("smtp") if secrets is None else secrets
    values, sources = _raw(environ, secrets)
    if "host" not in values:
        return None
    security = values.get("security", "").lower()
    port_given = _number(values, "port", None, minimum=1)
    if not security:
        security = {465: "ssl", 25: "none"}.get(port_given, "starttls")
    if security not in SECURITY:
        raise SmtpConfigError(f"SMTP_SECURITY must be one of {', '.join(SECURITY)}, not {security!r}")
    port = port_given or DEFAULT_PORTS[security]
    if port > 65535:
        raise SmtpConfigError("SMTP_PORT must be at most 65535")
    user, password = values.get("user"), values.get("password")
    if user and not password:
        raise SmtpConfigError("SMTP_USER is set but there is no password: set SMTP_PASSWORD (or password in "
                              "[smtp] of .streamlit/secrets.toml), or remove the user to send without logging in")
    from_addr = values.get("from_addr") or (user if user and "@" in user else None)
    if not from_addr:
        raise SmtpConfigError("the sender address is missing: set SMTP_FROM (or from in [smtp]), e.g. "
                              "'Accounts receivable <ar@example.com>'")
    try:  # the one address check there is
        parse_mailbox(from_addr)
        if values.get("reply_to"):
            parse_mailbox(values["reply_to"])
    except AddressError as exc:
        raise SmtpConfigError(f"SMTP_FROM / SMTP_REPLY_TO: {exc}") from None
    return SmtpConfig(
        host=values["host"], port=port, security=security, user=user or None, password=password or None,
        from_addr=from_addr, reply_to=values.get("reply_to") or None,
        rate_per_minute=_number(values, "rate_per_minute", 60),
        max_attempts=_number(values, "max_attempts", 3, minimum=1),
        retry_seconds=_number(values, "retry_seconds", 30.0, float),
        timeout=_number(values, "timeout", 30.0, float, minimum=1),
        sources=sources,
    )


def outbox_dir() -> str:
    """Where .eml files go when no SMTP server is configured."""
    return os.environ.get("DEBTOR_DESK_OUTBOX") or str(PROJECT_ROOT / "data" / "outbox")
