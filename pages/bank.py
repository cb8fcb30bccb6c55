from ui.auth import require

user = require("collector")


import pandas as pd  # noqa: E402
import streamlit as st  # noqa: E402

from receivables.services import bank  # noqa: E402
from receivables.services.errors import ServiceError  # noqa: E402
from ui import state, uploader  # noqa: E402
from ui.i18n import _, day, money  # noqa: E402
from ui.i18n import error as worded  # noqa: E402
from ui.phrases import said  # noqa: E402
from ui.text import md  # noqa: E402

FILE_TYPES = ["xml", "txt", "sta", "940", "swi", "csv", "mt940"]
SHOWN = 50  # decisions listed at once; the rest follow as these are made


def act(fn, *args, done: str, **kwargs) -> None:
    """One service call in its own transaction; the page is drawn again with what it changed."""
    try:
        with state.uow(immediate=True) as u:
            fn(u, *args, actor=user.username, **kwargs)
    except ServiceError as exc:
        st.session_state["bank_message"] = ("error", worded(exc))
    else:
        st.session_state["bank_message"] = ("success", done)
        state.data_changed()
    st.rerun()


def show_message() -> None:
    kind, text = st.session_state.pop("bank_message", (None, None))
    if kind == "error":
        st.error(text, icon=":material/error:")
    elif kind == "success":
        st.success(text, icon=":material/check_circle:")


def upload() -> None:
    uploaded = uploader.file_uploader(_("Bank statement: camt.053 or MT940, or the CSV download of ING or Rabobank, "
                                  "or ABN AMRO's TXT download"), type=FILE_TYPES, key="bank_file")
    if uploaded is not None and st.button(_("Import and match"), type="primary", key="bank_import"):
        try:
            with state.uow(immediate=True) as u:
                result = bank.import_statement(u, uploaded.getvalue(), uploaded.name, actor=user.username)
        except bank.UnknownAccount as exc:
            st.session_state["bank_offer"] = exc.accounts[:1]
            st.session_state["bank_message"] = ("error", worded(exc))
        except ServiceError as exc:
            st.session_state["bank_message"] = ("error", worded(exc))
        else:
            st.session_state["bank_result"] = result
            st.session_state.pop("bank_offer", None)
            state.data_changed()
        st.rerun()
    for account in st.session_state.get("bank_offer", []):
        if st.button(_("{account} is the company's account: add it", account=account), key="bank_offer_add"):
            st.session_state.pop("bank_offer")
            act(bank.add_account, account, done=_("{account} added; import the statement again", account=account))


def show_result() -> None:
    result = st.session_state.get("bank_result")
    if result is None:
        return
    if result.batch_id is None:
        st.info(_("{file}: every line was imported before; nothing changed.", file=md(result.file_name)),
                icon=":material/content_copy:")
        return
    st.success(_("Imported {file} as batch {batch}.", file=md(result.file_name), batch=result.batch_id),
               icon=":material/check_circle:")
    columns = st.columns(5)
    for col, (label, value) in zip(columns, [(_("Lines"), result.lines), (_("Matched"), result.matched),
                                             (_("Suggested"), result.suggested), (_("Unmatched"), result.unmatched),
                                             (_("Already imported"), result.duplicates)]):
        col.metric(label, f"{value:,}")
    if result.other_accounts:
        st.caption(_("Left out: statements of {accounts}, which are not the company's accounts.",
                     accounts=", ".join(result.other_accounts)))
    if result.unbalanced:
        st.warning(_("The balances of {statements} do not add up to the lines; check the download.",
                     statements=", ".join(result.unbalanced)))


def describe(line: dict) -> None:
    payer = md(line["counterparty_name"]) or _("no name")
    st.markdown(f"**{money(line['amount_cents'], line['currency'])}** · {day(line['booking_date'])} · "
                f"{payer} {md(line['counterparty_iban'])}")
    text = " ".join(t for t in (line["structured_reference"], line["remittance"]) if t)
    st.caption(md(text) or _("no description"))
    if line["reason"]:
        st.caption(_("Why: {reason}", reason=md(said(line["reason"]))))


def choose_invoices(line: dict, key: str) -> None:
    """Pick the debtor and the invoices this payment pays, and book it."""
    with state.uow() as u:
        debtors = bank.debtor_choices(u)
    if not debtors:
        st.caption(_("There are no debtors to assign it to."))
        return
    ids = [d["id"] for d in debtors]
    labels = {d["id"]: f"{d['code']} — {d['name']}" for d in debtors}
    debtor_id = st.selectbox(_("Debtor"), ids, index=ids.index(line["debtor_id"]) if line["debtor_id"] in ids else 0,
                             format_func=labels.get, key=f"{key}_debtor")
    with state.uow() as u:
        invoices = [i for i in bank.open_invoices(u, debtor_id) if i["currency"] == line["currency"]]
    names = {i["id"]: f"{i['number']} — {money(i['open_cents'], i['currency'])} ({day(i['due_date'])})"
             for i in invoices}
    proposed = [a["invoice_id"] for a in line["allocations"] if a["invoice_id"] in names]
    chosen = st.multiselect(_("Invoices it pays (none: keep it on account)"), list(names), default=proposed,
                            format_func=names.get, key=f"{key}_invoices")
    if st.button(_("Book it so"), key=f"{key}_assign"):
        act(bank.assign, line["id"], debtor_id=debtor_id, invoice_ids=chosen,
            done=_("Payment of {amount} booked.", amount=money(line["amount_cents"], line["currency"])))


def suggestions() -> None:
    with state.uow() as u:
        rows = bank.suggestions(u)
    if not rows:
        st.info(_("No suggestions waiting."), icon=":material/task_alt:")
        return
    st.caption(_("{n} payments the matcher is not sure of; confirm, change or reject each.", n=len(rows)))
    for line in rows[:SHOWN]:
        with st.container(border=True):
            describe(line)
            pays = ", ".join(f"{a['invoice']} ({money(a['cents'], line['currency'])})" for a in line["allocations"])
            st.markdown(_("Proposed: **{debtor}** pays {invoices} · confidence {confidence}",
                          debtor=md(line["debtor_name"] or line["debtor_code"]),
                          invoices=md(pays) or _("nothing open (keep on account)"),
                          confidence=f"{line['confidence']:.2f}"))
            left, right, _rest = st.columns([1, 1, 4])
            if left.button(_("Confirm"), key=f"confirm_{line['id']}", type="primary"):
                act(bank.confirm, line["id"], done=_("Suggestion confirmed."))
            if right.button(_("Reject"), key=f"reject_{line['id']}"):
                act(bank.reject, line["id"], done=_("Suggestion rejected; the payment is on the worklist."))
            with st.expander(_("Change")):
                choose_invoices(line, f"change_{line['id']}")


def worklist() -> None:
    with state.uow() as u:
        rows = bank.worklist(u)
    if not rows:
        st.info(_("Every credit is matched."), icon=":material/task_alt:")
        return
    st.caption(_("{n} credits nobody could match: who paid this?", n=len(rows)))
    for line in rows[:SHOWN]:
        with st.container(border=True):
            describe(line)
            with st.expander(_("Assign to a debtor")):
                choose_invoices(line, f"assign_{line['id']}")
            if st.button(_("Not ours"), key=f"not_ours_{line['id']}"):
                act(bank.mark_not_ours, line["id"], done=_("Marked as not a payment of ours."))


def cases() -> None:
    with state.uow() as u:
        rows = bank.ledger_cases(u)
    if not rows:
        st.info(_("No invoice the bank paid is still open in a later export."), icon=":material/task_alt:")
        return
    st.caption(_("The bank paid these invoices, but a later accounting export still shows them open. The bank "
                 "payment stands; check whether the accountant has booked it."))
    for case in rows:
        with st.container(border=True):
            st.markdown(_("**{invoice}** of {debtor}: {export} ({as_of}) shows {file_open} open; the bank paid "
                          "{kept}, which was kept.", invoice=md(case["invoice"]), debtor=md(case["debtor_name"]),
                          export=md(case["export"]), as_of=day(case["export_as_of"]),
                          file_open=money(case["file_open_cents"], case["currency"]),
                          kept=money(case["kept_cents"], case["currency"])))
            if st.button(_("Looked at"), key=f"case_{case['id']}"):
                act(bank.resolve_case, case["id"], done=_("Case closed."))


def history() -> None:
    with state.uow() as u:
        rows = bank.history(u)
    if not rows:
        st.info(_("No statement imported yet."))
        return
    frame = pd.DataFrame([{_("Batch"): r["batch"], _("Imported"): r["imported_at"], _("By"): r["imported_by"],
                           _("File"): r["file_name"], _("Status"): r["status"], _("Lines"): r["lines"],
                           _("Matched"): r["matched"], _("Suggested"): r["suggested"], _("Unmatched"): r["unmatched"],
                           _("Not ours"): r["not_ours"], _("Debits"): r["debit"]} for r in rows])
    st.dataframe(frame, hide_index=True, width="stretch")
    latest = next((r for r in rows if r["undoable"]), None)
    if latest is not None and st.button(_("Undo batch {batch} ({file}) with its matches", batch=latest["batch"],
                                          file=latest["file_name"]), key="bank_undo"):
        act(bank.undo_latest, batch_id=latest["batch"], done=_("Batch {batch} undone.", batch=latest["batch"]))


def accounts() -> None:
    with state.uow() as u:
        own = bank.own_accounts(u)
    st.caption(_("Only credits to these accounts count as payments."))
    for account in own:
        left, right = st.columns([3, 1])
        left.markdown(f"`{account}`")
        if right.button(_("Remove"), key=f"remove_{account}"):
            act(bank.remove_account, account, done=_("{account} removed.", account=account))
    with st.form("bank_account_form", clear_on_submit=True):
        new = st.text_input(_("Add an account (IBAN)"), key="bank_new_account")
        if st.form_submit_button(_("Add")):
            act(bank.add_account, new, done=_("{account} added.", account=new))
    if user.can("admin"):
        rules_form()


def rules_form() -> None:
    """The thresholds and the reference printed on reminders: an admin's choice."""
    with state.uow() as u:
        rules, kind = bank.match_rules(u.session), bank.reference_kind(u.session)
    kinds = {"rf": _("RF creditor reference (international)"), "betalingskenmerk": _("Betalingskenmerk (Dutch)")}
    with st.form("bank_rules_form"):
        st.subheader(_("Matching rules"))
        auto = st.number_input(_("Applied at once from confidence"), 0.05, 1.0, rules.auto_threshold, 0.01,
                               key="bank_auto")
        suggest = st.number_input(_("Suggested to a person from confidence"), 0.05, 1.0, rules.suggest_threshold,
                                  0.01, key="bank_suggest")
        tolerance = st.number_input(_("Bank charges written off up to (EUR)"), 0.0, 100.0,
                                    rules.charge_tolerance_cents / 100, 0.5, key="bank_tolerance")
        chosen = st.selectbox(_("Payment reference on reminders"), list(kinds), index=list(kinds).index(kind),
                              format_func=kinds.get, key="bank_reference_kind")
        if st.form_submit_button(_("Save the rules")):
            act(save_rules, auto, suggest, round(tolerance * 100), chosen, done=_("Matching rules saved."))


def save_rules(uow, auto: float, suggest: float, tolerance_cents: int, kind: str, *, actor: str) -> None:
    bank.save_rules(uow, auto_threshold=auto, suggest_threshold=suggest, charge_tolerance_cents=tolerance_cents,
                    actor=actor)
    bank.set_reference_kind(uow, kind, actor=actor)


st.title(_("Bank"))
show_message()
upload()
show_result()
tabs = st.tabs([_("Suggestions"), _("Who paid this?"), _("Export still open"), _("History"), _("Accounts")])
for tab, draw in zip(tabs, (suggestions, worklist, cases, history, accounts)):
    with tab:
        draw()
