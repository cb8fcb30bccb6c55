from ui.auth import require

user = require("viewer")

from datetime import date  # noqa: E402

import pandas as pd  # noqa: E402
import plotly.graph_objects as go  # noqa: E402
import streamlit as st  # noqa: E402
from plotly.subplots import make_subplots  # noqa: E402

from receivables.domain import definitions, metrics  # noqa: E402
from receivables.domain.money import fmt  # noqa: E402
from receivables.services import analytics  # noqa: E402
from ui import state  # noqa: E402
from ui.links import dossier_urls, linked_date  # noqa: E402

SPLITS = {"the whole portfolio": None, "segment": "segment", "account manager": "account_manager"}
DSO_LINES = [("dso_count_back", "DSO count-back", "#1f4e79"), ("dso_standard", "DSO standard", "#4f81bd"),
             ("best_possible_dso", "Best possible DSO", "#4c9f70"), ("average_days_delinquent", "ADD", "#d1495b")]


@st.cache_data(show_spinner="Computing the monthly series…", max_entries=32)
def load_series(as_of: date, months: int, by: str | None) -> pd.DataFrame:
    with state.uow() as uow:
        return analytics.dso_series(uow, as_of, months, by=by)


@st.cache_data(show_spinner=False, max_entries=16)
def load_cei(as_of: date, currency: str) -> float | None:
    with state.uow() as uow:
        return analytics.kpis(uow, as_of, currency)[0]["cei_month"]


@st.cache_data(show_spinner=False, max_entries=16)
def load_top(as_of: date) -> pd.DataFrame:
    with state.uow() as uow:
        return analytics.top_dso_debtors(uow, as_of)


@st.cache_data(show_spinner="Forecasting receipts…", max_entries=16)
def load_forecast(as_of: date, doubtful_after: int | None) -> tuple[analytics.Forecast, analytics.Backtest]:
    with state.uow() as uow:
        return (analytics.forecast(uow, as_of, doubtful_after=doubtful_after),
                analytics.forecast_backtest(uow, as_of, doubtful_after=doubtful_after))


@st.cache_data(show_spinner=False, max_entries=16)
def load_behaviour(as_of: date) -> pd.DataFrame:
    with state.uow() as uow:
        return analytics.behaviour(uow, as_of, 12)


def layout(fig: go.Figure, height: int = 320, title: str | None = None) -> go.Figure:
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=40 if title else 20, b=10), hovermode="x unified",
                      legend=dict(orientation="h", yanchor="top", y=-0.12, x=0), title=dict(text=title, x=0))
    return fig


st.title("DSO & trends")
with st.expander("What the figures mean", icon=":material/help:"):
    st.markdown(definitions.help_markdown())
    st.markdown(f"**Cash-in forecast**: {definitions.FORECAST}")

c1, c2, c3 = st.columns([1, 2, 2])
shown = linked_date()
as_of = c1.date_input("Up to", value=shown, min_value=state.earliest_date(shown), format="DD-MM-YYYY",
                      key="trends_as_of",
                      help="The last month of the series ends on this date.")
months = c2.select_slider("Months", options=[6, 12, 18, 24, 36], value=24, key="trends_months")
split_label = c3.radio("Series for", list(SPLITS), horizontal=True, key="trends_split")

series = load_series(as_of, months, None)
if series.empty:
    st.info("No invoices yet. Import an open-items export or a ledger on the Import page.")
    st.stop()
currencies = sorted(series["currency"].unique(), key=lambda c: -series[series["currency"] == c]["total_open_cents"].abs().sum())
currency = currencies[0]
if len(currencies) > 1:
    currency = st.segmented_control("Currency", currencies, default=currencies[0], required=True,
                                    key="trends_currency",
                                    help="Every figure is per currency; currencies are never added.")
s = series[series["currency"] == currency]
x = s["month"]

tab_dso, tab_forecast, tab_behaviour = st.tabs(["DSO and AR", "Cash-in forecast", "Payment behaviour"])

with tab_dso:
    last = s.iloc[-1]
    k = st.columns(5)
    k[0].metric("DSO count-back", f"{last['dso_count_back']:.1f} d" if pd.notna(last["dso_count_back"]) else "–",
                help=definitions.help_for("DSO, count-back"))
    k[1].metric("DSO standard", f"{last['dso_standard']:.1f} d" if pd.notna(last["dso_standard"]) else "–",
                help=definitions.help_for("DSO, standard"))
    k[2].metric("Best possible DSO", f"{last['best_possible_dso']:.1f} d" if pd.notna(last["best_possible_dso"]) else "–",
                help=definitions.help_for("Best possible DSO (BPDSO)"))
    k[3].metric("ADD", f"{last['average_days_delinquent']:.1f} d" if pd.notna(last["average_days_delinquent"]) else "–",
                help=definitions.help_for("Average days delinquent (ADD)"))
    # the month up to the date (the series' newest month runs from its 1st, which early in a month is a
    # day or two: too short a period for a headline figure)
    cei = load_cei(as_of, currency)
    k[4].metric("CEI (month)", f"{cei:.1f} %" if cei is not None else "–",
                help=definitions.help_for("CEI") + f" Here: the month up to {as_of:%d-%m-%Y}.")

    fig = go.Figure()
    for col, name, colour in DSO_LINES:
        fig.add_scatter(x=x, y=s[col], name=name, mode="lines+markers", line=dict(color=colour),
                        hovertemplate="%{y:.1f} days")
    st.plotly_chart(layout(fig, title="DSO per month end (days)"), width="stretch")

    left, right = st.columns(2)
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_bar(x=x, y=s["current_cents"] / 100, name="Not due", marker_color="#4c9f70",
                hovertemplate=f"%{{y:,.2f}} {currency}")
    fig.add_bar(x=x, y=s["overdue_cents"] / 100, name="Overdue", marker_color="#d1495b",
                hovertemplate=f"%{{y:,.2f}} {currency}")
    fig.add_scatter(x=x, y=s["overdue_share"] * 100, name="Overdue share %", mode="lines+markers",
                    line=dict(color="#333"), hovertemplate="%{y:.1f} %", secondary_y=True)
    fig.update_layout(barmode="stack")
    fig.update_yaxes(title_text=currency, secondary_y=False)
    fig.update_yaxes(title_text="% overdue", secondary_y=True, rangemode="tozero", tickformat=".0f", showgrid=False)
    left.plotly_chart(layout(fig, title="AR at month end"), width="stretch")

    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_bar(x=x, y=s["credit_sales_cents"] / 100, name="Credit sales", marker_color="#4f81bd",
                hovertemplate=f"%{{y:,.2f}} {currency}")
    fig.add_scatter(x=x, y=s["cei_month"], name="CEI %", mode="lines+markers", line=dict(color="#f78154"),
                    hovertemplate="%{y:.1f} %", secondary_y=True)
    fig.update_yaxes(title_text=currency, secondary_y=False)
    fig.update_yaxes(title_text="CEI %", secondary_y=True, range=[0, 105], dtick=25, showgrid=False)
    right.plotly_chart(layout(fig, title="Credit sales and CEI per month"), width="stretch")
    if as_of != metrics.month_end(as_of):
        right.caption(f"{as_of:%Y-%m} is the month to date: 1 to {as_of:%d-%m-%Y}.")

    by = SPLITS[split_label]
    if by is not None:
        groups = load_series(as_of, months, by)
        g = groups[groups["currency"] == currency]
        measure = st.radio("Measure", [name for _, name, _ in DSO_LINES] + ["Overdue share %", "CEI %"],
                           horizontal=True, key="trends_group_measure")
        column = {name: col for col, name, _ in DSO_LINES} | {"Overdue share %": "overdue_share", "CEI %": "cei_month"}
        fig = go.Figure()
        for group, rows in g.groupby("group", sort=True):
            y = rows[column[measure]] * (100 if measure == "Overdue share %" else 1)
            fig.add_scatter(x=rows["month"], y=y, name=str(group), mode="lines+markers", hovertemplate="%{y:.1f}")
        st.plotly_chart(layout(fig, height=360, title=f"{measure} per {split_label}"), width="stretch")

    st.subheader("Debtors adding most to DSO")
    top = load_top(as_of)
    top = top[top["currency"] == currency]
    st.dataframe(pd.DataFrame({
        "Dossier": dossier_urls(top["debtor_code"]), "Code": top["debtor_code"].astype(str),
        "Debtor": top["debtor_name"].astype(str), "Open": top["total_cents"] / 100, "Overdue": top["overdue_cents"] / 100,
        "DSO days": top["dso_days"], "of which overdue": top["overdue_days"],
    }), hide_index=True, width="stretch", column_config={
        "Dossier": st.column_config.LinkColumn("Dossier", display_text="open", width="small"),
        "Open": st.column_config.NumberColumn(format="%.2f"), "Overdue": st.column_config.NumberColumn(format="%.2f"),
        "DSO days": st.column_config.NumberColumn(format="%.1f", help="Open / credit sales of 90 days × 90"),
        "of which overdue": st.column_config.NumberColumn(format="%.1f", help="Overdue / credit sales of 90 days × 90")})

with tab_forecast:
    doubtful_after = st.number_input("Doubtful after (days overdue)", min_value=1, max_value=3650,
                                     value=metrics.DOUBTFUL_AFTER_DAYS, step=30, key="trends_doubtful_after",
                                     help="Invoices overdue longer go to a doubtful line of their own, not into "
                                          "next week")
    fc, bt = load_forecast(as_of, int(doubtful_after))
    weeks = fc.weeks[fc.weeks["currency"] == currency]
    st.caption(f"Open invoices after {as_of:%d-%m-%Y}, each spread over the days its debtor may pay on: due date + "
               f"the debtor's signed delay (early payment counts as early; portfolio {fc.portfolio_delay:+.1f} "
               f"± {fc.portfolio_spread:.1f} days). The band should hold the receipts in "
               f"{metrics.BAND_COVERAGE:.0%} of the weeks.")
    if weeks.empty:
        st.info(f"Nothing open in {currency} to forecast.")
    else:
        fig = go.Figure()
        fig.add_bar(x=[f"{d:%d-%m}" for d in weeks["week_start"]], y=weeks["expected_cents"] / 100, name="Expected",
                    marker_color="#4f81bd",
                    error_y=dict(type="data", symmetric=False,
                                 array=(weeks["high_cents"] - weeks["expected_cents"]) / 100,
                                 arrayminus=(weeks["expected_cents"] - weeks["low_cents"]) / 100, color="#888"),
                    customdata=weeks[["low_cents", "high_cents"]] / 100,
                    hovertemplate=f"%{{y:,.2f}} {currency} (%{{customdata[0]:,.2f}} – %{{customdata[1]:,.2f}})"
                                  "<extra>week from %{x}</extra>")
        fig.update_xaxes(title_text="week from", type="category")
        st.plotly_chart(layout(fig, title=f"Expected receipts per week ({currency})"), width="stretch")
        st.metric("Expected in 13 weeks", fmt(int(weeks["expected_cents"].sum()), currency))
    line = fc.doubtful.get(currency)
    if line:
        st.metric(f"Doubtful: overdue more than {fc.doubtful_after} days", fmt(line["cents"], currency),
                  help=f"{line['invoices']} invoices, not in the weeks above")

    st.subheader("Backtest")
    b = bt.weeks[bt.weeks["currency"] == currency]
    err = bt.error.get(currency)
    if b.empty or err is None or not err["actual_cents"]:
        st.info("Not enough history for a backtest yet (needs payments in the last 13 weeks).")
    else:
        st.caption(f"The same forecast made on {bt.made_on:%d-%m-%Y}, and the due-date baseline of that day (every "
                   f"invoice paid on its due date), against the payments that came in on those invoices since.")
        m1, m2, m3, m4 = st.columns(4)
        m1.metric("Came in", fmt(err["actual_cents"], currency))
        m2.metric("Forecast error", f"{err['wape']:.1f} %", help="Σ |forecast − actual| over the weeks / Σ actual")
        m3.metric("Due-date baseline error", f"{err['naive_wape']:.1f} %",
                  help="Σ |due-date baseline − actual| over the weeks / Σ actual")
        m4.metric("Weeks inside the band", f"{err['coverage']:.0%}", help=f"It claims {bt.coverage_claimed:.0%}")
        fig = go.Figure()
        week_labels = [f"{d:%d-%m}" for d in b["week_start"]]
        fig.add_bar(x=week_labels, y=b["expected_cents"] / 100, name="Forecast", marker_color="#4f81bd",
                    hovertemplate=f"%{{y:,.2f}} {currency}")
        fig.add_bar(x=week_labels, y=b["naive_cents"] / 100, name="Due-date baseline", marker_color="#c0c6cc",
                    hovertemplate=f"%{{y:,.2f}} {currency}")
        fig.add_bar(x=week_labels, y=b["actual_cents"] / 100, name="Actual", marker_color="#4c9f70",
                    hovertemplate=f"%{{y:,.2f}} {currency}")
        fig.update_xaxes(title_text="week from", type="category")
        st.plotly_chart(layout(fig, title="Forecast and baseline against actual receipts"), width="stretch")

with tab_behaviour:
    st.caption("Invoices paid in the 12 months up to the date (all currencies: these are days), weighted by "
               "amount. Trend: average days late of the last 3 months minus the 9 before (positive = paying later).")
    behaviour = load_behaviour(as_of)
    search = st.text_input("Search debtor", placeholder="code or name", key="trends_behaviour_search")
    shown = behaviour[behaviour["invoices_paid"] > 0]
    if search.strip():
        needle = search.strip()
        shown = shown[shown["code"].astype(str).str.contains(needle, case=False, regex=False)
                      | shown["name"].astype(str).str.contains(needle, case=False, regex=False)]
    st.dataframe(pd.DataFrame({
        "Dossier": dossier_urls(shown["code"]), "Code": shown["code"].astype(str),
        "Debtor": shown["name"].astype(str), "Invoices paid": shown["invoices_paid"], "Avg days late": shown["avg_days_late"],
        "Avg days to pay": shown["avg_days_to_pay"], "Paid late": shown["share_paid_late"] * 100,
        "Paid > 30 days late": shown["share_paid_late_30"] * 100, "Trend (days)": shown["trend"],
    }).sort_values("Avg days late", ascending=False), hide_index=True, width="stretch", column_config={
        "Dossier": st.column_config.LinkColumn("Dossier", display_text="open", width="small"),
        "Avg days late": st.column_config.NumberColumn(format="%.1f"),
        "Avg days to pay": st.column_config.NumberColumn(format="%.1f"),
        "Paid late": st.column_config.NumberColumn(format="%.0f %%"),
        "Paid > 30 days late": st.column_config.NumberColumn(format="%.0f %%"),
        "Trend (days)": st.column_config.NumberColumn(format="%+.1f")})
