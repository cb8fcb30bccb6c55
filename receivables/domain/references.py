"""Structured payment references: the ISO 11649 RF creditor reference and the Dutch betalingskenmerk.

Each reminder carries a reference made from its message id; a payment that quotes it is matched
exactly. RF references are checked with python-stdnum (`stdnum.iso11649`, ISO 7064 mod 97-10).
python-stdnum has no betalingskenmerk, so its weighted modulus-11 check digit is computed here as the
Betaalvereniging specifies it ("Specificaties betalingskenmerk"): 7 digits without check digit, or a
check digit C first, then for 9 to 14 digits a length code L = (digits after L) mod 10, then the
number; 16 digits are C and 15 digits. Weights from the rightmost digit leftwards 2, 4, 8, 5, 10, 9, 7, 3,
6, 1, repeating; C = 11 - (sum mod 11), with 10 read as 1 and 11 as 0. Published example:
5000 0567 8901 2345."""

from __future__ import annotations

import re

from stdnum import iso11649
from stdnum.iso7064 import mod_97_10

RF = "rf"
BETALINGSKENMERK = "betalingskenmerk"
KINDS = (RF, BETALINGSKENMERK)

_WEIGHTS = (2, 4, 8, 5, 10, 9, 7, 3, 6, 1)
_LENGTHS_WITH_CODE = range(9, 15)
MESSAGE_ID_DIGITS = 15
RF_MESSAGE_DIGITS = 8  # RFcc and eight digits: three groups of four, long enough to find in free text


def betalingskenmerk_check_digit(digits: str) -> int:
    """The check digit over everything after it (length code included)."""
    if not digits.isdigit():
        raise ValueError(f"{digits!r} is not all digits")
    total = sum(int(d) * _WEIGHTS[i % 10] for i, d in enumerate(reversed(digits)))
    check = 11 - total % 11
    return {10: 1, 11: 0}.get(check, check)


_SEPARATORS = re.compile(r"[\s.\-/]")


def compact(reference: str) -> str:
    """Without spaces, dots and dashes, in capitals: the form references are compared in."""
    return _SEPARATORS.sub("", reference or "").upper()


def is_valid_betalingskenmerk(reference: str) -> bool:
    s = compact(reference)
    if not s.isdigit():
        return False
    if len(s) == 7:
        return True
    if len(s) == 16:
        return int(s[0]) == betalingskenmerk_check_digit(s[1:])
    if len(s) in _LENGTHS_WITH_CODE:
        return int(s[1]) == (len(s) - 2) % 10 and int(s[0]) == betalingskenmerk_check_digit(s[1:])
    return False


def is_valid_rf(reference: str) -> bool:
    return iso11649.is_valid(reference)


def is_valid_reference(reference: str) -> bool:
    """An RF creditor reference or a betalingskenmerk with a correct check digit."""
    s = compact(reference)
    return is_valid_rf(s) if s.startswith("RF") else is_valid_betalingskenmerk(s)


def rf_reference(body: str) -> str:
    """`RF` + two check digits + body (1 to 21 letters or digits), compact."""
    body = compact(body)
    if not re.fullmatch(r"[0-9A-Z]{1,21}", body):
        raise ValueError(f"an RF reference body is 1 to 21 letters or digits, not {body!r}")
    return "RF" + mod_97_10.calc_check_digits(body + "RF") + body


def betalingskenmerk(number: int) -> str:
    """The 16-digit betalingskenmerk of a number (up to 15 digits, zero-padded)."""
    if number < 0 or len(str(number)) > MESSAGE_ID_DIGITS:
        raise ValueError(f"a betalingskenmerk holds a number of at most {MESSAGE_ID_DIGITS} digits, not {number}")
    body = f"{number:0{MESSAGE_ID_DIGITS}d}"
    return f"{betalingskenmerk_check_digit(body)}{body}"


def message_reference(message_id: int, kind: str = RF) -> str:
    """The structured reference printed on a reminder and in its QR code, compact."""
    if kind == RF:
        if message_id <= 0:
            raise ValueError("a message id is a positive number")
        return rf_reference(f"{message_id:0{RF_MESSAGE_DIGITS}d}")
    if kind == BETALINGSKENMERK:
        if message_id <= 0:
            raise ValueError("a message id is a positive number")
        return betalingskenmerk(message_id)
    raise ValueError(f"reference kind is one of {', '.join(KINDS)}, not {kind!r}")


def format_reference(reference: str) -> str:
    """Groups of four, as people copy them: `RF18 5390 0754 7034`, `5000 0567 8901 2345`."""
    s = compact(reference)
    return " ".join(s[i:i + 4] for i in range(0, len(s), 4))


def message_id_of(reference: str) -> int | None:
    """The message id inside one of our references, or None when it is not one."""
    s = compact(reference)
    if s.startswith("RF"):
        return int(s[4:]) if is_valid_rf(s) and s[4:].isdigit() else None
    if len(s) == 16 and is_valid_betalingskenmerk(s):
        return int(s[1:]) or None
    return None


# RF + 2 digits + up to 21 characters, in groups as typed; a betalingskenmerk as 16 digits, grouped or not
_RF_IN_TEXT = re.compile(r"\bRF\s?\d{2}(?:[\s.\-]?[0-9A-Z]){1,21}\b", re.IGNORECASE)
_KENMERK_IN_TEXT = re.compile(r"(?<!\d)(\d(?:[\s.\-]?\d){15})(?!\d)")


def find_references(text: str) -> list[str]:
    """Every valid structured reference in a free text, compact, in the order found. A 16-digit run
    counts only when its check digit is right; an RF only when its mod-97 check is."""
    found: list[str] = []
    if not text:
        return found
    for m in _RF_IN_TEXT.finditer(text):
        candidate = compact(m.group(0))
        # typed text may run on into the next word: take the longest valid prefix
        for end in range(len(candidate), 4, -1):
            if is_valid_rf(candidate[:end]):
                found.append(candidate[:end])
                break
    for m in _KENMERK_IN_TEXT.finditer(text):
        candidate = compact(m.group(1))
        if is_valid_betalingskenmerk(candidate):
            found.append(candidate)
    return list(dict.fromkeys(found))
