"""The import check's problems, warnings and notices in the reader's language: a Dutch collector reads
them in Dutch, an English one in English (the words the core keeps are message ids with parameters)."""

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.login import log_in
from tests.conftest import ROOT

PAGE = str(ROOT / "pages" / "import.py")
HEADER = "Relatiecode;Relatie;Factuurnummer;Factuurdatum;Vervaldatum;Bedrag;Openstaand;Soort"
# row 2: a due date that does not exist; row 3: nothing open (a warning); row 4: an amount in tenths of cents
BAD = ("\r\n".join([HEADER, "0042;Bakker B.V.;000123;01-05-2026;31-02-2026;1.234,56;1.234,56;Factuur",
                    "0043;De Vries;000124;02-05-2026;01-06-2026;50,00;0,00;Factuur",
                    "0044;Jansen;000125;03-05-2026;02-06-2026;10,005;10,005;Factuur"]) + "\r\n").encode()

WORDS = {
    "nl": {"problem": "is geen datum (verwacht: dd-mm-yyyy)",
           "warning": "is 0: de factuur wordt als betaald vastgelegd",
           "notice": "Bedrag heeft meer dan twee decimalen in 1 van de bedragen: afgerond op de cent (rij 4: 10,005 "
                     "wordt opgeslagen als 10.01) (rij 4)",
           "english": "is not a date", "dialect": "gescheiden door puntkomma, kopregel op regel 1, 3 rijen"},
    "en": {"problem": "is not a date (expected dd-mm-yyyy)",
           "warning": "is 0: the invoice is recorded as paid",
           "notice": "Bedrag has more than two decimals in 1 of its amounts: rounded to the cent (row 4: 10,005 is "
                     "stored as 10.01) (row 4)",
           "english": None, "dialect": "semicolon-separated, header on line 1, 3 rows"},
}


def cells(at: AppTest) -> list[str]:
    """Every cell of every table on the page."""
    return [str(v) for t in at.table for v in t.value.to_numpy().ravel()]


def go(at: AppTest, prefix: str):
    return next(e for e in [*at.button, *at.checkbox] if e.key and e.key.startswith(prefix))


@pytest.mark.parametrize("language", ["nl", "en"])
def test_the_problems_warnings_and_notices_of_a_bad_file_are_in_the_readers_language(engine, language):
    words = WORDS[language]
    at = AppTest.from_file(PAGE, default_timeout=60)
    log_in(at, "carla", "collector", language=language)
    at.run()
    at.file_uploader[0].set_value(("bad.csv", BAD, "text/csv"))
    at.run()
    assert any(words["dialect"] in c.value.replace("\\", "") for c in at.caption)  # what was read, under the upload
    at.button[0].click()  # check the file
    at.run()
    assert not at.exception
    assert words["problem"] in cells(at)
    if words["english"]:
        assert not any(words["english"] in c for c in cells(at))

    go(at, "import_valid_only_").check()  # the valid rows only: their warnings and notices show
    at.run()
    assert not at.exception
    shown = cells(at)
    assert words["problem"] in shown  # the row left out
    assert words["warning"] in shown
    assert words["notice"] in [w.value.replace("\\", "") for w in at.warning]  # as written, without markdown escapes


def _refusal_of_four_bad_rows():
    """A page showing why an import was refused, as the import page does (i18n.error)."""
    import numpy as np
    import pandas as pd
    import streamlit as st

    from receivables.importing.validation import ParsedBatch, Problem
    from receivables.services.imports import ImportRejected
    from ui import i18n

    i18n.use(st.session_state.get("lang", "nl"))
    problems = [Problem(n, "Vervaldatum", "31-02-2026", "is not a date (expected {format})", {"format": "dd-mm-yyyy"})
                for n in (2, 3, 4, 5)]
    parsed = ParsedBatch("open_items", {}, None, None, pd.DataFrame(), problems, 4, np.array([2, 3, 4, 5]), [], 0, {})
    st.error(i18n.error(ImportRejected(parsed)))


@pytest.mark.parametrize(("language", "words"), [
    ("nl", "4 probleem/problemen, er is niets geïmporteerd: rij 2, Vervaldatum: '31-02-2026' is geen datum (verwacht: "
           "dd-mm-yyyy); rij 3, Vervaldatum: '31-02-2026' is geen datum"),
    ("en", "4 problem(s), nothing was imported: row 2, Vervaldatum: '31-02-2026' is not a date (expected dd-mm-yyyy); "
           "row 3, Vervaldatum: '31-02-2026' is not a date"),
])
def test_why_an_import_was_refused_names_its_first_rows_in_the_readers_language(language, words):
    at = AppTest.from_function(_refusal_of_four_bad_rows)
    at.session_state["lang"] = language
    at.run()
    assert not at.exception
    assert words in at.error[0].value
    assert ("en 1 meer" if language == "nl" else "(and 1 more)") in at.error[0].value
