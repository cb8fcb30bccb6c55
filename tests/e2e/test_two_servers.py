"""Two app servers (two `streamlit run app.py` on different ports) on one PostgreSQL database, as a team
runs them behind a proxy: an admin on each presses Send on the Sender page at the same moment, and every
approved message arrives exactly once."""

from __future__ import annotations

import time
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.conftest import PG_URL, postgres_available, skip_or_fail
from tests.e2e.conftest import login, open_page, smtp_env, start_server, wait_for_app

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture(scope="module")
def database():
    """A database of its own on the test server, dropped afterwards."""
    reason = postgres_available()
    if reason:
        skip_or_fail(reason)
    name = f"e2e_two_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="module")
def servers(tmp_path_factory, chromium, inbox, database):
    shared = tmp_path_factory.mktemp("team")
    env = {**smtp_env(inbox), "SMTP_RATE_PER_MINUTE": "600", "DATABASE_URL": database,
           "DEBTOR_DESK_USERS": str(shared / "users.yaml")}
    # the first start migrates the new database and loads the demo before it answers
    first = start_server(tmp_path_factory.mktemp("server-a"), env, start_timeout=300)
    password = first.first_start_password(chromium)
    second = start_server(tmp_path_factory.mktemp("server-b"), env, start_timeout=300)  # own journal, as on another machine
    yield first, second, password
    second.stop()
    first.stop()


def test_two_servers_sending_at_once_deliver_each_approved_message_exactly_once(servers, chromium, inbox):
    first, second, password = servers
    res = first.cli("remind")
    assert res.returncode == 0, res.stderr
    ready = [str(r[0]) for r in first.sql(
        "SELECT m.id FROM message m JOIN debtor d ON d.id = m.debtor_id WHERE m.status = 'proposed' "
        "AND m.channel = 'email' AND d.email LIKE '%@%' AND d.email_bouncing IS NULL ORDER BY m.id LIMIT 12")]
    res = first.cli("queue", "approve", *ready)
    assert res.returncode == 0, res.stderr
    approved = {r[0] for r in first.sql("SELECT id FROM message WHERE status = 'approved' AND channel <> 'call'")}
    assert len(approved) == len(ready) >= 5
    pages = []
    for server in (first, second):
        context = chromium.new_context(viewport={"width": 1400, "height": 1000})
        pg = context.new_page()
        pg.set_default_timeout(60_000)
        login(pg, server, "admin", password)
        open_page(pg, server, "/sender")
        pages.append(pg)
    buttons = [pg.get_by_role("button", name=f"Send {len(approved)} now") for pg in pages]
    for button in buttons:
        button.wait_for()
    for button in buttons:  # both at once: neither waits for the other's run
        button.click(no_wait_after=True)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and first.sql(
            "SELECT COUNT(*) FROM message WHERE status IN ('approved', 'sending')")[0][0]:
        time.sleep(1)
    for pg in pages:
        wait_for_app(pg)
        assert not pg.locator("[data-testid='stException']").count()
    sent = dict(first.sql("SELECT id, smtp_message_id FROM message WHERE status = 'sent'"))
    assert set(sent) == approved
    arrived = [m["Message-ID"] for m in inbox.messages]
    assert len(arrived) == len(approved)
    assert sorted(arrived) == sorted(sent.values())  # each one once, and the one the database recorded
    for pg in pages:
        pg.context.close()
