"""Today: a user's own opt-in for the daily digest e-mail (their counts and the top items, each morning)."""

from __future__ import annotations

import streamlit as st

from receivables.domain.contacts import LANGUAGES
from receivables.services import digest, users
from receivables.services.errors import ServiceError
from ui import i18n, state
from ui.i18n import _


def digest_opt_in(user) -> None:
    """A popover where the user switches their daily digest on or off, with the address and language."""
    with state.uow() as uow:
        current = digest.subscription(uow, "daily", user.username)
    known = next((u.email for u in users.list_users() if u.username == user.username), "")
    with st.popover(_("Daily digest: on") if current else _("Daily digest: off"), icon=":material/mark_email_read:"):
        st.caption(_("Each morning an e-mail with your counts and the first items of your Today list "
                     "(sent once a day by `python -m receivables today digest --send`)."))
        with st.form("digest_opt_in", border=False):
            address = st.text_input(_("Send it to"), value=current.address if current else
                                    ("" if known.endswith(".invalid") else known))
            languages = list(LANGUAGES)
            language = st.selectbox(_("Language"), languages, format_func=LANGUAGES.get,
                                    index=languages.index(current.language if current else i18n.current()))
            on, off = st.columns(2)
            start = on.form_submit_button(_("Send me the digest"), type="primary")
            stop = off.form_submit_button(_("Stop the digest"), disabled=current is None)
        try:
            if start:
                with state.uow(immediate=True) as uow:
                    digest.subscribe(uow, "daily", user.username, address, language, actor=user.username)
                st.success(_("You get the daily digest at {address}.", address=address))
            if stop:
                with state.uow(immediate=True) as uow:
                    digest.unsubscribe(uow, "daily", user.username, actor=user.username)
                st.success(_("The daily digest is stopped."))
        except ServiceError as exc:
            st.error(i18n.error(exc), icon=":material/error:")
