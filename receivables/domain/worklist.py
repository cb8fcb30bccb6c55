"""The day's worklist: what needs a person now, whose it is, and in which order. Pure: the items are read
by receivables.services.today; here are their kinds, the owner rule and the views."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date

from receivables.domain.phrases import Phrase
from receivables.domain.translation import N_

# The sources of the worklist in the order the day is worked through, as Today, the sidebar and the
# digests word them (translated where shown).
SOURCES: dict[str, str] = {
    "reply": N_("Replies to read"),
    "unassigned": N_("Mail to assign to a debtor"),
    "dispute": N_("Disputes to resolve"),
    "portal": N_("Payments reported in the portal"),
    "promise": N_("Promises due or broken"),
    "plan": N_("Payment plans to decide or follow up"),
    "bank": N_("Bank payments to confirm"),
    "call": N_("Calls due"),
    "approval": N_("Reminders waiting for approval"),
    "address": N_("Without a usable address"),
    "failed": N_("Reminders not delivered"),
    "sending": N_("Interrupted sends to confirm"),
}


@dataclass(frozen=True)
class Item:
    key: str  # source and id, e.g. reply:12; stable while the item is open (a hand-over refers to it)
    source: str  # one of SOURCES
    title: str
    detail: str = ""
    since: date | None = None  # the day it came up
    debtor_id: int | None = None
    debtor_code: str | None = None
    debtor_name: str | None = None
    owner: str | None = None  # the user whose item it is; None: nobody's yet
    ref: int | None = None  # what to act on: a mail, invoice, note or message id
    amount_cents: int | None = None
    currency: str | None = None
    phone: str | None = None
    notes: tuple[str, ...] = ()  # the debtor's last notes, for a call
    late: bool = False  # waited past its date (a reply's pause ran out, a promise broke)
    handed_by: str | None = None
    hand_note: str | None = None
    title_id: str = ""  # the title's message id in the catalogue, with `params`: a screen words it in its language
    params: dict = field(default_factory=dict, compare=False)
    extra: dict = field(default_factory=dict, compare=False)
    detail_phrase: Phrase | None = field(default=None, compare=False)  # the detail, for a screen to word

    @property
    def title_phrase(self) -> Phrase | None:
        """The title for a screen or a mail to word in its reader's language."""
        return Phrase(self.title_id, self.params) if self.title_id else None


def worded(msgid: str, **params) -> dict:
    """An item's title: in English now, and its message id and parameters for a screen to translate
    (`title_phrase`; a parameter may be a phrase of its own)."""
    return {"title": str(Phrase(msgid, params)), "title_id": msgid, "params": params}


@dataclass(frozen=True)
class OwnerRules:
    """Who follows a debtor without an owner of its own: by segment, else by account manager."""

    by_segment: Mapping[str, str] = field(default_factory=dict)
    by_account_manager: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_data(cls, data) -> OwnerRules:
        data = data if isinstance(data, dict) else {}
        segment = data.get("segment") if isinstance(data.get("segment"), dict) else {}
        manager = data.get("account_manager") if isinstance(data.get("account_manager"), dict) else {}
        return cls({str(k): str(v) for k, v in segment.items() if v},
                   {str(k): str(v) for k, v in manager.items() if v})

    def to_data(self) -> dict:
        return {"segment": dict(self.by_segment), "account_manager": dict(self.by_account_manager)}


def owner_of(owner: str | None, segment: str | None, account_manager: str | None, rules: OwnerRules,
             users: Mapping[str, str]) -> str | None:
    """The debtor's collector: its own owner, else the segment's rule, else the account manager's rule,
    else the account manager when that is a user (`users` maps lower-case user names and full names to
    user names)."""
    if owner:
        return owner
    if segment and segment in rules.by_segment:
        return rules.by_segment[segment]
    if account_manager:
        if account_manager in rules.by_account_manager:
            return rules.by_account_manager[account_manager]
        return users.get(account_manager.strip().lower())
    return None


def handed(items: Iterable[Item], handoffs: Mapping[str, tuple[str, str, str]]) -> list[Item]:
    """Items a person handed to a colleague belong to that colleague; `handoffs` maps an item key to the
    newest (from, to, note)."""
    out = []
    for item in items:
        got = handoffs.get(item.key)
        out.append(item if got is None else replace(item, owner=got[1], handed_by=got[0], hand_note=got[2]))
    return out


def mine(items: Iterable[Item], user: str) -> list[Item]:
    """A user's own items and those nobody owns yet (someone has to pick them up)."""
    return [i for i in items if i.owner in (None, user)]


def ordered(items: Iterable[Item]) -> list[Item]:
    """By source in the order of SOURCES, late items first, then the oldest first."""
    rank = {s: n for n, s in enumerate(SOURCES)}
    return sorted(items, key=lambda i: (rank.get(i.source, len(rank)), not i.late, i.since or date.min, i.key))


def counts(items: Iterable[Item]) -> dict[str, int]:
    """Items per source, every source present (zero when none)."""
    out = dict.fromkeys(SOURCES, 0)
    for item in items:
        out[item.source] = out.get(item.source, 0) + 1
    return out
