"""Analytics services: the ageing, KPIs, the DSO series, the cash-in forecast and payment behaviour. Each
takes a unit of work and primitives, reads through db.analytics_queries and computes in receivables.domain
(ageing, metrics). They only read; the daily sums they read are repaired at start-up or by
`python -m receivables db repair` (`ensure_daily_sums`, `repair_daily_sums`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd
from sqlalchemy import func, select

from db import analytics_queries as q
from db.models import Debtor, ImportBatch, Invoice, Note
from db.uow import UnitOfWork
from db.uow import data_version as uow_data_version
from emails import reports
from receivables.domain import formatting, metrics
from receivables.domain.ageing import DEFAULT_EDGES, BucketSpec, ageing_table, assign_buckets, currency_totals
from receivables.domain.money import to_units
from receivables.domain.translation import N_, translate
from receivables.services.errors import ServiceError
from receivables.services.reminder_settings import PAYMENT_KEY
from receivables.services.settings import get_setting
from receivables.services.wording import company_name


def _months(months: int, *, most: int = 120) -> int:
    if not isinstance(months, int) or months < 1 or months > most:
        raise ServiceError("months must be a whole number from 1 to {most}, not {months!r}", most=most,
                           months=months)
    return months


def behaviour(uow: UnitOfWork, as_of: date | None = None, months: int = 12, *,
              every_debtor: bool = True, debtor_ids: list[int] | None = None) -> pd.DataFrame:
    """Payment behaviour per debtor over the invoices paid in the `months` months up to `as_of`: one
    row per debtor (debtor_id, code, name, invoices_paid, amount_paid_cents, avg_days_late, avg_days_to_pay,
    std_days_late, share_paid_late, share_paid_late_30, trend); debtors without payments in the window
    have invoices_paid 0 and empty averages. `every_debtor=False`: only the debtors with payments in the
    window, without their names (what the track rules read), of the `debtor_ids` when given."""
    as_of = as_of or date.today()
    months = _months(months)
    start = metrics.months_back(as_of, months)
    sums = q.behaviour_sums(uow.session, start, metrics.months_back(as_of, metrics.RECENT_MONTHS), as_of,
                            None if every_debtor else debtor_ids)
    if not every_debtor:
        return metrics.behaviour_from_sums(sums)
    debtors = q.debtors(uow.session)
    frame = metrics.behaviour_from_sums(sums, debtors=debtors)  # = payment_behaviour of the paid invoices
    return frame.merge(debtors[["debtor_id", "name"]], on="debtor_id", how="left")


# --- ageing with KPIs --------------------------------------------------------------------------------

@dataclass(frozen=True)
class AgeingView:
    """The ageing of one date: per debtor and currency the open amount per bucket, plus the totals."""

    as_of: date
    spec: BucketSpec
    per_debtor: pd.DataFrame  # debtor_id, debtor_code, debtor_name, segment, account_manager, currency, <labels>, total, overdue, items
    totals: dict[str, dict[str, int]]  # per currency: {label: cents, 'total': cents, 'overdue': cents}

    @property
    def currencies(self) -> list[str]:
        return sorted(self.totals)


def _spec(edges, basis: str) -> BucketSpec:
    try:
        return BucketSpec(tuple(int(e) for e in edges), basis)
    except (TypeError, ValueError) as exc:
        msgid = getattr(exc, "msgid", None) or str(exc)
        raise ServiceError(msgid, **getattr(exc, "params", {})) from None


def parse_edges(text: str) -> tuple[int, ...]:
    """'0, 30, 60, 90' → (0, 30, 60, 90); a ServiceError says what to fix."""
    try:
        edges = tuple(int(part) for part in text.replace(";", ",").split(",") if part.strip())
    except ValueError:
        raise ServiceError("bucket edges must be whole days separated by commas, e.g. 0, 30, 60, 90; got '{text}'",
                           text=text) from None
    if not edges or list(edges) != sorted(set(edges)) or edges[0] < 0:
        raise ServiceError("bucket edges must be increasing whole days from 0, e.g. 0, 30, 60, 90; got '{text}'",
                           text=text)
    if len(edges) > 8:
        raise ServiceError("at most 8 bucket edges (9 buckets)")
    return edges


def ageing(uow: UnitOfWork, as_of: date | None = None, edges=DEFAULT_EDGES, basis: str = "due") -> AgeingView:
    """The ageing on `as_of` (reconstructed from the dated changes), by due date or invoice date, summed
    in the database: the one ageing of the page, the command line, the KPIs and the top DSO debtors."""
    as_of = as_of or date.today()
    spec = _spec(edges, basis)
    return _view(as_of, spec, q.ageing_sums(uow.session, as_of, spec.cut_dates(as_of), spec.basis))


def ageing_and_overdue_before(uow: UnitOfWork, as_of: date, edges=DEFAULT_EDGES, basis: str = "due",
                              days_before: int = 30) -> tuple[AgeingView, dict[str, int]]:
    """`ageing` on `as_of`, and per currency the debtors overdue `days_before` days earlier (what the KPIs'
    change compares, as `debtors_overdue` of the ageing of that day), in one pass over the ledger."""
    spec = _spec(edges, basis)
    before = as_of - timedelta(days=days_before)
    sums = q.ageing_sums(uow.session, as_of, spec.cut_dates(as_of), spec.basis, before=(before, spec.cut_dates(before)))
    return _view(as_of, spec, sums), _per_currency(sums, sums["overdue_before"])


def _view(as_of: date, spec: BucketSpec, sums: pd.DataFrame) -> AgeingView:
    per_debtor = ageing_table(sums, spec.labels)
    return AgeingView(as_of, spec, per_debtor, currency_totals(per_debtor, spec.labels))


def debtors_overdue(view: AgeingView) -> dict[str, int]:
    """Per currency the debtors with something past due on the view's date."""
    rows = view.per_debtor
    return _per_currency(rows, rows["overdue"] > 0)


def _per_currency(rows: pd.DataFrame, which: pd.Series) -> dict[str, int]:
    """How many of the rows (one per debtor and currency) `which` picks, per currency."""
    return {str(c): int(n) for c, n in rows.loc[which, "currency"].value_counts().items()}


def invoices_behind(uow: UnitOfWork, as_of: date, debtor_code: str, edges=DEFAULT_EDGES,
                    basis: str = "due", bucket: str | None = None) -> pd.DataFrame:
    """The open items of one debtor on `as_of` with their bucket: what a cell of the ageing is made of."""
    spec = _spec(edges, basis)
    debtor = uow.session.scalar(select(Debtor).where(Debtor.code == debtor_code))
    if debtor is None:
        raise ServiceError("no debtor with code {debtor_code}", debtor_code=debtor_code)
    items = q.debtor_open_items(uow.session, as_of, debtor.id)
    items["bucket"] = assign_buckets(items, as_of, spec) if not items.empty else pd.Series(dtype=object)
    column = spec.date_column
    items["days"] = [(as_of - d).days for d in items[column]] if not items.empty else []
    if bucket is not None:
        if bucket not in spec.labels:
            raise ServiceError("unknown bucket {bucket!r}; choose one of {labels}", bucket=bucket,
                               labels=", ".join(spec.labels))
        items = items[items["bucket"] == bucket]
    return items.sort_values(["currency", column], ignore_index=True)


def _kpi_units(currency: str, as_of: date, k: dict) -> dict:
    return {
        "as_of": as_of.isoformat(), "currency": currency,
        "total_open": to_units(k["total_open_cents"]), "overdue": to_units(k["overdue_cents"]),
        "overdue_share": None if k["overdue_share"] is None else round(k["overdue_share"], 4),
        "dso_count_back": metrics.round_or_none(k["dso_count_back"]), "dso_standard": metrics.round_or_none(k["dso_standard"]),
        "best_possible_dso": metrics.round_or_none(k["best_possible_dso"]),
        "average_days_delinquent": metrics.round_or_none(k["average_days_delinquent"]),
        "cei_month": metrics.round_or_none(k["cei_month"]),
    }


def _daily(uow: UnitOfWork) -> pd.DataFrame:
    if q.missing_ledger_day_triggers(uow.session):  # until start-up or a repair puts them back: slower, still right
        return q.ledger_days_from_ledger(uow.session)
    return q.ledger_days(uow.session)


def kpis(uow: UnitOfWork, as_of: date | None = None, currency: str | None = None) -> list[dict]:
    """The KPIs per currency on `as_of`: total open, overdue and its share, DSO count-back and
    standard, best possible DSO, average days delinquent and the CEI of the month ending `as_of`.
    Amounts in currency units rounded to cents, days to 0.1, shares as fractions, CEI in %."""
    as_of = as_of or date.today()
    ledgers = metrics.ledgers(_daily(uow))
    if currency is not None:
        currency = currency.upper()
        if currency not in ledgers:
            known = ", ".join(sorted(ledgers)) or "none yet"
            raise ServiceError("no invoices in {currency}; currencies in the ledger: {known}", currency=currency, known=known)
        ledgers = {currency: ledgers[currency]}
    out = [_kpi_units(cur, as_of, metrics.kpis_at(ledger, as_of)) for cur, ledger in ledgers.items()]
    return [k for k in out if currency is not None or k["total_open"] != 0 or len(out) == 1] or out


@dataclass(frozen=True)
class KpiCompare:
    """One currency's KPIs on a date and 30 days before, with the debtors overdue on both."""

    currency: str
    now: dict
    before: dict
    debtors_overdue: int
    debtors_overdue_before: int


def ageing_kpis(uow: UnitOfWork, view: AgeingView, days_before: int = 30,
                overdue_before: dict[str, int] | None = None) -> list[KpiCompare]:
    """The KPIs at the top of the ageing page, each with its value `days_before` days earlier
    (`overdue_before`: the debtors overdue that day per currency when at hand, from `ageing_and_overdue_before`)."""
    before_date = view.as_of - timedelta(days=days_before)
    ledgers = metrics.ledgers(_daily(uow))
    if overdue_before is None:
        overdue_before = debtors_overdue(ageing(uow, before_date, view.spec.edges, view.spec.basis))
    overdue_now = debtors_overdue(view)
    out = []
    for currency in view.currencies:
        ledger = ledgers.get(currency)
        if ledger is None:
            continue
        out.append(KpiCompare(currency, metrics.kpis_at(ledger, view.as_of), metrics.kpis_at(ledger, before_date),
                              overdue_now.get(currency, 0), overdue_before.get(currency, 0)))
    return out


PDF_KPIS = (N_("Total open"), N_("Overdue"), N_("Overdue share"), N_("DSO (count-back)"), N_("Best possible DSO"),
            N_("Avg days delinquent"), N_("Debtors overdue"))


def ageing_pdf(uow: UnitOfWork, view: AgeingView, kpis: list[KpiCompare], *, lang: str, filters: str = "",
               top: int = reports.TOP) -> bytes:
    """The month-end ageing report of a view as PDF: per currency the bucket totals, the KPIs and the
    largest debtors by total open, worded and formatted in `lang`, from the company of the payment details."""
    company = company_name(get_setting(uow.session, PAYMENT_KEY))
    by_currency = {k.currency: k for k in kpis}
    labels = view.spec.labels
    sections = []
    for currency in view.currencies:
        totals = view.totals[currency]
        rows = view.per_debtor[view.per_debtor["currency"] == currency].sort_values("total", ascending=False)
        largest = [(str(r["debtor_code"]), str(r["debtor_name"]), {c: int(r[c]) for c in [*labels, "total"]})
                   for r in rows.head(top).to_dict("records")]
        sections.append(reports.CurrencyAgeing(currency, {c: int(totals.get(c, 0)) for c in [*labels, "total"]},
                                               _pdf_kpis(by_currency.get(currency), currency, lang), largest))
    return reports.ageing_pdf(sections, as_of=view.as_of, company=company, lang=lang, filters=filters)


def _pdf_kpis(k: KpiCompare | None, currency: str, lang: str) -> dict[str, str]:
    if k is None:
        return {}
    now = k.now
    values = (formatting.money(now["total_open_cents"], currency, lang),
              formatting.money(now["overdue_cents"], currency, lang), formatting.percent(now["overdue_share"], lang),
              formatting.days(now["dso_count_back"], lang), formatting.days(now["best_possible_dso"], lang),
              formatting.days(now["average_days_delinquent"], lang), str(k.debtors_overdue))
    return {translate(label, lang): value for label, value in zip(PDF_KPIS, values)}


# --- DSO series and trends -------------------------------------------------------------------------

SERIES_UNITS = ("total_open_cents", "overdue_cents", "credit_sales_cents")


def dso_series(uow: UnitOfWork, as_of: date | None = None, months: int = 24, by: str | None = None) -> pd.DataFrame:
    """Monthly series (month ends, the last one `as_of`) per currency: AR, overdue share, credit sales,
    DSO count-back and standard, BPDSO, ADD, CEI. `by` = 'segment' or 'account_manager' gives the
    same series per group (column `group`), computed from the ledger itself."""
    as_of = as_of or date.today()
    months = _months(months)
    if by is None:
        return metrics.dso_series(_daily(uow), as_of, months)
    if by not in ("segment", "account_manager"):
        raise ServiceError("series can be split by segment or account_manager, not {by!r}", by=by)
    daily = q.ledger_days_by(uow.session, by)
    frames = []
    for group, g in daily.groupby("grp", sort=True):
        series = metrics.dso_series(g.drop(columns=["grp"]), as_of, months)
        frames.append(series.assign(group=group))
    if not frames:
        return metrics.dso_series(daily.iloc[0:0].drop(columns=["grp"]), as_of, months).assign(group=None)
    return pd.concat(frames, ignore_index=True)


def series_json(series: pd.DataFrame) -> list[dict]:
    """The CLI's rows: the KPI keys plus month and credit_sales, amounts in units."""
    out = []
    for r in series.to_dict("records"):
        row = {"month": r["month"], **_kpi_units(r["currency"], r["as_of"], r),
               "credit_sales": to_units(int(r["credit_sales_cents"]))}
        if "group" in r:
            row["group"] = r["group"]
        out.append(row)
    return out


def top_dso_debtors(uow: UnitOfWork, as_of: date | None = None, top: int = 10) -> pd.DataFrame:
    """Per currency the `top` debtors adding most to standard DSO (and how much of it is overdue)."""
    as_of = as_of or date.today()
    view = ageing(uow, as_of)
    ledgers = metrics.ledgers(_daily(uow))
    sales = {cur: ledger.sales(as_of - timedelta(days=90), as_of) for cur, ledger in ledgers.items()}
    frame = view.per_debtor.rename(columns={"total": "total_cents", "overdue": "overdue_cents"})
    return metrics.dso_contributions(frame, sales, top)


# --- cash-in forecast ---------------------------------------------------------------------------------

DOUBTFUL_KEY = "forecast.doubtful_after_days"


@dataclass(frozen=True)
class Forecast:
    as_of: date
    weeks: pd.DataFrame  # currency, week, week_start, expected_cents, low_cents, high_cents
    portfolio_delay: float  # signed, amount-weighted days after the due date (negative = early)
    portfolio_spread: float
    doubtful: dict[str, dict]  # per currency: cents and invoices overdue more than doubtful_after days
    doubtful_after: int
    naive: pd.DataFrame  # the due-date baseline, same columns

    @property
    def portfolio_days_late(self) -> float:
        return self.portfolio_delay


def doubtful_after_days(uow: UnitOfWork, value: int | None = None) -> int:
    """How many days overdue an invoice may be before the forecast puts it on the doubtful line: the
    given value, else the setting, else 180."""
    days = value if value is not None else get_setting(uow.session, DOUBTFUL_KEY, metrics.DOUBTFUL_AFTER_DAYS)
    try:
        days = int(days)
    except (TypeError, ValueError):
        days = metrics.DOUBTFUL_AFTER_DAYS
    if not 1 <= days <= 3650:
        raise ServiceError("the doubtful line takes invoices overdue 1 to 3,650 days; choose a number in that range")
    return days


def disputed_on(uow: UnitOfWork, as_of: date, invoice_ids) -> set[int]:
    """The invoices among these that were disputed on `as_of`: by the dossier's dispute and resolution
    notes up to that day; an invoice disputed without notes (flagged by an import) counts from the day
    of the import that brought it."""
    s = uow.session
    ids = [int(i) for i in invoice_ids]
    state: dict[int, tuple] = {}
    noted: set[int] = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        for inv_id, kind, at in s.execute(select(Note.invoice_id, Note.kind, Note.created_at).where(
                Note.invoice_id.in_(chunk), Note.kind.in_(("dispute", "dispute_resolved")))):
            noted.add(inv_id)
            if at.date() <= as_of and (inv_id not in state or at >= state[inv_id][1]):
                state[inv_id] = (kind, at)
        for inv_id, since in s.execute(select(Invoice.id, ImportBatch.as_of)
                                       .outerjoin(ImportBatch, ImportBatch.id == Invoice.batch_id)
                                       .where(Invoice.id.in_(chunk), Invoice.disputed.is_(True))):
            if inv_id not in noted and (since is None or since <= as_of):
                state[inv_id] = ("dispute", None)
    return {i for i, (kind, _) in state.items() if kind == "dispute"}


def forecast(uow: UnitOfWork, as_of: date | None = None, weeks: int = 13, doubtful_after: int | None = None) -> Forecast:
    """Expected receipts per currency and week for the `weeks` weeks after `as_of`, the due-date
    baseline, and the doubtful line (invoices overdue longer than `doubtful_after` days)."""
    as_of = as_of or date.today()
    if not 1 <= weeks <= 52:
        raise ServiceError("the forecast covers 1 to 52 weeks")
    after = doubtful_after_days(uow, doubtful_after)
    items = q.open_items_at(uow.session, as_of)
    if not items.empty:  # the dispute state as it was on that day, not as it is now
        items["disputed"] = items["invoice_id"].isin(disputed_on(uow, as_of, items["invoice_id"]))
    paid = q.paid_invoices(uow.session, metrics.months_back(as_of, 12), as_of)
    delays, portfolio = metrics.payment_delays(paid, as_of, 12)
    return Forecast(as_of, metrics.cash_forecast(items, delays, as_of, weeks, portfolio, after), *portfolio,
                    metrics.doubtful(items, as_of, after), after, metrics.naive_forecast(items, as_of, weeks, after))


@dataclass(frozen=True)
class Backtest:
    made_on: date
    weeks: pd.DataFrame  # forecast columns + actual_cents, error_cents, naive_cents, naive_error_cents
    error: dict[str, dict]  # per currency: wape, bias_cents, coverage, naive_wape, naive_bias_cents, …
    coverage_claimed: float = metrics.BAND_COVERAGE


def forecast_backtest(uow: UnitOfWork, as_of: date | None = None, weeks: int = 13,
                      doubtful_after: int | None = None) -> Backtest:
    """The forecast made `weeks` weeks before `as_of`, and the due-date baseline of that day, against what
    came in on those invoices since."""
    as_of = as_of or date.today()
    made_on = as_of - timedelta(days=7 * weeks)
    fc = forecast(uow, made_on, weeks, doubtful_after)
    receipts = q.receipts(uow.session, made_on, made_on + timedelta(days=7 * weeks))
    bt = metrics.backtest(fc.weeks, receipts, made_on, weeks, naive=fc.naive)
    return Backtest(made_on, bt, metrics.forecast_error(bt))


def forecast_json(fc: Forecast) -> list[dict]:
    rows = [{"currency": r["currency"], "week_start": r["week_start"].isoformat(),
             "expected": to_units(int(r["expected_cents"])), "low": to_units(int(r["low_cents"])),
             "high": to_units(int(r["high_cents"]))} for r in fc.weeks.to_dict("records")]
    # the doubtful line: one row per currency with no week, after the weeks
    rows += [{"currency": c, "week_start": None, "doubtful": to_units(d["cents"]), "invoices": d["invoices"],
              "overdue_more_than_days": fc.doubtful_after} for c, d in fc.doubtful.items()]
    return rows


def behaviour_json(frame: pd.DataFrame) -> list[dict]:
    def num(v, digits):
        return None if pd.isna(v) else round(float(v), digits)

    return [{"code": r["code"], "invoices_paid": int(r["invoices_paid"]),
             "avg_days_late": num(r["avg_days_late"], 1), "avg_days_to_pay": num(r["avg_days_to_pay"], 1),
             "share_paid_late": num(r["share_paid_late"], 4), "share_paid_late_30": num(r["share_paid_late_30"], 4),
             "trend": num(r["trend"], 1)}
            for r in frame.to_dict("records")]


# --- the command line's ageing and the ledger's state ----------------------------------------------

AgeingReport = AgeingView  # the name the command line's printer knows it by


def only_debtors(view: AgeingView, debtor_ids) -> AgeingView:
    """The ageing of some debtors only (the "in a payment plan" filter), totals summed again."""
    rows = view.per_debtor[view.per_debtor["debtor_id"].isin(set(debtor_ids))].reset_index(drop=True)
    return AgeingView(view.as_of, view.spec, rows, currency_totals(rows, view.spec.labels))


def ageing_report(uow: UnitOfWork, as_of: date | None = None, spec: BucketSpec = BucketSpec()) -> AgeingView:
    """`ageing` for a bucket spec made already (the command line's)."""
    return ageing(uow, as_of, spec.edges, spec.basis)


def ageing_json(view: AgeingView) -> dict | list[dict]:
    """The CLI's JSON form: one object, or a list of objects when there are several currencies."""
    labels = view.spec.labels
    out = []
    for currency in sorted(view.totals) or ["EUR"]:
        totals = view.totals.get(currency, {})
        rows = view.per_debtor[view.per_debtor["currency"] == currency]
        out.append({
            "as_of": view.as_of.isoformat(), "currency": currency, "buckets": labels,
            "totals": {k: to_units(totals.get(k, 0)) for k in [*labels, "total"]},
            "debtors": [{"code": r["debtor_code"], "name": r["debtor_name"],
                         **{c: to_units(int(r[c])) for c in [*labels, "total"]}}
                        for r in rows.to_dict("records")],
        })
    return out[0] if len(out) == 1 else out


@dataclass(frozen=True)
class DailySumsRepair:
    missing_triggers: list[str]  # the triggers that were not there and were put back
    days_changed: int  # (currency, day) rows of the daily sums the rebuild changed


def ensure_daily_sums(uow: UnitOfWork) -> list[str]:
    """At start-up: put back the daily sums' triggers when a table rebuild dropped them, rebuilding the
    sums; nothing is written when they are all there. Returns the ones that were missing."""
    missing = q.missing_ledger_day_triggers(uow.session)
    if missing:
        q.install_ledger_day(uow.session.connection())
        uow.commit()
    return missing


def repair_daily_sums(uow: UnitOfWork) -> DailySumsRepair:
    """Put the triggers back and rebuild the daily sums from the ledger, whatever state they are in."""
    s = uow.session
    missing = q.missing_ledger_day_triggers(s)
    before = q.ledger_days(s)
    q.install_ledger_day(s.connection())
    after = q.ledger_days(s)
    uow.commit()
    key = ["currency", "day"]
    both = before.merge(after, on=key, how="outer", suffixes=("_before", ""), indicator=True)
    sums = ["sales_cents", "change_cents", "overdue_cents", "overdue_change_cents"]
    differs = both["_merge"] != "both"
    for c in sums:
        differs |= both[c].fillna(0) != both[f"{c}_before"].fillna(0)
    return DailySumsRepair(missing, int(differs.sum()))


def data_version(uow: UnitOfWork) -> str:
    """Changes with every committed write, whoever made it (a page on any app server, the CLI or cron):
    the number `UnitOfWork.commit` raises in the database. One row read by its key."""
    return str(uow_data_version(uow.session))


def earliest_date(uow: UnitOfWork) -> date | None:
    """The first date the ledger knows (its oldest invoice date), or None when it is empty: how far back a
    date picker must reach so that an imported old ledger can be looked at."""
    return uow.session.scalar(select(func.min(Invoice.invoice_date)))


def last_import(uow: UnitOfWork) -> ImportBatch | None:
    return uow.session.scalars(select(ImportBatch).where(ImportBatch.status == "applied")
                              .order_by(ImportBatch.imported_at.desc()).limit(1)).first()
