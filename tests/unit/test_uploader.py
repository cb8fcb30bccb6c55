"""The upload box's own words (its button and size line) are replaced by ours, in the reader's language."""

import pytest

from ui import i18n, uploader


@pytest.fixture
def lang(monkeypatch):
    def use(code):
        monkeypatch.setattr(i18n, "current", lambda: code)
    return use


def test_the_box_reads_dutch_for_a_dutch_reader(lang):
    lang("nl")
    assert uploader.words(["csv", ".xlsx"], multiple=True, max_mb=128) == (
        "Bestanden kiezen", "max. 128 MB per bestand • CSV, XLSX")
    assert uploader.words(["eml"], multiple=False, max_mb=128)[0] == "Bestand kiezen"


def test_the_box_reads_english_for_an_english_reader(lang):
    lang("en")
    assert uploader.words(None, multiple=False, max_mb=50) == ("Choose file", "max. 50 MB per file")


def test_the_style_is_scoped_to_the_one_box_and_quotes_its_words():
    css = uploader.style("bank_file", 'Kies "dit"', "a\\b")
    assert css.count(".st-key-bank_file ") == 4
    assert 'content: "Kies \\"dit\\""' in css and 'content: "a\\\\b"' in css


def test_a_key_that_cannot_scope_a_style_is_refused():
    with pytest.raises(ValueError):
        uploader.file_uploader("x", type=["csv"], key="a b}")
