"""Values carried in a page's address, so a view can be shared as a link."""

from __future__ import annotations

from datetime import date

import streamlit as st


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
