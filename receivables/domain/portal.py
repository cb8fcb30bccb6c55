"""The debtor's portal: what a personal link names, how strong its signing key must be, and what a debtor
may type and choose there. Pure: the portal's service signs and checks links and records the actions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from receivables.domain import contacts
from receivables.domain.dossier import RuleError
from receivables.domain.promises import HORIZON_DAYS
from receivables.domain.translation import N_

TOKEN_DAYS = 60  # a link in a reminder works this long after the reminder was sent
MARK = "{portal-token}"  # where a stored reminder holds its link's token until it is sent
MIN_KEY_LENGTH = 32
PLACEHOLDER_KEYS = ("change", "secret", "example", "placeholder", "xxxx", "0000", "1234", "random", "your")

HORIZON_LIMIT = HORIZON_DAYS  # further ahead is a payment plan, never a promise
DEFAULT_PROMISE_HORIZON_DAYS = 30  # a promise further ahead than this is for a person to agree
DEFAULT_PAID_WAIT_DAYS = 5  # "I have paid": the bank or the next export should show it by then
MAX_REASON = 1000
MAX_NAME = 255
PAID_LOOKBACK_DAYS = 60  # "I have paid" on a date longer ago than this is not believed without a person

# the reasons a debtor picks from when disputing (the free text says the rest)
DISPUTE_REASONS = {
    "not_received": N_("Goods or service not received"),
    "wrong_amount": N_("Wrong amount or price"),
    "quality": N_("Complaint about quality"),
    "already_paid": N_("Already paid"),
    "credit_expected": N_("Credit note promised"),
    "other": N_("Something else"),
}

# what a debtor sees an invoice as
STATUS_OPEN, STATUS_DISPUTED, STATUS_PROMISED, STATUS_PLAN, STATUS_PAID = (
    "open", "disputed", "promised", "plan", "paid_reported")
STATUS_WORDS = {STATUS_OPEN: N_("open"), STATUS_DISPUTED: N_("in dispute"), STATUS_PROMISED: N_("promised"),
                STATUS_PLAN: N_("in a payment plan"), STATUS_PAID: N_("payment reported")}


class PortalError(RuleError):
    pass


@dataclass(frozen=True)
class LinkClaims:
    """What a personal link names: the debtor, the message it came with and the debtor's link generation
    (raising the generation revokes every link given before)."""

    debtor_id: int
    message_id: int
    generation: int

    def payload(self) -> list[int]:
        return [self.debtor_id, self.message_id, self.generation]

    @classmethod
    def from_payload(cls, value) -> LinkClaims | None:
        """The claims of a signed payload, or None when it is not one of ours."""
        if (not isinstance(value, list) or len(value) != 3
                or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value)):
            return None
        return cls(*value)


def valid_for(claims: LinkClaims | None, current_generation: int | None) -> bool:
    """A link holds while its debtor exists and its generation is the debtor's current one."""
    return claims is not None and current_generation is not None and claims.generation == current_generation


def key_problem(key: str | None) -> str | None:
    """Why a signing key must not be used (empty, short, a placeholder, too few different characters),
    or None when it will do."""
    key = (key or "").strip()
    if not key:
        return "no signing key is set"
    if len(key) < MIN_KEY_LENGTH:
        return f"the signing key is shorter than {MIN_KEY_LENGTH} characters"
    lowered = key.lower()
    if any(word in lowered for word in PLACEHOLDER_KEYS):
        return "the signing key looks like a placeholder"
    if len(set(key)) < 12:
        return "the signing key repeats too few characters to be secret"
    return None


def clean_base_url(url: str | None) -> str | None:
    """The portal's public address without a trailing slash, or None when it is not set; a value that is
    not an http(s) address is refused."""
    url = (url or "").strip().rstrip("/")
    if not url:
        return None
    if not re.fullmatch(r"https?://[A-Za-z0-9.-]+(:\d{1,5})?(/[A-Za-z0-9._~/-]*)?", url):
        raise PortalError(N_("the portal address '{url}' is not a web address such as https://pay.example.com"),
                          url=url)
    return url


def link(base_url: str, token: str) -> str:
    return f"{base_url}/?t={token}"


# --- what a debtor types ------------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u2028\u2029]")


def clean_free_text(value: str | None, *, most: int = MAX_REASON, required: bool = False) -> str:
    """A text typed by a debtor: control characters removed, stripped, at most `most` characters. Stored
    and shown as text, never as Markdown or HTML."""
    text = _CONTROL.sub("", value or "").strip()
    if required and not text:
        raise PortalError(N_("please describe the problem in a few words"))
    if len(text) > most:
        raise PortalError(N_("the text is longer than {most} characters; please shorten it"), most=most)
    return text


def dispute_reason(code: str, text: str | None) -> str:
    """The reason of a dispute as stored: the chosen reason in English, then what the debtor wrote."""
    if code not in DISPUTE_REASONS:
        raise PortalError(N_("choose a reason from the list"))
    typed = clean_free_text(text, required=code == "other")
    return DISPUTE_REASONS[code] + (f": {typed}" if typed else "")


def check_promise_date(promised: date, today: date, horizon_days: int) -> None:
    """A promise from the portal is for today or a day within the horizon a person set."""
    if promised < today:
        raise PortalError(N_("the date is in the past; choose today or a later day"))
    if promised > today + timedelta(days=horizon_days):
        raise PortalError(N_("choose a date at most {days} days ahead; for a later date, propose a payment plan"),
                          days=horizon_days)


def check_paid(paid_on: date, amount_cents: int | None, open_cents: int, today: date) -> None:
    """'I have paid': on a day not in the future (nor long ago), for an amount above zero when given."""
    if paid_on > today:
        raise PortalError(N_("the payment date is in the future; use 'promise to pay' for a payment still to come"))
    if paid_on < today - timedelta(days=PAID_LOOKBACK_DAYS):
        raise PortalError(N_("the payment date is more than {days} days ago; please contact us"), days=PAID_LOOKBACK_DAYS)
    if amount_cents is not None and amount_cents <= 0:
        raise PortalError(N_("the amount must be more than zero"))
    if amount_cents is not None and amount_cents > max(open_cents, 0) * 10:
        raise PortalError(N_("the amount is far more than is open; check the amount"))


def new_address(value: str | None) -> str:
    """One e-mail address for the reminders, by the one address check there is."""
    try:
        return contacts.check_address(value or "")
    except contacts.AddressError:
        raise PortalError(N_("'{address}' is not a valid e-mail address"), address=(value or "").strip()[:MAX_NAME]) \
            from None


def invoice_status(disputed: bool, promised: bool, in_plan: bool, paid_reported: bool) -> str:
    """How the debtor sees an open invoice: a dispute first, then a plan, a promise, a reported payment."""
    if disputed:
        return STATUS_DISPUTED
    if in_plan:
        return STATUS_PLAN
    if promised:
        return STATUS_PROMISED
    if paid_reported:
        return STATUS_PAID
    return STATUS_OPEN
