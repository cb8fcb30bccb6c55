from ui.auth import require

user = require("admin")


import streamlit as st  # noqa: E402

from ui import audit_log, settings_demo, settings_plans, settings_texts, settings_tracks, settings_users  # noqa: E402
from ui.i18n import N_, _  # noqa: E402
from ui.settings_mailbox import render as mailbox_settings  # noqa: E402

# One tab per area, each drawn by its own module: (label, function taking the logged-in user).
TABS = [
    (N_("Users"), settings_users.render),
    (N_("Audit log"), lambda user: audit_log.render()),
    (N_("Demo data"), settings_demo.render),
    (N_("Reminders"), settings_tracks.render),
    (N_("Texts"), settings_texts.render_editor),
    (N_("Payment plans"), settings_plans.render),
    (N_("Team mailbox"), mailbox_settings),
]

st.title(_("Settings"))
for tab, (_label, render) in zip(st.tabs([_(label) for label, _render in TABS]), TABS, strict=True):
    with tab:
        render(user)
