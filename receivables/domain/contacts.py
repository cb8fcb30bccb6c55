"""Contacts: the one check of an e-mail address and the one list of languages we write in. The import,
the dossier, the settings and the sender all ask here, so an address one accepts the other never refuses."""

from __future__ import annotations

import functools
import re

from receivables.domain.errors import Problem

# --- addresses --------------------------------------------------------------------------------------

_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_ADDRESS = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})*\.[A-Za-z][A-Za-z0-9-]*[A-Za-z0-9]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]")
_NAME_ADDR = re.compile(r"^(.*?)<([^<>]*)>$")


class AddressError(Problem):
    """An e-mail address we will not send to or from; the message says which and why."""


def check_address(value: str) -> str:
    """The address itself, or AddressError. ASCII only, one @, a domain with a dot, no line breaks."""
    if _CONTROL.search(value or ""):
        raise AddressError(f"{value!r} contains a line break or control character")
    addr = (value or "").strip()
    if not addr:
        raise AddressError("an e-mail address is empty")
    if len(addr) > 254 or not _ADDRESS.fullmatch(addr) or len(addr.split("@")[0]) > 64:
        raise AddressError(f"'{addr}' is not a valid e-mail address")
    return addr


def is_address(value: str) -> bool:
    try:
        check_address(value)
    except AddressError:
        return False
    return True


def parse_mailbox(value: str) -> tuple[str, str]:
    """(display name, address) from 'Name <a@b.nl>' or 'a@b.nl'."""
    if _CONTROL.search(value or ""):
        raise AddressError(f"{value!r} contains a line break or control character")
    value = (value or "").strip()
    m = _NAME_ADDR.match(value)
    if m:
        name = m.group(1).strip().strip('"').strip()
        return name, check_address(m.group(2))
    return "", check_address(value)


def parse_recipients(value: str | None) -> list[str]:
    """The addresses of a comma (or semicolon) separated list, each checked, without duplicates."""
    return list(_recipients(value))


def reminder_address(email: str | None, bouncing: str | None = None) -> str | None:
    """A debtor's reminder addresses as a message goes to them, or None when there is no usable one.
    Addresses in `bouncing` (those that bounced, `Debtor.email_bouncing`) are left out."""
    if not isinstance(email, str):
        return None
    try:
        addresses = parse_recipients(email)
    except AddressError:
        return None
    gone = bounced(bouncing)
    kept = [a for a in addresses if a.lower() not in gone]
    return ", ".join(kept) if kept else None


def bounced(bouncing: str | None) -> set[str]:
    """The addresses of a debtor's bouncing list, lower case."""
    return {a.strip().lower() for a in re.split(r"[,;\s]+", bouncing or "") if a.strip()}


def confirmed(bouncing: str | None, addresses: list[str]) -> str | None:
    """The bouncing list once a person has entered or confirmed `addresses`: those are used again."""
    again = {a.strip().lower() for a in addresses}
    left = [a for a in split_recipients(bouncing) if a.lower() not in again]
    return ", ".join(left) or None


def take_off(email: str | None, address: str) -> str | None:
    """The reminder addresses without `address` (compared without case), as they were written; None when
    none are left."""
    kept = [p.strip() for p in re.split(r"[,;]", email or "") if p.strip()]
    left = []
    for part in kept:
        try:
            current = parse_mailbox(part)[1]
        except AddressError:
            current = part
        if current.lower() != address.strip().lower():
            left.append(part)
    return ", ".join(left) or None


def clean_addresses(text: str | None) -> list[str]:
    """The addresses a person typed (commas, semicolons or new lines between; 'Name <a@b.nl>' is fine),
    each checked, without duplicates; AddressError names the first that is not an e-mail address."""
    out: list[str] = []
    for item in re.split(r"[,;\n]+", text or ""):
        if not item.strip():
            continue
        try:
            address = parse_mailbox(item)[1]
        except AddressError:
            raise AddressError(f"'{item.strip()}' is not a valid e-mail address; write addresses like "
                               "name@company.nl, separated by commas") from None
        if address.lower() not in {a.lower() for a in out}:
            out.append(address)
    return out


def split_recipients(value: str | None) -> list[str]:
    """The parts of a list as a person typed it (commas, semicolons or spaces between), unchecked."""
    return [p for p in re.split(r"[,;\s]+", value or "") if p]


@functools.lru_cache(maxsize=1024)  # the sender checks each message's list twice: re-check, then building it
def _recipients(value: str | None) -> tuple[str, ...]:
    if value and _CONTROL.search(value):
        raise AddressError(f"the recipients {value!r} contain a line break or control character")
    out: list[str] = []
    for part in re.split(r"[,;]", value or ""):
        if part.strip():
            _, addr = parse_mailbox(part)
            if addr.lower() not in {a.lower() for a in out}:
                out.append(addr)
    if not out:
        raise AddressError("there is no e-mail address to send to")
    return tuple(out)


# --- languages --------------------------------------------------------------------------------------

# The languages our reminder texts exist in, with their names; the templates, the dossier, the import and
# the command line all offer exactly these.
LANGUAGES: dict[str, str] = {"nl": "Nederlands", "en": "English"}
FALLBACK_LANGUAGE = "en"  # for a debtor whose language we do not write

# How languages are written in the exports we import, mapped to our codes.
_LANGUAGE_WORDS = {"nl": "nl", "nld": "nl", "dut": "nl", "nederlands": "nl", "dutch": "nl", "vlaams": "nl",
                   "en": "en", "eng": "en", "engels": "en", "english": "en", "uk": "en", "gb": "en"}
# Languages an export may name that we have no texts in: such a debtor is written to in the fallback.
_OTHER_LANGUAGES = {"de", "deu", "ger", "duits", "german", "deutsch", "fr", "fra", "fre", "frans", "french",
                    "francais", "français", "es", "spaans", "spanish", "it", "italiaans", "italian"}


def language_code(text: str | None) -> str:
    """Our code for a language as an export writes it, or '' when we do not write in it."""
    return _LANGUAGE_WORDS.get((text or "").strip().lower(), "")


def is_other_language(text: str | None) -> bool:
    """A real language we have no reminder texts in (the debtor gets the fallback language)."""
    return (text or "").strip().lower() in _OTHER_LANGUAGES


def letter_language(code: str | None) -> str:
    """The language a letter to a debtor with this language code is written in."""
    return code if code in LANGUAGES else FALLBACK_LANGUAGE
