"""The debtor dossier's rules: what a note may hold, the contact data a collector types, the payment
behaviour shown in the header and the flags that warn before anyone calls. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from receivables.domain.errors import Problem
from receivables.domain.phrases import Money, Phrase
from receivables.domain.translation import N_

MAX_TEXT = 20_000
MAX_PERSON = 255
MAX_ADDRESS, MAX_ADDRESS_LINES = 500, 6

# the kinds the timeline can be filtered by, in the order the filter shows them
TIMELINE_KINDS = ("invoice", "payment", "note", "call", "promise", "dispute", "reminder", "reply", "block",
                  "contact", "portal")
NOTE_KIND_TO_TIMELINE = {"note": "note", "call": "call", "promise": "promise", "dispute": "dispute",
                         "dispute_resolved": "dispute", "dispute_rejected": "dispute", "reply": "reply", "block": "block", "unblock": "block",
                         "contact_change": "contact", "interruption": "reminder", "portal_visit": "portal",
                         "portal_paid": "portal", "portal_address": "portal"}

_PHONE = re.compile(r"^\+?[0-9 ()./-]{6,30}$")


class RuleError(Problem):
    """A rule refused what was typed: an English message with named parameters, as ServiceError takes it,
    so that a page can word it in the reader's language."""


_UNTYPABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # control characters, tab and new lines excepted


def search_text(query: str | None) -> str:
    """What a person searches for, stripped. A control character (a NUL pasted from another program) is in
    no code, name or number, and the database refuses it: it is refused with what to do."""
    text = (query or "").strip()
    if _UNTYPABLE.search(text):
        raise RuleError(N_("the search holds a control character (such as NUL) that no code, name or number "
                           "contains; type the search again"))
    return text


def clean_text(value: str | None, what: str, *, required: bool = True) -> str:
    """The text of a note, stripped; `what` names it in the refusal ('the note', 'the reason…')."""
    text = (value or "").strip()
    if _UNTYPABLE.search(text):
        raise RuleError(N_("{what} holds a control character (such as NUL) that cannot be stored; type it again"),
                        what=what)
    if required and not text:
        raise RuleError("{what} is empty; type what was said or agreed", what=what)
    if len(text) > MAX_TEXT:
        raise RuleError("{what} is longer than {most:,} characters; shorten it", what=what, most=MAX_TEXT)
    return text


def clean_phone(value: str | None) -> str | None:
    phone = (value or "").strip() or None
    if phone and not _PHONE.match(phone):
        raise RuleError("'{phone}' is not a phone number; use digits, spaces and an optional +, e.g. +31 20 123 4567",
                        phone=phone)
    return phone


def clean_person(value: str | None) -> str | None:
    person = (value or "").strip() or None
    if person and len(person) > MAX_PERSON:
        raise RuleError("the contact person's name is longer than {most} characters", most=MAX_PERSON)
    return person


def clean_address(value: str | None) -> str | None:
    """The postal address line by line, blank lines and edge spaces dropped; it must fit a letter's window."""
    postal = "\n".join(line.strip() for line in (value or "").splitlines() if line.strip()) or None
    if postal and (len(postal) > MAX_ADDRESS or postal.count("\n") >= MAX_ADDRESS_LINES):
        raise RuleError("the postal address is longer than a letter's address window; use at most {lines} lines",
                        lines=MAX_ADDRESS_LINES)
    return postal


INVOICE_STATUSES = (N_("credit note"), N_("paid"), N_("part paid"), N_("open"))
TRENDS = (N_("not enough history"), N_("worsening"), N_("improving"), N_("steady"))


def invoice_status(amount_cents: int, open_cents: int) -> str:
    """One of INVOICE_STATUSES."""
    if amount_cents < 0:
        return "credit note"
    if open_cents == 0:
        return "paid"
    return "part paid" if open_cents != amount_cents else "open"


# --- payment behaviour ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Behaviour:
    """Payment behaviour over the last 12 months (definitions in receivables.domain.metrics): amount-weighted
    average days late, share of invoices paid late, and the trend in days (recent 3 months minus the
    months before; positive = paying later)."""

    invoices_paid: int
    avg_days_late: float | None
    share_paid_late: float | None
    share_paid_late_30: float | None
    trend_days: float | None
    broken_promises: int = 0

    @property
    def trend(self) -> str:
        return trend_label(self.trend_days)


def trend_label(trend_days: float | None) -> str:
    """A change of more than a week in average days late is a trend; less is noise."""
    if trend_days is None or trend_days != trend_days:
        return "not enough history"
    if trend_days > 7:
        return "worsening"
    if trend_days < -7:
        return "improving"
    return "steady"


# --- the flags in the header ------------------------------------------------------------------------

@dataclass(frozen=True)
class Flag:
    phrase: Phrase
    level: str  # red | orange | blue | gray

    @property
    def label(self) -> str:
        return str(self.phrase)


@dataclass(frozen=True)
class PendingPromise:
    cents: int
    currency: str
    promised_on: date


def _counted(singular: str, plural: str, n: int, **params) -> Phrase:
    return Phrase(singular if n == 1 else plural, {"n": n, **params})


def header_flags(*, blocked_until: date | None, blocked: bool, disputed: int, pending: list[PendingPromise],
                 broken_promises: int, time_barred: list[str], paused: int) -> list[Flag]:
    """What a collector must see before calling: a block, disputes, promises pending or broken, invoices that
    may be time-barred (art. 3:307 / 7:28 BW: left out of automatic steps), paused invoices."""
    flags: list[Flag] = []
    if blocked:
        flags.append(Flag(Phrase(N_("reminders blocked until {day}"), {"day": blocked_until}) if blocked_until
                          else Phrase(N_("reminders blocked")), "red"))
    if disputed:
        flags.append(Flag(_counted(N_("{n} disputed invoice"), N_("{n} disputed invoices"), disputed), "orange"))
    for p in sorted(pending, key=lambda p: p.promised_on):
        flags.append(Flag(Phrase(N_("promise pending: {amount} by {day}"),
                                 {"amount": Money(p.cents, p.currency), "day": p.promised_on}), "blue"))
    if broken_promises:
        flags.append(Flag(_counted(N_("{n} broken promise in 12 months"), N_("{n} broken promises in 12 months"),
                                   broken_promises), "red"))
    if time_barred:
        numbers = ", ".join(sorted(time_barred)[:5])
        flags.append(Flag(_counted(N_("{n} invoice may be time-barred ({numbers})"),
                                   N_("{n} invoices may be time-barred ({numbers})"), len(time_barred),
                                   numbers=numbers), "red"))
    if paused:
        flags.append(Flag(_counted(N_("{n} invoice paused"), N_("{n} invoices paused"), paused), "gray"))
    return flags
