"""A message's states and the only ways it moves between them."""

from __future__ import annotations

from datetime import datetime, timedelta

from receivables.domain.translation import N_

UNSENT = ("proposed", "approved", "postponed")
# every status a message can have, as its reader calls it
STATUS_LABELS = {"proposed": N_("proposed"), "approved": N_("approved"), "postponed": N_("postponed"),
                 "blocked": N_("blocked"), "sending": N_("sending"), "exported": N_("exported"), "sent": N_("sent"),
                 "failed": N_("failed"), "cancelled": N_("cancelled")}
IN_FLIGHT = (*UNSENT, "sending", "failed", "exported")  # the invoice waits at this step
REACHED = (*IN_FLIGHT, "sent", "blocked")  # the step counts as taken (blocked: skipped by a person)

# Every status change follows one of these tables. People (`transition`) and the reminder engine: the
# first; the sender does approved → sending → sent | failed itself.
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    "proposed": frozenset({"approved", "postponed", "blocked", "cancelled", "sent"}),  # sent: a call made
    "postponed": frozenset({"proposed", "approved", "blocked", "cancelled"}),
    "approved": frozenset({"sending", "proposed", "postponed", "blocked", "cancelled", "sent"}),
    "sending": frozenset({"sent", "failed"}),
    # written to the outbox folder: sent once a person says it went out (`sending.mark_sent`)
    "exported": frozenset({"sent", "cancelled"}),
    "failed": frozenset({"approved", "cancelled"}),
    "sent": frozenset(),
    "blocked": frozenset(),
    "cancelled": frozenset(),
}
# The sender may also: write a message in `sending` to the outbox folder (exported), put it back to approved (a retry, a run that stopped before
# its conversation began, a person's "send it again" after checking, `confirm_resend`), and fail an
# approved message whose address is unusable. A person can never move a message out of `sending`
# through the queue: only the sender knows whether it went out.
SENDER_TRANSITIONS: dict[str, frozenset[str]] = {
    **ALLOWED_TRANSITIONS,
    "approved": ALLOWED_TRANSITIONS["approved"] | {"failed"},
    "sending": ALLOWED_TRANSITIONS["sending"] | {"approved", "exported"},
}
# What a person (queue page or CLI) can do, and the status it leads to.
ACTIONS = {"approve": "approved", "postpone": "postponed", "block": "blocked", "unpostpone": "proposed",
           "unapprove": "proposed", "called": "sent"}
CALL_ONLY = {"called"}

# A bounce read from the team mailbox says a message that left us never arrived: from these states it
# becomes failed ("address bounced"), and a person sends it again to a corrected address or cancels it.
BOUNCES_FROM = frozenset({"sent", "sending", "exported"})


SEND_AGAIN = N_("send again, said {actor}")  # a person's verdict on a mail in doubt: it did not arrive
ON_ITS_WAY = timedelta(minutes=5)  # a mail handed to a sender this recently may still be in its hands


def on_its_way(last_error: str | None, handed_at: datetime, now: datetime) -> bool:
    """A mail in `sending` that was handed over moments ago without a problem: a sender may still be at it, so
    a person should wait before saying whether it went out."""
    return last_error is None and now - handed_at < ON_ITS_WAY
