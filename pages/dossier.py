from ui.auth import require

user = require("viewer")

from datetime import date, timedelta  # noqa: E402

import pandas as pd  # noqa: E402
import plotly.graph_objects as go  # noqa: E402
import streamlit as st  # noqa: E402

from receivables.domain import calls, contacts  # noqa: E402
from receivables.domain.dossier import TIMELINE_KINDS  # noqa: E402
from receivables.domain.money import from_decimal  # noqa: E402
from receivables.services import claims, dossier, portal  # noqa: E402
from receivables.services.errors import ServiceError  # noqa: E402
from receivables.services.timeline import BY, CALL_OUTCOME_WORDS  # noqa: E402
from ui import i18n, state, uploader  # noqa: E402
from ui.dossier_mail import mail_in_dossier  # noqa: E402
from ui.dossier_payments import bank_payments  # noqa: E402
from ui.dossier_plans import plans_section  # noqa: E402
from ui.i18n import N_, _, n_  # noqa: E402
from ui.phrases import said  # noqa: E402
from ui.text import md  # noqa: E402

KIND_LABELS = {"invoice": N_("Invoices"), "payment": N_("Payments"), "note": N_("Notes"), "call": N_("Calls"),
               "promise": N_("Promises"), "dispute": N_("Disputes"), "reminder": N_("Reminders"),
               "reply": N_("Replies"), "block": N_("Blocks"), "contact": N_("Contact changes"),
               "portal": N_("Portal")}
MATCHED_ON = (N_("code"), N_("name"), N_("e-mail"), N_("invoice {number}"))
KIND_ICONS = {"invoice": ":material/receipt_long:", "payment": ":material/payments:", "note": ":material/edit_note:",
              "call": ":material/call:", "promise": ":material/handshake:", "dispute": ":material/gavel:",
              "reminder": ":material/outgoing_mail:", "reply": ":material/mark_email_read:",
              "block": ":material/block:", "contact": ":material/contact_mail:", "portal": ":material/language:"}
PAGE_SIZE = 40


def run(action, success: str, **kwargs) -> None:
    """Call a service in a write transaction; on success show `success` after the rerun."""
    try:
        with state.uow(immediate=True) as uow:
            action(uow, actor=user.username, **kwargs)
    except ServiceError as exc:
        st.error(i18n.error(exc), icon=":material/error:")
        return
    state.data_changed()
    st.session_state["dossier_flash"] = success
    st.rerun()


today = date.today()
st.title(_("Debtor dossier"))
if flash := st.session_state.pop("dossier_flash", None):
    st.success(flash, icon=":material/check_circle:")

code = st.query_params.get("debtor")
query = st.text_input(_("Find a debtor"), placeholder=_("code, name, e-mail or invoice number"),
                      key="dossier_search")
if query.strip():
    refused, matches = None, []
    try:
        with state.uow() as uow:
            matches = dossier.find_debtors(uow, query)
    except ServiceError as exc:
        refused = exc
    if refused is not None:
        st.error(i18n.error(refused), icon=":material/error:")
    elif not matches:
        st.info(_("No debtor matches that; type at least two letters of the code, name, e-mail or an invoice "
                  "number."))
    elif len(matches) == 1 or matches[0].code.lower() == query.strip().lower():
        if matches[0].code != code:  # one match (or the exact code): open it straight away
            code = matches[0].code
            st.query_params["debtor"] = code
    else:
        def how(matched_on: str) -> str:
            if matched_on.startswith("invoice "):
                return _("invoice {number}", number=matched_on.removeprefix("invoice "))
            return _(matched_on)

        options = {f"{m.code} · {m.name} — {how(m.matched_on)}": m.code for m in matches}
        pick = st.selectbox(n_("{n} matching debtor", "{n} matching debtors", len(matches)), list(options),
                            index=None, placeholder=_("choose a debtor"), key="dossier_pick")
        if pick and options[pick] != code:
            code = options[pick]
            st.query_params["debtor"] = code

if not code:
    st.info(_("Search for a debtor above, or open one from a table of debtors."))
    st.stop()

kinds_key = "dossier_kinds"
chosen_kinds = st.session_state.get(kinds_key, list(TIMELINE_KINDS))
shown = st.session_state.get("dossier_shown", PAGE_SIZE)
try:
    with state.uow() as uow:  # reads only: a promise past its date shows as the next review will record it
        d = dossier.open_dossier(uow, code, today, kinds=chosen_kinds, limit=shown)
except ServiceError as exc:
    st.error(i18n.error(exc))
    st.stop()
h = d.header

# --- header -----------------------------------------------------------------------------------------
st.header(md(h.name), anchor=False)
contact = " · ".join(md(x) for x in [h.contact_person, h.phone, (h.address or "").replace("\n", ", ")] if x)
st.markdown(f"`{md(h.code)}` · {contacts.LANGUAGES.get(h.language, h.language)} · "
            f"{md(h.segment) if h.segment else _('no segment')} · "
            + _("account manager {name}", name=md(h.account_manager or "—")) + " · "
            + n_("payment term {n} day", "payment term {n} days", h.payment_term_days))
no_address = _("no reminder e-mail address")
st.markdown(f":material/mail: {', '.join(md(e) for e in h.emails) or f'_{no_address}_'}"
            + (f" · :material/person: {contact}" if contact else ""))
if h.flags:
    st.markdown(" ".join(f":{f.level}-badge[{md(said(f.phrase))}]" for f in h.flags))

b = h.behaviour
currencies = sorted(set(h.open_cents) | set(h.overdue_cents)) or ["EUR"]
money_row, behaviour_row = st.columns(3), st.columns(3)
money_row[0].metric(_("Open"), " / ".join(i18n.money(h.open_cents.get(c, 0), c) for c in currencies))
money_row[1].metric(_("Overdue"), " / ".join(i18n.money(h.overdue_cents.get(c, 0), c) for c in currencies))
money_row[2].metric(_("Open invoices"), int((d.invoices["open_cents"] > 0).sum()))
behaviour_row[0].metric(_("Weighted days late"), "—" if b.avg_days_late is None else i18n.days(b.avg_days_late),
                        help=_("Σ(amount × days late) / Σ(amount) over the invoices paid in the last 12 months"))
behaviour_row[1].metric(_("Paid late"), "—" if b.share_paid_late is None else i18n.percent(b.share_paid_late),
                        help=_("share of the {n} invoices paid in the last 12 months that were paid after their "
                               "due date", n=b.invoices_paid))
trend_delta = None if b.trend_days is None else ("+" if b.trend_days > 0 else "") + i18n.days(round(b.trend_days))
behaviour_row[2].metric(_("Trend"), _(b.trend), trend_delta, delta_color="inverse",
                        help=_("average days late of the last 3 months minus that of the 9 months before; "
                               "more than a week either way is a trend"))
track_label = _("Reminder track:")
st.markdown(f"**{track_label}** {md(h.track.name)} — {md(said(h.track.reason))}")
if h.reminders_blocked:
    blocked_text = (_("Reminders are blocked until {day}: {reason}", day=i18n.day(h.blocked_until),
                      reason=md(h.blocked_reason)) if h.blocked_until
                    else _("Reminders are blocked: {reason}", reason=md(h.blocked_reason)))
    st.warning(blocked_text, icon=":material/block:")

# --- invoices ---------------------------------------------------------------------------------------
inv = d.invoices
open_inv = inv[inv["open_cents"] != 0]
paid_inv = inv[inv["open_cents"] == 0]
money = {"amount_cents": N_("Amount"), "open_cents": N_("Open")}
DATE_FORMAT = "DD-MM-YYYY" if i18n.current() == "nl" else "DD MMM YYYY"
DATE_INPUT = "DD-MM-YYYY" if i18n.current() == "nl" else "YYYY/MM/DD"


def invoice_table(frame: pd.DataFrame, paid: bool) -> None:
    """Key columns first; amounts as the reader writes them, right-aligned; long reminder names cut short
    with the whole text on hover; empty cells blank."""
    table = frame.copy()
    for c in money:
        table[c] = [i18n.money(v, cur) for v, cur in zip(table[c], table["currency"])]
    table["status"] = [_(v) for v in table["status"]]
    table["disputed"] = [_("yes") if v else "" for v in table["disputed"]]
    columns = ["number", "invoice_date", "due_date", "amount_cents"]
    columns += ["settled_date", "days_late"] if paid else ["open_cents", "days_late", "status", "disputed",
                                                           "paused_until", "reminder_step", "next_step",
                                                           "next_step_date"]
    labels = {"number": _("Invoice"), "invoice_date": _("Date"), "due_date": _("Due"),
              "settled_date": _("Paid on"), "days_late": _("Days late"), "status": _("Status"),
              "disputed": _("Disputed"), "paused_until": _("Paused until"), "reminder_step": _("Last reminder"),
              "next_step": _("Next reminder"), "next_step_date": _("Next on"),
              **{c: _(label) for c, label in money.items()}}
    config = {c: st.column_config.TextColumn(labels[c], alignment="right", width="small") for c in money}
    for c in ("invoice_date", "due_date", "settled_date", "paused_until", "next_step_date"):
        config[c] = st.column_config.DateColumn(labels[c], format=DATE_FORMAT, width="small")
    config["days_late"] = st.column_config.NumberColumn(labels["days_late"], format="%d", width="small")
    config["number"] = st.column_config.TextColumn(labels["number"], pinned=True)
    for c in ("reminder_step", "next_step"):
        table[c] = table[c].fillna("")
        config[c] = st.column_config.TextColumn(labels[c], width="medium", help=_("hover a cell for the whole text"))
    optional = ("paused_until", "reminder_step", "next_step", "next_step_date", "disputed")
    columns = [c for c in columns if c not in optional or (table[c].notna() & (table[c] != "")).any()]
    config.update({c: labels[c] for c in columns if c not in config})
    st.dataframe(table[columns], hide_index=True, width="stretch", column_config=config,
                 height=min(400, 38 + 35 * max(1, len(table))))


def statement_downloads() -> None:
    """The statement of account of the open items, in the reader's language, as PDF and workbook."""
    cols = st.columns([1, 1, 1])
    for col, fmt in zip(cols, ("pdf", "xlsx")):
        try:
            with state.uow() as uow:
                made = dossier.statement(uow, code, fmt, i18n.current(), today)
        except ServiceError as exc:
            st.caption(i18n.error(exc))
            return
        col.download_button(_("Statement (PDF)") if fmt == "pdf" else _("Statement (Excel)"), made.data,
                            file_name=made.name, mime=made.mime, key=f"statement_{fmt}",
                            icon=":material/download:",
                            help=_("statement of account: the open items of this debtor"))


st.subheader(_("Invoices"))
if len(open_inv):
    statement_downloads()
t_open, t_paid = st.tabs([_("Open ({n})", n=len(open_inv)), _("Paid ({n})", n=len(paid_inv))])
with t_open:
    if len(open_inv):
        invoice_table(open_inv, paid=False)
    else:
        st.caption(_("Nothing open."))
with t_paid:
    if len(paid_inv):
        invoice_table(paid_inv, paid=True)
    else:
        st.caption(_("Nothing paid yet."))

bank_payments(code)

# --- days late chart ----------------------------------------------------------------------------------
if len(d.days_late):
    st.subheader(_("Days late per paid invoice"))
    dl = d.days_late
    fig = go.Figure()
    fig.add_scatter(x=dl["paid_date"], y=dl["days_late"], mode="markers", name=_("invoice"),
                    marker=dict(size=(dl["amount_cents"] / dl["amount_cents"].max() * 18 + 6).tolist(),
                                color=dl["days_late"], colorscale=[[0, "#4c9f70"], [0.3, "#f2c14e"],
                                                                    [1, "#d1495b"]], cmin=0,
                                cmax=max(60, int(dl["days_late"].max())), opacity=0.8),
                    customdata=list(zip(dl["number"], [i18n.money(a, c) for a, c in zip(dl["amount_cents"],
                                                                                        dl["currency"])])),
                    hovertemplate=_("{invoice}: {days} days late, {amount}", invoice="%{customdata[0]}",
                                    days="%{y:,.0f}", amount="%{customdata[1]}") + "<extra></extra>")
    trend = dl.set_index(pd.to_datetime(dl["paid_date"]))["days_late"].rolling("90D").mean()
    fig.add_scatter(x=trend.index, y=trend.values, mode="lines", name=_("90-day average"),
                    line=dict(color="#555", width=2),
                    hovertemplate=_("{days} days (90-day average)", days="%{y:,.0f}") + "<extra></extra>")
    fig.update_layout(height=260, margin=dict(l=10, r=10, t=10, b=10), showlegend=False,
                      yaxis_title=_("days late"), yaxis_rangemode="tozero",
                      separators=",." if i18n.current() == "nl" else ".,")
    fig.update_xaxes(tickformat="%d-%m-%Y" if i18n.current() == "nl" else "%d %b %Y")
    st.plotly_chart(fig, width="stretch")

plans_section(code, user, today)

# --- actions ----------------------------------------------------------------------------------------
if user.can("collector"):
    st.subheader(_("Record"))
    open_numbers = open_inv[open_inv["open_cents"] > 0]["number"].tolist()
    undisputed = open_inv[(open_inv["open_cents"] > 0) & ~open_inv["disputed"]]["number"].tolist()
    disputed = inv[inv["disputed"]]["number"].tolist()
    tabs = st.tabs([_("Note"), _("Call"), _("Promise to pay"), _("Dispute"), _("Block reminders"), _("Contact"),
                    _("Reply"), _("Prescription")])
    with tabs[7], st.form("interruption_form", clear_on_submit=True):
        st.caption(_("A claim may be time-barred five years after its due date (two for a consumer purchase, "
                     "art. 3:307 and 7:28 BW); such invoices get no automatic reminders. A letter that clearly "
                     "demands payment interrupts prescription (art. 3:317 BW): send it by hand and record it here."))
        numbers = st.multiselect(_("Invoices the letter demanded"), open_numbers, key="interruption_invoices")
        sent_on = st.date_input(_("Sent on"), value=date.today(), format=DATE_INPUT, key="interruption_sent_on")
        text = st.text_area(_("What the letter said and how it was sent"), key="interruption_text")
        if st.form_submit_button(_("Record the letter"), key="record_interruption"):
            run(claims.record_interruption, _("Interruption of prescription recorded."), code=code, numbers=numbers,
                text=text, sent_on=sent_on)
    with tabs[0], st.form("note_form", clear_on_submit=True):
        text = st.text_area(_("Note"), key="note_text")
        if st.form_submit_button(_("Add note"), key="add_note"):
            run(dossier.add_note, _("Note added."), code=code, text=text)
    with tabs[1], st.form("call_form", clear_on_submit=True):
        outcome = st.radio(_("Outcome"), calls.CALL_OUTCOMES, horizontal=True,
                           format_func={o: _(CALL_OUTCOME_WORDS.get(o, o)) for o in calls.CALL_OUTCOMES}.get, key="call_outcome")
        text = st.text_area(_("What was said"), key="call_text")
        if st.form_submit_button(_("Log call"), key="log_call"):
            run(dossier.log_call, _("Call logged."), code=code, outcome=outcome, text=text)
    with tabs[2], st.form("promise_form", clear_on_submit=True):
        c1, c2 = st.columns(2)
        promised = c1.date_input(_("Promised payment date"), value=today + timedelta(days=7), min_value=today,
                                 format=DATE_INPUT, key="promise_date")
        amount = c2.number_input(_("Amount (0 = the open amount of the invoices)"), min_value=0.0, step=0.01,
                                 format="%.2f", key="promise_amount")
        numbers = st.multiselect(_("Invoices (none = every open overdue invoice)"), open_numbers,
                                 key="promise_invoices")
        text = st.text_area(_("Note"), key="promise_text")
        if st.form_submit_button(_("Record promise"), key="record_promise"):
            run(dossier.promise_to_pay, _("Promise recorded; reminders for its invoices are paused."), code=code,
                promise_date=promised, amount_cents=from_decimal(f"{amount:.2f}"), invoice_numbers=numbers,
                text=text, today=today)
    with tabs[3]:
        with st.form("dispute_form", clear_on_submit=True):
            number = st.selectbox(_("Invoice"), undisputed, index=None, key="dispute_invoice")
            reason = st.text_area(_("Reason"), key="dispute_reason")
            if st.form_submit_button(_("Open dispute"), key="open_dispute"):
                run(dossier.dispute_invoice, _("Dispute opened; the invoice left the reminder track."), code=code,
                    number=number or "", reason=reason)
        if disputed:
            with st.form("resolve_form", clear_on_submit=True):
                number = st.selectbox(_("Disputed invoice"), disputed, index=None, key="resolve_invoice")
                text = st.text_area(_("How it was resolved"), key="resolve_text")
                if st.form_submit_button(_("Resolve dispute"), key="resolve_dispute"):
                    run(dossier.resolve_dispute, _("Dispute resolved."), code=code, number=number or "", text=text,
                        today=today)
            with st.form("reject_form", clear_on_submit=True):
                number = st.selectbox(_("Disputed invoice"), disputed, index=None, key="reject_invoice")
                text = st.text_area(_("Why the invoice stands (sent to the debtor)"), key="reject_text")
                if st.form_submit_button(_("Reject dispute"), key="reject_dispute"):
                    run(portal.reject_dispute, _("Dispute rejected; the debtor has been told why."), code=code,
                        number=number or "", text=text)
    with tabs[4]:
        if h.reminders_blocked:
            with st.form("unblock_form", clear_on_submit=True):
                text = st.text_area(_("Note"), key="unblock_text")
                if st.form_submit_button(_("Unblock reminders"), key="unblock"):
                    run(dossier.unblock_reminders, _("Reminders unblocked."), code=code, text=text)
        else:
            with st.form("block_form", clear_on_submit=True):
                reason = st.text_area(_("Reason"), key="block_reason")
                until = st.date_input(_("Blocked until (empty: until unblocked)"), value=None, min_value=today,
                                      format=DATE_INPUT, key="block_until")
                if st.form_submit_button(_("Block reminders"), key="block"):
                    run(dossier.block_reminders, _("Reminders blocked."), code=code, reason=reason, until=until,
                        today=today)
    with tabs[5], st.form("contact_form"):
        emails = st.text_area(_("Reminder e-mail addresses (comma or one per line)"), value="\n".join(h.emails),
                              key=f"contact_emails_{code}")
        c1, c2, c3 = st.columns(3)
        langs = list(contacts.LANGUAGES)
        language = c1.selectbox(_("Language"), langs, index=langs.index(h.language) if h.language in langs else 0,
                                format_func=contacts.LANGUAGES.get, key=f"contact_language_{code}")
        person = c2.text_input(_("Contact person"), value=h.contact_person or "", key=f"contact_person_{code}")
        phone = c3.text_input(_("Phone"), value=h.phone or "", key=f"contact_phone_{code}")
        address = st.text_area(_("Postal address (for letters: street and number, postcode and city, country)"),
                               value=h.address or "", height=110, key=f"contact_address_{code}")
        if st.form_submit_button(_("Save contact data"), key="save_contact"):
            run(dossier.update_contact, _("Contact data saved."), code=code, emails=emails, language=language,
                contact_person=person, phone=phone, address=address)
    with tabs[6], st.form("reply_form", clear_on_submit=True):
        upload = uploader.file_uploader(_("The debtor's e-mail (.eml)"), type=["eml"], key="reply_file")
        text = st.text_area(_("…or paste the reply"), key="reply_text")
        if st.form_submit_button(_("Record reply"), key="record_reply"):
            if upload is not None:
                run(dossier.record_reply, _("Reply recorded."), code=code, eml=upload.getvalue(),
                    file_name=upload.name)
            else:
                run(dossier.record_reply, _("Reply recorded."), code=code, text=text)

# --- timeline ---------------------------------------------------------------------------------------
mail_in_dossier(code)
st.subheader(_("Timeline"))
st.pills(_("Show"), list(TIMELINE_KINDS), selection_mode="multi", default=list(TIMELINE_KINDS),
         format_func={k: _(KIND_LABELS[k]) for k in TIMELINE_KINDS}.get, key=kinds_key)
if not d.timeline:
    st.caption(_("Nothing to show for this selection."))
for e in d.timeline:
    with st.container(border=True):
        who = f" · {md(_(BY[e.by]) if e.by in BY else e.by)}" if e.by else ""
        moment = i18n.day(e.at) if e.dated else i18n.moment(e.at)
        st.markdown(f"{KIND_ICONS.get(e.kind, '')} **{md(said(e.phrase))}**  \n:gray[{md(moment)}{who}"
                    + "".join(f" · {md(said(x))}" for x in e.detail_phrases) + "]")
        if e.text:
            st.text(said(e.text))
if d.timeline_total > len(d.timeline):
    st.caption(_("Showing {shown} of {total} entries.", shown=len(d.timeline), total=d.timeline_total))
    if st.button(_("Show more"), key="timeline_more"):
        st.session_state["dossier_shown"] = shown + PAGE_SIZE
        st.rerun()
