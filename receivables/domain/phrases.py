"""Words the core writes for a person, kept as a catalogue message id with its parameters, so that each
reader gets them in their own language and formats (the screens word them, the command line prints the
English). A phrase can be stored (`dump`, `load`): the reason a reminder was proposed is kept with it and
worded when someone reads it. Pure."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from receivables.domain.money import fmt


@dataclass(frozen=True)
class Money:
    cents: int
    currency: str = "EUR"


@dataclass(frozen=True)
class Term:
    """A name from the reader's own lists, not from the catalogue: a signal and its value, a rule's label
    (a person's own words, or a shipped label the screens translate), a step or a track. `kind` and `key`
    say which (`value` is what the name goes with, e.g. the signal's value); `english` is how the command
    line says it."""

    kind: str
    key: str
    english: str
    value: object = None


@dataclass(frozen=True)
class Phrase:
    """A message id with its parameters: dates and `Money` are formatted when worded, a Phrase parameter
    is worded in turn and a `Term` by the reader's `term` function. `str()` gives the English with
    dd-mm-yyyy dates (what the command line prints)."""

    msgid: str
    params: dict = field(default_factory=dict)

    def worded(self, translate: Callable[..., str], money: Callable[[int, str], str],
               day: Callable[[date], str], term: Callable[[Term], str] | None = None) -> str:
        return translate(self.msgid, **{k: worded_value(v, translate, money, day, term)
                                        for k, v in self.params.items()})

    def __str__(self) -> str:
        return self.worded(lambda m, **p: m.format(**p) if p else m, fmt, lambda d: f"{d:%d-%m-%Y}")


def worded_value(v, translate: Callable[..., str], money: Callable[[int, str], str], day: Callable[[date], str],
                 term: Callable[[Term], str] | None = None):
    """One parameter as the reader reads it: a phrase worded in turn, money and dates formatted, a name from
    the reader's lists by `term`; any other value as it is."""
    if isinstance(v, Phrase):
        return v.worded(translate, money, day, term)
    if isinstance(v, Money):
        return money(v.cents, v.currency)
    if isinstance(v, (date, datetime)):
        return day(v)
    if isinstance(v, Term):
        return term(v) if term is not None else v.english
    return v


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


# --- stored --------------------------------------------------------------------------------------------------

_MARK = '{"phrase":'  # how a stored phrase begins; words stored before phrases were kept never do


def _encode(v):
    if isinstance(v, Joined):
        return {"joined": [[_encode(x) for x in v.items], v.sep]}
    if isinstance(v, Phrase):
        return {"phrase": {"msgid": v.msgid, "params": {k: _encode(x) for k, x in v.params.items()}}}
    if isinstance(v, Money):
        return {"money": [v.cents, v.currency]}
    if isinstance(v, datetime):
        return {"moment": v.isoformat()}
    if isinstance(v, date):
        return {"date": v.isoformat()}
    if isinstance(v, Term):
        return {"term": [v.kind, v.key, v.english, v.value]}
    if isinstance(v, (list, tuple)):
        return [_encode(x) for x in v]
    return v


def _decode(v):
    if isinstance(v, list):
        return [_decode(x) for x in v]
    if not isinstance(v, dict) or len(v) != 1:
        return v
    (kind, data), = v.items()
    if kind == "phrase":
        return Phrase(str(data["msgid"]), {k: _decode(x) for k, x in (data.get("params") or {}).items()})
    if kind == "joined":
        return Joined(items=tuple(_decode(x) for x in data[0]), sep=str(data[1]))
    if kind == "money":
        return Money(int(data[0]), str(data[1]))
    if kind == "moment":
        return datetime.fromisoformat(data)
    if kind == "date":
        return date.fromisoformat(data)
    if kind == "term":
        return Term(str(data[0]), str(data[1]), str(data[2]), _decode(data[3]) if len(data) > 3 else None)
    return v


def dump(words: Phrase | str | None, limit: int | None = None) -> str:
    """A phrase as stored in a text column (plain words stay as they are; English text that carries its
    phrase, a `phrasing.Said`, is stored as that phrase). Longer than `limit` characters, a phrase is stored
    as its English, cut to the limit."""
    phrase = words if isinstance(words, Phrase) else getattr(words, "phrase", None)
    if isinstance(phrase, Joined):  # stored as a phrase, which is what `load` reads
        phrase = Phrase("{words}", {"words": phrase})
    if isinstance(phrase, Phrase):
        stored = json.dumps(_encode(phrase), ensure_ascii=False, separators=(",", ":"), default=str)
        if limit is None or len(stored) <= limit:
            return stored
        words = str(phrase)
    text = str(words or "")
    return text if limit is None else text[:limit]


def load(stored: str | None) -> Phrase | str:
    """What `dump` stored: a Phrase, or the plain words of a row written before phrases were kept (or any
    text that does not read as one), unchanged."""
    text = stored or ""
    if not text.startswith(_MARK):
        return text
    try:
        found = _decode(json.loads(text))
    except (ValueError, KeyError, TypeError, IndexError):
        return text
    return found if isinstance(found, Phrase) else text
