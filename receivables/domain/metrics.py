"""Receivables metrics: credit sales, AR, DSO (standard and count-back), BPDSO, ADD, CEI, payment
behaviour and the cash-in forecast. Pure functions over plain numbers and DataFrames; amounts are int
cents, dates `datetime.date`. The definitions are the ones in receivables/domain/definitions.py."""

from __future__ import annotations

import calendar
import math
from collections.abc import Sequence
from datetime import date, timedelta

import numpy as np
import pandas as pd

# --- calendar helpers -------------------------------------------------------------------------------


def months_back(d: date, n: int) -> date:
    """`d` moved `n` calendar months back (forward for negative n). A month end stays a month end,
    so 30 June − 1 month = 31 May; other days are clamped (31 March − 1 month = 29 February)."""
    month_index = d.year * 12 + (d.month - 1) - n
    year, month = divmod(month_index, 12)
    month += 1
    last = calendar.monthrange(year, month)[1]
    day = last if d.day == calendar.monthrange(d.year, d.month)[1] else min(d.day, last)
    return date(year, month, day)


def month_end(d: date) -> date:
    return date(d.year, d.month, calendar.monthrange(d.year, d.month)[1])


def month_ends(last: date, months: int) -> list[date]:
    """The `months` month ends up to and including the end of the month of `last`, oldest first;
    the newest is `last` itself when `last` is not a month end (a month to date)."""
    newest = month_end(last)
    ends = [month_end(months_back(newest, k)) for k in range(months - 1, -1, -1)]
    if ends and ends[-1] > last:
        ends[-1] = last
    return ends


# --- the definitions ------------------------------------------------------------------------------


def dso_standard(ar_cents: int, sales_cents: int, days: int = 90) -> float | None:
    """AR(D) / credit sales of the `days` days ending D × days. None when there were no sales."""
    if sales_cents <= 0:
        return None
    return ar_cents / sales_cents * days


def dso_count_back(ar_cents: int, monthly_sales: Sequence[tuple[int, int]]) -> float | None:
    """Walk back month by month from D: while AR exceeds a month's sales, subtract them and add the
    month's days; for the last month add remainder / that month's sales × its days.
    `monthly_sales` is (sales_cents, days) per month, newest first. When AR is still left after the
    last month given, the days walked so far are returned (a lower bound); None without any months."""
    if not monthly_sales:
        return None
    if ar_cents <= 0:
        return 0.0
    remaining = ar_cents
    days = 0.0
    for sales, month_days in monthly_sales:
        if remaining > sales:
            remaining -= sales
            days += month_days
        else:
            return days + remaining / sales * month_days
    return days


def best_possible_dso(current_cents: int, sales_cents: int, days: int = 90) -> float | None:
    """Current (not yet due) AR / credit sales of the `days` days × days."""
    return dso_standard(current_cents, sales_cents, days)


def average_days_delinquent(dso_std: float | None, bpdso: float | None) -> float | None:
    """DSO standard − BPDSO."""
    if dso_std is None or bpdso is None:
        return None
    return dso_std - bpdso


def cei(ar_start_cents: int, sales_cents: int, ar_end_cents: int, current_end_cents: int) -> float | None:
    """Collection effectiveness index in %: (AR start + sales − AR end) / (AR start + sales − current
    AR end) × 100. None when the denominator is not positive (nothing was collectable)."""
    collectable = ar_start_cents + sales_cents - current_end_cents
    if collectable <= 0:
        return None
    return (ar_start_cents + sales_cents - ar_end_cents) / collectable * 100


def weighted_average(values, weights) -> float | None:
    """Σ(weight × value) / Σ(weight); None when the weights add up to nothing."""
    v = np.asarray(values, dtype="float64")
    w = np.asarray(weights, dtype="float64")
    total = w.sum()
    if len(v) == 0 or total == 0:
        return None
    return float((v * w).sum() / total)


def days_late(*, due: date, on: date) -> int:
    """Days past the due date on a day (for a paid invoice, its paid date): max(0, on − due)."""
    return max(0, (on - due).days)


# --- payment behaviour ----------------------------------------------------------------------------

BEHAVIOUR_COLUMNS = ["debtor_id", "code", "invoices_paid", "amount_paid_cents", "avg_days_late",
                     "avg_days_to_pay", "std_days_late", "share_paid_late", "share_paid_late_30", "trend"]


def _day_numbers(series: pd.Series) -> np.ndarray:
    return pd.to_datetime(series).to_numpy(dtype="datetime64[D]").astype("int64")


RECENT_MONTHS = 3  # the trend compares these last months with the ones before


def payment_behaviour(paid: pd.DataFrame, as_of: date, months: int = 12, recent_months: int = RECENT_MONTHS,
                      debtors: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per debtor, over the invoices paid in the `months` months up to `as_of` (paid date in
    (as_of − months, as_of]): invoices_paid, amount-weighted average days late and days to pay,
    the amount-weighted spread (standard deviation) of days late, the share of invoices paid late and
    paid more than 30 days late (by count), and the trend: average days late of the last
    `recent_months` months minus that of the months before (positive = paying later).

    `paid` needs debtor_id, code, amount_cents, invoice_date, due_date, paid_date (credit notes and
    invoices without a positive amount are ignored). `debtors` (debtor_id, code) adds a row with
    invoices_paid 0 and no averages for every debtor without payments in the window."""
    start = months_back(as_of, months)
    split = months_back(as_of, recent_months)
    cols = ["debtor_id", "code", "amount_cents", "invoice_date", "due_date", "paid_date"]
    frame = paid[cols].copy() if not paid.empty else pd.DataFrame(columns=cols)
    if not frame.empty:
        frame = frame[(frame["amount_cents"] > 0) & frame["paid_date"].notna()]
    if not frame.empty:
        paid_day = _day_numbers(frame["paid_date"])
        lo, hi = np.datetime64(start, "D").astype("int64"), np.datetime64(as_of, "D").astype("int64")
        frame = frame[(paid_day > lo) & (paid_day <= hi)]
    if frame.empty:
        return behaviour_from_sums(None, debtors)
    paid_day = _day_numbers(frame["paid_date"])
    w = frame["amount_cents"].to_numpy(dtype="float64")
    late = np.maximum(0, paid_day - _day_numbers(frame["due_date"])).astype("float64")
    to_pay = (paid_day - _day_numbers(frame["invoice_date"])).astype("float64")
    recent = paid_day > np.datetime64(split, "D").astype("int64")
    work = pd.DataFrame({
        "debtor_id": frame["debtor_id"].to_numpy(), "code": frame["code"].astype(object).to_numpy(),
        "w": w, "wl": w * late, "wl2": w * late * late, "wp": w * to_pay,
        "late": (late > 0).astype("int64"), "late30": (late > 30).astype("int64"),
        "rw": np.where(recent, w, 0.0), "rwl": np.where(recent, w * late, 0.0),
    })
    g = work.groupby(["debtor_id", "code"], sort=True)
    agg = g.agg(invoices_paid=("w", "size"), w=("w", "sum"), wl=("wl", "sum"), wl2=("wl2", "sum"),
                wp=("wp", "sum"), late=("late", "sum"), late30=("late30", "sum"),
                rw=("rw", "sum"), rwl=("rwl", "sum")).reset_index()
    return behaviour_from_sums(agg, debtors)


BEHAVIOUR_SUMS = ["debtor_id", "code", "invoices_paid", "w", "wl", "wl2", "wp", "late", "late30", "rw", "rwl"]


def behaviour_from_sums(agg: pd.DataFrame | None, debtors: pd.DataFrame | None = None) -> pd.DataFrame:
    """`payment_behaviour` from its sums per debtor (`BEHAVIOUR_SUMS`: the count of invoices paid, the
    amounts w, amount × days late wl, × days late² wl2, × days to pay wp, the counts paid late and more
    than 30 days late, and the amount rw and amount × days late rwl of the recent months), however
    they were summed (here, or by the database). None: no payments in the window."""
    if agg is None or agg.empty:
        out = pd.DataFrame(columns=BEHAVIOUR_COLUMNS)
    else:
        agg = agg.sort_values(["debtor_id", "code"], ignore_index=True)
        for c in BEHAVIOUR_SUMS[2:]:
            agg[c] = agg[c].astype("float64")
        avg_late = agg["wl"] / agg["w"]
        variance = (agg["wl2"] / agg["w"] - avg_late ** 2).clip(lower=0)
        older_w = agg["w"] - agg["rw"]
        recent_avg = (agg["rwl"] / agg["rw"]).where(agg["rw"] > 0)
        older_avg = ((agg["wl"] - agg["rwl"]) / older_w).where(older_w > 0)
        out = pd.DataFrame({
            "debtor_id": agg["debtor_id"].astype("int64"), "code": agg["code"],
            "invoices_paid": agg["invoices_paid"].astype("int64"),
            "amount_paid_cents": agg["w"].round().astype("int64"),
            "avg_days_late": avg_late, "avg_days_to_pay": agg["wp"] / agg["w"],
            "std_days_late": np.sqrt(variance),
            "share_paid_late": agg["late"] / agg["invoices_paid"],
            "share_paid_late_30": agg["late30"] / agg["invoices_paid"],
            "trend": recent_avg - older_avg,
        })
        out["code"] = out["code"].astype(object)
    if debtors is not None and not debtors.empty:
        missing = debtors[~debtors["debtor_id"].isin(out["debtor_id"])][["debtor_id", "code"]]
        if not missing.empty:
            extra = missing.assign(invoices_paid=0, amount_paid_cents=0)
            out = pd.concat([out, extra], ignore_index=True) if not out.empty else extra.reindex(
                columns=BEHAVIOUR_COLUMNS)
    out = out.reindex(columns=BEHAVIOUR_COLUMNS)
    out["debtor_id"] = out["debtor_id"].astype("int64")
    out["code"] = out["code"].astype(object)
    for c in ("invoices_paid", "amount_paid_cents"):
        out[c] = out[c].fillna(0).astype("int64")
    for c in ("avg_days_late", "avg_days_to_pay", "std_days_late", "share_paid_late", "share_paid_late_30",
              "trend"):
        out[c] = out[c].astype("float64")
    return out.sort_values("code", ignore_index=True)


def portfolio_days_late(paid: pd.DataFrame, as_of: date, months: int = 12) -> tuple[float, float]:
    """Amount-weighted average and spread of days late over all invoices paid in the window; (0, 0)
    without history."""
    b = payment_behaviour(paid, as_of, months)
    b = b[b["invoices_paid"] > 0]
    if b.empty:
        return 0.0, 0.0
    w = b["amount_paid_cents"].to_numpy(dtype="float64")
    mean = float((b["avg_days_late"] * w).sum() / w.sum())
    second = ((b["std_days_late"] ** 2 + b["avg_days_late"] ** 2) * w).sum() / w.sum()
    return mean, float(np.sqrt(max(0.0, second - mean * mean)))


# --- AR and sales on any date from the daily sums ---------------------------------------------------

DAILY_COLUMNS = ["currency", "day", "sales_cents", "change_cents", "overdue_cents", "overdue_change_cents"]
COUNT_BACK_MONTHS = 36  # how far the count-back walks at most


class Ledger:
    """Running totals of one currency's daily sums (see db.analytics_queries.ledger_day): AR(D),
    overdue AR(D) and credit sales of any period, each a binary search."""

    def __init__(self, daily: pd.DataFrame):
        daily = daily.sort_values("day")
        self.days = _day_numbers(daily["day"]) if not daily.empty else np.zeros(0, dtype="int64")
        self._sales = np.cumsum(daily["sales_cents"].to_numpy(dtype="int64"))
        self._ar = self._sales + np.cumsum(daily["change_cents"].to_numpy(dtype="int64"))
        self._overdue = np.cumsum(daily["overdue_cents"].to_numpy(dtype="int64")
                                  + daily["overdue_change_cents"].to_numpy(dtype="int64"))

    def _at(self, running: np.ndarray, d: date) -> int:
        i = int(np.searchsorted(self.days, np.datetime64(d, "D").astype("int64"), side="right"))
        return int(running[i - 1]) if i else 0

    def ar(self, d: date) -> int:
        """Total open on `d`: invoices dated ≤ d minus payments and credits dated ≤ d."""
        return self._at(self._ar, d)

    def overdue(self, d: date) -> int:
        """Open on `d` of the invoices past their due date on `d`."""
        return self._at(self._overdue, d)

    def current(self, d: date) -> int:
        """Open on `d` and not yet due."""
        return self.ar(d) - self.overdue(d)

    def sales(self, start: date, end: date) -> int:
        """Credit sales with invoice date in (start, end]."""
        return self._at(self._sales, end) - self._at(self._sales, start)


def ledgers(daily: pd.DataFrame) -> dict[str, Ledger]:
    """One Ledger per currency: figures are never added across currencies."""
    if daily.empty:
        return {}
    return {str(cur): Ledger(group) for cur, group in daily.groupby("currency", sort=True)}


def round_or_none(value: float | None, digits: int = 1) -> float | None:
    """Rounded, or None for a missing or infinite value (days to 0.1 by default)."""
    return None if value is None or not np.isfinite(value) else round(float(value), digits)


def kpis_at(ledger: Ledger, as_of: date, *, days: int = 90, period_start: date | None = None) -> dict:
    """Every KPI of one currency on `as_of`, unrounded; amounts in cents. Credit sales and CEI are those
    of the period (period_start, as_of], by default the month up to `as_of`."""
    ar, overdue = ledger.ar(as_of), ledger.overdue(as_of)
    current = ar - overdue
    sales_90 = ledger.sales(as_of - timedelta(days=days), as_of)
    monthly = []
    for k in range(1, COUNT_BACK_MONTHS + 1):
        end, start = months_back(as_of, k - 1), months_back(as_of, k)
        monthly.append((ledger.sales(start, end), (end - start).days))
    std = dso_standard(ar, sales_90, days)
    best = best_possible_dso(current, sales_90, days)
    month_start = months_back(as_of, 1) if period_start is None else period_start
    return {
        "total_open_cents": ar, "overdue_cents": overdue, "current_cents": current,
        "overdue_share": overdue / ar if ar > 0 else None,
        "dso_count_back": dso_count_back(ar, monthly), "dso_standard": std, "best_possible_dso": best,
        "average_days_delinquent": average_days_delinquent(std, best),
        "cei_month": cei(ledger.ar(month_start), ledger.sales(month_start, as_of), ar, current),
        "credit_sales_cents": ledger.sales(month_start, as_of), "sales_90_cents": sales_90,
    }


def dso_series(daily: pd.DataFrame, as_of: date, months: int = 24) -> pd.DataFrame:
    """Per currency and month end (the last month ends on `as_of` when that is mid-month): AR,
    overdue, credit sales of the month and every DSO measure. One row per currency and month."""
    rows = []
    ends = month_ends(as_of, months)
    for currency, ledger in ledgers(daily).items():
        for end in ends:
            # each row's sales and CEI are its own calendar month's (to date, for the newest): a month to
            # date must not count the days of the month before it again
            k = kpis_at(ledger, end, period_start=month_end(months_back(end, 1)))
            rows.append({"currency": currency, "month": f"{end:%Y-%m}", "as_of": end, **k})
    cols = ["currency", "month", "as_of", "total_open_cents", "overdue_cents", "current_cents", "overdue_share",
            "dso_count_back", "dso_standard", "best_possible_dso", "average_days_delinquent", "cei_month",
            "credit_sales_cents", "sales_90_cents"]
    frame = pd.DataFrame(rows, columns=cols)
    if not frame.empty:
        # a currency with nothing open and nothing sold in the window has no series
        active = frame.groupby("currency")[["total_open_cents", "credit_sales_cents"]].transform(
            lambda s: s.abs().sum())
        frame = frame[(active["total_open_cents"] + active["credit_sales_cents"]) > 0]
        # months before a currency's first invoice are left out rather than shown as zero days
        started = ((frame["total_open_cents"] != 0) | (frame["sales_90_cents"] != 0)).groupby(frame["currency"]).cummax()
        frame = frame[started].reset_index(drop=True)
    return frame


def dso_contributions(per_debtor: pd.DataFrame, sales_90: dict[str, int], top: int = 10,
                      days: int = 90) -> pd.DataFrame:
    """The debtors that add most to standard DSO, per currency: a debtor's open amount / the
    currency's credit sales of the 90 days × 90 (these add up to the DSO), and the part of it that is
    overdue (adding up to ADD). `per_debtor` needs currency, debtor_code, debtor_name, total_cents,
    overdue_cents."""
    cols = ["currency", "debtor_code", "debtor_name", "total_cents", "overdue_cents", "dso_days",
            "overdue_days"]
    if per_debtor.empty:
        return pd.DataFrame(columns=cols)
    frame = per_debtor.copy()
    sales = frame["currency"].map(lambda c: sales_90.get(str(c), 0)).astype("float64")
    frame["dso_days"] = (frame["total_cents"] / sales * days).where(sales > 0)
    frame["overdue_days"] = (frame["overdue_cents"] / sales * days).where(sales > 0)
    frame = frame.sort_values(["currency", "dso_days"], ascending=[True, False])
    return frame.groupby("currency", sort=True).head(top)[cols].reset_index(drop=True)


# --- cash-in forecast -------------------------------------------------------------------------------

FORECAST_COLUMNS = ["currency", "week", "week_start", "expected_cents", "low_cents", "high_cents"]
DELAY_COLUMNS = ["debtor_id", "invoices_paid", "avg_delay", "std_delay"]
BAND_COVERAGE = 0.80  # the share of weeks the band claims to hold
_BAND_Z = 1.2816  # the two-sided 80 % quantile of the normal distribution
DOUBTFUL_AFTER_DAYS = 180  # invoices overdue longer go to a doubtful line, not into the weeks
MIN_SPREAD_DAYS = 1.0
_erf = np.frompyfunc(math.erf, 1, 1)


def _normal_cdf(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + _erf(np.asarray(x, dtype="float64") / math.sqrt(2.0)).astype("float64"))


def payment_delays(paid: pd.DataFrame, as_of: date, months: int = 12) -> tuple[pd.DataFrame, tuple[float, float]]:
    """Signed payment delay (paid date − due date: negative = paid early) per debtor over the invoices paid
    in the `months` months up to `as_of`, amount-weighted: mean and spread; and the same over the whole
    portfolio ((0, 0) without history). Unlike days late, early payment is not clipped to 0: a forecast
    that treats early payers as on time places their money too late."""
    start = months_back(as_of, months)
    frame = paid[(paid["amount_cents"] > 0) & paid["paid_date"].notna()] if not paid.empty else paid
    if not frame.empty:
        day = _day_numbers(frame["paid_date"])
        lo, hi = np.datetime64(start, "D").astype("int64"), np.datetime64(as_of, "D").astype("int64")
        frame = frame[(day > lo) & (day <= hi)]
    if frame.empty:
        return pd.DataFrame(columns=DELAY_COLUMNS), (0.0, 0.0)
    delay = (_day_numbers(frame["paid_date"]) - _day_numbers(frame["due_date"])).astype("float64")
    w = frame["amount_cents"].to_numpy(dtype="float64")
    work = pd.DataFrame({"debtor_id": frame["debtor_id"].to_numpy(), "w": w, "wd": w * delay, "wd2": w * delay * delay})
    agg = work.groupby("debtor_id", sort=True).agg(invoices_paid=("w", "size"), w=("w", "sum"), wd=("wd", "sum"),
                                                   wd2=("wd2", "sum")).reset_index()
    mean = agg["wd"] / agg["w"]
    out = pd.DataFrame({"debtor_id": agg["debtor_id"].astype("int64"), "invoices_paid": agg["invoices_paid"],
                        "avg_delay": mean, "std_delay": np.sqrt((agg["wd2"] / agg["w"] - mean ** 2).clip(lower=0))})
    p_mean = float(work["wd"].sum() / work["w"].sum())
    p_std = float(np.sqrt(max(0.0, work["wd2"].sum() / work["w"].sum() - p_mean ** 2)))
    return out, (p_mean, p_std)


def _forecastable(open_items: pd.DataFrame, as_of: date, doubtful_after: int) -> pd.DataFrame:
    items = open_items[(open_items["open_cents"] > 0) & ~open_items["disputed"].astype(bool)]
    if items.empty:
        return items
    overdue = np.datetime64(as_of, "D").astype("int64") - _day_numbers(items["due_date"])
    return items[overdue <= doubtful_after]


def doubtful(open_items: pd.DataFrame, as_of: date, doubtful_after: int = DOUBTFUL_AFTER_DAYS) -> dict[str, dict]:
    """Per currency the undisputed open invoices overdue more than `doubtful_after` days on `as_of`: their
    amount and count, shown on a line of their own instead of in next week."""
    items = open_items[(open_items["open_cents"] > 0) & ~open_items["disputed"].astype(bool)]
    if items.empty:
        return {}
    overdue = np.datetime64(as_of, "D").astype("int64") - _day_numbers(items["due_date"])
    late = items[overdue > doubtful_after]
    return {str(c): {"cents": int(g["open_cents"].sum()), "invoices": int(len(g))}
            for c, g in late.groupby("currency", sort=True)}


def _weekly(currency_of: np.ndarray, probs: np.ndarray, amounts: np.ndarray, starts: list[date],
            weeks: int) -> pd.DataFrame:
    frames = []
    for currency in sorted(set(currency_of)):
        mask = currency_of == currency
        p, a = probs[:, mask], amounts[mask]
        expected = (p * a).sum(axis=1)
        # invoices are paid independently of each other: each adds amount² × p(1 − p) to the variance
        spread = np.sqrt((p * (1 - p) * a * a).sum(axis=1))
        frames.append(pd.DataFrame({
            "currency": currency, "week": np.arange(1, weeks + 1), "week_start": starts,
            "expected_cents": np.round(expected).astype("int64"),
            "low_cents": np.round(np.maximum(0.0, expected - _BAND_Z * spread)).astype("int64"),
            "high_cents": np.round(expected + _BAND_Z * spread).astype("int64")}))
    if not frames:
        return pd.DataFrame(columns=FORECAST_COLUMNS)
    return pd.concat(frames, ignore_index=True)[FORECAST_COLUMNS]


def cash_forecast(open_items: pd.DataFrame, delays: pd.DataFrame, as_of: date, weeks: int = 13,
                  portfolio: tuple[float, float] = (0.0, 0.0),
                  doubtful_after: int = DOUBTFUL_AFTER_DAYS) -> pd.DataFrame:
    """Expected receipts per currency and week (week 1 starts the day after `as_of`).

    Every undisputed open invoice overdue at most `doubtful_after` days is paid at its due date + a delay
    drawn from its debtor's signed payment delays (normal with their amount-weighted mean and spread; the
    portfolio's for a debtor with no paid invoices, the portfolio's spread below 3), given that it was not
    paid by `as_of`. One whose delay is all but certainly past falls in week 1. `expected` is the amount
    times the chance of each week; `low`–`high` is the band that should hold the actual receipts in
    about BAND_COVERAGE of the weeks.
    `open_items` needs debtor_id, currency, due_date, open_cents, disputed; `delays` is `payment_delays`."""
    starts = [as_of + timedelta(days=1 + 7 * w) for w in range(weeks)]
    items = _forecastable(open_items, as_of, doubtful_after)
    if items.empty:
        return pd.DataFrame(columns=FORECAST_COLUMNS)
    cols = DELAY_COLUMNS
    d = delays[cols] if not delays.empty else pd.DataFrame(columns=cols)
    frame = items.merge(d, on="debtor_id", how="left")
    paid_n = frame["invoices_paid"].fillna(0).astype("float64").to_numpy()
    mean = np.where(paid_n > 0, frame["avg_delay"].astype("float64").to_numpy(), portfolio[0])
    std = np.where(paid_n >= 3, frame["std_delay"].astype("float64").to_numpy(), portfolio[1])
    due = _day_numbers(frame["due_date"])
    first = np.datetime64(as_of, "D").astype("int64") + 1
    elapsed = first - 1 - due  # the delay that has already run by as_of without a payment
    probs = np.zeros((weeks, len(frame)))
    point = std < MIN_SPREAD_DAYS
    if point.any():  # no spread: the whole amount on one day
        day = np.maximum(due + np.round(mean).astype("int64"), first)
        week = (day - first) // 7
        idx = np.nonzero(point & (week < weeks))[0]
        probs[week[idx], idx] = 1.0
    spread = ~point
    if spread.any():
        m, sd, e, du = mean[spread], std[spread], elapsed[spread], due[spread]
        paid_by_now = _normal_cdf((e + 0.5 - m) / sd)
        alive = np.maximum(1.0 - paid_by_now, 1e-12)
        cols_ = np.nonzero(spread)[0]
        for k in range(weeks):
            lo, hi = first + 7 * k - du, first + 7 * k + 7 - du
            p = _normal_cdf((hi - 0.5 - m) / sd) - _normal_cdf((lo - 0.5 - m) / sd)
            probs[k, cols_] = np.where(paid_by_now > 0.999, 1.0 if k == 0 else 0.0, p / alive)
    return _weekly(frame["currency"].astype(str).to_numpy(), probs, frame["open_cents"].to_numpy(dtype="float64"),
                   starts, weeks)


def naive_forecast(open_items: pd.DataFrame, as_of: date, weeks: int = 13,
                   doubtful_after: int = DOUBTFUL_AFTER_DAYS) -> pd.DataFrame:
    """The baseline a forecast has to beat: every invoice paid on its due date (overdue ones in week 1),
    with the same invoices as `cash_forecast` (no band)."""
    items = _forecastable(open_items, as_of, doubtful_after)
    if items.empty:
        return pd.DataFrame(columns=FORECAST_COLUMNS)
    first = np.datetime64(as_of, "D").astype("int64") + 1
    week = (np.maximum(_day_numbers(items["due_date"]), first) - first) // 7
    probs = np.zeros((weeks, len(items)))
    idx = np.nonzero(week < weeks)[0]
    probs[week[idx], idx] = 1.0
    starts = [as_of + timedelta(days=1 + 7 * w) for w in range(weeks)]
    return _weekly(items["currency"].astype(str).to_numpy(), probs, items["open_cents"].to_numpy(dtype="float64"),
                   starts, weeks)


def weekly_receipts(receipts: pd.DataFrame, as_of: date, weeks: int = 13) -> pd.DataFrame:
    """Receipts (currency, day, received_cents) summed per currency and week after `as_of`."""
    cols = ["currency", "week", "actual_cents"]
    if receipts.empty:
        return pd.DataFrame(columns=cols)
    first = np.datetime64(as_of, "D").astype("int64") + 1
    week = (_day_numbers(receipts["day"]) - first) // 7
    frame = receipts.assign(week=week + 1)
    frame = frame[(frame["week"] >= 1) & (frame["week"] <= weeks)]
    out = frame.groupby(["currency", "week"], as_index=False)["received_cents"].sum()
    return out.rename(columns={"received_cents": "actual_cents"})[cols]


def backtest(forecast: pd.DataFrame, receipts: pd.DataFrame, as_of: date, weeks: int = 13,
             naive: pd.DataFrame | None = None) -> pd.DataFrame:
    """A forecast made on `as_of` next to what came in on the same invoices, per week: expected,
    actual and error (expected − actual); with `naive` (the due-date baseline) also naive_cents and
    naive_error_cents."""
    actual = weekly_receipts(receipts, as_of, weeks)
    frame = forecast.merge(actual, on=["currency", "week"], how="left")
    frame["actual_cents"] = frame["actual_cents"].fillna(0).astype("int64")
    frame["error_cents"] = frame["expected_cents"] - frame["actual_cents"]
    if naive is not None:
        base = naive[["currency", "week", "expected_cents"]].rename(columns={"expected_cents": "naive_cents"})
        frame = frame.merge(base, on=["currency", "week"], how="left")
        frame["naive_cents"] = frame["naive_cents"].fillna(0).astype("int64")
        frame["naive_error_cents"] = frame["naive_cents"] - frame["actual_cents"]
    return frame


def forecast_error(bt: pd.DataFrame) -> dict[str, dict]:
    """Per currency: weighted absolute percentage error (Σ|error| / Σ actual, in %) and bias
    (Σ expected − Σ actual, in cents); the share of weeks whose actual receipts fell inside the band
    (`coverage`, to set against BAND_COVERAGE); and, when the backtest has the due-date baseline, its
    error (`naive_wape`, `naive_bias_cents`)."""
    out = {}
    for currency, g in bt.groupby("currency", sort=True):
        actual = int(g["actual_cents"].sum())
        inside = (g["actual_cents"] >= g["low_cents"]) & (g["actual_cents"] <= g["high_cents"])
        row = {
            "wape": float(g["error_cents"].abs().sum() / actual * 100) if actual else None,
            "bias_cents": int(g["expected_cents"].sum() - actual),
            "actual_cents": actual, "expected_cents": int(g["expected_cents"].sum()),
            "coverage": float(inside.mean()) if len(g) else None,
        }
        if "naive_cents" in g:
            row["naive_wape"] = float(g["naive_error_cents"].abs().sum() / actual * 100) if actual else None
            row["naive_bias_cents"] = int(g["naive_cents"].sum() - actual)
        out[str(currency)] = row
    return out
