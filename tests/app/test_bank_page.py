"""The Bank page as a collector uses it: upload a statement (adding the company's account when asked),
see the figures, confirm and reject suggestions, answer "who paid this?", undo the latest batch."""

from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from db.models import BankLine, Invoice
from db.uow import UnitOfWork
from receivables.services import bank
from tests.app.login import log_in
from tests.conftest import ROOT
from tests.integration.test_bank_service import OURS, debtor, invoice, statement, tx

PAGE = str(ROOT / "pages" / "bank.py")
STATEMENT = statement(tx("605.00", text="F2026-0102", entry_ref="1"),
                      tx("300.00", text="F2026-0101", entry_ref="2"),
                      tx("12.34", name="Onbekend", entry_ref="3"))


def seed(engine, account: bool = True) -> None:
    with UnitOfWork(engine) as u:
        acme = debtor(u.session, "ACME", "Acme Trading B.V.")
        invoice(u.session, acme, "F2026-0101", 121_000)
        invoice(u.session, acme, "F2026-0102", 60_500)
        u.commit()
    if account:
        with UnitOfWork(engine) as u:
            bank.add_account(u, OURS, actor="test")


def page(role: str = "collector", language: str = "en") -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    log_in(at, "carla", role, language=language)
    return at.run()


def upload(at: AppTest, data: bytes = STATEMENT) -> AppTest:
    at.file_uploader[0].set_value(("statement.xml", data, "application/xml"))
    at.run()
    at.button(key="bank_import").click()
    return at.run()


def texts(elements) -> list[str]:
    return [e.value for e in elements]


def open_of(engine, number: str) -> int:
    with UnitOfWork(engine) as u:
        return u.session.scalar(select(Invoice.open_cents).where(Invoice.number == number))


def test_a_viewer_cannot_open_the_bank_page(sqlite_engine):
    at = page("viewer")
    assert not at.exception
    assert any("needs the collector role" in e for e in texts(at.error))
    assert not at.file_uploader


def test_an_upload_for_an_unknown_account_offers_to_add_it_then_imports(sqlite_engine):
    seed(sqlite_engine, account=False)
    at = upload(page())
    assert not at.exception
    assert any("not one of the company's accounts" in e for e in texts(at.error))
    at.button(key="bank_offer_add").click()
    at.run()
    assert any(f"{OURS} added" in s for s in texts(at.success))
    at = upload(at)
    assert not at.exception
    assert [m.value for m in at.metric] == ["3", "1", "1", "1", "0"]
    assert open_of(sqlite_engine, "F2026-0102") == 0


def test_suggestions_are_confirmed_and_rejected_and_the_worklist_assigned(sqlite_engine):
    seed(sqlite_engine)
    at = upload(page())
    with UnitOfWork(sqlite_engine) as u:
        suggestion = bank.suggestions(u)[0]
        unmatched = bank.worklist(u)[0]
    assert any("part payment" in c for c in texts(at.caption))
    at.button(key=f"confirm_{suggestion['id']}").click()
    at.run()
    assert not at.exception
    assert "Suggestion confirmed." in texts(at.success)
    assert open_of(sqlite_engine, "F2026-0101") == 91_000

    at.multiselect(key=f"assign_{unmatched['id']}_invoices").set_value(
        [suggestion["allocations"][0]["invoice_id"]])
    at.run()
    at.button(key=f"assign_{unmatched['id']}_assign").click()
    at.run()
    assert not at.exception
    assert open_of(sqlite_engine, "F2026-0101") == 91_000 - 1_234
    with UnitOfWork(sqlite_engine) as u:
        assert u.session.get(BankLine, unmatched["id"]).status == "matched"


def test_a_rejected_suggestion_goes_to_the_worklist_and_undo_takes_the_batch_back(sqlite_engine):
    seed(sqlite_engine)
    at = upload(page())
    with UnitOfWork(sqlite_engine) as u:
        suggestion = bank.suggestions(u)[0]
    at.button(key=f"reject_{suggestion['id']}").click()
    at.run()
    assert not at.exception
    with UnitOfWork(sqlite_engine) as u:
        assert {w["id"] for w in bank.worklist(u)} >= {suggestion["id"]}
    at.button(key="bank_undo").click()
    at.run()
    assert not at.exception
    assert any("undone" in s for s in texts(at.success))
    assert open_of(sqlite_engine, "F2026-0102") == 60_500


def test_a_bad_file_is_an_error_that_says_what_to_do(sqlite_engine):
    seed(sqlite_engine)
    at = upload(page(), b"%PDF-1.4 a statement")
    assert not at.exception
    assert any("PDF" in e and "camt.053" in e for e in texts(at.error))


def test_a_bad_file_is_refused_in_dutch_for_a_dutch_collector(sqlite_engine):
    seed(sqlite_engine)
    at = upload(page(language="nl"), b"%PDF-1.4 a statement")
    assert not at.exception
    assert texts(at.error) == ["statement.xml: Dit is een pdf-afschrift, dat niet te lezen is; download de transacties "
                               "in plaats daarvan als camt.053, MT940 of CSV."]


def test_the_page_speaks_dutch(sqlite_engine):
    seed(sqlite_engine)
    at = upload(page(language="nl"))
    assert not at.exception
    assert at.title[0].value == "Bank"
    assert any("ingelezen als batch" in s for s in texts(at.success))
    with UnitOfWork(sqlite_engine) as u:
        suggestion = bank.suggestions(u)[0]
    at.button(key=f"confirm_{suggestion['id']}").click()
    at.run()
    assert "Voorstel bevestigd." in texts(at.success)


def test_an_admin_sets_the_thresholds_and_the_reference_a_collector_does_not_see_them(sqlite_engine):
    seed(sqlite_engine)
    assert not page().number_input
    at = page("admin")
    at.number_input(key="bank_auto").set_value(0.95)
    at.selectbox(key="bank_reference_kind").set_value("betalingskenmerk")
    at.button[-1].click()
    at.run()
    assert not at.exception
    assert "Matching rules saved." in texts(at.success)
    with UnitOfWork(sqlite_engine) as u:
        assert bank.match_rules(u.session).auto_threshold == 0.95
        assert bank.reference_kind(u.session) == "betalingskenmerk"


def test_why_a_payment_is_suggested_reads_in_dutch_with_dutch_amounts(sqlite_engine):
    seed(sqlite_engine)
    at = upload(page(language="nl"))
    assert not at.exception
    why = [c.replace("\\", "") for c in texts(at.caption) if c.startswith("Waarom")]
    assert any("factuur F2026-0101 staat in de omschrijving" in c and "deelbetaling, € 910,00 blijft open" in c
               for c in why), why
    assert not any("part payment" in c or "named in the text" in c for c in why)
