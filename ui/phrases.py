"""Words the core kept as a message id with parameters (`receivables.domain.phrases`), worded for the person
looking: in their language and formats, with the signals, steps, tracks and shipped rule labels they name
worded from the same lists the reminder settings show. Words stored before that (plain English) are shown
as they were stored."""

from __future__ import annotations

from receivables.domain import formatting, tracks
from receivables.domain.phrases import Phrase, Term
from receivables.domain.phrasing import Said
from ui import i18n
from ui.i18n import N_, _
from ui.settings_tracks import SHIPPED_REASONS, SIGNAL_LABELS, STEP_LABELS, TRACK_LABELS

FACT = N_("{signal}: {value}")  # one signal a rule names, with the debtor's value


def signal_value(name: str, value) -> str:
    """A signal's value as the rule editor asks for it: shares in percent, average days to one decimal."""
    lang = i18n.current()
    number = float(value or 0)
    if name in tracks.SHARE_SIGNALS:
        return formatting.number(number * 100, 0, lang)
    if name == "avg_days_late":
        return formatting.number(number, 1, lang)
    return formatting.number(int(number), 0, lang)


def term(t: Term) -> str:
    """A name from our own lists in the reader's language; one we do not know stays in its English."""
    if t.kind == "label":
        return _(t.key) if t.key in SHIPPED_REASONS else t.key
    if t.kind == "step" and t.key in STEP_LABELS:
        return _(STEP_LABELS[t.key])
    if t.kind == "track" and t.key in TRACK_LABELS:
        return _(TRACK_LABELS[t.key])
    if t.kind == "facts" and isinstance(t.value, list):
        return ", ".join(_(FACT, signal=_(SIGNAL_LABELS[n]) if n in SIGNAL_LABELS else n, value=signal_value(n, v))
                         for n, v in t.value)
    return t.english


def said(words: Phrase | str | None, limit: int | None = None) -> str:
    """Core words in the reader's language (plain stored words as they are), at most `limit` characters."""
    if isinstance(words, Said):
        words = words.phrase
    if isinstance(words, Phrase):
        text = words.worded(_, i18n.money, i18n.day, term)  # i18n.said, with our own lists' names too
    else:
        text = words or ""
    if limit is not None:
        text = " ".join(text.split())
        if len(text) > limit:
            text = text[:limit - 1] + "…"
    return text
