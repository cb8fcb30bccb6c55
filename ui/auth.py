"""Login with streamlit-authenticator and the role guard every page starts with.

The users are in the database (receivables/services/users.py). The authenticator is handed them afresh for
every login and never a file's path, so it never writes them anywhere: a failed login cannot undo a change
made meanwhile. Every login carries the user's session key, in this session and in the remembered cookie;
every run compares it with the user's key in the database, so logout, a password reset, a role change,
disabling and removal end the user's sessions at their next run and their cookies at once."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import jwt
import streamlit as st
import streamlit_authenticator as stauth
from streamlit.runtime.scriptrunner import get_script_run_ctx

from receivables.services import login_throttle, users
from receivables.services.audit import record_audit
from ui import i18n, state
from ui.i18n import _
from ui.nav import all_pages

_SESSION_KEY = "_session_key"  # the session key this session logged in with
_RENEW_COOKIE = "_renew_login_cookie"
_AUTH_KEYS = ("authentication_status", "username", "name", "email", "roles")
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
        with state.uow() as uow:
            cookie = users.login_cookie(uow)  # refuses a placeholder or short key
        auth = stauth.Authenticate({"usernames": {}}, cookie.name, cookie.key, cookie.expiry_days,
                                   auto_hash=False, login_sleep_time=0.3)
        _fresh_and_throttled(auth.authentication_controller)
        _cookie_with_session_key(auth.cookie_controller.cookie_model)
        st.session_state["_authenticator"] = auth
    return st.session_state["_authenticator"]


def client_address() -> str:
    """The visitor's address as the server sees it (a header such as X-Forwarded-For is not trusted: a
    guesser would send a new one with every try)."""
    address = st.context.ip_address
    return address if isinstance(address, str) and address else "unknown"


def behind_tls() -> bool:
    """Whether the browser reached us over HTTPS (directly, or through a proxy that says so)."""
    url = st.context.url or ""
    proto = (st.context.headers or {}).get("X-Forwarded-Proto", "") or ""
    return url.startswith("https://") or proto.split(",")[0].strip().lower() == "https"


def _logged_in(username: str, session_key: str) -> None:
    """Note the login: the session's key, the user's own language, the time in the users list."""
    st.session_state[_SESSION_KEY] = session_key
    with state.uow(immediate=True) as uow:
        users.record_login(uow, username)
        found = users.login_user(uow, username)
    if found is not None and found.language:
        i18n.use(found.language)


def _fresh_and_throttled(controller) -> None:
    """Every login of this authenticator checks the users as they are now (a password reset on the
    command line counts at once), and every password login goes through the server's login throttle
    (logins by the remembered cookie do not: they carry no password)."""
    check = controller.login

    def login(username=None, password=None, *args, **kwargs):
        with state.uow() as uow:
            credentials, keys = users.login_credentials(uow)
        controller.authentication_model.credentials = credentials
        if not (username and password):
            token = kwargs.get("token")
            result = check(username, password, *args, **kwargs)
            if token and st.session_state.get("authentication_status") is True:
                _logged_in(token["username"], token["sk"])
            return result
        name = username.lower().strip()

        def audit(action: str, details: dict) -> None:
            with state.uow() as uow:
                record_audit(uow.session, name or "anonymous", action, "user", name, None, details)
                uow.commit()

        ok = login_throttle.guard(login_throttle.THROTTLE, name, client_address(),
                                  lambda: check(username, password, *args, **kwargs), audit)
        if ok:
            _logged_in(name, keys[name])
        return ok

    controller.login = login


def _cookie_with_session_key(model) -> None:
    """The remembered login carries the session key (a cookie made before the user's key changed no longer
    logs in), and is sent Secure when the browser reached us over HTTPS. The cookie is written by
    JavaScript in the browser (extra-streamlit-components), which cannot make it HttpOnly."""
    read = model.get_cookie

    def get_cookie():
        token = read()
        if not token:
            return token
        with state.uow() as uow:
            found = users.remembered_login(uow, token.get("username"), token.get("sk"))
        return token if found is not None else None

    def token_encode() -> str:
        return jwt.encode({"username": st.session_state["username"], "exp_date": model.exp_date,
                           "sk": st.session_state.get(_SESSION_KEY) or ""}, model.cookie_key, algorithm="HS256")

    def set_cookie() -> None:
        if model.cookie_expiry_days != 0:
            model.exp_date = model._set_exp_date()
            model.cookie_manager.set(model.cookie_name, token_encode(),
                                     expires_at=datetime.now() + timedelta(days=model.cookie_expiry_days),
                                     secure=behind_tls() or None, same_site="strict")

    model.get_cookie = get_cookie
    model._token_encode = token_encode
    model.set_cookie = set_cookie


def _end_this_session() -> None:
    """The user's logins were ended (or the user removed or disabled): back to the login form, and the
    cookie this session might present does not log in again."""
    for key in _AUTH_KEYS:
        st.session_state[key] = None
    st.session_state.pop(_SESSION_KEY, None)
    st.session_state["logout"] = True


def current_user() -> CurrentUser | None:
    if st.session_state.get("authentication_status") is not True:
        return None
    with state.uow() as uow:
        found = users.login_user(uow, st.session_state.get("username"))
    if (found is None or found.role not in users.ROLES
            or not hmac.compare_digest(str(st.session_state.get(_SESSION_KEY) or ""), found.session_key)):
        _end_this_session()
        return None
    return CurrentUser(found.username, found.name, found.role)


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
    st.caption(_("Receivables, ageing and reminders for your finance team."))
    try:
        authenticator().login(location="main", fields={
            "Form name": _("Log in"), "Username": _("User name"), "Password": _("Password"), "Login": _("Log in")})
    except login_throttle.LoginRefused as exc:
        st.error(_("Not logged in: {reason}.", reason=str(exc)))
        st.stop()
    except Exception as exc:  # noqa: BLE001 — a corrupt cookie or a database away must not show a traceback
        st.error(_("Login is not available: {reason}", reason=i18n.error(exc)))
        st.stop()
    if current_user() is not None:
        st.rerun()  # render the app in this same click (avoids the two-click login)
    if st.session_state.get("authentication_status") is False:
        st.error(_("User name or password is incorrect."))
    st.info(_("First start? The password of `admin` was printed once in the terminal that started the app. "
              "Lost it: `python -m receivables users reset-password admin`."))
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
        st.error(_("This page needs the {role} role; you are logged in as {current}.", role=_(role),
                   current=_(user.role)))
        st.stop()
    return user


def keep_login_cookie() -> None:
    """Re-send the login cookie on every run until the browser presents it (set only once, it can be lost
    when the page reruns before the browser has mounted the cookie component), and once more after the
    session's key changed (the user changed their own password)."""
    controller = authenticator().cookie_controller
    if st.session_state.pop(_RENEW_COOKIE, False) or controller.cookie_model.cookie_name not in st.context.cookies:
        controller.set_cookie()


def keep_this_login(session_key: str) -> None:
    """After the user changed their own password (which ends their logins): this session goes on with
    the new key, and its remembered cookie is renewed at the next run."""
    st.session_state[_SESSION_KEY] = session_key
    st.session_state[_RENEW_COOKIE] = True


def _logged_out(event: dict) -> None:
    username = event.get("username")
    if username:
        with state.uow(immediate=True) as uow:
            users.end_sessions(uow, username, actor=username)


def logout_button() -> None:
    authenticator().logout(_("Log out"), location="sidebar", key="logout_button", callback=_logged_out)
