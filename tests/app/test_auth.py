"""The login gate and the role guard, driven through Streamlit's AppTest."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests import user_store as users
from tests.app.login import log_in
from tests.conftest import ROOT
from ui import nav


def english(at: AppTest) -> AppTest:
    """The login page follows the browser's language; these tests read it in English."""
    at.context = {"locale": "en-US"}
    return at


PAGE_FILES = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "pages").glob("*.py"))


@pytest.fixture
def demo_db(engine):
    from db.uow import UnitOfWork
    from receivables.services import demo, startup

    startup.bootstrap(engine)  # loads the demo on first start
    with UnitOfWork(engine) as u:
        assert demo.demo_present(u)
    return engine


@pytest.mark.parametrize("page", PAGE_FILES)
def test_a_page_opened_without_logging_in_shows_no_data(page, demo_db):
    at = english(AppTest.from_file(str(ROOT / page), default_timeout=60)).run()
    assert not at.exception
    assert [t.label for t in at.text_input] == ["User name", "Password"]
    assert not at.dataframe and not at.metric and not at.get("plotly_chart")


@pytest.mark.parametrize("page", [p for p in PAGE_FILES if Path(p).stem in ("settings", "sender")])
def test_a_viewer_cannot_open_admin_pages(page, demo_db):
    at = log_in(AppTest.from_file(str(ROOT / page), default_timeout=60), "vera", "viewer").run()
    assert not at.exception
    assert any("needs the admin role" in e.value for e in at.error)
    assert not at.dataframe and not at.button


def test_the_start_page_shows_only_the_login_form(demo_db):
    at = english(AppTest.from_file(str(ROOT / "desk.py"), default_timeout=60)).run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Debtor Desk"]
    assert [t.label for t in at.text_input] == ["User name", "Password"]
    assert not at.dataframe and not at.metric


@pytest.mark.parametrize("role, first", [("viewer", "Ageing"), ("collector", "Today")])
def test_logging_in_takes_one_click_and_shows_the_first_page_of_the_role(demo_db, role, first):
    password = users.add_user("carla", role)
    at = AppTest.from_file(str(ROOT / "desk.py"), default_timeout=60)
    at.session_state["_language"] = "en"
    at.run()
    at.text_input[0].input("carla")
    at.text_input[1].input(password)
    at.button[0].click().run()
    assert not at.exception
    assert at.session_state["authentication_status"] is True
    assert first in [t.value for t in at.title]
    assert at.metric  # the dashboard itself, not the form again


def test_a_wrong_password_is_refused(demo_db):
    users.add_user("carla", "collector")
    at = english(AppTest.from_file(str(ROOT / "desk.py"), default_timeout=60)).run()
    at.text_input[0].input("carla")
    at.text_input[1].input("not-the-password")
    at.button[0].click().run()
    assert not at.exception
    assert any("incorrect" in e.value for e in at.error)
    assert not at.metric


@pytest.mark.parametrize("role, hidden", [
    ("viewer", {"Import", "Sender", "Settings"}),
    ("collector", {"Sender", "Settings"}),
    ("admin", set()),
])
def test_the_navigation_offers_only_the_pages_of_the_role(role, hidden):
    titles = {t for _, t, _ in nav.pages_for(role, "en")}
    assert "Ageing" in titles and "Settings" in nav_titles("admin")
    assert not titles & hidden


def nav_titles(role):
    return {t for _, t, _ in nav.pages_for(role, "en")}


def test_a_logged_in_viewer_sees_the_dashboard_and_a_logout_button(demo_db):
    at = log_in(AppTest.from_file(str(ROOT / "desk.py"), default_timeout=60), "vera", "viewer").run()
    assert not at.exception
    assert at.metric
    assert [b.label for b in at.sidebar.button] == ["Log out"]
    assert any("demo data" in i.value for i in at.sidebar.info)


def test_settings_lists_users_and_the_audit_log(demo_db):
    users.add_user("carla", "collector")
    at = log_in(AppTest.from_file(str(ROOT / "pages/settings.py"), default_timeout=60), "admin", "admin").run()
    assert not at.exception
    users_table = at.dataframe[0].value
    assert {"admin", "carla"} <= set(users_table["username"])


def test_repeated_wrong_passwords_lock_the_login_with_the_wait_shown_and_audited(demo_db, monkeypatch):
    from sqlalchemy import select

    from db.models import AuditEvent
    from db.uow import UnitOfWork
    from receivables.services import login_throttle

    monkeypatch.setattr(login_throttle, "THROTTLE", login_throttle.LoginThrottle(clock=lambda: 1000.0))  # time stands still
    password = users.add_user("carla", "collector")
    at = english(AppTest.from_file(str(ROOT / "desk.py"), default_timeout=60)).run()
    for _ in range(4):
        at.text_input[0].input("carla")
        at.text_input[1].input("not-the-password")
        at = at.button[0].click().run()
        assert any("incorrect" in e.value for e in at.error)
    at.text_input[0].input("carla")
    at.text_input[1].input(password)  # the right one, but the user name is locked for a while
    at = at.button[0].click().run()
    assert not at.exception
    assert any("too many failed logins for the user name carla; try again in 2 seconds" in e.value for e in at.error)
    assert at.session_state["authentication_status"] is not True and not at.metric
    with UnitOfWork(demo_db) as u:
        events = u.session.execute(select(AuditEvent.action, AuditEvent.entity_id, AuditEvent.after)
                                   .where(AuditEvent.action.like("login.%")).order_by(AuditEvent.id)).all()
    assert [a for a, _, _ in events] == ["login.failed"] * 4 + ["login.throttled"]
    assert {e for _, e, _ in events} == {"carla"} and events[3][2]["locked_seconds"] == 2


def test_a_placeholder_cookie_key_refuses_to_start(engine, tmp_path):
    import os

    path = Path(os.environ["DEBTOR_DESK_USERS"])
    path.write_text((ROOT / ".streamlit" / "users.example.yaml").read_text())
    at = AppTest.from_file(str(ROOT / "desk.py"), default_timeout=60)
    at.session_state["_language"] = "en"
    at.run()
    assert not at.exception
    assert any(e.value.startswith("Debtor Desk cannot start: the login cookie key") for e in at.error)
    assert not at.text_input  # no login form


def test_settings_show_both_rate_tables_with_their_sources_and_the_consumer_options(demo_db):
    at = log_in(AppTest.from_file(str(ROOT / "pages/settings.py"), default_timeout=60), "admin", "admin").run()
    assert not at.exception
    subheaders = [h.value for h in at.subheader]
    assert "Statutory commercial interest rates (art. 6:119a BW)" in subheaders
    assert "Statutory interest rates for consumers (art. 6:119 BW)" in subheaders
    commercial = next(t.value for t in at.dataframe if "source" in t.value.columns and t.value["rate"].max() > 10)
    assert commercial.iloc[0]["source"].startswith("ECB main refinancing rate 3.35 %")
    labels = [c.label for c in at.checkbox]
    assert any("Statutory interest for consumers" in label for label in labels)
    assert any("Days added to the consumer's 14-day term" == n.label for n in at.number_input)


def _log_in_with_the_form(at, username, password):
    at.text_input[0].input(username)
    at.text_input[1].input(password)
    return at.button[0].click().run()


def test_a_login_form_never_writes_its_old_copy_of_the_users_over_changes_made_meanwhile(demo_db):
    old = users.add_user("carla", "collector")
    at = AppTest.from_file(str(ROOT / "desk.py"), default_timeout=60).run()  # the form has read the users
    # meanwhile, on the command line: a new user, and a new password for carla
    users.add_user("dirk", "viewer", password="Ledger-Tulip-47-Oven")
    users.reset_password("carla", password="Invoice-Harbour-92-Kite")
    at = _log_in_with_the_form(at, "carla", old)
    assert not at.exception and at.session_state["authentication_status"] is not True
    at = _log_in_with_the_form(at, "carla", "Invoice-Harbour-92-Kite")
    assert not at.exception and at.session_state["authentication_status"] is True
    assert "dirk" in [u.username for u in users.list_users()]
    assert users.check_password("carla", "Invoice-Harbour-92-Kite") and not users.check_password("carla", old)


def test_a_user_added_on_the_command_line_can_log_in_in_a_session_that_began_before(demo_db):
    at = AppTest.from_file(str(ROOT / "desk.py"), default_timeout=60).run()  # the login form is shown
    password = users.add_user("erik", "viewer")
    at = _log_in_with_the_form(at, "erik", password)
    assert not at.exception and at.session_state["authentication_status"] is True
