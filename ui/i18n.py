"""Translations for the screens: gettext catalogues in `locale/<lang>/LC_MESSAGES/<part>.po` (one part
per page or area, so that two people translating two pages never edit one file), kept in the repository
and compiled in memory when first needed (receivables/domain/translation.py); `python -m ui.catalogue`
extracts, fills and checks them. The source strings are English; `_("Open {n} invoices", n=3)` looks
the string up in the language of the person looking and fills in its parameters.

Each person's language: what they chose (kept with their login), else the browser's, else Dutch."""

from __future__ import annotations

import streamlit as st

from receivables.domain import formatting
from receivables.domain.errors import Problem
from receivables.domain.phrases import Phrase
from receivables.domain.translation import LANGUAGES, N_, catalogue, translate  # noqa: F401 (N_ for pages)

DEFAULT = "nl"
_KEY = "_language"


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


def _(message: str, /, **params) -> str:
    """The message in the current language, with its {parameters} filled in (a parameter that is a core
    Phrase, such as the kind of interest in an error, or a core error, such as why a file cannot be read,
    worded too)."""
    return translate(message, current(), **{k: said(v) if isinstance(v, Phrase) else error(v)
                                            if isinstance(v, Problem) else v for k, v in params.items()})


def said(phrase: Phrase) -> str:
    """A core phrase in the current language and formats."""
    return phrase.worded(_, money, day)


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


def moment(t) -> str:
    return formatting.moment(t, current())
