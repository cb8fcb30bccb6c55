"""Worklists shown on more than one page."""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from receivables.services import reminders, today
from ui import i18n, state
from ui.i18n import _
from ui.links import dossier_urls, import_link


def today_count(username: str) -> int:
    """The items of the user's Today (their own and nobody's), for the navigation. Read again after a write
    here (state.data_changed), when the data changed elsewhere, and at least every minute."""
    return _today_count(state.data_version(), date.today(), username)


@st.cache_data(show_spinner=False, ttl=60, max_entries=64)
def _today_count(version: str, day: date, username: str) -> int:
    with state.uow() as uow:
        return today.waiting(uow, today=day, user=username)


@st.cache_data(show_spinner=False)
def _without_address() -> pd.DataFrame:
    with state.uow() as uow:
        return reminders.debtors_without_address(uow)


def debtors_without_address(*, expanded: bool, can_act: bool) -> None:
    """The debtors whose reminders wait for an address, with what they owe and a way to import one."""
    missing = _without_address()
    if missing.empty:
        return
    with st.expander(_("Debtors without a reminder address ({n})", n=missing["debtor_code"].nunique()),
                     expanded=expanded, icon=":material/contact_mail:"):
        owed = reminders.totals_by_currency(missing, "open_cents")
        st.markdown(_("Their reminders wait as **needs address** and go as soon as the address is there: no need "
                      "to propose them again. Open: {amounts}.",
                      amounts=" · ".join(f"**{i18n.money(v, c)}**" for c, v in owed.items())))
        st.dataframe(pd.DataFrame({
            "Debtor": missing["debtor_code"] + " · " + missing["debtor_name"],
            "Currency": missing["currency"], "Open": missing["open_cents"] / 100,
            "Shown": [i18n.money(v, c) for v, c in zip(missing["open_cents"], missing["currency"])],
            "Invoices": missing["invoices"], "Messages waiting": missing["waiting_messages"],
            "Address on file": missing["email"].fillna(""), "Dossier": dossier_urls(missing["debtor_code"])}),
            hide_index=True, width="stretch", column_order=["Debtor", "Shown", "Invoices", "Messages waiting",
                                                            "Address on file", "Dossier"],
            column_config={
                "Debtor": st.column_config.TextColumn(_("Debtor"), width="medium"),
                "Shown": st.column_config.TextColumn(_("Open"), alignment="right"),
                "Invoices": st.column_config.NumberColumn(_("Invoices")),
                "Messages waiting": st.column_config.NumberColumn(_("Messages waiting")),
                "Address on file": st.column_config.TextColumn(_("Address on file")),
                "Dossier": st.column_config.LinkColumn(_("Dossier"), display_text=_("open it"))})
        if can_act:
            import_link(_("Import a debtor list with their e-mail addresses"))
