"""Check every row before anything is written: typed columns out, and every problem with its file
line, column, value and what to do. Pure: a RawTable and a mapping in, a ParsedBatch out."""

from __future__ import annotations

import os
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from receivables.domain import contacts, money
from receivables.domain.phrases import Money, Phrase
from receivables.domain.phrasing import Said, joined, said
from receivables.domain.translation import N_, Count
from receivables.importing import dates as d
from receivables.importing import mapping as m
from receivables.importing import numbers as n
from receivables.importing.reading import RawTable

MAX_LISTED = 5000  # problems kept with their text; the counts stay exact beyond this
_SAMPLE = 20000
TRUE_WORDS = {"yes", "ja", "y", "j", "true", "waar", "1", "x", "disputed", "betwist", "consument", "particulier"}
FALSE_WORDS = {"no", "nee", "n", "false", "onwaar", "0", "", "-"}
_TOTAL_WORDS = r"^\s*(sub\s*)?(totaal|total|totals|eindtotaal|grand total|saldo|som)\b"
_CURRENCY = re.compile(r"^[A-Z]{3}$")


@dataclass(frozen=True)
class ImportOptions:
    """How to read values: None means "detect"; the resolved options are on the ParsedBatch."""

    decimal: str | None = None  # numbers.COMMA | numbers.POINT
    date_order: str | None = None  # dates.DMY | dates.MDY
    currency: str | None = None  # for rows without a currency column (detected from the header, else EUR)

    def as_dict(self) -> dict:
        return {"decimal": self.decimal, "date_order": self.date_order, "currency": self.currency}

    @classmethod
    def from_dict(cls, data: dict | None) -> ImportOptions:
        data = data or {}
        return cls(data.get("decimal"), data.get("date_order"), data.get("currency"))


@dataclass(frozen=True)
class Problem:
    """What is wrong in a row (or the file): where, the value, and what to do as a catalogue message id
    with its parameters, worded in the reader's language by a page (`phrase`); `message` is the English."""

    line: int | None
    column: str | None
    value: str | None
    msgid: str
    params: dict = field(default_factory=dict)

    @property
    def phrase(self) -> Phrase:
        return Phrase(self.msgid, self.params)

    @property
    def message(self) -> str:
        return str(self.phrase)

    @property
    def described(self) -> Phrase:
        """The problem with where it is and the value: "row 4, Bedrag: '10,005' is not an amount"."""
        what = (Phrase(N_("'{value}' {message}"), {"value": self.value, "message": self.phrase})
                if self.value is not None else self.phrase)
        if self.line and self.column:
            return Phrase(N_("row {line}, {column}: {what}"), {"line": self.line, "column": self.column, "what": what})
        if self.line:
            return Phrase(N_("row {line}: {what}"), {"line": self.line, "what": what})
        if self.column:
            return Phrase(N_("{column}: {what}"), {"column": self.column, "what": what})
        return what

    def __str__(self) -> str:
        return str(self.described)


MAX_NOTICE_LINES = 20  # rows named with a notice; its count stays exact


@dataclass(frozen=True)
class Notice:
    """Something the check saw that is imported as said, not refused: with the rows it concerns, as a
    catalogue message id with its parameters. The message may use `{count}` (the rows concerned), filled
    in when notices of several pieces of a file are merged."""

    key: str
    msgid: str
    lines: tuple[int, ...] = ()
    count: int = 0
    column: str | None = None
    params: dict = field(default_factory=dict)

    @property
    def message_phrase(self) -> Phrase:
        return Phrase(self.msgid, {**self.params, "count": Count(self.count)})

    @property
    def message(self) -> str:
        return str(self.message_phrase)

    def rows_phrase(self) -> Phrase | None:
        if not self.lines:
            return None
        shown = ", ".join(str(x) for x in self.lines)
        more = self.count - len(self.lines)
        if more > 0:
            return Phrase(N_("rows {rows} and {more} more"), {"rows": shown, "more": Count(more)})
        return Phrase(N_("rows {rows}") if self.count > 1 else N_("row {rows}"), {"rows": shown})

    def rows_text(self) -> str:
        rows = self.rows_phrase()
        return "" if rows is None else str(rows)

    @property
    def phrase(self) -> Phrase:
        """The notice with its rows, for a page to word."""
        rows = self.rows_phrase()
        if rows is None:
            return self.message_phrase
        return Phrase(N_("{notice} ({rows})"), {"notice": self.message_phrase, "rows": rows})

    def __str__(self) -> str:
        return str(self.phrase)


def notice(key: str, msgid: str, lines: np.ndarray, column: str | None = None, **params) -> Notice:
    """A notice of the rows `lines`; its message may name the column as `{column}`."""
    lines = np.asarray(lines)
    return Notice(key, msgid, tuple(int(x) for x in lines[:MAX_NOTICE_LINES]), int(len(lines)), column,
                  {"column": column, **params} if column is not None else params)


def either(phrases: list[Phrase]) -> Phrase:
    """One or more phrases as "a or b or c"."""
    said = phrases[0]
    for one in phrases[1:]:
        said = Phrase(N_("{first} or {second}"), {"first": said, "second": one})
    return said


def merge_notices(notices: list[Notice]) -> list[Notice]:
    """One notice per key: the rows and counts of the pieces of a file added up, in file order."""
    merged: dict[str, Notice] = {}
    for one in notices:
        if one.key in merged:
            first = merged[one.key]
            lines = tuple(sorted(first.lines + one.lines))[:MAX_NOTICE_LINES]
            merged[one.key] = replace(first, lines=lines, count=first.count + one.count)
        else:
            merged[one.key] = one
    return list(merged.values())


@dataclass
class Detected:
    """What was found out about the file, for the page to show and the user to correct."""

    decimal: str
    decimal_proven: bool
    date_order: str | None
    date_order_ambiguous: bool
    currency: str
    date_formats: dict[str, str] = field(default_factory=dict)


@dataclass
class ParsedBatch:
    kind: str
    mapping: dict[str, str | None]
    options: ImportOptions  # resolved
    detected: Detected | None
    frame: pd.DataFrame  # one row per data row, typed; `line` is the file line
    errors: list[Problem]
    error_count: int
    error_lines: np.ndarray  # file lines with at least one error
    warnings: list[Problem]
    warning_count: int
    skipped: dict[str, int]  # blank / subtotal rows recognised and left out
    file_errors: list[Problem] = field(default_factory=list)  # no row can be imported until fixed
    notices: list[Notice] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.error_count

    @property
    def skipped_count(self) -> int:
        return sum(self.skipped.values())

    def valid_rows(self) -> pd.DataFrame:
        if not len(self.error_lines):
            return self.frame
        return self.frame[~self.frame["line"].isin(self.error_lines)]


class _Collector:
    def __init__(self) -> None:
        self.errors: list[Problem] = []
        self.warnings: list[Problem] = []
        self.error_count = 0
        self.warning_count = 0
        self.error_lines: list[np.ndarray] = []
        self.notices: list[Notice] = []

    def rows(self, mask: np.ndarray, lines: np.ndarray, column: str | None, values, msgid: str,
             warning: bool = False, **params) -> None:
        idx = np.flatnonzero(mask)
        if not len(idx):
            return
        if warning:
            self.warning_count += len(idx)
            room, target = MAX_LISTED - len(self.warnings), self.warnings
        else:
            self.error_count += len(idx)
            self.error_lines.append(lines[idx])
            room, target = MAX_LISTED - len(self.errors), self.errors
        for i in idx[:max(room, 0)]:
            value = None if values is None else _text(values[i])
            target.append(Problem(int(lines[i]), column, value, msgid, params))

    def group(self, lines: np.ndarray, column: str | None, value: str, msgid: str, **params) -> None:
        """One problem that several rows share (a key that appears more than once): counted once, every
        row left out."""
        self.error_count += 1
        self.error_lines.append(lines)
        if len(self.errors) < MAX_LISTED:
            self.errors.append(Problem(int(lines[0]), column, value, msgid, params))

    def file(self, msgid: str, column: str | None = None, **params) -> None:
        self.error_count += 1
        self.errors.append(Problem(None, column, None, msgid, params))


def _text(value) -> str:  # noqa: ANN001
    if value is None:
        return ""
    if isinstance(value, pa.Scalar):
        value = value.as_py()
    return str(value)


def _strip(arr: pa.Array) -> pa.Array:
    """Trimmed cells, each on one line: a line break typed inside a cell (a quoted CSV cell, Alt+Enter in
    Excel) reads as a space, as every field we import is one line."""
    arr = pc.fill_null(arr, "")
    if _may_hold_line_breaks(arr):
        arr = pc.replace_substring_regex(arr, "\\s*[\r\n]+\\s*", " ")
    return pc.utf8_trim_whitespace(arr)


def _may_hold_line_breaks(arr) -> bool:  # noqa: ANN001
    """Whether the bytes behind the strings hold a line break: a scan at memory speed (about 20 ms for a
    million cells), as most files have none; a cell-by-cell match took 0.2-0.4 s a million cells, per column."""
    for chunk in getattr(arr, "chunks", [arr]):
        if chunk.type not in (pa.string(), pa.large_string()):
            return True  # another layout: let the cell-by-cell replacement look
        data = chunk.buffers()[2]
        if data is not None:
            raw = data.to_pybytes()  # a copy, and then memchr: faster than numpy's compare here
            if b"\n" in raw or b"\r" in raw:
                return True
    return False


def _np(arr) -> np.ndarray:  # noqa: ANN001
    return np.asarray(arr.to_numpy(zero_copy_only=False))


def _sample(arr: pa.Array) -> list[str]:
    """Up to _SAMPLE non-empty values spread over the whole column."""
    non_empty = arr.filter(pc.not_equal(arr, ""))
    step = max(1, len(non_empty) // _SAMPLE)
    return non_empty[::step].to_pylist()[:_SAMPLE] if step > 1 else non_empty.to_pylist()[:_SAMPLE]


def guess_kind(raw: RawTable) -> str:
    """Open items, ledger or debtors, from the header and whether the paid-date column has values."""
    settled = m.suggest_mapping(raw.headers, m.LEDGER).get("settled_date")
    has_values = None
    if settled:
        has_values = bool(pc.any(pc.not_equal(_strip(raw.column(settled)), "")).as_py())
    return m.detect_kind(raw.headers, has_values)


def detect(raw: RawTable, kind: str, mapping: dict[str, str | None], options: ImportOptions) -> Detected:
    """Decimal style, date order and default currency, from the mapped columns."""
    amount_samples: list[str] = []
    for f in m.AMOUNT_FIELDS:
        if mapping.get(f) in raw.headers:
            amount_samples += _sample(_strip(raw.column(mapping[f])))[:2000]
    decimal, proven = n.detect_style(amount_samples, raw.delimiter)
    evidence, formats = [], {}
    for f in m.DATE_FIELDS:
        if mapping.get(f) in raw.headers:
            samples = _sample(_strip(raw.column(mapping[f])))
            evidence.append(d.column_order(samples))
            formats[mapping[f]] = samples
    order, ambiguous = d.file_order(evidence)
    currency = None
    for f in ("open_amount", "amount"):
        currency = currency or m.currency_from_header(mapping.get(f))
    detected = Detected(decimal, proven, order, ambiguous, currency or "EUR")
    use_order = options.date_order or order
    detected.date_formats = {col: d.describe_format(s, use_order) for col, s in formats.items()}
    return detected


def give_way() -> None:
    """Lower the calling thread's scheduling priority (on Linux a thread has its own nice value), for
    helper threads of a large import: when the machine's cores are all busy, the thread that writes
    to the database, the import's bottleneck, goes first. Where this is not possible, nothing happens."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
    except (AttributeError, OSError):
        pass


def validate(raw: RawTable, kind: str, mapping: dict[str, str | None],
             options: ImportOptions = ImportOptions()) -> ParsedBatch:
    """Parse and check every row of `raw` as an import of `kind` with the given column mapping."""
    prepared = prepare(raw, kind, mapping, options)
    return prepared.finish([prepared.parse(0, prepared.row_count)] if not prepared.failed else [])


@dataclass
class _Piece:
    frame: pd.DataFrame
    out: _Collector

    @property
    def error_count(self) -> int:
        return self.out.error_count


@dataclass
class Prepared:
    """A file checked as a whole: the mapping, malformed lines, blank and total rows and duplicate keys.
    Its data rows are then parsed field by field with `parse`, all at once or a piece at a time (an
    import writes one piece while the next is parsed), and `finish` puts the pieces together."""

    kind: str
    mapping: dict[str, str | None]
    options: ImportOptions  # resolved
    detected: Detected | None
    out: _Collector  # the whole file's problems
    cells: dict[str, pa.Array]  # the data rows of the mapped columns, trimmed
    lines: np.ndarray
    skipped: dict[str, int]
    failed: bool = False  # the mapping cannot be used: nothing to parse

    @property
    def row_count(self) -> int:
        return len(self.lines)

    def parse(self, start: int, stop: int) -> _Piece:
        out = _Collector()
        lines = self.lines[start:stop]

        def col(f: str) -> pa.Array | None:
            h = self.mapping.get(f)
            return self.cells[h].slice(start, stop - start) if h else None

        frame: dict[str, object] = {"line": lines}
        if self.kind == m.DEBTORS:
            _debtor_fields(col, self.mapping, lines, frame, out)
        else:
            columns = {f: col(f) for f in ("amount", "open_amount", "paid_amount", *m.DATE_FIELDS)}
            # beside this thread: two at once (a helper that gives way to an import's database writer)
            with ThreadPoolExecutor(max_workers=1, initializer=give_way) as pool:
                dated = {f: pool.submit(d.parse_dates if f in m.DATE_FIELDS else n.parse_amounts, values,
                                        self.options.date_order if f in m.DATE_FIELDS else self.options.decimal)
                         for f, values in columns.items() if values is not None}
                _invoice_fields(self.kind, col, self.mapping, self.options, self.detected, lines, frame, out,
                                lambda f: dated[f].result())
        return _Piece(pd.DataFrame(frame), out)

    @property
    def error_count(self) -> int:
        return self.out.error_count

    def valid_rows(self, piece: _Piece) -> pd.DataFrame:
        """The rows of `piece` without a problem of their own or of the whole file (a duplicate key)."""
        bad = [*self.out.error_lines, *piece.out.error_lines]
        if not bad:
            return piece.frame
        return piece.frame[~np.isin(piece.frame["line"].to_numpy(), np.concatenate(bad))]

    def finish(self, pieces: list[_Piece]) -> ParsedBatch:
        out = _Collector()
        seen_file_errors = set()
        for part in [self.out, *(p.out for p in pieces)]:
            for problem in part.errors:
                if problem.line is None:  # the same file-level problem found in several pieces
                    if (problem.column, problem.message) in seen_file_errors:
                        out.error_count -= 1
                        continue
                    seen_file_errors.add((problem.column, problem.message))
                out.errors.append(problem)
            out.warnings.extend(part.warnings)
            out.error_count += part.error_count
            out.warning_count += part.warning_count
            out.error_lines.extend(part.error_lines)
            out.notices.extend(part.notices)
        if not pieces:
            result = pd.DataFrame({"line": np.zeros(0, np.int64)})
        elif len(pieces) == 1:
            result = pieces[0].frame
        else:
            result = pd.concat([p.frame for p in pieces], ignore_index=True)
        error_lines = np.unique(np.concatenate(out.error_lines)) if out.error_lines else np.zeros(0, np.int64)
        errors = sorted(out.errors, key=lambda p: (p.line or 0))[:MAX_LISTED]
        warnings = sorted(out.warnings, key=lambda p: (p.line or 0))[:MAX_LISTED]
        file_errors = [p for p in errors if p.line is None]
        return ParsedBatch(self.kind, self.mapping, self.options, self.detected, result, errors, out.error_count,
                           error_lines, warnings, out.warning_count, self.skipped, file_errors,
                           merge_notices(out.notices))


def prepare(raw: RawTable, kind: str, mapping: dict[str, str | None],
            options: ImportOptions = ImportOptions()) -> Prepared:
    """The whole-file part of `validate`; see `Prepared`."""
    mapping = {f: (h or None) for f, h in mapping.items() if f in m.KIND_FIELDS[kind]}
    out = _Collector()
    for f, h in mapping.items():
        if h is not None and h not in raw.headers:
            out.file(N_("the column '{header}' chosen for {field} is not in the file; choose another column"),
                     header=h, field=Phrase(m.FIELDS[f].label))
    for group in m.missing_required(mapping, kind):
        out.file(N_("no column is chosen for {fields}; pick the column that holds it"),
                 fields=either([Phrase(m.FIELDS[f].label) for f in group]))
    if out.error_count:
        return Prepared(kind, mapping, options, None, out, {}, np.zeros(0, np.int64), {"blank": 0, "subtotal": 0},
                        failed=True)

    detected = detect(raw, kind, mapping, options)
    options = ImportOptions(options.decimal or detected.decimal, options.date_order or detected.date_order,
                            (options.currency or detected.currency).upper())

    for line, fields_found in raw.bad_lines:
        out.error_count += 1
        out.error_lines.append(np.asarray([line]))
        if len(out.errors) < MAX_LISTED:
            out.errors.append(Problem(line, None, None, N_("has {found} fields but the header has {expected}; a "
                                                           "separator inside a value must be quoted, or fix the line"),
                                      {"found": fields_found, "expected": len(raw.headers)}))

    # blank and subtotal rows
    # Arrow's kernels let go of the GIL: independent columns are worked on by two threads at once
    with ThreadPoolExecutor(max_workers=2) as pool:
        cells = dict(zip(raw.headers, pool.map(lambda h: _strip(raw.column(h)), raw.headers)))
    blank = np.ones(raw.row_count, dtype=bool)
    for col in cells.values():
        blank &= _np(pc.equal(col, ""))
    key_field = "debtor_code" if kind == m.DEBTORS else "invoice_number"
    key = cells[mapping[key_field]]
    key_empty = _np(pc.equal(key, ""))
    total_word = np.zeros(raw.row_count, dtype=bool)
    for h in {mapping.get(f) for f in ("invoice_number", "debtor_code", "debtor_name", "description")} | {
            raw.headers[0]}:
        if h:
            total_word |= _starts_with_total(cells[h])
    if kind == m.DEBTORS:
        looks_like_data = np.zeros(raw.row_count, dtype=bool)
    else:
        has_debtor = np.zeros(raw.row_count, dtype=bool)
        for f in ("debtor_code", "debtor_name"):
            if mapping.get(f):
                has_debtor |= ~_np(pc.equal(cells[mapping[f]], ""))
        has_date = np.zeros(raw.row_count, dtype=bool)
        for f in ("invoice_date", "due_date"):
            if mapping.get(f):
                has_date |= ~_np(pc.equal(cells[mapping[f]], ""))
        looks_like_data = has_debtor & has_date
    subtotal = ~blank & (total_word | (key_empty & ~looks_like_data))
    data_rows = ~blank & ~subtotal
    skipped = {"blank": int(blank.sum()), "subtotal": int(subtotal.sum())}

    idx = np.flatnonzero(data_rows)
    take = pa.array(idx) if len(idx) < raw.row_count else None
    lines = raw.lines[idx]

    mapped = {h for h in mapping.values() if h}
    cells = {h: (cells[h] if take is None else cells[h].take(take)) for h in mapped}
    for f in ("invoice_number", "debtor_code"):
        h = mapping.get(f)
        if h:
            cells[h] = _without_dot_zero(cells[h], lines, h, out)
    if kind != m.DEBTORS:
        names = cells.get(mapping.get("debtor_name")) if mapping.get("debtor_name") != mapping.get("debtor_code") else None
        if mapping.get("debtor_code"):
            out.notices.extend(_code_doubts(cells[mapping["debtor_code"]], names, lines, mapping["debtor_code"]))
            if names is not None:
                out.notices.extend(_names_per_code(cells[mapping["debtor_code"]], names, lines,
                                                   mapping["debtor_name"]))
    key = "debtor_code" if kind == m.DEBTORS else "invoice_number"
    twice = (N_("appears {count} times (rows {rows}); each debtor may appear once; remove the extra rows")
             if kind == m.DEBTORS else
             N_("appears {count} times (rows {rows}); each invoice may appear once; remove or merge the extra rows"))
    _duplicates(cells[mapping[key]], lines, mapping[key], out, twice)
    return Prepared(kind, mapping, options, detected, out, cells, lines, skipped)


def _starts_with_total(values: pa.Array) -> np.ndarray:
    """Cells that read "Totaal", "Subtotaal", "Total", "Saldo"...; the regex runs only on the few
    cells that start with one of those letters."""
    first = pc.utf8_lower(pc.utf8_slice_codeunits(values, 0, 1))
    maybe = np.flatnonzero(_np(pc.is_in(first, pa.array(["t", "s", "g", "e"]))))
    hit = np.zeros(len(values), dtype=bool)
    if len(maybe):
        sub = values.take(pa.array(maybe))
        hit[maybe] = _np(pc.match_substring_regex(sub, _TOTAL_WORDS, ignore_case=True))
    return hit


def _label(mapping: dict, f: str) -> str:
    return mapping.get(f) or m.FIELDS[f].label


def _required(col, f: str, mapping: dict, lines: np.ndarray, out: _Collector, msgid: str) -> np.ndarray:
    values = col(f)
    empty = _np(pc.equal(values, ""))
    out.rows(empty, lines, _label(mapping, f), None, msgid)
    return empty


def _invoice_fields(kind, col, mapping, options, detected, lines, frame, out, parsed) -> None:  # noqa: ANN001
    """`parsed(f)`: the amounts or dates of field f, parsed by `parse_amounts` / `parse_dates` (in another
    thread meanwhile)."""
    number = col("invoice_number")
    _required(col, "invoice_number", mapping, lines, out, N_("is empty; every invoice needs its number"))
    _too_long(number, 64, lines, _label(mapping, "invoice_number"), out)
    frame["invoice_number"] = number.to_pandas()

    code, name = col("debtor_code"), col("debtor_name")
    if code is not None and name is not None:
        no_debtor = _np(pc.and_(pc.equal(code, ""), pc.equal(name, "")))
        code = pc.if_else(pc.equal(code, ""), name, code)
    elif code is not None:
        no_debtor = _np(pc.equal(code, ""))
    else:
        no_debtor = _np(pc.equal(name, ""))
        code = name
    out.rows(no_debtor, lines, _label(mapping, "debtor_code" if mapping.get("debtor_code") else "debtor_name"),
             None, N_("is empty; every invoice needs the debtor it belongs to"))
    _too_long(code, 50, lines, _label(mapping, "debtor_code" if mapping.get("debtor_code") else "debtor_name"), out)
    frame["debtor_code"] = code.to_pandas()
    frame["debtor_name"] = (name if name is not None else code).to_pandas()

    amounts = {}
    for f in ("amount", "open_amount", "paid_amount"):
        values = col(f)
        if values is None:
            continue
        parsed_f = parsed(f)
        out.rows(parsed_f.bad, lines, mapping[f], values,
                 N_("is not an amount (expected like {example}); fix the value or choose the other decimal style"),
                 example=n.EXAMPLES[options.decimal])
        if parsed_f.rounded.any():
            i = int(np.flatnonzero(parsed_f.rounded)[0])
            out.notices.append(notice(
                f"rounded:{mapping[f]}",
                N_("{column} has more than two decimals in {count} of its amounts: rounded to the cent "
                   "(row {row}: {value} is stored as {stored})"),
                lines[parsed_f.rounded], mapping[f], row=int(lines[i]), value=values[i].as_py(),
                stored=money.plain(int(parsed_f.cents[i]))))
        amounts[f] = parsed_f
    main = "open_amount" if kind == m.OPEN_ITEMS and "open_amount" in amounts else "amount"
    out.rows(amounts[main].empty, lines, mapping[main], None, N_("is empty; every invoice needs an amount"))
    amount = amounts.get("amount", amounts.get("open_amount"))
    frame["amount_cents"] = amount.cents
    if kind == m.OPEN_ITEMS:
        open_ = amounts.get("open_amount", amounts.get("amount"))
        frame["open_cents"] = open_.cents
        out.rows(~open_.bad & ~open_.empty & (open_.cents == 0), lines, _label(mapping, main), None,
                 N_("is 0: the invoice is recorded as paid"), warning=True)
    else:
        out.rows(~amount.bad & ~amount.empty & (amount.cents == 0), lines, mapping["amount"], None,
                 N_("is 0"), warning=True)
        paid = amounts.get("paid_amount")
        # an empty paid-amount cell next to a paid date means the whole invoice was paid, as a file
        # without the column does
        frame["paid_cents"] = np.where(paid.empty, amount.cents, paid.cents) if paid is not None else amount.cents
        frame["paid_given"] = ~paid.empty if paid is not None else np.zeros(len(lines), dtype=bool)

    parsed_dates = {}
    ambiguous_reported = False
    for f in m.DATE_FIELDS:
        values = col(f)
        if values is None:
            continue
        dates_f = parsed(f)
        if options.date_order is None and dates_f.bad.any():
            uses_dm = _np(pc.match_substring_regex(values, d._DM.pattern))
            if uses_dm.any():
                if not ambiguous_reported:
                    out.file(N_("the dates can be read day-first or month-first (no day above 12 anywhere); "
                                "choose the date order"), column=mapping[f])
                    ambiguous_reported = True
                dates_f = replace(dates_f, bad=dates_f.bad & ~uses_dm)
        fmt = detected.date_formats.get(mapping[f]) or Phrase(N_("a date"))
        out.rows(dates_f.bad, lines, mapping[f], values, N_("is not a date (expected {format})"), format=fmt)
        parsed_dates[f] = dates_f
    if "invoice_date" in parsed_dates and kind == m.LEDGER:
        out.rows(parsed_dates["invoice_date"].empty, lines, mapping["invoice_date"], None,
                 N_("is empty; every invoice needs its invoice date"))
    if kind == m.OPEN_ITEMS:
        inv, due = parsed_dates.get("invoice_date"), parsed_dates.get("due_date")
        no_date = (inv.empty if inv else np.ones(len(lines), bool)) & (due.empty if due else np.ones(len(lines), bool))
        out.rows(no_date, lines, _label(mapping, "due_date" if due else "invoice_date"), None,
                 N_("is empty; every invoice needs a due date or an invoice date"))
    nat = np.full(len(lines), np.datetime64("NaT"), dtype="datetime64[D]")
    for f in m.DATE_FIELDS:
        frame[f] = parsed_dates[f].days if f in parsed_dates else nat
    if "invoice_date" in parsed_dates and "due_date" in parsed_dates:
        early = frame["due_date"] < frame["invoice_date"]
        out.rows(early, lines, mapping["due_date"], col("due_date"),
                 N_("is before the invoice date; imported as it is"), warning=True)
    if "settled_date" in parsed_dates and "invoice_date" in parsed_dates:
        early = frame["settled_date"] < frame["invoice_date"]
        out.rows(early, lines, mapping["settled_date"], col("settled_date"),
                 N_("is before the invoice date; imported as it is"), warning=True)

    currency = col("currency")
    if currency is not None:
        currency = pc.utf8_upper(currency)
        bad = _np(pc.and_(pc.not_equal(currency, ""), pc.invert(pc.match_substring_regex(currency, r"^[A-Z]{3}$"))))
        out.rows(bad, lines, mapping["currency"], currency, N_("is not a currency code; use three letters such as EUR"))
        currency = pc.if_else(pc.equal(currency, ""), options.currency, currency)
        frame["currency"] = currency.to_pandas()
    else:
        frame["currency"] = options.currency
    for f in ("description", "reference"):
        values = col(f)
        frame[f] = values.to_pandas() if values is not None else ""
    if kind == m.LEDGER:
        values = col("disputed")
        if values is not None:
            flags, bad = _booleans(values)
            out.rows(bad, lines, mapping["disputed"], values, N_("is not yes or no"))
            frame["disputed"] = flags
        else:
            frame["disputed"] = np.zeros(len(lines), dtype=bool)


def _duplicates(keys: pa.Array, lines: np.ndarray, column: str, out: _Collector, msgid: str) -> None:
    if len(keys) < 2 or pc.all(pc.less(keys.slice(0, len(keys) - 1), keys.slice(1))).as_py():
        return  # strictly ascending (exports are mostly sorted by number): no key twice, seen at a glance
    if len(pc.unique(keys)) == len(keys):
        return
    series = pd.Series(keys.to_pandas())
    dup = series.duplicated(keep=False).to_numpy() & (series != "").to_numpy()
    if not dup.any():
        return
    groups: dict[str, list[int]] = {}  # in file order: one problem per key, naming its rows
    for key, line in zip(series.to_numpy()[dup], lines[dup]):
        groups.setdefault(key, []).append(int(line))
    for key, rows in groups.items():
        shown = ", ".join(str(x) for x in rows[:5])
        out.group(np.asarray(rows), column, key, msgid, count=Count(len(rows)),
                  rows=Phrase(N_("{rows} and {more} more"), {"rows": shown, "more": Count(len(rows) - 5)})
                  if len(rows) > 5 else shown)


def _too_long(values: pa.Array, limit: int, lines: np.ndarray, column: str, out: _Collector) -> None:
    long_ = _np(pc.greater(pc.utf8_length(values), limit))
    out.rows(long_, lines, column, values, N_("is longer than {limit} characters; this column cannot be the code"),
             limit=limit)


def _booleans(values: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    low = pc.utf8_lower(values)
    yes = _np(pc.is_in(low, pa.array(sorted(TRUE_WORDS))))
    no = _np(pc.is_in(low, pa.array(sorted(FALSE_WORDS))))
    return yes, ~(yes | no)


def _address(col) -> list[str | None] | None:  # noqa: ANN001
    """The postal address as printed: street; postcode and city; country (empty parts left out)."""
    parts = {f: col(f) for f in ("street", "postcode", "city", "country")}
    if all(v is None for v in parts.values()):
        return None
    n = len(next(v for v in parts.values() if v is not None))
    texts = {f: v.to_pylist() if v is not None else [""] * n for f, v in parts.items()}
    out = []
    for street, postcode, city, country in zip(texts["street"], texts["postcode"], texts["city"], texts["country"]):
        place = " ".join(p for p in (postcode.strip(), city.strip()) if p)
        lines = [x for x in (street.strip(), place, country.strip()) if x]
        out.append("\n".join(lines) or None)
    return out


def _debtor_fields(col, mapping, lines, frame, out) -> None:  # noqa: ANN001
    code = col("debtor_code")
    _too_long(code, 50, lines, mapping["debtor_code"], out)
    frame["debtor_code"] = code.to_pandas()
    for f in ("debtor_name", "contact_person", "phone", "segment", "account_manager"):
        values = col(f)
        frame[f] = values.to_pandas() if values is not None else None
    frame["address"] = _address(col)
    email = col("email")
    if email is not None:
        texts = email.to_pylist()
        bad = np.zeros(len(texts), dtype=bool)
        cleaned = []
        for i, t in enumerate(texts):
            parts = contacts.split_recipients(t)
            bad[i] = any(not contacts.is_address(p) for p in parts)
            cleaned.append(", ".join(parts))
        out.rows(bad, lines, mapping["email"], texts, N_("is not an e-mail address; write name@example.nl, "
                                                         "several separated by commas"))
        frame["email"] = cleaned
    else:
        frame["email"] = None
    language = col("language")
    if language is not None:
        texts = [t.lower() for t in language.to_pylist()]
        codes = [contacts.language_code(t) for t in texts]
        other = np.array([not c and contacts.is_other_language(t) for t, c in zip(texts, codes)], dtype=bool)
        codes = [contacts.FALLBACK_LANGUAGE if o else c for o, c in zip(other, codes)]
        bad = np.array([bool(t) and not c for t, c in zip(texts, codes)], dtype=bool)
        out.rows(bad, lines, mapping["language"], language.to_pylist(),
                 N_("is not a language we send reminders in; use {languages}"),
                 languages=either([Phrase(code) for code in contacts.LANGUAGES]))
        out.rows(other, lines, mapping["language"], language.to_pylist(),
                 N_("is a language we have no reminder texts in; this debtor is written to in {language}"),
                 warning=True, language=contacts.LANGUAGES[contacts.FALLBACK_LANGUAGE])
        frame["language"] = codes
    else:
        frame["language"] = None
    consumer = col("is_consumer")
    if consumer is not None:
        flags, bad = _booleans(consumer)
        out.rows(bad, lines, mapping["is_consumer"], consumer, N_("is not yes or no"))
        empty = _np(pc.equal(consumer, ""))
        frame["is_consumer"] = pd.array([None if e else bool(f) for f, e in zip(flags, empty)], dtype="boolean")
    else:
        frame["is_consumer"] = pd.array([None] * len(lines), dtype="boolean")
    term = col("payment_term_days")
    if term is not None:
        texts = term.to_pylist()
        days, bad = [], np.zeros(len(texts), dtype=bool)
        for i, t in enumerate(texts):
            mt = re.fullmatch(r"\D*?(\d{1,3})\s*(dagen|days|dgn|d)?\.?", t.strip(), flags=re.I)
            value = int(mt.group(1)) if mt else None
            bad[i] = bool(t.strip()) and (value is None or value > 365)
            days.append(None if bad[i] or value is None else value)
        out.rows(bad, lines, mapping["payment_term_days"], texts, N_("is not a number of days (0 to 365)"))
        frame["payment_term_days"] = pd.array(days, dtype="Int64")
    else:
        frame["payment_term_days"] = pd.array([None] * len(lines), dtype="Int64")


# --- what the check says beside the problems: notices and column facts -------------------------------

_DOT_ZERO = r"^\d+\.0$"
_DOCUMENT_NUMBER = r"^\d{8,}$"  # long numbers: how document numbers look
_MIN_DOCUMENT_ROWS = 5
_MIN_ALL_DIFFERENT = 50  # a list this long where no debtor owes two invoices holds no debtor codes


def _day(value) -> str:  # noqa: ANN001
    return pd.Timestamp(value).strftime("%d-%m-%Y")


def _without_dot_zero(values: pa.Array, lines: np.ndarray, column: str, out: _Collector) -> pa.Array:
    """A text column whose every value is digits and `.0` was written as a float by a spreadsheet or a
    script: the `.0` is not part of the number, so it is dropped, and said."""
    filled = pc.not_equal(values, "")
    count = pc.sum(filled).as_py() or 0
    if not count or not pc.all(pc.or_(pc.invert(filled), pc.match_substring_regex(values, _DOT_ZERO))).as_py():
        return values
    example = values.filter(filled)[0].as_py()
    out.notices.append(notice(
        f"dot-zero:{column}",
        N_("{column} ends in .0 in every row, the mark of a number written as a decimal by a spreadsheet or a "
           "script; stored without it ({example} as {stored})"), lines[_np(filled)], column,
        example=example, stored=example[:-2]))
    return pc.replace_substring_regex(values, r"\.0$", "")


def _code_doubts(codes: pa.Array, names: pa.Array | None, lines: np.ndarray, column: str) -> list[Notice]:
    """A debtor code repeats on every invoice of the same debtor. A column where every one of many long
    numbers differs, or that has far more different values than the debtor names, holds something else."""
    filled = pc.not_equal(codes, "")
    values = codes.filter(filled)
    count, distinct = len(values), pc.count_distinct(values).as_py()
    why = None
    if (count >= _MIN_DOCUMENT_ROWS and distinct == count
            and pc.all(pc.match_substring_regex(values, _DOCUMENT_NUMBER)).as_py()):
        why = Phrase(N_("every one of its {n} values is different, and they look like document numbers "
                        "({example})"), {"n": Count(count), "example": values[0].as_py()})
    elif count >= _MIN_ALL_DIFFERENT and distinct == count:
        why = Phrase(N_("every one of its {n} values is different, as if each invoice had its own debtor"),
                     {"n": Count(count)})
    elif names is not None:
        name_count = pc.count_distinct(names.filter(pc.not_equal(names, ""))).as_py()
        if distinct >= 2 * name_count and distinct - name_count >= 5:
            why = Phrase(N_("it holds {codes} different codes but the names only {names}"),
                         {"codes": Count(distinct), "names": Count(name_count)})
    if why is None:
        return []
    return [notice("debtor-code", N_("{column} may not be the debtor code: {why}. A debtor code is the same on "
                                     "every invoice of the same debtor; here each different value becomes a "
                                     "debtor. Check the column chosen for Debtor code"), lines[_np(filled)], column,
                   why=why)]


def _names_per_code(codes: pa.Array, names: pa.Array, lines: np.ndarray, column: str) -> list[Notice]:
    """Codes under which the file writes more than one name: the debtor gets one of them."""
    table = pa.table({"code": codes, "name": names}).filter(pc.not_equal(names, ""))
    if not table.num_rows:
        return []
    counts = table.group_by("code").aggregate([("name", "count_distinct")])
    several = counts.filter(pc.greater(counts["name_count_distinct"], 1))["code"]
    if not len(several):
        return []
    concerned = _np(pc.is_in(codes, value_set=several.combine_chunks()))
    examples = []
    for code in several.to_pylist()[:3]:
        shown = pc.unique(table.filter(pc.equal(table["code"], code))["name"]).to_pylist()
        examples.append(f"{code}: {', '.join(shown[:3])}{', …' if len(shown) > 3 else ''}")
    k = len(several)
    said = (N_("{codes} debtor codes have more than one name in {column} ({examples}). A new debtor gets the name "
               "of its first row; a debtor Debtor Desk already has keeps its name") if k > 1 else
            N_("{codes} debtor code has more than one name in {column} ({examples}). A new debtor gets the name "
               "of its first row; a debtor Debtor Desk already has keeps its name"))
    return [notice("names-per-code", said, lines[concerned], column, codes=Count(k),
                   examples="; ".join(examples) + ("; …" if k > 3 else ""))]


def debtor_code_doubts(raw: RawTable, mapping: dict[str, str | None]) -> list[Notice]:
    """Why the column chosen as debtor code may not hold debtor codes (none when it looks right)."""
    code = mapping.get("debtor_code")
    if not code or code not in raw.headers:
        return []
    out = _Collector()
    codes = _without_dot_zero(_strip(raw.column(code)), raw.lines, code, out)
    name = mapping.get("debtor_name")
    names = _strip(raw.column(name)) if name and name in raw.headers and name != code else None
    return _code_doubts(codes, names, raw.lines, code)


def review_mapping(raw: RawTable, kind: str, mapping: dict[str, str | None]) -> tuple[dict[str, str | None],
                                                                                          list[Said]]:
    """A suggested mapping checked against the file's values: a debtor-code column whose values do not
    look like debtor codes is not picked. Returns the mapping and a sentence per column left out."""
    if kind == m.DEBTORS:
        return mapping, []
    doubts = debtor_code_doubts(raw, mapping)
    if not doubts:
        return mapping, []
    return ({**mapping, "debtor_code": None},
            [said(N_("{column} was not taken as the debtor code: {why}. Choose the column that holds the debtor's "
                     "code or name."), column=mapping["debtor_code"], why=doubts[0].params["why"])])


@dataclass(frozen=True)
class ColumnFact:
    """What one mapped column holds, as read: how many different values, how many empty, and its range
    (dates) or sum per currency (amounts)."""

    field: str
    label: str
    column: str
    distinct: int
    empty: int
    said: Phrase  # the range or sum, for a page to word

    @property
    def summary(self) -> str:
        """The range or sum in English, amounts as an English reader writes them."""
        return self.said.worded(lambda msgid, **p: msgid.format(**p) if p else msgid,
                                lambda cents, currency: money.fmt(cents, currency, "en"), _day)


_FRAME_COLUMN = {"amount": "amount_cents", "open_amount": "open_cents", "paid_amount": "paid_cents"}


def column_facts(parsed: ParsedBatch) -> list[ColumnFact]:
    """A fact line for each mapped column of the parsed file."""
    frame = parsed.frame
    facts = []
    for f, h in parsed.mapping.items():
        col = _FRAME_COLUMN.get(f, f)
        if not h or col not in frame:
            continue
        values = frame[col]
        if f in m.AMOUNT_FIELDS:
            empty = 0
            distinct = int(values.nunique())
            sums = frame.groupby("currency")[col].sum() if "currency" in frame else pd.Series(dtype=np.int64)
            summary = Phrase(N_("sum {amounts}"), {"amounts": joined((Money(int(c), cur) for cur, c in sums.items()), "; ")})
        elif f in m.DATE_FIELDS:
            days = values.dropna()
            empty, distinct = int(values.isna().sum()), int(days.nunique())
            summary = (Phrase(N_("{first} – {last}"), {"first": _day(days.min()), "last": _day(days.max())})
                       if len(days) else Phrase(N_("empty")))
        else:
            text_ = pa.array(values.astype(object).where(values.notna(), "").astype(str), type=pa.string())
            filled = text_.filter(pc.not_equal(text_, ""))
            empty, distinct = len(text_) - len(filled), pc.count_distinct(filled).as_py()
            shown = pc.unique(filled.slice(0, 200)).to_pylist()[:3]
            summary = (Phrase(N_("e.g. {examples}"), {"examples": ", ".join(f'"{x}"' for x in shown)}) if shown
                       else Phrase(N_("empty")))
        facts.append(ColumnFact(f, m.FIELDS[f].label, h, distinct, empty, summary))
    return facts



def suggest_snapshot(raw: RawTable, parsed: ParsedBatch, as_of) -> tuple[object, Notice | None]:  # noqa: ANN001
    """The day an open-items file seems to have been made, when that is not `as_of`: the due date plus
    a days-past-due column, when that gives the same day in nearly every row; otherwise, when the
    newest invoice date lies more than a year before `as_of` or after it, that date (the file is at least
    as new)."""
    frame, mapping = parsed.frame, parsed.mapping
    as_of64 = np.datetime64(as_of, "D")
    suggestion, reason = None, None
    days_col = m.days_overdue_column(raw.headers)
    if days_col and mapping.get("due_date") and len(frame):
        position = np.searchsorted(raw.lines, frame["line"].to_numpy())
        texts = _strip(raw.column(days_col)).take(pa.array(position))
        whole = _np(pc.match_substring_regex(texts, r"^-?\d{1,5}$"))
        due = frame["due_date"].to_numpy().astype("datetime64[D]")
        usable = whole & ~np.isnat(due)
        if usable.any():
            days = np.asarray(pc.cast(texts.filter(pa.array(usable)), pa.int64()).to_numpy(zero_copy_only=False))
            made = due[usable] + days.astype("timedelta64[D]")
            values, counts = np.unique(made, return_counts=True)
            best = int(np.argmax(counts))
            if counts[best] * 5 >= 4 * len(made):
                suggestion = values[best]
                reason = Phrase(N_("the due date plus {column} gives {day} in {rows} of the {total} rows"),
                                {"column": days_col, "day": _day(suggestion), "rows": Count(int(counts[best])),
                                 "total": Count(len(made))})
    if suggestion is None and mapping.get("invoice_date") and len(frame):
        dates = frame["invoice_date"].to_numpy().astype("datetime64[D]")
        dates = dates[~np.isnat(dates)]
        if len(dates):
            newest = dates.max()
            if newest > as_of64 or newest < as_of64 - np.timedelta64(365, "D"):
                suggestion = newest
                reason = Phrase(N_("its newest invoice is dated {day}, so it was made on that day or later"),
                                {"day": _day(newest)})
    if suggestion is None or suggestion == as_of64:
        return None, None
    day = pd.Timestamp(suggestion).date()
    return day, Notice("snapshot", N_("The snapshot date may be wrong: the file seems to be of {day} ({reason}), while "
                                      "it is imported as of {as_of}. If so, import it as of {day}: invoices are then "
                                      "aged, and missing ones closed, on the day the list was made"),
                       params={"day": _day(day), "reason": reason, "as_of": _day(as_of64)})
