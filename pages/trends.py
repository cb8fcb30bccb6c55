from ui.auth import require

user = require("viewer")

from datetime import date  # noqa: E402

import pandas as pd  # noqa: E402
import plotly.graph_objects as go  # noqa: E402
import streamlit as st  # noqa: E402
from plotly.subplots import make_subplots  # noqa: E402

from receivables.domain import definitions, formatting, metrics  # noqa: E402
from receivables.services import analytics  # noqa: E402
from ui import i18n, state  # noqa: E402
from ui.i18n import N_, _  # noqa: E402
from ui.links import dossier_urls, linked_date  # noqa: E402
from ui.search import searched  # noqa: E402

SPLITS = {N_("the whole portfolio"): None, N_("segment"): "segment", N_("account manager"): "account_manager"}
DSO_LINES = [("dso_count_back", N_("DSO count-back"), "#1f4e79"), ("dso_standard", N_("DSO standard"), "#4f81bd"),
             ("best_possible_dso", N_("Best possible DSO"), "#4c9f70"),
             ("average_days_delinquent", N_("ADD"), "#d1495b")]


@st.cache_data(show_spinner=False, max_entries=32)
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


@st.cache_data(show_spinner=False, max_entries=16)
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
                      separators=",." if i18n.current() == "nl" else ".,",
                      legend=dict(orientation="h", yanchor="top", y=-0.12, x=0), title=dict(text=title, x=0))
    fig.update_xaxes(tickformat="%m-%Y" if i18n.current() == "nl" else "%b %Y")
    return fig


def days(value) -> str:
    return "–" if value is None or pd.isna(value) else i18n.days(value)


def points(value) -> str:
    """A figure already in % (CEI, forecast errors): `55,9 %` (nl), `55.9 %` (en)."""
    return "–" if value is None or pd.isna(value) else formatting.number(value, 1, i18n.current()) + " %"


def amount(value) -> str:
    return "" if value is None or pd.isna(value) else formatting.amount(round(value * 100), lang)


def share(value) -> str:
    return "" if value is None or pd.isna(value) else formatting.percent(value, lang, 0)


def signed_days(value) -> str:
    return "" if value is None or pd.isna(value) else ("+" if value > 0 else "") + i18n.days(value)


def week(d) -> str:
    return f"{d:%d-%m}" if lang == "nl" else f"{d:%d %b}"


lang = i18n.current()
st.title(_("DSO & trends"))
with st.expander(_("What the figures mean"), icon=":material/help:"):
    st.markdown(definitions.help_markdown(lang))
    st.markdown(_("**Cash-in forecast**: {text}", text=_(definitions.FORECAST)))

c1, c2, c3 = st.columns([1, 2, 2])
shown = linked_date()
as_of = c1.date_input(_("Up to"), value=shown, min_value=state.earliest_date(shown), format="DD-MM-YYYY",
                      key="trends_as_of",
                      help=_("The last month of the series ends on this date."))
months = c2.select_slider(_("Months"), options=[6, 12, 18, 24, 36], value=24, key="trends_months")
split_words = {s: _(s) for s in SPLITS}  # worded in this run: a widget may call format_func outside it
split_label = c3.radio(_("Series for"), list(SPLITS), format_func=split_words.get, horizontal=True,
                       key="trends_split")

with st.spinner(_("Computing the monthly series…")):
    series = load_series(as_of, months, None)
if series.empty:
    st.info(_("No invoices yet. Import an open-items export or a ledger on the Import page."))
    st.stop()
currencies = sorted(series["currency"].unique(), key=lambda c: -series[series["currency"] == c]["total_open_cents"].abs().sum())
currency = currencies[0]
if len(currencies) > 1:
    currency = st.segmented_control(_("Currency"), currencies, default=currencies[0], required=True,
                                    key="trends_currency",
                                    help=_("Every figure is per currency; currencies are never added."))
s = series[series["currency"] == currency]
x = s["month"]

tab_dso, tab_forecast, tab_behaviour = st.tabs([_("DSO and AR"), _("Cash-in forecast"), _("Payment behaviour")])

with tab_dso:
    last = s.iloc[-1]
    k = st.columns(5)
    k[0].metric(_("DSO count-back"), days(last["dso_count_back"]), help=definitions.help_for("DSO, count-back", lang))
    k[1].metric(_("DSO standard"), days(last["dso_standard"]), help=definitions.help_for("DSO, standard", lang))
    k[2].metric(_("Best possible DSO"), days(last["best_possible_dso"]),
                help=definitions.help_for("Best possible DSO (BPDSO)", lang))
    k[3].metric(_("ADD"), days(last["average_days_delinquent"]),
                help=definitions.help_for("Average days delinquent (ADD)", lang))
    # the month up to the date (the series' newest month runs from its 1st, which early in a month is a
    # day or two: too short a period for a headline figure)
    cei = load_cei(as_of, currency)
    k[4].metric(_("CEI (month)"), points(cei),
                help=definitions.help_for("CEI", lang) + " " + _("Here: the month up to {date}.", date=i18n.day(as_of)))

    fig = go.Figure()
    for col, name, colour in DSO_LINES:
        fig.add_scatter(x=x, y=s[col], name=_(name), mode="lines+markers", line=dict(color=colour),
                        hovertemplate="%{y:,.1f} d")
    fig.update_yaxes(title_text=_("days"), tickformat=",.0f")
    st.plotly_chart(layout(fig, title=_("DSO per month end (days)")), width="stretch")

    left, right = st.columns(2)
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_bar(x=x, y=s["current_cents"] / 100, name=_("Not due"), marker_color="#4c9f70",
                hovertemplate=f"%{{y:,.2f}} {currency}")
    fig.add_bar(x=x, y=s["overdue_cents"] / 100, name=_("Overdue"), marker_color="#d1495b",
                hovertemplate=f"%{{y:,.2f}} {currency}")
    fig.add_scatter(x=x, y=s["overdue_share"] * 100, name=_("Overdue share %"), mode="lines+markers",
                    line=dict(color="#333"), hovertemplate="%{y:,.1f} %", secondary_y=True)
    fig.update_layout(barmode="stack")
    fig.update_yaxes(title_text=currency, secondary_y=False, tickformat=",.0f")
    fig.update_yaxes(title_text=_("% overdue"), secondary_y=True, rangemode="tozero", tickformat=".0f", showgrid=False)
    left.plotly_chart(layout(fig, title=_("Open at month end")), width="stretch")

    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_bar(x=x, y=s["credit_sales_cents"] / 100, name=_("Credit sales"), marker_color="#4f81bd",
                hovertemplate=f"%{{y:,.2f}} {currency}")
    fig.add_scatter(x=x, y=s["cei_month"], name=_("CEI %"), mode="lines+markers", line=dict(color="#f78154"),
                    hovertemplate="%{y:,.1f} %", secondary_y=True)
    fig.update_yaxes(title_text=currency, secondary_y=False, tickformat=",.0f")
    fig.update_yaxes(title_text=_("CEI %"), secondary_y=True, range=[0, 105], dtick=25, showgrid=False)
    right.plotly_chart(layout(fig, title=_("Credit sales and CEI per month")), width="stretch")
    if as_of != metrics.month_end(as_of):
        right.caption(_("{month} is the month to date: {first} to {date}.", month=as_of.strftime("%m-%Y"),
                        first=i18n.day(as_of.replace(day=1)), date=i18n.day(as_of)))

    by = SPLITS[split_label]
    if by is not None:
        groups = load_series(as_of, months, by)
        g = groups[groups["currency"] == currency]
        measures = [name for _col, name, _colour in DSO_LINES] + [N_("Overdue share %"), N_("CEI %")]
        measure_words = {m: _(m) for m in measures}
        measure = st.radio(_("Measure"), measures, format_func=measure_words.get, horizontal=True,
                           key="trends_group_measure")
        column = {name: col for col, name, _colour in DSO_LINES} | {"Overdue share %": "overdue_share", "CEI %": "cei_month"}
        fig = go.Figure()
        for group, rows in g.groupby("group", sort=True):
            y = rows[column[measure]] * (100 if measure == "Overdue share %" else 1)
            fig.add_scatter(x=rows["month"], y=y, name=str(group), mode="lines+markers", hovertemplate="%{y:,.1f}")
        st.plotly_chart(layout(fig, height=360, title=_("{measure} per {split}", measure=_(measure), split=_(split_label))),
                        width="stretch")

    st.subheader(_("Debtors adding most to DSO"))
    top = load_top(as_of)
    top = top[top["currency"] == currency]
    DOSSIER, CODE, DEBTOR, OPEN, OVERDUE = _("Dossier"), _("Code"), _("Debtor"), _("Open"), _("Overdue")
    DSO_DAYS, OVERDUE_DAYS = _("DSO days"), _("of which overdue")
    st.dataframe(pd.DataFrame({
        DOSSIER: dossier_urls(top["debtor_code"]), CODE: top["debtor_code"].astype(str),
        DEBTOR: top["debtor_name"].astype(str), OPEN: top["total_cents"] / 100, OVERDUE: top["overdue_cents"] / 100,
        DSO_DAYS: top["dso_days"], OVERDUE_DAYS: top["overdue_days"],
    }).style.format({OPEN: amount, OVERDUE: amount, DSO_DAYS: days, OVERDUE_DAYS: days}),
        hide_index=True, width="stretch", column_config={
        DOSSIER: st.column_config.LinkColumn(DOSSIER, display_text=_("open it"), width=60),
        DEBTOR: st.column_config.TextColumn(DEBTOR, width=260),
        OPEN: st.column_config.NumberColumn(OPEN, help=_("Open in {currency}", currency=currency)),
        OVERDUE: st.column_config.NumberColumn(OVERDUE, help=_("Overdue in {currency}", currency=currency)),
        DSO_DAYS: st.column_config.NumberColumn(DSO_DAYS, help=_("Open / credit sales of 90 days × 90")),
        OVERDUE_DAYS: st.column_config.NumberColumn(OVERDUE_DAYS, help=_("Overdue / credit sales of 90 days × 90"))})

with tab_forecast:
    doubtful_after = st.number_input(_("Doubtful after (days overdue)"), min_value=1, max_value=3650,
                                     value=metrics.DOUBTFUL_AFTER_DAYS, step=30, key="trends_doubtful_after",
                                     help=_("Invoices overdue longer go to a doubtful line of their own, not into "
                                            "next week"))
    with st.spinner(_("Forecasting receipts…")):
        fc, bt = load_forecast(as_of, int(doubtful_after))
    weeks = fc.weeks[fc.weeks["currency"] == currency]
    st.caption(_("Open invoices after {date}, each spread over the days its debtor may pay on: due date + the "
                 "debtor's usual delay (early payment counts as early; portfolio {delay} ± {spread}). The band "
                 "should hold the receipts in {coverage} of the weeks.", date=i18n.day(as_of),
                 delay=("+" if fc.portfolio_delay >= 0 else "") + i18n.days(fc.portfolio_delay),
                 spread=i18n.days(fc.portfolio_spread), coverage=formatting.percent(metrics.BAND_COVERAGE, lang, 0)))
    if weeks.empty:
        st.info(_("Nothing open in {currency} to forecast.", currency=currency))
    else:
        fig = go.Figure()
        fig.add_bar(x=[week(d) for d in weeks["week_start"]], y=weeks["expected_cents"] / 100, name=_("Expected"),
                    marker_color="#4f81bd",
                    error_y=dict(type="data", symmetric=False,
                                 array=(weeks["high_cents"] - weeks["expected_cents"]) / 100,
                                 arrayminus=(weeks["expected_cents"] - weeks["low_cents"]) / 100, color="#888"),
                    customdata=weeks[["low_cents", "high_cents"]] / 100,
                    hovertemplate=f"%{{y:,.2f}} {currency} (%{{customdata[0]:,.2f}} – %{{customdata[1]:,.2f}})"
                                  "<extra>" + _("week from {date}", date="%{x}") + "</extra>")
        fig.update_xaxes(title_text=_("week from"), type="category")
        fig.update_yaxes(title_text=currency, tickformat=",.0f")
        st.plotly_chart(layout(fig, title=_("Expected receipts per week ({currency})", currency=currency)),
                        width="stretch")
        st.metric(_("Expected in 13 weeks"), i18n.money(int(weeks["expected_cents"].sum()), currency))
    line = fc.doubtful.get(currency)
    if line:
        st.metric(_("Doubtful: overdue more than {days} days", days=fc.doubtful_after), i18n.money(line["cents"], currency),
                  help=_("{n} invoices, not in the weeks above", n=line["invoices"]))

    st.subheader(_("Backtest"))
    b = bt.weeks[bt.weeks["currency"] == currency]
    err = bt.error.get(currency)
    if b.empty or err is None or not err["actual_cents"]:
        st.info(_("Not enough history for a backtest yet (needs payments in the last 13 weeks)."))
    else:
        st.caption(_("The same forecast made on {date}, and the due-date baseline of that day (every invoice paid "
                     "on its due date), against the payments that came in on those invoices since.",
                     date=i18n.day(bt.made_on)))
        m1, m2, m3, m4 = st.columns(4)
        m1.metric(_("Came in"), i18n.money(err["actual_cents"], currency))
        m2.metric(_("Forecast error"), points(err["wape"]), help=_("Σ |forecast − actual| over the weeks / Σ actual"))
        m3.metric(_("Due-date baseline error"), points(err["naive_wape"]),
                  help=_("Σ |due-date baseline − actual| over the weeks / Σ actual"))
        m4.metric(_("Weeks inside the band"), formatting.percent(err["coverage"], lang, 0),
                  help=_("It claims {coverage}", coverage=formatting.percent(bt.coverage_claimed, lang, 0)))
        fig = go.Figure()
        week_labels = [week(d) for d in b["week_start"]]
        for column, name, colour in [("expected_cents", _("Forecast"), "#4f81bd"),
                                     ("naive_cents", _("Due-date baseline"), "#c0c6cc"),
                                     ("actual_cents", _("Actual"), "#4c9f70")]:
            fig.add_bar(x=week_labels, y=b[column] / 100, name=name, marker_color=colour,
                        hovertemplate=f"%{{y:,.2f}} {currency}")
        fig.update_xaxes(title_text=_("week from"), type="category")
        fig.update_yaxes(title_text=currency, tickformat=",.0f")
        st.plotly_chart(layout(fig, title=_("Forecast and baseline against actual receipts")), width="stretch")

with tab_behaviour:
    st.caption(_("Invoices paid in the 12 months up to the date (all currencies: these are days), weighted by "
                 "amount. Trend: average days late of the last 3 months minus the 9 before (positive = paying "
                 "later)."))
    behaviour = load_behaviour(as_of)
    search = st.text_input(_("Search debtor"), placeholder=_("code or name"), key="trends_behaviour_search")
    shown = behaviour[behaviour["invoices_paid"] > 0]
    if needle := searched(search):
        shown = shown[shown["code"].astype(str).str.contains(needle, case=False, regex=False)
                      | shown["name"].astype(str).str.contains(needle, case=False, regex=False)]
    LATE, TO_PAY, PAID_LATE, LATE_30, TREND = (_("Avg days late"), _("Avg days to pay"), _("Paid late"),
                                               _("Paid > 30 days late"), _("Trend (days)"))
    st.dataframe(pd.DataFrame({
        DOSSIER: dossier_urls(shown["code"]), CODE: shown["code"].astype(str),
        DEBTOR: shown["name"].astype(str), _("Invoices paid"): shown["invoices_paid"], LATE: shown["avg_days_late"],
        TO_PAY: shown["avg_days_to_pay"], PAID_LATE: shown["share_paid_late"], LATE_30: shown["share_paid_late_30"],
        TREND: shown["trend"],
    }).sort_values(LATE, ascending=False).style.format({
        LATE: days, TO_PAY: days, PAID_LATE: share, LATE_30: share, TREND: signed_days}),
        hide_index=True, width="stretch", column_config={
        DOSSIER: st.column_config.LinkColumn(DOSSIER, display_text=_("open it"), width=60),
        DEBTOR: st.column_config.TextColumn(DEBTOR, width=260)})
