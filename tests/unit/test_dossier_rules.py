"""The dossier's own rules: what a note, a phone number and a postal address may be, an invoice's status,
the trend of payment behaviour and the flags in the header."""

from datetime import date

import pytest

from receivables.domain import dossier
from receivables.domain.dossier import PendingPromise, RuleError


@pytest.mark.parametrize("typed, required, expected", [
    ("  Betaalt vrijdag.  ", True, "Betaalt vrijdag."),
    ("", False, ""),
    (None, False, ""),
    ("", True, "the note is empty; type what was said or agreed"),
    ("   ", True, "the note is empty"),
    ("x" * 20_001, False, "the note is longer than 20,000 characters; shorten it"),
])
def test_a_note_is_stripped_and_refused_when_empty_or_too_long(typed, required, expected):
    if expected.startswith("the note"):
        with pytest.raises(RuleError, match=expected):
            dossier.clean_text(typed, "the note", required=required)
    else:
        assert dossier.clean_text(typed, "the note", required=required) == expected


@pytest.mark.parametrize("typed, expected", [
    ("+31 20 123 4567", "+31 20 123 4567"),
    ("  020-1234567 ", "020-1234567"),
    ("(020) 123.45.67", "(020) 123.45.67"),
    ("", None),
    (None, None),
    ("call me maybe", "not a phone number"),
    ("12345", "not a phone number"),  # too short to dial
])
def test_a_phone_number_is_digits_spaces_and_an_optional_plus(typed, expected):
    if expected == "not a phone number":
        with pytest.raises(RuleError, match=expected):
            dossier.clean_phone(typed)
    else:
        assert dossier.clean_phone(typed) == expected


@pytest.mark.parametrize("typed, expected", [
    ("  Kerkstraat 1 \n\n1234 AB  Amsterdam\n", "Kerkstraat 1\n1234 AB  Amsterdam"),
    ("\n".join(f"regel {i}" for i in range(6)), "\n".join(f"regel {i}" for i in range(6))),
    ("\n".join(f"regel {i}" for i in range(7)), "at most 6 lines"),
    ("x" * 501, "at most 6 lines"),
    ("", None),
])
def test_a_postal_address_must_fit_a_letters_window(typed, expected):
    if expected == "at most 6 lines":
        with pytest.raises(RuleError, match=expected):
            dossier.clean_address(typed)
    else:
        assert dossier.clean_address(typed) == expected


def test_a_contact_persons_name_fits_the_column():
    assert dossier.clean_person("  Anouk de Jong ") == "Anouk de Jong"
    assert dossier.clean_person("") is None
    with pytest.raises(RuleError, match="longer than 255"):
        dossier.clean_person("x" * 256)


@pytest.mark.parametrize("amount, open_cents, status", [
    (100_00, 100_00, "open"),
    (100_00, 40_00, "part paid"),
    (100_00, 0, "paid"),
    (-30_00, -30_00, "credit note"),
    (-30_00, 0, "credit note"),
])
def test_an_invoice_status_follows_its_open_amount(amount, open_cents, status):
    assert dossier.invoice_status(amount, open_cents) == status


@pytest.mark.parametrize("days, label", [
    (None, "not enough history"), (float("nan"), "not enough history"), (0.0, "steady"), (7.0, "steady"),
    (7.1, "worsening"), (-7.0, "steady"), (-7.1, "improving"),
])
def test_a_change_of_more_than_a_week_is_a_trend(days, label):
    assert dossier.trend_label(days) == label


def test_the_header_flags_what_a_collector_must_see_before_calling():
    flags = dossier.header_flags(
        blocked=True, blocked_until=date(2026, 4, 1), disputed=2,
        pending=[PendingPromise(500_00, "EUR", date(2026, 3, 20)), PendingPromise(100_00, "USD", date(2026, 3, 15))],
        broken_promises=1, time_barred=["2019-9", "2019-1"], paused=1)
    assert [(f.label, f.level) for f in flags] == [
        ("reminders blocked until 01-04-2026", "red"),
        ("2 disputed invoices", "orange"),
        ("promise pending: $ 100,00 by 15-03-2026", "blue"),
        ("promise pending: € 500,00 by 20-03-2026", "blue"),
        ("1 broken promise in 12 months", "red"),
        ("2 invoices may be time-barred (2019-1, 2019-9)", "red"),
        ("1 invoice paused", "gray"),
    ]
    assert dossier.header_flags(blocked=False, blocked_until=None, disputed=0, pending=[], broken_promises=0,
                                time_barred=[], paused=0) == []
