"""Ageing: open items as of a date into buckets of days past due (or since the invoice date), one row per
debtor and currency, and the totals per currency. Pure: the database sums the open items per bucket with
the cut dates of `BucketSpec`, the drill-down puts single items in their bucket with `assign_buckets`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

DEFAULT_EDGES = (0, 30, 60, 90)


@dataclass(frozen=True)
class BucketSpec:
    """Upper edges of every bucket but the last, in days. Basis `due` (days past due, the first
    bucket is 'not due') or `invoice` (days since the invoice date)."""

    edges: tuple[int, ...] = DEFAULT_EDGES
    basis: str = "due"

    def __post_init__(self):
        if not self.edges or list(self.edges) != sorted(set(self.edges)):
            raise ValueError("bucket edges must be increasing whole days, e.g. 0, 30, 60, 90")
        if self.basis not in ("due", "invoice"):
            raise ValueError("ageing basis is 'due' or 'invoice'")

    @property
    def labels(self) -> list[str]:
        e = self.edges
        first = "not_due" if self.basis == "due" and e[0] == 0 else f"0-{e[0]}"
        return [first] + [f"{a + 1}-{b}" for a, b in zip(e, e[1:])] + [f"{e[-1]}+"]

    @property
    def date_column(self) -> str:
        return "due_date" if self.basis == "due" else "invoice_date"

    def cut_dates(self, as_of: date) -> list[date]:
        """An item is in bucket k when its date is on or after cut k (days ≤ edge k) and before cut k−1;
        after the last cut it is in the last bucket."""
        return [as_of - timedelta(days=e) for e in self.edges]


def days_outstanding(frame: pd.DataFrame, as_of: date, basis: str = "due") -> np.ndarray:
    column = "due_date" if basis == "due" else "invoice_date"
    dates = pd.to_datetime(frame[column]).to_numpy(dtype="datetime64[D]")
    return (np.datetime64(as_of, "D") - dates).astype(int)


def assign_buckets(frame: pd.DataFrame, as_of: date, spec: BucketSpec = BucketSpec()) -> pd.Series:
    """The bucket label of every open item."""
    days = days_outstanding(frame, as_of, spec.basis)
    idx = np.searchsorted(np.asarray(spec.edges), days, side="left")
    return pd.Series(np.asarray(spec.labels, dtype=object)[idx], index=frame.index, name="bucket")


# --- one row per debtor and currency ---------------------------------------------------------------

AGEING_KEYS = ["debtor_id", "debtor_code", "debtor_name", "segment", "account_manager", "track_override",
               "currency"]


def ageing_table(sums: pd.DataFrame, labels: list[str]) -> pd.DataFrame:
    """Bucket sums, one row per debtor and currency (AGEING_KEYS, open_0 … open_n for the buckets of
    `labels` in order, overdue_cents, items), as the ageing table: a column per bucket label, total, overdue
    and items; rows with nothing open left out, largest total first. Credit notes are negative amounts and
    reduce the debtor's buckets; currencies are never added."""
    cols = [*AGEING_KEYS, *labels, "total", "overdue", "items"]
    if sums.empty:
        frame = pd.DataFrame(columns=cols)
        for c in [*labels, "total", "overdue", "items"]:
            frame[c] = frame[c].astype("int64")
        return frame
    grid = sums[[f"open_{k}" for k in range(len(labels))]].to_numpy(dtype="int64")
    out = sums[AGEING_KEYS].reset_index(drop=True)
    for c in AGEING_KEYS[1:]:
        out[c] = out[c].astype(object)
    for j, label in enumerate(labels):
        out[label] = grid[:, j]
    out["total"] = grid.sum(axis=1)
    out["overdue"] = sums["overdue_cents"].to_numpy(dtype="int64")
    out["items"] = sums["items"].to_numpy(dtype="int64")
    out["debtor_id"] = out["debtor_id"].astype("int64")
    out = out[(grid != 0).any(axis=1)]
    return out.sort_values(["currency", "total", "debtor_id"], ascending=[True, False, True], ignore_index=True)[cols]


def currency_totals(per_debtor: pd.DataFrame, labels: list[str]) -> dict[str, dict[str, int]]:
    """Per currency: {label: cents, …, 'total': cents, 'overdue': cents} (overdue: past the due date)."""
    return {str(currency): {c: int(g[c].sum()) for c in [*labels, "total", "overdue"]}
            for currency, g in per_debtor.groupby("currency", sort=True)}
