"""What a person typed in a search box of a table, checked by the one rule for search text."""

from __future__ import annotations

import streamlit as st

from receivables.domain.dossier import RuleError, search_text
from ui import i18n


def searched(text: str | None) -> str:
    """The search text, stripped; a refused one (a control character) says what to do and searches nothing."""
    try:
        return search_text(text)
    except RuleError as exc:
        st.error(i18n.error(exc), icon=":material/error:")
        return ""
