"""A file upload box whose own words are in the reader's language.

Streamlit writes the words inside its upload box itself ("Upload", "128MB per file • CSV") and offers no
parameter for them (streamlit/streamlit#13500). This wraps `st.file_uploader` and replaces those two texts
with ours through a style rule scoped to the one widget (its `st-key-…` class): the button and the line
under it read "Bestand kiezen" and "max. 128 MB per bestand • CSV, XLSX" in Dutch. Screen readers read
generated content too. If a Streamlit release changes the box's markup, the rule simply stops matching
and Streamlit's own English words show again; nothing breaks."""

from __future__ import annotations

import re

import streamlit as st

from ui.i18n import _

_SAFE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _css_string(text: str) -> str:
    """`text` as a CSS string literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def words(types: list[str] | None, *, multiple: bool, max_mb: int) -> tuple[str, str]:
    """The button's text and the line beside it, in the reader's language."""
    button = _("Choose files") if multiple else _("Choose file")
    kinds = ", ".join(t.lstrip(".").upper() for t in types or [])
    line = (_("max. {mb} MB per file • {types}", mb=max_mb, types=kinds) if kinds
            else _("max. {mb} MB per file", mb=max_mb))
    return button, line


def style(key: str, button: str, line: str) -> str:
    scope = f".st-key-{key} [data-testid='stFileUploaderDropzone']"
    return (f"<style>"
            f"{scope} button [data-testid='stMarkdownContainer'] p {{font-size: 0}}"
            f"{scope} button [data-testid='stMarkdownContainer'] p::after {{content: {_css_string(button)};"
            f" font-size: 14px}}"
            f"{scope} [data-testid='stFileUploaderDropzoneInstructions'] span {{font-size: 0}}"
            f"{scope} [data-testid='stFileUploaderDropzoneInstructions'] span::after"
            f" {{content: {_css_string(line)}; font-size: 14px}}"
            f"</style>")


def file_uploader(label: str, *, type: list[str] | None, key: str, accept_multiple_files: bool = False,
                  **kwargs):
    """`st.file_uploader` with its button and size line worded for the reader; needs a plain `key`."""
    if not _SAFE_KEY.match(key):
        raise ValueError(f"an upload box needs a plain key for its style rule, not {key!r}")
    button, line = words(type, multiple=accept_multiple_files, max_mb=int(st.get_option("server.maxUploadSize")))
    st.html(style(key, button, line))
    return st.file_uploader(label, type=type, key=key, accept_multiple_files=accept_multiple_files, **kwargs)
