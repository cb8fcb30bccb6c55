"""Settings → Users: the list with each user's last login, adding, a role, a password reset, disabling,
enabling and removing. Each action is one call of receivables/services/users.py, as on the command line."""

from __future__ import annotations

import streamlit as st

from receivables.services import errors, users
from ui import i18n, state
from ui.auth import CurrentUser
from ui.i18n import _
from ui.nav import ROLE_NAMES
from ui.text import md


def _act(fn, *args, done: str, **kwargs):
    try:
        with state.uow(immediate=True) as uow:
            result = fn(uow, *args, **kwargs)
    except errors.ServiceError as exc:
        st.error(i18n.error(exc))
        return None
    st.success(done)
    return result if result is not None else True


def render(user: CurrentUser) -> None:
    with state.uow() as uow:
        people = users.list_users(uow)
    roles = {r: _(label) for r, label in ROLE_NAMES.items()}
    st.dataframe([{
        "username": u.username, _("Name"): u.name, _("E-mail"): u.email, _("Role"): roles.get(u.role, u.role),
        _("Language"): i18n.LANGUAGES.get(u.language, _("the browser's")) if u.language else _("the browser's"),
        _("Disabled"): u.disabled, _("Last login"): i18n.moment(u.last_login) if u.last_login else _("never"),
    } for u in people], hide_index=True, width="stretch")

    with st.form("add_user", clear_on_submit=True):
        st.markdown(_("**Add a user**"))
        c1, c2, c3 = st.columns(3)
        username = c1.text_input(_("User name"))
        full_name = c2.text_input(_("Full name"))
        role = c3.selectbox(_("Role"), users.ROLES, format_func=roles.get)
        if st.form_submit_button(_("Add user")):
            pw = _act(users.add_user, username.strip(), role, actor=user.username, name=full_name or None,
                      done=_("User {name} added.", name=md(username.strip())))
            if pw:
                st.info(_("Their password (shown once): `{password}`", password=pw))

    names = [u.username for u in people]
    with st.form("set_role"):
        st.markdown(_("**Change a role or reset a password**"))
        c1, c2 = st.columns(2)
        who = c1.selectbox(_("User"), names)
        new_role = c2.selectbox(_("New role"), users.ROLES, format_func=roles.get)
        chosen = st.text_input(_("New password (leave empty to generate one)"), type="password",
                               help=_("At least {n} characters, not the user name, not a common password.",
                                      n=users.MIN_PASSWORD))
        st.caption(_("A new role or password ends the user's logins: they log in again."))
        b1, b2 = st.columns(2)
        if b1.form_submit_button(_("Change role")):
            _act(users.set_role, who, new_role, actor=user.username,
                 done=_("{name} is now {role}.", name=md(who), role=roles.get(new_role, new_role)))
        if b2.form_submit_button(_("Reset password")):
            pw = _act(users.reset_password, who, actor=user.username, password=chosen or None,
                      done=_("The password of {name} is set.", name=md(who)))
            if pw and not chosen:
                st.info(_("New password for {name} (shown once): `{password}`", name=md(who), password=pw))

    with st.form("disable_user"):
        st.markdown(_("**Disable, enable or remove a user**"))
        st.caption(_("A disabled user cannot log in and their logins end at once; enabling them lets them log in "
                     "again. Removing a user keeps their name in the audit log and on their work."))
        target = st.selectbox(_("User"), names, key="disable_who")
        b1, b2, b3 = st.columns(3)
        if b1.form_submit_button(_("Disable")):
            _act(users.set_disabled, target, True, actor=user.username,
                 done=_("{name} is disabled; their logins have ended.", name=md(target)))
        if b2.form_submit_button(_("Enable")):
            _act(users.set_disabled, target, False, actor=user.username,
                 done=_("{name} can log in again.", name=md(target)))
        if b3.form_submit_button(_("Remove")):
            _act(users.remove_user, target, actor=user.username, done=_("{name} is removed.", name=md(target)))
