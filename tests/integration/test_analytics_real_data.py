"""The real-data check: the IBM accounts-receivable sample as a ledger; `report behaviour` over the whole
file gives per debtor the amount-weighted average days late of the file's own DaysLate column."""

import csv
import json
import subprocess
import sys
from collections import defaultdict
from datetime import datetime
from decimal import Decimal

from sqlalchemy import insert, select

from db.models import Debtor, Invoice
from receivables.ledger import apply_change
from receivables.money import from_decimal
from tests.conftest import ROOT


def us_date(text):
    return datetime.strptime(text, "%m/%d/%Y").date()


def read_ibm(shared_data):
    with (shared_data / "ar" / "WA_Fn-UseC_-Accounts-Receivable.csv").open(newline="", encoding="ascii") as fh:
        return list(csv.DictReader(fh))


def write_ledger(u, rows):
    """Every row an invoice, paid in full on its SettledDate."""
    s = u.session
    s.execute(insert(Debtor), [{"code": c, "name": f"Customer {c}"} for c in sorted({r["customerID"] for r in rows})])
    ids = dict(s.execute(select(Debtor.code, Debtor.id)).all())
    s.execute(insert(Invoice), [
        {"number": r["invoiceNumber"], "debtor_id": ids[r["customerID"]], "invoice_date": us_date(r["InvoiceDate"]),
         "due_date": us_date(r["DueDate"]), "currency": "USD", "amount_cents": from_decimal(r["InvoiceAmount"]),
         "open_cents": from_decimal(r["InvoiceAmount"]), "disputed": False} for r in rows])
    settled = {r["invoiceNumber"]: us_date(r["SettledDate"]) for r in rows}
    for inv in s.scalars(select(Invoice)):
        apply_change(s, inv, settled[inv.number], "payment", -inv.open_cents)
    u.commit()


def test_behaviour_over_the_ibm_ledger_agrees_with_its_days_late_column(uow, shared_data):
    rows = read_ibm(shared_data)
    with uow() as u:
        write_ledger(u, rows)
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
