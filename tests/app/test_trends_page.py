from datetime import date, timedelta

import pytest
from streamlit.testing.v1 import AppTest

from db.uow import UnitOfWork
from receivables.services import analytics, startup
from receivables.services import demo as demo_service
from tests.app.login import log_in
from tests.conftest import ROOT

PAGE = str(ROOT / "pages" / "trends.py")


@pytest.fixture
def demo(engine):
    startup.bootstrap(engine, load_demo_on_first_start=False)
    with UnitOfWork(engine) as u:
        demo_service.load_demo(u, seed=4, anchor=date.today())
    return engine


def page():
    at = AppTest.from_file(PAGE, default_timeout=90)
    log_in(at, "vera", "viewer")
    return at.run()


def test_the_trends_page_shows_dso_forecast_and_behaviour(demo):
    at = page()
    assert not at.exception
    labels = {m.label for m in at.metric}
    assert {"DSO count-back", "DSO standard", "Best possible DSO", "ADD", "CEI (month)", "Came in"} <= labels
    assert len(at.get("plotly_chart")) >= 4
    top = at.dataframe[0].value
    assert 1 <= len(top) <= 10 and top["Dossier"].str.startswith("/dossier?debtor=").all()
    behaviour = at.dataframe[1].value
    assert behaviour["Avg days late"].is_monotonic_decreasing


def test_the_headline_cei_is_the_month_up_to_the_date_not_the_month_to_date(demo):
    mid_month = (date.today().replace(day=1) - timedelta(days=1)).replace(day=15)  # the series' row: 1st to 15th
    at = AppTest.from_file(PAGE, default_timeout=90)
    log_in(at, "vera", "viewer")
    at.query_params["as_of"] = mid_month.isoformat()
    at.run()
    assert not at.exception
    with UnitOfWork(demo) as u:
        [eur] = analytics.kpis(u, mid_month, "EUR")
        series = analytics.dso_series(u, mid_month, 6)
    month_to_date = series[series["currency"] == "EUR"].iloc[-1]["cei_month"]
    assert round(month_to_date, 1) != eur["cei_month"]  # the two periods differ, so the test can tell
    assert next(m.value for m in at.metric if m.label == "CEI (month)") == f"{eur['cei_month']:.1f} %"


@pytest.mark.parametrize("split", ["segment", "account manager"])
def test_the_series_can_be_split(demo, split):
    at = page()
    at.radio(key="trends_split").set_value(split).run()
    assert not at.exception
    assert any(f"per {split}" in str(c.proto.spec) for c in at.get("plotly_chart"))


def test_the_backtest_shows_the_forecast_and_the_due_date_baseline_with_both_errors(demo):
    at = page()
    assert not at.exception
    metrics_shown = {m.label: m.value for m in at.metric}
    assert {"Forecast error", "Due-date baseline error", "Weeks inside the band"} <= set(metrics_shown)
    with UnitOfWork(demo) as u:
        err = analytics.forecast_backtest(u, date.today()).error["EUR"]
    assert metrics_shown["Due-date baseline error"] == f"{err['naive_wape']:.1f} %"
    assert any("Due-date baseline" in str(c.proto.spec) for c in at.get("plotly_chart"))


def test_the_help_shows_the_definitions(demo):
    at = page()
    text = " ".join(m.value for m in at.markdown)
    assert "walk back month by month" in text and "55.9 %" in text


def test_an_empty_ledger_says_where_to_start(engine):
    startup.bootstrap(engine, load_demo_on_first_start=False)
    at = page()
    assert not at.exception
    assert "Import" in at.info[0].value
