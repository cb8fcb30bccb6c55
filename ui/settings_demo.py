"""The Demo data tab of Settings: whether the demo debtors are in the database, and removing them."""

from __future__ import annotations

import streamlit as st

from receivables.services import demo
from ui import state
from ui.i18n import _, n_


def render(user) -> None:
    with state.uow() as uow:
        present = demo.demo_present(uow)
    if not present:
        st.write(_("There is no demo data in the database."))
        return
    st.write(_("The demo debtors, their invoices, notes and messages are in the database. Removing them "
               "leaves your own imported data untouched."))
    sure = st.checkbox(_("Yes, remove all demo data"))
    if st.button(_("Remove demo data"), type="primary", disabled=not sure):
        with state.uow(immediate=True) as uow:
            n = demo.remove_demo(uow, actor=user.username)
        state.data_changed()
        st.success(n_("Removed {n} demo debtor.", "Removed {n} demo debtors.", n))
