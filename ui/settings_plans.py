"""The admin's limits of payment plans: how many terms, how far away the first, the smallest term, the
grace period before a plan breaks and how early each term is announced. Called from the Settings page."""

from __future__ import annotations

import streamlit as st

from receivables.domain.money import from_decimal
from receivables.services import plans
from receivables.services.errors import ServiceError
from ui import i18n, state
from ui.i18n import _


def render(user) -> None:
    with state.uow() as uow:
        now = plans.limits(uow.session)
    st.subheader(_("Payment plans"))
    with st.form("plan_limits"):
        c1, c2, c3 = st.columns(3)
        max_terms = c1.number_input(_("Most terms"), min_value=1, max_value=120, value=now.max_terms, step=1,
                                    key="plan_limit_terms")
        delay = c2.number_input(_("First term at most this many days away"), min_value=0, max_value=366,
                                value=now.max_first_delay_days, step=1, key="plan_limit_delay")
        least = c3.number_input(_("Smallest term amount"), min_value=0.0, value=now.min_term_cents / 100, step=1.0,
                                format="%.2f", key="plan_limit_least")
        c4, c5 = st.columns(2)
        grace = c4.number_input(_("Grace period after a term (days)"), min_value=0, max_value=60, value=now.grace_days,
                                step=1, key="plan_limit_grace")
        notice = c5.number_input(_("Announce each term this many days ahead"), min_value=0, max_value=30,
                                 value=now.notice_days, step=1, key="plan_limit_notice")
        if st.form_submit_button(_("Save the plan limits"), key="plan_limits_save"):
            try:
                with state.uow(immediate=True) as uow:
                    plans.save_limits(uow, {"max_terms": int(max_terms), "max_first_delay_days": int(delay),
                                            "min_term_cents": from_decimal(f"{least:.2f}"), "grace_days": int(grace),
                                            "notice_days": int(notice)}, actor=user.username)
            except ServiceError as exc:
                st.error(i18n.error(exc), icon=":material/error:")
                return
            state.data_changed()
            st.success(_("Plan limits saved."))
