from ui.auth import require

user = require("viewer")


import streamlit as st  # noqa: E402

from receivables.services import errors, users  # noqa: E402
from ui import auth, i18n, state  # noqa: E402
from ui.i18n import _  # noqa: E402
from ui.text import md  # noqa: E402

st.title(_("My account"))
with state.uow() as uow:
    me = users.get_user(uow, user.username)
st.caption(_("Logged in as **{name}** ({username}), {role}.", name=md(me.name), username=md(me.username),
             role=_(me.role)))
for message in st.session_state.pop("_account_done", []):
    st.success(message)

with st.form("my_email"):
    st.markdown(_("**E-mail address**"))
    email = st.text_input(_("E-mail address"), value=me.email)
    if st.form_submit_button(_("Save e-mail address")):
        try:
            with state.uow(immediate=True) as uow:
                saved = users.set_email(uow, user.username, email, actor=user.username)
            st.success(_("Your e-mail address is now {email}.", email=md(saved)))
        except errors.ServiceError as exc:
            st.error(i18n.error(exc))

with st.form("my_password", clear_on_submit=True):
    st.markdown(_("**Password**"))
    current = st.text_input(_("Current password"), type="password")
    new = st.text_input(_("New password"), type="password",
                        help=_("At least {n} characters, not the user name, not a common password.",
                               n=users.MIN_PASSWORD))
    again = st.text_input(_("New password again"), type="password")
    st.caption(_("Changing your password ends your logins on other computers."))
    if st.form_submit_button(_("Change password")):
        if new != again:
            st.error(_("The two new passwords differ; nothing was changed."))
        else:
            try:
                with state.uow(immediate=True) as uow:
                    key = users.change_password(uow, user.username, current, new)
            except errors.ServiceError as exc:
                st.error(i18n.error(exc))
            else:
                auth.keep_this_login(key)
                st.session_state["_account_done"] = [_("Your password is changed.")]
                st.rerun()
