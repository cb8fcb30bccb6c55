from ui.auth import require

user = require("viewer")

from datetime import date  # noqa: E402

import pandas as pd  # noqa: E402
import plotly.graph_objects as go  # noqa: E402
import streamlit as st  # noqa: E402

from receivables.domain import definitions  # noqa: E402
from receivables.domain.ageing import DEFAULT_EDGES  # noqa: E402
from receivables.domain.money import fmt  # noqa: E402
from receivables.services import analytics, exports, signals  # noqa: E402
from receivables.services.errors import ServiceError  # noqa: E402
from ui import state  # noqa: E402
from ui.links import dossier_link, dossier_urls, linked_date  # noqa: E402

BUCKET_COLOURS = ["#4c9f70", "#f2c14e", "#f78154", "#d1495b", "#8e2c48", "#5d1a36", "#3b0f22", "#24091a", "#12040d"]


def ledger_version() -> str:
    """Changes with the data (a write from this app, the CLI or cron), so the figures are read again."""
    return state.data_version()


@st.cache_data(show_spinner="Ageing the open items…", max_entries=64)
def load(version: str, as_of: date, edges: tuple[int, ...], basis: str) -> analytics.AgeingView:
    # the same service as `python -m receivables report ageing`
    with state.uow() as uow:
        return analytics.ageing(uow, as_of, edges, basis)


@st.cache_data(show_spinner=False, max_entries=64)
def load_kpis(version: str, as_of: date, edges: tuple[int, ...], basis: str) -> list[analytics.KpiCompare]:
    with state.uow() as uow:
        return analytics.ageing_kpis(uow, load(version, as_of, edges, basis))


@st.cache_data(show_spinner=False, ttl=600)
def load_tracks(today: date) -> dict[int, str]:
    with state.uow() as uow:
        return signals.debtor_tracks(uow, today)


@st.cache_data(show_spinner=False, max_entries=32)
def load_invoices(as_of: date, code: str, edges: tuple[int, ...], basis: str) -> pd.DataFrame:
    with state.uow() as uow:
        return analytics.invoices_behind(uow, as_of, code, edges, basis)


def shown_label(label: str) -> str:
    return "Not due" if label == "not_due" else label


def days(value) -> str:
    return "–" if value is None else f"{value:.1f} d"


def delta(now, before, unit: str = "", scale: float = 1.0, digits: int = 1):
    if now is None or before is None:
        return None
    return f"{(now - before) * scale:+,.{digits}f}{unit}"


def money_delta(now, before, currency: str):
    if now is None or before is None:
        return None
    change = now - before
    return ("+" if change >= 0 else "") + fmt(change, currency)


st.title("Ageing")
with st.expander("What the figures mean", icon=":material/help:"):
    st.markdown(f"**Ageing**: {definitions.AGEING}")
    st.markdown(definitions.help_markdown())

c1, c2, c3 = st.columns([1, 1, 2])
shown = linked_date()
as_of = c1.date_input("As of", value=shown, min_value=state.earliest_date(shown), format="DD-MM-YYYY",
                      key="ageing_as_of")
basis_label = c2.radio("Age by", ["due date", "invoice date"], horizontal=True, key="ageing_basis")
basis = "due" if basis_label == "due date" else "invoice"
default_edges = ", ".join(str(e) for e in (DEFAULT_EDGES if basis == "due" else (30, 60, 90)))
edges_text = c3.text_input("Bucket edges (days)", value=default_edges, key=f"ageing_edges_{basis}",
                           help="Upper edges of every bucket but the last, e.g. 0, 30, 60, 90 gives not due, "
                                "1–30, 31–60, 61–90 and 90+.")
try:
    edges = analytics.parse_edges(edges_text)
except ServiceError as exc:
    st.error(f"{exc}", icon=":material/error:")
    st.stop()

version = ledger_version()
view = load(version, as_of, edges, basis)
if not view.totals:
    st.info("No open items on this date. Import an open-items export on the Import page, or pick another date.")
    st.stop()

labels = view.spec.labels
currency = view.currencies[0]
if len(view.currencies) > 1:
    by_size = sorted(view.currencies, key=lambda c: -abs(view.totals[c]["total"]))
    currency = st.segmented_control("Currency", by_size, default=by_size[0], key="ageing_currency",
                                    help="Figures are per currency; amounts in different currencies are never added.") or by_size[0]

# --- KPIs with the change against 30 days before ----------------------------------------------------
kpis = {k.currency: k for k in load_kpis(version, as_of, edges, basis)}
k = kpis.get(currency)
if k is not None:
    now, before = k.now, k.before
    cols = [*st.columns(3), *st.columns(3)]
    cols[0].metric("Total open", fmt(now["total_open_cents"], currency),
                   delta=money_delta(now["total_open_cents"], before["total_open_cents"], currency),
                   delta_color="off", help=definitions.help_for("AR"))
    share = now["overdue_share"]
    cols[1].metric("Overdue", fmt(now["overdue_cents"], currency),
                   delta=delta(share, before["overdue_share"], " pts share", 100), delta_color="inverse",
                   help=f"Past the due date; {share:.1%} of the total open." if share is not None else None)
    cols[2].metric("DSO (count-back)", days(now["dso_count_back"]),
                   delta=delta(now["dso_count_back"], before["dso_count_back"], " d"), delta_color="inverse",
                   help=definitions.help_for("DSO, count-back"))
    cols[3].metric("Best possible DSO", days(now["best_possible_dso"]),
                   delta=delta(now["best_possible_dso"], before["best_possible_dso"], " d"), delta_color="inverse",
                   help=definitions.help_for("Best possible DSO (BPDSO)"))
    cols[4].metric("Avg days delinquent", days(now["average_days_delinquent"]),
                   delta=delta(now["average_days_delinquent"], before["average_days_delinquent"], " d"),
                   delta_color="inverse", help=definitions.help_for("Average days delinquent (ADD)"))
    cols[5].metric("Debtors overdue", k.debtors_overdue,
                   delta=f"{k.debtors_overdue - k.debtors_overdue_before:+d}", delta_color="inverse")
    st.caption(f"Changes against {(as_of - pd.Timedelta(days=30)):%d-%m-%Y}. "
               f"Overdue share {share:.1%}." if share is not None else "")

# --- filters ------------------------------------------------------------------------------------------
rows = view.per_debtor[view.per_debtor["currency"] == currency].copy()
tracks = load_tracks(date.today())
rows["track"] = rows["debtor_id"].map(tracks).fillna("").astype(object)
rows["segment"] = rows["segment"].fillna("–")
rows["account_manager"] = rows["account_manager"].fillna("–")

f1, f2, f3, f4 = st.columns([2, 1, 1, 1])
search = f1.text_input("Search debtor", placeholder="code or name", key="ageing_search")
segments = f2.multiselect("Segment", sorted(rows["segment"].unique()), key="ageing_segments")
managers = f3.multiselect("Account manager", sorted(rows["account_manager"].unique()), key="ageing_managers")
track_filter = f4.multiselect("Track", sorted(t for t in rows["track"].unique() if t), key="ageing_tracks")
shown = rows
if search.strip():
    needle = search.strip().lower()
    shown = shown[shown["debtor_code"].str.lower().str.contains(needle, regex=False)
                  | shown["debtor_name"].str.lower().str.contains(needle, regex=False)]
if segments:
    shown = shown[shown["segment"].isin(segments)]
if managers:
    shown = shown[shown["account_manager"].isin(managers)]
if track_filter:
    shown = shown[shown["track"].isin(track_filter)]
filtered = len(shown) != len(rows)

# --- stacked bar --------------------------------------------------------------------------------------
group_by = st.radio("Bars by", ["total", "segment", "account manager"], horizontal=True, key="ageing_bars")
column = {"total": None, "segment": "segment", "account manager": "account_manager"}[group_by]
bars = (shown[labels].sum().to_frame().T.assign(group="All" if not filtered else "Selection")
        if column is None else shown.groupby(column)[labels].sum().reset_index().rename(columns={column: "group"}))
fig = go.Figure()
for label, colour in zip(labels, BUCKET_COLOURS):
    fig.add_bar(y=bars["group"].astype(str), x=bars[label] / 100, name=shown_label(label), orientation="h", marker_color=colour,
                hovertemplate=f"{label}: %{{x:,.2f}} {currency}<extra>%{{y}}</extra>")
fig.update_layout(barmode="relative", height=170 + 32 * len(bars), margin=dict(l=10, r=10, t=10, b=10),
                  xaxis_title=currency, legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0, traceorder="normal"),
                  yaxis=dict(autorange="reversed"))
st.plotly_chart(fig, width="stretch")

# --- the table per debtor -----------------------------------------------------------------------------
table = pd.DataFrame({
    "Dossier": dossier_urls(shown["debtor_code"]),
    "Code": shown["debtor_code"].astype(str), "Debtor": shown["debtor_name"].astype(str),
    "Segment": shown["segment"].astype(str), "Account manager": shown["account_manager"].astype(str),
    "Track": shown["track"].astype(str),
    **{shown_label(label): shown[label] / 100 for label in labels},
    "Total": shown["total"] / 100, "Items": shown["items"],
}).reset_index(drop=True)
st.caption(f"{len(table)} of {len(rows)} debtors with open items in {currency} on {as_of:%d-%m-%Y} · "
           f"total {fmt(int(shown['total'].sum()), currency)}. Select a row to see its invoices.")
money = {c: st.column_config.NumberColumn(c, format="%.2f") for c in [*map(shown_label, labels), "Total"]}
event = st.dataframe(
    table, hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row", key="ageing_table",
    column_config={"Dossier": st.column_config.LinkColumn("Dossier", display_text="open", width="small"), **money})

export = table.drop(columns=["Dossier"]).assign(Currency=currency)
e1, e2, _ = st.columns([1, 1, 4])
stamp = f"{as_of:%Y%m%d}_{currency}"
# the files are made when a button is clicked, not on every rerun
e1.download_button("Export CSV", lambda: exports.table(export, "csv", sheet="Ageing"), f"ageing_{stamp}.csv", "text/csv",
                   icon=":material/download:", on_click="ignore")
e2.download_button("Export Excel", lambda: exports.table(export, "xlsx", sheet="Ageing"), f"ageing_{stamp}.xlsx",
                   "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", icon=":material/download:",
                   on_click="ignore")

# --- the invoices behind a cell -------------------------------------------------------------------------
selected = event.selection.rows if event is not None else []
if selected:
    code = table.iloc[selected[0]]["Code"]
    name = table.iloc[selected[0]]["Debtor"]
    st.subheader(f"Open items of {name} ({code}) on {as_of:%d-%m-%Y}")
    dossier_link(code)
    items = load_invoices(as_of, code, edges, basis)
    items = items[items["currency"] == currency]
    with_amount = [label for label in labels if (items["bucket"] == label).any()]
    pick = st.segmented_control("Bucket", ["all", *with_amount], default="all", required=True,
                                format_func=shown_label, key=f"ageing_bucket_{code}")
    if pick != "all":
        items = items[items["bucket"] == pick]
    st.dataframe(pd.DataFrame({
        "Invoice": items["number"], "Invoice date": items["invoice_date"], "Due date": items["due_date"],
        "Days": items["days"], "Bucket": items["bucket"].map(shown_label), "Amount": items["amount_cents"] / 100,
        "Open": items["open_cents"] / 100, "Disputed": items["disputed"],
    }), hide_index=True, width="stretch", column_config={
        "Amount": st.column_config.NumberColumn(format="%.2f"), "Open": st.column_config.NumberColumn(format="%.2f"),
        "Invoice date": st.column_config.DateColumn(format="DD-MM-YYYY"),
        "Due date": st.column_config.DateColumn(format="DD-MM-YYYY")})
