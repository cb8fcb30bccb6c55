"""The Users tab of Settings: the users, adding one, changing a role or resetting a password."""

from __future__ import annotations

import streamlit as st

from receivables.services import errors, users
from ui import state


def render(user) -> None:
    st.dataframe([u.__dict__ for u in users.list_users()], hide_index=True, width="stretch")
    with st.form("add_user", clear_on_submit=True):
        st.markdown("**Add a user**")
        c1, c2, c3 = st.columns(3)
        username = c1.text_input("User name")
        full_name = c2.text_input("Full name")
        role = c3.selectbox("Role", users.ROLES)
        if st.form_submit_button("Add user"):
            try:
                with state.uow() as uow:
                    pw = users.add_user(uow, username.strip(), role, actor=user.username, name=full_name or None)
                st.success(f"User {username} added. Their password (shown once): `{pw}`")
            except errors.ServiceError as exc:
                st.error(str(exc))
    with st.form("set_role"):
        st.markdown("**Change a role or reset a password**")
        c1, c2 = st.columns(2)
        who = c1.selectbox("User", [u.username for u in users.list_users()])
        new_role = c2.selectbox("New role", users.ROLES)
        chosen = st.text_input("New password (leave empty to generate one)", type="password",
                               help=f"At least {users.MIN_PASSWORD} characters, not the user name, not a common "
                                    "password.")
        b1, b2 = st.columns(2)
        change = b1.form_submit_button("Change role")
        reset = b2.form_submit_button("Reset password")
        try:
            if change:
                with state.uow() as uow:
                    users.set_role(uow, who, new_role, actor=user.username)
                st.success(f"{who} is now {new_role}.")
            if reset:
                with state.uow() as uow:
                    pw = users.reset_password(uow, who, actor=user.username, password=chosen or None)
                st.success(f"The password of {who} is set." if chosen else
                           f"New password for {who} (shown once): `{pw}`")
        except errors.ServiceError as exc:
            st.error(str(exc))
