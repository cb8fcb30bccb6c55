"""Importing accounting exports into the ledger: one batch, one transaction.

Open items (full or partial snapshot), an invoice ledger with paid dates, or debtor master data.
A file is checked completely before anything is written; the same file twice changes nothing; a newer
export records only what changed, as dated invoice changes; the latest batch can be undone."""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import func, select, text, update

from db import analytics_queries
from db.models import (
    ColumnMapping,
    Debtor,
    ImportBatch,
    Invoice,
    InvoiceChange,
    Message,
    MessageInvoice,
    Note,
    utcnow,
)
from db.uow import UnitOfWork
from receivables import importing as imp
from receivables.domain import money
from receivables.importing.validation import (
    ImportOptions,
    Notice,
    ParsedBatch,
    Problem,
    detect,
    give_way,
    notice,
    suggest_snapshot,
)
from receivables.services import ledger, reminders
from receivables.services.audit import record_audit
from receivables.services.errors import ServiceError

FULL, PARTIAL = "full", "partial"
MODES = (FULL, PARTIAL)
IMPORT_KINDS = imp.KINDS
_CHUNK = 100_000
_PIECE_ROWS = 100_000  # rows parsed and written at a time
_BULK_CHANGES = 5_000  # from this many payments, credits or closings on, the daily sums are kept by hand
_BULK_ROWS = 100_000  # from this many new rows on, a load drops indexes and triggers and rebuilds
_KEEP_IN_DETAILS = 200  # warnings / left-out rows kept with the batch for the history
STORED_ROWS = 20  # rows the check shows as they will be stored
_FAR = np.timedelta64(365, "D")  # invoice dates this long before the snapshot are worth a word


class ImportRejected(ServiceError):
    """The file has problems; nothing was written. `problems` lists them (up to the listed maximum)."""

    def __init__(self, parsed: ParsedBatch, hint: str | None = None, notes: list[str] | None = None,
                 headers: list[str] | None = None):
        self.notes = list(notes or [])  # why a column was not picked
        self.headers = list(headers or [])
        self.problems = parsed.errors
        self.problem_count = parsed.error_count
        self.parsed = parsed
        first = "; ".join(str(p) for p in parsed.errors[:3])
        more = f" (and {parsed.error_count - 3} more)" if parsed.error_count > 3 else ""
        hint = hint or ("Fix the file, or import the valid rows only" if not parsed.file_errors
                        else "Fix the mapping or the file")
        super().__init__(f"{parsed.error_count} problem(s), nothing was imported: {first}{more}. {hint}.")


@dataclass(frozen=True)
class Closing:
    """What a full snapshot closes: the open invoices of the ledger that are not in the file."""

    as_of: date
    count: int = 0
    totals: dict[str, int] = field(default_factory=dict)  # open amount per currency
    absent_count: int = 0  # of them, invoices of debtors that are not in the file at all
    absent_debtors: int = 0
    open_before: int = 0  # open invoices in the ledger before the import

    @property
    def needs_confirmation(self) -> bool:
        """Closing a debtor the file does not mention, or more than half of the ledger, is what an
        unrelated or partial file does: a person says it is the complete list."""
        return self.count > 0 and (self.absent_count > 0 or 2 * self.count > self.open_before)

    def total_text(self) -> str:
        return "; ".join(money.fmt(c, cur, "en") for cur, c in sorted(self.totals.items())) or "nothing"

    def describe(self) -> str:
        if not self.count:
            return "This full import closes no open invoice."
        invoices = "1 open invoice" if self.count == 1 else f"{self.count:,} open invoices"
        text_ = f"This full import closes {invoices} as paid on {self.as_of:%d-%m-%Y}: {self.total_text()}."
        debtors = "1 debtor that is" if self.absent_debtors == 1 else f"{self.absent_debtors:,} debtors that are"
        if self.absent_count == self.count:
            text_ += (f" {'It belongs' if self.count == 1 else f'All {self.count:,} belong'} to {debtors} not in "
                      "this file at all.")
        elif self.absent_count:
            text_ += (f" {self.absent_count:,} of them belong{'s' if self.absent_count == 1 else ''} to {debtors} "
                      "not in this file at all.")
        if self.count == self.open_before:
            text_ += " That is every open invoice in the ledger."
        elif 2 * self.count > self.open_before:
            text_ += f" That is more than half of the {self.open_before:,} open invoices."
        return text_


class ClosingNeedsConfirmation(ServiceError):
    """A full import would close invoices that only a complete list may close; nothing was written."""

    def __init__(self, closing: Closing):
        self.closing = closing
        super().__init__(f"{closing.describe()} Nothing was imported.")


@dataclass(frozen=True)
class PreviousImport:
    batch_id: int
    kind: str
    imported_at: datetime
    imported_by: str
    file_name: str
    newer_since: datetime | None  # a later applied batch of the same kind exists
    as_of: date | None = None
    rows: int = 0  # invoice or debtor rows the file held
    skipped: int = 0

    @property
    def is_latest(self) -> bool:
        """Identical to the newest import of its kind: importing it again cannot change anything."""
        return self.newer_since is None

    def describe(self) -> str:
        text_ = (f"This file was imported before, on {self.imported_at:%d-%m-%Y %H:%M} by {self.imported_by} "
                 f"(batch {self.batch_id}, '{self.file_name}')")
        if self.is_latest:
            return text_ + (". Nothing was changed. To read it with other columns, dates or numbers, undo that "
                            "import first (import history).")
        return (text_ + f", but newer imports followed (the last on {self.newer_since:%d-%m-%Y %H:%M}). Importing "
                "it again makes the ledger what this file says: check the counts, and undo if it was the wrong file.")


@dataclass
class Preview:
    """What the page shows before the user confirms: the detected dialect and mapping with samples."""

    file_name: str
    file_hash: str
    size: int
    kind: str
    detected_kind: str
    profile: str
    mapping: dict[str, str | None]
    options: ImportOptions  # detected, or remembered
    detected: imp.Detected
    headers: list[str]
    samples: dict[str, list[str]]
    row_count: int
    dialect: str
    notes: list[str]
    signature: str
    remembered: dict | None  # {"saved_by", "saved_at"} when the mapping came from an earlier confirmation
    previous: PreviousImport | None
    mapping_notes: list[str] = field(default_factory=list)  # columns not picked, and why


@dataclass
class ImportResult:
    kind: str
    mode: str
    as_of: date
    file_name: str
    file_hash: str
    dry_run: bool
    batch_id: int | None = None
    new: int = 0
    changed: int = 0
    closed: int = 0
    unchanged: int = 0
    skipped: int = 0
    skipped_detail: dict = field(default_factory=dict)
    left_out: list[Problem] = field(default_factory=list)
    left_out_count: int = 0
    warnings: list[Problem] = field(default_factory=list)
    warning_count: int = 0
    created_debtors: int = 0
    cancelled_messages: list[int] = field(default_factory=list)
    previous: PreviousImport | None = None
    notes: list[str] = field(default_factory=list)
    confirmed_batch_id: int | None = None  # an identical re-upload of a later date: the batch that says so
    # what the check shows: the first rows as stored, the columns, what to look at, what a full list closes
    stored_rows: pd.DataFrame | None = None
    facts: list[imp.ColumnFact] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    closing: Closing | None = None  # full open-items imports
    suggested_as_of: date | None = None

    def summary(self) -> str:
        return (f"new {self.new}, changed {self.changed}, closed {self.closed}, unchanged {self.unchanged}, "
                f"skipped {self.skipped}")


# --- reading and previewing ------------------------------------------------------------------------

def file_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read(data: bytes, file_name: str) -> imp.RawTable:
    try:
        return imp.read_table(data, file_name)
    except imp.FileRejected as exc:
        raise ServiceError(f"{file_name or 'the file'}: {exc}") from None


def _check_kind(kind: str | None) -> None:
    if kind is not None and kind not in IMPORT_KINDS:
        raise ServiceError(f"unknown kind of import '{kind}'; choose one of {', '.join(IMPORT_KINDS)}")


def _check_profile(profile: str | None) -> None:
    if profile is not None and profile not in imp.PROFILES:
        raise ServiceError(f"unknown profile '{profile}'; choose one of {', '.join(imp.PROFILES)}")


def preview(uow: UnitOfWork, data: bytes, file_name: str, *, kind: str | None = None,
            profile: str | None = None, mode: str = FULL) -> Preview:
    """Read the file and propose how to import it: the kind, the column mapping (a remembered one
    when this header was confirmed before) and how numbers and dates are written."""
    _check_kind(kind)
    _check_profile(profile)
    raw = _read(data, file_name)
    signature = imp.header_signature(raw.headers)
    detected_kind = _remembered_kind(uow.session, signature) or imp.guess_kind(raw)
    kind = kind or detected_kind
    remembered = _remembered(uow.session, signature, kind)
    auto_profile = imp.detect_profile(raw.headers)
    if remembered and profile is None:
        mapping = {f: h for f, h in remembered.mapping.items() if h in raw.headers}
        mapping = {f: mapping.get(f) for f in imp.KIND_FIELDS[kind]}
        info = {"saved_by": remembered.saved_by, "saved_at": remembered.saved_at}
        profile = (remembered.options or {}).get("profile") or auto_profile
        mapping_notes: list[str] = []
    else:
        profile = profile or auto_profile
        mapping, mapping_notes = imp.review_mapping(raw, kind, imp.suggest_mapping(raw.headers, kind, profile))
        info = None
    chosen = _options_for(raw, kind, mapping, None, remembered.options if remembered else None)
    detected = detect(raw, kind, mapping, chosen)
    resolved = ImportOptions(chosen.decimal or detected.decimal, chosen.date_order or detected.date_order,
                             chosen.currency or detected.currency)
    fhash = file_hash(data)
    return Preview(file_name, fhash, len(data), kind, detected_kind, profile, mapping, resolved, detected,
                   raw.headers, {h: raw.samples(h) for h in raw.headers}, raw.row_count, raw.describe(),
                   raw.notes, signature, info, _previous(uow.session, fhash, kind, mode), mapping_notes)


def check(uow: UnitOfWork, data: bytes, file_name: str, *, actor: str, **request) -> ImportResult:
    """What importing would do, without writing: `run_import` as a dry run (the same code, rolled back),
    with the first rows as they would be stored, the column facts, the notices and what a full list
    closes."""
    return run_import(uow, data, file_name, actor=actor, dry_run=True, **request)


# --- importing ------------------------------------------------------------------------------------

def run_import(uow: UnitOfWork, data: bytes, file_name: str, *, actor: str, kind: str | None = None,
               mode: str = FULL, as_of: date | None = None, mapping: dict | None = None,
               options: ImportOptions | dict | None = None, profile: str | None = None,
               valid_rows_only: bool = False, dry_run: bool = False, close_missing: bool = False) -> ImportResult:
    """Import one file as one batch in one transaction. Raises ImportRejected (nothing written) when
    the file has problems, unless `valid_rows_only`, which leaves the bad rows out and lists them.
    A full open-items import that would close invoices of debtors the file does not mention, or more
    than half of the open invoices, raises ClosingNeedsConfirmation unless `close_missing` (a dry run
    reports it in `closing`). The result carries what the check shows: the first rows as stored,
    notices with their rows and, for a dry run, facts per column."""
    _check_kind(kind)
    _check_profile(profile)
    if mode not in MODES:
        raise ServiceError(f"unknown mode '{mode}'; choose full or partial")
    as_of = as_of or date.today()
    s = uow.session
    if not s.in_transaction():  # SQLite: the bulk writes check their own references (_check_references)
        s.connection(execution_options={"sqlite_foreign_keys": False})
    fhash = file_hash(data)
    if isinstance(options, dict):
        options = ImportOptions.from_dict(options)

    previous = _previous(s, fhash, kind, mode)
    if previous is not None and previous.is_latest:
        result = ImportResult(previous.kind, mode, as_of, file_name, fhash, dry_run, previous=previous)
        result.notes.append(previous.describe())
        _confirm(uow, previous, result, actor)
        return result

    raw = _read(data, file_name)
    signature = imp.header_signature(raw.headers)
    kind = kind or _remembered_kind(s, signature) or imp.guess_kind(raw)
    if kind != imp.OPEN_ITEMS:
        mode = PARTIAL
    remembered = _remembered(s, signature, kind)
    mapping_notes: list[str] = []
    if mapping is None:
        if remembered is not None and profile is None:
            mapping = {f: h for f, h in remembered.mapping.items() if h in raw.headers}
        else:
            mapping, mapping_notes = imp.review_mapping(
                raw, kind, imp.suggest_mapping(raw.headers, kind, profile or imp.detect_profile(raw.headers)))
    options = _options_for(raw, kind, mapping, options, remembered.options if remembered else None)
    prepared = imp.prepare(raw, kind, mapping, options)
    if prepared.failed or (prepared.error_count and not valid_rows_only):
        # every problem is listed, so every row is parsed first (and nothing is written)
        raise ImportRejected(prepared.finish([] if prepared.failed else [prepared.parse(0, prepared.row_count)]),
                             notes=mapping_notes, headers=raw.headers)

    if kind == imp.OPEN_ITEMS and mode == FULL:
        last = s.scalar(select(func.max(ImportBatch.as_of)).where(
            ImportBatch.kind == imp.OPEN_ITEMS, ImportBatch.mode == FULL, ImportBatch.status == "applied"))
        if last is not None and as_of < last:
            raise ServiceError(f"the ledger already holds a full snapshot of {last:%d-%m-%Y}; a full import "
                               f"dated {as_of:%d-%m-%Y} would undo what happened since. Use a snapshot dated "
                               f"{last:%d-%m-%Y} or later, or import it as partial")

    batch = ImportBatch(kind=kind, mode=mode, file_name=file_name[:255], file_hash=fhash, as_of=as_of,
                        imported_by=actor, profile=(profile or imp.detect_profile(raw.headers))[:50])
    s.add(batch)
    s.flush()
    result = ImportResult(kind, mode, as_of, file_name, fhash, dry_run, batch_id=None if dry_run else batch.id)
    if previous is not None:  # identical to an older batch: applied again, and said so
        result.notes.append(previous.describe())
    result.notes.extend(mapping_notes)
    details: dict = {"mapping": prepared.mapping, "options": prepared.options.as_dict(),
                     "skipped": prepared.skipped}
    pieces = _Pieces(prepared, valid_rows_only)
    mapped = {f for f, h in prepared.mapping.items() if h}
    seen = _Seen()
    if kind == imp.DEBTORS:
        parts = list(pieces)
        if parts and not pieces.rejected:
            _apply_debtors(s, pd.concat(parts, ignore_index=True), batch, result, details)
    elif kind == imp.LEDGER:
        _apply_ledger(s, pieces, batch, result, details, mapped, seen)
    else:
        _apply_open_items(s, pieces, batch, result, details, mode, mapped, seen,
                          confirm=not (close_missing or dry_run))
    parsed = prepared.finish(pieces.parsed)
    if pieces.rejected:
        raise ImportRejected(parsed)
    if not pieces.rows:
        if parsed.error_count:
            raise ImportRejected(parsed, "No row is valid")
        raise ServiceError(f"{file_name}: the file holds no {'debtors' if kind == imp.DEBTORS else 'invoices'}"
                           f" ({parsed.skipped_count} blank or total rows); nothing was imported")
    rows = pieces.rows

    result.skipped_detail = dict(parsed.skipped)
    result.skipped = parsed.skipped_count + len(parsed.frame) - rows
    if valid_rows_only and parsed.error_count:
        result.left_out = parsed.errors
        result.left_out_count = parsed.error_count
        result.skipped_detail["left out"] = len(parsed.frame) - rows
    result.warnings = parsed.warnings
    result.warning_count = parsed.warning_count
    result.notices = [*parsed.notices, *seen.notices()]
    if kind == imp.OPEN_ITEMS:
        result.notices += seen.dates_far(as_of)
        result.suggested_as_of, suggestion = suggest_snapshot(raw, parsed, as_of)
        if suggestion is not None:
            result.notices.append(suggestion)
    result.stored_rows = _stored_rows(s, kind, parsed.valid_rows().head(STORED_ROWS))
    if dry_run:
        result.facts = imp.column_facts(parsed)
    details["notices"] = [str(n) for n in result.notices]
    if result.closing is not None and result.closing.count:
        details["closing"] = result.closing.describe()
    details["warnings"] = [str(p) for p in parsed.warnings[:_KEEP_IN_DETAILS]]
    details["warning_count"] = parsed.warning_count
    details["left_out"] = [str(p) for p in result.left_out[:_KEEP_IN_DETAILS]]
    details["left_out_count"] = result.left_out_count
    details["notes"] = result.notes
    batch.count_new, batch.count_changed, batch.count_closed = result.new, result.changed, result.closed
    batch.count_unchanged, batch.count_skipped = result.unchanged, result.skipped
    batch.details = details
    record_audit(s, actor, "import.apply", "import_batch", batch.id, None,
                 {"file_name": file_name, "file_hash": fhash, "kind": kind, "mode": mode, "as_of": as_of,
                  "counts": result.summary(),
                  **({"closing_confirmed": result.closing.describe()}
                     if result.closing is not None and result.closing.needs_confirmation else {})})
    _remember(s, signature, kind, parsed.mapping, {**parsed.options.as_dict(), "profile": batch.profile}, actor)
    if dry_run:
        uow.rollback()
    else:
        uow.commit()
    return result


def _confirm(uow: UnitOfWork, previous: PreviousImport, result: ImportResult, actor: str) -> None:
    """The same file as the latest import, of a later date: the ledger stays as it is, but a batch
    records that its data still held on the new snapshot date, so the freshness check sees today's
    upload. It writes no invoices or changes, so undoing it only takes the date back."""
    if previous.kind == imp.DEBTORS or previous.as_of is None or result.as_of <= previous.as_of:
        return
    s = uow.session
    result.unchanged, result.skipped = previous.rows, previous.skipped
    note = f"Identical to batch {previous.batch_id}: its data is confirmed as of {result.as_of:%d-%m-%Y}."
    result.mode = result.mode if previous.kind == imp.OPEN_ITEMS else PARTIAL
    batch = ImportBatch(kind=previous.kind, mode=result.mode, file_name=result.file_name[:255],
                        file_hash=result.file_hash, as_of=result.as_of, imported_by=actor,
                        count_unchanged=result.unchanged, count_skipped=result.skipped,
                        details={"identical_to": previous.batch_id, "notes": [note]})
    s.add(batch)
    s.flush()
    result.confirmed_batch_id = None if result.dry_run else batch.id
    result.notes.append(note)
    record_audit(s, actor, "import.confirm", "import_batch", batch.id, None,
                 {"file_name": result.file_name, "file_hash": result.file_hash, "kind": previous.kind,
                  "mode": result.mode, "as_of": result.as_of, "identical_to": previous.batch_id})
    if result.dry_run:
        uow.rollback()
    else:
        uow.commit()


def _options_for(raw: imp.RawTable, kind: str, mapping: dict, given: ImportOptions | None,
                 remembered: dict | None) -> ImportOptions:
    """Options the caller gave win. Otherwise what this file proves (a decimal mark, a day above 12)
    beats what was remembered for its header, and the remembered choice settles what it cannot
    prove: the same header may come as CSV one week and as Excel the next."""
    if given is not None:
        return given
    if not remembered:
        return ImportOptions()  # validation detects everything itself
    found = detect(raw, kind, mapping, ImportOptions())
    before = ImportOptions.from_dict(remembered)
    return ImportOptions(found.decimal if found.decimal_proven else (before.decimal or found.decimal),
                         found.date_order or before.date_order, before.currency or found.currency)


class _Pieces:
    """The file's valid rows a piece at a time, for the writers: the next piece is parsed while the last
    is written. After a piece with a problem (unless only the valid rows are wanted) nothing more is
    handed out, as the file will be rejected and the transaction rolled back, but the rest is still
    parsed, so that every problem is listed."""

    def __init__(self, prepared: imp.Prepared, valid_rows_only: bool):
        self.prepared = prepared
        self.valid_rows_only = valid_rows_only
        self.parsed: list = []  # every piece, for `prepared.finish`
        self.rows = 0  # valid rows seen
        self.rejected = False

    def __iter__(self):
        prepared = self.prepared
        for start in range(0, prepared.row_count, _PIECE_ROWS):
            piece = prepared.parse(start, min(start + _PIECE_ROWS, prepared.row_count))
            self.parsed.append(piece)
            self.rejected = self.rejected or (piece.error_count > 0 and not self.valid_rows_only)
            rows = prepared.valid_rows(piece)
            self.rows += len(rows)
            if len(rows) and not self.rejected:
                yield rows

    def known(self, current: pd.DataFrame) -> np.ndarray:
        """For each data row of the file: is its invoice number in `current` (one lookup for the
        whole file; `position` finds a piece's rows in it)."""
        numbers = pd.Series(self.prepared.cells[self.prepared.mapping["invoice_number"]].to_pandas())
        return _isin(numbers, current["number"]) if len(current) else np.zeros(len(numbers), dtype=bool)

    def position(self, rows: pd.DataFrame) -> np.ndarray:
        """Where `rows` (of one piece) are among the file's data rows."""
        return np.searchsorted(self.prepared.lines, rows["line"].to_numpy())


class _Seen:
    """What the writers saw of an invoice file's rows on their way in, for the check: the dates filled
    in from a payment term, the debtors the rows belong to, and the invoice dates as stored."""

    def __init__(self) -> None:
        self.derived: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {"due_date": [], "invoice_date": []}
        self.debtor_ids: list[np.ndarray] = []
        self.lines: list[np.ndarray] = []
        self.invoice_dates: list[np.ndarray] = []

    def rows(self, rows: pd.DataFrame) -> None:
        self.debtor_ids.append(rows["debtor_id"].to_numpy())
        self.lines.append(rows["line"].to_numpy())
        self.invoice_dates.append(rows["invoice_date"].to_numpy().astype("datetime64[D]"))

    def file_debtors(self) -> np.ndarray:
        return np.unique(np.concatenate(self.debtor_ids)) if self.debtor_ids else np.zeros(0, np.int64)

    def notices(self) -> list[Notice]:
        out = []
        for f, other, sign in (("due_date", "invoice date", "+"), ("invoice_date", "due date", "−")):
            if not self.derived[f]:
                continue
            lines = np.concatenate([x for x, _ in self.derived[f]])
            terms = np.concatenate([t for _, t in self.derived[f]])
            values, counts = np.unique(terms, return_counts=True)
            if len(values) == 1:
                term = f"{int(values[0])} days"
            else:
                term = ", ".join(f"{int(v)} days for {int(c):,} rows" for v, c in zip(values, counts)) + \
                       ": each debtor's term"
            advice = ("Choose the due-date column if the file has one, or import a debtor list with the payment "
                      "terms first" if f == "due_date" else "Choose the invoice-date column if the file has one")
            rows = "1 row" if len(lines) == 1 else f"{len(lines):,} rows"
            out.append(notice(f"derived:{f}", f"The {f.replace('_', ' ')} is not in the file for {rows}: derived as "
                                              f"{other} {sign} payment term ({term}). {advice}", lines))
        return out

    def dates_far(self, as_of: date) -> list[Notice]:
        """Invoices dated long before the snapshot date, or after it: a sign of a wrong snapshot date."""
        if not self.lines:
            return []
        lines, dates = np.concatenate(self.lines), np.concatenate(self.invoice_dates)
        day = np.datetime64(as_of, "D")
        out = []
        old, new = dates < day - _FAR, dates > day
        if old.any():
            out.append(notice("far-before", f"{_invoices(int(old.sum()))} dated more than a year before the "
                                            f"snapshot date {as_of:%d-%m-%Y} (the oldest {_day(dates[old].min())})",
                              lines[old]))
        if new.any():
            out.append(notice("after", f"{_invoices(int(new.sum()))} dated after the snapshot date {as_of:%d-%m-%Y} "
                                       f"(the newest {_day(dates[new].max())}): a list of open items holds no "
                                       "invoice from after the day it was made. Check the snapshot date",
                              lines[new]))
        return out


def _invoices(n: int) -> str:
    return "1 invoice is" if n == 1 else f"{n:,} invoices are"


def _day(value) -> str:  # noqa: ANN001
    return pd.Timestamp(value).strftime("%d-%m-%Y")


def _stored_rows(s, kind: str, rows: pd.DataFrame) -> pd.DataFrame:
    """The rows of the file as the ledger holds them now (inside the import's transaction): invoice
    number, debtor code and name, dates, amounts and currency, or a debtor's master data."""
    lines = rows["line"].tolist()
    if kind == imp.DEBTORS:
        cols = ["code", "name", "email", "contact_person", "phone", "language", "is_consumer", "payment_term_days"]
        found = {d.code: d for d in s.scalars(select(Debtor).where(Debtor.code.in_(rows["debtor_code"].tolist())))}
        return pd.DataFrame([{"line": ln, **{c: getattr(found[code], c) for c in cols}}
                             for ln, code in zip(lines, rows["debtor_code"]) if code in found],
                            columns=["line", *cols])
    cols = ["invoice_number", "debtor_code", "debtor_name", "invoice_date", "due_date", "amount_cents", "open_cents",
            "currency"]
    numbers = rows["invoice_number"].tolist()
    found = {r[0]: r for r in s.execute(
        select(Invoice.number, Debtor.code, Debtor.name, Invoice.invoice_date, Invoice.due_date, Invoice.amount_cents,
               Invoice.open_cents, Invoice.currency).join(Debtor, Debtor.id == Invoice.debtor_id)
        .where(Invoice.number.in_(numbers)))}
    return pd.DataFrame([[ln, *found[n]] for ln, n in zip(lines, numbers) if n in found], columns=["line", *cols])


@contextmanager
def _loading(s, pieces: _Pieces, current: pd.DataFrame, batch: ImportBatch, result: ImportResult, details: dict,
             seen: _Seen):
    """Writing an invoice file's new invoices as it is parsed: yields the loader and the file's pieces as
    (rows with their debtor ids, which of them the ledger already has). After the last piece the
    debtors the rows refer to are checked and the loader finishes (indexes, daily sums)."""
    known_in_file = pieces.known(current)
    with _Writer(s) as writer, _NewInvoices(s, batch.id, int((~known_in_file).sum()), writer) as loader:
        debtors = _Debtors(s, writer, result, details, seen)

        def pieces_known():
            for rows in pieces:
                rows = debtors.attach(rows)
                seen.rows(rows)
                yield rows, known_in_file[pieces.position(rows)]

        yield loader, pieces_known()
        loader.check_debtors(debtors.ids_used)


# --- open items -----------------------------------------------------------------------------------

def _apply_open_items(s, pieces: _Pieces, batch: ImportBatch, result: ImportResult, details: dict, mode: str,
                      mapped: set[str], seen: _Seen, confirm: bool) -> None:
    """New invoices are written a piece at a time as the file is parsed; the invoices the ledger
    already has are compared with the whole file afterwards."""
    as_of = batch.as_of
    current = _current_invoices(s)
    existing_parts, numbers = [], []
    with _loading(s, pieces, current, batch, result, details, seen) as (loader, pieces_known):
        for rows, known in pieces_known:
            new = rows[~known]
            if len(new):
                amount, open_ = new["amount_cents"].to_numpy(), new["open_cents"].to_numpy()
                delta = open_ - amount
                moved = np.flatnonzero(delta != 0)
                kinds = np.where(amount[moved] > 0, "payment", "credit")
                kinds = np.where(np.abs(open_[moved]) > np.abs(amount[moved]), "reopen", kinds)
                # the file's open amount is the state on as_of: what was paid before is one change on it
                loader.add(new, open_, np.full(len(new), np.datetime64(as_of, "D")),
                           moved, np.full(len(moved), np.datetime64(as_of, "D")), kinds, delta[moved])
            existing_parts.append(rows[known])
            numbers.append(rows["invoice_number"])
    result.new = loader.count
    if pieces.rejected:
        return  # rolled back by the caller

    existing = pd.concat(existing_parts, ignore_index=True) if existing_parts else pd.DataFrame()
    closed_ids: list[int] = []
    if len(existing):
        merged = _merge_current(existing, current)
        field_changed = _update_fields(s, merged, mapped, details)
        file_open = merged["open_cents"].to_numpy()
        delta = file_open - merged["open_cents_db"].to_numpy()
        moving = delta != 0
        ids = merged["id"].to_numpy()[moving]
        _apply_changes(s, ids, merged["open_cents_db"].to_numpy()[moving], file_open[moving],
                       np.full(len(ids), np.datetime64(as_of, "D")), batch.id)
        closed_ids.extend(int(i) for i in ids[file_open[moving] == 0])
        changed = (delta != 0) | field_changed
        closes = (delta != 0) & (file_open == 0)
        result.closed += int(closes.sum())
        result.changed = int((changed & ~closes).sum())
        result.unchanged = int((~changed).sum())

    if mode == FULL:
        result.closing = Closing(as_of)
    if mode == FULL and len(current):
        in_file = _isin(current["number"], pd.concat(numbers, ignore_index=True) if numbers else pd.Series([]))
        gone = current[~in_file & (current["open_cents"].to_numpy() != 0) & ~current["is_demo"].to_numpy()
                       & (current["invoice_date"].to_numpy() <= np.datetime64(as_of))]
        result.closing = _closing(s, gone, current, seen.file_debtors(), as_of)
        if confirm and result.closing.needs_confirmation and pieces.rows:  # an empty file is refused below
            raise ClosingNeedsConfirmation(result.closing)  # the caller's transaction is rolled back
        _apply_changes(s, gone["id"].to_numpy(), gone["open_cents"].to_numpy(), np.zeros(len(gone), dtype=np.int64),
                       np.full(len(gone), np.datetime64(as_of, "D")), batch.id)
        closed_ids.extend(int(i) for i in gone["id"].to_numpy())
        result.closed += len(gone)
    s.flush()
    _leave_messages(s, closed_ids, result, details)


def _closing(s, gone: pd.DataFrame, current: pd.DataFrame, file_debtors: np.ndarray, as_of: date) -> Closing:
    open_before = int(((current["open_cents"] != 0) & ~current["is_demo"]).sum())
    if not len(gone):
        return Closing(as_of, open_before=open_before)
    currency = _invoice_facts(s, gone["id"].to_numpy())["currency"].to_numpy()
    totals = pd.Series(gone["open_cents"].to_numpy()).groupby(currency).sum()
    absent = ~np.isin(gone["debtor_id"].to_numpy(), file_debtors)
    return Closing(as_of, len(gone), {str(c): int(v) for c, v in totals.items()}, int(absent.sum()),
                   len(np.unique(gone["debtor_id"].to_numpy()[absent])), open_before)


def _foreign_keys_off(s) -> bool:
    conn = s.connection()
    return conn.dialect.name == "sqlite" and not conn.exec_driver_sql("PRAGMA foreign_keys").scalar()


def _check_references(s, table: str, ids, what: str) -> None:
    """With SQLite's foreign-key enforcement off for the import (it looks up the parent of every row
    a bulk load inserts, a tenth of a large load), the bulk writers check the parents they refer to
    here, once per distinct id; a miss raises and the whole import is rolled back."""
    if not _foreign_keys_off(s):
        return
    wanted = np.unique(np.asarray(ids, dtype=np.int64))
    if not len(wanted):
        return
    dbapi = s.connection().connection.driver_connection
    missing = dbapi.execute(f"SELECT COUNT(*) FROM json_each(?) j WHERE NOT EXISTS "
                            f"(SELECT 1 FROM {table} t WHERE t.id = j.value)", (json.dumps(wanted.tolist()),)).fetchone()[0]
    if missing:
        raise RuntimeError(f"the import refers to {missing} {what} that do not exist; nothing was imported")


def _merge_current(rows: pd.DataFrame, current: pd.DataFrame) -> pd.DataFrame:
    """The file's rows next to the stored invoices; stored columns get a `_db` suffix (`id` stays)."""
    stored = current.rename(columns={c: f"{c}_db" for c in current.columns if c not in ("id", "number")})
    return rows.merge(stored, left_on="invoice_number", right_on="number", how="inner")


def _change_kinds(old: np.ndarray, new: np.ndarray) -> np.ndarray:
    """What moving each open amount from `old` to `new` is: less of the same sign (or nothing left) is a
    payment (a credit for a credit note), a change of sign a correction, more a reopen."""
    old, new = np.asarray(old, dtype=np.int64), np.asarray(new, dtype=np.int64)
    paid = (new == 0) | ((np.abs(new) < np.abs(old)) & ((new > 0) == (old > 0)))
    flipped = ((new > 0) != (old > 0)) & (old != 0)
    return np.where(paid, np.where(old > 0, "payment", "credit"), np.where(flipped, "correction", "reopen"))


def _apply_changes(s, invoice_ids, old_open, new_open, change_dates, batch_id: int) -> None:
    """`ledger.apply_change` for many invoices at once, without loading them: one dated change per
    invoice (bulk insert) and the invoices' open amount and settled date (one set-based update). An
    invoice with an open amount is unsettled; one whose open amount reaches zero is settled on the
    change's date (open and settled never hold at once, so there is no earlier settled date to keep)."""
    ids = np.asarray(invoice_ids, dtype=np.int64)
    if not len(ids):
        return
    old, new = np.asarray(old_open, dtype=np.int64), np.asarray(new_open, dtype=np.int64)
    when = np.asarray(change_dates).astype("datetime64[D]")
    days = _iso(when)
    with _ledger_day_by_hand(s, len(ids), at_least=_BULK_CHANGES) as by_hand:
        _insert_changes(s, ids, days, _change_kinds(old, new), new - old, batch_id)
        if by_hand:
            facts = _invoice_facts(s, ids)
            analytics_queries.add_to_ledger_day(s.connection(), analytics_queries.ledger_day_contributions(
                facts["currency"].to_numpy(), facts["invoice_date"].to_numpy(), facts["due_date"].to_numpy(),
                np.zeros(len(ids), dtype=np.int64), np.arange(len(ids)), when, new - old, new_invoices=False))
    settled = np.where(new == 0, days, None)
    conn = s.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(text("UPDATE invoice SET open_cents = v.open_cents, settled_date = v.settled_date "
                          "FROM unnest(CAST(:ids AS bigint[]), CAST(:open AS bigint[]), CAST(:settled AS date[])) "
                          "AS v(id, open_cents, settled_date) WHERE invoice.id = v.id"),
                     {"ids": ids.tolist(), "open": new.tolist(),
                      "settled": [None if d is None else date.fromisoformat(d) for d in settled]})
        return
    frame = pd.DataFrame({"id": ids, "open_cents": new, "settled_date": settled})
    sql = ("UPDATE invoice SET open_cents = json_extract(j.value, '$[1]'), settled_date = json_extract(j.value, '$[2]') "
           "FROM json_each(?) AS j WHERE invoice.id = json_extract(j.value, '$[0]')")
    dbapi = conn.connection.driver_connection
    for start in range(0, len(frame), _CHUNK):
        dbapi.execute(sql, (_json_rows(frame.iloc[start:start + _CHUNK]),))


def _invoice_facts(s, ids: np.ndarray) -> pd.DataFrame:
    """Currency, invoice and due date of the invoices `ids`, as stored now, in the order of `ids`."""
    conn = s.connection()
    if conn.dialect.name == "postgresql":
        rows = conn.execute(text("SELECT id, currency, invoice_date, due_date FROM invoice "
                                 "WHERE id = ANY(CAST(:ids AS bigint[]))"), {"ids": ids.tolist()}).all()
    else:
        rows = conn.execute(text("SELECT id, currency, invoice_date, due_date FROM invoice "
                                 "WHERE id IN (SELECT value FROM json_each(:ids))"), {"ids": json.dumps(ids.tolist())}).all()
    frame = pd.DataFrame(rows, columns=["id", "currency", "invoice_date", "due_date"]).set_index("id").loc[ids]
    for c in ("invoice_date", "due_date"):
        frame[c] = _dates_of(tuple(frame[c]))
    return frame


def _isin(values: pd.Series, among) -> np.ndarray:  # noqa: ANN001
    """Vectorised membership of text values (pandas' own isin loops in Python for Arrow strings)."""
    if not len(values):
        return np.zeros(0, dtype=bool)
    wanted = pa.array(list(among) if not isinstance(among, pd.Series) else among.astype(str), type=pa.string())
    found = pc.is_in(pa.array(values.astype(str), type=pa.string()), value_set=wanted)
    return np.asarray(found.to_numpy(zero_copy_only=False), dtype=bool)


def _current_invoices(s) -> pd.DataFrame:
    cols = ["id", "number", "debtor_id", "open_cents", "amount_cents", "invoice_date", "due_date", "description",
            "reference", "disputed", "is_demo"]
    cursor = s.connection().connection.driver_connection.cursor()
    try:
        cursor.execute(f"SELECT {', '.join(cols)} FROM invoice")
        rows = cursor.fetchall()  # plain tuples: far cheaper to turn into a frame than Row objects
    finally:
        cursor.close()
    if not rows:
        return pd.DataFrame(columns=cols)
    data = dict(zip(cols, zip(*rows)))  # column by column: a million rows become a frame in a moment
    frame = pd.DataFrame({
        **{c: np.asarray(data[c], dtype=np.int64) for c in ("id", "debtor_id", "open_cents", "amount_cents")},
        **{c: np.asarray(data[c], dtype=bool) for c in ("disputed", "is_demo")},
        **{c: pd.Series(pa.array(data[c], type=pa.string()).to_pandas()) for c in ("number", "description",
                                                                                   "reference")},
        **{c: _dates_of(data[c]) for c in ("invoice_date", "due_date")},
    })
    return frame[cols]


def _dates_of(values: tuple) -> np.ndarray:
    """DATE values as the driver returns them (ISO text from SQLite, date objects from PostgreSQL)."""
    if values and isinstance(values[0], str):
        arr = pa.array(values, type=pa.string()).cast(pa.date32())
    else:
        arr = pa.array(values, type=pa.date32())
    return arr.to_numpy(zero_copy_only=False).astype("datetime64[D]")


def _update_fields(s, merged: pd.DataFrame, mapped: set[str], details: dict) -> np.ndarray:
    """Due date, description and reference as the newer export has them; returns which rows changed."""
    changed = np.zeros(len(merged), dtype=bool)
    updates: dict[int, dict] = {}
    before: dict[int, dict] = {}
    if "due_date" in mapped:
        file_due = merged["due_date"].to_numpy().astype("datetime64[D]")
        db_due = merged["due_date_db"].to_numpy().astype("datetime64[D]")
        diff = ~np.isnat(file_due) & (file_due != db_due)
        for i in np.flatnonzero(diff):
            iid = int(merged["id"].iat[i])
            updates.setdefault(iid, {})["due_date"] = _to_date(file_due[i])
            before.setdefault(iid, {})["due_date"] = str(db_due[i])
        changed |= diff
    for f in ("description", "reference"):
        if f in mapped:
            file_v = merged[f].fillna("").astype(str).to_numpy()
            db_v = merged[f + "_db"].fillna("").astype(str).to_numpy()
            diff = file_v != db_v
            for i in np.flatnonzero(diff):
                iid = int(merged["id"].iat[i])
                updates.setdefault(iid, {})[f] = file_v[i] or None
                before.setdefault(iid, {})[f] = db_v[i] or None
            changed |= diff
    if updates:
        s.execute(update(Invoice), [{"id": iid, **vals} for iid, vals in updates.items()])
        details.setdefault("field_changes", []).extend([[iid, b] for iid, b in before.items()])
    return changed


def _to_date(value) -> date:  # noqa: ANN001
    return pd.Timestamp(value).date()


def _leave_messages(s, invoice_ids: list[int], result: ImportResult, details: dict) -> None:
    """Closed or disputed invoices leave the unsent reminders; remember which, so undo can restore."""
    if not invoice_ids:
        return
    lines, statuses = [], {}
    for i in range(0, len(invoice_ids), 500):
        chunk = invoice_ids[i:i + 500]
        for mid, iid, status in s.execute(
                select(MessageInvoice.message_id, MessageInvoice.invoice_id, Message.status)
                .join(Message, Message.id == MessageInvoice.message_id)
                .where(MessageInvoice.invoice_id.in_(chunk), MessageInvoice.active.is_(True),
                       Message.status.in_(ledger.UNSENT))):
            lines.append([mid, iid])
            statuses[str(mid)] = status
    cancelled = ledger.drop_from_pending_messages(s, invoice_ids)
    if lines:
        details["message_lines"] = lines
        details["message_status"] = statuses
    result.cancelled_messages = cancelled


# --- debtors of invoice imports -------------------------------------------------------------------

class _Writer:
    """An import's bulk statements, run in order on one thread beside the parsing of the next piece
    (sqlite3 lets go of the GIL while SQLite works). On PostgreSQL they run at once, in the caller's
    thread. Leaving the `with` waits for every statement; the first failure is raised."""

    def __init__(self, s):
        self.sqlite = s.get_bind().dialect.name == "sqlite"
        self.dbapi = s.connection().connection.driver_connection if self.sqlite else None
        self._pool = ThreadPoolExecutor(max_workers=1) if self.sqlite else None
        # the JSON is written meanwhile, by a thread that gives way to SQLite's when both want a core
        self._encoder = ThreadPoolExecutor(max_workers=1, initializer=give_way) if self.sqlite else None
        self._pending: list = []
        if self.sqlite:  # a large page cache keeps the indexes in memory while many rows go in
            self.dbapi.execute("PRAGMA cache_size = -262144")

    def __enter__(self) -> _Writer:
        return self

    def run(self, fn, *args) -> None:  # noqa: ANN001
        if self._pool is None:
            fn(*args)
            return
        while self._pending and self._pending[0].done():
            self._pending.pop(0).result()  # raises the first failure as soon as it is seen
        self._pending.append(self._pool.submit(fn, *args))

    def insert_json(self, sql: str, frame: pd.DataFrame, first: tuple = ()) -> None:
        """Run `sql` with `first` and `frame`'s rows as one JSON array (SQLite); the JSON is written by
        a third thread."""
        payload = self._encoder.submit(_json_rows, frame)
        self.run(lambda: self.dbapi.execute(sql, (*first, payload.result())))

    def wait(self) -> None:
        while self._pending:
            self._pending.pop(0).result()

    def __exit__(self, exc_type, *_) -> None:  # noqa: ANN001
        if self._pool is None:
            return
        try:
            if exc_type is None:
                self.wait()
        finally:  # never leave a statement running on the connection; after a failure, start no more
            self._pool.shutdown(wait=True, cancel_futures=exc_type is not None)
            self._encoder.shutdown(wait=True, cancel_futures=exc_type is not None)


class _Debtors:
    """Attach debtor ids to a file's rows a piece at a time, creating the debtors the file introduces
    (named from the file), and fill a missing due or invoice date from the debtor's payment term."""

    def __init__(self, s, writer: _Writer, result: ImportResult, details: dict, seen: _Seen):
        self.s, self.writer, self.result, self.details, self.seen = s, writer, result, details, seen
        stored = s.execute(select(Debtor.code, Debtor.id, Debtor.payment_term_days)).all()
        self._codes = pa.array([c for c, _, _ in stored], type=pa.string())
        self._ids = np.asarray([i for _, i, _ in stored], dtype=np.int64)
        self._terms = np.asarray([t or 30 for _, _, t in stored], dtype=np.int64)
        self._new_ids = _Ids(s, "debtor")
        self._used = np.zeros(len(self._ids), dtype=bool)

    @property
    def ids_used(self) -> np.ndarray:
        """The debtors the rows were given."""
        return self._ids[self._used]

    def attach(self, rows: pd.DataFrame) -> pd.DataFrame:
        codes = pa.array(rows["debtor_code"], type=pa.string())
        position = self._position(codes)
        if (position < 0).any():
            fresh = rows[position < 0].drop_duplicates("debtor_code")
            names = fresh["debtor_name"].fillna("").astype(str).str.strip()
            names = names.where(names != "", fresh["debtor_code"]).str.slice(0, 255)
            ids = self._new_ids.take(len(fresh))
            frame = pd.DataFrame({"id": ids, "code": fresh["debtor_code"].str.slice(0, 50).to_numpy(),
                                  "name": names.to_numpy(), "language": "nl", "is_consumer": False,
                                  "payment_term_days": 30, "reminders_blocked": False, "is_demo": False,
                                  "created_at": utcnow().strftime("%Y-%m-%d %H:%M:%S.%f")})
            _bulk_insert(self.s, "debtor", frame, writer=self.writer)
            self._codes = pa.concat_arrays([self._codes, pa.array(frame["code"], type=pa.string())])
            self._ids = np.concatenate([self._ids, ids])
            self._terms = np.concatenate([self._terms, np.full(len(ids), 30, dtype=np.int64)])
            self._used = np.concatenate([self._used, np.zeros(len(ids), dtype=bool)])
            self.details.setdefault("created_debtors", []).extend(int(x) for x in ids)
            self.result.created_debtors += len(fresh)
            position = self._position(codes)
        rows = rows.copy()
        rows["debtor_id"] = self._ids[position]
        self._used[position] = True
        terms = self._terms[position]
        term = terms.astype("timedelta64[D]")
        inv = rows["invoice_date"].to_numpy().astype("datetime64[D]")
        due = rows["due_date"].to_numpy().astype("datetime64[D]")
        for f, missing in (("due_date", np.isnat(due) & ~np.isnat(inv)), ("invoice_date", np.isnat(inv))):
            if missing.any():
                self.seen.derived[f].append((rows["line"].to_numpy()[missing], terms[missing]))
        rows["due_date"] = np.where(np.isnat(due), inv + term, due)
        rows["invoice_date"] = np.where(np.isnat(inv), rows["due_date"].to_numpy().astype("datetime64[D]") - term,
                                        inv)
        return rows

    def _position(self, codes: pa.Array) -> np.ndarray:
        """Where each code is among the known debtors (-1: not there)."""
        found = pc.index_in(codes, value_set=self._codes)
        return np.asarray(pc.fill_null(found, -1).to_numpy(zero_copy_only=False), dtype=np.int64)


class _Ids:
    """Primary keys for rows a bulk writer inserts, taken up front so they need not be read back: on
    SQLite counted on from the largest id (the import holds the write lock, so nobody else adds rows
    meanwhile), on PostgreSQL drawn from the table's sequence."""

    def __init__(self, s, table: str):
        self.s, self.table = s, table
        self.next = (None if s.get_bind().dialect.name == "postgresql"
                     else s.execute(text(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}")).scalar_one())

    def take(self, n: int) -> np.ndarray:
        if self.next is None:
            rows = self.s.execute(text(f"SELECT nextval(pg_get_serial_sequence('{self.table}', 'id')) "
                                       "FROM generate_series(1, :n)"), {"n": n}).scalars().all()
            return np.asarray(rows, dtype=np.int64)
        ids = np.arange(self.next, self.next + n, dtype=np.int64)
        self.next += n
        return ids


class _NewInvoices:
    """The bulk insert of an import's new invoices, a piece at a time, with the dated change that
    brings an invoice from its amount to what was open (or paid) when the file was made. A load of
    `_BULK_ROWS` or more drops the invoice table's secondary indexes and the ledger_day triggers for
    the load, and builds them again, and the load's daily sums, when it ends."""

    def __init__(self, s, batch_id: int, expected_rows: int, writer: _Writer):
        self.s, self.batch_id, self.writer = s, batch_id, writer
        self.expected = expected_rows
        self.count = 0
        self._new_ids = _Ids(s, "invoice")
        self._sums: list[tuple] = []  # per piece, what ledger_day_contributions needs

    def __enter__(self) -> _NewInvoices:
        self._by_hand_cm = _ledger_day_by_hand(self.s, self.expected)
        self.by_hand = self._by_hand_cm.__enter__()
        self._indexes_cm = _bulk_load(self.s, "invoice", self.expected)
        self._indexes_cm.__enter__()
        return self

    def add(self, new: pd.DataFrame, open_cents: np.ndarray, settled_on: np.ndarray, moved: np.ndarray,
            change_dates: np.ndarray, kinds: np.ndarray, deltas: np.ndarray) -> None:
        """Insert `new` with its current state: the open amount, and for the rows where it is zero the day
        it was settled (`settled_on`); and one change for each row at the positions `moved` (dated, of a
        kind, by how much). The text columns stay Arrow arrays, as the file's parser made them."""
        ids = self._new_ids.take(len(new))
        amount = new["amount_cents"].to_numpy()
        settled = pc.if_else(pa.array(open_cents == 0), _iso_text(settled_on), pa.scalar(None, pa.string()))
        frame = pd.DataFrame({
            "id": ids,
            "number": _arrow_text(new["invoice_number"]),
            "debtor_id": new["debtor_id"].to_numpy(),
            "invoice_date": _arrow_text(_iso_text(new["invoice_date"].to_numpy())),
            "due_date": _arrow_text(_iso_text(new["due_date"].to_numpy())),
            "currency": _arrow_text(new["currency"]),
            "amount_cents": amount,
            "open_cents": open_cents,
            "settled_date": _arrow_text(settled),
            "description": _texts_or_none(new["description"]),
            "reference": _texts_or_none(new["reference"], 255),
            "disputed": new["disputed"].to_numpy() if "disputed" in new else False,
        })
        _bulk_insert(self.s, "invoice", frame, constants={"batch_id": self.batch_id, "is_demo": False},
                     writer=self.writer)
        if len(moved):
            _insert_changes(self.s, ids[moved], _iso(change_dates), kinds, deltas, self.batch_id, writer=self.writer,
                            checked=True)
        if self.by_hand:
            self._sums.append((frame["currency"].to_numpy(), new["invoice_date"].to_numpy(),
                               new["due_date"].to_numpy(), amount, moved + self.count,
                               np.asarray(change_dates).astype("datetime64[D]"), deltas))
        self.count += len(new)

    def check_debtors(self, ids: np.ndarray) -> None:
        """The debtors the rows refer to exist (SQLite's own check is off for the import)."""
        if len(ids):
            self.writer.run(_check_references, self.s, "debtor", ids, "debtors")

    def __exit__(self, exc_type, exc, tb) -> None:  # noqa: ANN001
        if exc_type is not None:  # the transaction is rolled back: nothing to rebuild
            return
        self.writer.wait()
        with ThreadPoolExecutor(max_workers=1) as pool:
            sums = None
            if self.by_hand and self._sums:  # summed on the other core while SQLite builds the indexes
                parts = list(zip(*self._sums))
                sums = pool.submit(analytics_queries.ledger_day_contributions,
                                   *(np.concatenate(p) for p in parts))
            self._indexes_cm.__exit__(None, None, None)
            if sums is not None:
                analytics_queries.add_to_ledger_day(self.s.connection(), sums.result())
        self._by_hand_cm.__exit__(None, None, None)


def _iso(days: np.ndarray) -> np.ndarray:
    """datetime64 values as ISO date text (None for NaT), the form both databases take for a DATE."""
    return _iso_text(days).to_numpy(zero_copy_only=False)


def _insert_changes(s, invoice_ids, change_dates, kinds, deltas, batch_id: int, writer: _Writer | None = None,
                    checked: bool = False) -> None:
    """Dated changes (ISO dates); `checked`: the invoices were written by this import just before."""
    if not checked:
        _check_references(s, "invoice", invoice_ids, "invoices")
    frame = pd.DataFrame({"invoice_id": np.asarray(invoice_ids, dtype=np.int64), "change_date": change_dates,
                          "kind": kinds, "delta_cents": np.asarray(deltas, dtype=np.int64)})
    _bulk_insert(s, "invoice_change", frame, constants={
        "batch_id": batch_id, "created_at": utcnow().strftime("%Y-%m-%d %H:%M:%S.%f")}, writer=writer)


def _iso_text(days) -> pa.Array:  # noqa: ANN001
    """datetime64 values as an Arrow array of ISO date text (null for NaT)."""
    return pa.array(np.asarray(days).astype("datetime64[D]"), from_pandas=True).cast(pa.string())


def _arrow_text(values) -> pd.api.extensions.ExtensionArray:  # noqa: ANN001
    """Text for a bulk frame without a round trip through Python strings (pandas would turn an object
    array of them into Arrow text again, a string at a time)."""
    arr = values if isinstance(values, (pa.Array, pa.ChunkedArray)) else pa.array(values, type=pa.string())
    return pd.array(arr, dtype=pd.ArrowDtype(pa.string()))


def _texts_or_none(series: pd.Series, limit: int | None = None):  # noqa: ANN201
    """A text column with empty cells as NULL, cut at `limit`; None when every cell is empty (the column
    is then written as one constant)."""
    arr = pa.array(series.fillna(""), type=pa.string())
    empty = pc.equal(arr, "")
    if not len(arr) or pc.all(empty).as_py():
        return None
    if limit:
        arr = pc.utf8_slice_codeunits(arr, 0, limit)
    return _arrow_text(pc.if_else(empty, pa.scalar(None, pa.string()), arr))


@contextmanager
def _bulk_load(s, table: str, rows: int):
    """SQLite: when a batch at least doubles a large table, drop its secondary indexes for the load and
    build them again afterwards (a sort instead of a million random B-tree inserts). DDL is part of
    the transaction, so a failure restores them with everything else."""
    if s.get_bind().dialect.name != "sqlite" or rows < _BULK_ROWS:
        yield
        return
    dbapi = s.connection().connection.driver_connection
    existing = dbapi.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    if existing > rows:
        yield
        return
    # the batch index stays: within one load its key is one value and the rows come in id order, so
    # each entry is appended at its end
    indexes = dbapi.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
                            "AND sql IS NOT NULL AND name NOT LIKE '%batch_id'", (table,)).fetchall()
    for name, _ in indexes:
        dbapi.execute(f'DROP INDEX "{name}"')
    yield
    for _, sql in indexes:
        dbapi.execute(sql)


@contextmanager
def _ledger_day_by_hand(s, rows: int, at_least: int | None = None):
    """A large load keeps the daily sums (`ledger_day`) itself: the triggers that would upsert two or
    four rows per invoice and change are dropped for the load and created again after it; the caller
    adds the load's sums in one statement per day and currency. Yields whether it must. The DDL is
    part of the transaction (on PostgreSQL it locks the invoice tables until the commit)."""
    if rows < (at_least or _BULK_ROWS):
        yield False
        return
    conn = s.connection()
    analytics_queries.drop_ledger_day_triggers(conn)
    yield True
    analytics_queries.create_ledger_day_triggers(conn)


def _bulk_insert(s, table: str, frame: pd.DataFrame, constants: dict | None = None,
                 writer: _Writer | None = None) -> None:
    """Insert many rows at C speed inside the session's transaction: SQLite reads one JSON array per
    chunk (json_each), PostgreSQL takes COPY. Dates arrive as ISO text. A column that holds one value
    in every row is written once, as a constant. With a `writer` (SQLite) the JSON is written here
    and the statements run on the writer's thread."""
    if not len(frame):
        return
    constants = dict(constants or {})
    for col in list(frame.columns)[1:] if len(frame) > 1 else []:  # the first column always travels
        values = frame[col]
        missing = values.isna()
        if missing.all():
            constants[col] = None
        elif not missing.any() and (values == values.iloc[0]).all():
            constants[col] = _scalar(values.iloc[0])
        else:
            continue
        frame = frame.drop(columns=col)
    conn = s.connection()
    dbapi = conn.connection.driver_connection
    cols = list(frame.columns)
    if conn.dialect.name == "postgresql":
        frame = frame.assign(**{k: v for k, v in constants.items()})
        cols = list(frame.columns)
        # CSV: an unquoted empty field is NULL; our empty texts were turned into None before
        sql = f"COPY {table} ({', '.join(cols)}) FROM STDIN WITH (FORMAT csv)"
        with dbapi.cursor() as cur, cur.copy(sql) as copy:
            for start in range(0, len(frame), _CHUNK):
                copy.write(frame.iloc[start:start + _CHUNK].to_csv(index=False, header=False, lineterminator="\n"))
        return
    fixed = [_sql_literal(constants[c]) for c in constants]
    select_list = [f"json_extract(value, '$[{i}]')" for i in range(len(cols))]
    ids = frame[cols[0]].to_numpy() if cols[0] == "id" else None
    counted = ids is not None and len(cols) > 1 and bool((np.diff(ids) == 1).all())
    if counted:  # consecutive ids: each row's is the first plus its place in the array (json_each's key)
        frame = frame.drop(columns="id")
        select_list = ["? + key", *(f"json_extract(value, '$[{i}]')" for i in range(len(cols) - 1))]
    sql = (f"INSERT INTO {table} ({', '.join([*cols, *constants])}) SELECT {', '.join([*select_list, *fixed])} "
           "FROM json_each(?)")
    starts = range(0, len(frame), _CHUNK)
    chunks = [frame.iloc[start:start + _CHUNK] for start in starts]
    firsts = [(int(ids[start]),) if counted else () for start in starts]
    if writer is not None:
        for chunk, first in zip(chunks, firsts):
            writer.insert_json(sql, chunk, first)
        return
    # a large page cache keeps the indexes in memory while many rows go in (this connection only)
    dbapi.execute("PRAGMA cache_size = -262144")
    # sqlite3 lets go of the GIL while it works, so the next chunk's JSON is written meanwhile
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(_json_rows, chunks[0])
        for nxt, first in zip([*chunks[1:], None], firsts):
            payload = pending.result()
            if nxt is not None:
                pending = pool.submit(_json_rows, nxt)
            dbapi.execute(sql, (*first, payload))


_CONTROL = r"[\x00-\x1f]"


def _json_rows(frame: pd.DataFrame) -> str:
    """The frame's rows as one JSON array of arrays, written with Arrow's string kernels (which let go
    of the GIL, and are several times faster than pandas' writer): each column as JSON text, the columns
    of a row joined, the rows laid end to end in the array's own buffer. Texts with control characters,
    and column types other than text, integers and flags, go through pandas."""
    if not len(frame):
        return "[]"
    parts = []
    for name in frame.columns:
        arr = pa.array(frame[name])
        if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
            arr = arr.cast(pa.string())
            if pc.any(pc.match_substring_regex(arr, _CONTROL)).as_py():
                return frame.to_json(orient="values", force_ascii=False)
            escaped = pc.replace_substring(pc.replace_substring(arr, "\\", "\\\\"), '"', '\\"')
            text = pc.binary_join_element_wise('"', escaped, '"', "")
        elif pa.types.is_boolean(arr.type):
            text = pc.if_else(arr, "true", "false")
        elif pa.types.is_integer(arr.type):
            text = pc.cast(arr, pa.string())
        elif pa.types.is_null(arr.type):
            text = pa.nulls(len(arr), pa.string())
        else:
            return frame.to_json(orient="values", force_ascii=False)
        parts.append(pc.fill_null(text.cast(pa.string()), "null"))
    rows = pc.binary_join_element_wise("[", pc.binary_join_element_wise(*parts, ","), "],", "")
    rows = pa.concat_arrays([rows]) if rows.offset else rows
    offsets = np.frombuffer(rows.buffers()[1], dtype=np.int32, count=len(rows) + 1)
    body = rows.buffers()[2].to_pybytes()[offsets[0]:offsets[-1] - 1]  # without the last comma
    return "[" + body.decode("utf-8") + "]"


def _sql_literal(value) -> str:  # noqa: ANN001
    """A constant of our own making (ids, flags, dates, a validated currency code) as SQL text."""
    if value is None:
        return "NULL"
    if isinstance(value, (bool, np.bool_)):
        return "1" if value else "0"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return "'" + str(value).replace("'", "''") + "'"


def _scalar(value):  # noqa: ANN001
    return value.item() if isinstance(value, np.generic) else value


# --- ledger (invoices with their paid dates) --------------------------------------------------------

def _apply_ledger(s, pieces: _Pieces, batch: ImportBatch, result: ImportResult, details: dict,
                  mapping_has: set[str], seen: _Seen) -> None:
    current = _current_invoices(s)
    existing_parts = []
    with _loading(s, pieces, current, batch, result, details, seen) as (loader, pieces_known):
        for rows, known in pieces_known:
            new = rows[~known].copy()
            if len(new):
                amount = new["amount_cents"].to_numpy()
                settled = new["settled_date"].to_numpy().astype("datetime64[D]")
                paid = np.where(~np.isnat(settled), new["paid_cents"].to_numpy(), 0)
                open_ = amount - paid
                new["disputed"] = new["disputed"].to_numpy() & (open_ != 0)
                moved = np.flatnonzero(paid != 0)
                loader.add(new, open_, settled, moved, settled[moved], np.where(amount[moved] > 0, "payment", "credit"),
                           -paid[moved])
            existing_parts.append(rows[known])
    result.new = loader.count
    if pieces.rejected:
        return  # rolled back by the caller

    existing = pd.concat(existing_parts, ignore_index=True) if existing_parts else pd.DataFrame()
    touched: list[int] = []
    if len(existing):
        merged = _merge_current(existing, current)
        field_changed = _update_fields(s, merged, mapping_has, details)
        settled = merged["settled_date"].to_numpy().astype("datetime64[D]")
        amount_db, open_db = merged["amount_cents_db"].to_numpy(), merged["open_cents_db"].to_numpy()
        paid = np.where(merged["paid_given"].to_numpy(), merged["paid_cents"].to_numpy(), amount_db)
        # an invoice the ledger had as settled that the file has as unsettled (a reversed payment, a
        # bounced direct debit) is open again from the file's date, less what the file says was paid.
        # Only a file that has paid dates and is dated after the settlement says so: an older file says
        # nothing about what happened since
        reopen = np.isnat(settled) & (open_db == 0) & (amount_db != 0) & ("settled_date" in mapping_has)
        if reopen.any():
            reopen &= _settled_before(s, merged["id"].to_numpy(), reopen, batch.as_of)
        partly = np.where(merged["paid_given"].to_numpy(), merged["paid_cents"].to_numpy(), 0)
        target = np.where(reopen, amount_db - partly, amount_db - paid)
        delta = np.where(np.isnat(settled) & ~reopen, 0, target - open_db)
        when = np.where(reopen, np.datetime64(batch.as_of, "D"), settled)
        moving = delta != 0
        ids = merged["id"].to_numpy()[moving]
        _apply_changes(s, ids, open_db[moving], target[moving], when[moving], batch.id)
        closing = target[moving] == 0
        touched.extend(int(i) for i in ids[closing])
        closed_now = int(closing.sum())
        open_after = np.where(delta != 0, target, open_db)
        dispute = merged["disputed"].to_numpy() & ~merged["disputed_db"].to_numpy() & (open_after != 0)
        dispute_ids = [int(x) for x in merged["id"].to_numpy()[dispute]]
        if dispute_ids:
            s.execute(update(Invoice), [{"id": i, "disputed": True} for i in dispute_ids])
            details["disputed"] = dispute_ids
            touched.extend(dispute_ids)
        changed = (delta != 0) | field_changed | dispute
        result.closed = closed_now
        result.changed = int(changed.sum()) - closed_now
        result.unchanged = int((~changed).sum())
    s.flush()
    _leave_messages(s, touched, result, details)


def _settled_before(s, ids: np.ndarray, candidates: np.ndarray, as_of: date) -> np.ndarray:
    """For the candidate rows: was the invoice settled before `as_of`?"""
    wanted = [int(i) for i in ids[candidates]]
    settled_on: dict[int, date] = {}
    for start in range(0, len(wanted), 500):
        for iid, day in s.execute(select(Invoice.id, Invoice.settled_date)
                                  .where(Invoice.id.in_(wanted[start:start + 500]))):
            if day is not None:
                settled_on[iid] = day if isinstance(day, date) else date.fromisoformat(str(day)[:10])
    return np.array([bool(c) and settled_on.get(int(i), as_of) < as_of for i, c in zip(ids, candidates)])


# --- debtors --------------------------------------------------------------------------------------

_DEBTOR_FIELDS = {"debtor_name": "name", "email": "email", "contact_person": "contact_person", "phone": "phone",
                  "address": "address",
                  "language": "language", "is_consumer": "is_consumer", "payment_term_days": "payment_term_days",
                  "segment": "segment", "account_manager": "account_manager"}
_LIMITS = {"name": 255, "contact_person": 255, "phone": 50, "segment": 100, "account_manager": 100}


def _apply_debtors(s, rows: pd.DataFrame, batch: ImportBatch, result: ImportResult, details: dict) -> None:
    """Upsert debtors by code. An empty cell keeps what Debtor Desk already has."""
    mapped = [f for f in _DEBTOR_FIELDS if f in rows and rows[f].notna().any()]
    existing = {d.code: d for d in s.scalars(select(Debtor).where(Debtor.code.in_(rows["debtor_code"].tolist())))}
    created, before = [], []
    for rec in rows.to_dict("records"):
        values = {}
        for f in mapped:
            v = rec.get(f)
            if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)) or v == "":
                continue
            attr = _DEBTOR_FIELDS[f]
            if attr in _LIMITS:
                v = str(v)[:_LIMITS[attr]]
            values[attr] = bool(v) if attr == "is_consumer" else int(v) if attr == "payment_term_days" else v
        debtor = existing.get(rec["debtor_code"])
        if debtor is None:
            debtor = Debtor(code=rec["debtor_code"][:50], name=values.pop("name", rec["debtor_code"]), **values)
            s.add(debtor)
            created.append(debtor)
            continue
        diff = {k: v for k, v in values.items() if getattr(debtor, k) != v}
        if not diff:
            result.unchanged += 1
            continue
        before.append([debtor.id, {k: getattr(debtor, k) for k in diff}])
        for k, v in diff.items():
            setattr(debtor, k, v)
        result.changed += 1
    s.flush()
    result.new = len(created)
    result.created_debtors = len(created)
    details["created_debtors"] = [d.id for d in created]
    if before:
        details["debtor_changes"] = before


# --- re-uploads and remembered mappings --------------------------------------------------------------

def _previous(s, fhash: str, kind: str | None, mode: str) -> PreviousImport | None:
    q = select(ImportBatch).where(ImportBatch.file_hash == fhash, ImportBatch.status == "applied")
    if kind:
        q = q.where(ImportBatch.kind == kind)
    candidates = [b for b in s.scalars(q.order_by(ImportBatch.id.desc()))
                  if b.kind != imp.OPEN_ITEMS or b.mode == mode]
    if not candidates:
        return None
    b = candidates[0]
    newer = s.scalar(select(func.max(ImportBatch.imported_at)).where(
        ImportBatch.kind == b.kind, ImportBatch.status == "applied", ImportBatch.id > b.id))
    return PreviousImport(b.id, b.kind, b.imported_at, b.imported_by, b.file_name, newer, b.as_of,
                          b.count_new + b.count_changed + b.count_unchanged, b.count_skipped)


def _remembered(s, signature: str, kind: str) -> ColumnMapping | None:
    return s.scalars(select(ColumnMapping).where(ColumnMapping.header_signature == signature,
                                                 ColumnMapping.kind == kind)).first()


def _remembered_kind(s, signature: str) -> str | None:
    """The kind this header was imported as before, when that is unambiguous."""
    kinds = set(s.scalars(select(ColumnMapping.kind).where(ColumnMapping.header_signature == signature)))
    return kinds.pop() if len(kinds) == 1 else None


def _remember(s, signature: str, kind: str, mapping: dict, options: dict, actor: str) -> None:
    row = _remembered(s, signature, kind)
    if row is None:
        s.add(ColumnMapping(header_signature=signature, kind=kind, mapping=dict(mapping), options=options,
                            saved_by=actor))
    else:
        row.mapping, row.options, row.saved_by, row.saved_at = dict(mapping), options, actor, utcnow()


# --- history and undo -----------------------------------------------------------------------------

def import_history(uow: UnitOfWork, limit: int = 50) -> pd.DataFrame:
    """The import batches, newest first: who, when, which file, what it did."""
    batches = uow.session.scalars(select(ImportBatch).order_by(ImportBatch.id.desc()).limit(limit)).all()
    return pd.DataFrame([{
        "batch": b.id, "imported_at": b.imported_at, "imported_by": b.imported_by, "file_name": b.file_name,
        "file_hash": b.file_hash[:12], "kind": b.kind, "mode": b.mode, "as_of": b.as_of, "new": b.count_new,
        "changed": b.count_changed, "closed": b.count_closed, "unchanged": b.count_unchanged,
        "skipped": b.count_skipped, "status": b.status,
    } for b in batches], columns=["batch", "imported_at", "imported_by", "file_name", "file_hash", "kind", "mode",
                                  "as_of", "new", "changed", "closed", "unchanged", "skipped", "status"])


@dataclass(frozen=True)
class BatchInfo:
    id: int
    kind: str
    file_name: str
    imported_at: datetime
    imported_by: str
    status: str


def _info(b: ImportBatch) -> BatchInfo:
    return BatchInfo(b.id, b.kind, b.file_name, b.imported_at, b.imported_by, b.status)


def _latest(s) -> ImportBatch | None:
    return s.scalars(select(ImportBatch).where(ImportBatch.status == "applied", ImportBatch.kind.in_(IMPORT_KINDS))
                     .order_by(ImportBatch.id.desc()).limit(1)).first()


def latest_batch(uow: UnitOfWork) -> BatchInfo | None:
    """The batch that undo would take back: the newest applied import (demo loads excluded)."""
    batch = _latest(uow.session)
    return None if batch is None else _info(batch)


def undo_latest(uow: UnitOfWork, *, actor: str, batch_id: int | None = None) -> BatchInfo:
    """Take back the newest import: its new invoices and debtors go, changed invoices get their amounts,
    dates and flags back, and reminders it emptied are restored. `batch_id`, when given, must be it."""
    s = uow.session
    batch = _latest(s)
    if batch is None:
        raise ServiceError("there is no import to undo")
    if batch_id is not None and batch.id != batch_id:
        raise ServiceError(f"only the latest import (batch {batch.id}) can be undone, not batch {batch_id}")
    details = batch.details or {}
    created_invoices = select(Invoice.id).where(Invoice.batch_id == batch.id)
    foreign_changes = s.scalar(select(func.count()).select_from(InvoiceChange).where(
        InvoiceChange.invoice_id.in_(created_invoices),
        (InvoiceChange.batch_id.is_(None)) | (InvoiceChange.batch_id != batch.id)))
    used = s.scalar(select(func.count()).select_from(MessageInvoice).where(
        MessageInvoice.invoice_id.in_(created_invoices)))
    noted = s.scalar(select(func.count()).select_from(Note).where(Note.invoice_id.in_(created_invoices)))
    if foreign_changes or used or noted:
        raise ServiceError(f"batch {batch.id} can no longer be undone: its invoices already have "
                           f"{'payments entered since' if foreign_changes else 'reminders or notes'}. "
                           "Import a corrected file instead")

    changed_ids = sorted(set(s.scalars(select(InvoiceChange.invoice_id).where(
        InvoiceChange.batch_id == batch.id, InvoiceChange.invoice_id.not_in(created_invoices)))))
    s.execute(InvoiceChange.__table__.delete().where(InvoiceChange.batch_id == batch.id))
    s.execute(Invoice.__table__.delete().where(Invoice.batch_id == batch.id))
    for i in range(0, len(changed_ids), 1000):
        for inv in s.scalars(select(Invoice).where(Invoice.id.in_(changed_ids[i:i + 1000]))):
            ledger.recompute(s, inv)
    for iid, fields in details.get("field_changes", []):
        values = {k: (date.fromisoformat(v[:10]) if k == "due_date" and v else v) for k, v in fields.items()}
        s.execute(update(Invoice).where(Invoice.id == iid).values(**values))
    disputed = details.get("disputed", [])
    for i in range(0, len(disputed), 500):
        s.execute(update(Invoice).where(Invoice.id.in_(disputed[i:i + 500])).values(disputed=False))
    _restore_messages(s, details)
    for debtor_id, fields in details.get("debtor_changes", []):
        s.execute(update(Debtor).where(Debtor.id == debtor_id).values(**fields))
    removed_debtors = _remove_created_debtors(s, details.get("created_debtors", []))
    batch.status = "undone"
    record_audit(s, actor, "import.undo", "import_batch", batch.id,
                 {"file_name": batch.file_name, "counts": f"new {batch.count_new}, changed {batch.count_changed}, "
                                                          f"closed {batch.count_closed}"},
                 {"status": "undone", "debtors_removed": removed_debtors, "invoices_restored": len(changed_ids)})
    info = _info(batch)
    uow.commit()
    return info


def _restore_messages(s, details: dict) -> None:
    statuses = details.get("message_status", {})
    for mid, iid in details.get("message_lines", []):
        s.execute(update(MessageInvoice).where(MessageInvoice.message_id == mid, MessageInvoice.invoice_id == iid)
                  .values(active=True))
    for mid, status in statuses.items():
        s.execute(update(Message).where(Message.id == int(mid), Message.status == "cancelled",
                                        Message.last_error == "nothing left to chase")
                  .values(status=status, last_error=None))
    if statuses:  # their words follow the invoices they chase again
        reminders.reword(s, [int(m) for m in statuses], "an undone import brought an invoice back")


def _remove_created_debtors(s, ids: list[int]) -> int:
    removed = 0
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        busy = set(s.scalars(select(Invoice.debtor_id).where(Invoice.debtor_id.in_(chunk))))
        busy |= set(s.scalars(select(Note.debtor_id).where(Note.debtor_id.in_(chunk))))
        busy |= set(s.scalars(select(Message.debtor_id).where(Message.debtor_id.in_(chunk))))
        free = [d for d in chunk if d not in busy]
        if free:
            removed += s.execute(Debtor.__table__.delete().where(Debtor.id.in_(free))).rowcount
    return removed
