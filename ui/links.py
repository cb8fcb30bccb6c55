"""Values carried in a page's address, so a view can be shared as a link."""

from __future__ import annotations

from datetime import date
from urllib.parse import quote

import pandas as pd
import streamlit as st
from streamlit.errors import StreamlitAPIException

from ui.i18n import _

IMPORT_URL = "/import"


def dossier_url(code: str) -> str:
    """The dossier of one debtor; a code with `&`, `#` or a space stays one code."""
    return "/dossier?debtor=" + quote(str(code), safe="")


def dossier_urls(codes: pd.Series) -> pd.Series:
    return codes.astype(str).map(dossier_url)


def dossier_link(code: str, label: str | None = None) -> None:
    """A link to the debtor's dossier that opens in the same tab and session (a plain link opens a new
    tab, which logs in again from the cookie); a page run on its own, outside the navigation, gets the
    plain link."""
    label = label or _("Open the dossier")
    try:
        st.page_link("pages/dossier.py", label=label, icon=":material/folder_shared:", query_params={"debtor": code})
    except StreamlitAPIException:
        st.markdown(f"[:material/folder_shared: {label}]({dossier_url(code)})")


def import_link(label: str | None = None) -> None:
    """A link to the Import page in the same session; a page run outside the navigation gets a plain link."""
    label = label or _("Import a debtor list")
    try:
        st.page_link("pages/import.py", label=label, icon=":material/upload_file:")
    except StreamlitAPIException:
        st.markdown(f"[:material/upload_file: {label}]({IMPORT_URL})")


def linked_date() -> date:
    """The date of a shared link (?as_of=YYYY-MM-DD), else today."""
    value = st.query_params.get("as_of")
    if not value:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        st.warning(_("The link's date '{value}' is not a date (YYYY-MM-DD); showing today.", value=value))
        return date.today()
