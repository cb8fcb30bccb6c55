"""Phone calls to a debtor: the one list of outcomes a collector records (in the dossier, from the call list
of the queue and on the command line), and what a call note needs. Pure."""

from __future__ import annotations

from receivables.domain.dossier import RuleError, clean_text
from receivables.domain.translation import N_

CALL_OUTCOMES = ("reached", "no answer", "voicemail", "wrong number", "call back")
# the outcomes as a screen offers them (worded in the reader's language there)
OUTCOME_LABELS = {"reached": N_("reached"), "no answer": N_("no answer"), "voicemail": N_("voicemail"),
                  "wrong number": N_("wrong number"), "call back": N_("call back")}
SUMMARY_NEEDED = ("reached",)  # when the debtor was spoken to, what was said is the point of the note


class CallError(RuleError):
    pass


def call_note(outcome: str, summary: str | None) -> str:
    """The note of a call with this outcome: its summary, stripped. CallError for an unknown outcome, or for
    a call that reached the debtor without a word of what was said."""
    if outcome not in CALL_OUTCOMES:
        raise CallError("call outcome '{outcome}' is unknown; choose one of: {outcomes}", outcome=outcome,
                        outcomes=", ".join(CALL_OUTCOMES))
    try:
        return clean_text(summary, "the call summary", required=outcome in SUMMARY_NEEDED)
    except RuleError as exc:
        raise CallError(exc.msgid, **exc.params) from None
