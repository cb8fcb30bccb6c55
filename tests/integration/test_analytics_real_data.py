"""The real-data check: the IBM accounts-receivable sample imported as a ledger; `report behaviour` over the
whole file gives per debtor the amount-weighted average days late of the file's own DaysLate column."""

import csv
import json
import subprocess
import sys
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from receivables.services import analytics
from receivables.services import imports as import_service
from tests.conftest import ROOT

IBM = "WA_Fn-UseC_-Accounts-Receivable.csv"


def read_ibm(shared_data):
    with (shared_data / "ar" / IBM).open(newline="", encoding="ascii") as fh:
        return list(csv.DictReader(fh))


def test_behaviour_over_the_ibm_ledger_agrees_with_its_days_late_column(uow, shared_data):
    rows = read_ibm(shared_data)
    with uow(immediate=True) as u:  # through the importer, as a user uploads it
        result = import_service.run_import(u, (shared_data / "ar" / IBM).read_bytes(), IBM, actor="carla")
    assert result.summary() == "new 2466, changed 0, closed 0, unchanged 0, skipped 0"
    res = subprocess.run([sys.executable, "-m", "receivables", "report", "behaviour", "--as-of", "2014-01-31",
                          "--months", "36", "--format", "json"], cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert res.returncode == 0, res.stderr
    got = {r["code"]: r for r in json.loads(res.stdout)}

    weighted, amount, count = defaultdict(Decimal), defaultdict(Decimal), defaultdict(int)
    for r in rows:
        weighted[r["customerID"]] += Decimal(r["InvoiceAmount"]) * int(r["DaysLate"])
        amount[r["customerID"]] += Decimal(r["InvoiceAmount"])
        count[r["customerID"]] += 1
    assert set(got) == set(amount) and len(got) == 100
    for code in amount:
        expected = float(weighted[code] / amount[code])
        assert abs(got[code]["avg_days_late"] - expected) <= 0.1, code
        assert got[code]["invoices_paid"] == count[code]


# made on these days, each forecast is checked against the 13 weeks of payments after it
BACKTEST_DAYS = [date(2012, 3, 31), date(2012, 5, 31), date(2012, 7, 31), date(2012, 9, 30), date(2012, 11, 30),
                 date(2013, 1, 31), date(2013, 3, 31), date(2013, 5, 31)]


def test_on_the_ibm_ledger_the_forecast_beats_placing_every_invoice_at_its_due_date(uow, shared_data):
    with uow(immediate=True) as u:
        import_service.run_import(u, (shared_data / "ar" / IBM).read_bytes(), IBM, actor="carla")
    results = []
    with uow() as u:
        for made_on in BACKTEST_DAYS:
            bt = analytics.forecast_backtest(u, made_on + timedelta(weeks=13))
            assert bt.made_on == made_on
            results.append(bt.error["EUR"])
    # the first, with three months of payment history only, is the one the baseline still wins (21 % to 17 %);
    # over weekly backtests from March 2012 to September 2013 the forecast wins 78 of 83
    losses = [made_on for made_on, e in zip(BACKTEST_DAYS, results) if e["wape"] >= e["naive_wape"]]
    assert losses == [date(2012, 3, 31)]
    mean = sum(e["wape"] for e in results) / len(results)
    naive = sum(e["naive_wape"] for e in results) / len(results)
    assert mean < 0.75 * naive  # measured: about 21 % against 42 %
    # the band claims 80 % of the weeks: over these 104 weeks it holds about that share
    coverage = sum(e["coverage"] for e in results) / len(results)
    assert 0.65 <= coverage <= 0.95
