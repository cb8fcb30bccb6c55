"""What came back to the team mailbox: a debtor's reply, an auto-reply or a bounce.

Pure: raw bytes in, a typed `Reply` out (standard-library `email` with policy.default); the date the
mail is read on is a parameter. HTML-only mails are reduced to text with inscriptis, which renders
paragraphs, lists and tables as readable text and drops scripts, styles and markup, so what lands on
the timeline is plain text and cannot carry active content.

Classification follows RFC 3834 (Auto-Submitted) and the de-facto headers auto-responders set
(X-Autoreply, X-Autorespond, Precedence), then out-of-office subjects in Dutch, English, German and
French. Bounces are RFC 3464 delivery status notifications (multipart/report;
report-type=delivery-status), or the older MAILER-DAEMON mails that quote the original headers inline."""

from __future__ import annotations

import email
import re
import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email import policy
from email.message import EmailMessage, Message
from email.parser import HeaderParser
from email.utils import getaddresses, parsedate_to_datetime
from enum import StrEnum

from inscriptis import get_text

from receivables.domain.errors import Problem

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024


class ReplyKind(StrEnum):
    REPLY = "reply"
    AUTO_REPLY = "auto_reply"
    BOUNCE = "bounce"


@dataclass(frozen=True)
class Attachment:
    name: str
    content_type: str
    size: int
    data: bytes | None  # None when larger than the cap: the name and size are kept, the bytes not

    @property
    def too_large(self) -> bool:
        return self.data is None


@dataclass(frozen=True)
class Bounce:
    recipient: str | None
    action: str | None  # failed, for a bounce
    status: str | None  # enhanced status code, e.g. 5.1.1
    diagnostic: str | None  # the receiving server's words
    original_message_id: str | None


@dataclass(frozen=True)
class Reply:
    message_id: str | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    from_name: str
    from_address: str
    subject: str
    sent_at: datetime | None  # UTC, naive
    text: str
    attachments: tuple[Attachment, ...] = ()
    kind: ReplyKind = ReplyKind.REPLY
    reason: str = ""  # why it was classified so, in words
    return_date: date | None = None  # out-of-office: the day the person is back, when stated
    bounce: Bounce | None = None

    @property
    def answers(self) -> list[str]:
        """Message-IDs this mail refers to, the direct parent first."""
        seen, out = set(), []
        for mid in [*self.in_reply_to, *reversed(self.references)]:
            if mid not in seen:
                seen.add(mid)
                out.append(mid)
        return out


class ReplyError(Problem):
    """The bytes are not an e-mail we can read."""


def parse_reply(raw: bytes, *, today: date, max_attachment_bytes: int = MAX_ATTACHMENT_BYTES) -> Reply:
    """Read a raw message and say what it is. `today` anchors return dates stated without a year."""
    if not raw or not raw.strip():
        raise ReplyError("the message is empty")
    msg = email.message_from_bytes(raw, policy=policy.default)
    from_name, from_address = _from(msg)
    subject = header_text(msg, "Subject").strip()
    body_part = _body_part(msg)
    text = _text_of(body_part) if body_part is not None else ""
    base = dict(
        message_id=next(iter(message_ids(header_text(msg, "Message-ID"))), None),
        in_reply_to=tuple(message_ids(header_text(msg, "In-Reply-To"))),
        references=tuple(message_ids(header_text(msg, "References"))),
        from_name=from_name, from_address=from_address, subject=subject,
        sent_at=mail_date(header_text(msg, "Date")), text=text,
        attachments=tuple(_attachments(msg, body_part, max_attachment_bytes)),
    )
    bounce, dsn_reason = _delivery_status(msg)
    if bounce is None and dsn_reason is None:
        bounce = _inline_bounce(msg, from_address, subject, text)
    if bounce is not None:
        return Reply(**base, kind=ReplyKind.BOUNCE, reason="delivery failed", bounce=bounce)
    if dsn_reason:
        return Reply(**base, kind=ReplyKind.AUTO_REPLY, reason=dsn_reason)
    reason = auto_reply_reason(msg, subject)
    if reason:
        return Reply(**base, kind=ReplyKind.AUTO_REPLY, reason=reason,
                     return_date=return_date(f"{subject}\n{text}", today=today))
    return Reply(**base)


# ---------------------------------------------------------------- headers and parts

_MSG_ID = re.compile(r"<([^<>\s]+)>")
def message_ids(value: str | None) -> list[str]:
    """The Message-IDs in a header value, without angle brackets (a bare id is taken as one)."""
    if not value:
        return []
    found = _MSG_ID.findall(value)
    if found:
        return found
    bare = value.strip()
    return [bare] if bare and " " not in bare else []


def header_text(msg: Message, name: str) -> str:
    """A header as text; a malformed header is read raw rather than making the whole mail unreadable."""
    try:
        value = msg.get(name)
    except Exception:  # noqa: BLE001 - a malformed header must not make the whole mail unreadable
        value = next((v for k, v in msg.raw_items() if k.lower() == name.lower()), None)
    return "" if value is None else str(value)


def _from(msg: Message) -> tuple[str, str]:
    pairs = getaddresses([header_text(msg, "From")])
    name, address = pairs[0] if pairs else ("", "")
    return name.strip(), address.strip()


def mail_date(value: str) -> datetime | None:
    """A Date header as naive UTC, or None when it cannot be read."""
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is not None:
        when = when.astimezone(UTC).replace(tzinfo=None)
    return when


def _body_part(msg: EmailMessage):
    parts = msg.get_payload() if msg.get_content_type() == "multipart/report" and msg.is_multipart() else None
    if isinstance(parts, list) and parts:
        # the human-readable part of a report is its first part
        first = parts[0]
        return first.get_body(preferencelist=("plain", "html")) if first.is_multipart() else first
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
        payload = _payload_bytes(part)
        try:
            content = payload.decode(part.get_content_charset() or "utf-8", errors="replace")
        except (LookupError, ValueError):  # a charset name Python does not know
            content = payload.decode("utf-8", errors="replace")
    if isinstance(content, bytes):
        content = content.decode("utf-8", errors="replace")
    if part.get_content_subtype() == "html":
        content = html_to_text(content)
    return content.replace("\r\n", "\n").strip()


def _payload_bytes(part) -> bytes:
    try:
        return part.get_payload(decode=True) or b""
    except (LookupError, ValueError):  # a mangled charset parameter: keep the bytes as they came
        raw = part.get_payload(decode=False)
        return raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""


def html_to_text(html: str) -> str:
    """Readable plain text of an HTML body: no tags, scripts or styles; tables stay legible."""
    if not html.strip():
        return ""
    text = get_text(html)
    lines = textwrap.dedent("\n".join(line.rstrip() for line in text.splitlines()))
    return re.sub(r"\n{3,}", "\n\n", lines).strip()


def _attachments(msg: EmailMessage, body_part, cap: int) -> list[Attachment]:
    out = []
    for part in msg.walk():
        if part is body_part or part.is_multipart() or part is msg:
            continue
        if part.get_content_type() in ("message/delivery-status", "text/rfc822-headers", "message/rfc822"):
            continue
        filename = part.get_filename()
        if not filename and part.get_content_disposition() != "attachment":
            if part.get_content_maintype() == "text":
                continue  # the other alternative of the body, or its inline text
        data = _payload_bytes(part)
        out.append(Attachment(name=filename or f"unnamed.{part.get_content_subtype()}",
                              content_type=part.get_content_type(), size=len(data),
                              data=data if len(data) <= cap else None))
    return out


# ---------------------------------------------------------------- auto-replies

_AUTO_PRECEDENCE = {"auto_reply", "bulk", "junk"}

# Out-of-office subject openings as Outlook, Exchange, Gmail, Lotus and others write them.
_OOO_SUBJECT = re.compile(
    r"""^\s*(?:
        automatic\s+reply | auto(?:matic)?[\s-]?(?:reply|response) | autoreply | out\s+of\s+(?:the\s+)?office
      | away\s+from\s+(?:the\s+)?office | on\s+(?:vacation|holiday|leave)
      | automatisch\s+antwoord | automatisch\s+bericht | afwezig(?:heid(?:s(?:bericht|melding))?)?
      | niet\s+aanwezig | niet\s+op\s+kantoor | buiten\s+kantoor
      | automatische\s+antwort | abwesenheits(?:notiz|nachricht|meldung) | abwesend | nicht\s+im\s+b(?:ü|ue)ro
      | r(?:é|e)ponse\s+automatique | message\s+d'absence | absent(?:e)?\s+du\s+bureau | absence
    )\b""",
    re.IGNORECASE | re.VERBOSE,
)


def auto_reply_reason(msg: Message, subject: str) -> str | None:
    """Why this mail is an automatic answer, or None when a person wrote it."""
    auto_submitted = header_text(msg, "Auto-Submitted").split(";")[0].strip().lower()
    if auto_submitted and auto_submitted != "no":
        return f"Auto-Submitted: {auto_submitted}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponder", "X-Autoreply-From", "X-Mail-Autoreply"):
        value = header_text(msg, name).strip().lower()
        if value and value not in ("no", "false", "0"):
            return f"{name}: {value}"
    precedence = header_text(msg, "Precedence").strip().lower()
    if precedence in _AUTO_PRECEDENCE:
        return f"Precedence: {precedence}"
    if _OOO_SUBJECT.match(subject):
        return f"out-of-office subject: {subject}"
    return None


# ---------------------------------------------------------------- return dates

_MONTHS = {
    # nl
    "januari": 1, "februari": 2, "maart": 3, "mrt": 3, "mei": 5, "juni": 6, "juli": 7, "augustus": 8,
    "oktober": 10, "okt": 10,
    # en
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7, "august": 8,
    "september": 9, "october": 10, "november": 11, "december": 12,
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9, "oct": 10,
    "nov": 11, "dec": 12,
    # de
    "januar": 1, "jänner": 1, "februar": 2, "märz": 3, "maerz": 3, "mrz": 3, "mai": 5, "dezember": 12,
    "dez": 12,
    # fr
    "janvier": 1, "janv": 1, "février": 2, "fevrier": 2, "févr": 2, "fevr": 2, "mars": 3, "avril": 4,
    "avr": 4, "juin": 6, "juillet": 7, "juil": 7, "août": 8, "aout": 8, "septembre": 9, "octobre": 10,
    "novembre": 11, "décembre": 12, "decembre": 12, "déc": 12,
}
_MONTH = "|".join(sorted((re.escape(m) for m in _MONTHS), key=len, reverse=True))
_DATE_PATTERNS = (
    # 2027-01-12
    ("ymd", re.compile(r"\b(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})\b")),
    # 12 januari 2027, 12. Januar, 1er janvier, 12th of January 2027
    ("dmy", re.compile(rf"\b(?P<d>\d{{1,2}})(?:st|nd|rd|th|er|e|ste|de)?\.?\s*(?:of\s+)?(?P<mon>{_MONTH})\b\.?"
                       r"(?:,?\s+(?P<y>\d{4})\b)?", re.IGNORECASE)),
    # January 12, 2027
    ("mdy", re.compile(rf"\b(?P<mon>{_MONTH})\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(?P<y>\d{{4}})\b)?",
                       re.IGNORECASE)),
    # 12-01-2027, 12/01, 12.01.27 (day first, as written in nl/de/fr and British English)
    # (not part of a status code 5.1.1, an IP address or a time 12.30 uur)
    ("num", re.compile(r"(?<![\d.])\b(?P<d>\d{1,2})(?P<sep>[./-])(?P<m>\d{1,2})(?:(?P=sep)(?P<y>\d{4}|\d{2}))?\b"
                       r"(?![./-]\d)(?!\s*(?:uur|u\b|h\b|uhr|am\b|pm\b|:))", re.IGNORECASE)),
)

# Words before a date that make it the last day away: the person is back the day after.
_THROUGH = re.compile(
    r"(?:tot\s+en\s+met|t/m|through|thru|(?:up\s+)?(?:to|until)\s+and\s+including|bis\s+einschlie(?:ß|ss)lich"
    r"|bis\s+inklusive)\W*(?:\w+\W+){0,2}$",
    re.IGNORECASE,
)
# Words before a date that make it the day of return (or the end of the absence, read as the return).
_BACK = re.compile(
    r"(?:terug|weer|tot|back|return(?:ing)?|until|till|zur(?:ü|ue)ck|wieder|bis|retour|jusqu'(?:au|à))"
    r"\b\W*(?:\w+\W+){0,4}$",
    re.IGNORECASE,
)
# Words after a date that make it the day of return: "12 januari weer aanwezig", "12.1. wieder da".
_BACK_AFTER = re.compile(r"^\W*(?:\w+\W+){0,2}(?:weer|wieder|de\s+retour|back|zur(?:ü|ue)ck)\b", re.IGNORECASE)
_INCLUSIVE_AFTER = re.compile(r"^\s*\(?(?:inclus|inclusief|einschlie(?:ß|ss)lich|inclusive)\b", re.IGNORECASE)


def _dates_in(text: str, today: date) -> list[tuple[int, int, date]]:
    found: list[tuple[int, int, date]] = []
    taken: list[tuple[int, int]] = []
    for kind, pattern in _DATE_PATTERNS:
        for m in pattern.finditer(text):
            if any(m.start() < end and start < m.end() for start, end in taken):
                continue
            day = int(m.group("d"))
            month = _MONTHS[m.group("mon").lower().rstrip(".")] if kind in ("dmy", "mdy") else int(m.group("m"))
            year = m.group("y")
            when = _make_date(int(year) if year else None, month, day, today)
            if when is not None:
                found.append((m.start(), m.end(), when))
                taken.append((m.start(), m.end()))
    return sorted(found)


def _make_date(year: int | None, month: int, day: int, today: date) -> date | None:
    if year is not None and year < 100:
        year += 2000
    try:
        if year is not None:
            return date(year, month, day)
        # no year: the occurrence nearest after a month ago, as an absence note is written before or
        # during the absence
        for candidate_year in (today.year, today.year + 1):
            candidate = date(candidate_year, month, day)
            if candidate >= today - timedelta(days=31):
                return candidate
    except ValueError:
        return None
    return None


def return_date(text: str, *, today: date) -> date | None:
    """The day an out-of-office sender says they are back, or None when no date is stated.

    A date after "tot en met", "t/m", "through", "bis einschließlich" (or followed by "inclus") is the
    last day away, so the day after it is returned."""
    text = text[:4000]
    dates = _dates_in(text, today)
    if not dates:
        return None
    flagged: list[date] = []
    previous_end = 0
    for start, end, when in dates:
        before = text[max(previous_end, start - 60):start]
        after = text[end:end + 40]
        if _THROUGH.search(before) or _INCLUSIVE_AFTER.match(after):
            flagged.append(when + timedelta(days=1))
        elif _BACK.search(before) or _BACK_AFTER.match(after):
            flagged.append(when)
        previous_end = end
    candidates = flagged or [when for _, _, when in dates]
    upcoming = [d for d in candidates if d >= today - timedelta(days=31)]
    return max(upcoming) if upcoming else None


# ---------------------------------------------------------------- bounces

_DAEMON = re.compile(r"^(?:mailer-daemon|postmaster|mail-daemon|mail\.delivery\.subsystem|"
                     r"mail\s*delivery\s*(?:sub)?system)\b", re.IGNORECASE)
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|undelivered\s+mail|delivery\s+status\s+notification\s*\(failure\)|delivery\s+failure"
    r"|mail\s+delivery\s+failed|failure\s+notice|returned\s+mail|delivery\s+has\s+failed"
    r"|onbestelbaar|niet\s+afgeleverd|kan\s+niet\s+worden\s+bezorgd|unzustellbar|nicht\s+zugestellt"
    r"|non\s+remis|non\s+distribuable|échec\s+de\s+(?:la\s+)?remise",
    re.IGNORECASE,
)
_STATUS = re.compile(r"\b([245]\.\d{1,3}\.\d{1,3})\b")
_SMTP_REPLY = re.compile(r"\b([45]\d\d)[\s-]+(?:[245]\.\d{1,3}\.\d{1,3}\s+)?\S.*$", re.MULTILINE)
_INLINE_MESSAGE_ID = re.compile(r"^\s*Message-I[dD]:\s*(<[^<>\s]+>)", re.MULTILINE | re.IGNORECASE)
_ADDRESS = r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"
_POSTFIX_RECIPIENT = re.compile(rf"^\s*<({_ADDRESS})>:", re.MULTILINE)
_PHRASE_RECIPIENT = re.compile(
    r"(?:following\s+(?:address(?:es)?|recipients?)[^\n]*failed|could\s+not\s+be\s+delivered\s+to"
    r"|was(?:n't|\s+not)\s+delivered\s+to|kan\s+niet\s+worden\s+bezorgd\s+aan|niet\s+(?:worden\s+)?afgeleverd"
    r"|nicht\s+zugestellt\s+werden|konnte\s+nicht\s+zugestellt|n'a\s+pas\s+pu\s+(?:ê|e)tre\s+remis)"
    rf"[^\n@]*?(?:\n\s*){{0,2}}<?({_ADDRESS})>?",
    re.IGNORECASE,
)
_ANY_RECIPIENT = re.compile(rf"(?:Final-Recipient|Original-Recipient|X-Failed-Recipients)\s*:\s*"
                            rf"(?:rfc822\s*;\s*)?<?({_ADDRESS})>?", re.IGNORECASE)


def _delivery_status(msg: EmailMessage) -> tuple[Bounce | None, str | None]:
    """(the bounce, None) for a failed DSN; (None, reason) for a delay or success notice; (None, None)
    when the mail is not an RFC 3464 report."""
    if msg.get_content_type() != "multipart/report":
        return None, None
    if (msg.get_param("report-type") or "").lower() != "delivery-status":
        return None, None
    recipients = []
    original_id = None
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype == "message/delivery-status":
            blocks = part.get_payload()
            if isinstance(blocks, str):  # some servers send it as plain text: parse the blocks ourselves
                blocks = [HeaderParser().parsestr(b) for b in re.split(r"\r?\n\r?\n", blocks) if b.strip()]
            recipients.extend(b for b in blocks if b.get("Action") or b.get("Final-Recipient"))
        elif ctype in ("message/rfc822", "text/rfc822-headers") and original_id is None:
            original_id = _original_message_id(part)
    failed = [b for b in recipients if str(b.get("Action", "")).strip().lower() == "failed"]
    if not failed:
        actions = sorted({str(b.get("Action", "")).strip().lower() for b in recipients} - {""})
        return None, f"delivery status notification: {', '.join(actions) or 'no failure'}"
    first = failed[0]
    return Bounce(
        recipient=_dsn_address(first.get("Final-Recipient") or first.get("Original-Recipient")),
        action="failed",
        status=_clean(first.get("Status")),
        diagnostic=_diagnostic(first.get("Diagnostic-Code")),
        original_message_id=original_id,
    ), None


def _original_message_id(part: Message) -> str | None:
    payload = part.get_payload()
    if isinstance(payload, list) and payload:
        value = payload[0].get("Message-ID")
    else:
        text = part.get_content() if hasattr(part, "get_content") else str(payload)
        value = HeaderParser().parsestr(text if isinstance(text, str) else text.decode("utf-8", "replace"),
                                        headersonly=True).get("Message-ID")
    ids = message_ids(str(value)) if value else []
    return ids[0] if ids else None


def _dsn_address(value) -> str | None:
    if not value:
        return None
    text = str(value)
    if ";" in text:
        text = text.split(";", 1)[1]
    text = text.strip().strip("<>").strip()
    return text or None


def _clean(value) -> str | None:
    text = " ".join(str(value).split()) if value else ""
    return text or None


def _diagnostic(value) -> str | None:
    text = _clean(value)
    if text and ";" in text and text.split(";", 1)[0].strip().lower() in ("smtp", "x-postfix", "x-unix"):
        text = text.split(";", 1)[1].strip()
    return text or None


def _inline_bounce(msg: Message, from_address: str, subject: str, text: str) -> Bounce | None:
    """A non-RFC bounce: from MAILER-DAEMON (or with a bounce subject) and the failure described in
    the text, the original headers quoted below it."""
    local = from_address.split("@", 1)[0]
    from_daemon = bool(_DAEMON.match(local) or _DAEMON.match(from_address))
    if not from_daemon and not _BOUNCE_SUBJECT.search(subject):
        return None
    recipient_match = (re.match(rf"\s*<?({_ADDRESS})", header_text(msg, "X-Failed-Recipients"))
                       or _ANY_RECIPIENT.search(text) or _POSTFIX_RECIPIENT.search(text)
                       or _PHRASE_RECIPIENT.search(text))
    status = _STATUS.search(text)
    reply = _SMTP_REPLY.search(text)
    if from_daemon:
        if recipient_match is None and status is None and reply is None:
            return None  # a notice from the mail system, but not about a failed delivery
    elif recipient_match is None or (status is None and reply is None):
        return None  # a person writing about something undeliverable, not a mail server
    mid = _INLINE_MESSAGE_ID.search(text)
    return Bounce(
        recipient=recipient_match.group(1) if recipient_match else None,
        action="failed",
        status=status.group(1) if status else None,
        diagnostic=_clean(reply.group(0)) if reply else None,
        original_message_id=message_ids(mid.group(1))[0] if mid else None,
    )


# ---------------------------------------------------------------- linking

class LinkKind(StrEnum):
    THREAD = "thread"  # In-Reply-To/References (or a bounce's original Message-ID) names a mail we sent
    SENDER = "sender"  # the sender's address belongs to exactly one debtor's contacts
    UNASSIGNED = "unassigned"  # a person picks the debtor


@dataclass(frozen=True)
class Link:
    kind: LinkKind
    message_id: int | None = None  # our sent message it answers
    debtor_id: int | None = None
    candidates: tuple[int, ...] = field(default_factory=tuple)  # debtors sharing the address, if several


def link_reply(reply: Reply, sent_messages: Mapping[str, int],
               contact_debtors: Mapping[str, Iterable[int]]) -> Link:
    """How a reply links to a dossier: by thread to the message we sent, else by the sender's address
    to one debtor, else unassigned. For a bounce the failed recipient stands in for the sender.

    `sent_messages` maps our stored Message-IDs (without angle brackets) to message ids;
    `contact_debtors` maps lower-case contact addresses to the debtors that use them."""
    thread_ids = list(reply.answers)
    if reply.bounce is not None and reply.bounce.original_message_id:
        thread_ids.insert(0, reply.bounce.original_message_id)
    for mid in thread_ids:
        if mid in sent_messages:
            return Link(LinkKind.THREAD, message_id=sent_messages[mid])
    address = reply.bounce.recipient if reply.bounce is not None else reply.from_address
    debtors = tuple(sorted(set(contact_debtors.get((address or "").strip().lower(), ()))))
    if len(debtors) == 1:
        return Link(LinkKind.SENDER, debtor_id=debtors[0])
    return Link(LinkKind.UNASSIGNED, candidates=debtors)
