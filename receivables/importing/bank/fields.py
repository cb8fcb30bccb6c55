"""Small readers shared by the bank formats: amounts, dates and account numbers as banks write them."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from stdnum import iban as _iban

from receivables.domain.phrases import Phrase
from receivables.domain.translation import N_
from receivables.importing.bank.model import BankFileError

_COMMA_AMOUNT = re.compile(r"^[+-]?(\d{1,3}(\.\d{3})+|\d*)(,\d*)?$")
_POINT_AMOUNT = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d*)(\.\d*)?$")
AMOUNT = Phrase(N_("amount"))
DATE = Phrase(N_("date"))


def cents(text: str, decimal_mark: str = ",", *, what: Phrase = AMOUNT) -> int:
    """`1.234,56`, `9,`, `500`, `+12,50`, `-7,00` (decimal comma) or `1405.31` (point) as exact cents."""
    s = (text or "").strip().replace(" ", "")
    pattern = _COMMA_AMOUNT if decimal_mark == "," else _POINT_AMOUNT
    if not s or not pattern.match(s) or not re.search(r"\d", s):
        raise BankFileError(N_("{what} {text} is not an amount"), what=what, text=repr(text))
    thousands = "." if decimal_mark == "," else ","
    s = s.replace(thousands, "").replace(decimal_mark, ".")
    if s.endswith("."):
        s += "0"
    try:
        value = Decimal(s)
    except InvalidOperation as exc:  # pragma: no cover - the pattern already rules this out
        raise BankFileError(N_("{what} {text} is not an amount"), what=what, text=repr(text)) from exc
    if value != value.quantize(Decimal("0.01")):
        raise BankFileError(N_("{what} {text} has more than two decimals"), what=what, text=repr(text))
    return int(value * 100)


def iso_date(text: str, *, what: Phrase = DATE) -> date:
    s = (text or "").strip()
    try:
        return date.fromisoformat(s[:10])
    except ValueError as exc:
        raise BankFileError(N_("{what} {text} is not a date (expected yyyy-mm-dd)"), what=what,
                            text=repr(text)) from exc


def compact_date(text: str, *, what: Phrase = DATE) -> date:
    """`20240131` as ING and ABN AMRO write it."""
    s = (text or "").strip()
    try:
        return datetime.strptime(s, "%Y%m%d").date()
    except ValueError as exc:
        raise BankFileError(N_("{what} {text} is not a date (expected yyyymmdd)"), what=what,
                            text=repr(text)) from exc


def dutch_date(text: str, *, what: Phrase = DATE) -> date:
    """`31-01-2024` or `31-01-24`."""
    s = (text or "").strip()
    for fmt in ("%d-%m-%Y", "%d-%m-%y", "%d/%m/%Y"):
        try:
            return datetime.strptime(s, fmt).date()
        except ValueError:
            continue
    raise BankFileError(N_("{what} {text} is not a date (expected dd-mm-yyyy)"), what=what, text=repr(text))


def normalise_iban(text: str) -> str:
    """An IBAN without spaces in capitals when it is one; otherwise the account number as given."""
    s = re.sub(r"[\s.]", "", text or "").upper()
    if s and _iban.is_valid(s):
        return _iban.compact(s)
    return s


def is_iban(text: str) -> bool:
    return bool(text) and _iban.is_valid(text)


def squash(text: str) -> str:
    """Runs of white space (bank texts pad to fixed widths) become one space."""
    return " ".join((text or "").split())
