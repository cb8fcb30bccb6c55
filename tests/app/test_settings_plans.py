"""The limits of payment plans on the Settings page: saved, audited, and refused with what to fix."""

from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from db.models import AuditEvent
from db.uow import UnitOfWork
from receivables.services import plans
from tests.app.login import log_in
from tests.conftest import ROOT


def page(language="en") -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / "settings.py"), default_timeout=60)
    log_in(at, "admin", "admin", language=language)
    return at.run()


def test_an_admin_changes_the_plan_limits(engine):
    from ui import state
    state.engine.clear()
    at = page()
    assert not at.exception
    at.number_input(key="plan_limit_terms").set_value(6)
    at.number_input(key="plan_limit_grace").set_value(2)
    at.number_input(key="plan_limit_least").set_value(50.0)
    at.button(key="plan_limits_save").click().run()
    assert not at.exception and not at.error
    assert "Plan limits saved." in [s.value for s in at.success]
    with UnitOfWork(engine) as u:
        limits = plans.limits(u.session)
        assert (limits.max_terms, limits.grace_days, limits.min_term_cents) == (6, 2, 5_000)
        event = u.session.scalar(select(AuditEvent).where(AuditEvent.action == "setting.change"))
        assert event.actor == "admin" and event.entity_id == "plans.limits"
    state.engine.clear()
