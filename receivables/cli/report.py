"""`python -m receivables report kpis | dso | forecast | behaviour | claim`: the analytics and the claim
statement from the command line."""

from __future__ import annotations

import argparse
import json
import sys

from db.uow import UnitOfWork
from receivables.cli.args import iso_date
from receivables.domain import exports
from receivables.domain.money import to_units
from receivables.services import analytics, claims


def _positive(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"'{value}' is not a whole number of months of 1 or more")
    return n


def register(sub, report_sub) -> None:
    k = report_sub.add_parser("kpis", help="total open, overdue, DSO, BPDSO, ADD and CEI per currency")
    k.add_argument("--as-of", type=iso_date, default=None)
    k.add_argument("--currency", default=None, help="only this currency (e.g. EUR)")
    k.add_argument("--format", choices=("table", "json", "csv"), default="table")
    k.set_defaults(handler=_kpis)

    d = report_sub.add_parser("dso", help="monthly DSO series (month ends) per currency")
    d.add_argument("--as-of", type=iso_date, default=None, help="the last month ends here (default today)")
    d.add_argument("--months", type=_positive, default=24)
    d.add_argument("--by", choices=("segment", "account_manager"), default=None)
    d.add_argument("--format", choices=("table", "json", "csv"), default="table")
    d.set_defaults(handler=_dso)

    f = report_sub.add_parser("forecast", help="expected receipts per week for the next 13 weeks")
    f.add_argument("--as-of", type=iso_date, default=None)
    f.add_argument("--weeks", type=_positive, default=13)
    f.add_argument("--backtest", action="store_true",
                   help="the forecast made --weeks weeks ago, and the due-date baseline, against what came in")
    f.add_argument("--doubtful-after", type=_positive, default=None,
                   help="days overdue after which an invoice goes to the doubtful line (default: the setting, 180)")
    f.add_argument("--format", choices=("table", "json", "csv"), default="table")
    f.set_defaults(handler=_forecast)

    b = report_sub.add_parser("behaviour", help="payment behaviour per debtor (amount-weighted)")
    b.add_argument("--as-of", type=iso_date, default=None)
    b.add_argument("--months", type=_positive, default=12)
    b.add_argument("--format", choices=("table", "json", "csv"), default="table")
    b.set_defaults(handler=_behaviour)

    c = report_sub.add_parser("claim", help="what a debtor owes on a day: principal, statutory interest and "
                                            "collection costs, as the letters compute them")
    c.add_argument("debtor_code")
    c.add_argument("--on", type=iso_date, default=None, help="the day of the statement (default today)")
    c.add_argument("--currency", default=None, help="only this currency, when the debtor owes in several")
    c.add_argument("--format", choices=("table", "json"), default="table")
    c.set_defaults(handler=_claim)


def _json(data) -> None:
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False)
    print()


def _emit(rows, fmt: str) -> None:
    if fmt == "csv":
        exports.write_csv_records(sys.stdout, rows)
    else:
        _json(rows)


def _num(value, fmt: str = "{:.1f}") -> str:
    return "-" if value is None else fmt.format(value)


def _kpis(engine, args) -> int:
    with UnitOfWork(engine) as uow:
        rows = analytics.kpis(uow, args.as_of, args.currency)
    if args.format == "csv":
        exports.write_csv_records(sys.stdout, rows)
        return 0
    if args.format == "json":
        _json(rows[0] if len(rows) == 1 else rows)
        return 0
    for r in rows:
        print(f"{r['currency']} as of {r['as_of']}")
        print(f"  total open          {r['total_open']:>16,.2f}")
        print(f"  overdue             {r['overdue']:>16,.2f}  ({_num(r['overdue_share'], '{:.1%}')})")
        print(f"  DSO count-back      {_num(r['dso_count_back']):>16} days")
        print(f"  DSO standard        {_num(r['dso_standard']):>16} days")
        print(f"  best possible DSO   {_num(r['best_possible_dso']):>16} days")
        print(f"  avg days delinquent {_num(r['average_days_delinquent']):>16} days")
        print(f"  CEI (month)         {_num(r['cei_month']):>16} %")
    return 0


def _dso(engine, args) -> int:
    with UnitOfWork(engine) as uow:
        series = analytics.dso_series(uow, args.as_of, args.months, by=args.by)
    rows = analytics.series_json(series)
    if args.format != "table":
        _emit(rows, args.format)
        return 0
    print(f"{'group ' if args.by else ''}{'cur':<4}{'month':<9}{'AR':>16}{'overdue%':>9}{'sales':>16}"
          f"{'DSO cb':>8}{'DSO st':>8}{'BPDSO':>8}{'ADD':>8}{'CEI%':>7}")
    for r in rows:
        share = _num(None if r["overdue_share"] is None else r["overdue_share"] * 100)
        print(f"{(r.get('group') or '') + ' ' if args.by else ''}{r['currency']:<4}{r['month']:<9}"
              f"{r['total_open']:>16,.2f}{share:>9}{r['credit_sales']:>16,.2f}{_num(r['dso_count_back']):>8}"
              f"{_num(r['dso_standard']):>8}{_num(r['best_possible_dso']):>8}"
              f"{_num(r['average_days_delinquent']):>8}{_num(r['cei_month']):>7}")
    return 0


def _forecast(engine, args) -> int:
    with UnitOfWork(engine) as uow:
        if args.backtest:
            bt = analytics.forecast_backtest(uow, args.as_of, args.weeks, args.doubtful_after)
        else:
            fc = analytics.forecast(uow, args.as_of, args.weeks, args.doubtful_after)
    if args.backtest:
        rows = [{"currency": r["currency"], "week_start": r["week_start"].isoformat(),
                 "expected": to_units(int(r["expected_cents"])), "low": to_units(int(r["low_cents"])),
                 "high": to_units(int(r["high_cents"])), "naive": to_units(int(r["naive_cents"])),
                 "actual": to_units(int(r["actual_cents"]))}
                for r in bt.weeks.to_dict("records")]

        def pct(v):
            return None if v is None else round(v, 1)

        error = {c: {"wape": pct(e["wape"]), "bias": to_units(e["bias_cents"]), "naive_wape": pct(e["naive_wape"]),
                     "naive_bias": to_units(e["naive_bias_cents"]),
                     "band_coverage": None if e["coverage"] is None else round(e["coverage"], 3),
                     "band_claimed": bt.coverage_claimed} for c, e in bt.error.items()}
        if args.format == "csv":  # the weeks; the error per currency is in the table and JSON output
            exports.write_csv_records(sys.stdout, rows)
            return 0
        if args.format == "json":
            _json({"made_on": bt.made_on.isoformat(), "weeks": rows, "error": error})
            return 0
        print(f"Forecast made on {bt.made_on.isoformat()} and the due-date baseline, against what came in")
        for r in rows:
            print(f"  {r['currency']} {r['week_start']}  expected {r['expected']:>14,.2f}  "
                  f"due-date {r['naive']:>14,.2f}  actual {r['actual']:>14,.2f}")
        for c, e in error.items():
            print(f"  {c}: error {_num(e['wape'])} % of receipts (due-date baseline {_num(e['naive_wape'])} %), "
                  f"bias {e['bias']:,.2f}; band held {_num(e['band_coverage'], '{:.0%}')} of the weeks "
                  f"(claims {e['band_claimed']:.0%})")
        return 0
    rows = analytics.forecast_json(fc)
    if args.format != "table":
        _emit(rows, args.format)
        return 0
    print(f"Expected receipts after {fc.as_of.isoformat()} (portfolio pays {fc.portfolio_delay:+.1f} days "
          f"from the due date)")
    for r in rows:
        if "doubtful" in r:
            print(f"  {r['currency']} doubtful: {r['doubtful']:>14,.2f}  ({r['invoices']} invoices overdue more than "
                  f"{r['overdue_more_than_days']} days)")
            continue
        print(f"  {r['currency']} week of {r['week_start']}  {r['expected']:>14,.2f}  "
              f"({r['low']:,.2f} – {r['high']:,.2f})")
    return 0


def _behaviour(engine, args) -> int:
    with UnitOfWork(engine) as uow:
        frame = analytics.behaviour(uow, args.as_of, args.months)
    rows = analytics.behaviour_json(frame)
    if args.format != "table":
        _emit(rows, args.format)
        return 0
    print(f"{'code':<14}{'paid':>6}{'days late':>11}{'days to pay':>13}{'late':>7}{'>30':>7}{'trend':>8}")
    for r in rows:
        share = _num(None if r["share_paid_late"] is None else r["share_paid_late"] * 100, "{:.0f}%")
        share30 = _num(None if r["share_paid_late_30"] is None else r["share_paid_late_30"] * 100, "{:.0f}%")
        print(f"{r['code']:<14}{r['invoices_paid']:>6}{_num(r['avg_days_late']):>11}{_num(r['avg_days_to_pay']):>13}"
              f"{share:>7}{share30:>7}{_num(r['trend']):>8}")
    return 0


def _claim(engine, args) -> int:
    with UnitOfWork(engine) as uow:
        data = claims.claim_json(claims.claim_statement(uow, args.debtor_code, args.on, args.currency))
    if args.format == "json":
        _json(data)
        return 0
    kind = "consumer" if data["consumer"] else "business"
    print(f"Claim on {data['debtor']} ({kind}) on {data['on']}, {data['currency']}")
    for inv in data["invoices"]:
        print(f"  {inv['number']:<16} due {inv['due_date']}  principal {inv['principal']:>14,.2f}  "
              f"interest {inv['interest']:>12,.2f}")
        for p in inv["periods"]:
            print(f"      {p['from']} – {p['to']}  {p['rate']:>6.2f} %  {p['interest']:>12,.2f}")
    print(f"  principal {data['principal']:>14,.2f}")
    print(f"  interest  {data['interest']:>14,.2f}")
    print(f"  costs     {data['costs']:>14,.2f}  ({data['costs_basis']})")
    print(f"  total     {data['total']:>14,.2f}")
    return 0
