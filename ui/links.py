"""Values carried in a page's address, so a view can be shared as a link."""

from __future__ import annotations

from datetime import date
from urllib.parse import quote

import pandas as pd
import streamlit as st


def dossier_url(code: str) -> str:
    """The dossier of one debtor; a code with `&`, `#` or a space stays one code."""
    return "/dossier?debtor=" + quote(str(code), safe="")


def dossier_urls(codes: pd.Series) -> pd.Series:
    return codes.astype(str).map(dossier_url)


def linked_date() -> date:
    """The date of a shared link (?as_of=YYYY-MM-DD), else today."""
    value = st.query_params.get("as_of")
    if not value:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        st.warning(f"The link's date '{value}' is not a date (YYYY-MM-DD); showing today.")
        return date.today()
