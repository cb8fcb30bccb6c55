from ui.auth import require

user = require("admin")


import streamlit as st  # noqa: E402

from receivables.services import demo  # noqa: E402
from ui import audit_log, settings_texts, settings_users, state  # noqa: E402
from ui.i18n import _  # noqa: E402

st.title(_("Settings"))
tab_users, tab_audit, tab_demo, tab_reminders, tab_texts = st.tabs([_("Users"), _("Audit log"), _("Demo data"),
                                                                    _("Reminders"), _("Texts")])

with tab_users:
    settings_users.render(user)

with tab_audit:
    audit_log.render()

with tab_demo:
    with state.uow() as uow:
        present = demo.demo_present(uow)
    if present:
        st.write("The demo debtors, their invoices, notes and messages are in the database. Removing them "
                 "leaves your own imported data untouched.")
        sure = st.checkbox("Yes, remove all demo data")
        if st.button("Remove demo data", type="primary", disabled=not sure):
            with state.uow(immediate=True) as uow:
                n = demo.remove_demo(uow, actor=user.username)
            state.data_changed()
            st.success(f"Removed {n} demo debtors.")
    else:
        st.write("There is no demo data in the database.")

with tab_reminders:
    from ui import settings_tracks

    settings_tracks.render(user)

with tab_texts:
    settings_texts.render_editor(user)
