"""English text that carries its phrase (`Said`), for what is kept, compared and printed as text (the notes
of an import, the steps of its progress, a bank line's reason) while a page words it in its reader's
language. (`Joined`, several phrases worded together in one parameter, lives with the stored phrases.)"""

from __future__ import annotations

from receivables.domain.errors import Problem
from receivables.domain.phrases import Joined, Phrase, joined, load  # noqa: F401 (Joined, joined: kept here too)


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


def phrase_of(words: Phrase | str | BaseException) -> Phrase | str:
    """The phrase English text carries (a Said), to be a parameter of another phrase; other words as they are.
    An error gives its phrase: a Problem's own, or that of the words it was raised with, else its text."""
    if isinstance(words, Problem):
        return words.phrase
    if isinstance(words, BaseException):
        words = words.args[0] if words.args and isinstance(words.args[0], Said) else str(words)
    return words.phrase if isinstance(words, Said) else words
