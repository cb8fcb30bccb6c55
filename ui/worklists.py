"""Worklists shown on more than one page."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from receivables.domain.money import fmt
from receivables.services import reminders
from ui import state
from ui.links import dossier_urls, import_link


@st.cache_data(show_spinner=False)
def _without_address() -> pd.DataFrame:
    with state.uow() as uow:
        return reminders.debtors_without_address(uow)


def debtors_without_address(*, expanded: bool, can_act: bool) -> None:
    """The debtors whose reminders wait for an address, with what they owe and a way to import one."""
    missing = _without_address()
    if missing.empty:
        return
    with st.expander(f"Debtors without a reminder address ({missing['debtor_code'].nunique()})",
                     expanded=expanded, icon=":material/contact_mail:"):
        owed = reminders.totals_by_currency(missing, "open_cents")
        st.markdown("Their reminders wait as **needs address** and go as soon as the address is there: no need to "
                    "propose them again. Open: " + " · ".join(f"**{fmt(v, c)}**" for c, v in owed.items()) + ".")
        st.dataframe(pd.DataFrame({
            "Debtor": missing["debtor_code"] + " · " + missing["debtor_name"],
            "Currency": missing["currency"], "Open": missing["open_cents"] / 100, "Invoices": missing["invoices"],
            "Messages waiting": missing["waiting_messages"], "Address on file": missing["email"],
            "Dossier": dossier_urls(missing["debtor_code"])}), hide_index=True, width="stretch",
            column_config={"Open": st.column_config.NumberColumn(format="%.2f"),
                           "Dossier": st.column_config.LinkColumn(display_text="open")})
        if can_act:
            import_link("Import a debtor list with their e-mail addresses")
