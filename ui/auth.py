"""Login with streamlit-authenticator and the role guard every page starts with."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st
import streamlit_authenticator as stauth
from streamlit.runtime.scriptrunner import get_script_run_ctx

from db import user_file as users
from receivables.services import login_throttle
from receivables.services.audit import record_audit
from ui import state
from ui.nav import all_pages

PORTAL_SCRIPT = "portal.py"


@dataclass(frozen=True)
class CurrentUser:
    username: str
    name: str
    role: str

    def can(self, role: str) -> bool:
        return users.role_at_least(self.role, role)


def authenticator() -> stauth.Authenticate:
    if "_authenticator" not in st.session_state:
        path = users.users_path()
        users.ensure_file(path)
        cookie = users.cookie_settings(path)  # refuses a placeholder or short key
        # Given the users rather than the file's path, the authenticator never writes the file: it would
        # write the copy it read when this session began over the users added, passwords reset and roles
        # changed since, on the command line or in another session.
        auth = stauth.Authenticate(
            users.credentials(path), cookie["name"], cookie["key"], float(cookie.get("expiry_days", 7)),
            auto_hash=False, login_sleep_time=0.3,
        )
        _fresh_and_throttled(auth.authentication_controller, path)
        st.session_state["_authenticator"] = auth
    return st.session_state["_authenticator"]


def client_address() -> str:
    """The visitor's address as the server sees it (a header such as X-Forwarded-For is not trusted: a
    guesser would send a new one with every try)."""
    address = st.context.ip_address
    return address if isinstance(address, str) and address else "unknown"


def _fresh_and_throttled(controller, path) -> None:
    """Every login of this authenticator checks the user file as it is now (a password reset on the
    command line counts at once), and every password login goes through the server's login throttle
    (logins by the remembered cookie do not: they carry no password)."""
    check = controller.login

    def login(username=None, password=None, *args, **kwargs):
        controller.authentication_model.credentials = users.credentials(path)
        if not (username and password):
            return check(username, password, *args, **kwargs)
        name = username.lower().strip()

        def audit(action: str, details: dict) -> None:
            with state.uow() as uow:
                record_audit(uow.session, name or "anonymous", action, "user", name, None, details)
                uow.commit()

        return login_throttle.guard(login_throttle.THROTTLE, name, client_address(),
                                    lambda: check(username, password, *args, **kwargs), audit)

    controller.login = login


def current_user() -> CurrentUser | None:
    if st.session_state.get("authentication_status") is not True:
        return None
    role = users.role_of(st.session_state.get("roles"))
    if role is None:
        return None
    username = st.session_state.get("username") or ""
    return CurrentUser(username, st.session_state.get("name") or username, role)


def login_gate() -> CurrentUser:
    """Show the login form until someone is logged in; never renders anything else before. The
    navigation is registered hidden and not run: the requested page and its query parameters stay in
    the address bar, so a deep link (a debtor's dossier) opens after logging in."""
    user = current_user()
    if user is not None:
        return user
    if st.context.url is not None:  # a real browser (AppTest has none and would run the page instead)
        st.navigation([st.Page(f, title=t, icon=i) for f, t, i in all_pages()], position="hidden")
    _login_page()
    st.stop()


def _login_page() -> None:
    st.title("Debtor Desk")
    st.caption("Receivables, ageing and reminders for your finance team.")
    try:
        authenticator().login(location="main", fields={
            "Form name": "Log in", "Username": "User name", "Password": "Password", "Login": "Log in"})
    except login_throttle.LoginRefused as exc:
        st.error(f"Not logged in: {exc}.")
        st.stop()
    except Exception as exc:  # a corrupt user file or cookie must not show a traceback
        st.error(f"Login is not available: {exc}")
        st.stop()
    if current_user() is not None:
        st.rerun()  # render the app in this same click (avoids the two-click login)
    if st.session_state.get("authentication_status") is False:
        st.error("User name or password is incorrect.")
    elif st.session_state.get("authentication_status") is True:
        st.error("Your account has no role; ask an administrator to give you one.")
    st.info("First start? The password of `admin` was printed once in the terminal that started the app. "
            "Lost it: `python -m receivables users reset-password admin`.")
    st.stop()


def serving_the_portal() -> bool:
    """Whether this server is the debtor's portal (`streamlit run portal.py`): Streamlit still routes a
    file of pages/ by its URL there before the portal's navigation has run, and no staff page, not even its
    login form, may ever show on the server that faces the internet."""
    ctx = get_script_run_ctx()
    return ctx is not None and Path(ctx.main_script_path).name == PORTAL_SCRIPT


def require(role: str = "viewer") -> CurrentUser:
    """First line of every page: stop unless the visitor is logged in with at least `role` (and on the
    portal's server, always)."""
    if serving_the_portal():
        st.stop()
    user = current_user()
    if user is None:
        # A page file opened by URL on a fresh server runs without desk.py: offer the login here too.
        _login_page()
        st.stop()
    if not user.can(role):
        st.error(f"This page needs the {role} role; you are logged in as {user.role}.")
        st.stop()
    return user


def keep_login_cookie() -> None:
    """Re-send the login cookie on every run until the browser presents it: set only once, it can be
    lost when the page reruns before the browser has mounted the cookie component."""
    controller = authenticator().cookie_controller
    if controller.cookie_model.cookie_name not in st.context.cookies:
        controller.set_cookie()


def logout_button() -> None:
    authenticator().logout("Log out", location="sidebar", key="logout_button")
