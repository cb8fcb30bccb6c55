from ui.auth import require

user = require("admin")

import base64  # noqa: E402
from datetime import date  # noqa: E402

import pandas as pd  # noqa: E402
import streamlit as st  # noqa: E402

from receivables.domain import formatting  # noqa: E402
from receivables.services import portal_mail, reminders, send_confirm, sending, users  # noqa: E402
from receivables.services.errors import ServiceError  # noqa: E402
from ui import i18n, state  # noqa: E402
from ui.i18n import N_, _, n_  # noqa: E402
from ui.links import dossier_url  # noqa: E402
from ui.phrases import said  # noqa: E402
from ui.text import md  # noqa: E402

ACTIONS = {"send": N_("will be sent"), "cancel": N_("will be cancelled"), "rerender": N_("will be updated, then sent"),
           "review": N_("goes back for review"), "block": N_("debtor blocked: not sent"),
           "address": N_("needs address: not sent")}
NOT_OFFERED = ("block", "address")  # shown, never sent by a press of the button
OUTCOMES = {"sent": N_("sent"), "failed": N_("FAILED"), "cancelled": N_("cancelled"), "held": N_("held back"),
            "waiting": N_("WAITING for confirmation"), "skipped": N_("taken by another sender"),
            "exported": N_("exported (not sent)")}
SECURITY = {"ssl": "SSL/TLS", "starttls": "STARTTLS", "none": N_("no encryption")}


def action(a: str) -> str:
    return _(ACTIONS[a])


def outcome(o: str) -> str:
    return _(OUTCOMES[o]) if o in OUTCOMES else o


st.title(_("Sender"))
st.caption(_("Sends the approved reminders by e-mail, each exactly once. Right before a message goes out it is "
             "checked again: invoices paid, disputed or put on hold since you approved it are left out."))
today = date.today()

# --- the mail server ---------------------------------------------------------------------------------

try:
    cfg, cfg_error = sending.smtp_settings(), None
except ServiceError as exc:
    cfg, cfg_error = None, i18n.error(exc)

with st.container(border=True):
    st.subheader(_("Mail server"))
    if cfg_error:
        st.error(_("The SMTP settings cannot be used: {problem}. Fix them and restart the app.", problem=cfg_error))
    elif cfg is None:
        st.warning(_("No SMTP server is configured, so nothing can be e-mailed yet. Set `[smtp]` in "
                     "`.streamlit/secrets.toml` (host, port, security = ssl | starttls | none, user, password, "
                     "from, reply_to) or the `SMTP_*` environment variables, and restart the app. Meanwhile you "
                     "can write the messages as `.eml` files into the outbox folder `{folder}` to try things out.",
                     folder=sending.outbox_folder()))
    else:
        st.success(_("Sending through **{host}:{port}** ({security}) as **{sender}**; replies go to **{reply_to}**.",
                     host=cfg.host, port=cfg.port, security=_(SECURITY[cfg.security]), sender=cfg.from_addr,
                     reply_to=cfg.reply_to or cfg.from_addr))
        with st.expander(_("Settings in use")):
            st.dataframe([{_("setting"): k, _("value"): v, _("from"): src} for k, v, src in cfg.summary()],
                         hide_index=True, width="stretch")
        with state.uow() as uow:
            me = next((u.email for u in users.list_users(uow) if u.username == user.username), "") or ""
        with st.form("test_message"):
            c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
            to = c1.text_input(_("Send a test message to"), value=me, placeholder=_("you@example.com"))
            if c2.form_submit_button(_("Send test message"), icon=":material/outgoing_mail:"):
                try:
                    transport, settings = sending.transport_and_settings()
                    with state.uow() as uow:
                        delivery = sending.send_test_message(uow, transport, settings, to, actor=user.username)
                    if delivery.outcome == "sent":
                        st.success(_("The test message was handed to {host}. Check the inbox of {to}.",
                                     host=cfg.host, to=md(to)))
                    else:
                        st.error(_("The test message was not sent: {detail}", detail=md(said(delivery.detail))))
                except ServiceError as exc:
                    st.error(i18n.error(exc))

outbox = cfg is None and not cfg_error

# --- waiting for a person ------------------------------------------------------------------------------

with state.uow(immediate=True) as uow:
    recovered = sending.recover(uow, actor=user.username)  # what a sender that died left in its journal
    stuck = send_confirm.waiting_for_confirmation(uow)
    exported = send_confirm.exported(uow)
    doubtful = portal_mail.in_doubt(uow)
if recovered:
    state.data_changed()
    st.info(_("A sender run had stopped; its journal is now on record: {messages}",
              messages="; ".join(f"#{r.id} {r.debtor_code} {outcome(r.outcome)}" for r in recovered)))


def waiting_box(title: str, warning: str, rows: list, extra: dict, choose: str, confirm, resend,
                key: str) -> None:
    """Mails handed to the server without an answer back: what is known of each, and a person's verdict:
    it was sent, or send it again (the same Message-ID)."""
    with st.container(border=True):
        st.subheader(title)
        st.warning(warning)
        st.dataframe([{"id": r.id, _("debtor"): r.debtor_code, **{k: f(r) for k, f in extra.items()},
                       _("to"): r.recipients, _("subject"): r.subject, _("handed over"): i18n.moment(r.claimed_at),
                       "Message-ID": r.message_id,
                       _("what happened"): said(r.last_error) or (_("being sent right now") if r.in_flight
                                                            else _("the sender stopped")),
                       "dossier": dossier_url(r.debtor_code)}
                      for r in rows], hide_index=True, width="stretch",
                     column_config={"dossier": st.column_config.LinkColumn(display_text=_("open")),
                                    _("what happened"): st.column_config.TextColumn(width="large")})
        c1, c2, c3 = st.columns([2, 1, 1], vertical_alignment="bottom")
        labels = {r.id: f"#{r.id} {r.debtor_code}: {r.subject}" for r in rows}
        chosen = c1.selectbox(choose, list(labels), format_func=labels.get, key=f"{key}_pick")
        try:
            for column, text, icon, verdict in ((c2, _("It was sent"), ":material/done:", confirm),
                                                (c3, _("Send it again"), ":material/replay:", resend)):
                if column.button(text, icon=icon, key=f"{key}_{verdict.__name__}"):
                    with state.uow(immediate=True) as uow:
                        verdict(uow, chosen, actor=user.username)
                    state.data_changed()
                    st.rerun()
        except ServiceError as exc:
            st.error(i18n.error(exc))


if stuck:
    waiting_box(_("Waiting for your confirmation"),
                _("These messages were handed to the mail server but no answer came back (the connection "
                  "broke, or the sender stopped). They are never sent again by themselves. Look in the sent "
                  "folder or the server's log for the Message-ID, then say what happened."),
                stuck, {}, _("Message"), send_confirm.confirm_sent, send_confirm.confirm_resend, "stuck")

MAIL_KINDS = {portal_mail.ADDRESS_CONFIRMATION: N_("address confirmation"),
              portal_mail.DISPUTE_REJECTED: N_("dispute rejected")}
if doubtful:
    waiting_box(_("Portal mails waiting for your confirmation"),
                _("These mails from the portal (a link confirming a new address, the answer to a rejected "
                  "dispute) were handed to the mail server but no answer came back. They are never sent again "
                  "by themselves. Look for the Message-ID, then say what happened."),
                doubtful, {_("kind"): lambda d: _(MAIL_KINDS.get(d.kind, d.kind))}, _("Portal mail"),
                portal_mail.confirm_sent, portal_mail.confirm_resend, "portal_mail")

if exported:
    with st.container(border=True):
        st.subheader(_("Exported, not sent"))
        st.info(_("These messages were written as .eml files to the outbox folder; nothing was e-mailed. Send "
                  "them from your mail program, then mark them sent here. They are never sent by themselves."))
        st.dataframe([{"id": e.id, _("debtor"): e.debtor_code, _("to"): e.recipients, _("subject"): e.subject,
                       _("exported"): i18n.moment(e.exported_at), _("file"): e.file,
                       "dossier": dossier_url(e.debtor_code)}
                      for e in exported], hide_index=True, width="stretch",
                     column_config={"dossier": st.column_config.LinkColumn(display_text=_("open"))})
        c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
        exported_labels = {e.id: f"#{e.id} {e.debtor_code}: {e.subject}" for e in exported}
        marked = c1.multiselect(_("Messages that went out"), list(exported_labels), key="mark_sent_ids",
                                format_func=exported_labels.get)
        if c2.button(_("Mark as sent"), icon=":material/mark_email_read:", disabled=not marked):
            try:
                with state.uow(immediate=True) as uow:
                    n = send_confirm.mark_sent(uow, marked, actor=user.username)
                state.data_changed()
                st.session_state.pop("mark_sent_ids", None)
                st.toast(n_("{n} message marked sent", "{n} messages marked sent", n))
                st.rerun()
            except ServiceError as exc:
                st.error(i18n.error(exc))

# --- approved and due --------------------------------------------------------------------------------

st.subheader(_("Approved and due"))
fresh_error = None
with state.uow() as uow:
    try:
        as_of = sending.check_freshness(uow, today)
        st.caption(_("Open items as of {day}: fresh enough to chase.", day=i18n.day(as_of)))
    except ServiceError as exc:
        fresh_error = i18n.error(exc)
    planned = sending.plan(uow, today)
if fresh_error:
    st.error(_("Nothing can be sent: {problem}.", problem=fresh_error))

results = st.session_state.get("send_results")
if not planned and not results:
    st.info(_("Nothing is approved and due today. Approve messages in the reminder queue first."))

if planned:
    counts: dict[str, int] = {}
    for p in planned:
        counts[p.action] = counts.get(p.action, 0) + 1
    st.write(", ".join(f"**{n}** {action(a)}" for a, n in counts.items()))
    offered = [p for p in planned if p.action not in NOT_OFFERED]
    totals = reminders.totals_by_currency(pd.DataFrame([(p.currency, p.total_cents) for p in offered],
                                                       columns=["currency", "total_cents"]))
    if totals:  # one figure per currency: EUR and USD never add up
        st.write(_("To send: {amounts}", amounts=" · ".join(f"**{i18n.money(v, c)}**" for c, v in totals.items())))
    if counts.get("address"):
        st.warning(n_("{n} approved message waits for its debtor's reminder address and is not offered: add the "
                      "address in the dossier or import a debtor list (see the reminder queue's worklist); the "
                      "message goes with the next run once the address is there.",
                      "{n} approved messages wait for their debtor's reminder address and are not offered: add the "
                      "address in the dossier or import a debtor list (see the reminder queue's worklist); the "
                      "messages go with the next run once the address is there.", counts["address"]),
                   icon=":material/contact_mail:")
    st.dataframe([{"id": p.id, _("debtor"): p.debtor_code, _("name"): p.debtor_name, _("to"): p.recipients,
                   _("subject"): p.subject, _("amount"): i18n.money(p.total_cents, p.currency),
                   _("planned"): i18n.day(p.planned_date), _("tries"): p.attempts,
                   _("what happens"): action(p.action) + (f": {said(p.reason)}" if p.reason else ""),
                   "dossier": dossier_url(p.debtor_code)}
                  for p in planned], hide_index=True, width="stretch",
                 column_config={"dossier": st.column_config.LinkColumn(display_text=_("open"))})

    with st.expander(_("Dry run: see a message exactly as it will go out")):
        planned_labels = {p.id: f"#{p.id} {p.debtor_code}: {p.subject}" for p in planned}
        pick = st.selectbox(_("Message"), list(planned_labels), key="preview_id", format_func=planned_labels.get)
        try:
            _transport, preview_settings = sending.transport_and_settings(outbox=outbox or bool(cfg_error))
            with state.uow() as uow:
                pv = sending.preview(uow, pick, preview_settings, today)
            if pv.action != "send":
                st.warning(_("This message {action}: {reason}", action=action(pv.action), reason=md(said(pv.reason))))
            if pv.headers:
                st.dataframe([{_("header"): k, _("value"): v} for k, v in pv.headers.items()], hide_index=True,
                             width="stretch")
                size = formatting.number(pv.size, 0, i18n.current())
                st.caption(_("{size} bytes: plain text and HTML, the payment QR code inline.", size=size) if pv.qr
                           else _("{size} bytes: plain text and HTML (no payment QR code: not EUR, or no valid "
                                  "payment details under Settings).", size=size))
            tab_html, tab_text = st.tabs([_("HTML"), _("Plain text")])
            with tab_html:
                # a data: URL gets an origin of its own: the message's HTML cannot reach the app
                st.iframe("data:text/html;charset=utf-8;base64," + base64.b64encode(pv.html.encode()).decode(),
                          height=520)
            with tab_text:
                st.code(pv.text, language=None, wrap_lines=True)
        except ServiceError as exc:
            st.error(i18n.error(exc))

    can_send = not fresh_error and not cfg_error and bool(offered)
    with st.container(border=True):
        c1, c2 = st.columns([1, 3], vertical_alignment="bottom")
        limit = c1.number_input(_("How many"), min_value=1, max_value=max(1, len(offered)), value=max(1, len(offered)),
                                step=1)
        label = (_("Write {n} as .eml files to the outbox", n=limit) if outbox
                 else _("Send {n} now", n=limit))
        if outbox:
            c2.caption(_("No SMTP server: the messages are written as .eml files and become *exported*, not sent, "
                         "until you mark them sent."))
        if c2.button(label, type="primary", icon=":material/send:", disabled=not can_send):
            bar = st.progress(0.0, text=_("Connecting…"))
            rows = st.empty()
            seen: list[dict] = []

            def progress(r, done, total):
                seen.append({"id": r.id, _("debtor"): r.debtor_code, _("to"): r.recipients,
                             _("result"): outcome(r.outcome), _("details"): said(r.detail),
                             "Message-ID": r.message_id or ""})
                bar.progress(min(1.0, done / max(1, total)),
                             text=_("{done} of {total}: #{id} {debtor} {outcome}", done=done, total=total, id=r.id,
                                    debtor=r.debtor_code, outcome=outcome(r.outcome)))
                rows.dataframe(seen, hide_index=True, width="stretch")

            try:
                transport, settings = sending.transport_and_settings(outbox=outbox)
                with state.uow(immediate=True) as uow:
                    result = sending.send_batch(uow, transport, settings, today=today, actor=user.username,
                                                ids=[p.id for p in offered[:int(limit)]], progress=progress)
                bar.progress(1.0, text=_("Done in {seconds} s: {summary}", summary=result.summary(),
                                         seconds=formatting.number(result.seconds, 1, i18n.current())))
                st.session_state["send_results"] = {"summary": result.summary(), "rows": seen,
                                                    "error": result.error, "waiting": result.waiting,
                                                    "failed": result.failed}
            except ServiceError as exc:
                st.error(i18n.error(exc))
            state.data_changed()
            st.rerun()

if results:
    with st.container(border=True):
        st.subheader(_("Last run"))
        if results["error"]:
            st.error(_("The run stopped: {problem}. The messages not yet sent stay approved.",
                       problem=said(results["error"])))
        elif results["failed"] or results["waiting"]:
            st.warning(results["summary"])
        else:
            st.success(results["summary"])
        st.dataframe(results["rows"], hide_index=True, width="stretch")

# --- failures --------------------------------------------------------------------------------------

with state.uow() as uow:
    failures = send_confirm.recent_failures(uow, limit=20)
if failures:
    with st.expander(_("Failed messages ({n})", n=len(failures))):
        st.caption(_("Correct the address or the mail settings, then approve the messages again in the reminder "
                     "queue."))
        st.dataframe(failures, hide_index=True, width="stretch")
