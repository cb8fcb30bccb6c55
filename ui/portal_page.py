"""The debtor's portal page: the neutral page for a link that does not work, the confirmation of a new
address, and the debtor's own page (open invoices, how to pay, what they can tell us). Everything a debtor
or a person typed is shown as text; every action is one service call (receivables.services.portal)."""

from __future__ import annotations

import re
from datetime import date, timedelta

import streamlit as st

from receivables.domain import portal as rules
from receivables.services import portal
from receivables.services.errors import ServiceError
from ui import i18n, state
from ui.i18n import _

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-!|<>~$:])")
_SEEN = "_portal_seen"  # the token this session has been counted for


def md(text) -> str:
    """Words from the data inside Markdown: every Markdown character escaped, so it stays text."""
    return _MD_SPECIAL.sub(r"\\\1", str(text or ""))


def client_address() -> str:
    """The visitor's address: the one the TLS proxy in front of the portal adds last to X-Forwarded-For
    (earlier entries are whatever the visitor sent), else the address the server sees."""
    try:
        forwarded = (st.context.headers or {}).get("X-Forwarded-For", "") or ""
        seen = st.context.ip_address
    except Exception:  # noqa: BLE001 — outside a browser session (AppTest) there is no context
        forwarded, seen = "", None
    last = forwarded.split(",")[-1].strip()
    return (last or (seen if isinstance(seen, str) else "") or "unknown")[:90]


def _contact_lines(contact: portal.Contact) -> None:
    st.markdown(f"**{md(contact.company)}**")
    if contact.email:
        st.markdown(":material/mail: " + md(contact.email))
    if contact.phone:
        st.markdown(":material/call: " + md(contact.phone))


def neutral() -> None:
    """The same page for every link that does not open the portal: wrong, expired, revoked, or too many
    requests."""
    st.title(_("This link does not work"))
    st.write(_("The link may be incomplete or no longer valid. Please contact us and we will gladly help you."))
    with state.uow() as u:
        contact = portal.contact(u)
    _contact_lines(contact)
    st.stop()


def confirm(code: str) -> None:
    try:
        with state.uow() as u:
            address = portal.confirm_address(u, code, client_address())
    except ServiceError:
        neutral()
    st.title(_("Thank you"))
    st.success(_("From now on we send reminders to {address}.", address=md(address)), icon=":material/check:")
    st.stop()


BADGES = {rules.STATUS_OPEN: "gray", rules.STATUS_DISPUTED: "orange", rules.STATUS_PROMISED: "blue",
          rules.STATUS_PLAN: "violet", rules.STATUS_PAID: "green"}


def invoices(view: portal.PortalView) -> None:
    """One line per invoice, as a card: on a phone its two halves stack, so nothing is cut off."""
    for i in view.invoices:
        with st.container(border=True):
            left, right = st.columns([3, 2], vertical_alignment="center")
            left.markdown(f"**{_('Invoice')} {md(i.number)}**  \n" + md(_("dated {date}, due {due}",
                          date=i18n.day(i.invoice_date), due=i18n.day(i.due_date))))
            status = f":{BADGES[i.status]}-badge[{md(_(rules.STATUS_WORDS[i.status]))}]"
            right.markdown(f"**{md(i18n.money(i.open_cents, i.currency))}** {status}")


def _run(action, done: str, **kwargs) -> None:
    try:
        with state.uow() as u:
            action(u, st.session_state["_portal_token"], client_address(), **kwargs)
    except portal.PortalRefused:
        neutral()
    except ServiceError as exc:
        st.error(i18n.error(exc), icon=":material/error:")
        return
    st.session_state["_portal_done"] = done
    st.rerun()


def _numbers(view: portal.PortalView, key: str, label: str, *, undisputed: bool = True) -> list[str]:
    options = [i.number for i in view.invoices if not undisputed or i.status != rules.STATUS_DISPUTED]
    return st.multiselect(label, options, key=key, placeholder=_("Choose invoices"))


def actions(view: portal.PortalView) -> None:
    st.subheader(_("Is something not right, or do you need more time?"))
    tabs = st.tabs([_("Dispute an invoice"), _("Promise to pay"), _("I have paid"), _("Payment plan"),
                    _("E-mail address")])
    reasons = {code: _(words) for code, words in rules.DISPUTE_REASONS.items()}
    today = date.today()
    with tabs[0], st.form("dispute", clear_on_submit=False):
        numbers = _numbers(view, "dispute_numbers", _("Which invoices?"))
        reason = st.selectbox(_("Reason"), list(reasons), format_func=reasons.get, key="dispute_reason")
        text = st.text_area(_("Explain in a few words"), max_chars=rules.MAX_REASON, key="dispute_text")
        if st.form_submit_button(_("Send the dispute"), type="primary"):
            _run(portal.dispute, _("Thank you. We will look into it; until then we send no reminders for it."),
                 numbers=numbers, reason=reason, text=text)
    with tabs[1], st.form("promise"):
        st.caption(_("Choose a date within {n} days.", n=view.promise_horizon_days))
        numbers = _numbers(view, "promise_numbers", _("Which invoices? (none chosen: all that are due)"))
        when = st.date_input(_("I will pay on"), value=today + timedelta(days=7), min_value=today,
                             max_value=today + timedelta(days=view.promise_horizon_days), format="DD-MM-YYYY",
                             key="promise_date")
        text = st.text_input(_("Note (optional)"), max_chars=rules.MAX_REASON, key="promise_text")
        if st.form_submit_button(_("Send the promise"), type="primary"):
            _run(portal.promise, _("Thank you. We send no reminders for these invoices until that date."),
                 promise_date=when, numbers=numbers, text=text)
    with tabs[2], st.form("paid"):
        numbers = _numbers(view, "paid_numbers", _("Which invoices? (none chosen: all)"))
        when = st.date_input(_("Paid on"), value=today, max_value=today,
                             min_value=today - timedelta(days=rules.PAID_LOOKBACK_DAYS), format="DD-MM-YYYY",
                             key="paid_date")
        amount = st.number_input(_("Amount (optional)"), min_value=0.0, step=10.0, format="%.2f", key="paid_amount")
        text = st.text_input(_("Note (optional)"), max_chars=rules.MAX_REASON, key="paid_text")
        if st.form_submit_button(_("Let us know"), type="primary"):
            cents = round(amount * 100) or None
            _run(portal.report_payment, _("Thank you. We will look for your payment and wait with reminders."),
                 paid_on=when, amount_cents=cents, numbers=numbers, text=text)
    with tabs[3]:
        if view.plan_proposed:
            st.info(_("Your proposal for a payment plan is with us; we will let you know."), icon=":material/schedule:")
        with st.form("plan"):
            st.caption(_("Pay in instalments: at most {n} terms, the first within {days} days.",
                         n=view.plan_max_terms, days=view.plan_max_first_delay_days))
            numbers = _numbers(view, "plan_numbers", _("Which invoices?"))
            terms = st.number_input(_("Number of instalments"), min_value=2, max_value=max(2, view.plan_max_terms),
                                    value=min(3, max(2, view.plan_max_terms)), step=1, key="plan_terms")
            start = st.date_input(_("First instalment on"), value=today + timedelta(days=7), min_value=today,
                                  max_value=today + timedelta(days=view.plan_max_first_delay_days), format="DD-MM-YYYY",
                                  key="plan_start")
            text = st.text_input(_("Note (optional)"), max_chars=rules.MAX_REASON, key="plan_text")
            if st.form_submit_button(_("Propose the payment plan"), type="primary"):
                _run(portal.propose_plan, _("Thank you. We will look at your proposal and let you know."),
                     numbers=numbers, terms=int(terms), start_date=start, text=text)
    with tabs[4], st.form("address"):
        st.caption(_("Reminders now go to: {addresses}", addresses=md(", ".join(view.emails) or "—")))
        if view.pending_address:
            st.info(_("We sent a confirmation link to {address}.", address=md(view.pending_address)))
        address = st.text_input(_("New e-mail address"), max_chars=rules.MAX_NAME, key="new_address")
        if st.form_submit_button(_("Send a confirmation link"), type="primary"):
            _run(portal.request_address_change,
                 _("We sent a link to the new address; reminders go there once you open it."), address=address)


def _downloaded() -> None:
    try:
        with state.uow() as u:
            portal.statement_downloaded(u, st.session_state["_portal_token"], client_address())
    except ServiceError:
        pass  # the file is the debtor's already; a refused audit changes nothing for them


def pay(view: portal.PortalView) -> None:
    st.subheader(_("How to pay"))
    left, right = st.columns([1, 2], vertical_alignment="top")
    if view.qr_png:
        left.image(view.qr_png, width=180, caption=_("Scan with your banking app"))
    with right:
        st.markdown(_("**Amount:** {amount}", amount=md(i18n.money(view.to_pay_cents, view.currency))))
        if view.iban:
            st.markdown(_("**IBAN:** {iban}", iban=md(view.iban)))
        if view.bic:
            st.markdown(_("**BIC:** {bic}", bic=md(view.bic)))
        if view.beneficiary:
            st.markdown(_("**Beneficiary:** {name}", name=md(view.beneficiary)))
        st.markdown(_("**Payment reference:** {reference}", reference=md(view.reference)))
        if view.payment_link:
            st.link_button(_("Pay online"), view.payment_link, type="primary", icon=":material/payments:")


def page(token: str) -> None:
    first = st.session_state.get(_SEEN) != token
    try:
        with state.uow() as u:
            view = portal.view(u, token, client_address(), count=first)
    except portal.PortalRefused:
        neutral()
    st.session_state[_SEEN] = token
    st.session_state["_portal_token"] = token
    if first:
        i18n.use(view.language)
    c1, c2 = st.columns([4, 1], vertical_alignment="bottom")
    c1.markdown(f"**{md(view.contact.company)}**")
    languages = list(i18n.LANGUAGES)
    chosen = c2.selectbox(_("Language"), languages, index=languages.index(i18n.current()),
                          format_func=i18n.LANGUAGES.get, key="_portal_language", label_visibility="collapsed")
    if chosen != i18n.current():
        i18n.use(chosen)
        st.rerun()
    st.title(_("Your open invoices"))
    st.markdown(md(view.debtor_name))
    done = st.session_state.pop("_portal_done", None)
    if done:
        st.success(done, icon=":material/check:")
    if not view.invoices:
        st.success(_("You have no open invoices with us. Thank you!"), icon=":material/check:")
    else:
        invoices(view)
        for currency, cents in view.totals.items():
            st.markdown(_("**Total open:** {amount}", amount=md(i18n.money(cents, currency))))
        if view.costs_cents or view.interest_cents:
            st.markdown(_("Including the collection costs of {costs} and the statutory interest of {interest} "
                          "our letter claimed: **{total}** to pay.",
                          costs=md(i18n.money(view.costs_cents, view.currency)),
                          interest=md(i18n.money(view.interest_cents, view.currency)),
                          total=md(i18n.money(view.to_pay_cents, view.currency))))
        if view.to_pay_cents > 0:
            pay(view)
    try:
        with state.uow() as u:
            name, pdf = portal.statement_pdf(u, token, client_address())
        st.download_button(_("Download the statement (PDF)"), pdf, file_name=name, mime="application/pdf",
                           icon=":material/download:", on_click=_downloaded)
    except ServiceError:
        pass
    if view.invoices:
        actions(view)
    st.divider()
    st.caption(_("Questions? Contact us:"))
    _contact_lines(view.contact)


def render() -> None:
    params = st.query_params
    if params.get("confirm"):
        confirm(params["confirm"])
    token = params.get("t") or ""
    page(token)
