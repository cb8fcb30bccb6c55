"""Why a reminder was proposed, kept as a message id with parameters: stored with the message and worded by
whoever reads it, in their language; a reason stored as English words before stays those words."""

import logging
from datetime import date, timedelta

import pytest

from receivables.domain import phrases, planning, tracks
from receivables.domain.phrases import Phrase, Term
from receivables.domain.tracks import Step, Track
from ui import i18n
from ui.phrases import said

RULES = tracks.default_rules()
TRACKS = tracks.default_tracks()
DISPUTED = {"open_disputes": 9, "invoices_paid": 10, "avg_days_late": 12, "share_paid_late": 0.6}
LATE = {"avg_days_late": 41.25, "share_paid_late": 0.8, "invoices_paid": 12}
ON_TIME = {"invoices_paid": 10, "avg_days_late": 2, "share_paid_late": 0.1}


def reason(signals, override=None) -> Phrase:
    return tracks.choose_track(signals, RULES, override, TRACKS)[1]


def caught_up(days: int = 412) -> Phrase:
    """The reason a run gives a message for an invoice first seen long past due."""
    track = Track("standard", "Standard", (Step("reminder", "reminder", 7), Step("demand", "demand", 30)))
    cfg = planning.PlanSettings({"standard": track})
    due = date(2024, 1, 31)
    invoice = planning.OpenInvoice(1, "F-1", 1, "EUR", due - timedelta(days=30), due, 100_00, 100_00, False, None,
                                   "", first_seen=due + timedelta(days=days))
    today = invoice.first_seen
    run = planning.Run(today, cfg, [invoice], {1: planning.DebtorFacts(1, email="a@b.nl")},
                       {1: ("standard", reason(DISPUTED))})
    (message,) = planning.plan(run).create
    return message.reason


@pytest.fixture
def reader():
    """Words as a person reading in a language sees them (the session's language put back after); outside
    a page the session is Streamlit's bare one, which says so on every read."""
    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").setLevel(logging.ERROR)
    before = i18n.current()

    def read(words, lang):
        i18n.use(lang)
        return said(words)
    yield read
    i18n.use(before)


@pytest.mark.parametrize("words, english, dutch", [
    (reason(DISPUTED), "Has an invoice in dispute (open disputes 9)",
     "Heeft een betwiste factuur (Betwiste facturen: 9)"),
    (reason(LATE), "Pays a month or more late on average (avg days late 41.2)",
     "Betaalt gemiddeld een maand of meer te laat (Gemiddeld aantal dagen te laat betaald: 41,2)"),
    (reason(ON_TIME), "Pays on time or nearly (avg days late 2.0, share paid late 10%)",
     "Betaalt op tijd of bijna (Gemiddeld aantal dagen te laat betaald: 2,0, Deel te laat betaald (%): 10)"),
    (reason({}, "strict"), "Track strict set by hand for this debtor",
     "Traject Streng met de hand ingesteld voor deze debiteur"),
    (planning.review_reason(3, False, 50), "the first run on this ledger (3 message(s))",
     "de eerste run op deze administratie (3 bericht(en))"),
    (planning.review_reason(51, True, 50), "51 messages at once, more than the limit of 50",
     "51 berichten tegelijk, meer dan de grens van 50"),
])
def test_a_reason_reads_in_the_readers_language_and_in_english_on_the_command_line(words, english, dutch, reader):
    stored = phrases.load(phrases.dump(words))
    assert stored == words
    assert str(stored) == english  # the command line's words, as before reasons were kept so
    assert reader(stored, "nl") == dutch


def test_the_english_screen_names_the_signals_as_the_rule_editor_does(reader):
    assert reader(reason(DISPUTED), "en") == "Has an invoice in dispute (Invoices in dispute: 9)"
    assert reader(reason({}, "strict"), "en") == "Track Strict set by hand for this debtor"


def test_a_catch_up_reason_words_its_step_and_the_track_reason_inside_it(reader):
    words = phrases.load(phrases.dump(caught_up(412)))
    assert str(words) == ("First seen 412 days past due: enters at demand, for a person to approve. "
                          "Has an invoice in dispute (open disputes 9)")
    assert reader(words, "nl") == ("Voor het eerst gezien 412 dagen na de vervaldatum: begint bij Aanmaning, ter "
                                   "goedkeuring. Heeft een betwiste factuur (Betwiste facturen: 9)")
    assert reader(words, "en").startswith("First seen 412 days past due: enters at Demand, for a person")


def test_a_rule_a_person_wrote_keeps_its_own_words_in_every_language(reader):
    rules = tracks.parse_rules([{"track": "strict", "when": "open_disputes >= 1", "label": "Geschil: bellen"},
                                {"track": "standard", "when": "", "label": "Alle anderen"}], set(TRACKS))
    words = tracks.choose_track({"open_disputes": 2}, rules, None, TRACKS)[1]
    assert reader(words, "nl") == "Geschil: bellen (Betwiste facturen: 2)"
    assert reader(words, "en") == "Geschil: bellen (Invoices in dispute: 2)"


@pytest.mark.parametrize("stored", [
    "Has an invoice in dispute (open disputes 9)",  # stored before reasons were kept as message ids
    "First seen 412 days past due: enters at demand, for a person to approve. Default track",
    "",
    None,
    '{"phrase": not json',  # anything else that does not read as a phrase is shown as it is
    '{"phrase": [1, 2]}',
])
def test_a_reason_stored_as_words_before_is_shown_as_it_was_stored(stored, reader):
    words = phrases.load(stored)
    assert words == (stored or "")
    assert reader(words, "nl") == (stored or "") == reader(words, "en")


def test_a_stored_reason_is_json_with_the_message_id_and_its_parameters():
    stored = phrases.dump(reason(DISPUTED))
    assert stored.startswith('{"phrase":') and "{rule} ({facts})" in stored and "open_disputes" in stored
    assert phrases.load(stored).params["facts"] == Term("facts", "open_disputes", "open disputes 9",
                                                         [["open_disputes", 9.0]])
