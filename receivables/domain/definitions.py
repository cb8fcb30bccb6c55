"""The metric definitions as the app shows them in its help texts: word for word the ones the metrics
in receivables/domain/metrics.py implement."""

from __future__ import annotations

AGEING = ("Buckets by days past due as of a date: Not due (≤ 0), 1–30, 31–60, 61–90, 90+ (configurable). "
          "Some packages age from the invoice date instead; offer both, default due date. Credit notes are "
          "negative open items and reduce the debtor's total; they are never chased.")

CURRENCIES = "All amounts per currency; never add EUR to USD."

# name -> the definition as one Markdown bullet, word for word
METRICS: dict[str, str] = {
    "Credit sales": "**Credit sales** of a period: sum of invoice amounts (credit notes negative) with invoice "
                    "date in it.",
    "AR": "**AR(D)**: total open amount as of date D (invoices dated ≤ D, minus payments/credits dated ≤ D).",
    "DSO, standard": "**DSO, standard**: AR(D) / credit sales of the 90 days ending D × 90. "
                     "Example: AR 200,000, sales 2,000,000 over 365 days → 36.5 days.",
    "DSO, count-back": "**DSO, count-back** (what Upflow and most AR tools show): walk back month by month from D, "
                       "subtracting each month's sales from AR while AR exceeds it; add that month's days; for the "
                       "last month add remainder / that month's sales × its days. Example: AR 212,000; sales newest "
                       "first 100,000 (31 d), 80,000 (30 d), 70,000 (30 d): 212,000 − 100,000 − 80,000 = 32,000 → "
                       "61 days + 32,000/70,000 × 30 = 13.7 → 74.7 days (with 30-day months everywhere: 73.7).",
    "Best possible DSO (BPDSO)": "**Best possible DSO (BPDSO)**: current (not yet due) AR / sales of the 90 days × 90.",
    "Average days delinquent (ADD)": "**Average days delinquent (ADD)**: DSO standard − BPDSO.",
    "CEI": "**CEI** for a period: (AR at start + credit sales − AR at end) / (AR at start + credit sales − current "
           "AR at end) × 100. Example: (6,200 + 3,630 − 6,340) / (6,200 + 3,630 − 3,590) = 55.9 %.",
    "Days late": "**Days late** of a paid invoice: max(0, paid date − due date). **Weighted average days late/to "
                 "pay**: Σ(amount × days) / Σ(amount). Example: (100 × 10 + 1,000 × 20) / 1,100 = 19.1 days.",
}

NOTES = [
    "Months are calendar months: the series uses month ends, and the count-back walks back up to 36 months.",
    "The CEI shown is the one of the month ending on the date; overdue share = overdue AR / AR.",
    "The paid date of an invoice is the day its open amount reached zero; payment behaviour looks at the "
    "invoices paid in the last 12 months, weighted by amount; share paid late counts invoices.",
]

FORECAST = ("Each open invoice (not disputed on the forecast day) is paid at its due date plus a delay drawn "
            "from its debtor's signed payment delays over the last 12 months (paid date − due date, weighted by "
            "amount; early payment counts as negative; debtors without paid invoices: the portfolio's), given "
            "that it was not paid yet; the week's expected receipts are each amount times the chance it comes "
            "in that week. Invoices overdue longer than the doubtful horizon (default 180 days) are on a "
            "doubtful line of their own. The band should hold the actual receipts in 80 % of the weeks. The "
            "backtest makes the same forecast, and the due-date baseline (every invoice paid on its due date), "
            "as they would have been made 13 weeks ago and sets both against the payments that came in on those "
            "invoices; the error is Σ|expected − actual| / Σ actual, and it shows how many weeks the band held.")


def help_markdown() -> str:
    """All definitions as Markdown, for an expander or a tooltip."""
    lines = [CURRENCIES, "", *[f"- {text}" for text in METRICS.values()], "", "How the app applies them:", ""]
    lines += [f"- {note}" for note in NOTES]
    return "\n".join(lines)


def help_for(name: str) -> str:
    """One definition, for a metric's tooltip."""
    return METRICS[name]
