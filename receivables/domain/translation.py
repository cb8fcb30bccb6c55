"""The catalogues: `locale/<lang>/LC_MESSAGES/*.po`, merged and compiled in memory once per language
(Babel reads the .po files and writes the .mo), so the screens, the command line and the documents we
write (reports, statements) word the same message the same way."""

from __future__ import annotations

import functools
import io
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from receivables.domain.formatting import number

LOCALE_DIR = Path(__file__).resolve().parent.parent.parent / "locale"
DOMAIN = "messages"
LANGUAGES = {"nl": "Nederlands", "en": "English"}


class Count(int):
    """A number of things as a message's parameter: grouped by thousands the way its reader writes them
    (1,234 in English, 1.234 in Dutch); formatted plainly, as the command line does, it reads 1,234."""

    def __format__(self, spec: str) -> str:
        return format(int(self), spec or ",")


class Figure(float):
    """A measured number with its decimals as a message's parameter (a file of 12.3 MB): written the way its
    reader writes them (12.3 in English, 12,3 in Dutch)."""

    decimals: int

    def __new__(cls, value: float, decimals: int = 1) -> Figure:
        figure = super().__new__(cls, value)
        figure.decimals = decimals
        return figure

    def __format__(self, spec: str) -> str:
        return format(float(self), spec or f",.{self.decimals}f")


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


def translate(message: str, lang: str, /, **params) -> str:
    """The message in `lang`, with its {parameters} filled in (the English text when it has none)."""
    text = catalogue(lang).gettext(message)
    if not params:
        return text
    return text.format(**{k: number(v, 0, lang) if isinstance(v, Count) else number(v, v.decimals, lang)
                          if isinstance(v, Figure) else v for k, v in params.items()})
