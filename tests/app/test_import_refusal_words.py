"""A file the importer cannot read is refused in the reader's language: a Dutch collector who uploads a
PDF or an empty file reads why in Dutch, with no English left in the message."""

import pytest
from streamlit.testing.v1 import AppTest

from receivables.importing import FILE_TYPES_LABEL
from tests.app.login import log_in
from tests.conftest import ROOT

PAGE = str(ROOT / "pages" / "import.py")

CASES = {
    "pdf": ("export.csv", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n",
            {"nl": "export.csv: dit is een pdf; exporteer de lijst uit uw boekhoudpakket als CSV of Excel",
             "en": "export.csv: this is a PDF; export the list from your accounting package as CSV or Excel"}),
    "empty": ("open.csv", b" \r\n\r\n",
              {"nl": "open.csv: het bestand is leeg; exporteer de openstaande posten opnieuw en upload dat bestand",
               "en": "open.csv: the file is empty; export the open items again and upload that file"}),
}


def page(language: str) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    log_in(at, "carla", "collector", language=language)
    return at.run()


@pytest.mark.parametrize("language", ["nl", "en"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_an_unreadable_file_is_refused_in_the_readers_language(engine, case, language):
    name, data, says = CASES[case]
    at = page(language)
    at.file_uploader[0].set_value((name, data, "text/csv"))
    at.run()
    assert not at.exception
    errors = [e.value.replace("\\", "") for e in at.error]  # as written, without markdown escapes
    assert says[language] in errors, errors
    if language == "nl":
        assert not any(says["en"].split(": ", 1)[1] in e for e in errors)


def test_the_upload_box_names_the_file_types_in_dutch(engine):
    box = page("nl").file_uploader[0]
    assert box.label == "Exportbestand: CSV, TSV, Excel (.xlsx), UBL- of Twinfield-XML, of een .zip met XML-facturen"
    assert FILE_TYPES_LABEL not in box.label
