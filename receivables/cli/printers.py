"""How the command line prints what the services return: tables for people, CSV and JSON for scripts."""

from __future__ import annotations

import json
import sys

from receivables.domain import exports
from receivables.domain.money import to_decimal, to_units
from receivables.services import analytics


def print_json(data) -> None:
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False)
    print()


def print_ageing(report: analytics.AgeingReport, fmt: str) -> None:
    """The ageing per currency: a table (totals and the 20 largest debtors), CSV or JSON."""
    labels = report.spec.labels
    if fmt == "json":
        print_json(analytics.ageing_json(report))
        return
    cols = ["currency", "debtor_code", "debtor_name", *labels, "total"]
    if fmt == "csv":
        exports.write_csv(sys.stdout, cols, ([r["currency"], r["debtor_code"], r["debtor_name"],
                                              *[to_decimal(r[c]) for c in [*labels, "total"]]]
                                             for r in report.per_debtor.to_dict("records")))
        return
    print(f"Ageing as of {report.as_of.isoformat()}")
    for currency, totals in report.totals.items():
        print(f"\n{currency}: " + "  ".join(f"{c} {to_units(totals[c]):,.2f}" for c in [*labels, "total"]))
        rows = report.per_debtor[report.per_debtor["currency"] == currency].head(20)
        for r in rows.to_dict("records"):
            print(f"  {r['debtor_code']:<10} {r['debtor_name'][:40]:<40} {to_units(r['total']):>14,.2f}")


def print_users(users) -> None:
    for u in users:
        last = u.last_login.isoformat(sep=" ", timespec="seconds") if u.last_login else "never logged in"
        print(f"{u.username}\t{u.role}\t{u.name}\t{u.email}\t{'disabled' if u.disabled else 'enabled'}\t{last}")
