"""The claim statement (`report claim`) on SQLite and PostgreSQL: the figures of the letters, per invoice
and period, with part payments applied (art. 6:44 BW); prescription flags and their interruption."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, timedelta

import pytest

from db.models import Debtor, ImportBatch, Invoice
from receivables.services import claims, reminders
from receivables.services.errors import ServiceError
from receivables.services.ledger import apply_change
from tests.conftest import ROOT
from tests.integration.test_reminders import walk


def cli(*args):
    return subprocess.run([sys.executable, "-m", "receivables", *args], cwd=ROOT, capture_output=True, text=True,
                          env=dict(os.environ), timeout=120, stdin=subprocess.DEVNULL)


def add_debtor(s, code, **kw):
    d = Debtor(code=code, name=f"Klant {code}", email=f"ar@{code}.nl", language="nl", **kw)
    s.add(d)
    s.flush()
    return d


def add_invoice(s, d, number, due, amount, payments=()):
    inv = Invoice(number=number, debtor_id=d.id, invoice_date=due - timedelta(days=30), due_date=due,
                  amount_cents=amount, open_cents=amount)
    s.add(inv)
    s.flush()
    for day, cents, kind in payments:
        apply_change(s, inv, day, kind, -cents)
    return inv


@pytest.fixture
def claims_ledger(uow):
    with uow() as u:
        s = u.session
        add_invoice(s, add_debtor(s, "OLD"), "F-2022", date(2022, 6, 30), 500_000)
        add_invoice(s, add_debtor(s, "PART"), "F-2025", date(2025, 1, 1), 1_000_000,
                    [(date(2025, 4, 11), 900_000, "payment")])
        c = add_debtor(s, "CONS", is_consumer=True)
        add_invoice(s, c, "C-1", date(2025, 1, 15), 20_000)
        add_invoice(s, c, "C-2", date(2025, 1, 29), 15_000)
        u.commit()


CLAIM_KEYS = ["debtor", "on", "currency", "consumer", "principal", "interest", "costs", "costs_basis", "total",
              "invoices"]


@pytest.mark.parametrize("code, on, principal, interest, costs, basis", [
    # €5,000 due 2022-06-30: the second half of 2022 at 8 %, not at 0 % (was €2,552.37)
    ("OLD", "2026-11-18", 5_000.00, 2_841.87, 625.00, "bik"),
    # €10,000 due 1 January, €9,000 paid 11 April: interest on what was outstanding each day (was €106.15)
    ("PART", "2025-12-31", 1_000.00, 378.34, 150.00, "bik"),
    # a consumer: no interest unless switched on, costs only after the 14-day letter (lid 6): announced
    ("CONS", "2025-03-01", 350.00, 0.00, 0.00, "wik_letter_pending"),
])
def test_the_claim_statement_prints_principal_interest_and_costs_as_json(uow, claims_ledger, code, on, principal,
                                                                         interest, costs, basis):
    r = cli("report", "claim", code, "--on", on, "--format", "json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert list(data) == CLAIM_KEYS
    assert (data["debtor"], data["on"], data["currency"]) == (code, on, "EUR")
    assert (data["principal"], data["interest"], data["costs"], data["costs_basis"]) == (principal, interest, costs,
                                                                                          basis)
    assert data["total"] == round(principal + interest + costs, 2)
    for inv in data["invoices"]:
        assert list(inv) == ["number", "due_date", "principal", "interest", "periods"]
        # nothing went to interest here, so the periods add up to it (each rounded to cents)
        assert sum(p["interest"] for p in inv["periods"]) == pytest.approx(inv["interest"], abs=0.02)
        for p in inv["periods"]:
            assert list(p) == ["from", "to", "rate", "interest"]


def test_the_periods_show_each_rate_from_the_day_after_the_due_date(uow, claims_ledger):
    data = json.loads(cli("report", "claim", "OLD", "--on", "2023-01-31", "--format", "json").stdout)
    periods = data["invoices"][0]["periods"]
    assert [(p["from"], p["to"], p["rate"]) for p in periods] == [
        ("2022-07-01", "2022-12-31", 8.0), ("2023-01-01", "2023-01-31", 10.5)]
    assert [p["interest"] for p in periods] == [201.64, 44.59]


def test_a_part_payment_splits_the_period_where_the_outstanding_amount_changed(uow, claims_ledger):
    data = json.loads(cli("report", "claim", "PART", "--on", "2025-12-31", "--format", "json").stdout)
    periods = data["invoices"][0]["periods"]
    assert [(p["from"], p["to"], p["rate"]) for p in periods] == [
        ("2025-01-02", "2025-04-10", 11.15), ("2025-04-11", "2025-06-30", 11.15), ("2025-07-01", "2025-12-31", 10.15)]
    assert [p["interest"] for p in periods] == [302.42, 24.74, 51.17]


def test_an_unknown_debtor_is_refused_with_exit_2(uow, claims_ledger):
    r = cli("report", "claim", "NOPE", "--format", "json")
    assert r.returncode == 2 and "there is no debtor NOPE" in r.stderr and not r.stdout


def test_a_period_without_a_known_rate_is_an_error_the_admin_sees(uow, claims_ledger):
    with uow(immediate=True) as u:
        reminders.save_setting(u, reminders.RATES_KEY, [["2023-01-01", "10.50"]], actor="admin")
    with uow() as u, pytest.raises(ServiceError, match="no rate of statutory commercial interest .* 01-07-2022") as caught:
        claims.claim_statement(u, "OLD", date(2026, 11, 18))
    # its message id and parameters, for the page to word in the admin's language
    assert caught.value.msgid.startswith("no rate of {interest} is known for {day} (the table starts on {first})")
    assert (caught.value.params["day"], caught.value.params["first"]) == ("01-07-2022", "01-01-2023")


def test_the_letters_and_the_statement_compute_the_same_claim(uow):
    with uow() as u:
        u.session.add(ImportBatch(kind="open-items", mode="full", file_name="o.csv", file_hash="h",
                                  as_of=date(2026, 6, 1), imported_by="test"))
        d = add_debtor(u.session, "SAME", track_override="strict")
        add_invoice(u.session, d, "S-1", date(2026, 5, 31), 300_000)
        u.commit()
    m = walk(uow, "SAME", "demand")
    with uow() as u:
        st = claims.claim_statement(u, "SAME", m.planned_date)
    assert (st.claim.interest_cents, st.claim.costs_cents) == (m.interest_cents, m.costs_cents)
    assert m.costs_cents == 42_500 and m.interest_cents > 0


# --- prescription ------------------------------------------------------------------------------------------

def test_claims_older_than_their_prescription_term_are_flagged_and_an_interruption_restarts_it(uow):
    with uow() as u:
        s = u.session
        b = add_debtor(s, "B2B")
        c = add_debtor(s, "B2C", is_consumer=True)
        add_invoice(s, b, "OLD-B", date(2020, 3, 31), 10_000)
        add_invoice(s, b, "NEW-B", date(2023, 3, 31), 10_000)
        add_invoice(s, c, "OLD-C", date(2024, 3, 31), 10_000)
        u.commit()
    today = date(2026, 6, 1)
    with uow() as u:
        flagged = {f.number: f.prescribed_on for f in claims.time_barred(u.session, today).values()}
    assert flagged == {"OLD-B": date(2025, 4, 1), "OLD-C": date(2026, 4, 1)}
    with uow() as u:
        claims.record_interruption(u, "B2B", ["OLD-B"], "Aangetekende sommatie met voorbehoud van rechten",
                                   actor="carla", sent_on=date(2025, 3, 1))
    with uow() as u:
        flagged = {f.number for f in claims.time_barred(u.session, today).values()}
    assert flagged == {"OLD-C"}


def test_an_interruption_letter_without_words_or_invoices_is_refused(uow):
    with uow() as u:
        add_invoice(u.session, add_debtor(u.session, "X"), "X-1", date(2020, 1, 1), 10_000)
        u.commit()
    with uow() as u:
        with pytest.raises(ServiceError, match="describe the letter"):
            claims.record_interruption(u, "X", ["X-1"], " ", actor="carla")
        with pytest.raises(ServiceError, match="no invoice X-2"):
            claims.record_interruption(u, "X", ["X-2"], "brief", actor="carla")
