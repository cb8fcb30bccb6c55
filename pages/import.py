from ui.auth import require

user = require("collector")

from datetime import date  # noqa: E402

import pandas as pd  # noqa: E402
import streamlit as st  # noqa: E402

from receivables.domain import formatting  # noqa: E402
from receivables.domain.phrasing import Said  # noqa: E402
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
from ui import i18n, state, uploader, worklists  # noqa: E402
from ui.i18n import N_, _, n_  # noqa: E402
from ui.text import md  # noqa: E402

NOT_IN_FILE = "— not in the file —"  # the choice's value; its label is worded in the run
CURRENCIES = ["EUR", "USD", "GBP", "CHF", "DKK", "SEK", "NOK", "PLN", "CZK"]
MODE_LABELS = {"full": N_("Full list: invoices missing from the file were paid on the snapshot date"),
               "partial": N_("Partial: only update the invoices in the file")}


def words(text) -> str:  # noqa: ANN001
    """A note or a step of the core, kept as English with its phrase, in the reader's language."""
    return i18n.said(text.phrase) if isinstance(text, Said) else str(text)


def number(value) -> str:  # noqa: ANN001
    return formatting.number(value, 0, i18n.current())


def problem_table(problems) -> pd.DataFrame:
    columns = [_("Row"), _("Column"), _("Value"), _("Problem")]
    return pd.DataFrame([dict(zip(columns, (p.line, p.column or "", p.value or "", i18n.said(p.phrase))))
                         for p in problems],
                        columns=columns)


def show_problems(problems) -> None:
    """A short list as a table whose text wraps; a long one as a scrollable frame."""
    if len(problems) <= 100:
        st.table(problem_table(problems), hide_index=True)
        return
    row, column, value, problem = _("Row"), _("Column"), _("Value"), _("Problem")
    st.dataframe(problem_table(problems), hide_index=True, width="stretch", column_config={
        row: st.column_config.NumberColumn(row, format="%d", width="small"),
        column: st.column_config.TextColumn(column, width="small"),
        value: st.column_config.TextColumn(value, width="small"),
        problem: st.column_config.TextColumn(problem, width="large")})


def summary(r) -> str:  # noqa: ANN001
    """The counts of an import or a check, in the reader's words and numbers."""
    return _("new {new}, changed {changed}, closed {closed}, unchanged {unchanged}, skipped {skipped}",
             new=number(r.new), changed=number(r.changed), closed=number(r.closed), unchanged=number(r.unchanged),
             skipped=number(r.skipped))


def previous_text(previous: import_service.PreviousImport, *, again: bool = False) -> str:
    """When this file was imported before, and what importing it again does."""
    said = _("This file was imported before, on {moment} by {who} (batch {batch}, '{file}')",
             moment=i18n.moment(previous.imported_at), who=md(previous.imported_by), batch=previous.batch_id,
             file=md(previous.file_name))
    if previous.is_latest and again:
        return _("{said}. Importing it again changes nothing.", said=said)
    if previous.is_latest:
        return _("{said}. Nothing was changed. To read it with other columns, dates or numbers, undo that import "
                 "first (History tab).", said=said)
    return _("{said}, but newer imports followed (the last on {moment}). Importing it again makes the ledger what "
             "this file says: check the counts, and undo if it was the wrong file.", said=said,
             moment=i18n.moment(previous.newer_since))


def totals(closing) -> str:  # noqa: ANN001
    return "; ".join(i18n.money(c, cur) for cur, c in sorted(closing.totals.items())) or _("nothing")


def closing_text(closing, *, done: bool = False) -> str:  # noqa: ANN001
    """What a full list closes as paid, and how much of the ledger that is."""
    if not closing.count:
        return _("This full import closes no open invoice.")
    if done:
        text = n_("This full import closed {n} open invoice as paid on {day}: {total}.",
                  "This full import closed {n} open invoices as paid on {day}: {total}.", closing.count,
                  day=i18n.day(closing.as_of), total=totals(closing))
    else:
        text = n_("This full import closes {n} open invoice as paid on {day}: {total}.",
                  "This full import closes {n} open invoices as paid on {day}: {total}.", closing.count,
                  day=i18n.day(closing.as_of), total=totals(closing))
    if closing.absent_count == closing.count:
        text += " " + n_("They belong to {n} debtor that is not in this file at all.",
                         "They belong to {n} debtors that are not in this file at all.", closing.absent_debtors)
    elif closing.absent_count:
        text += " " + n_("{count} of them belong to {n} debtor that is not in this file at all.",
                         "{count} of them belong to {n} debtors that are not in this file at all.",
                         closing.absent_debtors, count=number(closing.absent_count))
    if closing.count == closing.open_before:
        text += " " + _("That is every open invoice in the ledger.")
    elif 2 * closing.count > closing.open_before:
        text += " " + _("That is more than half of the {n} open invoices.", n=number(closing.open_before))
    return text


def show_result(result: import_service.ImportResult) -> None:
    if result.previous is not None and result.batch_id is None:
        st.info(previous_text(result.previous), icon=":material/content_copy:")
        return
    st.success(_("Imported **{file}** as batch {batch}: {summary}.", file=md(result.file_name),
                 batch=result.batch_id, summary=summary(result)), icon=":material/check_circle:")
    c = st.columns(5)
    for col, (label, value) in zip(c, [(_("New"), result.new), (_("Changed"), result.changed),
                                       (_("Closed"), result.closed), (_("Unchanged"), result.unchanged),
                                       (_("Skipped"), result.skipped)]):
        col.metric(label, number(value))
    details = []
    if result.skipped_detail.get("subtotal") or result.skipped_detail.get("blank"):
        details.append(_("{subtotal} subtotal or total rows and {blank} blank rows skipped",
                         subtotal=number(result.skipped_detail.get("subtotal", 0)),
                         blank=number(result.skipped_detail.get("blank", 0))))
    if result.created_debtors:
        details.append(n_("{n} new debtor created", "{n} new debtors created", result.created_debtors))
    if result.cancelled_messages:
        details.append(n_("{n} unsent reminder cancelled: nothing left to chase",
                          "{n} unsent reminders cancelled: nothing left to chase", len(result.cancelled_messages)))
    if details:
        st.caption("; ".join(details) + ".")
    if result.closing is not None and result.closing.count:
        st.info(closing_text(result.closing, done=True), icon=":material/playlist_remove:")
    for note in result.notes:
        st.warning(md(words(note)), icon=":material/warning:")
    if result.left_out_count:
        st.warning(n_("{n} problem in rows that were left out:", "{n} problems in rows that were left out:",
                      result.left_out_count), icon=":material/rule:")
        show_problems(result.left_out)
    if result.warning_count:
        with st.expander(n_("{n} warning: imported as it is", "{n} warnings: imported as they are",
                            result.warning_count)):
            show_problems(result.warnings)
    if result.kind in ("open-items", "ledger", "debtors"):
        worklists.debtors_without_address(expanded=True, can_act=True)


STORED_COLUMNS = {"line": N_("Row"), "invoice_number": N_("Invoice number"), "debtor_code": N_("Debtor code"),
                  "debtor_name": N_("Debtor name"), "invoice_date": N_("Invoice date"), "due_date": N_("Due date"),
                  "amount_cents": N_("Amount"), "open_cents": N_("Open amount"), "currency": N_("Currency"),
                  "code": N_("Debtor code"), "name": N_("Name"), "email": N_("E-mail"),
                  "contact_person": N_("Contact person"), "phone": N_("Phone"), "language": N_("Language"),
                  "is_consumer": N_("Consumer"), "payment_term_days": N_("Payment term (days)")}


def show_stored_rows(outcome: import_service.ImportResult) -> None:
    """The first rows as the import will store them: text, so that nothing is rounded or reformatted."""
    rows = outcome.stored_rows
    if rows is None or not len(rows):
        return
    shown = rows.copy()
    for c in ("amount_cents", "open_cents"):
        if c in shown:
            shown[c] = [formatting.amount(int(v), i18n.current()) for v in shown[c]]
    for c in ("invoice_date", "due_date"):
        if c in shown:
            shown[c] = [i18n.day(v) if v is not None else "" for v in shown[c]]
    st.markdown(_("**The first {n} rows exactly as they will be stored**", n=len(shown)))
    st.table(shown.rename(columns={c: _(label) for c, label in STORED_COLUMNS.items()}), hide_index=True)  # wraps to the page: every column shows


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
        st.error(md(i18n.error(exc)), icon=":material/error:")
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
        st.error(md(i18n.error(exc)), icon=":material/error:")
        st.stop()
    st.session_state["import_preview"] = (wanted, found)
    return found


STOPPED = {"check": N_("The check was stopped before it finished; nothing was imported."),
           "import": N_("The import was stopped before it finished; nothing was imported.")}


def with_progress(label: str, work: str, run):  # noqa: ANN001, ANN201
    """`run(progress)` in a status box with a progress bar and a Cancel button. A click on Cancel (or on
    anything else) or the end of the session stops the work at its next step, and its transaction is
    rolled back: nothing is half-imported. The next run of the page finds the mark left here and says so."""
    st.session_state["import_running"] = work
    with st.status(label, expanded=True) as box:
        bar = st.progress(0.0, text=_("Starting"))
        cancel = st.empty()
        cancel.button(_("Stop"), key=f"import_cancel_{work}", icon=":material/cancel:")
        try:
            done = run(lambda share, what: bar.progress(share, text=words(what)))
        except Exception:
            st.session_state.pop("import_running", None)
            cancel.empty()
            box.update(state="error", expanded=False)
            raise
        cancel.empty()
        box.update(label=_("{step}: done", step=label), state="complete", expanded=False)
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
        outcome = with_progress(_("Checking the file"), "check", run)
    except import_service.ImportRejected as exc:
        outcome = exc
    except ServiceError as exc:
        st.error(md(i18n.error(exc)), icon=":material/error:")
        st.stop()
    st.session_state["import_checked"] = {"wanted": wanted, "outcome": outcome}
    return outcome


def apply_check(upload: import_service.Upload, checked: import_service.Checked, close_missing: bool) -> None:
    def run(progress):  # noqa: ANN001, ANN202
        with state.uow(immediate=True) as uow:
            return import_service.apply(uow, upload, checked, actor=user.username, close_missing=close_missing,
                                        progress=progress)

    try:
        result = with_progress(_("Importing"), "import", run)
    except import_service.CheckOutdated as exc:
        st.session_state.pop("import_checked", None)  # checked again on the next run, from the kept parse
        st.session_state["import_flash"] = i18n.error(exc)
        st.rerun()
    except import_service.ClosingNeedsConfirmation as exc:
        st.error(_("{closing} Nothing was imported.", closing=closing_text(exc.closing)), icon=":material/error:")
        st.stop()
    except ServiceError as exc:
        st.error(md(i18n.error(exc)), icon=":material/error:")
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


st.title(_("Import"))
st.caption(_("Upload what your accounting package exports: the open items on a date, an invoice ledger with paid "
             "dates, or your debtor list. The whole file is checked first; nothing is written until you confirm, "
             "and then it goes in as one batch that you can undo."))
tab_upload, tab_history = st.tabs([_("Upload"), _("History")])
kind_labels = {k: _(KIND_LABELS[k]) for k in KINDS}
mode_labels = {k: _(label) for k, label in MODE_LABELS.items()}
style_labels = {k: _(label) for k, label in STYLE_LABELS.items()}
order_labels = {k: _(label) for k, label in ORDER_LABELS.items()}

with tab_upload:
    if done := st.session_state.pop("import_done", None):
        show_result(done)
    if stopped := st.session_state.pop("import_running", None):
        if stopped == "check":
            st.session_state.pop("import_check", None)
        st.warning(_(STOPPED[stopped]), icon=":material/cancel:")
    if flash := st.session_state.pop("import_flash", None):
        st.warning(md(flash), icon=":material/sync_problem:")
    picked = uploader.file_uploader(_("Export file: {types}", types=_(FILE_TYPES_LABEL)), type=list(FILE_TYPES),
                              accept_multiple_files=True, key="import_file")
    upload = kept_upload(picked) if picked else None  # several XML invoices are read as one upload
    if upload is None:
        st.info(_("Exports of Exact Online, Twinfield (CSV or XML), Yuki, e-Boekhouden, Moneybird and SnelStart and "
                  "UBL (Peppol) e-invoices are recognised. For any other package you choose the columns once; the "
                  "choice is remembered for the next file."), icon=":material/upload_file:")
    else:
        digest = upload.file_hash
        preview = kept_preview(upload, st.session_state.get(f"import_kind_{digest[:12]}"))
        key = f"{digest[:12]}_{preview.kind}"
        st.radio(_("What is in the file?"), KINDS, index=KINDS.index(preview.kind), format_func=kind_labels.get,
                 horizontal=True, key=f"import_kind_{digest[:12]}")
        about = [md(words(preview.dialect)), _("looks like an export from **{package}**",
                                               package=md(_(PROFILES[preview.profile].label))),
                 *(md(words(n)) for n in preview.notes)]
        st.caption(" · ".join(about))
        if preview.previous is not None and preview.previous.is_latest:
            st.info(previous_text(preview.previous, again=True), icon=":material/content_copy:")
        elif preview.previous is not None:
            st.warning(previous_text(preview.previous), icon=":material/history:")
        for note in preview.mapping_notes:
            st.warning(md(words(note)), icon=":material/person_search:")
        if preview.remembered:
            st.success(_("Columns as {who} confirmed them on {day}: check the file and import it.",
                         who=md(preview.remembered["saved_by"]), day=i18n.day(preview.remembered["saved_at"])),
                       icon=":material/bookmark:")

        samples = preview.samples

        def field_label(field: str) -> str:
            group = next((g for g in REQUIRED[preview.kind] if field in g), ())
            label = _(FIELDS[field].label)
            if len(group) == 1:
                return f"{label} *"
            if group:
                others = " / ".join(_(FIELDS[f].label).lower() for f in group if f != field)
                return _("{field} (* this or {others})", field=label, others=others)
            return label

        def column_label(header: str) -> str:
            if header == NOT_IN_FILE:
                return _("— not in the file —")
            shown = ", ".join(samples.get(header, [])) or _("empty")
            return f"{header}  —  {shown}"

        box = (st.expander(_("Columns, numbers and dates"), expanded=False)
               if preview.previous is not None and preview.previous.is_latest else st.container())
        with box, st.form(f"import_form_{key}"):
            st.subheader(_("Columns"))
            st.caption(_("For each field, the column of your file it comes from, with that column's first values. "
                         "Fields marked * are needed."))
            options = [NOT_IN_FILE, *preview.headers]
            column_labels = {h: column_label(h) for h in options}
            mapping = {}
            grid = st.columns(2)
            for n, field in enumerate(KIND_FIELDS[preview.kind]):
                current = preview.mapping.get(field)
                mapping[field] = grid[n % 2].selectbox(
                    field_label(field), options,
                    index=options.index(current) if current in options else 0, format_func=column_labels.get,
                    help=_(FIELDS[field].help) if FIELDS[field].help else None, key=f"import_map_{key}_{field}")
            st.subheader(_("Numbers and dates"))
            o1, o2, o3 = st.columns(3)
            decimal = o1.radio(_("Amounts are written as"), list(STYLE_LABELS), format_func=style_labels.get,
                               index=list(STYLE_LABELS).index(preview.options.decimal), key=f"import_dec_{key}")
            order_options = list(ORDER_LABELS)
            date_order = o2.radio(
                _("Day-month order"), order_options, format_func=order_labels.get,
                index=order_options.index(preview.options.date_order) if preview.options.date_order else None,
                help=_("Only asked when no date in the file has a day above 12, so 03-04 could be 3 April or "
                       "4 March."), key=f"import_order_{key}")
            currencies = list(dict.fromkeys([preview.options.currency or "EUR", *CURRENCIES]))
            currency = o3.selectbox(_("Currency of rows without a currency column"), currencies,
                                    key=f"import_cur_{key}")
            if preview.detected.date_formats:
                st.caption(_("Dates found: {formats}", formats=", ".join(
                    f"{md(c)} {md(f)}" for c, f in preview.detected.date_formats.items())))
            if preview.detected.date_order_ambiguous and not preview.options.date_order:
                st.warning(_("Every date in this file could be day-first or month-first. Choose the day-month "
                             "order above."), icon=":material/help:")
            mode, as_of = "partial", date.today()
            if preview.kind == "open-items":
                st.subheader(_("Snapshot"))
                s1, s2 = st.columns([3, 1])
                mode = s1.radio(_("This file is"), list(MODE_LABELS), format_func=mode_labels.get,
                                key=f"import_mode_{key}")
                as_of = s2.date_input(_("Open items as of"), value=date.today(), format="DD-MM-YYYY",
                                      min_value=state.earliest_date(date(2000, 1, 1)), key=f"import_asof_{key}")
            checked = st.form_submit_button(_("Check the file"), type="secondary", icon=":material/fact_check:")

        request = dict(kind=preview.kind, mode=mode, as_of=as_of,
                       mapping={f: (None if h == NOT_IN_FILE else h) for f, h in mapping.items()},
                       options=ImportOptions(decimal, date_order, currency), profile=preview.profile)
        if checked:
            st.session_state["import_check"] = {"key": key, "request": request}
        check = st.session_state.get("import_check")
        if check and check["key"] == key:
            request = check["request"]
            valid_only = st.session_state.get(f"import_valid_only_{key}", False)
            st.subheader(_("Check"))
            checked = checked_upload(upload, key, request, valid_only)
            rejected = checked if isinstance(checked, import_service.ImportRejected) else None
            outcome = None if rejected is not None else checked.result
            if rejected is not None:
                st.error(n_("{n} problem found; nothing will be imported until it is fixed.",
                            "{n} problems found; nothing will be imported until they are fixed.",
                            rejected.problem_count), icon=":material/error:")
                show_problems(rejected.problems)
                if rejected.problem_count > len(rejected.problems):
                    st.caption(_("… and {n} more.", n=number(rejected.problem_count - len(rejected.problems))))
                if not rejected.parsed.file_errors and len(rejected.parsed.valid_rows()):
                    left_out = len(rejected.parsed.frame) - len(rejected.parsed.valid_rows())
                    st.checkbox(n_("Import the valid rows only ({n} row with problems is left out and listed)",
                                   "Import the valid rows only ({n} rows with problems are left out and listed)",
                                   left_out), key=f"import_valid_only_{key}")
            elif outcome.previous is not None and outcome.previous.is_latest:
                st.info(previous_text(outcome.previous), icon=":material/content_copy:")
            else:
                creates = (" " + n_("It creates {n} new debtor.", "It creates {n} new debtors.", outcome.created_debtors)
                           if outcome.created_debtors else "")
                closing = outcome.closing
                to_read = len(outcome.notices) + bool(closing and closing.count)
                if to_read:
                    st.success(n_("No errors. Importing will give: {summary}.{creates} Read the point below first.",
                                  "No errors. Importing will give: {summary}.{creates} Read the {n} points below "
                                  "first.", to_read, summary=summary(outcome), creates=creates),
                               icon=":material/task_alt:")
                else:
                    st.success(_("No problems. Importing will give: {summary}.{creates}", summary=summary(outcome),
                                 creates=creates), icon=":material/task_alt:")
                if outcome.left_out_count:
                    st.warning(n_("{n} problem in rows that will be left out:",
                                  "{n} problems in rows that will be left out:", outcome.left_out_count),
                               icon=":material/rule:")
                    show_problems(outcome.left_out)
                    # stays on screen, so the choice stays made (and can be taken back)
                    st.checkbox(n_("Import the valid rows only ({n} row with problems is left out and listed)",
                                   "Import the valid rows only ({n} rows with problems are left out and listed)",
                                   outcome.skipped_detail.get("left out", 0)), key=f"import_valid_only_{key}")
                close_missing = False
                if closing is not None and not closing.count and closing.open_before:
                    st.caption(closing_text(closing))
                if closing is not None and closing.count:
                    st.warning(closing_text(closing), icon=":material/playlist_remove:")
                    if closing.needs_confirmation:
                        close_missing = st.checkbox(
                            n_("Yes, close this open invoice ({total}) as paid: this file is the complete list of "
                               "open items", "Yes, close these {n} open invoices ({total}) as paid: this file is the "
                               "complete list of open items", closing.count, total=totals(closing)),
                            key=f"import_close_missing_{key}",
                            help=_("If the file does not hold every open invoice, choose Partial above and check "
                                   "again."))
                for note in outcome.notes:
                    st.warning(md(words(note)), icon=":material/warning:")
                for n in outcome.notices:
                    st.warning(md(i18n.said(n.phrase)), icon=":material/visibility:")
                if outcome.suggested_as_of and outcome.suggested_as_of != request["as_of"]:
                    st.button(_("Use {day} as the snapshot date and check again", day=i18n.day(outcome.suggested_as_of)),
                              on_click=use_snapshot_date, args=(key, outcome.suggested_as_of),
                              icon=":material/event:", key=f"import_use_asof_{key}")
                show_stored_rows(outcome)
                if outcome.facts:
                    st.markdown(_("**What each column holds**"))
                    st.dataframe(pd.DataFrame([{_("Field"): _(f.label), _("Column"): f.column,
                                                _("Distinct values"): number(f.distinct), _("Empty"): number(f.empty),
                                                _("Range or sum"): i18n.said(f.said)} for f in outcome.facts]),
                                 hide_index=True, width="stretch")
                if outcome.warning_count:
                    with st.expander(n_("{n} warning: imported as it is", "{n} warnings: imported as they are",
                                        outcome.warning_count)):
                        show_problems(outcome.warnings)
                blocked = bool(closing and closing.needs_confirmation and not close_missing)
                if blocked:
                    st.caption(_("You can import once you tick the box above that names the invoices this file "
                                 "closes, or after choosing Partial and checking again."))
                if st.button(_("Import"), type="primary", icon=":material/download_done:", key=f"import_go_{key}",
                             disabled=blocked):
                    apply_check(upload, checked, close_missing)

with tab_history:
    if flash := st.session_state.pop("import_undone", None):
        st.success(flash, icon=":material/undo:")
    with state.uow() as uow:
        history = import_service.import_history(uow)
        latest = import_service.latest_batch(uow)
    if not len(history):
        st.info(_("No imports yet."))
    else:
        history["mode"] = history["mode"].where(history["kind"] == "open-items", "")
        st.dataframe(history, hide_index=True, width="stretch", column_config={
            "batch": st.column_config.NumberColumn(_("Batch"), format="%d", width="small"),
            "imported_at": st.column_config.DatetimeColumn(_("When (UTC)"), format="DD-MM-YYYY HH:mm"),
            "imported_by": _("Who"), "file_name": st.column_config.TextColumn(_("File"), width="large"),
            "file_hash": _("File hash"), "kind": st.column_config.TextColumn(_("Kind"), width="small"),
            "mode": _("Mode"), "as_of": st.column_config.DateColumn(_("As of"), format="DD-MM-YYYY"),
            "new": _("New"), "changed": _("Changed"), "closed": _("Closed"), "unchanged": _("Unchanged"),
            "skipped": _("Skipped"), "status": _("Status")})
    if latest is not None:
        st.markdown(_("**Undo the latest import**: batch {batch}, {file} ({moment}, {who}). The new invoices and "
                      "debtors of that batch are removed, and changed invoices get their amounts, dates and "
                      "reminders back.", batch=latest.id, file=md(latest.file_name),
                      moment=i18n.moment(latest.imported_at), who=md(latest.imported_by)))
        sure = st.checkbox(_("Yes, undo batch {batch}", batch=latest.id), key=f"import_undo_sure_{latest.id}")
        if st.button(_("Undo the latest import"), disabled=not sure, icon=":material/undo:", key="import_undo"):
            try:
                with state.uow(immediate=True) as uow:
                    undone = import_service.undo_latest(uow, actor=user.username, batch_id=latest.id)
            except ServiceError as exc:
                st.error(md(i18n.error(exc)), icon=":material/error:")
            else:
                state.data_changed()
                st.session_state["import_undone"] = _("Batch {batch} ({file}) was undone.", batch=undone.id,
                                                      file=md(undone.file_name))
                st.rerun()

