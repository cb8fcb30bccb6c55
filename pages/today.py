from ui.auth import require

user = require("viewer")

import functools  # noqa: E402
from datetime import date  # noqa: E402

import streamlit as st  # noqa: E402

from receivables.domain import calls  # noqa: E402
from receivables.domain.worklist import SOURCES, Item  # noqa: E402
from receivables.services import bank, dossier, mailbox, queue, today, users  # noqa: E402
from receivables.services.errors import ServiceError  # noqa: E402
from ui import i18n, state  # noqa: E402
from ui.i18n import _  # noqa: E402
from ui.links import dossier_link  # noqa: E402
from ui.phrases import said  # noqa: E402
from ui.text import md  # noqa: E402
from ui.today_digest import digest_opt_in  # noqa: E402

SHOWN = 10  # items per section before "show all"
LABELS = SOURCES  # worded in receivables/domain/worklist.py, as the digests word them
ICONS = {"reply": ":material/mark_email_unread:", "unassigned": ":material/move_to_inbox:",
         "dispute": ":material/gavel:", "portal": ":material/price_check:", "promise": ":material/handshake:",
         "bank": ":material/account_balance:", "call": ":material/call:", "approval": ":material/task_alt:",
         "address": ":material/contact_mail:", "failed": ":material/unsubscribe:",
         "sending": ":material/schedule_send:", "plan": ":material/event_repeat:"}
CALL_OUTCOMES = calls.OUTCOME_LABELS  # the one list (receivables/domain/calls.py)

can_act = user.can("collector")


def run(service, done: str, **kwargs) -> None:
    """One service call in a write transaction; on success the worklist is read again."""
    try:
        with state.uow(immediate=True) as uow:
            service(uow, actor=user.username, **kwargs)
    except ServiceError as exc:
        st.error(i18n.error(exc), icon=":material/error:")
        return
    state.data_changed()
    st.session_state["today_flash"] = done
    st.rerun()


def title(item: Item) -> str:
    words = said(item.title_phrase) if item.title_id else item.title
    return md(words)


@st.cache_data(show_spinner=False, max_entries=8)
def load(version: str, day: date, who: str | None) -> today.Worklist:
    with state.uow() as uow:
        return today.worklist(uow, today=day, user=who)


@functools.cache  # once per run: the page script is run afresh each time
def colleagues() -> list[str]:
    with state.uow() as uow:
        return [u.username for u in users.list_users(uow) if u.role in ("collector", "admin") and not u.disabled]


st.title(_("Today"))
if flash := st.session_state.pop("today_flash", None):
    st.success(flash, icon=":material/check_circle:")

views = {"mine": _("Mine"), "everyone": _("Everyone's")}
view = st.segmented_control(_("Whose items"), list(views), format_func=views.get, key="today_view",
                            default="mine" if can_act else "everyone", required=True)
work = load(state.data_version(), date.today(), user.username if view == "mine" else None)
if view == "mine":
    st.caption(_("Your own items, and those nobody owns yet."))
digest_opt_in(user)

counts = {s: n for s, n in work.counts.items() if n}
if not counts:
    st.success(_("Nothing needs a person today."), icon=":material/done_all:")
else:
    columns = st.columns(min(len(counts), 4))  # four: the longest label fits in Dutch and English
    for n, (source, count) in enumerate(counts.items()):
        columns[n % len(columns)].metric(_(LABELS[source]), count)


# --- acting on one item ----------------------------------------------------------------------------

def hand_over(item: Item) -> None:
    others = [u for u in colleagues() if u != item.owner]
    if not others:
        return
    with st.popover(_("Hand over"), icon=":material/forward:"):
        with st.form(f"hand_{item.key}", clear_on_submit=True, border=False):
            to = st.selectbox(_("To"), others, key=f"hand_to_{item.key}")
            note = st.text_input(_("Note for your colleague"), key=f"hand_note_{item.key}")
            if st.form_submit_button(_("Hand over")):
                run(today.hand_over, _("Handed to {user}.", user=to), item_key=item.key, to_user=to, note=note)


def act_on_reply(item: Item, mail: mailbox.MailView | None) -> None:
    if mail is not None:
        with st.expander(_("Read the whole mail")):
            st.text(mail.text)
        for attachment_id, name, size, kept in mail.attachments:
            if kept:
                st.download_button(_("Download {name}", name=name), key=f"att_{attachment_id}",
                                   data=lambda a=attachment_id: attachment_bytes(a), file_name=name,
                                   icon=":material/attach_file:")
            else:
                st.caption(_("{name} ({size} bytes) was too large to keep; it is in the processed folder.",
                             name=name, size=size))
        if mail.paused_until:
            st.caption(_("Reminders to this debtor wait until it is handled, at most until {date}.",
                         date=i18n.day(mail.paused_until)))
    if not can_act:
        return
    with st.form(f"handle_{item.key}", border=False):
        text = st.text_input(_("What was done (for the dossier)"), key=f"handle_text_{item.key}")
        if st.form_submit_button(_("Handled"), type="primary", icon=":material/done:"):
            run(mailbox.handle, _("The reply is handled; reminders to {debtor} go on.", debtor=item.debtor_name),
                mail_id=item.ref, text=text)


def attachment_bytes(attachment_id: int) -> bytes:
    with state.uow() as uow:
        return mailbox.attachment(uow, attachment_id).data


def act_on_unassigned(item: Item, mail: mailbox.MailView | None) -> None:
    if mail is not None:
        with st.expander(_("Read the whole mail")):
            st.text(mail.text)
    if not can_act:
        return
    found = st.text_input(_("Find the debtor"), key=f"find_{item.key}",
                          placeholder=_("code, name, e-mail or invoice number"))
    if found.strip():
        try:
            with state.uow() as uow:
                matches = dossier.find_debtors(uow, found)
        except ServiceError as exc:
            st.error(i18n.error(exc), icon=":material/error:")
            return
        if not matches:
            st.caption(_("No debtor matches that."))
        else:
            options = {f"{m.code} · {m.name}": m.code for m in matches}
            pick = st.selectbox(_("Debtor"), list(options), key=f"pick_{item.key}")
            if st.button(_("Put it in this dossier"), key=f"assign_{item.key}", type="primary"):
                run(mailbox.assign, _("The mail is in the dossier of {debtor}.", debtor=pick),
                    mail_id=item.ref, code=options[pick])
    with st.popover(_("Not a debtor's mail")):
        with st.form(f"aside_{item.key}", border=False):
            why = st.text_input(_("Why not (for the record)"), key=f"why_{item.key}")
            if st.form_submit_button(_("Set aside")):
                run(mailbox.set_aside, _("The mail is set aside."), mail_id=item.ref, why=why)


def act_on_dispute(item: Item) -> None:
    with st.form(f"resolve_{item.key}", border=False):
        text = st.text_input(_("How it was resolved"), key=f"resolve_text_{item.key}")
        if st.form_submit_button(_("Resolve the dispute"), icon=":material/gavel:"):
            run(dossier.resolve_dispute, _("The dispute is resolved; the invoice is chased again."),
                code=item.debtor_code, number=item.extra["number"], text=text)


def act_on_call(item: Item) -> None:
    with st.form(f"call_{item.key}", border=False):
        worded = {o: _(label) for o, label in CALL_OUTCOMES.items()}  # in this run's language
        outcome = st.radio(_("Outcome"), list(worded), format_func=worded.get, horizontal=True,
                           key=f"outcome_{item.key}")
        text = st.text_input(_("What was said"), key=f"said_{item.key}")
        if st.form_submit_button(_("Log the call"), type="primary", icon=":material/call:"):
            run(queue.record_call, _("The call is logged."), message_id=item.ref, outcome=outcome, text_=text)


def act_on_note(item: Item) -> None:
    with st.form(f"note_{item.key}", border=False):
        text = st.text_input(_("Follow-up (a note in the dossier)"), key=f"note_text_{item.key}")
        if st.form_submit_button(_("Save the note")):
            run(dossier.add_note, _("The note is saved."), code=item.debtor_code, text=text)


def act(item: Item, mails: dict) -> None:
    if item.source == "reply":
        act_on_reply(item, mails.get(item.ref))
        return
    if item.source == "unassigned":
        act_on_unassigned(item, mails.get(item.ref))
        return
    if not can_act:
        return
    if item.source == "dispute":
        act_on_dispute(item)
    elif item.source in ("promise", "plan", "portal"):  # a plan is decided on in the dossier
        act_on_note(item)
    elif item.source == "bank":
        if st.button(_("Confirm the payment"), key=f"confirm_{item.key}", type="primary", icon=":material/done:"):
            run(bank.confirm, _("The payment is booked."), line_id=item.ref)
        st.page_link("pages/bank.py", label=_("Change or reject it on the Bank page"), icon=":material/account_balance:")
    elif item.source == "call":
        act_on_call(item)
    elif item.source in ("approval", "failed"):
        label = _("Approve") if item.source == "approval" else _("Send again")
        if st.button(label, key=f"approve_{item.key}", type="primary", icon=":material/send:"):
            run(queue.transition, _("Approved: it goes with the next send."), message_ids=[item.ref],
                action="approve")
    elif item.source == "address":
        st.caption(_("Enter the address in the dossier, or import a debtor list with it."))
    elif item.source == "sending":
        st.caption(_("An admin confirms on the Sender page whether it went out."))


def show(item: Item, mails: dict) -> None:
    with st.container(border=True):
        head, side = st.columns([4, 1])
        badge = " :red-badge[" + _("late") + "]" if item.late else ""
        head.markdown(f"**{title(item)}**{badge}")
        facts = []
        if item.debtor_code:
            facts.append(md(f"{item.debtor_code} · {item.debtor_name or ''}"))
        if item.since:
            facts.append(_("since {date}", date=i18n.day(item.since)))
        facts.append(_("owner: {user}", user=item.owner) if item.owner else _("nobody's yet"))
        head.caption(" — ".join(facts))
        if item.handed_by:
            head.info(_("Handed over by {user}: {note}", user=item.handed_by, note=md(item.hand_note or "—")),
                      icon=":material/forward:")
        if item.phone:
            head.markdown(f":material/call: {md(item.phone)}")
        for note in item.notes:
            head.caption(md(note))
        if item.detail:
            head.text(said(item.detail_phrase, today.DETAIL_CHARS) if item.detail_phrase else item.detail)
        with side:
            if item.debtor_code:
                dossier_link(item.debtor_code, _("Dossier"))
            if can_act:
                hand_over(item)
        act(item, mails)


for source in SOURCES:
    items = work.of(source)
    if not items:
        continue
    st.subheader(f"{_(LABELS[source])} ({len(items)})", anchor=source)
    if len(items) > SHOWN and not st.toggle(_("Show all {n}", n=len(items)), key=f"all_{source}"):
        items = items[:SHOWN]
    wanted = [i.ref for i in items if i.source in ("reply", "unassigned")]
    with state.uow() as uow:
        mails = mailbox.mails(uow, wanted)
    for item in items:
        show(item, mails)


# --- the team mailbox ------------------------------------------------------------------------------

if can_act:
    st.divider()
    with st.expander(_("Team mailbox"), icon=":material/inbox:"):
        if st.button(_("Fetch now"), icon=":material/refresh:", key="fetch_now"):
            try:
                box = mailbox.open_mailbox()
                with st.status(_("Reading the team mailbox…")), state.uow(immediate=True) as uow:
                    result = mailbox.fetch(uow, box, actor=user.username)
            except ServiceError as exc:
                st.error(i18n.error(exc), icon=":material/error:")
            else:
                state.data_changed()
                st.session_state["today_flash"] = _(
                    "Read {n} new message(s): {replies} replies, {unassigned} to assign, {auto} auto-replies, "
                    "{bounces} bounces.", n=result.stored, replies=result.replies, unassigned=result.unassigned,
                    auto=result.auto_replies, bounces=result.bounces)
                st.rerun()
        st.caption(_("From cron: `python -m receivables mailbox fetch`. The settings are in [imap] of "
                     ".streamlit/secrets.toml or IMAP_* environment variables."))
        if user.can("admin"):
            if st.button(_("Check the connection"), key="check_mailbox"):
                result = mailbox.check()
                (st.success if result.ok else st.error)(result.message)
            with state.uow() as uow:
                policy = mailbox.load_policy(uow.session)
            with st.form("mailbox_policy", border=False):
                days = st.number_input(_("A reply holds the debtor's reminders for at most (days)"), 0, 90,
                                       policy.reply_pause_days, key="pause_days")
                back = st.toggle(_("An out-of-office holds reminders until its return date"),
                                 policy.postpone_to_return_date, key="return_date")
                if st.form_submit_button(_("Save")):
                    run(mailbox.save_policy, _("Saved."), reply_pause_days=int(days), postpone_to_return_date=back)
