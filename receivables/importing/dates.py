"""Dates as accounting packages write them: `dd-mm-yyyy`, `d-m-yy`, `dd/mm/yyyy`, `dd.mm.yyyy`,
`yyyy-mm-dd` (with or without a time), `yyyymmdd`, Excel serial numbers and, only when the column
proves it, US `m/d/yyyy`. A column where every date could be read both ways is ambiguous: the user
chooses, nothing is guessed."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from receivables.domain.translation import N_

DMY, MDY = "dmy", "mdy"
ORDER_LABELS = {DMY: N_("day first (31-12-2024)"), MDY: N_("month first (12/31/2024)")}
MIN_YEAR, MAX_YEAR = 1900, 2199
EXCEL_EPOCH = np.datetime64("1899-12-30", "D")
_SERIAL_RANGE = (20000, 80000)  # 1954 .. 2119: a five-digit number outside is not a date

_TIME = r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
_DM = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4}|\d{2})" + _TIME + "$")
_GENERAL = (
    r"^(?:(?P<a>\d{1,2})[-/.](?P<b>\d{1,2})[-/.](?P<y1>\d{4}|\d{2})"
    r"|(?P<y2>\d{4})[-/.](?P<m2>\d{1,2})[-/.](?P<d2>\d{1,2})"
    r"|(?P<y3>\d{4})(?P<m3>\d{2})(?P<d3>\d{2})"
    r"|(?P<serial>\d{5})(?:\.0+)?)" + _TIME + "$"
)
# fixed-width shapes, sliced without a regex per value
_FIXED = [
    (r"^\d\d[-/.]\d\d[-/.]\d{4}" + _TIME + "$", "dm", (0, 2), (3, 5), (6, 10)),
    (r"^\d{4}-\d\d-\d\d" + _TIME + "$", "ymd", (0, 4), (5, 7), (8, 10)),
    (r"^\d{8}$", "ymd", (0, 4), (4, 6), (6, 8)),
]


@dataclass(frozen=True)
class Dates:
    days: np.ndarray  # datetime64[D], NaT where empty or bad
    empty: np.ndarray
    bad: np.ndarray


@dataclass(frozen=True)
class OrderEvidence:
    """What a column says about day-month order: `order` is DMY/MDY when proven, None when every
    value fits both; `conflict` when some values need day-first and others month-first."""

    order: str | None
    conflict: bool
    uses_day_month: bool
    example: str | None = None


def column_order(samples: list[str]) -> OrderEvidence:
    firsts, seconds = [], []
    day_first_example = month_first_example = None
    for raw in samples:
        m = _DM.match((raw or "").strip())
        if not m:
            continue
        a, b = int(m.group(1)), int(m.group(2))
        firsts.append(a)
        seconds.append(b)
        if a > 12 and day_first_example is None:
            day_first_example = raw.strip()
        if b > 12 and month_first_example is None:
            month_first_example = raw.strip()
    if not firsts:
        return OrderEvidence(None, False, False)
    if day_first_example and month_first_example:
        return OrderEvidence(None, True, True, day_first_example)
    if day_first_example:
        return OrderEvidence(DMY, False, True, day_first_example)
    if month_first_example:
        return OrderEvidence(MDY, False, True, month_first_example)
    return OrderEvidence(None, False, True)


def file_order(evidence: list[OrderEvidence]) -> tuple[str | None, bool]:
    """(order, ambiguous) for the whole file: one export writes every date the same way, so a column
    that proves the order settles it for the others. Ambiguous when no column proves it but some
    use day-month dates; None and not ambiguous when no column uses them at all."""
    proven = {e.order for e in evidence if e.order}
    if len(proven) == 1:
        return proven.pop(), False
    uses = any(e.uses_day_month for e in evidence)
    return None, uses and not proven or len(proven) > 1


def parse_dates(values: pa.Array, order: str | None) -> Dates:
    """Parse a column of text into dates, vectorised. Values in day-month form need `order`; when it
    is None they are reported as bad (the caller asks the user first)."""
    values = pc.utf8_trim_whitespace(pc.fill_null(values, ""))
    n = len(values)
    empty = np.asarray(pc.equal(values, "").to_numpy(zero_copy_only=False), dtype=bool)
    year = np.zeros(n, dtype=np.int64)
    month = np.zeros(n, dtype=np.int64)
    day = np.zeros(n, dtype=np.int64)
    serial = np.full(n, -1, dtype=np.int64)
    done = empty.copy()
    for pattern, kind, p1, p2, p3 in _FIXED:
        if done.all():
            break
        hit = np.asarray(pc.match_substring_regex(values, pattern).to_numpy(zero_copy_only=False), dtype=bool)
        hit &= ~done
        if not hit.any():
            continue
        idx = np.flatnonzero(hit)
        sub = values.take(pa.array(idx)) if len(idx) < n else values
        f1, f2, f3 = (_ints(sub, p) for p in (p1, p2, p3))
        if kind == "ymd":
            year[idx], month[idx], day[idx] = f1, f2, f3
        else:
            year[idx] = f3
            _day_month(idx, f1, f2, order, day, month)
        done |= hit
    rest = np.flatnonzero(~done)
    if len(rest):
        sub = values.take(pa.array(rest))
        parts = pc.extract_regex(sub, _GENERAL)
        g = {name: _group(parts, name) for name in ("a", "b", "y1", "y2", "m2", "d2", "y3", "m3", "d3", "serial")}
        dm = g["a"] >= 0
        year[rest] = np.where(dm, g["y1"], np.where(g["y2"] >= 0, g["y2"], g["y3"]))
        month[rest] = np.where(g["y2"] >= 0, g["m2"], g["m3"])
        day[rest] = np.where(g["y2"] >= 0, g["d2"], g["d3"])
        if dm.any():
            _day_month(rest[dm], g["a"][dm], g["b"][dm], order, day, month)
        two_digit = dm & (_group_len(parts, "y1") == 2)
        y = year[rest]
        year[rest] = np.where(two_digit, np.where(y < 70, 2000 + y, 1900 + y), y)
        serial[rest] = g["serial"]
    days = _assemble(year, month, day)
    is_serial = (serial >= _SERIAL_RANGE[0]) & (serial <= _SERIAL_RANGE[1])
    days = np.where(is_serial, EXCEL_EPOCH + serial.astype("timedelta64[D]"), days)
    bad = np.isnat(days) & ~empty
    return Dates(days, empty, bad)


def _day_month(idx: np.ndarray, first: np.ndarray, second: np.ndarray, order: str | None,
               day: np.ndarray, month: np.ndarray) -> None:
    if order == MDY:
        month[idx], day[idx] = first, second
    elif order == DMY:
        day[idx], month[idx] = first, second
    else:  # unknown order: only a value that fits one reading is still unclear, so leave it unparsed
        day[idx], month[idx] = 0, 0


def _ints(values: pa.Array, span: tuple[int, int]) -> np.ndarray:
    return pc.cast(pc.utf8_slice_codeunits(values, span[0], span[1]), pa.int64()).to_numpy(zero_copy_only=False)


def _group(parts: pa.Array, name: str) -> np.ndarray:
    col = pc.struct_field(parts, name)
    col = pc.if_else(pc.or_kleene(pc.is_null(col), pc.equal(col, "")), "-1", col)
    return pc.cast(col, pa.int64()).to_numpy(zero_copy_only=False)


def _group_len(parts: pa.Array, name: str) -> np.ndarray:
    return pc.fill_null(pc.utf8_length(pc.struct_field(parts, name)), 0).to_numpy(zero_copy_only=False)


def _assemble(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """datetime64[D] from parts; NaT where the parts are not a real date (31-02, month 13…)."""
    ok = (year >= MIN_YEAR) & (year <= MAX_YEAR) & (month >= 1) & (month <= 12) & (day >= 1) & (day <= 31)
    months = ((np.where(ok, year, 1970) - 1970) * 12 + np.where(ok, month, 1) - 1).astype("datetime64[M]")
    days = months.astype("datetime64[D]") + (np.where(ok, day, 1) - 1).astype("timedelta64[D]")
    ok &= days.astype("datetime64[M]") == months
    out = days.copy()
    out[~ok] = np.datetime64("NaT")
    return out


def describe_format(samples: list[str], order: str | None) -> str:
    """A short label for the page: which format the column is in."""
    for raw in samples:
        v = (raw or "").strip()
        if not v:
            continue
        if re.match(r"^\d{4}-\d{1,2}-\d{1,2}", v):
            return "yyyy-mm-dd"
        if re.match(r"^\d{8}$", v):
            return "yyyymmdd"
        if re.match(r"^\d{5}(\.0+)?$", v):
            return "Excel serial number"
        m = _DM.match(v)
        if m:
            sep = v[len(m.group(1))]
            yy = "yy" if len(m.group(3)) == 2 else "yyyy"
            if order == MDY:
                return f"m{sep}d{sep}{yy}"
            if order == DMY:
                return f"dd{sep}mm{sep}{yy}"
            return f"dd{sep}mm{sep}{yy} or mm{sep}dd{sep}{yy}"
    return "date"
