"""The dossier's payment plans: each plan with its terms and their state, and what a collector does with
them (make a plan, accept or reject a portal proposal, decide about a broken plan). Every action is one
call of `receivables.services.plans`, as on the command line."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pandas as pd
import streamlit as st

from receivables.domain import plans as rules
from receivables.domain.money import from_decimal
from receivables.services import plans
from receivables.services.errors import ServiceError
from ui import i18n, state
from ui.i18n import N_, _, n_

SOURCE_LABELS = {"staff": N_("made by staff"), "portal": N_("proposed in the portal")}
STATUS_COLOURS = {rules.PROPOSED: "blue", rules.ACTIVE: "green", rules.BROKEN: "red", rules.REJECTED: "gray",
                  rules.PAID: "green", rules.ENDED: "orange"}


def _md(text) -> str:
    """Data shown in Markdown (a note typed in the portal) with every Markdown character escaped."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~$:])", r"\\\1", str(text or "")).replace("://", ":\u200b//")


def _run(action, success: str) -> None:
    """One service call in a write transaction; on success the dossier shows `success` after the rerun."""
    try:
        with state.uow(immediate=True) as uow:
            action(uow)
    except ServiceError as exc:
        st.error(i18n.error(exc), icon=":material/error:")
        return
    state.data_changed()
    st.session_state["dossier_flash"] = success
    st.rerun()


def _terms_frame(p: plans.PlanView) -> pd.DataFrame:
    states = {s: _(label) for s, label in rules.TERM_LABELS.items()}
    return pd.DataFrame({
        _("Term"): [t.seq for t in p.terms],
        _("Date"): [i18n.day(t.due_date) for t in p.terms],
        _("Amount"): [i18n.money(t.amount_cents, p.currency) for t in p.terms],
        _("Paid"): [i18n.money(t.paid_cents, p.currency) for t in p.terms],
        _("State"): [states.get(t.state, t.state) for t in p.terms]})


def _plan(p: plans.PlanView, user, today: date) -> None:
    status = _(rules.STATUS_LABELS.get(p.status, p.status))
    interval = _(rules.INTERVAL_LABELS.get(p.interval, p.interval))
    with st.container(border=True):
        st.markdown(
            _("**Plan {id}** · :{colour}-badge[{status}] · {total} in {terms} terms, {interval} · paid {paid}",
              id=p.id, colour=STATUS_COLOURS.get(p.status, "gray"), status=status,
              total=i18n.money(p.total_cents, p.currency), terms=len(p.terms), interval=interval,
              paid=i18n.money(p.paid_cents, p.currency)))
        extra = [_("invoices {numbers}", numbers=", ".join(_md(n) for n in p.invoices)),
                 _(SOURCE_LABELS.get(p.source, p.source))]
        if p.interest_cents or p.costs_cents:
            extra.append(_("interest {interest}, costs {costs}", interest=i18n.money(p.interest_cents, p.currency),
                           costs=i18n.money(p.costs_cents, p.currency)))
        st.caption(" · ".join(extra))
        if p.note:
            st.text(p.note)
        if p.reason:
            st.caption(_("Reason: {reason}", reason=_md(p.reason)))
        st.dataframe(_terms_frame(p), hide_index=True, width="stretch", key=f"plan_terms_{p.id}")
        if not user.can("collector"):
            return
        if p.status == rules.PROPOSED:
            _decide_proposal(p, user, today)
        elif p.status == rules.BROKEN:
            _decide_broken(p, user, today)


def _decide_proposal(p: plans.PlanView, user, today: date) -> None:
    if st.button(_("Accept the plan"), key=f"plan_accept_{p.id}", type="primary"):
        _run(lambda uow: plans.accept_plan(uow, p.id, actor=user.username, today=today),
             _("Plan accepted; its invoices left the reminder track."))
    with st.form(f"plan_reject_form_{p.id}", clear_on_submit=True):
        reason = st.text_input(_("Why the plan is rejected"), key=f"plan_reject_reason_{p.id}")
        if st.form_submit_button(_("Reject the plan"), key=f"plan_reject_{p.id}"):
            _run(lambda uow: plans.reject_plan(uow, p.id, actor=user.username, reason=reason),
                 _("Plan rejected."))


def _decide_broken(p: plans.PlanView, user, today: date) -> None:
    st.warning(_("A term was not paid within the grace period: decide how to go on."), icon=":material/warning:")
    labels = {c: _(rules.CHOICE_LABELS[c]) for c in rules.CHOICES}
    with st.form(f"plan_decide_form_{p.id}", clear_on_submit=True):
        choice = st.radio(_("Decision"), list(rules.CHOICES), format_func=labels.get, horizontal=True,
                          key=f"plan_choice_{p.id}")
        note = st.text_input(_("Note"), key=f"plan_decide_note_{p.id}")
        if st.form_submit_button(_("Decide"), key=f"plan_decide_{p.id}"):
            _run(lambda uow: plans.decide_broken(uow, p.id, choice, actor=user.username, note=note, today=today),
                 _("Decision recorded."))


def _new_plan(code: str, user, today: date) -> None:
    with state.uow() as uow:
        open_ones = plans.plannable_invoices(uow, code)
        limits = plans.limits(uow.session)
    if not open_ones:
        st.caption(_("No open invoices to put in a plan."))
        return
    labels = {i.number: f"{i.number} · {i18n.money(i.open_cents, i.currency)}" for i in open_ones}
    intervals = {k: _(v) for k, v in rules.INTERVAL_LABELS.items()}
    with st.expander(_("New payment plan")), st.form("plan_form", clear_on_submit=True):
        numbers = st.multiselect(_("Invoices"), list(labels), format_func=labels.get, key="plan_invoices")
        c1, c2, c3 = st.columns(3)
        terms = c1.number_input(_("Terms"), min_value=1, max_value=limits.max_terms, value=min(3, limits.max_terms),
                                step=1, key="plan_terms")
        start = c2.date_input(_("First term"), value=today + timedelta(days=7), min_value=today,
                              format="DD-MM-YYYY" if i18n.current() == "nl" else "YYYY/MM/DD", key="plan_start")
        interval = c3.selectbox(_("Interval"), list(intervals), format_func=intervals.get, key="plan_interval")
        c4, c5 = st.columns(2)
        interest = c4.number_input(_("Interest agreed"), min_value=0.0, step=0.01, format="%.2f", key="plan_interest")
        costs = c5.number_input(_("Costs agreed"), min_value=0.0, step=0.01, format="%.2f", key="plan_costs")
        note = st.text_area(_("Note"), key="plan_note")
        st.caption(n_("At most {n} term; the first within {days} days; each at least {least}; a term unpaid {grace} "
                      "days after its date breaks the plan.",
                      "At most {n} terms; the first within {days} days; each at least {least}; a term unpaid "
                      "{grace} days after its date breaks the plan.", limits.max_terms,
                      days=limits.max_first_delay_days, least=i18n.money(limits.min_term_cents),
                      grace=limits.grace_days))
        if st.form_submit_button(_("Make the plan"), key="plan_create"):
            def create(uow):
                debtor_id, invoice_ids = plans.resolve(uow, code, numbers)
                plans.create_plan(uow, debtor_id, invoice_ids, int(terms), start, actor=user.username, note=note,
                                  interval=interval, interest_cents=from_decimal(f"{interest:.2f}"),
                                  costs_cents=from_decimal(f"{costs:.2f}"), today=today)
            _run(create, _("Plan made; its invoices left the reminder track."))


def plans_section(code: str, user, today: date) -> None:
    """The debtor's payment plans on the dossier, with the actions a collector may take."""
    with state.uow() as uow:
        found = plans.list_plans(uow, code=code)
    st.subheader(_("Payment plans"))
    if not found:
        st.caption(_("No payment plans."))
    for p in found:
        _plan(p, user, today)
    if user.can("collector"):
        _new_plan(code, user, today)
