"""The Import page as a collector uses it: upload, the detected columns with their values, the check
with every problem listed, the import, and undo from the history."""

import re
from datetime import date

import pytest
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from db.models import ImportBatch, Invoice
from db.uow import UnitOfWork
from tests.app.login import log_in
from tests.conftest import ROOT

PAGE = str(ROOT / "pages" / "import.py")
HEADER = "Relatiecode;Relatie;Factuurnummer;Factuurdatum;Vervaldatum;Bedrag;Openstaand;Soort"
GOOD = ("\r\n".join([HEADER, "0042;Bakker B.V.;000123;01-05-2026;31-05-2026;1.234,56;1.234,56;Factuur",
                     "0043;De Vries;000124;02-05-2026;01-06-2026;50,00;25,00;Factuur",
                     ";Totaal;;;;1.284,56;1.259,56;"]) + "\r\n").encode()
BAD = ("\r\n".join([HEADER, "0042;Bakker B.V.;000123;01-05-2026;31-02-2026;1.234,56;1.234,56;Factuur",
                    "0043;De Vries;000124;02-05-2026;01-06-2026;50,00;25,00;Factuur"]) + "\r\n").encode()


def page(role: str = "collector", language: str = "en") -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    log_in(at, "carla", role, language=language)
    return at.run()


def upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.file_uploader[0].set_value((name, data, "text/csv"))
    return at.run()


def texts(elements) -> list[str]:
    return [e.value for e in elements]


def invoices(engine) -> int:
    """Imported invoices: the app loads its demo ledger on first start, which imports leave alone."""
    with UnitOfWork(engine) as u:
        return u.session.scalar(select(func.count()).select_from(Invoice).where(Invoice.is_demo.is_(False)))


def test_a_viewer_cannot_open_the_import_page(engine):
    at = page("viewer")
    assert not at.exception
    assert any("needs the collector role" in e for e in texts(at.error))
    assert not at.file_uploader


def test_an_upload_shows_the_detected_columns_with_their_values_then_checks_and_imports(engine):
    at = upload(page(), "openstaande-posten.csv", GOOD)
    assert not at.exception
    assert "e\\-Boekhouden" in " ".join(texts(at.caption))
    number = at.selectbox(key=next(k for k in (s.key for s in at.selectbox) if k.endswith("_invoice_number")))
    assert number.value == "Factuurnummer"
    assert number.format_func(number.value) == "Factuurnummer  —  000123, 000124"
    at.button[0].click()  # Check the file (the form's submit button)
    at.run()
    assert not at.exception
    assert any("No problems. Importing will give: new 2, changed 0, closed 0, unchanged 0, skipped 1" in s
               for s in texts(at.success))
    assert invoices(engine) == 0  # checking writes nothing
    at.button(key=next(b.key for b in at.button if b.key and b.key.startswith("import_go_"))).click()
    at.run()
    assert not at.exception
    assert any(re.search(r"as batch \d+: new 2, changed 0, closed 0, unchanged 0, skipped 1", s)
               for s in texts(at.success))
    assert [m.value for m in at.metric] == ["2", "0", "0", "0", "1"]
    assert invoices(engine) == 2


def test_a_dutch_collector_checks_the_file_in_dutch_words_and_dutch_numbers(engine):
    many = ("\r\n".join([HEADER, *(f"{i:04d};Klant {i};F-{i:05d};01-05-2026;31-05-2026;1.234,56;1.234,56;Factuur"
                                   for i in range(1200))]) + "\r\n").encode()
    at = upload(page(language="nl"), "openstaande-posten.csv", many)
    assert not at.exception
    assert [s.value for s in at.subheader][:2] == ["Kolommen", "Getallen en datums"]
    assert at.button[0].label == "Bestand controleren"
    at.button[0].click()
    at.run()
    assert not at.exception
    assert any("Geen problemen. Importeren geeft: nieuw 1.200, gewijzigd 0, afgesloten 0" in s
               for s in texts(at.success)), texts(at.success)
    rows = next(t.value for t in at.table if "Factuurnummer" in t.value.columns)
    assert rows[["Vervaldatum", "Openstaand bedrag"]].iloc[0].tolist() == ["31-05-2026", "1.234,56"]
    assert at.button(key=next(b.key for b in at.button if b.key and b.key.startswith("import_go_"))).label == \
        "Importeren"


def test_every_problem_is_listed_and_the_valid_rows_only_is_an_explicit_choice(engine):
    at = upload(page(), "bad.csv", BAD)
    at.button[0].click()
    at.run()
    assert not at.exception
    assert texts(at.error) == ["1 problem found; nothing will be imported until it is fixed."]
    problems = at.table[0].value
    assert problems.to_dict("records") == [{"Row": 2, "Column": "Vervaldatum", "Value": "31-02-2026",
                                            "Problem": "is not a date (expected dd-mm-yyyy)"}]
    assert not [b for b in at.button if b.key and b.key.startswith("import_go_")]
    at.checkbox(key=next(c.key for c in at.checkbox if c.key.startswith("import_valid_only_"))).check()
    at.run()
    assert any("new 1, changed 0, closed 0, unchanged 0, skipped 1" in s for s in texts(at.success))
    at.button(key=next(b.key for b in at.button if b.key and b.key.startswith("import_go_"))).click()
    at.run()
    assert not at.exception and invoices(engine) == 1
    assert any("rows that were left out" in w for w in texts(at.warning))


def test_a_second_upload_of_the_same_file_says_when_it_was_imported(engine):
    at = upload(page(), "open.csv", GOOD)
    at.button[0].click()
    at.run()
    at.button(key=next(b.key for b in at.button if b.key and b.key.startswith("import_go_"))).click()
    at.run()
    again = upload(page(), "open-again.csv", GOOD)
    assert not again.exception
    assert any("This file was imported before" in i and "by carla" in i for i in texts(again.info))
    assert any("Columns as carla confirmed them on" in s for s in texts(again.success))


def test_an_unreadable_file_gets_a_message_not_a_traceback(engine):
    at = upload(page(), "export.csv", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")  # a PDF saved under a .csv name
    assert not at.exception
    assert any("this is a PDF" in e for e in texts(at.error))


def test_the_history_lists_batches_and_undoes_the_latest(engine):
    at = upload(page(), "open.csv", GOOD)
    at.button[0].click()
    at.run()
    at.button(key=next(b.key for b in at.button if b.key and b.key.startswith("import_go_"))).click()
    at.run()
    history = page()
    table = history.dataframe[0].value
    imported = table[table["kind"] != "demo"]
    assert imported[["imported_by", "file_name", "new", "status"]].to_dict("records") == [
        {"imported_by": "carla", "file_name": "open.csv", "new": 2, "status": "applied"}]
    batch = int(imported["batch"].iloc[0])
    history.checkbox(key=f"import_undo_sure_{batch}").check()
    history.run()
    history.button(key="import_undo").click()
    history.run()
    assert not history.exception
    assert f"Batch {batch} (open\\.csv) was undone." in texts(history.success)
    assert invoices(engine) == 0
    with UnitOfWork(engine) as u:
        assert u.session.scalar(select(ImportBatch.status).where(ImportBatch.kind != "demo")) == "undone"


@pytest.mark.parametrize("name, kind, summary", [
    ("WA_Fn-UseC_-Accounts-Receivable.csv", "ledger", "new 2,466, changed 0, closed 0, unchanged 0, skipped 0"),
    ("highradius_open_invoices_nulldata.csv", "open-items", "new 9,681, changed 0, closed 0, unchanged 0, skipped 0"),
], ids=["ibm-ledger", "highradius-open-items"])
def test_the_real_sample_exports_go_through_the_page(engine, shared_data, name, kind, summary):
    at = upload(page(), name, (shared_data / "ar" / name).read_bytes())
    assert not at.exception
    assert next(r for r in at.radio if r.key and r.key.startswith("import_kind_")).value == kind
    at.button[0].click()
    at.run()
    assert not at.exception and not at.error
    at.button(key=next(b.key for b in at.button if b.key and b.key.startswith("import_go_"))).click()
    at.run()
    assert not at.exception
    assert any(summary in s for s in texts(at.success)), texts(at.success) + texts(at.error)
    assert invoices(engine) == int(summary.split(", changed")[0].split()[1].replace(",", ""))


def test_a_debtor_list_is_recognised_and_imported_without_a_snapshot_date(engine):
    data = (b"Relatiecode;Naam;E-mail;Taal\r\n0042;Bakker B.V.;debiteuren@bakker.nl;Nederlands\r\n"
            b"0043;Smith Ltd;ap@smith.co.uk;English\r\n")
    at = upload(page(), "debiteuren.csv", data)
    assert not at.exception
    assert next(r for r in at.radio if r.key and r.key.startswith("import_kind_")).value == "debtors"
    assert not at.date_input  # a debtor list has no snapshot date
    at.button[0].click()
    at.run()
    at.button(key=next(b.key for b in at.button if b.key and b.key.startswith("import_go_"))).click()
    at.run()
    assert not at.exception
    assert any("new 2, changed 0, closed 0, unchanged 0, skipped 0" in s for s in texts(at.success))


def go_button(at: AppTest):
    return at.button(key=next(b.key for b in at.button if b.key and b.key.startswith("import_go_")))


def test_the_check_of_the_sap_file_shows_its_rows_as_stored_and_says_what_to_look_at(engine, shared_data):
    name = "bdo_demo_sap_offene_posten_sample_data_hard.csv"
    at = upload(page(), name, (shared_data / "nl_exports" / name).read_bytes())
    assert not at.exception
    assert any("Zuordnung was not taken as the debtor code" in w for w in texts(at.warning))
    code = at.selectbox(key=next(k for k in (s.key for s in at.selectbox) if k.endswith("_debtor_code")))
    assert code.value == "— not in the file —"
    code.set_value("Zuordnung")
    at.date_input(key=next(d.key for d in at.date_input if d.key.startswith("import_asof_"))).set_value(
        date(2023, 4, 30))
    at.button[0].click()
    at.run()
    assert not at.exception and not at.error
    assert not any(s.startswith("No problems") for s in texts(at.success))
    rows = next(t.value for t in at.table if "Invoice number" in t.value.columns)
    assert rows["Invoice number"].tolist() == ["1200401780", "1200401781", "1200401193", "1200401306", "1200401307"]
    assert rows[["Debtor code", "Due date", "Open amount"]].iloc[0].tolist() == ["6090466822", "30 May 2023",
                                                                                 "51,671.15"]
    said = " ".join(texts(at.warning))
    assert "in every row" in said and "document numbers" in said and "payment term" in said
    assert "rows 2, 3, 4, 5, 6" in said
    facts = next(d.value for d in at.dataframe if "Distinct values" in d.value.columns)
    assert "Belegnummer" in facts["Column"].tolist()


def test_a_full_import_that_closes_another_files_invoices_needs_the_box_that_names_them(engine):
    first = ("\r\n".join([HEADER, *(f"004{i};Klant {i};A-{i};01-05-2026;31-05-2026;100,00;100,00;Factuur"
                                    for i in range(4))]) + "\r\n").encode()
    other = ("\r\n".join([HEADER, *(f"009{i};Ander {i};B-{i};01-06-2026;01-07-2026;10,00;10,00;Factuur"
                                    for i in range(5))]) + "\r\n").encode()
    at = upload(page(), "first.csv", first)
    at.button[0].click()
    at.run()
    go_button(at).click()
    at.run()
    assert invoices(engine) == 4
    at = upload(page(), "other.csv", other)
    at.button[0].click()
    at.run()
    assert not at.exception
    assert any("closes 4 open invoices as paid" in w and "€400.00" in w for w in texts(at.warning))
    assert go_button(at).disabled
    box = next(c for c in at.checkbox if c.key and c.key.startswith("import_close_missing_"))
    assert box.label == "Yes, close these 4 open invoices (€400.00) as paid: this file is the complete list of open items"
    box.check()
    at.run()
    assert not go_button(at).disabled
    go_button(at).click()
    at.run()
    assert not at.exception
    assert any("new 5, changed 0, closed 4" in s for s in texts(at.success))
    assert any("This full import closed 4 open invoices as paid" in i for i in texts(at.info))


def test_the_import_result_lists_the_debtors_whose_reminders_wait_for_an_address(engine):
    at = upload(page(), "openstaande-posten.csv", GOOD)  # open items without a debtor list: no addresses
    at.button[0].click()
    at.run()
    at.button(key=next(b.key for b in at.button if b.key and b.key.startswith("import_go_"))).click()
    at.run()
    assert not at.exception
    [worklist] = [e for e in at.expander if e.label.startswith("Debtors without a reminder address")]
    shown = worklist.dataframe[0].value
    assert {"0042 · Bakker B.V.", "0043 · De Vries"} <= set(shown["Debtor"])
    assert shown.loc[shown["Debtor"] == "0043 · De Vries", "Open"].item() == 25.0


class Count:
    """Wraps a function and counts its calls."""

    def __init__(self, fn):
        self.fn, self.calls = fn, 0

    def __call__(self, *args, **kw):
        self.calls += 1
        return self.fn(*args, **kw)


def test_an_upload_is_read_and_parsed_once_from_the_upload_through_reruns_to_the_import(engine, monkeypatch):
    from receivables import importing

    reads, prepares = Count(importing.read_table), Count(importing.prepare)
    pieces = Count(importing.Prepared.parse)
    monkeypatch.setattr(importing, "read_table", reads)
    monkeypatch.setattr(importing, "prepare", prepares)
    monkeypatch.setattr(importing.Prepared, "parse", lambda self, *a: pieces(self, *a))
    at = upload(page(), "openstaande-posten.csv", GOOD)
    at.button[0].click()  # Check the file
    at.run()
    assert any("Importing will give: new 2" in s for s in texts(at.success))
    at.run()  # any rerun: a widget touched, the page revisited
    assert any("Importing will give: new 2" in s for s in texts(at.success))
    go_button(at).click()
    at.run()
    assert not at.exception
    assert any(re.search(r"as batch \d+: new 2, changed 0", s) for s in texts(at.success))
    assert invoices(engine) == 2
    assert (reads.calls, prepares.calls, pieces.calls) == (1, 1, 1)


def test_the_check_and_the_import_show_their_progress_and_offer_to_cancel(engine, monkeypatch):
    at = upload(page(), "openstaande-posten.csv", GOOD)
    at.button[0].click()
    at.run()
    assert not at.exception
    [status] = [s for s in at.status if s.label.startswith("Checking the file")]
    assert status.label == "Checking the file: done" and status.state == "complete"
    go_button(at).click()
    at.run()
    assert not at.exception and invoices(engine) == 2


def test_a_check_outdated_by_another_import_is_checked_again_before_anything_is_imported(engine):
    at = upload(page(), "openstaande-posten.csv", GOOD)
    at.button[0].click()
    at.run()
    other = ("\r\n".join([HEADER, "0050;Jansen;000900;01-05-2026;31-05-2026;10,00;10,00;Factuur"]) + "\r\n").encode()
    elsewhere = upload(page(), "elsewhere.csv", other)  # another user imports meanwhile
    elsewhere.button[0].click()
    elsewhere.run()
    go_button(elsewhere).click()
    elsewhere.run()
    assert invoices(engine) == 1
    go_button(at).click()
    at.run()
    assert not at.exception
    assert any("the ledger changed since the file was checked" in w for w in texts(at.warning))
    assert invoices(engine) == 1  # nothing of this file yet: it was checked again, to be read first
    # what the user now reads differs from the first check: this full list closes the other file's invoice
    assert any("Importing will give: new 2, changed 0, closed 1" in s for s in texts(at.success))
    assert go_button(at).disabled
    next(c for c in at.checkbox if c.key and c.key.startswith("import_close_missing_")).check()
    at.run()
    go_button(at).click()
    at.run()
    assert not at.exception
    assert any(re.search(r"as batch \d+: new 2, changed 0, closed 1", s) for s in texts(at.success))
    assert invoices(engine) == 3


def test_an_import_stopped_midway_says_so_and_leaves_nothing_imported(engine, monkeypatch):
    from streamlit.runtime.scriptrunner_utils.exceptions import StopException

    from receivables.services import imports

    real = imports.apply

    def stopped_after_the_first_piece(uow, upload, checked, *, progress, **kw):  # a click on Cancel, as Streamlit
        def then_stop(share, what):                                             # delivers it: at the next step
            progress(share, what)
            if share > 0:
                raise StopException()
        return real(uow, upload, checked, progress=then_stop, **kw)

    at = upload(page(), "openstaande-posten.csv", GOOD)
    at.button[0].click()
    at.run()
    monkeypatch.setattr(imports, "apply", stopped_after_the_first_piece)
    go_button(at).click()
    at.run()
    assert invoices(engine) == 0
    monkeypatch.setattr(imports, "apply", real)
    at.run()
    assert not at.exception
    assert "The import was stopped before it finished; nothing was imported." in texts(at.warning)
    assert any("Importing will give: new 2" in s for s in texts(at.success))  # the check is still there
    go_button(at).click()
    at.run()
    assert invoices(engine) == 2
