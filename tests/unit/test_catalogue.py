"""Every string a screen shows is looked up in the catalogue, and has a Dutch and an English translation."""

import ast
import re
from pathlib import Path

import pytest

from ui import catalogue as cat

ROOT = Path(__file__).resolve().parents[2]
SCREENS = sorted([ROOT / "desk.py", *ROOT.glob("pages/*.py"), *ROOT.glob("ui/*.py")]
                 + ([ROOT / "portal.py"] if (ROOT / "portal.py").exists() else []))
# Streamlit calls whose first argument (or label/help/placeholder) a person reads.
SHOWN = {"title", "header", "subheader", "caption", "markdown", "write", "error", "warning", "info", "success",
         "button", "download_button", "form_submit_button", "text_input", "text_area", "number_input",
         "date_input", "selectbox", "multiselect", "radio", "checkbox", "toggle", "file_uploader", "metric",
         "expander", "tabs", "page_link", "status", "toast", "spinner", "link_button", "segmented_control",
         "pills", "slider", "time_input", "popover"}
KEYWORDS = ("label", "help", "placeholder", "body")
WORDS = re.compile(r"[A-Za-z]{2,}")
NOT_YET: set[str] = {
    # screens still to be put through the catalogue; this set only shrinks
    "ui/auth.py",
    "ui/settings_users.py",  # the Users tab, moved out of pages/settings.py as it was
}


def _literal_text(node) -> str | None:
    """The words of a string literal or f-string, if it is one."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value for v in node.values if isinstance(v, ast.Constant))
    if isinstance(node, (ast.List, ast.Tuple)):  # st.tabs(["Users", ...])
        texts = [_literal_text(e) for e in node.elts]
        return " ".join(t for t in texts if t) or None
    return None


def unmarked(path: Path) -> list[str]:
    """Places where a screen shows a literal that does not go through the catalogue."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in SHOWN):
            continue
        first = [] if node.func.attr == "page_link" else node.args[:1]  # page_link's first argument is a file
        args = first + [k.value for k in node.keywords if k.arg in KEYWORDS]
        for arg in args:
            text = _literal_text(arg)
            if text and WORDS.search(re.sub(r"`[^`]*`|:material/\w+:|\{[^}]*\}|Debtor Desk", "", text)):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {text[:60]!r}")
    return found


@pytest.mark.parametrize("path", SCREENS, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_screen_shows_no_words_that_bypass_the_catalogue(path):
    rel = str(path.relative_to(ROOT))
    if rel in NOT_YET:
        pytest.skip(f"{rel} is not yet put through the catalogue")
    assert unmarked(path) == []


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_every_catalogued_string_has_a_translation(lang):
    files = [p for p in cat.source_files() if str(p.relative_to(ROOT)) not in NOT_YET]
    assert cat.missing(files)[lang] == []


def test_the_check_finds_an_unmarked_label(tmp_path):
    page = ROOT / "pages" / "_probe_unmarked.py"
    try:
        page.write_text('import streamlit as st\nst.button("Save tracks")\nst.button(_("Save"))\nst.markdown("---")\n')
        assert unmarked(page) == ["pages/_probe_unmarked.py:2: 'Save tracks'"]
    finally:
        page.unlink()



@pytest.mark.parametrize("lang", ["nl", "en"])
def test_a_string_has_one_translation_across_the_parts(lang):
    seen: dict = {}
    clashes = []
    for po in sorted((cat.LOCALE_DIR / lang / "LC_MESSAGES").glob("*.po")):
        for m in cat.read(po, lang):
            if not m.id or not m.string:
                continue
            key = m.id if isinstance(m.id, str) else m.id[0]
            if key in seen and seen[key][1] != m.string:
                clashes.append(f"{key!r}: {seen[key][0]} {seen[key][1]!r} / {po.stem} {m.string!r}")
            seen.setdefault(key, (po.stem, m.string))
    assert clashes == []
