"""The portal's pure rules: what a link names, which signing keys will do, and what a debtor may type."""

from datetime import date, timedelta

import pytest

from receivables.domain import portal as rules

TODAY = date(2026, 6, 1)


@pytest.mark.parametrize("payload, claims", [
    ([1, 2, 0], rules.LinkClaims(1, 2, 0)),
    ([7, 99, 3], rules.LinkClaims(7, 99, 3)),
    ([1, 2], None),
    ([1, 2, 3, 4], None),
    (["1", 2, 0], None),
    ([1, -2, 0], None),
    ([True, 2, 0], None),
    ({"d": 1}, None),
    ("1,2,0", None),
])
def test_a_link_names_a_debtor_a_message_and_a_generation_and_nothing_else(payload, claims):
    assert rules.LinkClaims.from_payload(payload) == claims


@pytest.mark.parametrize("generation, current, holds", [(0, 0, True), (0, 1, False), (2, 2, True), (0, None, False)])
def test_a_link_holds_only_for_the_debtors_current_generation(generation, current, holds):
    assert rules.valid_for(rules.LinkClaims(1, 1, generation), current) is holds


@pytest.mark.parametrize("key, problem", [
    (None, "no signing key is set"),
    ("", "no signing key is set"),
    ("kort-maar-geheim", "shorter than 32"),
    ("changeme-changeme-changeme-changeme", "placeholder"),
    ("your-secret-key-here-your-secret-key", "placeholder"),
    ("abababababababababababababababababab", "too few characters"),
    ("q8w7e6r5t4y3u2i1o0pLkJhGfDsA-zXcVbN", None),
])
def test_a_signing_key_must_be_long_random_and_no_placeholder(key, problem):
    found = rules.key_problem(key)
    assert (found is None) if problem is None else (problem in found)


@pytest.mark.parametrize("url, clean", [
    ("", None), ("  ", None), ("https://pay.example.com/", "https://pay.example.com"),
    ("http://127.0.0.1:8502", "http://127.0.0.1:8502"), ("https://example.com/portal", "https://example.com/portal"),
])
def test_the_portal_address_is_kept_without_a_trailing_slash(url, clean):
    assert rules.clean_base_url(url) == clean


@pytest.mark.parametrize("url", ["pay.example.com", "javascript:alert(1)", "https://a.example/?x=<b>", "ftp://x.nl"])
def test_an_address_that_is_no_web_address_is_refused(url):
    with pytest.raises(rules.PortalError):
        rules.clean_base_url(url)


@pytest.mark.parametrize("code, text, stored", [
    ("quality", "", "Complaint about quality"),
    ("quality", "  <script>x</script>  ", "Complaint about quality: <script>x</script>"),
    ("other", "**vet** [link](http://x)", "Something else: **vet** [link](http://x)"),
    ("wrong_amount", "regel\x00 met\x1b stuurteken", "Wrong amount or price: regel met stuurteken"),
])
def test_a_dispute_reason_is_stored_as_the_debtor_typed_it_without_control_characters(code, text, stored):
    assert rules.dispute_reason(code, text) == stored


@pytest.mark.parametrize("code, text", [("unknown", "x"), ("other", ""), ("quality", "x" * (rules.MAX_REASON + 1))])
def test_a_dispute_without_a_listed_reason_or_with_too_much_text_is_refused(code, text):
    with pytest.raises(rules.PortalError):
        rules.dispute_reason(code, text)


@pytest.mark.parametrize("days, ok", [(-1, False), (0, True), (30, True), (31, False)])
def test_a_promise_is_for_a_day_within_the_horizon(days, ok):
    if ok:
        rules.check_promise_date(TODAY + timedelta(days=days), TODAY, 30)
    else:
        with pytest.raises(rules.PortalError):
            rules.check_promise_date(TODAY + timedelta(days=days), TODAY, 30)


@pytest.mark.parametrize("days_ago, amount, ok", [(0, None, True), (-1, None, False), (60, 10_000, True),
                                                  (61, None, False), (1, 0, False), (1, 1_000_001, False)])
def test_i_have_paid_is_for_a_day_not_ahead_and_a_believable_amount(days_ago, amount, ok):
    call = lambda: rules.check_paid(TODAY - timedelta(days=days_ago), amount, 100_000, TODAY)  # noqa: E731
    if ok:
        call()
    else:
        with pytest.raises(rules.PortalError):
            call()


@pytest.mark.parametrize("address", ["a@b\n.nl", "geen-adres", "x@y", "<a@b.nl>", "a@b.nl, c@d.nl"])
def test_a_new_address_is_one_valid_address(address):
    with pytest.raises(rules.PortalError):
        rules.new_address(address)


@pytest.mark.parametrize("flags, status", [
    ((False, False, False, False), "open"), ((True, True, True, True), "disputed"),
    ((False, True, True, False), "plan"), ((False, True, False, True), "promised"),
    ((False, False, False, True), "paid_reported"),
])
def test_an_invoice_shows_its_most_telling_status(flags, status):
    assert rules.invoice_status(*flags) == status
