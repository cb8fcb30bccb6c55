from datetime import date, timedelta

import pytest

from receivables.domain import tracks
from receivables.domain.tracks import Reached, Step, Track, TrackError, choose_track, next_step

DUE = date(2026, 5, 1)
STANDARD = tracks.default_tracks()["standard"]  # -3, +1, +14, +21, +30, +45, +60


def d(days: int) -> date:
    return DUE + timedelta(days=days)


def test_the_shipped_tracks_have_the_documented_offsets():
    t = tracks.default_tracks()
    assert [s.offset for s in t["friendly"].steps] == [3, 17, 30, 45]
    assert [s.offset for s in t["standard"].steps] == [-3, 1, 14, 21, 30, 45, 60]
    # the final notice after the demand's 14-day term, the hand-over after the final notice's
    assert [s.offset for s in t["strict"].steps] == [-5, 1, 8, 15, 30, 45]
    assert [s.key for s in t["standard"].steps if s.charges_costs] == ["demand", "final_notice", "handover"]
    assert t["standard"].steps[3].channel == "call"


# reached: None or (index, days after due it went out, None = still in the queue); today in days after due
@pytest.mark.parametrize("reached, today, expected", [
    (None, -10, None),                      # nothing yet: the courtesy notice is 3 days before due
    (None, -3, (0, -3)),                    # courtesy notice on its day
    (None, -1, (0, -1)),                    # a courtesy notice a little late is still before due
    (None, 0, (0, 0)),                      # on the due date the invoice is not yet overdue
    (None, 1, (1, 1)),                      # after due: the courtesy notice is passed over, not sent late
    (None, 40, (1, 40)),                    # catch-up after an outage: the first missing step, today
    ((0, -3), 0, None),                     # reminder not before due + 1
    ((0, -3), 1, (1, 1)),
    ((0, -1), 1, None),                     # a late courtesy notice pushes the reminder back (4 days gap)
    ((0, -1), 3, (1, 3)),
    ((1, 1), 14, (2, 14)),                  # second reminder on +14
    ((1, 5), 14, None),                     # reminder went out 4 days late: second reminder 4 days later
    ((1, 5), 18, (2, 18)),
    ((1, 5), 60, (2, 60)),                  # long outage: still the very next step, never two at once
    ((2, 14), 21, (3, 21)),                 # call task
    ((3, 21), 30, (4, 30)),                 # demand
    ((4, 30), 45, (5, 45)),                 # final notice
    ((5, 45), 60, (6, 60)),                 # hand-over
    ((6, 60), 400, None),                   # the track is done
    ((2, None), 60, None),                  # the previous step still waits in the queue
])
def test_a_step_is_due_after_its_offset_and_the_gap_since_the_previous_send(reached, today, expected):
    r = None if reached is None else Reached(reached[0], None if reached[1] is None else d(reached[1]))
    got = next_step(STANDARD, DUE, r, d(today))
    assert got == (None if expected is None else (expected[0], d(expected[1])))


def test_lookahead_proposes_tomorrows_step_for_tomorrow():
    assert next_step(STANDARD, DUE, Reached(1, d(1)), d(13), lookahead=1) == (2, d(14))
    assert next_step(STANDARD, DUE, Reached(1, d(1)), d(12), lookahead=1) is None


def test_a_courtesy_notice_that_would_land_after_the_due_date_is_passed_over():
    strict = tracks.default_tracks()["strict"]
    assert next_step(strict, DUE, None, d(-5)) == (0, d(-5))
    assert next_step(strict, DUE, None, d(2)) == (1, d(2))


def test_a_step_reached_in_another_track_maps_by_escalation():
    strict = tracks.default_tracks()["strict"]  # courtesy, reminder, call, demand, final, hand-over
    second_reminder = tracks.TEMPLATES.index("second_reminder")
    assert strict.index_for_rank(second_reminder) == 1  # strict has no second reminder: at its reminder
    assert strict.index_for_rank(tracks.TEMPLATES.index("demand")) == 3


SIGNALS_LATE = {"avg_days_late": 41.2, "share_paid_late": 0.8, "invoices_paid": 12}


@pytest.mark.parametrize("signals, override, track, reason_part", [
    (SIGNALS_LATE, None, "strict", "avg days late 41.2"),
    ({"broken_promises": 2, "invoices_paid": 20}, None, "strict", "broken promises 2"),
    ({"highest_step": 5, "invoices_paid": 20, "avg_days_late": 3}, None, "strict", "final notice"),
    ({"invoices_paid": 1}, None, "standard", "too little payment history"),
    ({"invoices_paid": 10, "avg_days_late": 2, "share_paid_late": 0.1}, None, "friendly", "on time"),
    ({"invoices_paid": 10, "avg_days_late": 2, "share_paid_late": 0.1, "open_disputes": 1}, None, "standard", "dispute"),
    ({"invoices_paid": 10, "avg_days_late": 12, "share_paid_late": 0.6}, None, "standard", "Default"),
    (SIGNALS_LATE, "friendly", "friendly", "set by hand"),
])
def test_the_first_matching_rule_chooses_the_track_and_says_why(signals, override, track, reason_part):
    got, reason = choose_track(signals, tracks.default_rules(), override, tracks.default_tracks())
    assert got == track
    assert reason_part in str(reason)


@pytest.mark.parametrize("rules, message", [
    ([{"track": "nope", "when": ""}], "does not exist"),
    ([{"track": "strict", "when": "avg_days_late >= 30"}], "last rule"),
    ([{"track": "strict", "when": "avg_days_late is high"}, {"track": "standard", "when": ""}], "not a condition"),
    ([{"track": "strict", "when": "mood >= 3"}, {"track": "standard", "when": ""}], "unknown signal"),
])
def test_a_bad_rule_is_refused_with_what_to_fix(rules, message):
    with pytest.raises(TrackError, match=message):
        tracks.parse_rules(rules, {"strict", "standard"})


@pytest.mark.parametrize("steps, message", [
    ([{"key": "a", "template": "reminder", "offset": 5}, {"key": "b", "template": "demand", "offset": 5}], "increase"),
    ([{"key": "a", "template": "letterbomb", "offset": 5}], "template"),
    ([{"key": "a", "template": "reminder", "offset": 5, "channel": "fax"}], "channel"),
    ([{"key": "a", "template": "reminder", "offset": "soon"}], "whole number"),
    ([], "no steps"),
])
def test_a_bad_track_is_refused_with_what_to_fix(steps, message):
    with pytest.raises(TrackError, match=message):
        tracks.parse_tracks([{"key": "custom", "steps": steps}])


def test_tracks_survive_a_round_trip_through_their_stored_form():
    t = tracks.default_tracks()
    assert tracks.parse_tracks(tracks.tracks_to_data(t)) == t


def test_a_track_with_an_unknown_tone_writes_in_the_standard_tone():
    t = Track("vip", "VIP", (Step("r", "reminder", 3),))
    assert t.tone == "standard"


# --- a step never goes out inside the term the previous letter gave --------------------------------------

def track_of(*steps):
    return Track("t", "T", tuple(Step(key, template, offset, channel) for key, template, offset, channel in steps))


@pytest.mark.parametrize("steps, problem", [
    # the old strict track: the final notice on the demand's deadline day, the hand-over 6 days into its term
    ([("demand", "demand", 15, "email"), ("final_notice", "final_notice", 29, "email")],
     "final_notice (day 29) would go out before the 14-day term of demand (day 15) has run out; give it an "
     "offset of at least 30"),
    ([("final_notice", "final_notice", 30, "email"), ("handover", "handover", 35, "email")],
     "at least 45"),
    ([("reminder", "reminder", 1, "email"), ("second_reminder", "second_reminder", 7, "email")], "at least 9"),
    # a call in between gives no term of its own and does not end the letter's
    ([("demand", "demand", 15, "email"), ("call", "call", 20, "call"), ("final", "final_notice", 25, "letter")],
     "final (day 25)"),
])
def test_a_step_inside_the_previous_letters_term_is_refused(steps, problem):
    problems = tracks.term_problems(track_of(*steps))
    assert len(problems) == 1 and problem in str(problems[0])
    with pytest.raises(TrackError, match="would go out before"):
        tracks.check_terms({"t": track_of(*steps)})


@pytest.mark.parametrize("steps", [
    [("courtesy", "courtesy", -3, "email"), ("reminder", "reminder", 1, "email")],
    [("reminder", "reminder", 1, "email"), ("call", "call", 3, "call"), ("second", "second_reminder", 9, "email")],
    [("demand", "demand", 15, "email"), ("final_notice", "final_notice", 30, "email"),
     ("handover", "handover", 45, "email")],
])
def test_a_step_the_day_after_the_term_ran_out_is_accepted(steps):
    assert tracks.term_problems(track_of(*steps)) == []


def test_every_shipped_track_respects_the_terms_of_its_letters():
    assert all(tracks.term_problems(t) == [] for t in tracks.default_tracks().values())


def test_a_stored_track_from_before_the_check_still_waits_for_the_term():
    old_strict = track_of(("demand", "demand", 15, "email"), ("final_notice", "final_notice", 29, "email"),
                          ("handover", "handover", 35, "email"))
    # demand sent on day 15: its term runs to day 29, so the final notice comes on day 30 at the earliest
    assert next_step(old_strict, DUE, Reached(0, d(15)), d(29)) is None
    assert next_step(old_strict, DUE, Reached(0, d(15)), d(30)) == (1, d(30))
    assert next_step(old_strict, DUE, Reached(1, d(30)), d(36)) is None
    assert next_step(old_strict, DUE, Reached(1, d(30)), d(45)) == (2, d(45))


@pytest.mark.parametrize("template, channel", [("reminder", "email"), ("second_reminder", "letter"),
                                               ("courtesy", "email"), ("call", "call"), ("demand", "call")])
def test_costs_on_a_step_that_cannot_be_a_consumers_14_day_letter_are_refused(template, channel):
    t = Track("t", "T", (Step("s", template, 10, channel, charges_costs=True),))
    with pytest.raises(TrackError, match="cannot charge costs: for a consumer costs only follow a 14-day letter"):
        tracks.check_terms({"t": t})


@pytest.mark.parametrize("template", tracks.WIK_TEMPLATES)
def test_costs_on_a_demand_final_notice_or_hand_over_are_accepted(template):
    assert tracks.cost_problems(Track("t", "T", (Step("s", template, 10, "letter", charges_costs=True),))) == []


CONSUMER_FIRST = Track("wik", "WIK", (Step("reminder", "reminder", 1), Step("letter14", "demand", 14, charges_costs=False),
                                      Step("demand", "demand", 30, charges_costs=True),
                                      Step("final_notice", "final_notice", 45, charges_costs=True)))


# first seen (days after due, None = followed from before the due date), cap, consumer -> entry step key
@pytest.mark.parametrize("track, seen, cap, consumer, expected", [
    (STANDARD, None, "demand", False, None),               # followed from its due date: never skipped
    (STANDARD, -10, "demand", False, None),                # seen before it fell due
    (STANDARD, 5, "demand", False, None),                  # only the first reminder passed: starts there
    (STANDARD, 14, "demand", False, "second_reminder"),
    (STANDARD, 25, "demand", False, "call"),
    (STANDARD, 412, "demand", False, "demand"),            # capped: final notice and hand-over are a person's
    (STANDARD, 412, "final_notice", False, "final_notice"),
    (STANDARD, 412, "handover", False, "handover"),
    (STANDARD, 412, "reminder", False, None),              # capped at the first step: no catch-up at all
    (STANDARD, 412, "handover", True, "demand"),           # a consumer: the first cost step is the 14-day letter
    (tracks.default_tracks()["friendly"], 40, "demand", False, "call"),
    (tracks.default_tracks()["strict"], 20, "demand", False, "demand"),
    (CONSUMER_FIRST, 412, "final_notice", True, "demand"),  # the cost step comes first, then the costs
])
def test_an_invoice_first_seen_long_past_due_enters_at_the_step_its_age_reached(track, seen, cap, consumer,
                                                                                expected):
    entry = tracks.catch_up_entry(track, DUE, None if seen is None else d(seen), cap, consumer)
    assert (None if entry is None else track.steps[entry].key) == expected


def test_conditions_given_as_choices_are_stored_as_the_expression_an_older_version_wrote():
    chosen = tracks.parse_rules([{"track": "strict", "label": "Late", "conditions": [
        {"signal": "avg_days_late", "op": ">=", "value": 30}, {"signal": "share_paid_late", "op": "<=", "value": 0.25}]},
        {"track": "standard", "conditions": []}], {"strict", "standard"})
    typed = tracks.parse_rules([{"track": "strict", "label": "Late",
                                 "when": "avg_days_late >= 30 and share_paid_late <= 0.25"},
                                {"track": "standard", "when": ""}], {"strict", "standard"})
    assert chosen == typed
    assert tracks.rules_to_data(chosen)[0]["when"] == "avg_days_late >= 30 and share_paid_late <= 0.25"


@pytest.mark.parametrize("conditions, problem", [
    ([("share_paid_late", ">=", 1.5)], "a share is a percentage between 0 and 100"),
    ([("broken_promises", ">=", -1)], "a value cannot be below 0"),
    ([("open_disputes", ">=", 1.5)], "whole number"),
    ([("highest_step", ">=", 7)], "no step above 6"),
    ([], "rule 1 has no conditions, so the rules below it are never used"),
])
def test_a_rule_that_can_never_be_meant_is_found_before_it_is_saved(conditions, problem):
    rules = [tracks.Rule("strict", tracks.condition_text(conditions), "x", tuple(conditions)),
             tracks.Rule("standard", "", "every debtor")]
    found = tracks.rule_problems(rules)
    assert len(found) == 1 and problem in str(found[0])
    assert tracks.rule_problems(tracks.default_rules()) == []
