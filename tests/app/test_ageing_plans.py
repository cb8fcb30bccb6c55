"""The ageing's "in a plan" filter: only the debtors with a running payment plan."""

from datetime import date, timedelta

import pytest
from streamlit.testing.v1 import AppTest

from db.uow import UnitOfWork
from receivables.services import demo as demo_service
from receivables.services import plans, startup
from tests.app.login import log_in
from tests.conftest import ROOT

PAGE = str(ROOT / "pages" / "ageing.py")


@pytest.fixture
def demo(engine):
    startup.bootstrap(engine, load_demo_on_first_start=False)
    with UnitOfWork(engine) as u:
        demo_service.load_demo(u, seed=4, anchor=date.today())
    return engine


def test_the_in_a_plan_filter_leaves_only_the_debtors_with_a_running_plan(demo):
    at = AppTest.from_file(PAGE, default_timeout=60)
    log_in(at, "carla", "viewer")
    at.run()
    table = at.dataframe[0].value
    assert len(table) > 1
    code = table["Code"].iloc[0]
    with UnitOfWork(demo) as u:
        [first, *_] = plans.plannable_invoices(u, code)
        debtor_id, ids = plans.resolve(u, code, [first.number])
        plans.create_plan(u, debtor_id, ids, 1, date.today() + timedelta(days=1), actor="carla")
    at.toggle(key="ageing_in_plan").set_value(True).run()
    assert not at.exception
    assert at.dataframe[0].value["Code"].tolist() == [code]
    at.toggle(key="ageing_in_plan").set_value(False).run()
    assert len(at.dataframe[0].value) == len(table)
