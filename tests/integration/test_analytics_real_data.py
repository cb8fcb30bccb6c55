"""The real-data check: the IBM accounts-receivable sample imported as a ledger; `report behaviour` over the
whole file gives per debtor the amount-weighted average days late of the file's own DaysLate column."""

import csv
import json
import subprocess
import sys
from collections import defaultdict
from decimal import Decimal

from receivables import import_service
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
