"""Translations for the screens: gettext catalogues in `locale/<lang>/LC_MESSAGES/<part>.po` (one part
per page or area, so that two people translating two pages never edit one file), kept in the repository
and compiled in memory into one catalogue per language when the server first needs it (Babel reads the
.po files and writes the .mo; `python -m ui.catalogue` extracts and updates them). The source strings are English; `_("Open {n} invoices", n=3)` looks the string up in the
language of the person looking and fills in its parameters.

Each person's language: what they chose (kept with their login), else the browser's, else Dutch."""

from __future__ import annotations

import functools
import io
from pathlib import Path

import streamlit as st
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from receivables.domain import formatting

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "messages"
LANGUAGES = {"nl": "Nederlands", "en": "English"}
DEFAULT = "nl"
_KEY = "_language"


def N_(message: str) -> str:  # noqa: N802 (gettext's name): marks a string for the catalogue, translated later
    return message


@functools.cache
def catalogue(lang: str) -> Translations:
    """The compiled catalogue of a language (an empty one when the language has none)."""
    merged = Catalog(locale=lang, domain=DOMAIN)
    for po in sorted((LOCALE_DIR / lang / "LC_MESSAGES").glob("*.po")):
        with po.open("rb") as fh:
            for message in read_po(fh, locale=lang, domain=DOMAIN):
                if message.id and message.string and not message.fuzzy:
                    merged[message.id] = message
    buf = io.BytesIO()
    write_mo(buf, merged)
    buf.seek(0)
    return Translations(buf, domain=DOMAIN)


def browser_language() -> str | None:
    """The first of our languages the browser asks for, if any."""
    try:
        locale = st.context.locale or ""
        accept = (st.context.headers or {}).get("Accept-Language", "") or ""
    except Exception:  # noqa: BLE001 — outside a browser session (AppTest, bare mode) there is no context
        return None
    for part in [locale, *accept.split(",")]:
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return None


def current() -> str:
    """The language of the person looking at this session."""
    lang = st.session_state.get(_KEY)
    if lang in LANGUAGES:
        return lang
    lang = browser_language() or DEFAULT
    st.session_state[_KEY] = lang
    return lang


def use(lang: str | None) -> None:
    """Show this session in `lang` (from the user's own setting at login, or their choice)."""
    if lang in LANGUAGES:
        st.session_state[_KEY] = lang


def translate(message: str, lang: str, /, **params) -> str:
    text = catalogue(lang).gettext(message)
    return text.format(**params) if params else text


def _(message: str, /, **params) -> str:
    """The message in the current language, with its {parameters} filled in."""
    return translate(message, current(), **params)


def n_(singular: str, plural: str, n: int, /, **params) -> str:
    """Singular or plural by `n` (available as {n} in both)."""
    text = catalogue(current()).ngettext(singular, plural, n)
    return text.format(n=n, **params)


def error(exc: Exception) -> str:
    """A core error worded for the person: errors that carry a message id and parameters are translated,
    any other keeps its own words."""
    msgid = getattr(exc, "msgid", None)
    if msgid:
        return _(msgid, **getattr(exc, "params", {}))
    return str(exc)


# --- formatting in the current language ----------------------------------------------------------------

def money(cents, currency: str = "EUR") -> str:
    return formatting.money(cents, currency, current())


def day(d) -> str:
    return formatting.day(d, current())


def days(value) -> str:
    return formatting.days(value, current())


def percent(share) -> str:
    return formatting.percent(share, current())
