"""The transports: hand a built message to the SMTP server over one connection per batch (opened by
yagmail), or write it as an .eml file into the outbox folder; and the outcome of each delivery, in words a
finance team can act on. The only code that talks SMTP."""

from __future__ import annotations

import os
import re
import smtplib
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import yagmail

from emails.mime import BuiltMail
from receivables.domain.phrases import Phrase, joined
from receivables.domain.phrasing import Said, said
from receivables.domain.translation import N_

_CRLF = b"\r\n"

# --- outcomes ----------------------------------------------------------------------------------------

SENT, TEMPORARY, PERMANENT, UNCERTAIN = "sent", "temporary", "permanent", "uncertain"


@dataclass(frozen=True)
class Delivery:
    """What happened to one message: sent, temporary (try again later), permanent (do not retry),
    or uncertain (the connection broke after the server had the whole message)."""
    outcome: str
    detail: str = ""  # English, with its phrase for a page (a Said); the server's own reply in it verbatim
    refused: dict[str, str] = field(default_factory=dict)  # recipients refused while others took it
    reply: str = ""  # the server's answer to the message ("250 2.0.0 Ok: queued as 4Bx…"), its queue id in it


class TransportUnavailable(Exception):
    """The server cannot be reached or refuses the session; `permanent` when retrying will not help
    (wrong password, no TLS), so the whole run stops."""

    def __init__(self, message: str, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


def _reply_text(code: int, resp: bytes | str) -> str:
    text = resp.decode("utf-8", "replace") if isinstance(resp, bytes) else str(resp)
    return f"{code} {' '.join(text.split())}".strip()


def describe_smtp_error(exc: BaseException) -> Said:
    """An SMTP or network error in words a finance team can act on (what the server or the system said
    stays in its own words)."""
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return said(N_("the server refused the login ({reply}): check SMTP_USER and SMTP_PASSWORD"),
                    reply=_reply_text(exc.smtp_code, exc.smtp_error))
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return said(N_("the server does not support this: {error}; check SMTP_SECURITY"), error=str(exc))
    if isinstance(exc, smtplib.SMTPResponseException):
        return said(N_("the server answered {reply}"), reply=_reply_text(exc.smtp_code, exc.smtp_error))
    if isinstance(exc, ConnectionRefusedError):
        return said(N_("the connection was refused: the server is down or the host/port is wrong"))
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return said(N_("the server did not answer in time"))
    if isinstance(exc, socket.gaierror):
        return said(N_("the host name cannot be found ({error}); check SMTP_HOST"), error=str(exc.strerror or exc))
    if isinstance(exc, ssl.SSLError):
        return said(N_("the TLS handshake failed ({error}); check SMTP_SECURITY and SMTP_PORT"),
                    error=str(exc.reason or exc))
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return said(N_("the server closed the connection"))
    if isinstance(exc, OSError):
        return said(N_("network error: {error}"), error=str(exc.strerror or exc))
    return Said(f"{type(exc).__name__}: {exc}")


REFUSED_SENDER = N_("the server refused the sender: {reply}")
REFUSED_MESSAGE = N_("the server refused the message: {reply}")


def _classify(code: int, resp, what: str) -> Delivery:
    outcome = TEMPORARY if 400 <= code < 500 else PERMANENT
    return Delivery(outcome, said(what, reply=_reply_text(code, resp)))


def _refusals(msgid: str, refused: dict[str, str]):
    """Each refused recipient with the server's reply, one phrase each, joined by "; "."""
    return joined((Phrase(msgid, {"address": a, "reply": r}) for a, r in refused.items()), "; ")


def _refused(recipients, answers) -> dict[str, str]:
    """The recipients the server refused, with its words."""
    return {rcpt: _reply_text(code, resp) for rcpt, (code, resp) in zip(recipients, answers, strict=True)
            if code not in (250, 251)}


def _taken(answers) -> bool:
    """Whether the server took any recipient."""
    return any(code in (250, 251) for code, _ in answers)


def _nobody(refused: dict[str, str], answers) -> Delivery:
    """Every recipient refused: temporary when any refusal was."""
    temporary = any(400 <= code < 500 for code, _ in answers)
    detail = said(N_("the server refused {refusals}"), refusals=_refusals(N_("{address} ({reply})"), refused))
    return Delivery(TEMPORARY if temporary else PERMANENT, detail, refused)


_LEADING_DOT = re.compile(rb"(?m)^\.")


def _dot_stuffed(data: bytes) -> bytes:
    if data[:1] == b"." or b"\n." in data:
        data = _LEADING_DOT.sub(b"..", data)
    if not data.endswith(_CRLF):
        data += _CRLF
    return data + b"." + _CRLF


def _answer(smtp, meanwhile: Callable[[], None] | None):
    """The server's reply to what was just sent; `meanwhile` runs first, while the server works on it."""
    if meanwhile is not None:
        meanwhile()
    return smtp.getreply()


# --- transports ----------------------------------------------------------------------------------------

class _Client(yagmail.SMTP):
    """yagmail's connection (ssl, starttls or none, login when a user is set), minus its password lookup."""

    @staticmethod
    def handle_password(user, password):  # never keyring, never a prompt
        if password is None:
            raise TransportUnavailable(said(N_("no password for {user}; set SMTP_PASSWORD"), user=user), permanent=True)
        return password


class SmtpTransport:
    """One SMTP connection (opened by yagmail: ssl, starttls or none, login when a user is set) reused
    for a whole batch. `deliver` speaks MAIL/RCPT/DATA itself so that it knows whether the server
    already had the whole message when something broke."""

    kind = "smtp"

    def __init__(self, host: str, port: int, security: str = "starttls", user: str | None = None,
                 password: str | None = None, timeout: float = 30.0):
        if security not in ("ssl", "starttls", "none"):
            raise ValueError(f"security must be ssl, starttls or none, not {security!r}")
        self.host, self.port, self.security = host, int(port), security
        self.user, self.password, self.timeout = user, password, timeout
        self._client = None
        self.connections = 0  # how many times a connection was opened

    @classmethod
    def from_config(cls, cfg) -> SmtpTransport:
        return cls(cfg.host, cfg.port, cfg.security, cfg.user, cfg.password, cfg.timeout)

    def client(self):
        """A yagmail client for these settings, not yet connected."""
        return _Client(
            user=self.user or "", password=self.password, host=self.host, port=self.port,
            smtp_ssl=self.security == "ssl", smtp_starttls=self.security == "starttls",
            smtp_skip_login=not self.user, soft_email_validation=False, timeout=self.timeout)

    @property
    def is_open(self) -> bool:
        return self._client is not None

    def open(self) -> None:
        """Connect (and log in) unless connected; raises TransportUnavailable."""
        if self._client is not None:
            return
        client = self.client()
        client.set_logging(None)
        try:
            client.login()
        except TransportUnavailable:
            raise
        except (smtplib.SMTPAuthenticationError, smtplib.SMTPNotSupportedError, ssl.SSLError,
                socket.gaierror) as exc:
            self._close_quietly(client)
            raise TransportUnavailable(describe_smtp_error(exc), permanent=True) from exc
        except smtplib.SMTPResponseException as exc:
            self._close_quietly(client)
            raise TransportUnavailable(describe_smtp_error(exc),
                                       permanent=exc.smtp_code >= 500) from exc
        except (OSError, smtplib.SMTPException) as exc:
            self._close_quietly(client)
            raise TransportUnavailable(describe_smtp_error(exc)) from exc
        self._client = client
        self.connections += 1

    @staticmethod
    def _close_quietly(client) -> None:
        try:
            if client.smtp is not None:
                client.smtp.close()
        except Exception:  # noqa: BLE001 — already broken
            pass
        client.is_closed = True

    def _drop(self) -> None:
        if self._client is not None:
            self._close_quietly(self._client)
        self._client = None

    def _reset(self) -> None:
        try:
            self._client.smtp.rset()
        except Exception:  # noqa: BLE001 — a connection that cannot reset is dropped
            self._drop()

    def _envelope(self, smtp, mail: BuiltMail, meanwhile, step) -> Delivery | dict[str, str]:
        """MAIL, RCPT and DATA, each answered before the next goes: the recipients refused while others
        took it, or the Delivery that ends the conversation here (the transaction reset)."""
        # the addresses were checked when the message was built: no parsing again (smtplib's
        # quoteaddr) for each command
        smtp.putcmd("mail", f"FROM:<{mail.envelope_from}>")
        if step is not None:  # noted while the server reads the command
            step("begin")
        code, resp = _answer(smtp, meanwhile)
        if code != 250:
            self._reset()
            return _classify(code, resp, REFUSED_SENDER)
        answers = []
        for rcpt in mail.recipients:
            smtp.putcmd("rcpt", f"TO:<{rcpt}>")
            answers.append(_answer(smtp, meanwhile))
        refused = _refused(mail.recipients, answers)
        if not _taken(answers):
            self._reset()
            return _nobody(refused, answers)
        smtp.putcmd("data")
        if step is not None:  # on record before the message itself can go out
            step("data")
        code, resp = _answer(smtp, meanwhile)
        if code != 354:
            self._reset()
            return _classify(code, resp, REFUSED_MESSAGE)
        return refused

    def _envelope_pipelined(self, smtp, mail: BuiltMail, meanwhile, step) -> Delivery | dict[str, str]:
        """The same with the server's PIPELINING (RFC 2920): the commands go in one write and their
        replies are read after it, so a message waits for the server twice instead of four times."""
        commands = [f"MAIL FROM:<{mail.envelope_from}>", *(f"RCPT TO:<{r}>" for r in mail.recipients), "DATA"]
        smtp.send("".join(f"{c}\r\n" for c in commands))
        if step is not None:  # on record before the message itself can go out
            step("begin")
            step("data")
        answers = [_answer(smtp, meanwhile) for _ in commands]
        (code, resp), rcpts, (data_code, data_resp) = answers[0], answers[1:-1], answers[-1]
        refused = _refused(mail.recipients, rcpts)
        if code == 250 and _taken(rcpts) and data_code == 354:
            return refused
        if data_code == 354:  # the server waits for a message nobody is to get: an empty one ends it
            smtp.send(b"." + _CRLF)
            smtp.getreply()
        self._reset()
        if code != 250:
            return _classify(code, resp, REFUSED_SENDER)
        if not _taken(rcpts):
            return _nobody(refused, rcpts)
        return _classify(data_code, data_resp, REFUSED_MESSAGE)

    def deliver(self, mail: BuiltMail, meanwhile: Callable[[], None] | None = None,
                step: Callable[[str], None] | None = None) -> Delivery:
        """Hand one message to the server. Never raises for SMTP or network trouble: the outcome says
        what happened. Raises TransportUnavailable only when no connection can be made. `meanwhile` is
        called after each command (and after the message itself) is on its way, while the server has yet
        to answer: the caller does a piece of its own work in each of those waits (prepares the next
        message, claims, writes records) instead of after the conversation. `step` is told "begin" once MAIL
        FROM is on its way and "data" once the DATA command is, before the message itself goes out: until
        then nothing of it can be delivered."""
        self.open()
        smtp = self._client.smtp
        handed_over = False
        try:
            smtp.ehlo_or_helo_if_needed()
            pipelined = smtp.does_esmtp and smtp.has_extn("pipelining")
            refused = (self._envelope_pipelined if pipelined else self._envelope)(smtp, mail, meanwhile, step)
            if isinstance(refused, Delivery):
                return refused
            smtp.send(_dot_stuffed(mail.data))
            handed_over = True
            code, resp = _answer(smtp, meanwhile)
            if code != 250:
                self._reset()
                return _classify(code, resp, REFUSED_MESSAGE)
            detail = Said(_refusals(N_("refused {address} ({reply})"), refused)) if refused else ""
            return Delivery(SENT, detail, refused, _reply_text(code, resp))
        except (smtplib.SMTPException, OSError) as exc:
            self._drop()
            if handed_over:
                return Delivery(UNCERTAIN, said(N_("{error} after it had the whole message; check whether it "
                                                   "arrived before sending it again"),
                                                error=describe_smtp_error(exc).phrase))
            return Delivery(TEMPORARY, describe_smtp_error(exc))

    def close(self) -> None:
        if self._client is not None:
            try:
                self._client.smtp.quit()
            except Exception:  # noqa: BLE001
                pass
            self._drop()

    def __enter__(self) -> SmtpTransport:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


WRITTEN_TO = N_("written to {path}")


class OutboxTransport:
    """Writes each message as an .eml file into a folder instead of sending it."""

    kind = "outbox"

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        self.connections = 0

    @property
    def is_open(self) -> bool:
        return True

    def open(self) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise TransportUnavailable(said(N_("the outbox folder {folder} cannot be created: {error}"),
                                            folder=str(self.folder), error=str(exc.strerror)), permanent=True) from exc

    def deliver(self, mail: BuiltMail, meanwhile: Callable[[], None] | None = None,
                step: Callable[[str], None] | None = None) -> Delivery:
        """Write the message; there is no server to wait for, so `meanwhile` is not called."""
        self.open()
        if step is not None:
            step("begin")
            step("data")
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        name = re.sub(r"[^A-Za-z0-9.-]", "_", mail.message_id.strip("<>").split("@")[0])
        path = self.folder / f"{stamp}-{name}.eml"
        tmp = path.with_suffix(".tmp")
        try:
            tmp.write_bytes(mail.data)
            os.replace(tmp, path)
        except OSError as exc:
            return Delivery(TEMPORARY, said(N_("cannot write {path}: {error}"), path=str(path), error=str(exc.strerror)))
        return Delivery(SENT, said(WRITTEN_TO, path=str(path)))

    def close(self) -> None:
        pass

    def __enter__(self) -> OutboxTransport:
        return self

    def __exit__(self, *exc) -> None:
        pass
