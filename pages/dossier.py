from ui.auth import require

user = require("viewer")

import re  # noqa: E402
from datetime import date, timedelta  # noqa: E402

import pandas as pd  # noqa: E402
import plotly.graph_objects as go  # noqa: E402
import streamlit as st  # noqa: E402

from receivables.domain import calls, contacts  # noqa: E402
from receivables.domain.dossier import TIMELINE_KINDS  # noqa: E402
from receivables.domain.money import fmt, from_decimal  # noqa: E402
from receivables.services import claims, dossier  # noqa: E402
from receivables.services.errors import ServiceError  # noqa: E402
from ui import state  # noqa: E402

KIND_LABELS = {"invoice": "Invoices", "payment": "Payments", "note": "Notes", "call": "Calls",
               "promise": "Promises", "dispute": "Disputes", "reminder": "Reminders", "reply": "Replies",
               "block": "Blocks", "contact": "Contact changes"}
KIND_ICONS = {"invoice": ":material/receipt_long:", "payment": ":material/payments:", "note": ":material/edit_note:",
              "call": ":material/call:", "promise": ":material/handshake:", "dispute": ":material/gavel:",
              "reminder": ":material/outgoing_mail:", "reply": ":material/mark_email_read:",
              "block": ":material/block:", "contact": ":material/contact_mail:"}
PAGE_SIZE = 40
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")
_AUTOLINK = re.compile(r"(?i)(:/|www\.)")


def md(text) -> str:
    """Labels may hold data from imports or e-mails (a subject, a sender's name): escape every Markdown
    character, and break what GitHub-flavoured Markdown would turn into a link by itself (http://…,
    www.…) with an invisible zero-width space, so nobody can plant a clickable link."""
    text = _AUTOLINK.sub(lambda m: m.group(0)[:-1] + "\u200b" + m.group(0)[-1], str(text or ""))
    return _MD_SPECIAL.sub(r"\\\1", text)


def run(action, success: str, **kwargs) -> None:
    """Call a service in a write transaction; on success show `success` after the rerun."""
    try:
        with state.uow(immediate=True) as uow:
            action(uow, actor=user.username, **kwargs)
    except ServiceError as exc:
        st.error(f"{exc}", icon=":material/error:")
        return
    state.data_changed()
    st.session_state["dossier_flash"] = success
    st.rerun()


today = date.today()
st.title("Debtor dossier")
if flash := st.session_state.pop("dossier_flash", None):
    st.success(flash, icon=":material/check_circle:")

code = st.query_params.get("debtor")
query = st.text_input("Find a debtor", placeholder="code, name, e-mail or invoice number",
                      key="dossier_search")
if query.strip():
    with state.uow() as uow:
        matches = dossier.find_debtors(uow, query)
    if not matches:
        st.info("No debtor matches that; type at least two letters of the code, name, e-mail or an invoice "
                "number.")
    elif len(matches) == 1 or matches[0].code.lower() == query.strip().lower():
        if matches[0].code != code:  # one match (or the exact code): open it straight away
            code = matches[0].code
            st.query_params["debtor"] = code
    else:
        options = {f"{m.code} · {m.name} — {m.matched_on}": m.code for m in matches}
        pick = st.selectbox(f"{len(matches)} matching debtor{'s' if len(matches) > 1 else ''}", list(options),
                            index=None, placeholder="choose a debtor", key="dossier_pick")
        if pick and options[pick] != code:
            code = options[pick]
            st.query_params["debtor"] = code

if not code:
    st.info("Search for a debtor above, or open one from a table of debtors.")
    st.stop()

kinds_key = "dossier_kinds"
chosen_kinds = st.session_state.get(kinds_key, list(TIMELINE_KINDS))
shown = st.session_state.get("dossier_shown", PAGE_SIZE)
try:
    with state.uow() as uow:  # reads only: a promise past its date shows as the next review will record it
        d = dossier.open_dossier(uow, code, today, kinds=chosen_kinds, limit=shown)
except ServiceError as exc:
    st.error(str(exc))
    st.stop()
h = d.header

# --- header -----------------------------------------------------------------------------------------
st.header(md(h.name), anchor=False)
contact = " · ".join(md(x) for x in [h.contact_person, h.phone, (h.address or "").replace("\n", ", ")] if x)
st.markdown(f"`{md(h.code)}` · {contacts.LANGUAGES.get(h.language, h.language)} · "
            f"{md(h.segment or 'no segment')} · account manager {md(h.account_manager or '—')} · "
            f"payment term {h.payment_term_days} days")
st.markdown(f":material/mail: {', '.join(md(e) for e in h.emails) or '_no reminder e-mail address_'}"
            + (f" · :material/person: {contact}" if contact else ""))
if h.flags:
    st.markdown(" ".join(f":{f.level}-badge[{md(f.label)}]" for f in h.flags))

b = h.behaviour
currencies = sorted(set(h.open_cents) | set(h.overdue_cents)) or ["EUR"]
money_row, behaviour_row = st.columns(3), st.columns(3)
money_row[0].metric("Open", " / ".join(fmt(h.open_cents.get(c, 0), c) for c in currencies))
money_row[1].metric("Overdue", " / ".join(fmt(h.overdue_cents.get(c, 0), c) for c in currencies))
money_row[2].metric("Open invoices", int((d.invoices["open_cents"] > 0).sum()))
behaviour_row[0].metric("Weighted days late", "—" if b.avg_days_late is None else f"{b.avg_days_late:.1f}",
                        help="Σ(amount × days late) / Σ(amount) over the invoices paid in the last 12 months")
behaviour_row[1].metric("Paid late", "—" if b.share_paid_late is None else f"{b.share_paid_late:.0%}",
                        help=f"share of the {b.invoices_paid} invoices paid in the last 12 months that were paid "
                             "after their due date")
behaviour_row[2].metric("Trend", b.trend, None if b.trend_days is None else f"{b.trend_days:+.0f} days",
                        delta_color="inverse",
                        help="average days late of the last 3 months minus that of the 9 months before; "
                             "more than a week either way is a trend")
st.markdown(f"**Reminder track:** {md(h.track.name)} — {md(h.track.reason)}")
if h.reminders_blocked:
    until = f" until {h.blocked_until:%d-%m-%Y}" if h.blocked_until else ""
    st.warning(f"Reminders are blocked{until}: {md(h.blocked_reason)}", icon=":material/block:")

# --- invoices ---------------------------------------------------------------------------------------
inv = d.invoices
open_inv = inv[inv["open_cents"] != 0]
paid_inv = inv[inv["open_cents"] == 0]
money = {"amount_cents": "Amount", "open_cents": "Open"}


def invoice_table(frame: pd.DataFrame, paid: bool) -> None:
    table = frame.copy()
    for c in money:
        table[c] = table[c] / 100
    columns = ["number", "invoice_date", "due_date", "currency", "amount_cents"]
    columns += ["settled_date", "days_late"] if paid else ["open_cents", "days_late", "status", "disputed",
                                                           "paused_until", "reminder_step", "next_step",
                                                           "next_step_date"]
    labels = {"number": "Invoice", "invoice_date": "Date", "due_date": "Due", "currency": "Cur.",
              "settled_date": "Paid on", "days_late": "Days late", "status": "Status", "disputed": "Disputed",
              "paused_until": "Paused until", "reminder_step": "Last reminder", "next_step": "Next reminder",
              "next_step_date": "Next on", **money}
    config = {c: st.column_config.NumberColumn(labels[c], format="%.2f") for c in money}
    for c in ("invoice_date", "due_date", "settled_date", "paused_until", "next_step_date"):
        config[c] = st.column_config.DateColumn(labels[c], format="DD-MM-YYYY")
    for c in ("reminder_step", "next_step"):
        table[c] = table[c].fillna("")
    optional = ("paused_until", "reminder_step", "next_step", "next_step_date")
    columns = [c for c in columns if c not in optional or (table[c].notna() & (table[c] != "")).any()]
    config.update({c: labels[c] for c in columns if c not in config})
    st.dataframe(table[columns], hide_index=True, width="stretch", column_config=config,
                 height=min(400, 38 + 35 * max(1, len(table))))


st.subheader("Invoices")
t_open, t_paid = st.tabs([f"Open ({len(open_inv)})", f"Paid ({len(paid_inv)})"])
with t_open:
    if len(open_inv):
        invoice_table(open_inv, paid=False)
    else:
        st.caption("Nothing open.")
with t_paid:
    if len(paid_inv):
        invoice_table(paid_inv, paid=True)
    else:
        st.caption("Nothing paid yet.")

# --- days late chart ----------------------------------------------------------------------------------
if len(d.days_late):
    st.subheader("Days late per paid invoice")
    dl = d.days_late
    fig = go.Figure()
    fig.add_scatter(x=dl["paid_date"], y=dl["days_late"], mode="markers", name="invoice",
                    marker=dict(size=(dl["amount_cents"] / dl["amount_cents"].max() * 18 + 6).tolist(),
                                color=dl["days_late"], colorscale=[[0, "#4c9f70"], [0.3, "#f2c14e"],
                                                                    [1, "#d1495b"]], cmin=0,
                                cmax=max(60, int(dl["days_late"].max())), opacity=0.8),
                    customdata=list(zip(dl["number"], [fmt(a, c) for a, c in zip(dl["amount_cents"],
                                                                                  dl["currency"])])),
                    hovertemplate="%{customdata[0]}: %{y} days late, %{customdata[1]}<extra></extra>")
    trend = dl.set_index(pd.to_datetime(dl["paid_date"]))["days_late"].rolling("90D").mean()
    fig.add_scatter(x=trend.index, y=trend.values, mode="lines", name="90-day average",
                    line=dict(color="#555", width=2), hovertemplate="%{y:.0f} days (90-day average)<extra></extra>")
    fig.update_layout(height=260, margin=dict(l=10, r=10, t=10, b=10), showlegend=False,
                      yaxis_title="days late", yaxis_rangemode="tozero")
    st.plotly_chart(fig, width="stretch")

# --- actions ----------------------------------------------------------------------------------------
if user.can("collector"):
    st.subheader("Record")
    open_numbers = open_inv[open_inv["open_cents"] > 0]["number"].tolist()
    undisputed = open_inv[(open_inv["open_cents"] > 0) & ~open_inv["disputed"]]["number"].tolist()
    disputed = inv[inv["disputed"]]["number"].tolist()
    tabs = st.tabs(["Note", "Call", "Promise to pay", "Dispute", "Block reminders", "Contact", "Reply",
                    "Prescription"])
    with tabs[7], st.form("interruption_form", clear_on_submit=True):
        st.caption("A claim may be time-barred five years after its due date (two for a consumer purchase, "
                   "art. 3:307 and 7:28 BW); such invoices get no automatic reminders. A letter that clearly "
                   "demands payment interrupts prescription (art. 3:317 BW): send it by hand and record it here.")
        numbers = st.multiselect("Invoices the letter demanded", open_numbers, key="interruption_invoices")
        sent_on = st.date_input("Sent on", value=date.today(), format="DD-MM-YYYY", key="interruption_sent_on")
        text = st.text_area("What the letter said and how it was sent", key="interruption_text")
        if st.form_submit_button("Record the letter", key="record_interruption"):
            run(claims.record_interruption, "Interruption of prescription recorded.", code=code, numbers=numbers,
                text=text, sent_on=sent_on)
    with tabs[0], st.form("note_form", clear_on_submit=True):
        text = st.text_area("Note", key="note_text")
        if st.form_submit_button("Add note", key="add_note"):
            run(dossier.add_note, "Note added.", code=code, text=text)
    with tabs[1], st.form("call_form", clear_on_submit=True):
        outcome = st.radio("Outcome", calls.CALL_OUTCOMES, horizontal=True, key="call_outcome")
        text = st.text_area("What was said", key="call_text")
        if st.form_submit_button("Log call", key="log_call"):
            run(dossier.log_call, "Call logged.", code=code, outcome=outcome, text=text)
    with tabs[2], st.form("promise_form", clear_on_submit=True):
        c1, c2 = st.columns(2)
        promised = c1.date_input("Promised payment date", value=today + timedelta(days=7), min_value=today,
                                 format="DD-MM-YYYY", key="promise_date")
        amount = c2.number_input("Amount (0 = the open amount of the invoices)", min_value=0.0, step=0.01,
                                 format="%.2f", key="promise_amount")
        numbers = st.multiselect("Invoices (none = every open overdue invoice)", open_numbers,
                                 key="promise_invoices")
        text = st.text_area("Note", key="promise_text")
        if st.form_submit_button("Record promise", key="record_promise"):
            run(dossier.promise_to_pay, "Promise recorded; reminders for its invoices are paused.", code=code,
                promise_date=promised, amount_cents=from_decimal(f"{amount:.2f}"), invoice_numbers=numbers,
                text=text, today=today)
    with tabs[3]:
        with st.form("dispute_form", clear_on_submit=True):
            number = st.selectbox("Invoice", undisputed, index=None, key="dispute_invoice")
            reason = st.text_area("Reason", key="dispute_reason")
            if st.form_submit_button("Open dispute", key="open_dispute"):
                run(dossier.dispute_invoice, "Dispute opened; the invoice left the reminder track.", code=code,
                    number=number or "", reason=reason)
        if disputed:
            with st.form("resolve_form", clear_on_submit=True):
                number = st.selectbox("Disputed invoice", disputed, index=None, key="resolve_invoice")
                text = st.text_area("How it was resolved", key="resolve_text")
                if st.form_submit_button("Resolve dispute", key="resolve_dispute"):
                    run(dossier.resolve_dispute, "Dispute resolved.", code=code, number=number or "", text=text)
    with tabs[4]:
        if h.reminders_blocked:
            with st.form("unblock_form", clear_on_submit=True):
                text = st.text_area("Note", key="unblock_text")
                if st.form_submit_button("Unblock reminders", key="unblock"):
                    run(dossier.unblock_reminders, "Reminders unblocked.", code=code, text=text)
        else:
            with st.form("block_form", clear_on_submit=True):
                reason = st.text_area("Reason", key="block_reason")
                until = st.date_input("Blocked until (empty: until unblocked)", value=None, min_value=today,
                                      format="DD-MM-YYYY", key="block_until")
                if st.form_submit_button("Block reminders", key="block"):
                    run(dossier.block_reminders, "Reminders blocked.", code=code, reason=reason, until=until,
                        today=today)
    with tabs[5], st.form("contact_form"):
        emails = st.text_area("Reminder e-mail addresses (comma or one per line)", value="\n".join(h.emails),
                              key=f"contact_emails_{code}")
        c1, c2, c3 = st.columns(3)
        langs = list(contacts.LANGUAGES)
        language = c1.selectbox("Language", langs, index=langs.index(h.language) if h.language in langs else 0,
                                format_func=contacts.LANGUAGES.get, key=f"contact_language_{code}")
        person = c2.text_input("Contact person", value=h.contact_person or "", key=f"contact_person_{code}")
        phone = c3.text_input("Phone", value=h.phone or "", key=f"contact_phone_{code}")
        address = st.text_area("Postal address (for letters: street and number, postcode and city, country)",
                               value=h.address or "", height=110, key=f"contact_address_{code}")
        if st.form_submit_button("Save contact data", key="save_contact"):
            run(dossier.update_contact, "Contact data saved.", code=code, emails=emails, language=language,
                contact_person=person, phone=phone, address=address)
    with tabs[6], st.form("reply_form", clear_on_submit=True):
        upload = st.file_uploader("The debtor's e-mail (.eml)", type=["eml"], key="reply_file")
        text = st.text_area("…or paste the reply", key="reply_text")
        if st.form_submit_button("Record reply", key="record_reply"):
            if upload is not None:
                run(dossier.record_reply, "Reply recorded.", code=code, eml=upload.getvalue(),
                    file_name=upload.name)
            else:
                run(dossier.record_reply, "Reply recorded.", code=code, text=text)

# --- timeline ---------------------------------------------------------------------------------------
st.subheader("Timeline")
st.pills("Show", list(TIMELINE_KINDS), selection_mode="multi", default=list(TIMELINE_KINDS),
         format_func=KIND_LABELS.get, key=kinds_key)
if not d.timeline:
    st.caption("Nothing to show for this selection.")
for e in d.timeline:
    with st.container(border=True):
        who = f" · {md(e.by)}" if e.by else ""
        moment = f"{e.at:%d-%m-%Y}" if (e.at.hour, e.at.minute) == (0, 0) else f"{e.at:%d-%m-%Y %H:%M}"
        st.markdown(f"{KIND_ICONS.get(e.kind, '')} **{md(e.title)}**  \n:gray[{moment}{who}"
                    + "".join(f" · {md(x)}" for x in e.details) + "]")
        if e.text:
            st.text(e.text)
if d.timeline_total > len(d.timeline):
    st.caption(f"Showing {len(d.timeline)} of {d.timeline_total} entries.")
    if st.button("Show more", key="timeline_more"):
        st.session_state["dossier_shown"] = shown + PAGE_SIZE
        st.rerun()
