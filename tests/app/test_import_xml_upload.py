"""The upload box takes exactly the file types the importer reads, says which, and several UBL invoices
dropped together are checked and imported as one upload."""

from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from db.models import Invoice
from db.uow import UnitOfWork
from receivables.importing import FILE_TYPES, FILE_TYPES_LABEL
from tests.app.login import log_in
from tests.conftest import ROOT

PAGE = str(ROOT / "pages" / "import.py")


def page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    log_in(at, "carla", "collector")
    return at.run()


def test_the_upload_box_accepts_and_names_exactly_what_the_importer_reads(engine):
    box = page().file_uploader[0]
    assert [t.lstrip(".") for t in box.allowed_type] == list(FILE_TYPES)
    assert box.label == f"Export file: {FILE_TYPES_LABEL}"
    assert box.accept_multiple_files


def test_several_ubl_invoices_are_checked_and_imported_as_one_upload(engine, shared_data):
    at = page()
    files = sorted((shared_data / "ubl").glob("*.xml"))
    at.file_uploader[0].set_value([(f.name, f.read_bytes(), "text/xml") for f in files])
    at.run()
    assert not at.exception and not at.error
    assert "UBL XML, 4 invoice\\(s\\)" in " ".join(c.value for c in at.caption)
    mode = next(r for r in at.radio if r.key.startswith("import_mode_"))
    mode.set_value("partial")
    at.button[0].click()  # Check the file
    at.run()
    # no errors; the check does say that these 2014-2017 invoices are far from today's snapshot date
    assert any("No errors. Importing will give: new 4" in s.value for s in at.success), [e.value for e in at.error]
    assert any("more than a year before the snapshot date" in w.value for w in at.warning)
    next(b for b in at.button if b.key and b.key.startswith("import_go_")).click()
    at.run()
    assert not at.exception
    with UnitOfWork(engine) as u:
        numbers = u.session.scalars(select(Invoice.number).where(Invoice.is_demo.is_(False))
                                    .order_by(Invoice.number)).all()
        assert numbers == ["1100512149", "12115118", "20150483", "Snippet1"]
