"""Words the core writes for a person, kept as a catalogue message id with its parameters, so that each
reader gets them in their own language and formats (a page words them; the command line prints the
English): `Phrase(N_("{n} invoices are dated after {day}"), {"n": Count(3), "day": day})`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from receivables.domain.money import fmt


@dataclass(frozen=True)
class Money:
    cents: int
    currency: str = "EUR"


@dataclass(frozen=True)
class Joined:
    """Several values in one parameter, each worded, with `sep` between them."""

    items: tuple
    sep: str = ", "


@dataclass(frozen=True)
class Phrase:
    """Words for a person, kept as a catalogue message id with its parameters so that each reader gets them
    in their own language and formats: dates and `Money` are formatted when worded, a Phrase parameter is
    worded in turn. `str()` gives the English with dd-mm-yyyy dates (what the command line prints)."""

    msgid: str
    params: dict = field(default_factory=dict)

    def worded(self, translate: Callable[..., str], money: Callable[[int, str], str],
               day: Callable[[date], str]) -> str:
        def value(v):
            if isinstance(v, Phrase):
                return v.worded(translate, money, day)
            if isinstance(v, Joined):
                return v.sep.join(str(value(x)) for x in v.items)
            if isinstance(v, Money):
                return money(v.cents, v.currency)
            if isinstance(v, (date, datetime)):
                return day(v)
            return v
        return translate(self.msgid, **{k: value(v) for k, v in self.params.items()})

    def __str__(self) -> str:
        return self.worded(lambda m, **p: m.format(**p) if p else m, fmt, lambda d: f"{d:%d-%m-%Y}")


class Said(str):
    """A phrase as its English text, for what is kept, compared and printed as text (a note of an import,
    a step of its progress), with the phrase beside it (`phrase`) for a page to word in its reader's
    language."""

    phrase: Phrase

    def __new__(cls, phrase: Phrase | str) -> Said:
        said = super().__new__(cls, str(phrase))
        said.phrase = phrase if isinstance(phrase, Phrase) else Phrase(str(phrase))
        return said


def said(msgid: str, /, **params) -> Said:
    """`Said(Phrase(msgid, params))`."""
    return Said(Phrase(msgid, params))
