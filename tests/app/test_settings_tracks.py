"""The track editor on the Settings page: steps, channels, costs and approval in words, and the rules that
choose a debtor's track built from choices, checked before they are saved."""

import json
import re

import pytest
from streamlit.testing.v1 import AppTest

from db.uow import UnitOfWork
from receivables.domain import costs as costing
from receivables.domain import tracks
from receivables.services import audit, reminder_settings
from receivables.services.settings import get_setting, put_setting
from tests.app.login import log_in
from tests.conftest import ROOT

WORDS = {
    "nl": {"steps": ["Attentiebericht", "Eerste herinnering", "Tweede herinnering", "Bellen", "Aanmaning",
                     "Ingebrekestelling", "Overdracht aan incassobureau"],
           "channels": ["E-mail", "Bellen", "Brief"], "costs": "Met incassokosten", "approval": "Wacht op goedkeuring",
           "signal": "Gemiddeld aantal dagen te laat betaald", "op": "minstens", "track": "Streng",
           "add": "Regel toevoegen", "save": "Regels opslaan"},
    "en": {"steps": ["Courtesy notice", "First reminder", "Second reminder", "Phone call", "Demand", "Final notice",
                     "Hand-over to collection"],
           "channels": ["E-mail", "Phone call", "Letter"], "costs": "With collection costs",
           "approval": "Waits for approval", "signal": "Average days paid late", "op": "at least", "track": "Strict",
           "add": "Add a rule", "save": "Save rules"},
}
# a debtor who pays late often but not by a month on average: none of the shipped rules but the last fits
SLOW_PAYER = {"invoices_paid": 10, "avg_days_late": 12, "share_paid_late": 0.6, "share_paid_late_30": 0.5}


def open_settings(language: str) -> AppTest:
    at = log_in(AppTest.from_file(str(ROOT / "pages" / "settings.py"), default_timeout=60), "admin", "admin",
                language=language)
    at.run()
    assert not at.exception
    return at


def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def stored_rules(engine):
    with UnitOfWork(engine) as uow:
        return get_setting(uow.session, reminder_settings.RULES_KEY)


def rule_keys(at: AppTest) -> list[int]:
    """The ids of the rules on the screen, top to bottom."""
    return [int(s.key.split("_")[1]) for s in at.selectbox if s.key and s.key.endswith("_track")]


@pytest.mark.parametrize("language", ["nl", "en"])
def test_the_track_editor_shows_steps_channels_costs_and_approval_in_words(engine, language):
    words = WORDS[language]
    at = open_settings(language)
    columns = json.loads(at.data_editor[0].proto.columns)
    assert [o["label"] for o in columns["template"]["type_config"]["options"]] == words["steps"]
    assert [o["label"] for o in columns["channel"]["type_config"]["options"]] == words["channels"]
    assert (columns["charges_costs"]["label"], columns["needs_approval"]["label"]) == (words["costs"],
                                                                                     words["approval"])
    assert "key" not in at.data_editor[0].proto.column_order  # a step's inner name stays out of sight
    first = rule_keys(at)[1]  # the second shipped rule: avg_days_late >= 30 -> strict
    signal = at.selectbox(key=f"rule_{first}_c0_signal")
    assert signal.format_func(signal.value) == words["signal"]
    assert at.selectbox(key=f"rule_{first}_c0_op").format_func(">=") == words["op"]
    assert at.selectbox(key=f"rule_{first}_track").format_func("strict") == words["track"]
    assert at.number_input(key=f"rule_{first}_c0_value_avg_days_late").value == 30
    shown = [*(o for s in at.selectbox for o in s.options), *(m.value for m in at.markdown)]
    snake = [k for k in (*tracks.TEMPLATES, *tracks.SIGNALS, *tracks.CHANNELS) if "_" in k or k == "email"]
    # whole words: a Dutch word may hold one ("gemaild" holds "email")
    assert not [s for s in shown if any(re.search(rf"\b{re.escape(k)}\b", s) for k in snake)]


@pytest.mark.parametrize("language", ["nl", "en"])
def test_a_rule_built_from_choices_is_saved_and_chooses_the_track(engine, language):
    words = WORDS[language]
    at = open_settings(language)
    at = button(at, words["add"]).click().run()
    new = rule_keys(at)[-2]  # added above the rule for every other debtor
    at.selectbox(key=f"rule_{new}_track").select("strict")
    at = at.selectbox(key=f"rule_{new}_c0_signal").select("share_paid_late_30").run()
    at.selectbox(key=f"rule_{new}_c0_op").select(">=")
    at.number_input(key=f"rule_{new}_c0_value_share_paid_late_30").set_value(40.0)
    at.text_input(key=f"rule_{new}_label").input("Often a month late")
    at = button(at, words["save"]).click().run()
    assert not at.exception and not at.error
    with UnitOfWork(engine) as uow:
        cfg = reminder_settings.load_settings(uow.session)
        log = audit.audit_log(uow)
    assert cfg.rules[-2] == tracks.Rule("strict", "share_paid_late_30 >= 0.4", "Often a month late",
                                        (("share_paid_late_30", ">=", 0.4),))
    track, why = tracks.choose_track(SLOW_PAYER, cfg.rules)
    assert (track, str(why)) == ("strict", "Often a month late (share paid 30+ days late 50%)")
    assert len(cfg.rules) == len(tracks.default_rules()) + 1  # the shipped rules kept, in their words
    assert [r.label for r in cfg.rules[:-2]] == [r.label for r in tracks.default_rules()[:-1]]
    assert (log.iloc[0]["actor"], log.iloc[0]["entity_id"]) == ("admin", reminder_settings.RULES_KEY)


def test_a_rule_without_a_reason_is_given_its_conditions_in_words(engine):
    at = open_settings("nl")
    at = button(at, "Regel toevoegen").click().run()
    new = rule_keys(at)[-2]
    at = at.selectbox(key=f"rule_{new}_c0_signal").select("highest_step").run()
    at.selectbox(key=f"rule_{new}_c0_value_highest_step").select(4)  # demand
    at = button(at, "Regels opslaan").click().run()
    assert not at.error
    assert stored_rules(engine)[-2] == {"track": "standard", "when": "highest_step >= 4",
                                        "label": "Hoogste bereikte stap minstens Aanmaning"}


@pytest.mark.parametrize("change, message", [
    ({"signal": "share_paid_late", "value": 150.0}, "een aandeel is een percentage tussen 0 en 100"),
    ({"signal": "broken_promises", "value": -1}, "een waarde kan niet onder 0 liggen"),
    ({"signal": "", "value": None}, "regel 1 heeft geen voorwaarden, dus de regels eronder worden nooit gebruikt"),
])
def test_an_impossible_rule_is_refused_with_what_to_fix_and_changes_nothing(engine, change, message):
    at = open_settings("nl")
    first = rule_keys(at)[0]
    at = at.selectbox(key=f"rule_{first}_c0_signal").select(change["signal"]).run()
    if change["value"] is not None:
        at.number_input(key=f"rule_{first}_c0_value_{change['signal']}").set_value(change["value"])
    at = button(at, "Regels opslaan").click().run()
    assert not at.exception
    assert [e.value for e in at.error] and message in at.error[0].value
    assert stored_rules(engine) is None
    with UnitOfWork(engine) as uow:
        assert audit.audit_log(uow, action="setting.change").empty


def test_rules_saved_as_expressions_are_shown_as_choices_and_kept_when_saved_again(engine):
    old = [{"track": "strict", "when": "avg_days_late >= 20 and share_paid_late <= 0.25", "label": "Late, seldom"},
           {"track": "friendly", "when": "", "label": "Everyone else"}]
    with UnitOfWork(engine) as uow:
        put_setting(uow.session, reminder_settings.RULES_KEY, old, "someone")
        uow.commit()
    at = open_settings("en")
    first, last = rule_keys(at)
    assert [at.selectbox(key=f"rule_{first}_c{j}_signal").value for j in (0, 1, 2)] == [
        "avg_days_late", "share_paid_late", ""]
    assert at.selectbox(key=f"rule_{first}_c1_op").format_func("<=") == "at most"
    assert at.number_input(key=f"rule_{first}_c1_value_share_paid_late").value == 25
    assert at.text_input(key=f"rule_{last}_label").value == "Everyone else"
    at = button(at, "Save rules").click().run()
    assert not at.error
    assert stored_rules(engine) == old


def test_a_step_changed_in_the_track_editor_is_saved_with_its_name_kept(engine):
    at = open_settings("en")
    editor = at.data_editor[0]  # the friendly track: reminder, second reminder, call, demand
    at.session_state[editor.key] = {"edited_rows": {1: {"channel": "letter"}},
                                    "added_rows": [{"template": "final_notice", "offset": 60, "channel": "letter",
                                                    "charges_costs": True, "needs_approval": True}],
                                    "deleted_rows": []}
    at = button(at.run(), "Save tracks").click().run()
    assert not at.error
    with UnitOfWork(engine) as uow:
        friendly = reminder_settings.load_settings(uow.session).tracks["friendly"]
    assert [(s.key, s.template, s.channel) for s in friendly.steps] == [
        ("reminder", "reminder", "email"), ("second_reminder", "second_reminder", "letter"), ("call", "call", "call"),
        ("demand", "demand", "email"), ("final_notice", "final_notice", "letter")]
    assert at.success[0].value == "Tracks saved. New messages follow them."
    assert len(at.data_editor[0].value) == 5  # the added step shown once, not again as a pending edit
    at = button(at, "Save tracks").click().run()  # saving again changes nothing
    with UnitOfWork(engine) as uow:
        assert len(reminder_settings.load_settings(uow.session).tracks["friendly"].steps) == 5


def test_rates_read_in_dutch_and_saved_from_the_dutch_screen_keep_their_shipped_sources(engine):
    at = open_settings("nl")
    rates = next(e for e in at.data_editor if e.key.startswith(f"rates_{costing.COMMERCIAL}"))
    assert rates.value["source"].iloc[0] == "ECB-herfinancieringsrente 3,35 % vóór 01-12-2002 + 7 procentpunt (art. 6:120 lid 2 BW)"
    at = at.button(key=f"save_rates_{costing.COMMERCIAL}").click().run()
    assert not at.error
    with UnitOfWork(engine) as uow:
        stored = get_setting(uow.session, reminder_settings.RATES_KEY)
    assert [row[2] for row in stored] == [r.source for r in costing.DEFAULT_RATE_TABLES[costing.COMMERCIAL]]


def test_a_step_inside_the_previous_letters_term_is_refused_in_words_and_nothing_is_saved(engine):
    at = open_settings("nl")
    strict = next(e for e in at.data_editor if e.key.startswith("track_strict"))  # courtesy, reminder, call, demand, final ...
    at.session_state[strict.key] = {"edited_rows": {4: {"offset": 29}}, "added_rows": [], "deleted_rows": []}
    at = button(at.run(), "Trajecten opslaan").click().run()
    assert not at.exception
    assert at.error[0].value == ("traject Streng: stap Ingebrekestelling (dag 29) zou verstuurd worden voordat de "
                                 "termijn van 14 dagen van Aanmaning (dag 15) is verstreken; geef die stap minstens "
                                 "dag 30")
    with UnitOfWork(engine) as uow:
        assert get_setting(uow.session, reminder_settings.TRACKS_KEY) is None
