"""Ageing: open items as of a date into buckets of days past due (or since invoice date). Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

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


def days_outstanding(frame: pd.DataFrame, as_of: date, basis: str = "due") -> np.ndarray:
    column = "due_date" if basis == "due" else "invoice_date"
    dates = pd.to_datetime(frame[column]).to_numpy(dtype="datetime64[D]")
    return (np.datetime64(as_of, "D") - dates).astype(int)


def assign_buckets(frame: pd.DataFrame, as_of: date, spec: BucketSpec = BucketSpec()) -> pd.Series:
    """The bucket label of every open item."""
    days = days_outstanding(frame, as_of, spec.basis)
    idx = np.searchsorted(np.asarray(spec.edges), days, side="left")
    return pd.Series(np.asarray(spec.labels, dtype=object)[idx], index=frame.index, name="bucket")


def ageing_buckets(open_items: pd.DataFrame, as_of: date, spec: BucketSpec = BucketSpec()) -> pd.DataFrame:
    """Per currency and debtor: open cents in each bucket and the total (int cents, credit notes
    included as negative amounts). `open_items` needs debtor_code, debtor_name, currency,
    invoice_date, due_date, open_cents."""
    labels = spec.labels
    cols = ["currency", "debtor_code", "debtor_name", *labels, "total"]
    if open_items.empty:
        return pd.DataFrame(columns=cols)
    frame = open_items[["currency", "debtor_code", "debtor_name", "open_cents"]].copy()
    frame["bucket"] = pd.Categorical(assign_buckets(open_items, as_of, spec), categories=labels)
    table = frame.pivot_table(index=["currency", "debtor_code", "debtor_name"], columns="bucket",
                              values="open_cents", aggfunc="sum", fill_value=0, observed=False)
    table = table.reindex(columns=labels, fill_value=0).astype("int64")
    table["total"] = table[labels].sum(axis=1)
    table.columns.name = None
    return table.reset_index()[cols].sort_values(["currency", "total"], ascending=[True, False],
                                                  ignore_index=True)


def bucket_totals(per_debtor: pd.DataFrame, spec: BucketSpec = BucketSpec()) -> dict[str, dict[str, int]]:
    """Totals per currency: {currency: {label: cents, …, 'total': cents}}."""
    out: dict[str, dict[str, int]] = {}
    for currency, group in per_debtor.groupby("currency", sort=True):
        out[str(currency)] = {c: int(group[c].sum()) for c in [*spec.labels, "total"]}
    return out


def overdue_cents(totals: dict[str, int], spec: BucketSpec = BucketSpec()) -> int:
    """Open amount past due: every bucket but the first (only meaningful for basis 'due')."""
    return sum(totals[label] for label in spec.labels[1:])
