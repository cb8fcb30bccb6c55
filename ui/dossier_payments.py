"""The dossier's section of payments from the bank: each payment of the debtor, what it paid and how it
was matched (applied, or still a suggestion a person decides on the Bank page)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from receivables.services import bank
from receivables.services.errors import ServiceError
from ui import i18n, state
from ui.i18n import N_, _
from ui.phrases import said

HOW = {"reference": N_("our payment reference"), "number": N_("invoice number in the text"),
       "account": N_("the payer's known account"), "name": N_("the payer's name"), "amount": N_("the amount"),
       "person": N_("assigned by a person")}
STATUS = {"matched": N_("booked"), "suggested": N_("suggestion to confirm")}


def bank_payments(code: str) -> None:
    """Draw the section for the debtor with this code; nothing when the bank brought no payment of theirs."""
    try:
        with state.uow() as uow:
            payments = bank.debtor_payments(uow, bank.debtor_by_code(uow, code))
    except ServiceError:
        return
    if not payments:
        return
    st.subheader(_("Payments from the bank"))
    how = {k: _(v) for k, v in HOW.items()}
    status = {k: _(v) for k, v in STATUS.items()}
    rows = [{_("Date"): i18n.day(p["booking_date"]),
             _("Amount"): i18n.money(p["amount_cents"], p["currency"]),
             _("Payer"): " ".join(x for x in (p["counterparty_name"], p["counterparty_iban"]) if x),
             _("Pays"): ", ".join(f"{a['invoice']} ({i18n.money(a['cents'], p['currency'])})"
                                  for a in p["allocations"]) or _("kept on account"),
             _("Matched on"): how.get(p["evidence"], p["evidence"]),
             _("Confidence"): i18n.percent(p["confidence"] or 0),
             _("Status"): status.get(p["status"], p["status"]),
             _("Why"): said(p["reason"])}
            for p in payments]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
