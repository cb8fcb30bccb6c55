"""The one list of call outcomes, and what a call note needs."""

import pytest

from receivables.domain import calls


def test_the_outcomes_are_the_ones_a_collector_meets():
    assert calls.CALL_OUTCOMES == ("reached", "no answer", "voicemail", "wrong number", "call back")


@pytest.mark.parametrize("outcome, summary, says", [
    ("reached", "Betaalt vrijdag.", None),
    ("reached", "", "the call summary is empty"),
    ("reached", "   ", "the call summary is empty"),
    ("no answer", "", None),
    ("voicemail", "", None),
    ("wrong number", "", None),
    ("call back", "", None),
    ("call back", "na 14:00", None),
    ("answered", "x", "call outcome 'answered' is unknown; choose one of: reached, no answer, voicemail"),
    ("", "x", "call outcome '' is unknown"),
    ("Reached", "x", "call outcome 'Reached' is unknown"),
])
def test_a_call_needs_a_known_outcome_and_a_summary_when_the_debtor_was_reached(outcome, summary, says):
    if says is None:
        assert calls.call_note(outcome, summary) == summary.strip()
    else:
        with pytest.raises(calls.CallError, match=says):
            calls.call_note(outcome, summary)


def test_a_refused_call_names_its_message_and_parameters_for_translation():
    with pytest.raises(calls.CallError) as refused:
        calls.call_note("answered", "")
    assert refused.value.msgid == "call outcome '{outcome}' is unknown; choose one of: {outcomes}"
    assert refused.value.params["outcome"] == "answered"
