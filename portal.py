"""The debtor's portal, a Streamlit app of its own: `streamlit run portal.py --server.port 8502`. It shows
one page, and only to a visitor with a working personal link (ui/portal_page.py); the staff app (app.py)
is never reachable through it. Only this app belongs on the internet, behind a TLS proxy."""

import streamlit as st

from receivables.services.errors import ServiceError
from ui import i18n, portal_page, state
from ui.i18n import _

st.set_page_config(page_title="Debtor Desk", page_icon=":material/receipt_long:", layout="centered",
                   initial_sidebar_state="collapsed")
try:
    state.engine()
except ServiceError as exc:
    st.error(_("The portal cannot start: {reason}", reason=i18n.error(exc)))
    st.stop()
# one page and nothing else: st.navigation keeps the staff pages in pages/ out of this app
st.navigation([st.Page(portal_page.render, title="Debtor Desk", url_path="portal", default=True)],
              position="hidden").run()
