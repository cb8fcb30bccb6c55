"""The help texts of the figures, as a credit controller reads them: what each figure tells and how it
is worked out, in the reader's language (the English text is the catalogue's message id). The sums are
the ones receivables/domain/metrics.py implements."""

from __future__ import annotations

from receivables.domain.translation import N_, translate

AGEING = N_("Each open item is put in a bucket by how many days it is past its due date on the chosen date: "
            "not due yet, 1–30, 31–60, 61–90 and over 90 days (you can change the buckets). You can also age "
            "by invoice date. Credit notes count as negative amounts: they lower the debtor's total and are "
            "never chased.")

CURRENCY_HELP = N_("Every amount is per currency; euros and dollars are never added together.")

# name -> what the figure tells, one Markdown bullet
HELP: dict[str, str] = {
    "Credit sales": N_("**Credit sales**: the invoices dated in the period, minus the credit notes."),
    "AR": N_("**Total open**: everything still to be paid on the date: invoices up to that date, minus the "
             "payments and credit notes up to that date."),
    "DSO, standard": N_("**DSO, standard**: how many days of sales are still open: total open divided by the "
                        "credit sales of the last 90 days, times 90. Example: 200,000 open on 2,000,000 of "
                        "sales in 365 days is 36.5 days."),
    "DSO, count-back": N_("**DSO, count-back** (the figure most credit tools show): walk back month by month "
                          "from the date and take each month's sales off the total open, counting that month's "
                          "days, until less is left than a month's sales; add that part of the last month. "
                          "Example: 212,000 open; sales 100,000 (31 days), 80,000 (30 days), 70,000 (30 days): "
                          "61 days + 32,000 / 70,000 × 30 = 74.7 days."),
    "Best possible DSO (BPDSO)": N_("**Best possible DSO**: the DSO if every customer paid on time: only the "
                                    "amount not yet due, divided by the sales of the last 90 days, times 90."),
    "Average days delinquent (ADD)": N_("**Average days delinquent**: how many days customers pay late on "
                                        "average: standard DSO minus best possible DSO."),
    "CEI": N_("**CEI** (collection effectiveness): the share of what could be collected in the period that "
              "was collected, in %. 100 % is perfect. Example: (6,200 + 3,630 − 6,340) / (6,200 + 3,630 − "
              "3,590) = 55.9 %."),
    "Days late": N_("**Days late** of a paid invoice: the days between the due date and the day it was paid "
                    "in full (0 if paid on time). Averages are weighted by amount: (100 × 10 + 1,000 × 20) / "
                    "1,100 = 19.1 days."),
}

NOTES = [
    N_("Months are calendar months: the series shows month ends, and the count-back looks back at most 36 "
       "months."),
    N_("The CEI shown is the one of the month up to the date; the overdue share is the overdue amount as a "
       "share of the total open."),
    N_("An invoice is paid on the day nothing is left open on it. Payment behaviour looks at the invoices "
       "paid in the last 12 months, weighted by amount; the share paid late counts invoices."),
]

FORECAST = N_("Every open invoice that is not disputed is expected on its due date plus the delay its debtor "
              "usually has (from the last 12 months of payments, weighted by amount; early payments count; "
              "debtors without payments get the portfolio's delay). A week's figure adds up each amount "
              "times the chance it comes in that week. Invoices overdue longer than the doubtful limit "
              "(default 180 days) are shown apart as doubtful. The band should hold the real receipts in "
              "80 % of the weeks. The backtest makes the same forecast as of 13 weeks ago, together with a "
              "simple one (everything paid on its due date), and compares both with the payments that came "
              "in; the error is the sum of the differences divided by what came in.")

# The definitions word for word as the domain notes give them (the metrics implement these; the help above
# explains them in plain words)
CURRENCIES = "All amounts per currency; never add EUR to USD."

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


HOW = N_("How the app applies them:")


def help_markdown(lang: str) -> str:
    """All explanations as Markdown, for an expander."""
    def t(msgid: str) -> str:
        return translate(msgid, lang)

    lines = [t(CURRENCY_HELP), "", *[f"- {t(text)}" for text in HELP.values()], "", t(HOW), ""]
    lines += [f"- {t(note)}" for note in NOTES]
    return "\n".join(lines)


def help_for(name: str, lang: str) -> str:
    """One figure's explanation, for its tooltip."""
    return translate(HELP[name], lang)
