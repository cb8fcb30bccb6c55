"""The MIME message of a reminder: From, Reply-To, To, Date, our Message-ID, plain text + HTML, the EPC QR
inline as `cid:epcqr`, attachments (a PDF letter, the statement of account), as the CRLF bytes the
transport hands over.

Every header value is checked or cleaned here: an address with a line break is refused, any other
value has its control characters replaced, so nothing a debtor or a person typed can add a header.

The bytes are put together here rather than by `email.message.EmailMessage` (policy SMTP): its header
objects and generator cost the sender 4 to 6 ms of CPU a message more, which took it to a fifth to a
third of a bare smtplib loop's throughput against a target of 0.8 (`python bench/bench_send.py
--email-message`; bench/RESULTS.md). tests/integration/test_send_mime.py reads every shape back with the
standard library's parser."""

from __future__ import annotations

import base64
import binascii
import functools
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from email.header import Header
from email.utils import format_datetime, formataddr

from receivables.domain.contacts import _CONTROL, AddressError, check_address, parse_mailbox

QR_CID = "epcqr"  # the HTML shows the EPC QR code as <img src="cid:epcqr">
_CRLF = b"\r\n"


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mime_type: str = "application/pdf"


@dataclass(frozen=True)
class OutgoingMail:
    from_addr: str  # "Name <address>" or an address
    to: tuple[str, ...]  # checked addresses
    subject: str
    text: str
    html: str = ""
    message_id: str = ""
    date: datetime | None = None  # aware; now when None
    reply_to: str | None = None
    qr_png: bytes | None = None  # shown where the HTML says cid:epcqr
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True)
class BuiltMail:
    """A message ready for the wire: envelope and the CRLF bytes of the message."""
    envelope_from: str
    recipients: tuple[str, ...]
    message_id: str
    data: bytes


def make_message_id(from_addr: str, key: str | int = "") -> str:
    """A globally unique Message-ID in the sender's domain; `key` (our message id) makes it traceable."""
    domain = _mailbox_header(from_addr)[1].rsplit("@", 1)[1]
    token = secrets.token_hex(8)
    return f"<debtordesk.{key}.{token}@{domain}>" if key != "" else f"<debtordesk.{token}@{domain}>"


def clean_header_text(value: str) -> str:
    """One line of text: control characters (CR, LF, tab…) become spaces, runs of spaces one."""
    return " ".join(_CONTROL.sub(" ", value or "").split())


def strip_qr_image(html: str) -> str:
    """The HTML without the <img> that points at the QR code (for when no QR can be made)."""
    return re.sub(rf"<img\b[^>]*cid:{QR_CID}[^>]*>", "", html or "", flags=re.IGNORECASE)


def build_mime(mail: OutgoingMail) -> BuiltMail:
    """The message as CRLF bytes: multipart/alternative (text, and HTML with the QR as a related
    inline image), inside multipart/mixed when there are attachments. Raises AddressError."""
    from_header, envelope_from = _mailbox_header(mail.from_addr)
    to = tuple(check_address(a) for a in mail.to)
    if not to:
        raise AddressError("there is no e-mail address to send to")
    message_id = mail.message_id or make_message_id(mail.from_addr)
    if _CONTROL.search(message_id) or not re.fullmatch(r"<[^<>\s@]+@[^<>\s@]+>", message_id):
        raise AddressError(f"{message_id!r} is not a valid Message-ID")
    when = mail.date or datetime.now(UTC)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    headers = [_date_header(when.replace(microsecond=0)), _header("From", from_header)]
    if mail.reply_to:
        headers.append(_header("Reply-To", _mailbox_header(mail.reply_to)[0]))
    headers += [
        _header("To", ",\r\n ".join(to)),
        _header("Subject", clean_header_text(mail.subject)),
        _header("Message-ID", message_id),
        b"MIME-Version: 1.0\r\n",
    ]
    token = secrets.token_hex(12)
    body = _body(mail, token)
    if mail.attachments:
        body = _multipart("mixed", [body, *(_attachment(a) for a in mail.attachments)], f"=_m{token}")
    return BuiltMail(envelope_from, to, message_id, b"".join(headers) + body)


def _body(mail: OutgoingMail, token: str) -> bytes:
    """The text, or multipart/alternative of the text and the HTML (with the QR image related to it)."""
    text_part = _leaf('text/plain; charset="utf-8"', _qp(mail.text), "quoted-printable")
    html = mail.html or ""
    if html and mail.qr_png is None and f"cid:{QR_CID}" in html.lower():
        html = strip_qr_image(html)
    if not html:
        return text_part
    html_part = _leaf('text/html; charset="utf-8"', _qp(html), "quoted-printable")
    if mail.qr_png is not None and f"cid:{QR_CID}" in html:
        image = _leaf("image/png", _b64(mail.qr_png), "base64",
                      (f"Content-ID: <{QR_CID}>", 'Content-Disposition: inline; filename="epc-qr.png"'))
        html_part = _multipart("related", [html_part, image], f"=_r{token}")
    return _multipart("alternative", [text_part, html_part], f"=_a{token}")


def _attachment(att: Attachment) -> bytes:
    name = _safe_filename(att.filename)
    if not re.fullmatch(r"[a-z]+/[a-z0-9.+-]+", att.mime_type):
        raise ValueError(f"{att.mime_type!r} is not a MIME type")
    return _leaf(f'{att.mime_type}; name="{name}"', _b64(att.content), "base64",
                 (f'Content-Disposition: attachment; filename="{name}"',))


def _header(name: str, value: str) -> bytes:
    if value.isascii() and len(value) + len(name) < 900:
        return f"{name}: {value}".encode("ascii") + _CRLF
    encoded = Header(value, "utf-8", header_name=name).encode(linesep="\r\n")
    return f"{name}: {encoded}".encode("ascii") + _CRLF


@functools.lru_cache(maxsize=64)
def _mailbox_header(value: str) -> tuple[str, str]:
    name, addr = parse_mailbox(value)
    return formataddr((clean_header_text(name), addr), charset="utf-8"), addr


@functools.lru_cache(maxsize=8)  # a batch sends many messages within one second
def _date_header(when: datetime) -> bytes:
    return _header("Date", format_datetime(when))


def _qp(text: str) -> bytes:
    body = text.replace("\r\n", "\n").replace("\r", "\n")
    if not body.endswith("\n"):
        body += "\n"
    return binascii.b2a_qp(body.encode("utf-8"), istext=True).replace(b"\n", _CRLF)


def _b64(data: bytes) -> bytes:
    return base64.encodebytes(data).replace(b"\n", _CRLF)


def _safe_filename(name: str) -> str:
    name = clean_header_text(name).replace('"', "'").replace("\\", "_").replace("/", "_")
    return name or "attachment"


def _leaf(content_type: str, body: bytes, cte: str, extra: tuple[str, ...] = ()) -> bytes:
    head = f"Content-Type: {content_type}\r\nContent-Transfer-Encoding: {cte}\r\n"
    head += "".join(h + "\r\n" for h in extra)
    return head.encode("ascii") + _CRLF + body


def _multipart(subtype: str, parts: list[bytes], boundary: str) -> bytes:
    out = [f'Content-Type: multipart/{subtype}; boundary="{boundary}"\r\n\r\n'.encode("ascii")]
    for part in parts:
        out.append(f"--{boundary}\r\n".encode("ascii"))
        out.append(part)
        out.append(_CRLF)  # belongs to the delimiter, so the part keeps its own last line break
    out.append(f"--{boundary}--\r\n".encode("ascii"))
    return b"".join(out)
