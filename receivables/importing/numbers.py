"""Amounts as accounting packages write them, parsed exactly into integer cents.

`1.234,56`, `1234,56`, `-1.234,56`, `1.234,56-`, `(1.234,56)`, `€ 1.234,56` in the decimal-comma
style; `1,234.56`, `(1,234.56)`, `$1,234.56` in the decimal-point style. A value that does not fit
the chosen style is an error rather than a guess: `1.23` in a decimal-comma file is not 123."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from receivables.domain.translation import N_

COMMA, POINT = "comma", "point"
STYLE_LABELS = {COMMA: N_("1.234,56 (decimal comma)"), POINT: N_("1,234.56 (decimal point)")}
EXAMPLES = {COMMA: "1.234,56 or -1234,56", POINT: "1,234.56 or -1234.56"}

_CURRENCY = r"(?:€|\$|£|EUR|USD|GBP|CHF)?"
_THOUSANDS = {COMMA: r"[. '\x{00a0}]", POINT: r"[, '\x{00a0}]"}
_DECIMAL = {COMMA: ",", POINT: r"\."}
MAX_DIGITS = 15  # ten thousand billion: anything longer is a mistake, and stays far inside int64


def _pattern(style: str) -> str:
    sep = _THOUSANDS[style]
    return (
        r"^(?P<open>[-−+(]?)\s*" + _CURRENCY + r"\s*(?P<sign>[-−]?)\s*"
        r"(?P<int>\d{1,3}(?:" + sep + r"\d{3})+|\d*)"
        r"(?:" + _DECIMAL[style] + r"(?P<frac>\d*))?"
        r"\s*" + _CURRENCY + r"\s*(?P<close>[-−)]?)$"
    )


@dataclass(frozen=True)
class Amounts:
    cents: np.ndarray  # int64; 0 where empty or bad
    empty: np.ndarray  # bool
    bad: np.ndarray  # bool: not empty and not an amount
    rounded: np.ndarray  # bool: had digits past the cent, rounded half away from zero


# the shape nearly every export uses: optional minus, grouped or plain digits, exactly two decimals
_FAST = {
    COMMA: r"^-?(?:\d{1,3}(?:\.\d{3})+|\d+),\d\d$",
    POINT: r"^-?(?:\d{1,3}(?:,\d{3})+|\d+)\.\d\d$",
}


def parse_amounts(values: pa.Array, style: str) -> Amounts:
    """Parse a column of text into cents, vectorised. Rounds half away from zero past the cent."""
    values = pc.utf8_trim_whitespace(pc.fill_null(values, ""))
    empty = np.asarray(pc.equal(values, "").to_numpy(zero_copy_only=False), dtype=bool)
    fast = np.asarray(pc.match_substring_regex(values, _FAST[style]).to_numpy(zero_copy_only=False), dtype=bool)
    digits = values
    for mark in (".", ",", "-"):
        digits = pc.replace_substring(digits, mark, "")
    fast &= np.asarray(pc.less_equal(pc.utf8_length(digits), MAX_DIGITS + 2).to_numpy(zero_copy_only=False),
                       dtype=bool)
    digits = pc.if_else(pa.array(fast), digits, "0")
    cents = pc.cast(digits, pa.int64()).to_numpy(zero_copy_only=False).copy()
    negative = np.asarray(pc.starts_with(values, "-").to_numpy(zero_copy_only=False), dtype=bool)
    cents[fast & negative] *= -1
    bad = np.zeros(len(cents), dtype=bool)
    rounded = np.zeros(len(cents), dtype=bool)
    rest = np.flatnonzero(~fast & ~empty)
    if len(rest):
        sub_cents, sub_bad, sub_rounded = _parse_general(values.take(pa.array(rest)), style)
        cents[rest] = sub_cents
        bad[rest] = sub_bad
        rounded[rest] = sub_rounded
    cents[empty | bad] = 0
    return Amounts(cents, empty, bad, rounded & ~bad)


def _parse_general(values: pa.Array, style: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every accepted form (signs, parentheses, currency marks, any number of decimals)."""
    parts = pc.extract_regex(values, _pattern(style))
    matched = pc.is_valid(parts)
    int_part = pc.fill_null(pc.struct_field(parts, "int"), "")
    frac = pc.fill_null(pc.struct_field(parts, "frac"), "")
    digits = pc.replace_substring_regex(int_part, r"[^0-9]", "")
    has_digits = pc.or_(pc.greater(pc.utf8_length(digits), 0), pc.greater(pc.utf8_length(frac), 0))
    too_long = pc.greater(pc.utf8_length(digits), MAX_DIGITS)
    ok = pc.fill_null(pc.and_(pc.and_(matched, has_digits), pc.invert(too_long)), False)
    digits = pc.if_else(ok, digits, "0")
    frac = pc.if_else(ok, frac, "")
    units = pc.cast(pc.if_else(pc.equal(digits, ""), "0", digits), pa.int64()).to_numpy(zero_copy_only=False)
    first3 = pc.utf8_slice_codeunits(pc.utf8_rpad(frac, 3, "0"), 0, 3)
    f3 = pc.cast(first3, pa.int64()).to_numpy(zero_copy_only=False)
    cents = units * 100 + f3 // 10 + (f3 % 10 >= 5)
    open_ = pc.fill_null(pc.struct_field(parts, "open"), "")
    sign = pc.fill_null(pc.struct_field(parts, "sign"), "")
    close = pc.fill_null(pc.struct_field(parts, "close"), "")
    negative = pc.or_(pc.or_(pc.is_in(open_, pa.array(["-", "−", "("])), pc.not_equal(sign, "")),
                      pc.not_equal(close, ""))
    neg = np.asarray(negative.to_numpy(zero_copy_only=False), dtype=bool)
    bad = ~np.asarray(ok.to_numpy(zero_copy_only=False), dtype=bool)
    past_cent = pc.match_substring_regex(pc.utf8_slice_codeunits(frac, 2, 1 << 20), "[1-9]")
    rounded = np.asarray(past_cent.to_numpy(zero_copy_only=False), dtype=bool)
    return np.where(neg, -cents, cents).astype(np.int64), bad, rounded


_BOTH = re.compile(r"\d[.,]\d.*[.,]\d")


def detect_style(samples: list[str], delimiter: str | None = None) -> tuple[str, bool]:
    """(style, proven). A value proves the style when its last separator cannot be a thousands
    separator: both separators present, or not followed by exactly three digits. When nothing
    proves it, a semicolon-separated file is taken as decimal-comma (Dutch), otherwise point."""
    votes = {COMMA: 0, POINT: 0}
    for raw in samples:
        v = re.sub(r"[^\d.,]", "", raw or "")
        if not v:
            continue
        last_dot, last_comma = v.rfind("."), v.rfind(",")
        if last_dot >= 0 and last_comma >= 0:
            votes[COMMA if last_comma > last_dot else POINT] += 1
            continue
        sep = "," if last_comma >= 0 else "." if last_dot >= 0 else None
        if sep is None:
            continue
        after = len(v) - v.rfind(sep) - 1
        if v.count(sep) > 1:  # 1.234.567 groups thousands: the other one is the decimal mark
            votes[POINT if sep == "," else COMMA] += 1
        elif after != 3:
            votes[COMMA if sep == "," else POINT] += 1
    if votes[COMMA] and votes[COMMA] >= votes[POINT]:
        return COMMA, True
    if votes[POINT]:
        return POINT, True
    return (COMMA if delimiter == ";" else POINT), False
