"""The payment plans on the dossier, driven through AppTest: a collector makes a plan, accepts or rejects a
portal proposal and decides about a broken plan; a viewer only sees them."""

from datetime import date, timedelta

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from db.models import Debtor, Invoice, PaymentPlan
from db.uow import UnitOfWork
from receivables.services import plans
from tests.app.login import log_in
from tests.conftest import ROOT

PAGE = str(ROOT / "pages" / "dossier.py")


@pytest.fixture
def app_db(engine):
    from ui import state

    state.engine.clear()
    with UnitOfWork(engine) as u:
        s = u.session
        d = Debtor(code="0100", name="De Jong Bouw B.V.", email="crediteuren@dejong.nl", language="nl")
        s.add(d)
        s.flush()
        for n, (days_ago, cents) in enumerate([(75, 100_000), (45, 50_000), (40, 30_000)], start=1):
            issued = date.today() - timedelta(days=days_ago)
            s.add(Invoice(number=f"2026-000{n}", debtor_id=d.id, invoice_date=issued,
                          due_date=issued + timedelta(days=30), amount_cents=cents, open_cents=cents))
        u.commit()
    yield engine
    state.engine.clear()


def page(role: str, language: str = "en") -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    log_in(at, "carla" if role == "collector" else "vera", role, language=language)
    at.query_params["debtor"] = "0100"
    return at.run()


def submit(at: AppTest, key: str) -> AppTest:
    at.button(key=key).click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


def plan_lines(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown if m.value.startswith("**Plan") or m.value.startswith("**Regeling")]


def statuses(engine) -> list[str]:
    with UnitOfWork(engine) as u:
        return list(u.session.scalars(select(PaymentPlan.status).order_by(PaymentPlan.id)))


def test_a_collector_makes_a_plan_and_sees_its_terms(app_db):
    at = page("collector")
    assert not at.exception
    assert "No payment plans." in [c.value for c in at.caption]
    at.multiselect(key="plan_invoices").select("2026-0001").select("2026-0002")
    at.number_input(key="plan_terms").set_value(3)
    at.date_input(key="plan_start").set_value(date.today() + timedelta(days=3))
    at.text_area(key="plan_note").input("Afgesproken per telefoon")
    submit(at, "plan_create")
    assert at.success[0].value == "Plan made; its invoices left the reminder track."
    [line] = plan_lines(at)
    assert "active" in line and "€1,500.00 in 3 terms, monthly" in line
    [terms] = [f.value for f in at.dataframe if "Term" in f.value.columns]
    assert terms["Amount"].tolist() == ["€500.00", "€500.00", "€500.00"]
    assert terms["State"].tolist() == ["open", "open", "open"]
    assert statuses(app_db) == ["active"]
    # the plan's invoices cannot go into a second plan
    assert at.multiselect(key="plan_invoices").options == ["2026-0003 · €300.00"]


def test_a_plan_outside_the_limits_is_refused_with_what_to_change(app_db):
    at = page("collector")
    at.multiselect(key="plan_invoices").select("2026-0003")
    at.date_input(key="plan_start").set_value(date.today() + timedelta(days=40))
    at.button(key="plan_create").click().run()
    assert not at.exception
    assert "the first term may be at most 31 days away" in at.error[0].value
    assert statuses(app_db) == []


def test_a_collector_accepts_one_portal_proposal_and_rejects_another(app_db):
    today = date.today()
    with UnitOfWork(app_db) as u:
        debtor_id, first = plans.resolve(u, "0100", ["2026-0001"])
        _, second = plans.resolve(u, "0100", ["2026-0002"])
        plans.propose_plan(u, debtor_id, first, 2, today + timedelta(days=5), source="portal", actor="portal",
                           note="Ik betaal in **twee** delen [link](http://evil.example)")
        plans.propose_plan(u, debtor_id, second, 2, today + timedelta(days=5), source="portal", actor="portal")
    at = page("collector")
    assert len(plan_lines(at)) == 2
    assert "Ik betaal in **twee** delen [link](http://evil.example)" in [t.value for t in at.text]  # plain text
    submit(at, "plan_accept_1")
    assert at.success[0].value == "Plan accepted; its invoices left the reminder track."
    at.text_input(key="plan_reject_reason_2").input("Te lang")
    submit(at, "plan_reject_2")
    assert statuses(app_db) == ["active", "rejected"]


def test_a_collector_decides_about_a_broken_plan_in_dutch(app_db):
    today = date.today()
    with UnitOfWork(app_db) as u:
        debtor_id, ids = plans.resolve(u, "0100", ["2026-0001"])
        plans.create_plan(u, debtor_id, ids, 2, today - timedelta(days=10), actor="carla",
                          today=today - timedelta(days=10))
        plans.refresh(u, today)
    at = page("collector", language="nl")
    assert not at.exception
    [line] = plan_lines(at)
    assert line.startswith("**Regeling 1**") and "gebroken" in line and "in 2 termijnen, maandelijks" in line
    assert "Betalingsregelingen" in [h.value for h in at.subheader]
    at.radio(key="plan_choice_1").set_value("back_on_track")
    submit(at, "plan_decide_1")
    assert statuses(app_db) == ["ended"]


def test_a_viewer_sees_the_plans_but_cannot_act(app_db):
    with UnitOfWork(app_db) as u:
        debtor_id, ids = plans.resolve(u, "0100", ["2026-0001"])
        plans.propose_plan(u, debtor_id, ids, 2, date.today() + timedelta(days=5), source="portal", actor="portal")
    at = page("viewer")
    assert not at.exception
    assert len(plan_lines(at)) == 1
    keys = {b.key for b in at.button}
    assert not any(k and k.startswith("plan_") for k in keys)
