"""`streamlit run app.py` as the README says: the admin password is in the terminal as soon as the server
runs, before anyone has visited, and a second start prints none."""

from __future__ import annotations

import re

from tests import user_store as users
from tests.e2e.conftest import start_server


def test_the_admin_password_is_printed_when_the_server_starts_not_at_the_first_visit(tmp_path, monkeypatch):
    server = start_server(tmp_path)
    try:
        password = server.admin_password(timeout=30)  # nobody has opened the app
    finally:
        server.stop()
    monkeypatch.setenv("DATABASE_URL", server.env["DATABASE_URL"])
    assert users.check_password("admin", password)
    assert len(re.findall(r"Log in as 'admin' with password", server.log())) == 1
    again = start_server(tmp_path)
    try:
        assert "Log in as 'admin'" not in again.log()
        assert "Local URL" in again.log() or "127.0.0.1" in again.url
    finally:
        again.stop()
