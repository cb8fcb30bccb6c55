"""The tracks of all debtors at once (the ageing page's track column) are the tracks `choose_track` gives
one debtor at a time."""

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from receivables.domain import tracks
from receivables.domain.tracks import (
    choose_track,
    choose_track_keys,
    default_rules,
    default_tracks,
    parse_rules,
)

TRACKS = default_tracks()
CUSTOM = parse_rules([
    {"track": "friendly", "when": "debtor_age_days > 700 and share_paid_late_30 < 0.1"},
    {"track": "strict", "when": "open_disputes == 2"},
    {"track": "strict", "when": "invoices_paid >= 5 and avg_days_late > 12.5"},
    {"track": "friendly", "when": ""},
], set(TRACKS))

value = st.one_of(st.integers(0, 40), st.floats(0, 1), st.floats(-5, 60), st.just(math.nan), st.none())
debtor = st.dictionaries(st.sampled_from(list(tracks.SIGNALS)), value, max_size=len(tracks.SIGNALS))
override = st.one_of(st.none(), st.just(""), st.sampled_from(sorted(TRACKS)), st.just("gone"))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(debtor, override), max_size=40), st.sampled_from(["default", "custom"]))
def test_the_tracks_of_many_debtors_are_the_tracks_of_each_one(debtors, which):
    rules = default_rules() if which == "default" else CUSTOM
    columns = {name: [(s.get(name) or 0) for s, _ in debtors] for name in tracks.SIGNALS}
    keys = choose_track_keys(columns, rules, [o for _, o in debtors], TRACKS)
    assert list(keys) == [choose_track(s, rules, o, TRACKS)[0] for s, o in debtors]


def test_a_debtor_matching_no_rule_but_the_last_gets_the_last_rules_track():
    keys = choose_track_keys({"avg_days_late": [10.0], "share_paid_late": [0.9], "invoices_paid": [8]},
                             default_rules(), [None], TRACKS)
    assert list(keys) == ["standard"]


def test_no_debtors_no_tracks():
    assert list(choose_track_keys({}, default_rules(), [], TRACKS)) == []
