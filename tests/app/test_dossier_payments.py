"""The dossier shows each payment the bank brought and how it was matched, in the section of payments and
on the timeline."""

from streamlit.testing.v1 import AppTest

from db.uow import UnitOfWork
from receivables.services import bank
from tests.app.login import log_in
from tests.app.test_bank_page import seed
from tests.conftest import ROOT
from tests.integration.test_bank_service import statement, tx

PAGE = str(ROOT / "pages" / "dossier.py")


def dossier(code: str, language: str = "en") -> AppTest:
    from ui import state

    state.engine.clear()  # this test's database
    at = AppTest.from_file(PAGE, default_timeout=60)
    log_in(at, "carla", "collector", language=language)
    at.query_params["debtor"] = code
    return at.run()


def imported(engine) -> None:
    seed(engine)
    with UnitOfWork(engine) as u:
        bank.import_statement(u, statement(tx("605.00", name="ACME TRADING", text="factuur F2026-0102", entry_ref="1"),
                                           tx("300.00", text="F2026-0101", entry_ref="2")),
                              "statement.xml", actor="carla")


def test_the_dossier_lists_each_bank_payment_with_how_it_was_matched(sqlite_engine):
    imported(sqlite_engine)
    at = dossier("ACME")
    assert not at.exception
    assert "Payments from the bank" in [h.value for h in at.subheader]
    [table] = [t.value for t in at.dataframe if "Matched on" in t.value.columns]
    rows = table.to_dict("records")
    assert [(r["Amount"], r["Matched on"], r["Status"]) for r in rows] == [
        ("€605.00", "invoice number in the text", "booked"),
        ("€300.00", "invoice number in the text", "suggestion to confirm")]
    assert rows[0]["Pays"] == "F2026-0102 (€605.00)" and "named in the text" in rows[0]["Why"]
    timeline = " ".join(m.value for m in at.markdown)
    assert "Payment received" in timeline and "bank statement" in timeline
    assert "matched on the invoice number" in timeline


def test_the_section_reads_in_dutch(sqlite_engine):
    imported(sqlite_engine)
    at = dossier("ACME", "nl")
    assert not at.exception
    assert "Betalingen van de bank" in [h.value for h in at.subheader]
    [table] = [t.value for t in at.dataframe if "Herkend aan" in t.value.columns]
    assert table["Status"].tolist() == ["geboekt", "voorstel om te bevestigen"]


def test_a_debtor_without_bank_payments_shows_no_section(sqlite_engine):
    seed(sqlite_engine)
    at = dossier("ACME")
    assert not at.exception
    assert "Payments from the bank" not in [h.value for h in at.subheader]
