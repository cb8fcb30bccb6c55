from ui.auth import require

user = require("viewer")

from datetime import date  # noqa: E402

import pandas as pd  # noqa: E402
import plotly.graph_objects as go  # noqa: E402
import streamlit as st  # noqa: E402

from receivables.domain import definitions, exports, formatting  # noqa: E402
from receivables.domain.ageing import DEFAULT_EDGES  # noqa: E402
from receivables.services import analytics, plans  # noqa: E402
from receivables.services.errors import ServiceError  # noqa: E402
from ui import i18n, state  # noqa: E402
from ui.i18n import _  # noqa: E402
from ui.links import dossier_link, dossier_urls, linked_date  # noqa: E402
from ui.search import searched  # noqa: E402

BUCKET_COLOURS = ["#4c9f70", "#f2c14e", "#f78154", "#d1495b", "#8e2c48", "#5d1a36", "#3b0f22", "#24091a", "#12040d"]


def ledger_version() -> str:
    """Changes with the data (a write from this app, the CLI or cron), so the figures are read again."""
    return state.data_version()


@st.cache_data(show_spinner=False, max_entries=64)
def load(version: str, as_of: date, edges: tuple[int, ...], basis: str
         ) -> tuple[analytics.AgeingView, list[analytics.KpiCompare]]:
    """The ageing (the figures of `python -m receivables report ageing`) and the KPIs against 30 days before,
    the debtors overdue then counted in the same pass."""
    with state.uow() as uow:
        view, overdue_before = analytics.ageing_and_overdue_before(uow, as_of, edges, basis)
        return view, analytics.ageing_kpis(uow, view, overdue_before=overdue_before)


@st.cache_data(show_spinner=False, max_entries=4)
def load_tracks(version: str, today: date) -> dict[int, str]:
    return state.debtor_tracks(today)  # after a write, worked out again for the debtors it touched only


@st.cache_data(show_spinner=False, max_entries=8)
def load_in_plan(version: str) -> set[int]:
    with state.uow() as uow:
        return plans.debtors_in_plan(uow)


@st.cache_data(show_spinner=False, max_entries=32)
def load_invoices(version: str, as_of: date, code: str, edges: tuple[int, ...], basis: str) -> pd.DataFrame:
    with state.uow() as uow:
        return analytics.invoices_behind(uow, as_of, code, edges, basis)


@st.cache_data(show_spinner=False, max_entries=8)
def load_pdf(version: str, as_of: date, edges: tuple[int, ...], basis: str, lang: str, filters: str) -> bytes:
    view, kpis = load(version, as_of, edges, basis)
    with state.uow() as uow:
        return analytics.ageing_pdf(uow, view, kpis, lang=lang, filters=filters)


def shown_label(label: str) -> str:
    return _("Not due") if label == "not_due" else label


def days(value) -> str:
    return i18n.days(value) or "–"


def signed(text: str, change) -> str:
    return ("+" if change >= 0 else "") + text


def delta(now, before, unit: str = "", scale: float = 1.0):
    if now is None or before is None:
        return None
    change = (now - before) * scale
    return signed(formatting.number(change, 1, i18n.current()), change) + unit


def money_delta(now, before, currency: str):
    if now is None or before is None:
        return None
    return signed(i18n.money(now - before, currency), now - before)


lang = i18n.current()
st.title(_("Ageing"))
with st.expander(_("What the figures mean"), icon=":material/help:"):
    st.markdown(_("**Ageing**: {text}", text=_(definitions.AGEING)))
    st.markdown(definitions.help_markdown(lang))

c1, c2, c3 = st.columns([1, 1, 2])
shown = linked_date()
as_of = c1.date_input(_("As of"), value=shown, min_value=state.earliest_date(shown), format="DD-MM-YYYY",
                      key="ageing_as_of")
BASES = {"due": _("due date"), "invoice": _("invoice date")}
basis_label = c2.radio(_("Age by"), list(BASES.values()), horizontal=True, key="ageing_basis")
basis = "due" if basis_label == BASES["due"] else "invoice"
default_edges = ", ".join(str(e) for e in (DEFAULT_EDGES if basis == "due" else (30, 60, 90)))
edges_text = c3.text_input(_("Bucket edges (days)"), value=default_edges, key=f"ageing_edges_{basis}",
                           help=_("Upper edges of every bucket but the last, e.g. 0, 30, 60, 90 gives not due, "
                                  "1–30, 31–60, 61–90 and 90+."))
try:
    edges = analytics.parse_edges(edges_text)
except ServiceError as exc:
    st.error(i18n.error(exc), icon=":material/error:")
    st.stop()

version = ledger_version()
with st.spinner(_("Ageing the open items…")):
    view, kpi_list = load(version, as_of, edges, basis)
if not view.totals:
    st.info(_("No open items on this date. Import an open-items export on the Import page, or pick another date."))
    st.stop()

labels = view.spec.labels
currency = view.currencies[0]
if len(view.currencies) > 1:
    by_size = sorted(view.currencies, key=lambda c: -abs(view.totals[c]["total"]))
    currency = st.segmented_control(_("Currency"), by_size, default=by_size[0], key="ageing_currency",
                                    help=_("Figures are per currency; amounts in different currencies are never "
                                           "added.")) or by_size[0]

# --- KPIs with the change against 30 days before ----------------------------------------------------
kpis = {k.currency: k for k in kpi_list}
k = kpis.get(currency)
if k is not None:
    now, before = k.now, k.before
    cols = [*st.columns(3), *st.columns(3)]
    cols[0].metric(_("Total open"), i18n.money(now["total_open_cents"], currency),
                   delta=money_delta(now["total_open_cents"], before["total_open_cents"], currency),
                   delta_color="off", help=definitions.help_for("AR", lang))
    share = now["overdue_share"]
    cols[1].metric(_("Overdue"), i18n.money(now["overdue_cents"], currency),
                   delta=delta(share, before["overdue_share"], " " + _("pts share"), 100), delta_color="inverse",
                   help=_("Past the due date; {share} of the total open.", share=i18n.percent(share))
                   if share is not None else None)
    cols[2].metric(_("DSO (count-back)"), days(now["dso_count_back"]),
                   delta=delta(now["dso_count_back"], before["dso_count_back"], " d"), delta_color="inverse",
                   help=definitions.help_for("DSO, count-back", lang))
    cols[3].metric(_("Best possible DSO"), days(now["best_possible_dso"]),
                   delta=delta(now["best_possible_dso"], before["best_possible_dso"], " d"), delta_color="inverse",
                   help=definitions.help_for("Best possible DSO (BPDSO)", lang))
    cols[4].metric(_("Avg days delinquent"), days(now["average_days_delinquent"]),
                   delta=delta(now["average_days_delinquent"], before["average_days_delinquent"], " d"),
                   delta_color="inverse", help=definitions.help_for("Average days delinquent (ADD)", lang))
    cols[5].metric(_("Debtors overdue"), k.debtors_overdue,
                   delta=f"{k.debtors_overdue - k.debtors_overdue_before:+d}", delta_color="inverse")
    caption = _("Changes against {date}.", date=i18n.day(as_of - pd.Timedelta(days=30)))
    if share is not None:
        caption += " " + _("Overdue share {share}.", share=i18n.percent(share))
    st.caption(caption)

# --- filters ------------------------------------------------------------------------------------------
rows = view.per_debtor[view.per_debtor["currency"] == currency].copy()
tracks = load_tracks(version, date.today())
rows["track"] = rows["debtor_id"].map(tracks).fillna("").astype(object)
rows["segment"] = rows["segment"].fillna("–")
rows["account_manager"] = rows["account_manager"].fillna("–")

f1, f2, f3, f4 = st.columns([2, 1, 1, 1])
search = searched(f1.text_input(_("Search debtor"), placeholder=_("code or name"), key="ageing_search"))
segments = f2.multiselect(_("Segment"), sorted(rows["segment"].unique()), key="ageing_segments", placeholder=_("all"))
managers = f3.multiselect(_("Account manager"), sorted(rows["account_manager"].unique()), key="ageing_managers", placeholder=_("all"))
track_filter = f4.multiselect(_("Track"), sorted(t for t in rows["track"].unique() if t), key="ageing_tracks", placeholder=_("all"))
in_plan = st.toggle(_("Only debtors in a payment plan"), key="ageing_in_plan")
shown = rows
if in_plan:
    shown = shown[shown["debtor_id"].isin(load_in_plan(ledger_version()))]
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
filters = [f"{name}: {', '.join(values)}" for name, values in [
    (_("Search"), [search.strip()] if search.strip() else []), (_("Segment"), segments),
    (_("Account manager"), managers), (_("Track"), track_filter)] if values]
if in_plan:
    filters.append(_("in a payment plan"))

# --- stacked bar --------------------------------------------------------------------------------------
GROUPS = {"total": _("total"), "segment": _("segment"), "account_manager": _("account manager")}
group_by = st.radio(_("Bars by"), list(GROUPS.values()), horizontal=True, key="ageing_bars")
column = next(c for c, label in GROUPS.items() if label == group_by)
bars = (shown[labels].sum().to_frame().T.assign(group=_("All") if not filtered else _("Selection"))
        if column == "total" else shown.groupby(column)[labels].sum().reset_index().rename(columns={column: "group"}))
fig = go.Figure()
for label, colour in zip(labels, BUCKET_COLOURS):
    fig.add_bar(y=bars["group"].astype(str), x=bars[label] / 100, name=shown_label(label), orientation="h",
                marker_color=colour, hovertemplate=f"{shown_label(label)}: %{{x:,.2f}} {currency}<extra>%{{y}}</extra>")
fig.update_layout(barmode="relative", height=170 + 32 * len(bars), margin=dict(l=10, r=10, t=10, b=10),
                  separators=",." if lang == "nl" else ".,", xaxis=dict(title=_("Open ({currency})", currency=currency),
                                                                       tickformat=",.0f"),
                  legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0, traceorder="normal"),
                  yaxis=dict(autorange="reversed"))
st.plotly_chart(fig, width="stretch")

# --- the table per debtor -----------------------------------------------------------------------------
DOSSIER, CODE, DEBTOR, TOTAL, ITEMS = _("Dossier"), _("Code"), _("Debtor"), _("Total"), _("Items")
DATES = "DD-MM-YYYY" if lang == "nl" else "DD MMM YYYY"
buckets = [shown_label(label) for label in labels]
table = pd.DataFrame({
    DOSSIER: dossier_urls(shown["debtor_code"]),
    CODE: shown["debtor_code"].astype(str), DEBTOR: shown["debtor_name"].astype(str),
    **{shown_label(label): shown[label] / 100 for label in labels},
    TOTAL: shown["total"] / 100, ITEMS: shown["items"],
    _("Segment"): shown["segment"].astype(str), _("Account manager"): shown["account_manager"].astype(str),
    _("Track"): shown["track"].astype(str),
}).reset_index(drop=True)
st.caption(_("{shown} of {all} debtors with open items in {currency} on {date} · total {total}. Select a row to "
             "see its invoices.", shown=len(table), all=len(rows), currency=currency, date=i18n.day(as_of),
             total=i18n.money(int(shown["total"].sum()), currency)))


def amount(value) -> str:
    return "" if pd.isna(value) else formatting.amount(round(value * 100), lang)


# amounts in the reader's own notation; a very long table (tens of thousands of debtors) goes to the browser
# as plain numbers, as formatting every cell on the server would take longer than the figures themselves
STYLED_ROWS = 5_000
event = st.dataframe(
    table.style.format({c: amount for c in [*buckets, TOTAL]}) if len(table) <= STYLED_ROWS else table,
    hide_index=True, width="stretch",
    on_select="rerun", selection_mode="single-row", key="ageing_table",
    column_config={DOSSIER: st.column_config.LinkColumn(DOSSIER, display_text=_("open it"), width=60),
                   CODE: st.column_config.TextColumn(CODE, width=70),
                   DEBTOR: st.column_config.TextColumn(DEBTOR, width=170, help=_("Hover a name to read it in full")),
                   **{c: st.column_config.NumberColumn(c, width=90, help=_("Open in {currency}", currency=currency),
                                                       format=None if len(table) <= STYLED_ROWS else "%.2f")
                      for c in [*buckets, TOTAL]},
                   ITEMS: st.column_config.NumberColumn(ITEMS, width=60)})

export = pd.DataFrame({
    CODE: shown["debtor_code"].astype(str), DEBTOR: shown["debtor_name"].astype(str),
    **{shown_label(label): shown[label].astype(int) for label in labels}, TOTAL: shown["total"].astype(int),
    ITEMS: shown["items"], _("Segment"): shown["segment"], _("Account manager"): shown["account_manager"],
    _("Track"): shown["track"], _("Currency"): currency})
header = [_("As of {date}", date=i18n.day(as_of)), _("Age by {basis}", basis=BASES[basis]),
          _("Currency: {currency}", currency=currency), *filters]


def report(kind: str) -> bytes:
    return exports.report(export, kind, lang=lang, title=_("Ageing"), header=header, money=[*buckets, TOTAL],
                          total_label=TOTAL, sheet=_("Ageing"))


e1, e2, e3, _gap = st.columns([1.2, 1.2, 1.6, 2])
stamp = f"{as_of:%Y%m%d}_{currency}"
# the files are made when a button is clicked, not on every rerun
e1.download_button(_("Export CSV"), lambda: report("csv"), f"ageing_{stamp}.csv", "text/csv",
                   icon=":material/download:", on_click="ignore", key="ageing_csv")
e2.download_button(_("Export Excel"), lambda: report("xlsx"), f"ageing_{stamp}.xlsx",
                   "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", icon=":material/download:",
                   on_click="ignore", key="ageing_xlsx")
e3.download_button(_("Ageing report (PDF)"), lambda: load_pdf(version, as_of, edges, basis, lang, " · ".join(header[1:])),
                   f"ageing_{as_of:%Y%m%d}.pdf", "application/pdf", icon=":material/picture_as_pdf:",
                   on_click="ignore", key="ageing_pdf", help=_("Every currency, with the KPIs and the largest debtors"))

# --- the invoices behind a cell -------------------------------------------------------------------------
selected = event.selection.rows if event is not None else []
if selected:
    code = table.iloc[selected[0]][CODE]
    name = table.iloc[selected[0]][DEBTOR]
    st.subheader(_("Open items of {name} ({code}) on {date}", name=name, code=code, date=i18n.day(as_of)))
    dossier_link(code, _("Open the dossier"))
    items = load_invoices(version, as_of, code, edges, basis)
    items = items[items["currency"] == currency]
    with_amount = [label for label in labels if (items["bucket"] == label).any()]
    bucket_words = {b: _("all") if b == "all" else shown_label(b) for b in ["all", *with_amount]}
    pick = st.segmented_control(_("Bucket"), ["all", *with_amount], default="all", required=True,
                                format_func=bucket_words.get,
                                key=f"ageing_bucket_{code}")
    if pick != "all":
        items = items[items["bucket"] == pick]
    AMOUNT, OPEN = _("Amount"), _("Open")
    invoices = pd.DataFrame({
        _("Invoice"): items["number"].astype(str), _("Invoice date"): items["invoice_date"],
        _("Due date"): items["due_date"], _("Days"): items["days"], _("Bucket"): items["bucket"].map(shown_label),
        AMOUNT: items["amount_cents"] / 100, OPEN: items["open_cents"] / 100,
        _("Disputed"): items["disputed"].map({True: _("yes"), False: ""}).fillna(""),
    })
    st.dataframe(invoices.style.format({AMOUNT: amount, OPEN: amount}), hide_index=True, width="stretch",
                 column_config={_("Invoice date"): st.column_config.DateColumn(format=DATES),
                                _("Due date"): st.column_config.DateColumn(format=DATES)})
