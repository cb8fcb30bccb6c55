"""Analytics against real SQLite and PostgreSQL: ageing on past dates, the KPIs of a small hand-computed
ledger, the daily sums the triggers keep, and the report commands."""

import json
import random
import subprocess
import sys
from datetime import date, timedelta

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.orm import selectinload

from db import analytics_queries as q
from db.models import Debtor, Invoice, InvoiceChange
from receivables.services import analytics, demo, errors, startup
from receivables.services.ledger import apply_change, apply_changes, recompute
from tests.conftest import ROOT
from tests.writes import writes

ANCHOR = date(2026, 6, 30)


def build_small_ledger(u):
    """Two debtors: EUR (three invoices and a credit note) and USD (one invoice)."""
    s = u.session
    a = Debtor(code="A01", name="Alfa B.V.", segment="Bouw", account_manager="Sanne")
    b = Debtor(code="B02", name="Bravo Ltd", segment="Retail", account_manager="Tom")
    s.add_all([a, b])
    s.flush()

    def invoice(number, debtor, issued, due, cents, currency="EUR"):
        inv = Invoice(number=number, debtor_id=debtor.id, invoice_date=issued, due_date=due, currency=currency,
                      amount_cents=cents, open_cents=cents)
        s.add(inv)
        s.flush()
        return inv

    inv1 = invoice("INV1", a, date(2024, 1, 1), date(2024, 1, 31), 1000_00)
    apply_change(s, inv1, date(2024, 2, 15), "payment", -600_00)
    apply_change(s, inv1, date(2024, 4, 10), "payment", -400_00)
    inv2 = invoice("INV2", a, date(2024, 2, 10), date(2024, 3, 11), 500_00)
    apply_change(s, inv2, date(2024, 3, 20), "payment", -500_00)
    cn1 = invoice("CN1", a, date(2024, 3, 1), date(2024, 3, 1), -100_00)
    apply_change(s, cn1, date(2024, 5, 1), "credit", 100_00)
    invoice("INV3", a, date(2024, 3, 15), date(2024, 4, 14), 2000_00)
    inv4 = invoice("INV4", b, date(2024, 1, 15), date(2024, 2, 14), 300_00, "USD")
    apply_change(s, inv4, date(2024, 5, 20), "payment", -300_00)
    u.commit()


LABELS = ["not_due", "1-30", "31-60", "61-90", "90+"]


# as_of -> {currency: (not_due, 1-30, 31-60, 61-90, 90+)} in units, worked out by hand
HAND_AGEING = {
    date(2023, 12, 31): {},
    date(2024, 1, 31): {"EUR": (1000, 0, 0, 0, 0), "USD": (300, 0, 0, 0, 0)},
    date(2024, 2, 29): {"EUR": (500, 400, 0, 0, 0), "USD": (0, 300, 0, 0, 0)},
    date(2024, 3, 31): {"EUR": (2000, -100, 400, 0, 0), "USD": (0, 0, 300, 0, 0)},
    date(2024, 4, 30): {"EUR": (0, 2000, -100, 0, 0), "USD": (0, 0, 0, 300, 0)},
    date(2024, 6, 30): {"EUR": (0, 0, 0, 2000, 0)},
    date(2024, 9, 30): {"EUR": (0, 0, 0, 0, 2000)},
}


@pytest.mark.parametrize("as_of", list(HAND_AGEING))
def test_ageing_on_a_past_date_matches_the_hand_computed_ledger(uow, as_of):
    with uow() as u:
        build_small_ledger(u)
    with uow() as u:
        view = analytics.ageing(u, as_of)
    got = {cur: tuple(t[label] // 100 for label in LABELS) for cur, t in view.totals.items()}
    assert got == HAND_AGEING[as_of]
    for t in view.totals.values():
        assert t["total"] == sum(t[label] for label in LABELS)
        assert t["overdue"] == t["total"] - t["not_due"]


def test_ageing_by_invoice_date_counts_days_since_the_invoice(uow):
    with uow() as u:
        build_small_ledger(u)
    with uow() as u:
        view = analytics.ageing(u, date(2024, 3, 31), (30, 60, 90), "invoice")
    # INV1 (90 days) 400, CN1 (30 days) -100, INV3 (16 days) 2000
    assert view.totals["EUR"] == {"0-30": 1900_00, "31-60": 0, "61-90": 400_00, "90+": 0, "total": 2300_00,
                                  "overdue": 300_00}


def test_the_invoices_behind_a_row_are_that_debtors_open_items_with_their_bucket(uow):
    with uow() as u:
        build_small_ledger(u)
    with uow() as u:
        items = analytics.invoices_behind(u, date(2024, 3, 31), "A01")
        only = analytics.invoices_behind(u, date(2024, 3, 31), "A01", bucket="31-60")
        with pytest.raises(errors.ServiceError, match="no debtor"):
            analytics.invoices_behind(u, date(2024, 3, 31), "ZZZ")
    assert dict(zip(items["number"], items["bucket"])) == {"INV1": "31-60", "CN1": "1-30", "INV3": "not_due"}
    assert dict(zip(items["number"], items["open_cents"])) == {"INV1": 400_00, "CN1": -100_00, "INV3": 2000_00}
    assert only["number"].tolist() == ["INV1"]


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "receivables", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=180)


def test_kpis_of_the_small_ledger_are_the_hand_computed_ones(uow):
    with uow() as u:
        build_small_ledger(u)
    res = run_cli("report", "kpis", "--as-of", "2024-03-31", "--currency", "EUR", "--format", "json")
    assert res.returncode == 0, res.stderr
    # AR 2300, overdue 300 (400 - 100), sales of the 90 days 2400 (INV2, CN1, INV3)
    # count-back: March 1900 (31 d), then 400 of February's 500 (29 d) -> 31 + 23.2
    # CEI March: (900 + 1900 - 2300) / (900 + 1900 - 2000)
    assert json.loads(res.stdout) == {
        "as_of": "2024-03-31", "currency": "EUR", "total_open": 2300.0, "overdue": 300.0, "overdue_share": 0.1304,
        "dso_count_back": 54.2, "dso_standard": 86.2, "best_possible_dso": 75.0, "average_days_delinquent": 11.2,
        "cei_month": 62.5}


def test_kpis_never_add_currencies(uow):
    with uow() as u:
        build_small_ledger(u)
    res = run_cli("report", "kpis", "--as-of", "2024-03-31", "--format", "json")
    rows = json.loads(res.stdout)
    assert {r["currency"]: r["total_open"] for r in rows} == {"EUR": 2300.0, "USD": 300.0}


def test_the_dso_report_gives_a_row_per_month_and_currency(uow):
    with uow() as u:
        build_small_ledger(u)
    res = run_cli("report", "dso", "--as-of", "2024-06-30", "--months", "6", "--format", "json")
    assert res.returncode == 0, res.stderr
    rows = json.loads(res.stdout)
    eur = [r for r in rows if r["currency"] == "EUR"]
    assert [r["month"] for r in eur] == ["2024-01", "2024-02", "2024-03", "2024-04", "2024-05", "2024-06"]
    assert set(eur[0]) == {"month", "as_of", "currency", "total_open", "overdue", "overdue_share", "dso_count_back",
                           "dso_standard", "best_possible_dso", "average_days_delinquent", "cei_month", "credit_sales"}
    march = eur[2]
    assert (march["as_of"], march["total_open"], march["credit_sales"], march["dso_count_back"]) == \
        ("2024-03-31", 2300.0, 1900.0, 54.2)
    assert [r["credit_sales"] for r in eur] == [1000.0, 500.0, 1900.0, 0.0, 0.0, 0.0]


def test_the_forecast_report_gives_thirteen_weeks(uow):
    with uow() as u:
        demo.load_demo(u, seed=3, anchor=ANCHOR)
    res = run_cli("report", "forecast", "--as-of", ANCHOR.isoformat(), "--format", "json")
    assert res.returncode == 0, res.stderr
    rows = [r for r in json.loads(res.stdout) if r["currency"] == "EUR" and r["week_start"] is not None]
    assert len(rows) == 13
    assert rows[0]["week_start"] == (ANCHOR + timedelta(days=1)).isoformat()
    assert all(r["low"] <= r["expected"] <= r["high"] for r in rows)
    assert sum(r["expected"] for r in rows) > 0


def test_the_backtest_sets_the_forecast_of_13_weeks_ago_against_the_receipts(uow):
    with uow() as u:
        demo.load_demo(u, seed=3, anchor=ANCHOR)
    with uow() as u:
        bt = analytics.forecast_backtest(u, ANCHOR)
        paid = u.session.execute(text(
            "SELECT -SUM(c.delta_cents) FROM invoice_change c JOIN invoice i ON i.id = c.invoice_id "
            "WHERE c.kind = 'payment' AND i.currency = 'EUR' AND c.change_date > :a AND c.change_date <= :b "
            "AND i.invoice_date <= :a"), {"a": bt.made_on, "b": ANCHOR}).scalar()
    assert bt.made_on == ANCHOR - timedelta(weeks=13)
    assert bt.error["EUR"]["actual_cents"] == paid
    assert 0 <= bt.error["EUR"]["wape"] < 100


def test_bad_input_to_the_reports_says_what_to_fix(engine):
    res = run_cli("report", "kpis", "--as-of", "2024-13-01")
    assert res.returncode == 2 and "YYYY-MM-DD" in res.stderr
    res = run_cli("report", "dso", "--months", "zero")
    assert res.returncode == 2 and "whole number" in res.stderr
    res = run_cli("report", "kpis", "--currency", "XYZ")
    assert res.returncode == 2 and "no invoices in XYZ" in res.stderr


# --- the daily sums the triggers keep ---------------------------------------------------------------

def daily_equals_a_rebuild(u):
    kept = q.ledger_days(u.session)
    q.install_ledger_day(u.session.connection())
    return kept.equals(q.ledger_days(u.session))


def test_the_daily_sums_follow_every_kind_of_ledger_change(uow):
    with uow() as u:
        demo.load_demo(u, seed=6, anchor=ANCHOR)
    with uow() as u:
        s = u.session
        invoices = s.scalars(select(Invoice).order_by(Invoice.id).limit(6)).all()
        apply_change(s, invoices[0], ANCHOR, "payment", -1234)
        invoices[1].due_date = invoices[1].due_date + timedelta(days=40)  # a corrected due date moves its changes too
        invoices[2].amount_cents += 500
        invoices[2].open_cents += 500
        invoices[3].currency = "USD"
        s.execute(update(InvoiceChange).where(InvoiceChange.invoice_id == invoices[4].id)
                  .values(change_date=ANCHOR - timedelta(days=1)))
        s.execute(delete(InvoiceChange).where(InvoiceChange.invoice_id == invoices[5].id))
        s.delete(invoices[5])
        s.flush()
        u.commit()
    with uow() as u:
        assert daily_equals_a_rebuild(u)


def test_a_statement_of_many_changes_and_its_undo_keep_the_daily_sums_right(uow, engine):
    """As a bank statement books its payments (many changes of one day in one go) and its undo removes them."""
    with uow() as u:
        demo.load_demo(u, seed=6, anchor=ANCHOR)
    with uow() as u:
        s = u.session
        before = s.scalar(select(InvoiceChange.id).order_by(InvoiceChange.id.desc()).limit(1)) or 0
        invoices = s.scalars(select(Invoice).where(Invoice.open_cents > 0).order_by(Invoice.id).limit(60)).all()
        changes = [(inv.id, ANCHOR, "payment", -min(inv.open_cents, 1_000 + k), None) for k, inv in enumerate(invoices)]
        changes += [(inv.id, ANCHOR - timedelta(days=400), "write_off", -1, None) for inv in invoices[:5]]
        apply_changes(s, changes)
        u.commit()
    with uow() as u:
        assert daily_equals_a_rebuild(u)
        u.session.execute(delete(InvoiceChange).where(InvoiceChange.id > before))
        u.commit()
    with uow() as u:
        assert daily_equals_a_rebuild(u)
    if engine.dialect.name == "postgresql":  # summed once a statement there, not upserted once a row
        with engine.connect() as conn:
            per_row = dict(conn.execute(text(
                "SELECT t.tgname, (t.tgtype & 1) = 1 FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE c.relname = 'invoice_change' AND t.tgname LIKE 'trg_ledger_day_%' "
                "AND c.relnamespace = to_regnamespace(current_schema())::oid")).all())
        assert per_row == {"trg_ledger_day_change_insert": False, "trg_ledger_day_change_delete": False,
                           "trg_ledger_day_change_update": True}


def test_reloading_and_removing_the_demo_keeps_the_daily_sums_right(uow):
    with uow() as u:
        demo.load_demo(u, seed=6, anchor=ANCHOR)
    with uow() as u:
        demo.load_demo(u, seed=7, anchor=ANCHOR)
    with uow() as u:
        assert daily_equals_a_rebuild(u)
        demo.remove_demo(u, actor="test")
    with uow() as u:
        assert q.ledger_days(u.session).empty


def drop_a_trigger(engine, name="trg_ledger_day_change_insert"):
    """What a table rebuild does to the daily sums' triggers."""
    with engine.begin() as conn:
        on = " ON invoice_change" if engine.dialect.name == "postgresql" else ""
        conn.execute(text(f"DROP TRIGGER {name}{on}"))


def test_missing_triggers_are_put_back_and_the_sums_rebuilt_at_start_up(uow, engine):
    with uow() as u:
        demo.load_demo(u, seed=6, anchor=ANCHOR)
        before = analytics.kpis(u, ANCHOR)
    drop_a_trigger(engine)
    with uow() as u:
        inv = u.session.scalars(select(Invoice).where(Invoice.open_cents > 0, Invoice.currency == "EUR")).first()
        apply_change(u.session, inv, ANCHOR, "payment", -inv.open_cents)
        paid = inv.open_cents
        u.commit()
    with uow() as u:
        meanwhile = analytics.kpis(u, ANCHOR)  # right without the triggers, from the ledger itself
    startup.bootstrap(engine, load_demo_on_first_start=False)
    with uow() as u:
        assert not q.ensure_ledger_day(u.session)  # every trigger is back
        assert daily_equals_a_rebuild(u)
        after = analytics.kpis(u, ANCHOR)
    eur_before = next(k for k in before if k["currency"] == "EUR")
    eur_after = next(k for k in after if k["currency"] == "EUR")
    assert paid == 0 and eur_after["total_open"] < eur_before["total_open"]
    assert meanwhile == after


def test_after_start_up_reading_the_figures_writes_nothing(uow, engine):
    with uow() as u:
        demo.load_demo(u, seed=6, anchor=ANCHOR)
    drop_a_trigger(engine)  # damaged, as a table rebuild leaves it
    startup.bootstrap(engine, load_demo_on_first_start=False)
    with writes(engine) as sent:
        with uow() as u:
            view = analytics.ageing(u, ANCHOR)
            analytics.kpis(u, ANCHOR)
            analytics.ageing_kpis(u, view)
            analytics.dso_series(u, ANCHOR, 6)
            analytics.top_dso_debtors(u, ANCHOR)
            analytics.forecast(u, ANCHOR)
            analytics.behaviour(u, ANCHOR)
    assert sent == []


def test_the_repair_command_puts_back_the_triggers_and_rebuilds_damaged_daily_sums(uow, engine):
    with uow() as u:
        demo.load_demo(u, seed=6, anchor=ANCHOR)
    drop_a_trigger(engine)
    with uow() as u:
        inv = u.session.scalars(select(Invoice).where(Invoice.open_cents > 0)).first()
        apply_change(u.session, inv, ANCHOR, "payment", -inv.open_cents)  # the sums miss this payment
        u.session.execute(text("UPDATE ledger_day SET sales_cents = sales_cents + 1"))  # and are off elsewhere
        u.commit()
    res = run_cli("db", "repair")
    assert res.returncode == 0, res.stderr
    assert "1 trigger was missing" in res.stdout and "daily sums rebuilt" in res.stdout
    with uow() as u:
        assert not q.ensure_ledger_day(u.session)
        assert daily_equals_a_rebuild(u)
    res = run_cli("db", "repair")  # a second time finds nothing to put back
    assert res.returncode == 0 and "every trigger was in place" in res.stdout and "0 days changed" in res.stdout


def open_on(u, as_of):
    """The reference: every invoice dated by `as_of`, its amount plus its changes dated by then."""
    out = {}
    for inv in u.session.scalars(select(Invoice).where(Invoice.invoice_date <= as_of)):
        left = inv.amount_cents + sum(c.delta_cents for c in inv.changes if c.change_date <= as_of)
        if left:
            out[inv.id] = (inv.currency, left)
    return out


def test_open_items_through_the_settled_index_are_the_reference_rows(uow):
    with uow() as u:
        demo.load_demo(u, seed=8, anchor=ANCHOR)
    with uow() as u:
        for as_of in (ANCHOR, ANCHOR - timedelta(days=45), ANCHOR - timedelta(days=200), ANCHOR - timedelta(days=400)):
            fast = q.open_items_at(u.session, as_of).sort_values("invoice_id", ignore_index=True)
            ref = open_on(u, as_of)
            assert fast["invoice_id"].tolist() == sorted(ref)
            assert fast["open_cents"].tolist() == [ref[i][1] for i in sorted(ref)]
            view = analytics.ageing(u, as_of)
            for currency, totals in view.totals.items():
                assert totals["total"] == sum(cents for cur, cents in ref.values() if cur == currency)


def test_the_invoices_behind_each_row_add_up_to_it(uow):
    with uow() as u:
        demo.load_demo(u, seed=8, anchor=ANCHOR)
        apply_change(u.session, u.session.scalars(select(Invoice).where(Invoice.open_cents > 0)).first(),
                     ANCHOR - timedelta(days=3), "payment", -100)  # a part payment
        u.commit()
    with uow() as u:
        for as_of in (ANCHOR, ANCHOR - timedelta(days=2), ANCHOR - timedelta(days=91), ANCHOR - timedelta(days=300)):
            for edges, basis in (((0, 30, 60, 90), "due"), ((14, 45), "invoice")):
                view = analytics.ageing(u, as_of, edges, basis)
                for row in view.per_debtor.head(8).to_dict("records"):
                    items = analytics.invoices_behind(u, as_of, row["debtor_code"], edges, basis)
                    items = items[items["currency"] == row["currency"]]
                    sums = items.groupby("bucket")["open_cents"].sum()
                    assert {label: int(sums.get(label, 0)) for label in view.spec.labels} == \
                        {label: row[label] for label in view.spec.labels}
                    assert len(items) == row["items"]


def ageing_by_hand(invoices, as_of, spec):
    """The reference ageing, invoice by invoice in Python: {(debtor_id, currency): (buckets, overdue, items)}."""
    rows = {}
    for inv in invoices:
        left = inv.amount_cents + sum(c.delta_cents for c in inv.changes if c.change_date <= as_of)
        if inv.invoice_date > as_of or not left:
            continue
        days = (as_of - (inv.due_date if spec.basis == "due" else inv.invoice_date)).days
        bucket = next((k for k, edge in enumerate(spec.edges) if days <= edge), len(spec.edges))
        buckets, overdue, items = rows.get((inv.debtor_id, inv.currency), ([0] * len(spec.labels), 0, 0))
        buckets[bucket] += left
        rows[(inv.debtor_id, inv.currency)] = (buckets, overdue + (left if inv.due_date < as_of else 0), items + 1)
    return {key: (tuple(b), o, n) for key, (b, o, n) in rows.items() if any(b)}


def as_rows(view):
    return {(r["debtor_id"], r["currency"]): (tuple(r[label] for label in view.spec.labels), r["overdue"], r["items"])
            for r in view.per_debtor.to_dict("records")}


def paid_reopened_and_paid_again(u, seed):
    """Part payments, reversals and late credits on random invoices, so that open amounts on a past day
    differ from today's in every way (an invoice open then and settled now, settled then and open now, zero
    on the day and open again after it)."""
    rng = random.Random(seed)
    invoices = u.session.scalars(select(Invoice).order_by(Invoice.id)).all()
    for inv in rng.sample(invoices, min(60, len(invoices))):
        day = inv.invoice_date + timedelta(days=rng.randint(0, 120))
        left = inv.amount_cents + sum(c.delta_cents for c in inv.changes if c.change_date <= day)
        apply_change(u.session, inv, day, "payment", -left)
        apply_change(u.session, inv, day + timedelta(days=rng.randint(1, 40)), "payment", rng.choice([left, left // 2, 1]))
        if rng.random() < 0.5:
            apply_change(u.session, inv, day + timedelta(days=rng.randint(41, 90)), "credit", -rng.randint(1, 500))
        u.session.flush()
        recompute(u.session, inv)
    u.commit()


@pytest.mark.parametrize("edges, basis", [((0, 30, 60, 90), "due"), ((14, 45), "invoice"), ((5, 20, 200), "due")])
def test_the_ageing_with_the_debtors_overdue_30_days_before_in_one_pass_is_each_dates_own(uow, edges, basis):
    with uow() as u:
        demo.load_demo(u, seed=11, anchor=ANCHOR)
        paid_reopened_and_paid_again(u, seed=len(edges))
    with uow() as u:
        spec = analytics.ageing(u, ANCHOR, edges, basis).spec
        invoices = u.session.scalars(select(Invoice).options(selectinload(Invoice.changes))).all()
        for as_of in (ANCHOR, ANCHOR - timedelta(days=17), ANCHOR - timedelta(days=95), ANCHOR - timedelta(days=330)):
            view, overdue_before = analytics.ageing_and_overdue_before(u, as_of, edges, basis)
            alone = analytics.ageing(u, as_of, edges, basis)
            assert view.per_debtor.equals(alone.per_debtor) and view.totals == alone.totals
            assert as_rows(view) == ageing_by_hand(invoices, as_of, spec)
            before = as_of - timedelta(days=30)
            assert overdue_before == analytics.debtors_overdue(analytics.ageing(u, before, edges, basis))
            by_hand = [currency for (_, currency), (_, overdue, _) in ageing_by_hand(invoices, before, spec).items()
                       if overdue > 0]
            assert overdue_before == {c: by_hand.count(c) for c in set(by_hand)}
            assert analytics.ageing_kpis(u, view, overdue_before=overdue_before) == analytics.ageing_kpis(u, view)


def test_ar_from_the_daily_sums_equals_the_open_items(uow):
    with uow() as u:
        demo.load_demo(u, seed=8, anchor=ANCHOR)
    with uow() as u:
        for as_of in (ANCHOR, ANCHOR - timedelta(days=31), ANCHOR - timedelta(days=250)):
            view = analytics.ageing(u, as_of)
            for k in analytics.kpis(u, as_of):
                totals = view.totals.get(k["currency"], {"total": 0, "overdue": 0})
                assert round(totals["total"] / 100, 2) == k["total_open"]
                assert round(totals["overdue"] / 100, 2) == k["overdue"]


def test_series_per_segment_add_up_to_the_portfolio(uow):
    with uow() as u:
        demo.load_demo(u, seed=8, anchor=ANCHOR)
    with uow() as u:
        whole = analytics.dso_series(u, ANCHOR, 6)
        split = analytics.dso_series(u, ANCHOR, 6, by="segment")
    summed = split.groupby(["currency", "month"])[["total_open_cents", "credit_sales_cents", "overdue_cents"]].sum()
    whole = whole.set_index(["currency", "month"])[["total_open_cents", "credit_sales_cents", "overdue_cents"]]
    assert summed.loc[whole.index].equals(whole)


def test_the_forecast_uses_the_dispute_state_of_its_own_day(uow):
    from receivables.services import dossier

    today = date.today()
    with uow() as u:
        d = Debtor(code="DSP", name="Dispuut B.V.")
        u.session.add(d)
        u.session.flush()
        u.session.add(Invoice(number="D-1", debtor_id=d.id, invoice_date=today - timedelta(days=40),
                              due_date=today + timedelta(days=3), amount_cents=50_000, open_cents=50_000))
        u.commit()
    with uow() as u:
        dossier.dispute_invoice(u, "DSP", "D-1", "wrong quantity", actor="carla")
    with uow() as u:
        before = analytics.forecast(u, today - timedelta(days=5))  # disputed only since today
        now = analytics.forecast(u, today)
    assert int(before.weeks["expected_cents"].sum()) == 50_000
    assert now.weeks.empty or int(now.weeks["expected_cents"].sum()) == 0
