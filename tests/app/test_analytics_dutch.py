"""The Ageing and DSO & trends pages read in Dutch: Dutch words, Dutch amounts, days and dates, exports
in the Dutch dialect and the month-end ageing PDF."""

import csv
import io
import re
from datetime import date

import pandas as pd
import pytest
from pypdf import PdfReader
from streamlit.testing.v1 import AppTest

from db.uow import UnitOfWork
from receivables.domain import exports
from receivables.services import analytics, startup
from receivables.services import demo as demo_service
from tests.app.login import log_in
from tests.conftest import ROOT

DUTCH_MONEY = re.compile(r"^-?€ -?\d{1,3}(\.\d{3})*,\d{2}$")


@pytest.fixture
def demo(engine):
    startup.bootstrap(engine, load_demo_on_first_start=False)
    with UnitOfWork(engine) as u:
        demo_service.load_demo(u, seed=4, anchor=date.today())
    return engine


def page(name: str, language: str = "nl"):
    at = AppTest.from_file(str(ROOT / "pages" / name), default_timeout=60)
    log_in(at, "carla", "viewer", language=language)
    return at.run()


def test_the_ageing_page_reads_in_dutch(demo):
    at = page("ageing.py")
    assert not at.exception
    assert at.title[0].value == "Ouderdom"
    metrics = {m.label: m.value for m in at.metric}
    assert DUTCH_MONEY.match(metrics["Totaal openstaand"]), metrics["Totaal openstaand"]
    assert re.fullmatch(r"\d+,\d d", metrics["DSO (terugtelmethode)"])
    table = at.dataframe[0].value
    assert {"Debiteur", "Niet vervallen", "31-60", "61-90", "90+", "Totaal"} <= set(table.columns)
    assert not table.isna().any().any()
    caption = " ".join(c.value for c in at.caption)
    assert re.search(r"op \d{2}-\d{2}-\d{4}", caption) and "debiteuren" in caption


def test_the_trends_page_reads_in_dutch(demo):
    at = page("trends.py")
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert re.fullmatch(r"\d+,\d d", metrics["DSO terugtelmethode"])
    assert re.fullmatch(r"\d+,\d %", metrics["CEI (maand)"])
    assert DUTCH_MONEY.match(metrics["Verwacht in 13 weken"])
    assert all('"separators":",."' in c.proto.spec.replace(" ", "") for c in at.get("plotly_chart"))
    assert "Betaalgedrag" in [t.label for t in at.tabs]


def test_the_ageing_exports_are_in_the_readers_dialect(demo):
    with UnitOfWork(demo) as u:
        view = analytics.ageing(u, date.today())

    rows = view.per_debtor[view.per_debtor["currency"] == "EUR"]
    frame = pd.DataFrame({"Debiteur": rows["debtor_name"], "Totaal": rows["total"].astype(int)})
    data = exports.report(frame, "csv", lang="nl", title="Ouderdom", header=["Peildatum 05-12-2026"],
                          money=["Totaal"], total_label="Totaal")
    text = data.decode("utf-8-sig")
    assert data.startswith(b"\xef\xbb\xbf") and "Peildatum 05-12-2026" in text
    table = list(csv.reader(io.StringIO(text), delimiter=";"))
    last = table[-1]
    assert last[0] == "Totaal" and re.fullmatch(r"-?[\d.]+,\d{2}", last[1])


def test_the_month_end_ageing_pdf_has_every_currency_with_kpis_and_top_debtors(demo):
    with UnitOfWork(demo) as u:
        view = analytics.ageing(u, date.today())
        pdf = analytics.ageing_pdf(u, view, analytics.ageing_kpis(u, view), lang="nl", filters="Valuta: EUR")
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "Totaal openstaand" in text and "DSO (terugtelmethode)" in text
    biggest = view.per_debtor[view.per_debtor["currency"] == "EUR"].sort_values("total").iloc[-1]
    assert str(biggest["debtor_code"]) in text
    assert re.search(r"€ \d{1,3}(\.\d{3})*,\d{2}", text)
