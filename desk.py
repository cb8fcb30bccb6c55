"""Debtor Desk's script: login gate and navigation. Everything else lives in pages/ and receivables/; the
server entry that runs it is app.py."""

import streamlit as st

from receivables.services.errors import ServiceError
from ui import auth, i18n, nav, state, worklists
from ui.i18n import _

st.set_page_config(page_title="Debtor Desk", page_icon=":material/account_balance:", layout="wide")

try:
    state.engine()
except ServiceError as exc:  # e.g. a login cookie key that anyone could know
    st.error(_("Debtor Desk cannot start: {reason}", reason=i18n.error(exc)))
    st.stop()
user = auth.login_gate()
shown = nav.pages_for(user.role)
pages = [st.Page(f, title=t, icon=i, default=(n == 0)) for n, (f, t, i) in enumerate(shown)]
# Our own sidebar links: the built-in sidebar navigation is switched off in config.toml, because a fresh
# server would otherwise list every file in pages/ to a visitor who has not logged in.
navigation = st.navigation(pages, position="hidden")
with st.sidebar:
    st.markdown("### Debtor Desk")
    counts = {"pages/today.py": worklists.today_count(user.username)} if user.can("collector") else {}
    for (f, t, _i), p in zip(shown, pages):
        st.page_link(p, label=f"{t} :red-badge[{counts[f]}]" if counts.get(f) else t)
    st.divider()
    st.caption(_("Logged in as **{name}** ({role})", name=user.name, role=_(user.role)))
    chosen = st.selectbox(_("Language"), list(i18n.LANGUAGES), index=list(i18n.LANGUAGES).index(i18n.current()),
                          format_func=i18n.LANGUAGES.get, key="_language_choice")
    if chosen != i18n.current():
        i18n.use(chosen)
        st.rerun()
    auth.logout_button()
    auth.keep_login_cookie()
    if state.demo_present():
        st.info(_("You are looking at **demo data**. An admin can remove it in Settings."), icon=":material/info:")
navigation.run()
