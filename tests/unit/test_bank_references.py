"""RF creditor references and Dutch betalingskenmerken: check digits against published examples,
our per-message references, and finding them in what payers type."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from receivables.domain.references import (
    BETALINGSKENMERK,
    RF,
    betalingskenmerk_check_digit,
    find_references,
    format_reference,
    is_valid_betalingskenmerk,
    is_valid_reference,
    is_valid_rf,
    message_id_of,
    message_reference,
    rf_reference,
)


@pytest.mark.parametrize(("reference", "valid"), [
    ("5000 0567 8901 2345", True),    # Betaalvereniging's worked example (sum 215, check digit 5)
    ("12 2345 3462 2567", True),      # the 14-digit example: check digit 1, length code 2
    ("1067931951601240", True),       # Belastingdienst, in the Rabobank camt.053 sample
    ("4000 0567 8901 2345", False),   # one digit off
    ("1234567", True),                # seven digits carry no check digit
    ("123456789012345", False),       # 15 digits is no allowed length
    ("0323456789", False),            # length code says 3 digits follow, 8 do
    ("5000-0567-8901-2345", True),
    ("", False),
    ("50000567890123AB", False),
])
def test_betalingskenmerk_check_digit_follows_the_betaalvereniging(reference, valid):
    assert is_valid_betalingskenmerk(reference) is valid


def test_the_worked_example_sums_to_215():
    assert betalingskenmerk_check_digit("000056789012345") == 5


@pytest.mark.parametrize(("reference", "valid"), [
    ("RF18 5390 0754 7034", True),    # ISO 11649 example (also in python-stdnum's docs)
    ("RF18539007547034", True),
    ("RF17 5390 0754 7034", False),
    ("RF18 5390 0754 70Y", True),
    ("RF", False),
])
def test_rf_references_use_the_mod_97_check(reference, valid):
    assert is_valid_rf(reference) is valid
    assert is_valid_reference(reference) is valid


def test_an_rf_reference_made_from_a_body_validates():
    assert rf_reference("539007547034") == "RF18539007547034"


@pytest.mark.parametrize("kind", [RF, BETALINGSKENMERK])
@given(message_id=st.integers(min_value=1, max_value=10**12))
def test_every_message_reference_is_valid_and_gives_its_message_back(kind, message_id):
    reference = message_reference(message_id, kind)
    assert is_valid_reference(reference)
    assert message_id_of(reference) == message_id
    assert message_id_of(format_reference(reference)) == message_id


def test_a_betalingskenmerk_is_sixteen_digits():
    assert message_reference(42, BETALINGSKENMERK) == "2000000000000042"


@pytest.mark.parametrize("bad", [0, -1])
def test_a_message_reference_needs_a_positive_id(bad):
    with pytest.raises(ValueError):
        message_reference(bad)


@pytest.mark.parametrize(("text", "found"), [
    ("betaling rf18 5390 0754 7034 dank", ["RF18539007547034"]),
    ("kenmerk 5000 0567 8901 2345", ["5000056789012345"]),
    ("kenmerk 5000056789012345 en RF18539007547034", ["RF18539007547034", "5000056789012345"]),
    ("kenmerk 4000056789012345", []),                     # wrong check digit: not a reference
    ("12160475 0050001631430920 ORDERID: 264267", []),    # Knab's order number is no betalingskenmerk
    ("RF18539007547034FACTUUR", ["RF18539007547034"]),
    ("", []),
])
def test_references_are_found_in_free_text_only_with_a_right_check_digit(text, found):
    assert find_references(text) == found
