"""Importing accounting exports into the ledger: one batch, one transaction.

Open items (full or partial snapshot), an invoice ledger with paid dates, or debtor master data.
A file is checked completely before anything is written; the same file twice changes nothing; a newer
export records only what changed, as dated invoice changes; the latest batch can be undone.

An `Upload` is read once and parsed once per choice of columns and options: `check` tells what
importing it would do (the import itself, rolled back) and `apply` imports what was checked without
parsing it again. What to write comes from `importing.diff`; `db.loader` writes it in bulk."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import func, select, update

from db import loader, locks
from db.models import (
    AuditEvent,
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
from receivables.domain import phrases
from receivables.domain.phrases import Phrase
from receivables.domain.phrasing import Said, joined, said
from receivables.domain.recheck import NOTHING_LEFT
from receivables.domain.translation import N_, Count
from receivables.importing import diff
from receivables.importing.diff import Closing
from receivables.importing.validation import (
    ImportOptions,
    Notice,
    ParsedBatch,
    Problem,
    detect,
    give_way,
    suggest_snapshot,
)
from receivables.services import bank, ledger, plans, wording
from receivables.services.audit import record_audit
from receivables.services.errors import ServiceError

FULL, PARTIAL = "full", "partial"
MODES = (FULL, PARTIAL)
IMPORT_KINDS = imp.KINDS
_PIECE_ROWS = 100_000  # rows parsed and written at a time
_KEEP_IN_DETAILS = 200  # warnings / left-out rows kept with the batch for the history
STORED_ROWS = 20  # rows the check shows as they will be stored

# (share done, 0 to 1; what is being done, in English with its phrase for a page), between pieces of work
Progress = Callable[[float, Said], None]
WAITING = said(N_("Another import is running; this one starts when it has finished"))


class ImportRejected(ServiceError):
    """The file has problems; nothing was written. `problems` lists them (up to the listed maximum)."""

    def __init__(self, parsed: ParsedBatch, hint: str | None = None, notes: list[str] | None = None,
                 headers: list[str] | None = None):
        self.notes = list(notes or [])  # why a column was not picked
        self.headers = list(headers or [])
        self.problems = parsed.errors
        self.problem_count = parsed.error_count
        self.parsed = parsed
        first = joined((p.described for p in parsed.errors[:3]), "; ")
        more = Phrase(N_(" (and {n} more)"), {"n": parsed.error_count - 3}) if parsed.error_count > 3 else ""
        hint = hint or (N_("Fix the file, or import the valid rows only") if not parsed.file_errors
                        else N_("Fix the mapping or the file"))
        self.hint = hint
        super().__init__(N_("{count} problem(s), nothing was imported: {first}{more}. {hint}."), count=parsed.error_count,
                         first=first, more=more, hint=Phrase(hint))



class ClosingNeedsConfirmation(ServiceError):
    """A full import would close invoices that only a complete list may close; nothing was written."""

    def __init__(self, closing: Closing):
        self.closing = closing
        super().__init__(N_("{closing} Nothing was imported."), closing=closing.describe())


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

    def describe(self) -> Said:
        before = said(N_("This file was imported before, on {moment} by {who} (batch {batch}, '{file}')"),
                      moment=f"{self.imported_at:%d-%m-%Y %H:%M}", who=self.imported_by, batch=self.batch_id,
                      file=self.file_name).phrase
        if self.is_latest:
            return said(N_("{said}. Nothing was changed. To read it with other columns, dates or numbers, undo that "
                           "import first (import history)."), said=before)
        return said(N_("{said}, but newer imports followed (the last on {moment}). Importing it again makes the "
                       "ledger what this file says: check the counts, and undo if it was the wrong file."),
                    said=before, moment=f"{self.newer_since:%d-%m-%Y %H:%M}")


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
    notes: list[Said]
    signature: str
    remembered: dict | None  # {"saved_by", "saved_at"} when the mapping came from an earlier confirmation
    previous: PreviousImport | None
    mapping_notes: list[Said] = field(default_factory=list)  # columns not picked, and why


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
    notes: list[Said] = field(default_factory=list)  # English, each with its phrase for a page
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


class CheckOutdated(ServiceError):
    """The ledger changed between the check and the import; nothing was written."""

    def __init__(self) -> None:
        super().__init__(N_("the ledger changed since the file was checked (another import, a payment or an edit); "
                            "nothing was imported. Check the file again and read the result before importing"))


@dataclass(frozen=True)
class ImportRequest:
    """How to import a file: what it holds, as of when, its columns and how its values are written."""

    kind: str | None = None  # None: recognised from the header
    mode: str = FULL
    as_of: date | None = None  # None: today
    mapping: dict | None = None  # None: remembered for this header, or suggested
    options: ImportOptions | None = None  # None: detected (and remembered)
    profile: str | None = None
    valid_rows_only: bool = False

    @classmethod
    def of(cls, *, options: ImportOptions | dict | None = None, **given) -> ImportRequest:
        if isinstance(options, dict):
            options = ImportOptions.from_dict(options)
        return cls(options=options, **given)


@dataclass
class _Parse:
    """A file's rows parsed for one choice of kind, columns and options: checked as a whole (`prepared`),
    then a piece at a time; the pieces are kept once every one was parsed."""

    key: tuple
    prepared: imp.Prepared
    pieces: list | None = None

    def each_piece(self) -> Iterator:
        if self.pieces is not None:
            yield from self.pieces
            return
        prepared, parsed = self.prepared, []
        for start in range(0, prepared.row_count, _PIECE_ROWS):
            parsed.append(prepared.parse(start, min(start + _PIECE_ROWS, prepared.row_count)))
            yield parsed[-1]
        self.pieces = parsed


class Upload:
    """An uploaded file: its bytes, name and hash; read once (`raw`) and parsed once per choice of kind,
    columns and options (the last choice is kept). A page keeps it for the session, so that preview,
    check and import read and parse a large file one time."""

    def __init__(self, data: bytes, file_name: str):
        self.data, self.file_name, self.file_hash = data, file_name, file_hash(data)
        self._raw: imp.RawTable | None = None
        self._parse: _Parse | None = None

    @property
    def raw(self) -> imp.RawTable:
        if self._raw is None:
            try:
                self._raw = imp.read_table(self.data, self.file_name)
            except imp.FileRejected as exc:
                raise ServiceError("{file}: {problem}", file=self.file_name or "the file", problem=exc) from None
        return self._raw

    def drop_parse(self) -> None:
        """Forget the parsed rows (once imported): the file stays read, for its preview."""
        self._parse = None

    def parse(self, kind: str, mapping: dict, options: ImportOptions) -> _Parse:
        key = (kind, tuple(sorted(mapping.items())), options)
        if self._parse is None or self._parse.key != key:
            self._parse = _Parse(key, imp.prepare(self.raw, kind, mapping, options))
        return self._parse


@dataclass(frozen=True)
class Checked:
    """A check that a page keeps until the user imports: what was asked, what importing would do, and
    the state of the ledger it was checked against."""

    request: ImportRequest
    result: ImportResult
    ledger_version: str


# --- reading and previewing ------------------------------------------------------------------------

def file_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _check_request(request: ImportRequest) -> None:
    if request.kind is not None and request.kind not in IMPORT_KINDS:
        raise ServiceError("unknown kind of import '{kind}'; choose one of {kinds}", kind=request.kind,
                           kinds=", ".join(IMPORT_KINDS))
    if request.profile is not None and request.profile not in imp.PROFILES:
        raise ServiceError("unknown profile '{profile}'; choose one of {profiles}", profile=request.profile,
                           profiles=", ".join(imp.PROFILES))
    if request.mode not in MODES:
        raise ServiceError("unknown mode '{mode}'; choose full or partial", mode=request.mode)


def preview(uow: UnitOfWork, upload: Upload, *, kind: str | None = None, profile: str | None = None,
            mode: str = FULL) -> Preview:
    """Read the file and propose how to import it: the kind, the column mapping (a remembered one
    when this header was confirmed before) and how numbers and dates are written."""
    _check_request(ImportRequest(kind=kind, profile=profile, mode=mode))
    s, raw = uow.session, upload.raw
    signature = imp.header_signature(raw.headers)
    detected_kind = _remembered_kind(s, signature) or imp.guess_kind(raw)
    kind = kind or detected_kind
    remembered = _remembered(s, signature, kind)
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
    return Preview(upload.file_name, upload.file_hash, len(upload.data), kind, detected_kind, profile, mapping,
                   resolved, detected, raw.headers, {h: raw.samples(h) for h in raw.headers}, raw.row_count,
                   raw.describe(), raw.notes, signature, info, _previous(s, upload.file_hash, kind, mode),
                   mapping_notes)


# --- checking and importing -------------------------------------------------------------------------

def check(uow: UnitOfWork, upload: Upload, *, actor: str, progress: Progress | None = None,
          **request) -> Checked:
    """What importing would do, without writing: the import itself, rolled back, with the first rows as
    they would be stored, the column facts, the notices and what a full list closes. Raises
    ImportRejected when the file has problems. The parse stays with `upload` for `apply`."""
    req = ImportRequest.of(**request)
    _begin(uow.session, progress)
    version = _ledger_version(uow.session)
    result = _import(uow, upload, req, actor=actor, dry_run=True, close_missing=False, progress=progress)
    return Checked(req, result, version)


def apply(uow: UnitOfWork, upload: Upload, checked: Checked, *, actor: str, close_missing: bool = False,
          progress: Progress | None = None) -> ImportResult:
    """Import what was checked, without parsing the file again. Raises CheckOutdated when the ledger
    changed since the check (the result could differ from what the user read); `uow` should hold the
    write lock from its start (`immediate`), so that nothing changes between that test and the import."""
    _begin(uow.session, progress)
    if _ledger_version(uow.session) != checked.ledger_version:
        raise CheckOutdated()
    return _import(uow, upload, checked.request, actor=actor, dry_run=False, close_missing=close_missing,
                   progress=progress)


def run_import(uow: UnitOfWork, data: bytes, file_name: str, *, actor: str, dry_run: bool = False,
               close_missing: bool = False, progress: Progress | None = None, **request) -> ImportResult:
    """Import one file as one batch in one transaction (check and apply at once, as the command line
    does). Raises ImportRejected (nothing written) when the file has problems, unless
    `valid_rows_only`, which leaves the bad rows out and lists them. A full open-items import that would
    close invoices of debtors the file does not mention, or more than half of the open invoices, raises
    ClosingNeedsConfirmation unless `close_missing` (a dry run reports it in `closing`). The result
    carries what the check shows: the first rows as stored, notices with their rows and, for a dry
    run, facts per column. `request`: the fields of ImportRequest."""
    return _import(uow, Upload(data, file_name), ImportRequest.of(**request), actor=actor, dry_run=dry_run,
                   close_missing=close_missing, progress=progress)


def _begin(s, progress: Progress | None = None) -> None:
    """SQLite: the bulk writes check their own references (`loader.check_references`), so the
    transaction starts without per-row foreign-key lookups. Imports (checks too: they write and roll
    back) run one at a time: on PostgreSQL a second one waits for the first (saying so through
    `progress`); on SQLite the write lock of `UnitOfWork(immediate=True)` does that."""
    if not s.in_transaction():
        s.connection(execution_options={"sqlite_foreign_keys": False})
    locks.hold(s, locks.IMPORT, on_wait=lambda: progress and progress(0.0, WAITING))


def _ledger_version(s) -> str:
    """Changes whenever what an import compares with changes: batches, dated changes, invoices, debtors,
    and every edit (each leaves an audit event). Cheap: maxima and counts of keys."""
    row = s.execute(select(
        select(func.max(ImportBatch.id)).scalar_subquery(),
        select(func.max(InvoiceChange.id)).scalar_subquery(),
        select(func.count(Invoice.id)).scalar_subquery(),
        select(func.max(Invoice.id)).scalar_subquery(),
        select(func.count(Debtor.id)).scalar_subquery(),
        select(func.max(AuditEvent.id)).scalar_subquery(),
    )).one()
    return "/".join(str(v) for v in row)


@dataclass
class _Plan:
    """A request resolved against the file and what was remembered of its header."""

    kind: str
    mode: str
    as_of: date
    signature: str
    mapping_notes: list[Said]
    parse: _Parse


def _import(uow: UnitOfWork, upload: Upload, req: ImportRequest, *, actor: str, dry_run: bool,
            close_missing: bool, progress: Progress | None) -> ImportResult:
    """One batch in one transaction; a dry run is rolled back."""
    _check_request(req)
    s = uow.session
    _begin(s, progress)
    as_of = req.as_of or date.today()
    previous = _previous(s, upload.file_hash, req.kind, req.mode)
    if previous is not None and previous.is_latest:
        result = ImportResult(previous.kind, req.mode, as_of, upload.file_name, upload.file_hash, dry_run,
                              previous=previous)
        result.notes.append(previous.describe())
        _confirm(uow, previous, result, actor)
        return result
    plan = _plan(s, upload, req, as_of)
    prepared = plan.parse.prepared
    if prepared.failed or (prepared.error_count and not req.valid_rows_only):
        # every problem is listed, so every row is parsed first (and nothing is written)
        raise ImportRejected(prepared.finish([] if prepared.failed else list(plan.parse.each_piece())),
                             notes=plan.mapping_notes, headers=upload.raw.headers)
    _refuse_an_older_full_list(s, plan)
    batch = ImportBatch(kind=plan.kind, mode=plan.mode, file_name=upload.file_name[:255],
                        file_hash=upload.file_hash, as_of=as_of, imported_by=actor,
                        profile=(req.profile or imp.detect_profile(upload.raw.headers))[:50])
    s.add(batch)
    s.flush()
    result = ImportResult(plan.kind, plan.mode, as_of, upload.file_name, upload.file_hash, dry_run,
                          batch_id=None if dry_run else batch.id)
    if previous is not None:  # identical to an older batch: applied again, and said so
        result.notes.append(previous.describe())
    result.notes.extend(plan.mapping_notes)
    details: dict = {"mapping": prepared.mapping, "options": prepared.options.as_dict(),
                     "skipped": prepared.skipped}
    pieces = _Pieces(plan.parse, req.valid_rows_only, progress)
    seen = diff.Seen()
    _write(s, plan, pieces, batch, result, details, seen, confirm=not (close_missing or dry_run))
    if kept := bank.keep_bank_payments(s, batch.id):  # the bank paid what the file still shows open
        result.notes.append(said(N_("{n} invoice(s) the bank paid are still open in this file: the bank payments "
                                    "stand, and the cases are listed on the Bank page for a person to check."),
                                 n=Count(len(kept))))
    parsed = _accepted(prepared.finish(pieces.parsed), pieces, plan, upload.file_name)
    _fill_result(s, result, parsed, pieces, seen, upload.raw, req.valid_rows_only, as_of)
    pieces.report(0.95, said(N_("Recording the batch")))
    _record(s, batch, result, details, parsed, plan.signature, actor)
    if dry_run:
        uow.rollback()
    else:
        uow.commit()
    return result


def _plan(s, upload: Upload, req: ImportRequest, as_of: date) -> _Plan:
    raw = upload.raw
    signature = imp.header_signature(raw.headers)
    kind = req.kind or _remembered_kind(s, signature) or imp.guess_kind(raw)
    mode = req.mode if kind == imp.OPEN_ITEMS else PARTIAL
    remembered = _remembered(s, signature, kind)
    mapping, mapping_notes = req.mapping, []
    if mapping is None:
        if remembered is not None and req.profile is None:
            mapping = {f: h for f, h in remembered.mapping.items() if h in raw.headers}
        else:
            mapping, mapping_notes = imp.review_mapping(
                raw, kind, imp.suggest_mapping(raw.headers, kind, req.profile or imp.detect_profile(raw.headers)))
    options = _options_for(raw, kind, mapping, req.options, remembered.options if remembered else None)
    return _Plan(kind, mode, as_of, signature, mapping_notes, upload.parse(kind, mapping, options))


def _refuse_an_older_full_list(s, plan: _Plan) -> None:
    if plan.kind != imp.OPEN_ITEMS or plan.mode != FULL:
        return
    last = s.scalar(select(func.max(ImportBatch.as_of)).where(
        ImportBatch.kind == imp.OPEN_ITEMS, ImportBatch.mode == FULL, ImportBatch.status == "applied"))
    if last is not None and plan.as_of < last:
        raise ServiceError("the ledger already holds a full snapshot of {last}; a full import dated {as_of} would "
                           "undo what happened since. Use a snapshot dated {last} or later, or import it as partial",
                           last=last.strftime("%d-%m-%Y"), as_of=plan.as_of.strftime("%d-%m-%Y"))


def _write(s, plan: _Plan, pieces: _Pieces, batch: ImportBatch, result: ImportResult, details: dict,
           seen: diff.Seen, confirm: bool) -> None:
    mapped = {f for f, h in plan.parse.prepared.mapping.items() if h}
    if plan.kind == imp.DEBTORS:
        parts = list(pieces)
        if parts and not pieces.rejected:
            _apply_debtors(s, pd.concat(parts, ignore_index=True), batch, result, details)
    elif plan.kind == imp.LEDGER:
        _apply_ledger(s, pieces, batch, result, details, mapped, seen)
    else:
        _apply_open_items(s, pieces, batch, result, details, plan.mode, mapped, seen, confirm=confirm)


def _accepted(parsed: ParsedBatch, pieces: _Pieces, plan: _Plan, file_name: str) -> ParsedBatch:
    """The parsed file, unless it is refused: a problem in a row (and not only the valid rows wanted), or
    no row to import."""
    if pieces.rejected:
        raise ImportRejected(parsed)
    if not pieces.rows:
        if parsed.error_count:
            raise ImportRejected(parsed, N_("No row is valid"))
        if plan.kind == imp.DEBTORS:
            raise ServiceError("{file}: the file holds no debtors ({skipped} blank or total rows); nothing was "
                               "imported", file=file_name, skipped=parsed.skipped_count)
        raise ServiceError("{file}: the file holds no invoices ({skipped} blank or total rows); nothing was imported",
                           file=file_name, skipped=parsed.skipped_count)
    return parsed


def _fill_result(s, result: ImportResult, parsed: ParsedBatch, pieces: _Pieces, seen: diff.Seen,
                 raw: imp.RawTable, valid_rows_only: bool, as_of: date) -> None:
    """What the check shows beside the counts: skipped and left-out rows, warnings, notices, the first
    rows as stored and, for a dry run, what each column holds."""
    result.skipped_detail = dict(parsed.skipped)
    result.skipped = parsed.skipped_count + len(parsed.frame) - pieces.rows
    if valid_rows_only and parsed.error_count:
        result.left_out = parsed.errors
        result.left_out_count = parsed.error_count
        result.skipped_detail["left out"] = len(parsed.frame) - pieces.rows
    result.warnings = parsed.warnings
    result.warning_count = parsed.warning_count
    result.notices = [*parsed.notices, *seen.notices()]
    if result.kind == imp.OPEN_ITEMS:
        result.notices += seen.dates_far(as_of)
        result.suggested_as_of, suggestion = suggest_snapshot(raw, parsed, as_of)
        if suggestion is not None:
            result.notices.append(suggestion)
    result.stored_rows = _stored_rows(s, result.kind, parsed.valid_rows().head(STORED_ROWS))
    if result.dry_run:
        result.facts = imp.column_facts(parsed)


def _record(s, batch: ImportBatch, result: ImportResult, details: dict, parsed: ParsedBatch, signature: str,
            actor: str) -> None:
    """The batch's counts and details (for the history and undo), the audit event, and the mapping
    remembered for this header."""
    details["notices"] = [str(n) for n in result.notices]
    if result.closing is not None and result.closing.count:
        details["closing"] = result.closing.describe()
    details["warnings"] = [str(p) for p in parsed.warnings[:_KEEP_IN_DETAILS]]
    details["warning_count"] = parsed.warning_count
    details["left_out"] = [str(p) for p in result.left_out[:_KEEP_IN_DETAILS]]
    details["left_out_count"] = result.left_out_count
    details["notes"] = [str(n) for n in result.notes]
    batch.count_new, batch.count_changed, batch.count_closed = result.new, result.changed, result.closed
    batch.count_unchanged, batch.count_skipped = result.unchanged, result.skipped
    batch.details = details
    record_audit(s, actor, "import.apply", "import_batch", batch.id, None,
                 {"file_name": result.file_name, "file_hash": result.file_hash, "kind": result.kind,
                  "mode": result.mode, "as_of": result.as_of, "counts": result.summary(),
                  **({"closing_confirmed": result.closing.describe()}
                     if result.closing is not None and result.closing.needs_confirmation else {})})
    _remember(s, signature, result.kind, parsed.mapping, {**parsed.options.as_dict(), "profile": batch.profile},
              actor)


def _confirm(uow: UnitOfWork, previous: PreviousImport, result: ImportResult, actor: str) -> None:
    """The same file as the latest import, of a later date: the ledger stays as it is, but a batch
    records that its data still held on the new snapshot date, so the freshness check sees today's
    upload. It writes no invoices or changes, so undoing it only takes the date back."""
    if previous.kind == imp.DEBTORS or previous.as_of is None or result.as_of <= previous.as_of:
        return
    s = uow.session
    result.unchanged, result.skipped = previous.rows, previous.skipped
    note = said(N_("Identical to batch {batch}: its data is confirmed as of {day}."), batch=previous.batch_id,
                day=f"{result.as_of:%d-%m-%Y}")
    result.mode = result.mode if previous.kind == imp.OPEN_ITEMS else PARTIAL
    batch = ImportBatch(kind=previous.kind, mode=result.mode, file_name=result.file_name[:255],
                        file_hash=result.file_hash, as_of=result.as_of, imported_by=actor,
                        count_unchanged=result.unchanged, count_skipped=result.skipped,
                        details={"identical_to": previous.batch_id, "notes": [str(note)]})
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
    is written (or taken as parsed before). After a piece with a problem (unless only the valid rows are
    wanted) nothing more is handed out, as the file will be rejected and the transaction rolled back,
    but the rest is still parsed, so that every problem is listed. Progress is told between pieces."""

    def __init__(self, parse: _Parse, valid_rows_only: bool, progress: Progress | None = None):
        self.prepared = parse.prepared
        self._parse = parse
        self.valid_rows_only = valid_rows_only
        self.progress = progress
        self.parsed: list = []  # every piece, for `prepared.finish`
        self.rows = 0  # valid rows seen
        self.rejected = False
        self._ahead = False

    def parse_ahead(self) -> None:
        """Parse every piece now (while the database is busy with something else); iterating then
        hands out the parsed pieces."""
        done = 0
        self.report(0.0, said(N_("{n} rows"), n=Count(self.prepared.row_count)))
        for piece in self._parse.each_piece():
            done += len(piece.frame)
            self._report_rows(done)
        self._ahead = True

    def __iter__(self):
        prepared = self.prepared
        if not self._ahead:
            self.report(0.0, said(N_("{n} rows"), n=Count(prepared.row_count)))
        for piece in self._parse.each_piece():
            self.parsed.append(piece)
            self.rejected = self.rejected or (piece.error_count > 0 and not self.valid_rows_only)
            rows = prepared.valid_rows(piece)
            self.rows += len(rows)
            if len(rows) and not self.rejected:
                yield rows
            if not self._ahead:
                self._report_rows(sum(len(p.frame) for p in self.parsed))

    def _report_rows(self, done: int) -> None:
        total = self.prepared.row_count
        self.report(0.8 * done / max(total, 1), said(N_("{done} of {total} rows"), done=Count(done),
                                                     total=Count(total)))

    def report(self, share: float, what: Said) -> None:
        """Tell the caller how far the import is. Its callback may raise to stop the import: the
        transaction is then rolled back, and nothing is written."""
        if self.progress is not None:
            self.progress(min(max(share, 0.0), 1.0), what)

    def cells(self, field: str):  # noqa: ANN201
        """The cells of the column mapped to `field`, one per data row, trimmed, "" when empty (an Arrow
        array), or None when no column is; the parsed rows hold the same texts."""
        column = self.prepared.mapping.get(field)
        return self.prepared.cells[column] if column else None

    @property
    def numbers(self):  # noqa: ANN201
        """The invoice number of each data row of the file (an Arrow array)."""
        return self.prepared.cells[self.prepared.mapping["invoice_number"]]

    def known(self, current: pd.DataFrame) -> np.ndarray:
        """For each data row of the file: is its invoice number in `current` (one lookup for the
        whole file; `position` finds a piece's rows in it)."""
        numbers = pd.Series(self.numbers.to_pandas())
        return diff.isin(numbers, current["number"]) if len(current) else np.zeros(len(numbers), dtype=bool)

    def position(self, rows: pd.DataFrame) -> np.ndarray:
        """Where `rows` (of one piece) are among the file's data rows."""
        return np.searchsorted(self.prepared.lines, rows["line"].to_numpy())


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
def _loading(s, pieces: _Pieces, known_in_file: np.ndarray, batch: ImportBatch, result: ImportResult,
             details: dict, seen: diff.Seen):
    """Writing an invoice file's new invoices as it is parsed: yields the loader and the file's pieces as
    (rows with their debtor ids and dates, where they are among the file's data rows); `known_in_file`
    says, per data row, whether the ledger already has its invoice. After the last piece the debtors
    the rows refer to are checked and the loader finishes (indexes, daily sums)."""
    with (loader.Writer(s, give_way) as writer,
          loader.InvoiceLoader(s, batch.id, int((~known_in_file).sum()), writer) as invoices):
        debtors = _Debtors(s, writer, result, details, pieces.cells("debtor_code"))

        def pieces_known():
            for rows in pieces:
                rows, terms = debtors.attach(rows)
                rows, derived = diff.with_term_dates(rows, terms)
                seen.rows(rows, derived)
                yield rows, pieces.position(rows)

        yield invoices, pieces_known()
        pieces.report(0.8, said(N_("Comparing with the ledger")))
        invoices.check_debtors(debtors.ids_used)


def _add(invoices: loader.InvoiceLoader, new: diff.NewInvoices) -> None:
    invoices.add(new.rows, new.open_cents, new.settled_on, new.moved, new.change_dates, new.kinds, new.deltas)


def _write_changes(s, changes: diff.Changes, batch_id: int) -> None:
    loader.apply_changes(s, changes.invoice_ids, changes.old_open, changes.new_open, changes.dates, changes.kinds,
                         batch_id)
    plans.apply_payments(s, changes.invoice_ids.tolist())  # set against the oldest open term of a plan


def _write_comparison(s, compared: diff.Comparison, batch_id: int, details: dict) -> None:
    """Fields first (the daily sums of the changes follow the due dates), then the open amounts, then
    the disputes."""
    if compared.updates:
        s.execute(update(Invoice), [{"id": iid, **vals} for iid, vals in compared.updates.items()])
        details.setdefault("field_changes", []).extend([[iid, b] for iid, b in compared.before.items()])
    _write_changes(s, compared.changes, batch_id)
    if compared.disputed:
        s.execute(update(Invoice), [{"id": i, "disputed": True} for i in compared.disputed])
        details["disputed"] = compared.disputed


def _counts(result: ImportResult, compared: diff.Comparison) -> None:
    result.changed, result.closed, result.unchanged = compared.changed, compared.closed, compared.unchanged


def _concat(parts: list[pd.DataFrame]) -> pd.DataFrame:
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


# --- open items -----------------------------------------------------------------------------------

def _apply_open_items(s, pieces: _Pieces, batch: ImportBatch, result: ImportResult, details: dict, mode: str,
                      mapped: set[str], seen: diff.Seen, confirm: bool) -> None:
    """New invoices are written a piece at a time as the file is parsed; the invoices the ledger
    already has are compared with the file afterwards. While the file is parsed, the database finds
    the invoice of each of its numbers with what a row may change of it, and for a full list the open
    invoices (`loader.FileRows`); only the rows that differ, and the open invoices the list leaves
    out, are read and judged, so a file that repeats the ledger costs its parse and one join, and
    writes no invoice."""
    as_of = batch.as_of
    open_before = loader.count_open(s) if mode == FULL else 0
    # a file beside a ledger is parsed while the database looks up its numbers; into an empty ledger,
    # every row is new and written as it is parsed
    ledger = loader.FileRows(s).look_up(pieces.numbers, {f: pieces.cells(f) for f in ("description", "reference")
                                                         if f in mapped},
                                        as_of if mode == FULL else None, meanwhile=pieces.parse_ahead)
    known_in_file = ledger.known
    existing_parts, existing_ids, listed_ids, unchanged = [], [], [], 0
    with _loading(s, pieces, known_in_file, batch, result, details, seen) as (invoices, pieces_at):
        for rows, at in pieces_at:
            known = known_in_file[at]
            if (~known).any():
                _add(invoices, diff.new_open_items(rows[~known], as_of))
            if known.any():
                rows, at = rows[known], at[known]
                listed_ids.append(ledger.ids[at])
                differ = ledger.may_differ(at, rows["open_cents"].to_numpy(),
                                           rows["due_date"].to_numpy() if "due_date" in mapped else None)
                existing_parts.append(rows[differ])
                existing_ids.append(ledger.ids[at[differ]])
                unchanged += int((~differ).sum())
    result.new = invoices.count
    if pieces.rejected:
        return  # rolled back by the caller

    ids = np.concatenate(existing_ids) if existing_ids else np.zeros(0, dtype=np.int64)
    compared = diff.compare_open_items(_concat(existing_parts), loader.read_invoices(s, ids), as_of, mapped)
    compared = replace(compared, unchanged=compared.unchanged + unchanged)
    _write_comparison(s, compared, batch.id, details)
    _counts(result, compared)
    leaving = compared.leaving
    if mode == FULL:
        listed = np.concatenate(listed_ids) if listed_ids else np.zeros(0, dtype=np.int64)
        absent = ledger.open_ids[~np.isin(ledger.open_ids, listed, kind="table")] if len(listed) else ledger.open_ids
        gone, result.closing = diff.closing_of(loader.read_invoices(s, absent),
                                               seen.file_debtors(), as_of, open_before)
        if confirm and result.closing.needs_confirmation and pieces.rows:  # an empty file is refused later
            raise ClosingNeedsConfirmation(result.closing)  # the caller's transaction is rolled back
        if len(gone):
            pieces.report(0.9, said(N_("Closing {n} invoices that are not in the file"), n=Count(len(gone))))
        _write_changes(s, gone, batch.id)
        leaving += gone.closed_ids
        result.closed += len(gone)
    s.flush()
    _leave_messages(s, leaving, result, details)


# --- ledger (invoices with their paid dates) --------------------------------------------------------

def _apply_ledger(s, pieces: _Pieces, batch: ImportBatch, result: ImportResult, details: dict,
                  mapped: set[str], seen: diff.Seen) -> None:
    current = loader.read_invoices(s)
    known_in_file = pieces.known(current)
    existing_parts = []
    with _loading(s, pieces, known_in_file, batch, result, details, seen) as (invoices, pieces_at):
        for rows, at in pieces_at:
            known = known_in_file[at]
            if (~known).any():
                _add(invoices, diff.new_ledger_rows(rows[~known]))
            existing_parts.append(rows[known])
    result.new = invoices.count
    if pieces.rejected:
        return  # rolled back by the caller

    compared = diff.compare_ledger_rows(_concat(existing_parts), current, batch.as_of, mapped)
    _write_comparison(s, compared, batch.id, details)
    _counts(result, compared)
    s.flush()
    _leave_messages(s, compared.leaving, result, details)


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

class _Debtors:
    """Debtor ids for a file's rows a piece at a time, creating the debtors the file introduces (named
    from the file), with each row's payment term."""

    def __init__(self, s, writer: loader.Writer, result: ImportResult, details: dict, file_codes=None):  # noqa: ANN001
        self.s, self.writer, self.result, self.details = s, writer, result, details
        stored = s.execute(select(Debtor.code, Debtor.id, Debtor.payment_term_days)).all()
        self._codes = pa.array([c for c, _, _ in stored], type=pa.string())
        self._ids = np.asarray([i for _, i, _ in stored], dtype=np.int64)
        self._terms = np.asarray([t or 30 for _, _, t in stored], dtype=np.int64)
        self._new_ids = loader.Ids(s, "debtor", writer)
        if file_codes is not None:  # ids for the codes the file seems to introduce, before any writing starts
            unique = pc.unique(file_codes)
            stored_already = pc.sum(pc.is_in(unique, value_set=self._codes)).as_py() or 0
            self._new_ids.reserve(len(unique) - stored_already)
        self._used = np.zeros(len(self._ids), dtype=bool)

    @property
    def ids_used(self) -> np.ndarray:
        """The debtors the rows were given."""
        return self._ids[self._used]

    def attach(self, rows: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
        """`rows` with their `debtor_id`, and each row's payment term in days."""
        codes = pa.array(rows["debtor_code"], type=pa.string())
        position = self._position(codes)
        if (position < 0).any():
            self._create(rows[position < 0].drop_duplicates("debtor_code"))
            position = self._position(codes)
        rows = rows.copy()
        rows["debtor_id"] = self._ids[position]
        self._used[position] = True
        return rows, self._terms[position]

    def _create(self, fresh: pd.DataFrame) -> None:
        names = fresh["debtor_name"].fillna("").astype(str).str.strip()
        names = names.where(names != "", fresh["debtor_code"]).str.slice(0, 255)
        ids = self._new_ids.take(len(fresh))
        frame = pd.DataFrame({"id": ids, "code": fresh["debtor_code"].str.slice(0, 50).to_numpy(),
                              "name": names.to_numpy(), "language": "nl", "is_consumer": False,
                              "payment_term_days": 30, "reminders_blocked": False, "is_demo": False,
                              "created_at": utcnow().strftime("%Y-%m-%d %H:%M:%S.%f")})
        loader.bulk_insert(self.s, "debtor", frame, writer=self.writer)
        self._codes = pa.concat_arrays([self._codes, pa.array(frame["code"], type=pa.string())])
        self._ids = np.concatenate([self._ids, ids])
        self._terms = np.concatenate([self._terms, np.full(len(ids), 30, dtype=np.int64)])
        self._used = np.concatenate([self._used, np.zeros(len(ids), dtype=bool)])
        self.details.setdefault("created_debtors", []).extend(int(x) for x in ids)
        self.result.created_debtors += len(fresh)

    def _position(self, codes: pa.Array) -> np.ndarray:
        """Where each code is among the known debtors (-1: not there)."""
        found = pc.index_in(codes, value_set=self._codes)
        return np.asarray(pc.fill_null(found, -1).to_numpy(zero_copy_only=False), dtype=np.int64)


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
    locks.hold(s, locks.IMPORT)
    batch = _latest(s)
    if batch is None:
        raise ServiceError("there is no import to undo")
    if batch_id is not None and batch.id != batch_id:
        raise ServiceError("only the latest import (batch {latest}) can be undone, not batch {batch}",
                           latest=batch.id, batch=batch_id)
    details = batch.details or {}
    created_invoices = select(Invoice.id).where(Invoice.batch_id == batch.id)
    foreign_changes = s.scalar(select(func.count()).select_from(InvoiceChange).where(
        InvoiceChange.invoice_id.in_(created_invoices),
        (InvoiceChange.batch_id.is_(None)) | (InvoiceChange.batch_id != batch.id)))
    used = s.scalar(select(func.count()).select_from(MessageInvoice).where(
        MessageInvoice.invoice_id.in_(created_invoices)))
    noted = s.scalar(select(func.count()).select_from(Note).where(Note.invoice_id.in_(created_invoices)))
    if foreign_changes or used or noted:
        if foreign_changes:
            raise ServiceError("batch {batch} can no longer be undone: its invoices already have payments entered "
                               "since. Import a corrected file instead", batch=batch.id)
        raise ServiceError("batch {batch} can no longer be undone: its invoices already have reminders or notes. "
                           "Import a corrected file instead", batch=batch.id)

    # many invoices deleted or put back at once: the daily sums are rebuilt after, not kept a row at a time
    with loader.ledger_day_rebuilt(s, (batch.count_new or 0) + (batch.count_changed or 0) + (batch.count_closed or 0)):
        # NOT EXISTS, not NOT IN: PostgreSQL hashes a NOT IN list only while it fits in work_mem, and past
        # that compares every change with the whole list (a million new invoices: the undo never ended)
        created_by_it = select(Invoice.id).where(Invoice.id == InvoiceChange.invoice_id, Invoice.batch_id == batch.id)
        changed_ids = sorted(set(s.scalars(select(InvoiceChange.invoice_id).where(
            InvoiceChange.batch_id == batch.id, ~created_by_it.exists()))))
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
                                        Message.last_error.in_((NOTHING_LEFT, phrases.dump(NOTHING_LEFT))))
                  .values(status=status, last_error=None))
    if statuses:  # their words follow the invoices they chase again
        wording.reword(s, [int(m) for m in statuses], Phrase(N_("an undone import brought an invoice back")))


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
