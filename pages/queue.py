from ui.auth import require

user = require("viewer")

from datetime import date, timedelta  # noqa: E402

import pandas as pd  # noqa: E402
import streamlit as st  # noqa: E402
import streamlit.components.v1 as components  # noqa: E402

from receivables.domain import messages  # noqa: E402
from receivables.domain.money import fmt  # noqa: E402
from receivables.services import queue, reminders, sending  # noqa: E402
from receivables.services.errors import ServiceError  # noqa: E402
from ui import state, worklists  # noqa: E402
from ui.links import dossier_url, dossier_urls  # noqa: E402

STATUSES = ["proposed", "approved", "postponed", "blocked", "sending", "exported", "sent", "failed", "cancelled"]
WHEN = ["Any day", "Today", "Tomorrow", "Next 7 days", "Overdue (before today)"]
ACTION_LABELS = {"": "", "approve": "Approve", "postpone": "Postpone", "block": "Block"}
CALL_OUTCOMES = ["reached", "no answer", "voicemail", "wrong number", "call back"]
can_act = user.can("collector")
today = date.today()


@st.cache_data(show_spinner="Loading the queue…")
def load(statuses: tuple[str, ...], step: str | None, track: str | None, manager: str | None,
         start: date | None, end: date | None) -> pd.DataFrame:
    with state.uow() as uow:
        return queue.queue(uow, statuses=statuses, step=step, track=track, account_manager=manager,
                               planned_from=start, planned_until=end)


@st.cache_data(show_spinner=False)
def choices() -> tuple[list[str], list[str], list[str]]:
    with state.uow() as uow:
        steps, track_keys = queue.step_choices(uow)
        managers = sorted(m for m in queue.queue(uow)["account_manager"].dropna().unique())
    return steps, track_keys, managers


def run(fn, success: str | None = None) -> bool:
    """Call one service; a problem the user can fix is shown, not raised."""
    try:
        result = fn()
    except ServiceError as exc:
        st.error(str(exc))
        return False
    state.data_changed()
    if success:
        st.session_state["queue_flash"] = success.format(result=result)
    if isinstance(result, reminders.GenerateResult):
        st.session_state["queue_generated"] = result
    return True


def created_summary(result: reminders.GenerateResult) -> None:
    """What the last run created, by step, track and currency, and why it waits for a person."""
    if result.review:
        st.warning(f"**This run is a review:** {result.review}. Everything it created is *proposed*; nothing goes "
                   "out before a person approves it.", icon=":material/rate_review:")
    if result.groups:
        st.dataframe([{"Track": g.track, "Step": g.step, "Currency": g.currency, "Messages": g.messages,
                       "Invoices": g.invoices, "Total": fmt(g.total_cents, g.currency),
                       "Approved": g.approved} for g in result.groups], hide_index=True, width="stretch")
    if result.caught_up:
        st.info(f"{result.caught_up} message(s) are for invoices first seen long past due: they start at a later "
                "step (never beyond the demand) and wait for approval; the reason is in **Why**.",
                icon=":material/fast_forward:")


def row_changes(edited: pd.DataFrame, shown: pd.DataFrame) -> list[queue.RowChange]:
    """What the person set in the table, row by row (the note only where it was changed)."""
    out = []
    for row, before in zip(edited.to_dict("records"), shown.to_dict("records")):
        until = row["Postpone until"]
        out.append(queue.RowChange(int(row["id"]), row["Action"] or "",
                                   row["Note"] if row["Note"] != before["Note"] else None,
                                   pd.Timestamp(until).date() if pd.notna(until) else None))
    return out


st.title("Reminder queue")
st.caption("What the engine proposes, per debtor and step, in the tone its payment behaviour calls for. "
           "Nothing that needs approval goes out before a person approves it.")
if flash := st.session_state.pop("queue_flash", None):
    st.success(flash)
if generated := st.session_state.pop("queue_generated", None):
    created_summary(generated)

if can_act:
    c1, c2 = st.columns([1, 3])
    if c1.button("Propose due reminders", type="primary", icon=":material/auto_mode:"):
        with st.spinner("Checking every open invoice…"):
            def _generate():
                with state.uow(immediate=True) as uow:
                    return reminders.generate(uow, today, actor=user.username)
            if run(_generate, "Reminders: {result}"):
                st.rerun()
    c2.caption("Safe to press twice: what is already in the queue is not proposed again. Generation stops "
               "when the last import is older than the freshness limit in Settings.")

steps, track_keys, managers = choices()
f1, f2, f3, f4, f5 = st.columns([2, 1, 1, 1, 1])
status_filter = f1.multiselect("Status", STATUSES, default=["proposed", "approved", "postponed"])
step_filter = f2.selectbox("Step", ["All", *steps])
track_filter = f3.selectbox("Track", ["All", *track_keys])
manager_filter = f4.selectbox("Account manager", ["All", *managers])
when = f5.selectbox("Planned", WHEN)
start = end = None
if when == "Today":
    start = end = today
elif when == "Tomorrow":
    start = end = today + timedelta(days=1)
elif when == "Next 7 days":
    start, end = today, today + timedelta(days=7)
elif when.startswith("Overdue"):
    end = today - timedelta(days=1)

frame = load(tuple(status_filter or STATUSES), None if step_filter == "All" else step_filter,
             None if track_filter == "All" else track_filter, None if manager_filter == "All" else manager_filter,
             start, end)
emails = frame[frame["channel"] != "call"]
calls = frame[frame["channel"] == "call"]

totals = reminders.totals_by_currency(frame)  # one figure per currency: EUR and USD never add up
m = st.columns(4)
m[0].metric("Messages", len(emails))
m[1].metric("To approve", int(((emails["status"] == "proposed") & ~emails["needs_address"]).sum()))
m[2].metric("Needs address", int(emails["needs_address"].sum()),
            help="Waiting for the debtor's reminder address; they become sendable once it is there.")
m[3].metric("Calls to make", int(calls["status"].isin(["proposed", "approved"]).sum()))
for col, (currency, cents) in zip(st.columns(max(2, len(totals))), totals.items()):  # wide: big amounts fit
    col.metric(f"Total chased ({currency})", fmt(cents, currency))

worklists.debtors_without_address(expanded=bool(emails["needs_address"].any()), can_act=can_act)

tab_messages, tab_calls, tab_preview = st.tabs(["Messages", "Call list", "Preview & edit"], key="queue_tab",
                                                on_change="rerun")  # stays on its tab across reruns

with tab_messages:
    if emails.empty:
        st.info("No messages match these filters. Press **Propose due reminders** to let the engine look.")
    else:
        view = pd.DataFrame({
            "id": emails["id"],
            "Debtor": emails["debtor_code"] + " · " + emails["debtor_name"],
            "Step": emails["step"], "Track": emails["track"],
            "Invoices": emails["invoice_numbers"].map(", ".join),
            "Total": emails["total_cents"] / 100,
            "Costs": (emails["costs_cents"] + emails["interest_cents"]) / 100,
            "Currency": emails["currency"],
            "Planned": emails["planned_date"], "Status": emails["state"], "Last problem": emails["last_error"],
            "Action": "", "Postpone until": pd.Series([None] * len(emails), index=emails.index, dtype="object"),
            "Note": emails["note"].fillna(""), "Why": emails["reason"],
            "Dossier": dossier_urls(emails["debtor_code"]),
        }).reset_index(drop=True)
        config = {
            "id": st.column_config.NumberColumn("#", width="small"),
            "Total": st.column_config.NumberColumn(format="%.2f"),
            "Costs": st.column_config.NumberColumn("Costs + interest", format="%.2f"),
            "Planned": st.column_config.DateColumn(format="DD-MM-YYYY"),
            "Action": st.column_config.SelectboxColumn(options=list(ACTION_LABELS), width="small",
                                                       help="approve, postpone (set the date) or block"),
            "Postpone until": st.column_config.DateColumn(min_value=today + timedelta(days=1), format="DD-MM-YYYY"),
            "Dossier": st.column_config.LinkColumn(display_text="open"),
        }
        if can_act:
            edited = st.data_editor(view, key=f"queue_editor_{queue.fingerprint(emails)}", hide_index=True,
                                    width="stretch", column_config=config,
                                    disabled=[c for c in view.columns if c not in ("Action", "Postpone until", "Note")])
            b1, b2, _ = st.columns([1, 1, 2])
            proposed_ids = emails.loc[(emails["status"] == "proposed") & ~emails["needs_address"], "id"].tolist()
            if b1.button("Apply row changes", icon=":material/done_all:"):
                changes = row_changes(edited, view)

                def _apply():  # every row or none
                    with state.uow(immediate=True) as uow:
                        return queue.apply_rows(uow, changes, actor=user.username)
                if any(c.action or c.note is not None for c in changes) and run(_apply, "{result} message(s) changed."):
                    st.rerun()
            if b2.button(f"Approve all {len(proposed_ids)} shown", disabled=not proposed_ids,
                         icon=":material/check_circle:"):
                def _approve():
                    with state.uow(immediate=True) as uow:
                        return len(queue.approve_all(uow, actor=user.username, message_ids=proposed_ids))
                if run(_approve, "Approved {result} message(s)."):
                    st.rerun()
        else:
            st.dataframe(view.drop(columns=["Action", "Postpone until"]), hide_index=True, width="stretch",
                         column_config=config)

with tab_calls:
    todo = calls[calls["status"].isin(["proposed", "approved"])]
    if todo.empty:
        st.info("No calls to make for these filters.")
    for r in todo.to_dict("records"):
        with st.container(border=True):
            a, b = st.columns([4, 1])
            a.markdown(f"**{r['debtor_name']}** ({r['debtor_code']}) · {fmt(r['total_cents'], r['currency'])} · "
                       f"{', '.join(r['invoice_numbers'])}  \n{r['reason']} · planned {r['planned_date']:%d-%m-%Y} · "
                       f"[dossier]({dossier_url(r['debtor_code'])})")
            if can_act and b.button("Called", key=f"called_{r['id']}", icon=":material/call:"):
                st.session_state["calling"] = r["id"]
            if st.session_state.get("calling") == r["id"]:
                with st.form(f"call_note_{r['id']}"):
                    outcome = st.selectbox("Outcome", CALL_OUTCOMES)
                    text = st.text_area("What was said", placeholder="e.g. pays Friday, invoice was lost")
                    if st.form_submit_button("Save call"):
                        def _call(mid=r["id"], outcome=outcome, text=text):
                            with state.uow(immediate=True) as uow:
                                return queue.record_call(uow, mid, outcome, text, actor=user.username)
                        if run(_call, "Call saved in the dossier."):
                            st.session_state.pop("calling", None)
                            st.rerun()

with tab_preview:
    if frame.empty:
        st.info("Nothing to preview.")
    else:
        labels = {int(r["id"]): f"#{r['id']} · {r['debtor_code']} {r['debtor_name']} · {r['subject']}"
                  for r in frame.to_dict("records")}
        chosen = st.selectbox("Message", list(labels), format_func=labels.get, key="preview_id")
        with state.uow() as uow:
            p = queue.preview(uow, chosen)
        st.markdown(f"**To:** {p.recipients or '— needs address: the debtor has no usable reminder address —'} · "
                    f"**Status:** {p.status}" + (" · *edited by hand*" if p.edited else ""))
        st.caption(frame.loc[frame["id"] == chosen, "reason"].iloc[0])
        st.markdown(f"**Subject:** {p.subject}")
        problem = frame.loc[frame["id"] == chosen, "last_error"]
        if not problem.empty and problem.iloc[0]:
            st.warning(f"Last problem: {problem.iloc[0]}", icon=":material/error:")
        components.html(p.html, height=760, scrolling=True)
        with st.expander("Plain-text part"):
            st.code(p.text, language=None)
        if frame.loc[frame["id"] == chosen, "channel"].eq("letter").any():
            with state.uow() as uow:
                pdf = sending.letter_for(uow, chosen, today)
            st.download_button("Download the letter (PDF)", data=pdf.content, file_name=pdf.filename,
                               mime="application/pdf", icon=":material/picture_as_pdf:")
            st.caption("A letter step goes out as this e-mail with the letter attached as PDF; print it to post it.")
        with state.uow() as uow:
            attached = sending.statement_for(uow, chosen, today)
        if attached:
            st.caption("More invoices than the text lists: the statement of account of all of them goes with it.")
            for att, icon in zip(attached, (":material/picture_as_pdf:", ":material/table:")):
                st.download_button(f"Download {att.filename}", data=att.content, file_name=att.filename,
                                   mime=att.mime_type, icon=icon, key=f"statement_{att.filename}")
        if can_act and p.status in messages.UNSENT:
            with st.form(f"edit_{chosen}"):
                st.markdown("**Edit the text** — what you save here is exactly what is sent.")
                subject = st.text_input("Subject", value=p.subject)
                body = st.text_area("Text", value=p.text, height=360)
                if st.form_submit_button("Save text"):
                    def _edit():
                        with state.uow(immediate=True) as uow:
                            queue.edit_text(uow, chosen, subject, body, actor=user.username)
                    if run(_edit, "Text saved; the edit is in the audit log."):
                        st.rerun()
            c0, c1, c2 = st.columns(3)
            if p.status == "proposed" and c0.button("Approve this message", type="primary",
                                                                   icon=":material/check_circle:"):
                def _approve_one():
                    with state.uow(immediate=True) as uow:
                        queue.transition(uow, [chosen], "approve", actor=user.username)
                if run(_approve_one, f"Message #{chosen} approved."):
                    st.rerun()
            if c1.button("Block this message", icon=":material/block:"):
                def _block():
                    with state.uow(immediate=True) as uow:
                        queue.transition(uow, [chosen], "block", actor=user.username)
                if run(_block, f"Message #{chosen} blocked."):
                    st.rerun()
            if p.edited and c2.button("Back to the template text", icon=":material/undo:"):
                def _rerender():
                    with state.uow(immediate=True) as uow:
                        queue.rerender(uow, chosen, actor=user.username)
                if run(_rerender, "Rendered again from the template."):
                    st.rerun()
            if p.status == "proposed":
                with st.form(f"postpone_{chosen}"):
                    st.markdown("**Postpone** — the message comes back to the queue on this date.")
                    until_day = st.date_input("Postpone until", value=today + timedelta(days=7),
                                              min_value=today + timedelta(days=1), format="DD-MM-YYYY")
                    if st.form_submit_button("Postpone message"):
                        def _postpone():
                            with state.uow(immediate=True) as uow:
                                queue.transition(uow, [chosen], "postpone", actor=user.username, until=until_day)
                        if run(_postpone, f"Message #{chosen} postponed until {until_day:%d-%m-%Y}."):
                            st.rerun()
            with st.form(f"block_debtor_{chosen}"):
                st.markdown("**Block the debtor** — no reminders at all until unblocked (or until the date).")
                reason = st.text_input("Reason", placeholder="e.g. payment plan agreed, curator appointed")
                until = st.date_input("Until (optional)", value=None, min_value=today + timedelta(days=1),
                                      format="DD-MM-YYYY")
                if st.form_submit_button("Block debtor"):
                    def _block_debtor():
                        with state.uow(immediate=True) as uow:
                            queue.block_debtor(uow, chosen, reason, until, actor=user.username)
                    if run(_block_debtor, "Debtor blocked; its unsent messages are blocked too."):
                        st.rerun()
