"""Phrases in two more shapes: several worded together in one parameter (`Joined`), and English text that
carries its phrase (`Said`), for what is kept, compared and printed as text (the notes of an import, the
steps of its progress) while a page words it in its reader's language."""

from __future__ import annotations

from dataclasses import dataclass

from receivables.domain.phrases import Phrase, load, worded_value


@dataclass(frozen=True)
class Joined(Phrase):
    """Several values in one parameter, each worded, with `sep` between them (a Phrase, so that wherever a
    phrase is worded this is too)."""

    msgid: str = ""
    items: tuple = ()
    sep: str = ", "

    def worded(self, translate, money, day, term=None) -> str:  # noqa: ANN001
        return self.sep.join(str(worded_value(v, translate, money, day, term)) for v in self.items)


def joined(items, sep: str = ", ") -> Joined:  # noqa: ANN001
    return Joined(items=tuple(items), sep=sep)


class Said(str):
    """A phrase as its English text, with the phrase beside it (`phrase`) for a page to word."""

    phrase: Phrase

    def __new__(cls, phrase: Phrase | str) -> Said:
        said = super().__new__(cls, str(phrase))
        said.phrase = phrase if isinstance(phrase, Phrase) else Phrase(str(phrase))
        return said


def said(msgid: str, /, **params) -> Said:
    """`Said(Phrase(msgid, params))`."""
    return Said(Phrase(msgid, params))


def kept(stored: str | None) -> Said | str:
    """Words stored with `phrases.dump` as English text carrying its phrase; plain stored words (a row
    written before phrases were kept) as they are."""
    words = load(stored)
    return Said(words) if isinstance(words, Phrase) else words
