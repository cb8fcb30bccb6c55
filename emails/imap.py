"""The team mailbox over IMAP, read with imap-tools.

Messages are read from one folder and, once the caller has stored them, moved to a processed folder,
so a message is read twice only when a fetch was interrupted between storing and moving. The caller
therefore keys what it stored by Message-ID and the folder's UIDVALIDITY (`FetchedMessage.key`) and
moves a message it already holds without storing it again.

Settings come from a mapping the caller builds (the `[imap]` section of secrets.toml, or IMAP_*
environment variables through `settings_from`); nothing here reads the environment itself."""

from __future__ import annotations

import imaplib
import socket
import ssl
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from email.parser import BytesHeaderParser

from imap_tools import MailBox, MailBoxStartTls, MailBoxUnencrypted, MailMessage
from imap_tools.errors import ImapToolsError, MailboxLoginError

from receivables.domain.errors import Problem

SECURITY = ("ssl", "starttls", "none")
DEFAULT_PORTS = {"ssl": 993, "starttls": 143, "none": 143}
DEFAULT_FOLDER = "INBOX"
DEFAULT_PROCESSED_FOLDER = "Processed"

# setting -> environment variable; the key in [imap] is the setting's own name
ENVIRONMENT = {
    "host": "IMAP_HOST",
    "port": "IMAP_PORT",
    "security": "IMAP_SECURITY",
    "user": "IMAP_USER",
    "password": "IMAP_PASSWORD",
    "folder": "IMAP_FOLDER",
    "processed_folder": "IMAP_PROCESSED_FOLDER",
    "timeout": "IMAP_TIMEOUT",
}


class ImapConfigError(Problem):
    """The IMAP settings are incomplete or wrong; the message names the setting to fix."""


class ImapError(RuntimeError):
    """The mailbox could not be read; the message says what went wrong in words."""


@dataclass(frozen=True)
class ImapSettings:
    host: str
    user: str
    password: str
    port: int = DEFAULT_PORTS["ssl"]
    security: str = "ssl"  # ssl | starttls | none
    folder: str = DEFAULT_FOLDER
    processed_folder: str = DEFAULT_PROCESSED_FOLDER
    timeout: float = 30.0

    @classmethod
    def from_mapping(cls, values: Mapping[str, object]) -> ImapSettings:
        """Settings from `[imap]`-style keys (host, port, security, user, password, folder,
        processed_folder, timeout); raises ImapConfigError naming what to fix."""
        raw = {k: str(v).strip() for k, v in values.items() if v is not None and str(v).strip() != ""}
        missing = [k for k in ("host", "user", "password") if k not in raw]
        if missing:
            names = ", ".join(f"{k} ({ENVIRONMENT[k]})" for k in missing)
            raise ImapConfigError(f"IMAP settings incomplete: set {names} in [imap] of secrets.toml "
                                  "or as environment variables")
        security = raw.get("security", "ssl").lower()
        if security not in SECURITY:
            raise ImapConfigError(f"IMAP security {raw['security']!r} is not one of {', '.join(SECURITY)}; "
                                  "use ssl (port 993), starttls (port 143) or none (local test servers only)")
        port = _number(raw, "port", DEFAULT_PORTS[security], int)
        if not 0 < port < 65536:
            raise ImapConfigError(f"IMAP port {port} is out of range; use 993 for ssl or 143 for starttls")
        folder = raw.get("folder", DEFAULT_FOLDER)
        processed = raw.get("processed_folder", DEFAULT_PROCESSED_FOLDER)
        if folder == processed:
            raise ImapConfigError(f"IMAP folder and processed folder are both {folder!r}; the processed "
                                  "folder must differ, or every message would be read again")
        timeout = _number(raw, "timeout", 30.0, float)
        if timeout <= 0:
            raise ImapConfigError("IMAP timeout must be a positive number of seconds")
        return cls(host=raw["host"], user=raw["user"], password=raw["password"], port=port,
                   security=security, folder=folder, processed_folder=processed, timeout=timeout)


def settings_from(environ: Mapping[str, str], secrets: Mapping[str, object] | None = None) -> ImapSettings:
    """IMAP_* environment variables over the `[imap]` section of secrets.toml."""
    values = dict(secrets or {})
    for name, variable in ENVIRONMENT.items():
        if environ.get(variable, "").strip():
            values[name] = environ[variable]
    return ImapSettings.from_mapping(values)


def _number(raw: dict[str, str], name: str, default, kind):
    if name not in raw:
        return default
    try:
        return kind(raw[name])
    except ValueError:
        raise ImapConfigError(f"IMAP {name} {raw[name]!r} is not a number ({ENVIRONMENT[name]})") from None


@dataclass(frozen=True)
class FetchedMessage:
    uid: str
    uidvalidity: int
    folder: str
    raw: bytes

    @property
    def message_id(self) -> str | None:
        value = BytesHeaderParser().parsebytes(self.raw).get("Message-ID")
        value = str(value).strip().strip("<>").strip() if value else ""
        return value or None

    @property
    def key(self) -> str:
        """What the caller stores to recognise this message on a resumed fetch: Message-ID and
        UIDVALIDITY, or the UID when the sender left out the Message-ID."""
        message_id = self.message_id
        if message_id:
            return f"{self.uidvalidity}:{message_id}"
        return f"{self.uidvalidity}:uid:{self.uid}"


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    message: str


class _RawMessage(MailMessage):
    """Keeps the bytes as the server sent them; MailMessage only keeps a parsed copy."""

    def __init__(self, fetch_data: list) -> None:
        super().__init__(fetch_data)
        self.raw = self._get_message_data_parts(fetch_data)[0]


class _SslMailBox(MailBox):
    email_message_class = _RawMessage


class _StartTlsMailBox(MailBoxStartTls):
    email_message_class = _RawMessage


class _PlainMailBox(MailBoxUnencrypted):
    email_message_class = _RawMessage


_MAILBOX_CLASSES = {"ssl": _SslMailBox, "starttls": _StartTlsMailBox, "none": _PlainMailBox}


class ImapMailbox:
    """One logged-in connection to the team mailbox; use as a context manager."""

    def __init__(self, settings: ImapSettings):
        self.settings = settings
        self._box = None
        self.uidvalidity: int | None = None

    def __enter__(self) -> ImapMailbox:
        self._box = _connect(self.settings)
        try:
            if not self._box.folder.exists(self.settings.folder):
                raise ImapError(f"folder {self.settings.folder!r} does not exist on {self.settings.host}; "
                                "check the IMAP folder setting")
            self._box.folder.set(self.settings.folder)
            self.uidvalidity = self._box.folder.status(self.settings.folder, ["UIDVALIDITY"])["UIDVALIDITY"]
        except BaseException:
            self._logout()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self._logout()

    def _logout(self) -> None:
        if self._box is not None:
            try:
                self._box.logout()
            except (ImapToolsError, imaplib.IMAP4.error, OSError):
                pass  # the connection is gone either way
            self._box = None

    def fetch_new(self, limit: int | None = None) -> Iterator[FetchedMessage]:
        """The messages still in the folder, oldest UID first, without marking them read, so a
        person looking at the same mailbox still sees them as new until they are processed. Messages
        a person has flagged deleted are left alone."""
        box = self._require()
        for message in box.fetch("UNDELETED", mark_seen=False, limit=limit, bulk=False):
            yield FetchedMessage(uid=message.uid, uidvalidity=self.uidvalidity,
                                 folder=self.settings.folder, raw=message.raw)

    def mark_processed(self, uid: str) -> None:
        """Move one message to the processed folder, creating that folder on first use."""
        box = self._require()
        if not box.folder.exists(self.settings.processed_folder):
            box.folder.create(self.settings.processed_folder)
        box.move(uid, self.settings.processed_folder)

    def _require(self):
        if self._box is None:
            raise ImapError("the mailbox is not open; use `with ImapMailbox(settings) as mailbox:`")
        return self._box


def _connect(settings: ImapSettings):
    box = _reach(settings)
    _login(box, settings)
    return box


def _reach(settings: ImapSettings):
    """A connection to the server, not logged in yet."""
    box_class = _MAILBOX_CLASSES[settings.security]
    try:
        if settings.security == "none":
            box = box_class(settings.host, settings.port, timeout=settings.timeout)
        else:
            box = box_class(settings.host, settings.port, timeout=settings.timeout,
                            ssl_context=ssl.create_default_context())
    except ssl.SSLError as exc:
        raise ImapError(f"secure connection to {settings.host}:{settings.port} failed ({exc.reason}); "
                        "check the security setting: ssl on port 993, starttls on port 143") from exc
    except socket.gaierror as exc:
        raise ImapError(f"host {settings.host!r} is unknown; check the IMAP host") from exc
    except TimeoutError as exc:
        raise ImapError(f"no answer from {settings.host}:{settings.port} within {settings.timeout:g} s; "
                        "check the IMAP host, port and firewall") from exc
    except ConnectionRefusedError as exc:
        raise ImapError(f"{settings.host}:{settings.port} refused the connection; check the IMAP port "
                        "(993 for ssl, 143 for starttls) and that the server is running") from exc
    except (OSError, imaplib.IMAP4.error, ImapToolsError) as exc:
        raise ImapError(f"could not talk IMAP to {settings.host}:{settings.port} ({exc}); check the host, "
                        "port and security settings") from exc
    return box


def _login(box, settings: ImapSettings) -> None:
    try:
        box.login(settings.user, settings.password, initial_folder=None)
        _refresh_capabilities(box)
    except MailboxLoginError as exc:
        _close_quietly(box)
        raise ImapError(f"the server refused user {settings.user!r}: wrong user name or password "
                        "(check the IMAP user and password)") from exc
    except (OSError, imaplib.IMAP4.error, ImapToolsError) as exc:
        _close_quietly(box)
        raise ImapError(f"login to {settings.host}:{settings.port} failed ({exc})") from exc


def _refresh_capabilities(box) -> None:
    """Servers announce MOVE only after login; imaplib keeps the list from the greeting. With MOVE
    (RFC 6851) a processed message is moved in one step, instead of copy, flag and EXPUNGE, which
    would also expunge whatever a person had flagged deleted in the same folder."""
    status, data = box.client.capability()
    if status == "OK" and data and data[-1]:
        box.client.capabilities = tuple(data[-1].decode("ascii", "replace").upper().split())


def _close_quietly(box) -> None:
    try:
        box.client.shutdown()
    except (OSError, imaplib.IMAP4.error):
        pass


def check(settings: ImapSettings) -> CheckResult:
    """Whether these settings reach the mailbox, in words for the Settings page."""
    try:
        with ImapMailbox(settings) as mailbox:
            box = mailbox._require()
            waiting = box.folder.status(settings.folder, ["MESSAGES"])["MESSAGES"]
            processed = ("exists" if box.folder.exists(settings.processed_folder)
                         else "will be created on the first fetch")
    except ImapError as exc:
        return CheckResult(False, str(exc))
    except (OSError, imaplib.IMAP4.error, ImapToolsError) as exc:
        return CheckResult(False, f"the mailbox answered with an error ({exc})")
    return CheckResult(True, f"connected to {settings.host}:{settings.port} as {settings.user}; "
                             f"{waiting} message(s) waiting in {settings.folder!r}; "
                             f"processed folder {settings.processed_folder!r} {processed}")


@dataclass(frozen=True)
class Probe:
    """How far these settings get, step by step (None: the step was not reached), and in the words of
    the server or of this module what stopped them."""
    reachable: bool
    logged_in: bool | None = None
    folder_exists: bool | None = None
    waiting: int | None = None  # messages in the folder
    processed_exists: bool | None = None  # False: created on the first fetch
    problem: str = ""


def probe(settings: ImapSettings) -> Probe:
    """Try the settings one step at a time: the server reachable, the login accepted, the folder there."""
    try:
        box = _reach(settings)
    except ImapError as exc:
        return Probe(False, problem=str(exc))
    try:
        _login(box, settings)
    except ImapError as exc:
        return Probe(True, False, problem=str(exc))
    try:
        if not box.folder.exists(settings.folder):
            return Probe(True, True, False, problem=f"folder {settings.folder!r} does not exist on {settings.host}")
        waiting = box.folder.status(settings.folder, ["MESSAGES"])["MESSAGES"]
        return Probe(True, True, True, int(waiting), bool(box.folder.exists(settings.processed_folder)))
    except (OSError, imaplib.IMAP4.error, ImapToolsError) as exc:
        return Probe(True, True, problem=f"the mailbox answered with an error ({exc})")
    finally:
        try:
            box.logout()
        except (ImapToolsError, imaplib.IMAP4.error, OSError):
            pass
