from datetime import date, timedelta

import pytest
from streamlit.testing.v1 import AppTest

from db.uow import UnitOfWork
from receivables.services import demo as demo_service
from receivables.services import startup
from tests.app.login import log_in
from tests.conftest import ROOT

PAGE = str(ROOT / "pages" / "ageing.py")


@pytest.fixture
def demo(engine):
    startup.bootstrap(engine, load_demo_on_first_start=False)
    with UnitOfWork(engine) as u:
        demo_service.load_demo(u, seed=4, anchor=date.today())
    return engine


def page(role="viewer"):
    at = AppTest.from_file(PAGE, default_timeout=60)
    log_in(at, "carla", role)
    return at.run()


def metric(at, label):
    return next(m for m in at.metric if m.label == label)


def test_the_ageing_page_shows_kpis_with_their_change_and_a_table_per_debtor(demo):
    at = page()
    assert not at.exception
    assert metric(at, "Total open").value.startswith("€")
    assert metric(at, "DSO (count-back)").value.endswith(" d")
    assert metric(at, "Debtors overdue").delta is not None
    table = at.dataframe[0].value
    assert list(table.columns[:3]) == ["Dossier", "Code", "Debtor"]
    assert table["Dossier"].iloc[0] == f"/dossier?debtor={table['Code'].iloc[0]}"
    assert {"Not due", "1-30", "31-60", "61-90", "90+", "Total"} <= set(table.columns)


def test_a_past_date_shows_what_was_open_then(demo):
    at = page()
    now_total = metric(at, "Total open").value
    at.date_input(key="ageing_as_of").set_value(date.today() - timedelta(days=200)).run()
    assert not at.exception
    assert metric(at, "Total open").value != now_total


def test_searching_narrows_the_table(demo):
    at = page()
    first = at.dataframe[0].value.iloc[0]
    at.text_input(key="ageing_search").input(first["Debtor"]).run()
    assert not at.exception
    shown = at.dataframe[0].value
    assert len(shown) >= 1 and (shown["Code"] == first["Code"]).any()
    assert all(first["Debtor"].lower() in name.lower() for name in shown["Debtor"])


@pytest.mark.parametrize("edges, basis, columns", [
    ("0, 15, 45", "due date", ["Not due", "1-15", "16-45", "45+"]),
    ("30, 60", "invoice date", ["0-30", "31-60", "60+"]),
])
def test_buckets_and_basis_can_be_chosen(demo, edges, basis, columns):
    at = page()
    at.radio(key="ageing_basis").set_value(basis).run()
    key = "ageing_edges_due" if basis == "due date" else "ageing_edges_invoice"
    at.text_input(key=key).input(edges).run()
    assert not at.exception
    table = at.dataframe[0].value
    assert [c for c in table.columns if c in columns] == columns


def test_bad_bucket_edges_say_what_to_fix(demo):
    at = page()
    at.text_input(key="ageing_edges_due").input("30, ten").run()
    assert not at.exception
    assert "whole days" in at.error[0].value


def test_an_empty_ledger_says_where_to_start(engine):
    startup.bootstrap(engine, load_demo_on_first_start=False)
    at = page()
    assert not at.exception
    assert "Import" in at.info[0].value


@pytest.fixture
def ledger_2013(engine):
    from db.models import Debtor, ImportBatch, Invoice

    startup.bootstrap(engine, load_demo_on_first_start=False)
    with UnitOfWork(engine) as u:
        s = u.session
        s.add(ImportBatch(kind="ledger", mode="full", file_name="l.csv", file_hash="h", as_of=date(2013, 12, 31),
                          imported_by="t"))
        d = Debtor(code="0379-NEVHP", name="NEVHP")
        s.add(d)
        s.flush()
        s.add(Invoice(number="0000611365", debtor_id=d.id, invoice_date=date(2013, 1, 2), due_date=date(2013, 2, 1),
                      amount_cents=5594, open_cents=5594))
        u.commit()
    return engine


@pytest.mark.parametrize("path, label", [("ageing.py", "As of"), ("trends.py", "Up to")])
def test_the_date_pickers_reach_back_to_the_ledgers_first_date(ledger_2013, path, label):
    import streamlit as st

    from ui import state

    state.engine.clear()
    st.cache_data.clear()
    at = AppTest.from_file(str(ROOT / "pages" / path), default_timeout=60)
    log_in(at, "carla", "viewer")
    at = at.run()
    picker = next(d for d in at.date_input if d.label == label)
    assert picker.proto.min == "2013-01-02"
    at = picker.set_value(date(2013, 6, 30)).run()
    assert not at.exception


def cli_ageing(as_of: date) -> dict:
    import json
    import subprocess
    import sys

    res = subprocess.run([sys.executable, "-m", "receivables", "report", "ageing", "--as-of", as_of.isoformat(),
                          "--format", "json"], cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    return {r["currency"]: r for r in (data if isinstance(data, list) else [data])}


def test_the_page_and_the_command_line_show_the_same_ageing(demo):
    from db.models import Debtor, Invoice
    from receivables.services.ledger import apply_change

    with UnitOfWork(demo) as u:  # a payment imported after a later-dated reopening: the two used to differ
        s = u.session
        d = Debtor(code="LATE-1", name="Late Bank File B.V.")
        s.add(d)
        s.flush()
        today = date.today()
        inv = Invoice(number="L-1", debtor_id=d.id, invoice_date=today - timedelta(days=100),
                      due_date=today - timedelta(days=70), amount_cents=10_000, open_cents=10_000)
        s.add(inv)
        s.flush()
        apply_change(s, inv, today - timedelta(days=60), "payment", -10_000)
        apply_change(s, inv, today - timedelta(days=20), "reopen", 10_000)
        apply_change(s, inv, today - timedelta(days=50), "payment", -10_000)
        u.commit()
    as_of = today - timedelta(days=40)
    at = page()
    at.date_input(key="ageing_as_of").set_value(as_of).run()
    if at.get("button_group"):
        at.button_group(key="ageing_currency").set_value("EUR").run()
    assert not at.exception
    table = at.dataframe[0].value
    labels = {"Not due": "not_due", "1-30": "1-30", "31-60": "31-60", "61-90": "61-90", "90+": "90+", "Total": "total"}
    on_page = {r["Code"]: {key: round(r[col] * 100) for col, key in labels.items()} for r in table.to_dict("records")}
    eur = cli_ageing(as_of)["EUR"]
    on_the_command_line = {r["code"]: {key: round(r[key] * 100) for key in labels.values()} for r in eur["debtors"]}
    assert on_page == on_the_command_line
    assert sum(r["total"] for r in on_page.values()) == round(eur["totals"]["total"] * 100)


def test_a_nul_character_in_the_search_says_to_type_it_again_and_the_whole_table_stays(demo):
    at = page()
    everyone = len(at.dataframe[0].value)
    at.text_input(key="ageing_search").input("Bak\x00").run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        "the search holds a control character (such as NUL) that no code, name or number contains; type the "
        "search again"]
    assert len(at.dataframe[0].value) == everyone
