"""Reading a debtor's reply saved as an `.eml` file, with the standard library only. Pure: bytes in,
a ParsedEmail out."""

from __future__ import annotations

import email
import re
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import getaddresses
from html.parser import HTMLParser

from receivables.domain.errors import Problem
from receivables.domain.replies import header_text, mail_date, message_ids

MAX_EML_BYTES = 15 * 1024 * 1024


class EmlError(Problem):
    """The upload is not an e-mail we can read; the message says what to do."""


@dataclass(frozen=True)
class ParsedEmail:
    from_name: str
    from_address: str
    sent_at: datetime | None  # UTC, naive
    subject: str
    body: str
    attachments: list[str] = field(default_factory=list)
    message_id: str | None = None
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)

    @property
    def sender(self) -> str:
        if self.from_name and self.from_address:
            return f"{self.from_name} <{self.from_address}>"
        return self.from_address or self.from_name or "unknown sender"

    @property
    def answers(self) -> list[str]:
        """Message-IDs this e-mail replies to, the direct parent first."""
        seen, out = set(), []
        for mid in [*self.in_reply_to, *reversed(self.references)]:
            if mid not in seen:
                seen.add(mid)
                out.append(mid)
        return out


def parse_eml(raw: bytes) -> ParsedEmail:
    """From, date, subject, the plain-text body (or the HTML body as text) and attachment names."""
    if not raw or not raw.strip():
        raise EmlError("the file is empty; save the e-mail as .eml from your mail program and upload that")
    if len(raw) > MAX_EML_BYTES:
        raise EmlError(f"the e-mail is larger than {MAX_EML_BYTES // (1024 * 1024)} MB; "
                       "paste its text instead")
    msg = email.message_from_bytes(raw, policy=policy.default)
    from_header = header_text(msg, "From")
    if not from_header:
        raise EmlError("this file has no From header, so it is not a saved e-mail; save the message as "
                       ".eml from your mail program, or paste its text instead")
    pairs = getaddresses([from_header])
    name, address = pairs[0] if pairs else ("", from_header)
    body_part = _body_part(msg)
    return ParsedEmail(
        from_name=name.strip(),
        from_address=address.strip(),
        sent_at=mail_date(header_text(msg, "Date")),
        subject=header_text(msg, "Subject").strip(),
        body=_text_of(body_part) if body_part is not None else "",
        attachments=_attachments(msg, body_part),
        message_id=next(iter(message_ids(header_text(msg, "Message-ID"))), None),
        in_reply_to=message_ids(header_text(msg, "In-Reply-To")),
        references=message_ids(header_text(msg, "References")),
    )




def _body_part(msg: EmailMessage):
    try:
        part = msg.get_body(preferencelist=("plain", "html"))
    except Exception:  # noqa: BLE001
        part = None
    if part is None and not msg.is_multipart() and msg.get_content_maintype() == "text":
        part = msg
    return part


def _text_of(part) -> str:
    try:
        content = part.get_content()
    except Exception:  # noqa: BLE001 - unknown charset or broken transfer encoding
        payload = part.get_payload(decode=True) or b""
        content = payload.decode(part.get_content_charset() or "utf-8", errors="replace")
    if isinstance(content, bytes):
        content = content.decode("utf-8", errors="replace")
    if part.get_content_subtype() == "html":
        content = html_to_text(content)
    return content.replace("\r\n", "\n").strip()


def _attachments(msg: EmailMessage, body_part) -> list[str]:
    names = []
    for part in msg.walk():
        if part is body_part or part.is_multipart():
            continue
        filename = part.get_filename()
        disposition = part.get_content_disposition()
        if filename:
            names.append(filename)
        elif disposition == "attachment":
            names.append(f"unnamed {part.get_content_type()}")
        elif part.get_content_maintype() not in ("text",) and part is not msg:
            names.append(f"unnamed {part.get_content_type()}")
    return names


class _TextExtractor(HTMLParser):
    BLOCKS = {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "table"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "head", "title"):
            self._skip += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in ("script", "style", "head", "title"):
            self._skip = max(0, self._skip - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """The readable text of an HTML mail body: tags, scripts and styles dropped."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    text = "".join(parser.parts)
    lines = [re.sub(r"[ \t\xa0]+", " ", line).strip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
