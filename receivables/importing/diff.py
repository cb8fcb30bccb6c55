"""A file against the ledger, pure: the file's typed rows and the ledger's invoices as plain columns in;
out come the invoices that are new (with the change that brings each from its amount to what is open),
the open amounts that change, close or reopen, by how much and on which day, the fields that move, and
what a full list of open items closes. No database: the import writes what this says.

The ledger is a frame with one row per invoice and the columns of `LEDGER_COLUMNS` (`ledger` builds one
from plain records); dates are datetime64[D], NaT for none."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from receivables.domain import money
from receivables.domain.phrases import Phrase
from receivables.domain.phrasing import joined
from receivables.domain.translation import N_, Count
from receivables.importing.validation import Notice, notice

LEDGER_COLUMNS = ("id", "number", "debtor_id", "open_cents", "amount_cents", "invoice_date", "due_date",
                  "settled_date", "description", "reference", "currency", "disputed", "is_demo")
_FAR = np.timedelta64(365, "D")  # invoice dates this long before the snapshot are worth a word
_NUMBERS = ("id", "debtor_id", "open_cents", "amount_cents")
_DATES = ("invoice_date", "due_date", "settled_date")
_FLAGS = ("disputed", "is_demo")


def ledger(records: Iterable[dict] = ()) -> pd.DataFrame:
    """The ledger's invoices from plain records (a missing field is empty: no date, no text, not
    disputed, not demo, EUR)."""
    records = list(records)
    column = {c: [r.get(c) for r in records] for c in LEDGER_COLUMNS}
    return pd.DataFrame({
        **{c: np.asarray(column[c], dtype=np.int64) for c in _NUMBERS},
        **{c: np.asarray([bool(v) for v in column[c]], dtype=bool) for c in _FLAGS},
        **{c: pd.Series(column[c], dtype=object) for c in ("number", "description", "reference")},
        "currency": pd.Series([v or "EUR" for v in column["currency"]], dtype=object),
        **{c: np.asarray([np.datetime64(v, "D") if v else np.datetime64("NaT") for v in column[c]],
                         dtype="datetime64[D]") for c in _DATES},
    })[list(LEDGER_COLUMNS)]


def isin(values: pd.Series, among) -> np.ndarray:  # noqa: ANN001
    """Vectorised membership of text values (pandas' own isin loops in Python for Arrow strings)."""
    if not len(values):
        return np.zeros(0, dtype=bool)
    wanted = pa.array(list(among) if not isinstance(among, pd.Series) else among.astype(str), type=pa.string())
    found = pc.is_in(pa.array(values.astype(str), type=pa.string()), value_set=wanted)
    return np.asarray(found.to_numpy(zero_copy_only=False), dtype=bool)


def change_kinds(old: np.ndarray, new: np.ndarray) -> np.ndarray:
    """What moving each open amount from `old` to `new` is: less of the same sign (or nothing left) is a
    payment (a credit for a credit note), a change of sign a correction, more a reopen."""
    old, new = np.asarray(old, dtype=np.int64), np.asarray(new, dtype=np.int64)
    paid = (new == 0) | ((np.abs(new) < np.abs(old)) & ((new > 0) == (old > 0)))
    flipped = ((new > 0) != (old > 0)) & (old != 0)
    return np.where(paid, np.where(old > 0, "payment", "credit"), np.where(flipped, "correction", "reopen"))


def _day_of(as_of: date, n: int) -> np.ndarray:
    return np.full(n, np.datetime64(as_of, "D"))


@dataclass(frozen=True)
class Changes:
    """Open amounts of invoices the ledger has that move: one dated change each."""

    invoice_ids: np.ndarray
    old_open: np.ndarray
    new_open: np.ndarray
    dates: np.ndarray  # datetime64[D]

    @classmethod
    def none(cls) -> Changes:
        empty = np.zeros(0, dtype=np.int64)
        return cls(empty, empty, empty, np.zeros(0, dtype="datetime64[D]"))

    def __len__(self) -> int:
        return len(self.invoice_ids)

    @property
    def kinds(self) -> np.ndarray:
        return change_kinds(self.old_open, self.new_open)

    @property
    def deltas(self) -> np.ndarray:
        return np.asarray(self.new_open, dtype=np.int64) - np.asarray(self.old_open, dtype=np.int64)

    @property
    def closed_ids(self) -> list[int]:
        """The invoices these changes settle (nothing left open)."""
        return [int(i) for i in self.invoice_ids[np.asarray(self.new_open) == 0]]

    @property
    def reopened(self) -> int:
        """Invoices that were settled and are open again."""
        return int(((np.asarray(self.old_open) == 0) & (np.asarray(self.new_open) != 0)).sum())


@dataclass(frozen=True)
class NewInvoices:
    """Invoices of the file that the ledger does not have, as they go in: `rows` with the open amount,
    the day they were settled where nothing is open, and, for the rows at the positions `moved`, one
    change each (its date, kind and amount) from the invoice's amount to what is open."""

    rows: pd.DataFrame
    open_cents: np.ndarray
    settled_on: np.ndarray  # datetime64[D]; used where open_cents is 0
    moved: np.ndarray
    change_dates: np.ndarray
    kinds: np.ndarray
    deltas: np.ndarray


def new_open_items(rows: pd.DataFrame, as_of: date) -> NewInvoices:
    """New invoices of a list of open items: the file's open amount is the state on `as_of`, so what was
    paid (or credited) before is one change on that day."""
    amount, open_ = rows["amount_cents"].to_numpy(), rows["open_cents"].to_numpy()
    delta = open_ - amount
    moved = np.flatnonzero(delta != 0)
    kinds = np.where(amount[moved] > 0, "payment", "credit")
    kinds = np.where(np.abs(open_[moved]) > np.abs(amount[moved]), "reopen", kinds)
    return NewInvoices(rows, open_, _day_of(as_of, len(rows)), moved, _day_of(as_of, len(moved)), kinds,
                       delta[moved])


def new_ledger_rows(rows: pd.DataFrame) -> NewInvoices:
    """New invoices of an invoice ledger: a paid date settles the invoice on that day for the amount paid
    (all of it unless the file says how much); a settled invoice is no longer disputed."""
    rows = rows.copy()
    amount = rows["amount_cents"].to_numpy()
    settled = rows["settled_date"].to_numpy().astype("datetime64[D]")
    paid = np.where(~np.isnat(settled), rows["paid_cents"].to_numpy(), 0)
    open_ = amount - paid
    rows["disputed"] = rows["disputed"].to_numpy() & (open_ != 0)
    moved = np.flatnonzero(paid != 0)
    return NewInvoices(rows, open_, settled, moved, settled[moved], np.where(amount[moved] > 0, "payment", "credit"),
                       -paid[moved])


@dataclass(frozen=True)
class Comparison:
    """What a file says of the invoices the ledger already has."""

    changes: Changes
    updates: dict[int, dict] = field(default_factory=dict)  # invoice id -> fields as the file has them
    before: dict[int, dict] = field(default_factory=dict)  # invoice id -> those fields as they were
    disputed: list[int] = field(default_factory=list)  # invoices the file newly has as disputed
    changed: int = 0  # changed and still open (or open again)
    closed: int = 0
    unchanged: int = 0

    @property
    def leaving(self) -> list[int]:
        """Invoices that leave the unsent reminders: closed or newly disputed."""
        return [*self.changes.closed_ids, *self.disputed]


def merge_current(rows: pd.DataFrame, current: pd.DataFrame) -> pd.DataFrame:
    """The file's rows next to the stored invoices; stored columns get a `_db` suffix (`id` stays)."""
    stored = current.rename(columns={c: f"{c}_db" for c in current.columns if c not in ("id", "number")})
    return rows.merge(stored, left_on="invoice_number", right_on="number", how="inner")


def field_changes(merged: pd.DataFrame, mapped: set[str]) -> tuple[np.ndarray, dict[int, dict], dict[int, dict]]:
    """Due date, description and reference as the newer export has them (only the fields it maps; an
    empty due date says nothing): which rows change, the new values and the old ones per invoice id."""
    changed = np.zeros(len(merged), dtype=bool)
    updates: dict[int, dict] = {}
    before: dict[int, dict] = {}
    ids = merged["id"].to_numpy()
    if "due_date" in mapped:
        file_due = merged["due_date"].to_numpy().astype("datetime64[D]")
        db_due = merged["due_date_db"].to_numpy().astype("datetime64[D]")
        diff = ~np.isnat(file_due) & (file_due != db_due)
        for i in np.flatnonzero(diff):
            updates.setdefault(int(ids[i]), {})["due_date"] = pd.Timestamp(file_due[i]).date()
            before.setdefault(int(ids[i]), {})["due_date"] = str(db_due[i])
        changed |= diff
    for f in ("description", "reference"):
        if f in mapped:
            file_v = merged[f].fillna("").astype(str).to_numpy()
            db_v = merged[f + "_db"].fillna("").astype(str).to_numpy()
            diff = file_v != db_v
            for i in np.flatnonzero(diff):
                updates.setdefault(int(ids[i]), {})[f] = file_v[i] or None
                before.setdefault(int(ids[i]), {})[f] = db_v[i] or None
            changed |= diff
    return changed, updates, before


def _counted(changes: Changes, moving: np.ndarray, field_changed: np.ndarray, updates: dict, before: dict,
             disputed: np.ndarray | None = None, ids: np.ndarray | None = None) -> Comparison:
    closes = moving.copy()
    closes[moving] = np.asarray(changes.new_open) == 0
    changed = moving | field_changed | (disputed if disputed is not None else False)
    return Comparison(changes, updates, before,
                      [] if disputed is None else [int(x) for x in ids[disputed]],
                      int((changed & ~closes).sum()), int(closes.sum()), int((~changed).sum()))


def compare_open_items(existing: pd.DataFrame, current: pd.DataFrame, as_of: date, mapped: set[str]) -> Comparison:
    """A list of open items on invoices the ledger has: each open amount becomes the file's, dated
    `as_of` (nothing open: paid on that day)."""
    if not len(existing):
        return Comparison(Changes.none())
    merged = merge_current(existing, current)
    field_changed, updates, before = field_changes(merged, mapped)
    file_open, open_db = merged["open_cents"].to_numpy(), merged["open_cents_db"].to_numpy()
    moving = file_open != open_db
    changes = Changes(merged["id"].to_numpy()[moving], open_db[moving], file_open[moving],
                      _day_of(as_of, int(moving.sum())))
    return _counted(changes, moving, field_changed, updates, before)


def compare_ledger_rows(existing: pd.DataFrame, current: pd.DataFrame, as_of: date, mapped: set[str]) -> Comparison:
    """An invoice ledger on invoices the ledger has: a paid date settles it on that day (for what the file
    says was paid). An invoice the ledger has as settled before `as_of` that the file has as unsettled
    (a reversed payment, a bounced direct debit) is open again from `as_of`, less what the file says was
    paid; an older file says nothing about what happened since. A newly disputed open invoice is
    disputed."""
    if not len(existing):
        return Comparison(Changes.none())
    merged = merge_current(existing, current)
    field_changed, updates, before = field_changes(merged, mapped)
    settled = merged["settled_date"].to_numpy().astype("datetime64[D]")
    settled_db = merged["settled_date_db"].to_numpy().astype("datetime64[D]")
    amount_db, open_db = merged["amount_cents_db"].to_numpy(), merged["open_cents_db"].to_numpy()
    paid_given = merged["paid_given"].to_numpy()
    paid = np.where(paid_given, merged["paid_cents"].to_numpy(), amount_db)
    reopen = (np.isnat(settled) & (open_db == 0) & (amount_db != 0) & ("settled_date" in mapped)
              & ~np.isnat(settled_db) & (settled_db < np.datetime64(as_of, "D")))
    partly = np.where(paid_given, merged["paid_cents"].to_numpy(), 0)
    target = np.where(reopen, amount_db - partly, amount_db - paid)
    delta = np.where(np.isnat(settled) & ~reopen, 0, target - open_db)
    when = np.where(reopen, np.datetime64(as_of, "D"), settled)
    moving = delta != 0
    ids = merged["id"].to_numpy()
    changes = Changes(ids[moving], open_db[moving], target[moving], when[moving])
    open_after = np.where(moving, target, open_db)
    disputed = merged["disputed"].to_numpy() & ~merged["disputed_db"].to_numpy() & (open_after != 0)
    return _counted(changes, moving, field_changed, updates, before, disputed, ids)


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


def full_list_closes(current: pd.DataFrame, numbers_in_file: pd.Series, file_debtors: np.ndarray,
                     as_of: date) -> tuple[Changes, Closing]:
    """A full list of open items closes, as paid on `as_of`, every open invoice of the ledger it does not
    hold (demo invoices, and invoices dated after `as_of`, stay): the changes, and what that is."""
    open_ = current["open_cents"].to_numpy()
    demo = current["is_demo"].to_numpy()
    open_before = int(((open_ != 0) & ~demo).sum())
    in_file = isin(current["number"], numbers_in_file)
    gone = current[~in_file & (open_ != 0) & ~demo & (current["invoice_date"].to_numpy() <= np.datetime64(as_of))]
    return closing_of(gone, file_debtors, as_of, open_before)


def closing_of(gone: pd.DataFrame, file_debtors: np.ndarray, as_of: date, open_before: int) -> tuple[Changes, Closing]:
    """Closing `gone`, the ledger's invoices that `full_list_closes` picks (found by the database for a
    large ledger), as paid on `as_of`, of `open_before` open invoices: the changes, and what that is."""
    ids, amounts = gone["id"].to_numpy(), gone["open_cents"].to_numpy()
    changes = Changes(ids, amounts, np.zeros(len(gone), dtype=np.int64), _day_of(as_of, len(gone)))
    if not len(gone):
        return changes, Closing(as_of, open_before=open_before)
    totals = pd.Series(amounts).groupby(gone["currency"].to_numpy()).sum()
    absent = ~np.isin(gone["debtor_id"].to_numpy(), file_debtors)
    return changes, Closing(as_of, len(gone), {str(c): int(v) for c, v in totals.items()}, int(absent.sum()),
                            len(np.unique(gone["debtor_id"].to_numpy()[absent])), open_before)


def with_term_dates(rows: pd.DataFrame, terms: np.ndarray) -> tuple[pd.DataFrame, dict[str, tuple]]:
    """Fill a missing due date as invoice date + the debtor's payment term (`terms`, days, per row), and a
    missing invoice date as due date − term. Also returns, per field filled, the file lines and terms."""
    rows = rows.copy()
    term = terms.astype("timedelta64[D]")
    inv = rows["invoice_date"].to_numpy().astype("datetime64[D]")
    due = rows["due_date"].to_numpy().astype("datetime64[D]")
    derived = {}
    for f, missing in (("due_date", np.isnat(due) & ~np.isnat(inv)), ("invoice_date", np.isnat(inv))):
        if missing.any():
            derived[f] = (rows["line"].to_numpy()[missing], terms[missing])
    rows["due_date"] = np.where(np.isnat(due), inv + term, due)
    rows["invoice_date"] = np.where(np.isnat(inv), rows["due_date"].to_numpy().astype("datetime64[D]") - term, inv)
    return rows, derived


class Seen:
    """What an invoice file's rows showed on their way in, for the check: the dates filled in from a
    payment term, the debtors the rows belong to, and the invoice dates as stored."""

    def __init__(self) -> None:
        self.derived: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {"due_date": [], "invoice_date": []}
        self.debtor_ids: list[np.ndarray] = []
        self.lines: list[np.ndarray] = []
        self.invoice_dates: list[np.ndarray] = []

    def rows(self, rows: pd.DataFrame, derived: dict[str, tuple] | None = None) -> None:
        for f, found in (derived or {}).items():
            self.derived[f].append(found)
        self.debtor_ids.append(rows["debtor_id"].to_numpy())
        self.lines.append(rows["line"].to_numpy())
        self.invoice_dates.append(rows["invoice_date"].to_numpy().astype("datetime64[D]"))

    def file_debtors(self) -> np.ndarray:
        return np.unique(np.concatenate(self.debtor_ids)) if self.debtor_ids else np.zeros(0, np.int64)

    def notices(self) -> list[Notice]:
        out = []
        for f, said in (("due_date", _DERIVED_DUE), ("invoice_date", _DERIVED_INVOICE)):
            if not self.derived[f]:
                continue
            lines = np.concatenate([x for x, _ in self.derived[f]])
            terms = np.concatenate([t for _, t in self.derived[f]])
            values, counts = np.unique(terms, return_counts=True)
            if len(values) == 1:
                term = Phrase(N_("{days} days"), {"days": int(values[0])})
            else:
                term = Phrase(N_("{terms}: each debtor's term"), {"terms": joined(
                    Phrase(N_("{days} days for {rows} rows"), {"days": int(v), "rows": Count(int(c))})
                    for v, c in zip(values, counts))})
            rows = Phrase(N_("1 row")) if len(lines) == 1 else Phrase(N_("{n} rows"), {"n": Count(len(lines))})
            out.append(notice(f"derived:{f}", said, lines, rows=rows, term=term))
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
            out.append(notice("far-before", N_("1 invoice is dated more than a year before the snapshot date {as_of} "
                                               "(the oldest {oldest})") if old.sum() == 1 else
                              N_("{n} invoices are dated more than a year before the snapshot date {as_of} (the "
                                 "oldest {oldest})"), lines[old], n=Count(int(old.sum())),
                              as_of=f"{as_of:%d-%m-%Y}", oldest=_day(dates[old].min())))
        if new.any():
            out.append(notice("after", N_("1 invoice is dated after the snapshot date {as_of} (the newest {newest}): a "
                                          "list of open items holds no invoice from after the day it was made. Check "
                                          "the snapshot date") if new.sum() == 1 else
                              N_("{n} invoices are dated after the snapshot date {as_of} (the newest {newest}): a "
                                 "list of open items holds no invoice from after the day it was made. Check the "
                                 "snapshot date"), lines[new], n=Count(int(new.sum())),
                              as_of=f"{as_of:%d-%m-%Y}", newest=_day(dates[new].max())))
        return out


_DERIVED_DUE = N_("The due date is not in the file for {rows}: derived as invoice date + payment term ({term}). "
                  "Choose the due-date column if the file has one, or import a debtor list with the payment terms "
                  "first")
_DERIVED_INVOICE = N_("The invoice date is not in the file for {rows}: derived as due date − payment term ({term}). "
                      "Choose the invoice-date column if the file has one")


def _day(value) -> str:  # noqa: ANN001
    return pd.Timestamp(value).strftime("%d-%m-%Y")
