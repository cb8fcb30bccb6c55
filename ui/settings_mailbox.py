"""Settings: whether the team mailbox's IMAP settings work, tried step by step and reported in words."""

from __future__ import annotations

import streamlit as st

from receivables.services import mailbox
from ui import i18n
from ui.i18n import N_, _

SOURCES = {"environment": N_("environment variable"), "secrets.toml": N_("secrets.toml"),
           "default": N_("default")}


def _md(text) -> str:
    """A value from the settings or the server shown as Markdown: every Markdown character escaped."""
    return "".join("\\" + c if c in "\\`*_{}[]()#+-.!|<>~$:" else c for c in str(text or ""))


MARKS = {None: ":gray[:material/radio_button_unchecked:]", True: ":green[:material/check_circle:]",
         False: ":red[:material/cancel:]"}  # not reached, works, fails


def _step(ok: bool | None, words: str) -> None:
    st.markdown(" ".join((MARKS[ok], words)))


def report(result: mailbox.ConnectionTest) -> None:
    """The outcome of a connection test, one line per step."""
    if result.settings_problem is not None:
        _step(False, _("The settings are incomplete or wrong: {problem}",
                       problem=_md(i18n.error(result.settings_problem))))
        return
    p = result.probe
    where = f"{result.host}:{result.port}"
    _step(True, _("The settings are complete ({security}).", security=_md(result.security)))
    _step(p.reachable, _("The server {server} is reachable.", server=_md(where)) if p.reachable else
          _("The server {server} cannot be reached.", server=_md(where)))
    _step(p.logged_in, _("User {user} is logged in.", user=_md(result.user)) if p.logged_in is not False else
          _("The server refuses user {user}: check the user name and password.", user=_md(result.user)))
    _step(p.folder_exists, _("The folder {folder} exists.", folder=_md(result.folder)) if p.folder_exists is not False
          else _("The folder {folder} does not exist: check the folder setting.", folder=_md(result.folder)))
    if p.folder_exists:
        st.markdown(_("{n} message(s) waiting in {folder}.", n=p.waiting, folder=_md(result.folder)))
        st.markdown(_("Handled messages go to {folder}.", folder=_md(result.processed_folder)) if p.processed_exists
                    else _("The folder {folder} for handled messages is created on the first fetch.",
                           folder=_md(result.processed_folder)))
    if p.problem:
        st.caption(_("What the connection said: {problem}", problem=_md(p.problem)))
    if result.ok:
        st.success(_("The team mailbox works."), icon=":material/check_circle:")
    else:
        st.error(_("The team mailbox cannot be read yet; fix the step marked in red."), icon=":material/error:")


def render(user) -> None:
    """The team mailbox's settings (where each comes from, never the password) and a test of them."""
    with st.expander(_("Team mailbox (IMAP)"), icon=":material/inbox:"):
        st.caption(_("Set in [imap] of .streamlit/secrets.toml, or as IMAP_* environment variables (these win). "
                     "Read from cron with `python -m receivables mailbox fetch`."))
        worded = {k: _(v) for k, v in SOURCES.items()}
        st.dataframe([{_("Setting"): variable, _("Comes from"): worded.get(source, source)}
                      for variable, source in mailbox.setting_sources()], hide_index=True, width="stretch")
        if st.button(_("Test connection"), icon=":material/lan:", key="mailbox_test", disabled=not user.can("admin")):
            with st.spinner(_("Trying the team mailbox…")):
                result = mailbox.try_connection()
            report(result)
