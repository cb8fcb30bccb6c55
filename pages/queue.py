from ui.auth import require

user = require("viewer")

from datetime import date, timedelta  # noqa: E402

import pandas as pd  # noqa: E402
import streamlit as st  # noqa: E402
import streamlit.components.v1 as components  # noqa: E402

from receivables.domain import calls, messages, tracks  # noqa: E402
from receivables.domain.errors import Problem  # noqa: E402
from receivables.services import queue, reminders, sending  # noqa: E402
from receivables.services.errors import ServiceError  # noqa: E402
from ui import i18n, state, worklists  # noqa: E402
from ui.i18n import N_, _, n_  # noqa: E402
from ui.links import dossier_url, dossier_urls  # noqa: E402
from ui.phrases import said  # noqa: E402
from ui.settings_tracks import STEP_LABELS  # noqa: E402
from ui.text import md  # noqa: E402

STATUSES = {**messages.STATUS_LABELS, queue.NEEDS_ADDRESS: N_("needs address")}
VIEWS = {"today": N_("Due today"), "tomorrow": N_("Tomorrow"), "week": N_("This week"), "all": N_("All")}
CALL_OUTCOMES = calls.OUTCOME_LABELS  # the one list (receivables/domain/calls.py)
TRANSLATED_PARAMS = ("status", "verb")  # words of ours inside a core error, worded like the rest
can_act = user.can("collector")
today = date.today()


def worded_as(labels: dict[str, str]) -> dict[str, str]:
    """Choice labels in the reader's language, looked up now (a widget may format its options later, outside
    this session)."""
    return {key: _(label) for key, label in labels.items()}


def worded(exc: Exception) -> str:
    """A core error in the reader's language, with the problem it wraps, its dates and our words worded too."""
    if not isinstance(exc, Problem) or not exc.msgid:
        return str(exc)
    params = {}
    for name, value in exc.params.items():
        if isinstance(value, Problem):
            value = worded(value)
        elif isinstance(value, date):
            value = i18n.day(value)
        elif name in TRANSLATED_PARAMS and isinstance(value, str):
            value = _(STATUSES.get(value, value))
        params[name] = value
    return _(exc.msgid, **params)


def planned_between(view: str) -> tuple[date | None, date | None]:
    """The planned dates a view shows: due today includes what was due before and still waits."""
    return {"today": (None, today), "tomorrow": (today + timedelta(days=1),) * 2,
            "week": (None, today + timedelta(days=6))}.get(view, (None, None))


@st.cache_data(show_spinner=False)
def load(version: str, statuses: tuple[str, ...], step: str | None, track: str | None, manager: str | None,
         start: date | None, end: date | None) -> pd.DataFrame:
    with state.uow() as uow:
        return queue.queue(uow, statuses=statuses, step=step, track=track, account_manager=manager,
                           planned_from=start, planned_until=end)


@st.cache_data(show_spinner=False)
def choices(version: str) -> tuple[list[str], list[str], list[str]]:
    with state.uow() as uow:
        steps, track_keys = queue.step_choices(uow)
        managers = sorted(m for m in queue.queue(uow)["account_manager"].dropna().unique())
    return steps, track_keys, managers


def run(fn, success: str | None = None) -> bool:
    """Call one service; a problem the user can fix is shown, not raised."""
    try:
        result = fn()
    except ServiceError as exc:
        st.error(worded(exc), icon=":material/error:")
        return False
    state.data_changed()
    if success:
        st.session_state["queue_flash"] = success
    if isinstance(result, reminders.GenerateResult):
        st.session_state["queue_flash"] = _(
            "Reminders: created {created}, unchanged {unchanged}, cancelled {cancelled}, extended {extended}.",
            created=result.created, unchanged=result.unchanged, cancelled=result.cancelled,
            extended=result.extended)
        st.session_state["queue_generated"] = result
    return True


def write(service, *args, **kwargs):
    """One service call in its own write transaction."""
    with state.uow(immediate=True) as uow:
        return service(uow, *args, actor=user.username, **kwargs)


def created_summary(result: reminders.GenerateResult) -> None:
    """What the last run created, by step, track and currency, and why it waits for a person."""
    if result.review:
        st.warning(_("**This run is a review:** {why}. Everything it created is *proposed*; nothing goes out "
                     "before a person approves it.", why=md(said(result.review))), icon=":material/rate_review:")
    if result.groups:
        st.dataframe(pd.DataFrame([{"Track": g.track, "Step": g.step, "Currency": g.currency,
                                    "Messages": g.messages, "Invoices": g.invoices,
                                    "Total": i18n.money(g.total_cents, g.currency), "Approved": g.approved}
                                   for g in result.groups]),
                     hide_index=True, width="stretch", column_config={
                         "Track": _("Track"), "Step": _("Step"), "Currency": _("Currency"),
                         "Messages": st.column_config.NumberColumn(_("Messages")),
                         "Invoices": st.column_config.NumberColumn(_("Invoices")),
                         "Total": st.column_config.TextColumn(_("Total"), alignment="right"),
                         "Approved": st.column_config.NumberColumn(_("Approved"))})
    if result.caught_up:
        st.info(n_("{n} message is for invoices first seen long past due: it starts at a later step (never beyond "
                   "the demand) and waits for approval; the reason is shown above its preview.",
                   "{n} messages are for invoices first seen long past due: they start at a later step (never "
                   "beyond the demand) and wait for approval; the reason is shown above its preview.", result.caught_up),
                icon=":material/fast_forward:")


# --- the head: generate, filters, figures ---------------------------------------------------------------

st.title(_("Reminder queue"))
st.caption(_("What the engine proposes, per debtor and step, in the tone its payment behaviour calls for. "
             "Nothing that needs approval goes out before a person approves it."))
if flash := st.session_state.pop("queue_flash", None):
    st.success(flash, icon=":material/check_circle:")
if generated := st.session_state.pop("queue_generated", None):
    created_summary(generated)

if can_act:
    c1, c2 = st.columns([1, 3], vertical_alignment="center")
    if c1.button(_("Propose due reminders"), type="primary", icon=":material/auto_mode:"):
        with st.spinner(_("Checking every open invoice…")):
            if run(lambda: write(reminders.generate, today)):
                st.rerun()
    c2.caption(_("Safe to press twice: what is already in the queue is not proposed again. Generation stops "
                 "when the last import is older than the freshness limit in Settings."))

version = state.data_version()
steps, track_keys, managers = choices(version)
f0, f1, f2, f3, f4 = st.columns([4.2, 2.6, 1.1, 1.1, 1.3])
view = f0.segmented_control(_("Planned"), list(VIEWS), format_func=worded_as(VIEWS).get, default="all",
                            required=True, key="queue_view")
status_filter = f1.multiselect(_("Status"), [s for s in STATUSES if s != queue.NEEDS_ADDRESS],
                               default=["proposed", "approved", "postponed"], format_func=worded_as(STATUSES).get)
everything = "\u2217"  # a key no step, track or manager has
step_words = {everything: _("All"), **{s: said(tracks.step_name(s)) for s in steps}}  # a step of one's own by its key
step_filter = f2.selectbox(_("Step"), [everything, *steps], format_func=step_words.get)
track_filter = f3.selectbox(_("Track"), [everything, *track_keys],
                            format_func=lambda s, all_=_("All"): all_ if s == everything else s)
manager_filter = f4.selectbox(_("Account manager"), [everything, *managers],
                              format_func=lambda s, all_=_("All"): all_ if s == everything else s)
start, end = planned_between(view)
frame = load(version, tuple(status_filter or [s for s in STATUSES if s != queue.NEEDS_ADDRESS]),
             None if step_filter == everything else step_filter, None if track_filter == everything else track_filter,
             None if manager_filter == everything else manager_filter, start, end)
emails = frame[frame["channel"] != "call"].reset_index(drop=True)
calls = frame[frame["channel"] == "call"]

totals = reminders.totals_by_currency(frame)  # one figure per currency: EUR and USD never add up
m = st.columns([1, 1, 1, 1] + [2] * max(1, len(totals)))
m[0].metric(_("Messages"), len(emails))
m[1].metric(_("To approve"), int(((emails["status"] == "proposed") & ~emails["needs_address"]).sum()))
m[2].metric(_("Needs address"), int(emails["needs_address"].sum()),
            help=_("Waiting for the debtor's reminder address; they become sendable once it is there."))
m[3].metric(_("Calls to make"), int(calls["status"].isin(["proposed", "approved"]).sum()))
for col, (currency, cents) in zip(m[4:], totals.items()):
    col.metric(_("Total chased ({currency})", currency=currency), i18n.money(cents, currency))

worklists.debtors_without_address(expanded=bool(emails["needs_address"].any()), can_act=can_act)


# --- the list and its bulk actions ----------------------------------------------------------------------

def message_table(rows: pd.DataFrame) -> pd.DataFrame:
    """The queue as a person reads it: key columns first, money and dates in the reader's format."""
    return pd.DataFrame({
        "selected": False,
        "id": rows["id"],
        "debtor": rows["debtor_code"] + " · " + rows["debtor_name"],
        "step": [said(tracks.step_name(t if t in STEP_LABELS else k)) for k, t in zip(rows["step"], rows["template"])],
        "total": [i18n.money(c, cur) for c, cur in zip(rows["total_cents"], rows["currency"])],
        "planned": [i18n.day(d) for d in rows["planned_date"]],
        "state": [_(STATUSES.get(s, s)) for s in rows["state"]],
        "invoices": rows["invoice_numbers"].map(", ".join),
        "costs": [i18n.money(c + i, cur) if c + i else "" for c, i, cur in
                  zip(rows["costs_cents"], rows["interest_cents"], rows["currency"])],
        "problem": [said(e) for e in rows["last_error"]],
        "dossier": dossier_urls(rows["debtor_code"]),
    })


def table_config() -> dict:
    return {
        "selected": st.column_config.CheckboxColumn("", width=36, help=_("Select for the actions above the list")),
        "id": st.column_config.NumberColumn("#", width=44),
        "debtor": st.column_config.TextColumn(_("Debtor"), width=170, help=_("Code and name of the debtor")),
        "step": st.column_config.TextColumn(_("Step"), width=130),
        "total": st.column_config.TextColumn(_("Total"), width=100, alignment="right"),
        "planned": st.column_config.TextColumn(_("Planned"), width=90),
        "state": st.column_config.TextColumn(_("Status"), width=95),
        "invoices": st.column_config.TextColumn(_("Invoices"), width=110),
        "costs": st.column_config.TextColumn(_("Costs + interest"), width=105, alignment="right"),
        "problem": st.column_config.TextColumn(_("Last problem"), width=140),
        "dossier": st.column_config.LinkColumn(_("Dossier"), display_text=_("open it"), width=60),
    }


def bulk_actions(chosen: list[int], shown: pd.DataFrame) -> None:
    """The actions on the selected messages, as buttons beside the list: each is one service call, one
    transaction, audited; a message that cannot take the action stops the whole batch."""
    n = len(chosen)
    none = n == 0
    st.caption(n_("{n} message selected", "{n} messages selected", n) if n else
               _("Tick messages in the list to act on them together."))
    a, b, c, d, e = st.columns([1, 1, 1, 1, 1.3])
    if a.button(_("Approve"), key="bulk_approve", type="primary", disabled=none, icon=":material/check_circle:",
                width="stretch"):
        if run(lambda: write(queue.bulk, chosen, "approve"), n_("{n} message approved.", "{n} messages approved.", n)):
            st.rerun()
    with b.popover(_("Postpone"), disabled=none, icon=":material/schedule:", width="stretch"):
        until = st.date_input(_("Postpone until"), value=today + timedelta(days=7), key="bulk_until",
                              min_value=today + timedelta(days=1), format="DD-MM-YYYY")
        if st.button(_("Postpone selected"), key="bulk_postpone", type="primary"):
            if run(lambda: write(queue.bulk, chosen, "postpone", until=until),
                   n_("{n} message postponed until {date}.", "{n} messages postponed until {date}.", n,
                      date=i18n.day(until))):
                st.rerun()
    with c.popover(_("Block"), disabled=none, icon=":material/block:", width="stretch"):
        why = st.text_input(_("Block reason"), key="bulk_reason",
                            placeholder=_("e.g. paid by phone, invoice disputed"))
        if st.button(_("Block selected"), key="bulk_block", type="primary"):
            if run(lambda: write(queue.bulk, chosen, "block", reason=why),
                   n_("{n} message blocked.", "{n} messages blocked.", n)):
                st.rerun()
    if d.button(_("Send back"), key="bulk_back", disabled=none, icon=":material/undo:", width="stretch",
                help=_("Approved or postponed messages go back to proposed, to be looked at again.")):
        if run(lambda: write(queue.bulk, chosen, "send back"),
               n_("{n} message sent back to proposed.", "{n} messages sent back to proposed.", n)):
            st.rerun()
    proposed = shown.loc[(shown["status"] == "proposed") & ~shown["needs_address"], "id"].tolist()
    if e.button(_("Approve all {n} shown", n=len(proposed)), key="bulk_all", disabled=not proposed,
                icon=":material/done_all:", width="stretch"):
        if run(lambda: write(queue.approve_all, message_ids=proposed),
               n_("Approved {n} message.", "Approved {n} messages.", len(proposed))):
            st.rerun()


def message_list(rows: pd.DataFrame) -> list[int]:
    """The list with a checkbox per row (collectors) or read-only (viewers); returns the selected ids."""
    table = message_table(rows)
    if not can_act:
        st.dataframe(table.drop(columns=["selected"]), hide_index=True, width="stretch",
                     column_config=table_config())
        return []
    edited = st.data_editor(table, key=f"queue_select_{queue.fingerprint(rows)}", hide_index=True,
                            width="stretch", column_config=table_config(),
                            disabled=[c for c in table.columns if c != "selected"])
    return [int(i) for i in edited.loc[edited["selected"], "id"]]


# --- the preview of one message -------------------------------------------------------------------------

def preview(rows: pd.DataFrame, chosen: list[int]) -> None:
    labels = {int(r["id"]): f"#{r['id']} · {r['debtor_code']} {r['debtor_name']}" for r in rows.to_dict("records")}
    ids = list(labels)
    first = ids.index(chosen[0]) if chosen and chosen[0] in labels else 0
    mid = st.selectbox(_("Preview"), ids, index=first, format_func=labels.get)
    row = rows.loc[rows["id"] == mid].iloc[0]
    with state.uow() as uow:
        p = queue.preview(uow, mid)
    to = md(p.recipients) if p.recipients else _("— needs address: the debtor has no usable reminder address —")
    st.markdown(_("**To:** {to} · **Status:** {status}", to=to, status=_(STATUSES.get(p.status, p.status)))
                + (_(" · *edited by hand*") if p.edited else ""))
    st.markdown(_("**Subject:** {subject}", subject=md(p.subject)))  # escaped: a debtor's name stays text
    if row["reason"]:
        st.caption(md(said(row["reason"])))
    if row["last_error"]:
        st.warning(_("Last problem: {problem}", problem=md(said(row["last_error"]))), icon=":material/error:")
    with st.container(height=420, border=True):
        st.text(p.shown_text)
    with st.expander(_("As the e-mail will look")):
        components.html(p.html, height=620, scrolling=True)
    downloads(mid, row["channel"])
    if can_act and p.status in messages.UNSENT:
        one_message_actions(mid, p)


def downloads(mid: int, channel: str) -> None:
    if channel == "letter":
        with state.uow() as uow:
            pdf = sending.letter_for(uow, mid, today)
        st.download_button(_("Download the letter (PDF)"), data=pdf.content, file_name=pdf.filename,
                           mime="application/pdf", icon=":material/picture_as_pdf:")
        st.caption(_("A letter step goes out as this e-mail with the letter attached as PDF; print it to post it."))
    with state.uow() as uow:
        attached = sending.statement_for(uow, mid, today)
    if attached:
        st.caption(_("More invoices than the text lists: the statement of account of all of them goes with it."))
        for att, icon in zip(attached, (":material/picture_as_pdf:", ":material/table:")):
            st.download_button(_("Download {name}", name=att.filename), data=att.content, file_name=att.filename,
                               mime=att.mime_type, icon=icon, key=f"statement_{att.filename}")


def one_message_actions(mid: int, p: queue.Preview) -> None:
    c0, c1, c2, c3 = st.columns(4)
    if p.status == "proposed" and c0.button(_("Approve this message"), icon=":material/check_circle:"):
        if run(lambda: write(queue.transition, [mid], "approve"), _("Message #{id} approved.", id=mid)):
            st.rerun()
    with c1.popover(_("Postpone this message"), icon=":material/schedule:"):
        until = st.date_input(_("Postpone until"), value=today + timedelta(days=7), key=f"until_{mid}",
                              min_value=today + timedelta(days=1), format="DD-MM-YYYY")
        if st.button(_("Postpone"), key=f"postpone_{mid}", type="primary"):
            if run(lambda: write(queue.bulk, [mid], "postpone", until=until),
                   _("Message #{id} postponed until {date}.", id=mid, date=i18n.day(until))):
                st.rerun()
    if c2.button(_("Block this message"), icon=":material/block:"):
        if run(lambda: write(queue.transition, [mid], "block"), _("Message #{id} blocked.", id=mid)):
            st.rerun()
    if p.edited and c3.button(_("Back to the template text"), icon=":material/undo:"):
        if run(lambda: write(queue.rerender, mid), _("Rendered again from the template.")):
            st.rerun()
    with st.expander(_("Edit the text")):
        with st.form(f"edit_{mid}", border=False):
            st.caption(_("What you save here is exactly what is sent."))
            subject = st.text_input(_("Subject"), value=p.subject)
            body = st.text_area(_("Text"), value=p.text, height=300)
            if st.form_submit_button(_("Save text")):
                if run(lambda: write(queue.edit_text, mid, subject, body),
                       _("Text saved; the edit is in the audit log.")):
                    st.rerun()
    with st.expander(_("Block the debtor")):
        with st.form(f"block_debtor_{mid}", border=False):
            st.caption(_("No reminders at all until unblocked (or until the date)."))
            reason = st.text_input(_("Reason"), placeholder=_("e.g. payment plan agreed, curator appointed"))
            until = st.date_input(_("Until (optional)"), value=None, min_value=today + timedelta(days=1),
                                  format="DD-MM-YYYY")
            if st.form_submit_button(_("Block debtor")):
                if run(lambda: write(queue.block_debtor, mid, reason, until),
                       _("Debtor blocked; its unsent messages are blocked too.")):
                    st.rerun()


# --- the call list --------------------------------------------------------------------------------------

def call_list(todo: pd.DataFrame) -> None:
    if todo.empty:
        st.info(_("No calls to make for these filters."))
    for r in todo.to_dict("records"):
        with st.container(border=True):
            a, b = st.columns([4, 1])
            a.markdown(f"**{md(r['debtor_name'])}** ({md(r['debtor_code'])}) · {i18n.money(r['total_cents'], r['currency'])}"
                       f" · {md(', '.join(r['invoice_numbers']))}  \n{md(said(r['reason']))} · "
                       + _("planned {date}", date=i18n.day(r["planned_date"]))
                       + f" · [{_('dossier')}]({dossier_url(r['debtor_code'])})")
            if can_act and b.button(_("Called"), key=f"called_{r['id']}", icon=":material/call:"):
                st.session_state["calling"] = r["id"]
            if st.session_state.get("calling") == r["id"]:
                with st.form(f"call_note_{r['id']}"):
                    outcome = st.selectbox(_("Outcome"), list(CALL_OUTCOMES),
                                           format_func=worded_as(CALL_OUTCOMES).get)
                    text = st.text_area(_("What was said"), placeholder=_("e.g. pays Friday, invoice was lost"))
                    if st.form_submit_button(_("Save call")):
                        if run(lambda mid=r["id"], o=outcome, t=text: write(queue.record_call, mid, o, t),
                               _("Call saved in the dossier.")):
                            st.session_state.pop("calling", None)
                            st.rerun()


tab_messages, tab_calls = st.tabs([_("Messages ({n})", n=len(emails)), _("Call list ({n})", n=len(calls))],
                                  key="queue_tab", on_change="rerun")  # stays on its tab across reruns
with tab_messages:
    if emails.empty:
        st.info(_("No messages match these filters. Press **Propose due reminders** to let the engine look."))
    else:
        action_bar = st.container()  # filled once the list says what is selected
        left, right = st.columns([2, 1], gap="small")
        with left:
            selected = message_list(emails)
        if can_act:
            with action_bar:
                bulk_actions(selected, emails)
        with right, st.container(border=True):
            preview(emails, selected)
with tab_calls:
    call_list(calls[calls["status"].isin(["proposed", "approved"])])
