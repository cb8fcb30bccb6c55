"""The reminder text editor on the Settings page: edit, preview, save a version, back to the shipped text."""

from streamlit.testing.v1 import AppTest

from db.uow import UnitOfWork
from receivables.services import texts
from tests.app.login import log_in
from tests.conftest import ROOT


def open_texts(engine) -> AppTest:
    at = log_in(AppTest.from_file(str(ROOT / "pages" / "settings.py"), default_timeout=60), "admin", "admin", language="nl")
    at.run()
    assert not at.exception
    return at


def test_an_admin_edits_a_reminder_text_sees_the_preview_and_saves_a_version(engine):
    at = open_texts(engine)
    at.selectbox(key="text_template").select("reminder").run()
    at.selectbox(key="text_tone").select("friendly").run()
    key = "reminder/friendly/nl"
    at.text_input(key=f"text_subject_{key}").input("Even herinneren: {{ invoices[0].number }}").run()
    assert at.text[0].value == "Even herinneren: 2026-0042"  # the preview
    at.button(key=f"text_save_{key}").click().run()
    assert not at.exception
    assert any("version" in s.value or "versie" in s.value for s in at.success)
    with UnitOfWork(engine) as uow:
        assert texts.editable(uow, "reminder", "friendly", "nl").subject == "Even herinneren: {{ invoices[0].number }}"


def test_a_text_with_an_unknown_field_shows_what_to_fix_and_is_not_saved(engine):
    at = open_texts(engine)
    at.selectbox(key="text_template").select("courtesy").run()
    key = "courtesy/standard/nl"
    at.text_area(key=f"text_body_{key}").input("Betaal {{ debtor.bankrekening }}").run()
    assert any("cannot be used" in e.value or "bankrekening" in e.value for e in at.error)
    at.button(key=f"text_save_{key}").click().run()
    with UnitOfWork(engine) as uow:
        assert not texts.editable(uow, "courtesy", "standard", "nl").edited


def test_the_audit_log_reads_in_words_with_the_time_to_the_second(engine):
    with UnitOfWork(engine) as uow:
        texts.save(uow, "reminder", "standard", "nl", "Herinnering {{ debtor.name }}", "Betaal graag.", actor="alice")
    at = open_texts(engine)
    at.text_input(key="audit_who").input("alice").run()
    assert not at.exception
    log = next(d.value for d in at.dataframe if "Wat is gewijzigd" in d.value.columns)
    row = log.iloc[0]
    assert (row["Wie"], row["Wat"], row["Betreft"]) == ("alice", "herinneringstekst gewijzigd",
                                                         "tekst reminder/standard/nl")
    assert row["Wat is gewijzigd"].startswith("onderwerp: ") and "→ Herinnering {{ debtor.name }}" in row["Wat is gewijzigd"]
    assert len(row["Wanneer"]) == len("05-12-2026 15:03:09") and row["Wanneer"][2] == "-"
