"""Matching payments to open invoices: each kind of evidence, the awkward payments finance teams see
(several invoices at once, part payments, overpayments, credit notes deducted, bank charges, other
currencies), and the promise that nothing is allocated twice."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from receivables.domain.bank_matching import (
    AUTO,
    SUGGESTED,
    UNMATCHED,
    MatchRules,
    OpenInvoice,
    Payment,
    allocate,
    match_payments,
    name_key,
    number_key,
    number_keys_in_text,
)
from receivables.domain.references import BETALINGSKENMERK, format_reference, message_reference

DAY = date(2024, 3, 1)
ACME, KORF, XS = 1, 2, 3
NAMES = {ACME: "Acme B.V.", KORF: "Bakkerij De Korf", XS: "XS News B.V."}
ACME_IBAN, KORF_IBAN = "NL20INGB0001234567", "NL39RABO0300065264"


def inv(id_, debtor, number, cents, *, due=0, currency="EUR", refs=()):
    return OpenInvoice(id_, debtor, number, currency, cents, DAY + timedelta(days=due), tuple(refs))


BOOK = [
    inv(1, XS, "2016Q3-0004", 442525, refs=[message_reference(501)]),
    inv(2, XS, "2016Q3-0005", 298299, due=30),
    inv(3, ACME, "F2024-0012", 121000, due=0, refs=[message_reference(7), message_reference(7, BETALINGSKENMERK)]),
    inv(4, ACME, "F2024-0013", 60500, due=5, refs=[message_reference(7), message_reference(7, BETALINGSKENMERK)]),
    inv(5, ACME, "F2024-0020", 24200, due=10),
    inv(6, ACME, "C2024-0002", -10000, due=12),  # an open credit note
    inv(7, KORF, "201403110", 300000, due=1),
    inv(8, KORF, "201403113", 426000, due=2),
    inv(9, KORF, "00000815", 5000, due=3),
]


def pay(cents, text="", *, iban="", name="", ref="", currency="EUR", pid="p", reversal=False):
    return Payment(pid, cents, currency, DAY, name, iban, text, ref, reversal)


def one(payment, book=BOOK, known=None, rules=None):
    [proposal] = match_payments([payment], book, known_ibans=known or {}, debtor_names=NAMES, rules=rules)
    return proposal


def allocations(proposal):
    return {a.invoice_id: a.cents for a in proposal.allocations}


CASES = [
    # (what, payment, learned accounts, status, evidence, allocations, overpaid, charges, left open)
    ("our RF reference in the text, as typed", pay(181500, f"betaling {format_reference(message_reference(7))}"),
     {}, AUTO, "reference", {3: 121000, 4: 60500}, 0, 0, 0),
    ("our betalingskenmerk in the structured field", pay(181500, ref=message_reference(7, BETALINGSKENMERK)),
     {}, AUTO, "reference", {3: 121000, 4: 60500}, 0, 0, 0),
    ("our reference for one invoice, part payment", pay(100000, f"ref {message_reference(501)}"),
     {}, AUTO, "reference", {1: 100000}, 0, 0, 342525),
    ("our reference for two invoices, the amount of one", pay(60500, f"ref {message_reference(7)}"),
     {}, AUTO, "reference", {4: 60500}, 0, 0, 0),
    ("our reference for two invoices, a part payment", pay(100000, f"ref {message_reference(7)}"),
     {}, SUGGESTED, "reference", {3: 100000}, 0, 0, 81500),
    ("our reference, overpaid", pay(200000, message_reference(7)),
     {}, AUTO, "reference", {3: 121000, 4: 60500}, 18500, 0, 0),
    ("invoice number as written", pay(442525, "2016Q3-0004", name="XS NEWS B V"),
     {}, AUTO, "number", {1: 442525}, 0, 0, 0),
    ("invoice number with prefix and spaces typed", pay(121000, "Factuur F 2024 0012"),
     {}, AUTO, "number", {3: 121000}, 0, 0, 0),
    ("invoice number without its leading zeros and with INV-", pay(5000, "INV-815"),
     {}, AUTO, "number", {9: 5000}, 0, 0, 0),
    ("two invoice numbers in one text (Knab)", pay(726000, "FACTUUR 201403110, 201403113"),
     {}, AUTO, "number", {7: 300000, 8: 426000}, 0, 0, 0),
    ("invoice numbers, bank charges kept back", pay(181250, "F2024-0012 F2024-0013"),
     {}, AUTO, "number", {3: 121000, 4: 60500}, 0, 250, 0),
    ("invoice numbers, more short than bank charges", pay(180250, "F2024-0012 F2024-0013"),
     {}, SUGGESTED, "number", {3: 121000, 4: 59250}, 0, 0, 1250),
    ("invoice numbers, credit note deducted", pay(171500, "facturen F2024-0012 en F2024-0013"),
     {}, AUTO, "number", {3: 121000, 4: 60500, 6: -10000}, 0, 0, 0),
    ("invoice number, part payment is a suggestion", pay(50000, "F2024-0012"),
     {}, SUGGESTED, "number", {3: 50000}, 0, 0, 71000),
    ("invoice number, part payment from a known account", pay(50000, "F2024-0012", iban=ACME_IBAN),
     {ACME_IBAN: ACME}, SUGGESTED, "number", {3: 50000}, 0, 0, 71000),
    ("known account, amount of one invoice", pay(24200, "betaling", iban=ACME_IBAN),
     {ACME_IBAN: ACME}, AUTO, "account", {5: 24200}, 0, 0, 0),
    ("known account, the oldest two invoices", pay(181500, "", iban=ACME_IBAN),
     {ACME_IBAN: ACME}, AUTO, "account", {3: 121000, 4: 60500}, 0, 0, 0),
    ("known account, another combination", pay(145200, "", iban=ACME_IBAN),
     {ACME_IBAN: ACME}, AUTO, "account", {3: 121000, 5: 24200}, 0, 0, 0),
    ("known account, the whole balance after the credit note", pay(195700, "", iban=ACME_IBAN),
     {ACME_IBAN: ACME}, AUTO, "account", {3: 121000, 4: 60500, 5: 24200, 6: -10000}, 0, 0, 0),
    ("known account, an amount that fits nothing", pay(1000, "", iban=ACME_IBAN),
     {ACME_IBAN: ACME}, SUGGESTED, "account", {3: 1000}, 0, 0, 204700),
    ("name of the debtor and the amount of one invoice", pay(24200, "", name="ACME BV"),
     {}, SUGGESTED, "name", {5: 24200}, 0, 0, 0),
    ("only the amount, unique in the book", pay(298299, "", name="someone"),
     {}, SUGGESTED, "amount", {2: 298299}, 0, 0, 0),
    ("nothing to go on", pay(12345, "gift", name="Unknown"),
     {}, UNMATCHED, "none", {}, 0, 0, 0),
    ("another currency", pay(121000, "F2024-0012", currency="USD"),
     {}, UNMATCHED, "none", {}, 0, 0, 0),
    ("a reversal is no payment", pay(121000, "F2024-0012", reversal=True),
     {}, UNMATCHED, "none", {}, 0, 0, 0),
]


@pytest.mark.parametrize(("payment", "known", "status", "evidence", "allocated", "overpaid", "charges", "left"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_kind_of_payment_gets_the_expected_proposal(payment, known, status, evidence, allocated, overpaid,
                                                         charges, left):
    proposal = one(payment, known=known)
    assert (proposal.status, proposal.evidence) == (status, evidence), proposal.reason
    assert allocations(proposal) == allocated
    assert (proposal.overpaid_cents, proposal.charges_cents, proposal.left_open_cents) == (overpaid, charges, left)
    assert proposal.reason
    if proposal.allocations:
        assert proposal.allocated_cents + proposal.overpaid_cents - proposal.charges_cents == payment.amount_cents


def test_a_reference_is_certain_and_says_so():
    proposal = one(pay(181500, message_reference(7)))
    assert proposal.confidence == 1.0
    assert "RF" in proposal.reason and "F2024-0012" in proposal.reason


def test_a_reminder_listing_a_credit_note_is_paid_net():
    ref = message_reference(33)
    book = [inv(1, ACME, "F1", 50000, refs=[ref]), inv(2, ACME, "F2", 30000, due=3, refs=[ref]),
            inv(3, ACME, "C1", -20000, due=4, refs=[ref])]
    proposal = one(pay(60000, ref), book=book)
    assert proposal.status == AUTO
    assert allocations(proposal) == {1: 50000, 2: 30000, 3: -20000}
    assert "credit note C1 deducted" in proposal.reason


def test_a_reference_to_an_invoice_in_another_currency_is_refused():
    book = [inv(1, ACME, "F1", 10000, currency="EUR", refs=[message_reference(9)]),
            inv(2, KORF, "U1", 10000, currency="USD")]
    proposal = one(pay(10000, message_reference(9), currency="USD"), book=book)
    assert proposal.status == UNMATCHED and "USD" in proposal.reason and not proposal.allocations


def test_an_invoice_number_of_another_debtor_than_the_known_account_is_only_suggested():
    proposal = one(pay(442525, "2016Q3-0004", iban=ACME_IBAN), known={ACME_IBAN: ACME})
    assert proposal.status == SUGGESTED
    assert "another debtor" in proposal.reason


def test_the_same_amount_twice_for_one_debtor_is_not_applied_automatically():
    book = [inv(1, ACME, "A1", 5000, due=0), inv(2, ACME, "A2", 5000, due=9)]
    proposal = one(pay(5000, iban=ACME_IBAN), book=book, known={ACME_IBAN: ACME})
    assert proposal.status == SUGGESTED and allocations(proposal) == {1: 5000}


def test_several_combinations_of_the_same_sum_are_only_suggested():
    book = [inv(i, ACME, f"A{i}", c, due=i) for i, c in enumerate([1000, 2000, 3000, 4000, 9999], start=1)]
    proposal = one(pay(5000, iban=ACME_IBAN), book=book, known={ACME_IBAN: ACME})  # 1000+4000 or 2000+3000
    assert proposal.status == SUGGESTED
    assert "several sets" in proposal.reason


def test_a_combination_search_cut_short_is_never_applied_automatically():
    book = [inv(i, ACME, f"A{i}", 1000 + 7 * i, due=i) for i in range(1, 31)]
    target = sum(1000 + 7 * i for i in (2, 5, 11, 17, 23, 29))
    unbounded = one(pay(target, iban=ACME_IBAN), book=book, known={ACME_IBAN: ACME})
    bounded = one(pay(target, iban=ACME_IBAN), book=book, known={ACME_IBAN: ACME},
                  rules=MatchRules(search_budget=50))
    assert unbounded.status == SUGGESTED and "several sets" in unbounded.reason
    assert bounded.status != AUTO


def test_two_payments_for_one_invoice_never_pay_more_than_is_open():
    payments = [pay(100000, "F2024-0012", pid="a"), pay(100000, "F2024-0012", pid="b")]
    first, second = match_payments(payments, BOOK, debtor_names=NAMES)
    assert allocations(first) == {3: 100000}
    assert allocations(second) == {3: 21000}
    assert second.overpaid_cents == 79000


def test_an_invoice_paid_by_reference_is_not_also_given_to_a_guess():
    payments = [pay(24200, "", name="ACME BV", pid="guess"), pay(24200, "F2024-0020", pid="number")]
    guess, number = match_payments(payments, BOOK, debtor_names=NAMES)
    assert allocations(number) == {5: 24200} and number.status == AUTO
    assert 5 not in allocations(guess)


def test_debits_are_left_out():
    assert match_payments([pay(-5000, "F2024-0012")], BOOK) == []


def test_thresholds_decide_between_automatic_and_suggested():
    strict = MatchRules(auto_threshold=0.99)
    assert one(pay(442525, "2016Q3-0004"), rules=strict).status == SUGGESTED
    assert one(pay(442525, "2016Q3-0004")).status == AUTO
    with pytest.raises(ValueError):
        MatchRules(auto_threshold=0.4, suggest_threshold=0.5)


@pytest.mark.parametrize(("typed", "stored"), [
    ("F-000123", "123"), ("inv 123", "INV-0123"), ("Factuur: 2024.0012", "2024-0012"), ("FACT2024/12", "2024/12"),
    ("0000611365", "611365"), ("2016q3 0004", "2016Q3-0004"),
])
def test_invoice_numbers_match_however_they_are_typed(typed, stored):
    assert number_key(stored) in number_keys_in_text(typed, min_length=1) or number_key(typed) == number_key(stored)


def test_short_bare_numbers_in_text_are_not_taken_for_invoice_numbers():
    assert "12" not in number_keys_in_text("Dorpsstraat 12")
    assert number_keys_in_text("factuur 12") == ["12"]


@pytest.mark.parametrize(("a", "b"), [("XS NEWS B V", "XS News B.V."), ("Acme BV", "ACME B.V."),
                                      ("Bakkerij De Korf", "bakkerij de korf")])
def test_names_are_compared_without_legal_forms_and_punctuation(a, b):
    assert name_key(a) == name_key(b)


# --- properties -----------------------------------------------------------------------------------

amounts = st.integers(min_value=-20_000, max_value=200_000).filter(lambda c: c != 0)


@st.composite
def books_and_payments(draw):
    n = draw(st.integers(min_value=1, max_value=15))
    invoices = [inv(i, draw(st.sampled_from([ACME, KORF, XS])), f"N{i:05d}", draw(amounts), due=draw(
        st.integers(0, 60)), refs=[message_reference(i)] if draw(st.booleans()) else []) for i in range(1, n + 1)]
    payments = []
    for k in range(draw(st.integers(min_value=1, max_value=12))):
        target = draw(st.sampled_from(invoices))
        text = draw(st.sampled_from(["", target.number, f"F {target.number[1:]}", message_reference(target.id),
                                     "gift", f"{target.number} {invoices[0].number}"]))
        cents = draw(st.one_of(st.just(abs(target.open_cents)), st.integers(min_value=1, max_value=300_000)))
        iban = draw(st.sampled_from(["", ACME_IBAN, KORF_IBAN]))
        payments.append(pay(cents, text, iban=iban, pid=f"p{k}"))
    return invoices, payments


@settings(max_examples=150, deadline=None)
@given(books_and_payments())
def test_allocations_never_exceed_what_is_open_or_what_was_paid(case):
    invoices, payments = case
    proposals = match_payments(payments, invoices, known_ibans={ACME_IBAN: ACME, KORF_IBAN: KORF},
                               debtor_names=NAMES)
    assert len(proposals) == len(payments)
    open_ = {i.id: i.open_cents for i in invoices}
    used: dict[int, int] = {}
    for payment, proposal in zip(payments, proposals):
        assert proposal.payment_id == payment.id
        assert proposal.allocated_cents <= payment.amount_cents + proposal.charges_cents
        if proposal.allocations:
            assert proposal.allocated_cents + proposal.overpaid_cents - proposal.charges_cents == payment.amount_cents
        assert proposal.charges_cents <= MatchRules().charge_tolerance_cents
        if proposal.status == UNMATCHED:
            assert not proposal.allocations
        for a in proposal.allocations:
            used[a.invoice_id] = used.get(a.invoice_id, 0) + a.cents
        debtors = {next(i.debtor_id for i in invoices if i.id == a.invoice_id) for a in proposal.allocations}
        assert len(debtors) <= 1
    for invoice_id, cents in used.items():
        if open_[invoice_id] > 0:
            assert 0 < cents <= open_[invoice_id]
        else:
            assert open_[invoice_id] <= cents < 0


# --- what a person assigns, and a book of only the invoices a statement can concern ----------------

@pytest.mark.parametrize("paid, invoices, expected", [
    # (payment, [(id, open cents, due offset)], (allocations, overpaid, charges, left open))
    (1000, [(1, 600, 5), (2, 400, 0)], ([(2, 400), (1, 600)], 0, 0, 0)),  # oldest due first
    (70000, [(1, 60000, 5), (2, 40000, 0)], ([(2, 40000), (1, 30000)], 0, 0, 30000)),  # part payment
    (1200, [(1, 600, 0)], ([(1, 600)], 600, 0, 0)),  # overpaid: the rest on account
    (59800, [(1, 60000, 0)], ([(1, 60000)], 0, 200, 0)),  # short by charges within the tolerance
    (55000, [(1, 60000, 0), (2, -5000, 0)], ([(1, 60000), (2, -5000)], 0, 0, 0)),  # credit note deducted
    (0, [], ([], 0, 0, 0)),
])
def test_a_payment_a_person_assigns_is_allocated_like_the_matcher_does(paid, invoices, expected):
    chosen = [OpenInvoice(i, ACME, f"F{i}", "EUR", cents, DAY + timedelta(days=due)) for i, cents, due in invoices]
    allocations, overpaid, charges, left = allocate(paid, chosen)
    assert ([(a.invoice_id, a.cents) for a in allocations], overpaid, charges, left) == expected


def test_a_number_key_given_with_the_invoice_is_used_as_it_is():
    book = [OpenInvoice(1, ACME, "whatever", "EUR", 500, DAY, (), number_key("F-000777"))]
    [proposal] = match_payments([Payment("p", 500, "EUR", DAY, remittance="factuur 777")], book)
    assert proposal.status == AUTO and proposal.allocations[0].invoice_id == 1


def test_a_partial_book_names_the_currencies_open_elsewhere():
    [alone] = match_payments([Payment("p", 500, "USD", DAY)], BOOK)
    [told] = match_payments([Payment("p", 500, "USD", DAY)], BOOK, currencies={"EUR", "USD"})
    assert "no invoice is open in USD" in alone.reason
    assert "no invoice is open in USD" not in told.reason and told.status == UNMATCHED
