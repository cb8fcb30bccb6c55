from ui.auth import require

user = require("admin")

import base64  # noqa: E402
from datetime import date  # noqa: E402

import pandas as pd  # noqa: E402
import streamlit as st  # noqa: E402

from receivables.domain.money import fmt  # noqa: E402
from receivables.services import reminders, send_confirm, sending, users  # noqa: E402
from receivables.services.errors import ServiceError  # noqa: E402
from ui import state  # noqa: E402
from ui.links import dossier_url  # noqa: E402
from ui.text import md  # noqa: E402

ACTIONS = {"send": "will be sent", "cancel": "will be cancelled", "rerender": "will be updated, then sent",
           "review": "goes back for review", "block": "debtor blocked: not sent",
           "address": "needs address: not sent"}
NOT_OFFERED = ("block", "address")  # shown, never sent by a press of the button
OUTCOMES = {"sent": "sent", "failed": "FAILED", "cancelled": "cancelled", "held": "held back",
            "waiting": "WAITING for confirmation", "skipped": "taken by another sender",
            "exported": "exported (not sent)"}
SECURITY = {"ssl": "SSL/TLS", "starttls": "STARTTLS", "none": "no encryption"}

st.title("Sender")
st.caption("Sends the approved reminders by e-mail, each exactly once. A message is re-checked right before "
           "it goes out: invoices paid, disputed or paused since approval leave it.")
today = date.today()

# --- the mail server ---------------------------------------------------------------------------------

try:
    cfg, cfg_error = sending.smtp_settings(), None
except ServiceError as exc:
    cfg, cfg_error = None, str(exc)

with st.container(border=True):
    st.subheader("Mail server")
    if cfg_error:
        st.error(f"The SMTP settings cannot be used: {cfg_error}. Fix them and restart the app.")
    elif cfg is None:
        st.warning("No SMTP server is configured, so nothing can be e-mailed yet. Set `[smtp]` in "
                   "`.streamlit/secrets.toml` (host, port, security = ssl | starttls | none, user, password, "
                   "from, reply_to) or the `SMTP_*` environment variables, and restart the app. Meanwhile you "
                   f"can write the messages as `.eml` files into the outbox folder `{sending.outbox_folder()}` "
                   "to try things out.")
    else:
        st.success(f"Sending through **{cfg.host}:{cfg.port}** ({SECURITY[cfg.security]}) as **{cfg.from_addr}**; "
                   f"replies go to **{cfg.reply_to or cfg.from_addr}**.")
        with st.expander("Settings in use"):
            st.dataframe([{"setting": k, "value": v, "from": src} for k, v, src in cfg.summary()],
                         hide_index=True, width="stretch")
        with state.uow() as uow:
            me = next((u.email for u in users.list_users(uow) if u.username == user.username), "") or ""
        with st.form("test_message"):
            c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
            to = c1.text_input("Send a test message to", value=me, placeholder="you@example.com")
            if c2.form_submit_button("Send test message", icon=":material/outgoing_mail:"):
                try:
                    transport, settings = sending.transport_and_settings()
                    with state.uow() as uow:
                        delivery = sending.send_test_message(uow, transport, settings, to, actor=user.username)
                    if delivery.outcome == "sent":
                        st.success(f"The test message was handed to {cfg.host}. Check the inbox of {md(to)}.")
                    else:
                        st.error(f"The test message was not sent: {md(delivery.detail)}")
                except ServiceError as exc:
                    st.error(str(exc))

outbox = cfg is None and not cfg_error

# --- waiting for a person ------------------------------------------------------------------------------

with state.uow(immediate=True) as uow:
    recovered = sending.recover(uow, actor=user.username)  # what a sender that died left in its journal
    stuck = send_confirm.waiting_for_confirmation(uow)
    exported = send_confirm.exported(uow)
if recovered:
    state.data_changed()
    st.info("A sender run had stopped; its journal is now on record: "
            + "; ".join(f"#{r.id} {r.debtor_code} {r.outcome}" for r in recovered))
if stuck:
    with st.container(border=True):
        st.subheader("Waiting for your confirmation")
        st.warning("These messages were handed to the mail server but no answer came back (the connection "
                   "broke, or the sender stopped). They are never sent again by themselves. Check the sent "
                   "folder or the server's log for the Message-ID, then say what happened.")
        st.dataframe([{"id": s.id, "debtor": s.debtor_code, "to": s.recipients, "subject": s.subject,
                       "handed over (UTC)": s.claimed_at, "Message-ID": s.message_id,
                       "what happened": s.last_error or ("being sent right now" if s.in_flight
                                                         else "the sender stopped"),
                       "dossier": dossier_url(s.debtor_code)}
                      for s in stuck], hide_index=True, width="stretch",
                     column_config={"dossier": st.column_config.LinkColumn(display_text="open"),
                                    "what happened": st.column_config.TextColumn(width="large")})
        c1, c2, c3 = st.columns([2, 1, 1], vertical_alignment="bottom")
        chosen = c1.selectbox("Message", [s.id for s in stuck],
                              format_func=lambda i: next(f"#{s.id} {s.debtor_code}: {s.subject}" for s in stuck
                                                         if s.id == i))
        try:
            if c2.button("It was sent", icon=":material/done:"):
                with state.uow(immediate=True) as uow:
                    send_confirm.confirm_sent(uow, chosen, actor=user.username)
                state.data_changed()
                st.rerun()
            if c3.button("Send it again", icon=":material/replay:"):
                with state.uow(immediate=True) as uow:
                    send_confirm.confirm_resend(uow, chosen, actor=user.username)
                state.data_changed()
                st.rerun()
        except ServiceError as exc:
            st.error(str(exc))

if exported:
    with st.container(border=True):
        st.subheader("Exported, not sent")
        st.info("These messages were written as .eml files to the outbox folder; nothing was e-mailed. Send "
                "them from your mail program, then mark them sent here. They are never sent by themselves.")
        st.dataframe([{"id": e.id, "debtor": e.debtor_code, "to": e.recipients, "subject": e.subject,
                       "exported (UTC)": e.exported_at, "file": e.file, "dossier": dossier_url(e.debtor_code)}
                      for e in exported], hide_index=True, width="stretch",
                     column_config={"dossier": st.column_config.LinkColumn(display_text="open")})
        c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
        marked = c1.multiselect("Messages that went out", [e.id for e in exported], key="mark_sent_ids",
                                format_func=lambda i: next(f"#{e.id} {e.debtor_code}: {e.subject}" for e in exported
                                                           if e.id == i))
        if c2.button("Mark sent", icon=":material/mark_email_read:", disabled=not marked):
            try:
                with state.uow(immediate=True) as uow:
                    n = send_confirm.mark_sent(uow, marked, actor=user.username)
                state.data_changed()
                st.session_state.pop("mark_sent_ids", None)
                st.toast(f"{n} marked sent")
                st.rerun()
            except ServiceError as exc:
                st.error(str(exc))

# --- approved and due --------------------------------------------------------------------------------

st.subheader("Approved and due")
fresh_error = None
with state.uow() as uow:
    try:
        as_of = sending.check_freshness(uow, today)
        st.caption(f"Open items as of {as_of:%d-%m-%Y}: fresh enough to chase.")
    except ServiceError as exc:
        fresh_error = str(exc)
    planned = sending.plan(uow, today)
if fresh_error:
    st.error(f"Nothing can be sent: {fresh_error}.")

results = st.session_state.get("send_results")
if not planned and not results:
    st.info("Nothing is approved and due today. Approve messages in the reminder queue first.")

if planned:
    counts: dict[str, int] = {}
    for p in planned:
        counts[p.action] = counts.get(p.action, 0) + 1
    st.write(", ".join(f"**{n}** {ACTIONS[a]}" for a, n in counts.items()))
    offered = [p for p in planned if p.action not in NOT_OFFERED]
    totals = reminders.totals_by_currency(pd.DataFrame([(p.currency, p.total_cents) for p in offered],
                                                       columns=["currency", "total_cents"]))
    if totals:  # one figure per currency: EUR and USD never add up
        st.write("To send: " + " · ".join(f"**{fmt(v, c)}**" for c, v in totals.items()))
    if counts.get("address"):
        st.warning(f"{counts['address']} approved message(s) wait for their debtor's reminder address and are not "
                   "offered: add it in the dossier or import a debtor list (see the reminder queue's worklist); "
                   "they go with the next run once it is there.", icon=":material/contact_mail:")
    st.dataframe([{"id": p.id, "debtor": p.debtor_code, "name": p.debtor_name, "to": p.recipients,
                   "subject": p.subject, "amount": fmt(p.total_cents, p.currency), "planned": p.planned_date,
                   "tries": p.attempts, "what happens": ACTIONS[p.action] + (f": {p.reason}" if p.reason else ""),
                   "dossier": dossier_url(p.debtor_code)}
                  for p in planned], hide_index=True, width="stretch",
                 column_config={"planned": st.column_config.DateColumn(format="DD-MM-YYYY"),
                                "dossier": st.column_config.LinkColumn(display_text="open")})

    with st.expander("Dry run: see a message exactly as it will go out"):
        pick = st.selectbox("Message", [p.id for p in planned], key="preview_id",
                            format_func=lambda i: next(f"#{p.id} {p.debtor_code}: {p.subject}" for p in planned
                                                       if p.id == i))
        try:
            _, preview_settings = sending.transport_and_settings(outbox=outbox or bool(cfg_error))
            with state.uow() as uow:
                pv = sending.preview(uow, pick, preview_settings, today)
            if pv.action != "send":
                st.warning(f"This message {ACTIONS[pv.action]}: {md(pv.reason)}")
            if pv.headers:
                st.dataframe([{"header": k, "value": v} for k, v in pv.headers.items()], hide_index=True,
                             width="stretch")
                st.caption(f"{pv.size:,} bytes: plain text and HTML"
                           + (", the payment QR code inline." if pv.qr else " (no payment QR code: not EUR, or no "
                              "valid payment details under Settings)."))
            tab_html, tab_text = st.tabs(["HTML", "Plain text"])
            with tab_html:
                # a data: URL gets an origin of its own: the message's HTML cannot reach the app
                st.iframe("data:text/html;charset=utf-8;base64," + base64.b64encode(pv.html.encode()).decode(),
                          height=520)
            with tab_text:
                st.code(pv.text, language=None, wrap_lines=True)
        except ServiceError as exc:
            st.error(str(exc))

    can_send = not fresh_error and not cfg_error and bool(offered)
    with st.container(border=True):
        c1, c2 = st.columns([1, 3], vertical_alignment="bottom")
        limit = c1.number_input("How many", min_value=1, max_value=max(1, len(offered)), value=max(1, len(offered)),
                                step=1)
        label = f"Write {limit} as .eml files to the outbox" if outbox else f"Send {limit} now"
        if outbox:
            c2.caption("No SMTP server: the messages are written as .eml files and become *exported*, not sent, "
                       "until you mark them sent.")
        if c2.button(label, type="primary", icon=":material/send:", disabled=not can_send):
            bar = st.progress(0.0, text="Connecting…")
            rows = st.empty()
            seen: list[dict] = []

            def progress(r, done, total):
                seen.append({"id": r.id, "debtor": r.debtor_code, "to": r.recipients,
                             "result": OUTCOMES.get(r.outcome, r.outcome), "details": r.detail,
                             "Message-ID": r.message_id or ""})
                bar.progress(min(1.0, done / max(1, total)), text=f"{done} of {total}: #{r.id} {r.debtor_code} "
                                                                   f"{OUTCOMES.get(r.outcome, r.outcome)}")
                rows.dataframe(seen, hide_index=True, width="stretch")

            try:
                transport, settings = sending.transport_and_settings(outbox=outbox)
                with state.uow(immediate=True) as uow:
                    result = sending.send_batch(uow, transport, settings, today=today, actor=user.username,
                                                ids=[p.id for p in offered[:int(limit)]], progress=progress)
                bar.progress(1.0, text=f"Done in {result.seconds:.1f} s: {result.summary()}")
                st.session_state["send_results"] = {"summary": result.summary(), "rows": seen,
                                                    "error": result.error, "waiting": result.waiting,
                                                    "failed": result.failed}
            except ServiceError as exc:
                st.error(str(exc))
            state.data_changed()
            st.rerun()

if results:
    with st.container(border=True):
        st.subheader("Last run")
        if results["error"]:
            st.error(f"The run stopped: {results['error']}. The messages not yet sent stay approved.")
        elif results["failed"] or results["waiting"]:
            st.warning(results["summary"])
        else:
            st.success(results["summary"])
        st.dataframe(results["rows"], hide_index=True, width="stretch")

# --- failures --------------------------------------------------------------------------------------

with state.uow() as uow:
    failures = send_confirm.recent_failures(uow, limit=20)
if failures:
    with st.expander(f"Failed messages ({len(failures)})"):
        st.caption("Correct the address or settings, then approve them again in the reminder queue.")
        st.dataframe(failures, hide_index=True, width="stretch")
