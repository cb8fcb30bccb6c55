from ui.auth import require

user = require("collector")

from datetime import date  # noqa: E402

import pandas as pd  # noqa: E402
import streamlit as st  # noqa: E402

from receivables.domain import money  # noqa: E402
from receivables.importing import (  # noqa: E402
    FIELDS,
    FILE_TYPES,
    FILE_TYPES_LABEL,
    KIND_FIELDS,
    KIND_LABELS,
    KINDS,
    PROFILES,
    FileRejected,
    ImportOptions,
    bundle,
)
from receivables.importing.dates import ORDER_LABELS  # noqa: E402
from receivables.importing.mapping import REQUIRED  # noqa: E402
from receivables.importing.numbers import STYLE_LABELS  # noqa: E402
from receivables.services import imports as import_service  # noqa: E402
from receivables.services.errors import ServiceError  # noqa: E402
from ui import state, worklists  # noqa: E402
from ui.text import md  # noqa: E402

NOT_IN_FILE = "— not in the file —"
CURRENCIES = ["EUR", "USD", "GBP", "CHF", "DKK", "SEK", "NOK", "PLN", "CZK"]
MODE_LABELS = {"full": "Full list: invoices missing from the file were paid on the snapshot date",
               "partial": "Partial: only update the invoices in the file"}


def problem_table(problems) -> pd.DataFrame:
    return pd.DataFrame([{"Row": p.line, "Column": p.column or "", "Value": p.value or "", "Problem": p.message}
                         for p in problems], columns=["Row", "Column", "Value", "Problem"])


def show_problems(problems) -> None:
    """A short list as a table whose text wraps; a long one as a scrollable frame."""
    if len(problems) <= 100:
        st.table(problem_table(problems), hide_index=True)
        return
    st.dataframe(problem_table(problems), hide_index=True, width="stretch", column_config={
        "Row": st.column_config.NumberColumn("Row", format="%d", width="small"),
        "Column": st.column_config.TextColumn("Column", width="small"),
        "Value": st.column_config.TextColumn("Value", width="small"),
        "Problem": st.column_config.TextColumn("Problem", width="large")})


def show_result(result: import_service.ImportResult) -> None:
    if result.previous is not None and result.batch_id is None:
        st.info(md(result.previous.describe()), icon=":material/content_copy:")
        return
    st.success(f"Imported **{md(result.file_name)}** as batch {result.batch_id}: {result.summary()}.",
               icon=":material/check_circle:")
    c = st.columns(5)
    for col, (label, value) in zip(c, [("New", result.new), ("Changed", result.changed), ("Closed", result.closed),
                                       ("Unchanged", result.unchanged), ("Skipped", result.skipped)]):
        col.metric(label, f"{value:,}")
    details = []
    if result.skipped_detail.get("subtotal") or result.skipped_detail.get("blank"):
        details.append(f"{result.skipped_detail.get('subtotal', 0)} subtotal/total and "
                       f"{result.skipped_detail.get('blank', 0)} blank rows skipped")
    if result.created_debtors:
        details.append(f"{result.created_debtors} new debtors created")
    if result.cancelled_messages:
        details.append(f"{len(result.cancelled_messages)} unsent reminders cancelled: nothing left to chase")
    if details:
        st.caption("; ".join(details) + ".")
    if result.closing is not None and result.closing.count:
        st.info(md(result.closing.describe().replace(" closes ", " closed ", 1)), icon=":material/playlist_remove:")
    for note in result.notes:
        st.warning(md(note), icon=":material/warning:")
    if result.left_out_count:
        st.warning(f"{result.left_out_count} problem(s) in rows that were left out:", icon=":material/rule:")
        show_problems(result.left_out)
    if result.warning_count:
        with st.expander(f"{result.warning_count} warning(s): imported as they are"):
            show_problems(result.warnings)
    if result.kind in ("open-items", "ledger", "debtors"):
        worklists.debtors_without_address(expanded=True, can_act=True)


STORED_COLUMNS = {"line": "Row", "invoice_number": "Invoice number", "debtor_code": "Debtor code",
                  "debtor_name": "Debtor name", "invoice_date": "Invoice date", "due_date": "Due date",
                  "amount_cents": "Amount", "open_cents": "Open amount", "currency": "Currency", "code": "Debtor code",
                  "name": "Name", "email": "E-mail", "contact_person": "Contact person", "phone": "Phone",
                  "language": "Language", "is_consumer": "Consumer", "payment_term_days": "Payment term (days)"}


def show_stored_rows(outcome: import_service.ImportResult) -> None:
    """The first rows as the import will store them: text, so that nothing is rounded or reformatted."""
    rows = outcome.stored_rows
    if rows is None or not len(rows):
        return
    shown = rows.copy()
    for c in ("amount_cents", "open_cents"):
        if c in shown:
            shown[c] = [money.plain(int(v)) for v in shown[c]]
    for c in ("invoice_date", "due_date"):
        if c in shown:
            shown[c] = [f"{v:%d-%m-%Y}" if v is not None else "" for v in shown[c]]
    st.markdown(f"**The first {len(shown)} rows exactly as they will be stored**")
    st.table(shown.rename(columns=STORED_COLUMNS), hide_index=True)  # wraps to the page: every column shows


def kept_upload(picked) -> import_service.Upload:  # noqa: ANN001
    """The upload as this session read it before: a rerun neither bundles, hashes, reads nor parses the
    file again (the check keeps its parse on it)."""
    ident = tuple((f.file_id, f.name, f.size) for f in picked)
    kept = st.session_state.get("import_upload")
    if kept is not None and kept[0] == ident:
        return kept[1]
    try:
        name, content = bundle([(f.name, f.getvalue()) for f in picked])
    except FileRejected as exc:
        st.error(md(exc), icon=":material/error:")
        st.stop()
    upload = import_service.Upload(content, name)
    st.session_state["import_upload"] = (ident, upload)
    for stale in ("import_preview", "import_checked"):
        st.session_state.pop(stale, None)
    return upload


def kept_preview(upload: import_service.Upload, kind: str | None) -> import_service.Preview:
    """The proposal for this upload and kind, made again only when the ledger changed (an import that
    remembered its columns, or an undo)."""
    wanted = (upload.file_hash, kind, state.data_version())
    kept = st.session_state.get("import_preview")
    if kept is not None and kept[0] == wanted:
        return kept[1]
    try:
        with state.uow() as uow:
            found = import_service.preview(uow, upload, kind=kind)
    except ServiceError as exc:
        st.error(md(exc), icon=":material/error:")
        st.stop()
    st.session_state["import_preview"] = (wanted, found)
    return found


WORK = {"check": "check", "import": "import"}


def with_progress(label: str, work: str, run):  # noqa: ANN001, ANN201
    """`run(progress)` in a status box with a progress bar and a Cancel button. A click on Cancel (or on
    anything else) or the end of the session stops the work at its next step, and its transaction is
    rolled back: nothing is half-imported. The next run of the page finds the mark left here and says so."""
    st.session_state["import_running"] = work
    with st.status(label, expanded=True) as box:
        bar = st.progress(0.0, text="Starting")
        cancel = st.empty()
        cancel.button("Cancel", key=f"import_cancel_{work}", icon=":material/cancel:")
        try:
            done = run(lambda share, what: bar.progress(share, text=what))
        except Exception:
            st.session_state.pop("import_running", None)
            cancel.empty()
            box.update(state="error", expanded=False)
            raise
        cancel.empty()
        box.update(label=f"{label}: done", state="complete", expanded=False)
    st.session_state.pop("import_running", None)
    return done


def checked_upload(upload: import_service.Upload, key: str, request: dict, valid_only: bool):  # noqa: ANN201
    """One check per upload and choice of columns, options, date and rows: kept for the session, so that a
    rerun shows it again and *Import* applies it. A Checked, or the ImportRejected that lists the file's
    problems."""
    wanted = {"key": key, "request": request, "valid_only": valid_only}
    kept = st.session_state.get("import_checked")
    if kept is not None and kept["wanted"] == wanted:
        return kept["outcome"]

    def run(progress):  # noqa: ANN001, ANN202
        with state.uow() as uow:
            return import_service.check(uow, upload, actor=user.username, valid_rows_only=valid_only,
                                        progress=progress, **request)

    try:
        outcome = with_progress("Checking the file", "check", run)
    except import_service.ImportRejected as exc:
        outcome = exc
    except ServiceError as exc:
        st.error(md(exc), icon=":material/error:")
        st.stop()
    st.session_state["import_checked"] = {"wanted": wanted, "outcome": outcome}
    return outcome


def apply_check(upload: import_service.Upload, checked: import_service.Checked, close_missing: bool) -> None:
    def run(progress):  # noqa: ANN001, ANN202
        with state.uow(immediate=True) as uow:
            return import_service.apply(uow, upload, checked, actor=user.username, close_missing=close_missing,
                                        progress=progress)

    try:
        result = with_progress("Importing", "import", run)
    except import_service.CheckOutdated as exc:
        st.session_state.pop("import_checked", None)  # checked again on the next run, from the kept parse
        st.session_state["import_flash"] = str(exc)
        st.rerun()
    except ServiceError as exc:
        st.error(md(exc), icon=":material/error:")
        st.stop()
    state.data_changed()
    upload.drop_parse()
    for done in ("import_check", "import_checked"):
        st.session_state.pop(done, None)
    st.session_state["import_done"] = result
    st.rerun()


def use_snapshot_date(key: str, day: date) -> None:
    st.session_state[f"import_asof_{key}"] = day
    check = st.session_state.get("import_check")
    if check and check["key"] == key:
        check["request"] = {**check["request"], "as_of": day}


st.title("Import")
st.caption("Upload what your accounting package exports: open items (openstaande posten), an invoice ledger "
           "with paid dates, or your debtor list. The whole file is checked first; nothing is written until "
           "you confirm, and then it goes in as one batch that you can undo.")
tab_upload, tab_history = st.tabs(["Upload", "History"])

with tab_upload:
    if done := st.session_state.pop("import_done", None):
        show_result(done)
    if stopped := st.session_state.pop("import_running", None):
        if stopped == "check":
            st.session_state.pop("import_check", None)
        st.warning(f"The {WORK[stopped]} was cancelled before it finished; nothing was imported.",
                   icon=":material/cancel:")
    if flash := st.session_state.pop("import_flash", None):
        st.warning(md(flash), icon=":material/sync_problem:")
    picked = st.file_uploader(f"Export file: {FILE_TYPES_LABEL}", type=list(FILE_TYPES), accept_multiple_files=True,
                              key="import_file")
    upload = kept_upload(picked) if picked else None  # several XML invoices are read as one upload
    if upload is None:
        st.info("Exact Online, Twinfield (CSV or XML), Yuki, e-Boekhouden, Moneybird and SnelStart exports and UBL "
                "(Peppol) e-invoices are recognised; for any other package you choose the columns once and the "
                "choice is remembered.",
                icon=":material/upload_file:")
    else:
        digest = upload.file_hash
        preview = kept_preview(upload, st.session_state.get(f"import_kind_{digest[:12]}"))
        key = f"{digest[:12]}_{preview.kind}"
        st.radio("What is in the file?", KINDS, index=KINDS.index(preview.kind), format_func=KIND_LABELS.get,
                 horizontal=True, key=f"import_kind_{digest[:12]}")
        about = [md(preview.dialect), f"looks like an export from **{md(PROFILES[preview.profile].label)}**",
                 *(md(n) for n in preview.notes)]
        st.caption(" · ".join(about))
        if preview.previous is not None and preview.previous.is_latest:
            st.info(md(preview.previous.describe().replace(" Nothing was changed.", " Importing it again changes "
                                                                                  "nothing.")),
                    icon=":material/content_copy:")
        elif preview.previous is not None:
            st.warning(md(preview.previous.describe()), icon=":material/history:")
        for note in preview.mapping_notes:
            st.warning(md(note), icon=":material/person_search:")
        if preview.remembered:
            st.success(f"Columns as confirmed by {md(preview.remembered['saved_by'])} on "
                       f"{preview.remembered['saved_at']:%d-%m-%Y}: check and import.", icon=":material/bookmark:")

        samples = preview.samples

        def field_label(field: str) -> str:
            group = next((g for g in REQUIRED[preview.kind] if field in g), ())
            if len(group) == 1:
                return f"{FIELDS[field].label} *"
            if group:
                others = " or ".join(FIELDS[f].label.lower() for f in group if f != field)
                return f"{FIELDS[field].label} (* this or {others})"
            return FIELDS[field].label

        def column_label(header: str) -> str:
            if header == NOT_IN_FILE:
                return header
            shown = ", ".join(samples.get(header, [])) or "empty"
            return f"{header}  —  {shown}"

        box = (st.expander("Columns, numbers and dates", expanded=False)
               if preview.previous is not None and preview.previous.is_latest else st.container())
        with box, st.form(f"import_form_{key}"):
            st.subheader("Columns")
            st.caption("Each field with the column it comes from and that column's first values. Fields marked * "
                       "are needed.")
            options = [NOT_IN_FILE, *preview.headers]
            mapping = {}
            grid = st.columns(2)
            for n, field in enumerate(KIND_FIELDS[preview.kind]):
                current = preview.mapping.get(field)
                mapping[field] = grid[n % 2].selectbox(
                    field_label(field), options,
                    index=options.index(current) if current in options else 0, format_func=column_label,
                    help=FIELDS[field].help or None, key=f"import_map_{key}_{field}")
            st.subheader("Numbers and dates")
            o1, o2, o3 = st.columns(3)
            decimal = o1.radio("Amounts are written as", list(STYLE_LABELS), format_func=STYLE_LABELS.get,
                               index=list(STYLE_LABELS).index(preview.options.decimal), key=f"import_dec_{key}")
            order_options = list(ORDER_LABELS)
            date_order = o2.radio(
                "Day-month order", order_options, format_func=ORDER_LABELS.get,
                index=order_options.index(preview.options.date_order) if preview.options.date_order else None,
                help="Only asked when no date in the file has a day above 12.", key=f"import_order_{key}")
            currencies = list(dict.fromkeys([preview.options.currency or "EUR", *CURRENCIES]))
            currency = o3.selectbox("Currency of rows without a currency column", currencies,
                                    key=f"import_cur_{key}")
            if preview.detected.date_formats:
                st.caption("Dates found: " + ", ".join(f"{md(c)} {md(f)}" for c, f in preview.detected.date_formats.items()))
            if preview.detected.date_order_ambiguous and not preview.options.date_order:
                st.warning("Every date in this file could be day-first or month-first. Choose the day-month "
                           "order above.", icon=":material/help:")
            mode, as_of = "partial", date.today()
            if preview.kind == "open-items":
                st.subheader("Snapshot")
                s1, s2 = st.columns([3, 1])
                mode = s1.radio("This file is", list(MODE_LABELS), format_func=MODE_LABELS.get,
                                key=f"import_mode_{key}")
                as_of = s2.date_input("Open items as of", value=date.today(), format="DD-MM-YYYY",
                                      min_value=state.earliest_date(date(2000, 1, 1)), key=f"import_asof_{key}")
            checked = st.form_submit_button("Check the file", type="secondary", icon=":material/fact_check:")

        request = dict(kind=preview.kind, mode=mode, as_of=as_of,
                       mapping={f: (None if h == NOT_IN_FILE else h) for f, h in mapping.items()},
                       options=ImportOptions(decimal, date_order, currency), profile=preview.profile)
        if checked:
            st.session_state["import_check"] = {"key": key, "request": request}
        check = st.session_state.get("import_check")
        if check and check["key"] == key:
            request = check["request"]
            valid_only = st.session_state.get(f"import_valid_only_{key}", False)
            st.subheader("Check")
            checked = checked_upload(upload, key, request, valid_only)
            rejected = checked if isinstance(checked, import_service.ImportRejected) else None
            outcome = None if rejected is not None else checked.result
            if rejected is not None:
                st.error(f"{rejected.problem_count} problem(s) found; nothing will be imported until they are "
                         "fixed.", icon=":material/error:")
                show_problems(rejected.problems)
                if rejected.problem_count > len(rejected.problems):
                    st.caption(f"… and {rejected.problem_count - len(rejected.problems):,} more.")
                if not rejected.parsed.file_errors and len(rejected.parsed.valid_rows()):
                    left_out = len(rejected.parsed.frame) - len(rejected.parsed.valid_rows())
                    st.checkbox(f"Import the valid rows only ({left_out} rows with problems are left out and listed)",
                                key=f"import_valid_only_{key}")
            elif outcome.previous is not None and outcome.previous.is_latest:
                st.info(md(outcome.previous.describe()), icon=":material/content_copy:")
            else:
                creates = f" It creates {outcome.created_debtors} new debtors." if outcome.created_debtors else ""
                closing = outcome.closing
                to_read = len(outcome.notices) + bool(closing and closing.count)
                if to_read:
                    st.success(f"No errors. Importing will give: {outcome.summary()}.{creates} Read the {to_read} "
                               f"point{'s' if to_read > 1 else ''} below first.", icon=":material/task_alt:")
                else:
                    st.success(f"No problems. Importing will give: {outcome.summary()}.{creates}",
                               icon=":material/task_alt:")
                if outcome.left_out_count:
                    st.warning(f"{outcome.left_out_count} problem(s) in rows that will be left out:",
                               icon=":material/rule:")
                    show_problems(outcome.left_out)
                    # stays on screen, so the choice stays made (and can be taken back)
                    st.checkbox(f"Import the valid rows only ({outcome.skipped_detail.get('left out', 0)} rows "
                                "with problems are left out and listed)", key=f"import_valid_only_{key}")
                close_missing = False
                if closing is not None and not closing.count and closing.open_before:
                    st.caption(closing.describe())
                if closing is not None and closing.count:
                    st.warning(md(closing.describe()), icon=":material/playlist_remove:")
                    if closing.needs_confirmation:
                        invoices = "1 open invoice" if closing.count == 1 else f"these {closing.count:,} open invoices"
                        close_missing = st.checkbox(
                            f"Yes, close {invoices} ({md(closing.total_text())}) as paid: this file is the complete "
                            "list of open items", key=f"import_close_missing_{key}",
                            help="If it is not the complete list, choose Partial above and check again.")
                for note in outcome.notes:
                    st.warning(md(note), icon=":material/warning:")
                for n in outcome.notices:
                    st.warning(md(str(n)), icon=":material/visibility:")
                if outcome.suggested_as_of and outcome.suggested_as_of != request["as_of"]:
                    st.button(f"Use {outcome.suggested_as_of:%d-%m-%Y} as the snapshot date and check again",
                              on_click=use_snapshot_date, args=(key, outcome.suggested_as_of),
                              icon=":material/event:", key=f"import_use_asof_{key}")
                show_stored_rows(outcome)
                if outcome.facts:
                    st.markdown("**What each column holds**")
                    st.dataframe(pd.DataFrame([{"Field": f.label, "Column": f.column, "Distinct values": f.distinct,
                                                "Empty": f.empty, "Range or sum": f.summary} for f in outcome.facts]),
                                 hide_index=True, width="stretch")
                if outcome.warning_count:
                    with st.expander(f"{outcome.warning_count} warning(s): imported as they are"):
                        show_problems(outcome.warnings)
                blocked = bool(closing and closing.needs_confirmation and not close_missing)
                if blocked:
                    st.caption("Import is possible once you tick the box above that names the invoices this file "
                               "closes, or after choosing Partial and checking again.")
                if st.button("Import", type="primary", icon=":material/download_done:", key=f"import_go_{key}",
                             disabled=blocked):
                    apply_check(upload, checked, close_missing)

with tab_history:
    if flash := st.session_state.pop("import_undone", None):
        st.success(flash, icon=":material/undo:")
    with state.uow() as uow:
        history = import_service.import_history(uow)
        latest = import_service.latest_batch(uow)
    if not len(history):
        st.info("No imports yet.")
    else:
        history["mode"] = history["mode"].where(history["kind"] == "open-items", "")
        st.dataframe(history, hide_index=True, width="stretch", column_config={
            "batch": st.column_config.NumberColumn("Batch", format="%d", width="small"),
            "imported_at": st.column_config.DatetimeColumn("When (UTC)", format="DD-MM-YYYY HH:mm"),
            "imported_by": "Who", "file_name": st.column_config.TextColumn("File", width="large"),
            "file_hash": "File hash", "kind": st.column_config.TextColumn("Kind", width="small"), "mode": "Mode",
            "as_of": st.column_config.DateColumn("As of", format="DD-MM-YYYY"), "new": "New", "changed": "Changed",
            "closed": "Closed", "unchanged": "Unchanged", "skipped": "Skipped", "status": "Status"})
    if latest is not None:
        st.markdown(f"**Undo the latest import**: batch {latest.id}, {md(latest.file_name)} "
                    f"({latest.imported_at:%d-%m-%Y %H:%M}, {md(latest.imported_by)}). New invoices and debtors of "
                    "that batch are removed, and changed invoices get their amounts, dates and reminders back.")
        sure = st.checkbox(f"Yes, undo batch {latest.id}", key=f"import_undo_sure_{latest.id}")
        if st.button("Undo the latest import", disabled=not sure, icon=":material/undo:", key="import_undo"):
            try:
                with state.uow(immediate=True) as uow:
                    undone = import_service.undo_latest(uow, actor=user.username, batch_id=latest.id)
            except ServiceError as exc:
                st.error(md(exc), icon=":material/error:")
            else:
                state.data_changed()
                st.session_state["import_undone"] = f"Batch {undone.id} ({md(undone.file_name)}) was undone."
                st.rerun()

