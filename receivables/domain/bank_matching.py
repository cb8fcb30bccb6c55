"""Matching incoming payments to open invoices: pure, so the page, the CLI and the benchmark share it.

Evidence is weighed strongest first, over all payments of a statement before weaker evidence is
looked at, so an invoice claimed by an exact reference is never handed to a guess:

1. our own structured reference (RF or betalingskenmerk of a reminder) — certain;
2. invoice numbers typed in the text (`F2024-0012`, `factuur 12`, `INV-00012`, `2016Q3 0004`, several
   in one text), checked against the amount;
3. the payer's account, learned from earlier matches, with the amount: one open invoice, the whole
   balance, the oldest few, or another combination of the debtor's open invoices (bounded search);
4. the payer's name with the amount.

Each proposal carries a confidence and a reason a person can read. At or above `auto_threshold` it
is applied at once; from `suggest_threshold` it is a suggestion a person confirms; below, the payment
is on the "who paid this?" list. Part payments leave the rest open, overpayments are noted, a
shortfall within the bank-charge tolerance is written off as charges, a debtor's open credit notes
are netted when the payment shows they were deducted, and a payment in another currency than the
invoices is never matched. No invoice is allocated more than is open on it across all proposals."""

from __future__ import annotations

import difflib
import re
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple

from receivables.domain.phrases import Money, Phrase
from receivables.domain.phrasing import Said, said
from receivables.domain.references import compact as compact_reference
from receivables.domain.references import find_references, message_id_of
from receivables.domain.translation import N_

AUTO, SUGGESTED, UNMATCHED = "auto", "suggested", "unmatched"

# confidence per kind of evidence; the reason names the evidence, the rules set the thresholds
REFERENCE = 1.0
NUMBER_AND_AMOUNT = 0.97
NUMBER_NETTED = 0.95
ACCOUNT_ONE_INVOICE = 0.93
ACCOUNT_WHOLE_BALANCE = 0.92
ACCOUNT_OLDEST_FIRST = 0.9
ACCOUNT_COMBINATION = 0.9
NAME_ONE_INVOICE = 0.8
ACCOUNT_HELD = 0.8
NUMBER_OTHER_AMOUNT = 0.75
ACCOUNT_SAME_AMOUNT_TWICE = 0.75
ACCOUNT_AMBIGUOUS_COMBINATION = 0.65
ACCOUNT_ON_ACCOUNT = 0.6
AMOUNT_ONLY = 0.55
REFERENCE_ALREADY_PAID = 0.6
REFERENCE_SPLIT_UNSURE = 0.85
CONFLICT_PENALTY = 0.2


class OpenInvoice(NamedTuple):
    """An invoice (or credit note, with negative `open_cents`) that is still open. A named tuple: a
    statement is matched against hundreds of thousands of them, made three to four times faster than a
    dataclass."""

    id: int
    debtor_id: int
    number: str
    currency: str
    open_cents: int
    due_date: date | None = None
    references: tuple[str, ...] = ()
    number_key: str = ""  # `number_key(number)` when the caller has it already (the database keeps it)


@dataclass(frozen=True, slots=True)
class Payment:
    """Money in, as read from a statement line."""

    id: str
    amount_cents: int
    currency: str
    booking_date: date
    counterparty_name: str = ""
    counterparty_iban: str = ""
    remittance: str = ""
    structured_reference: str = ""
    reversal: bool = False


@dataclass(frozen=True, slots=True)
class MatchRules:
    auto_threshold: float = 0.9
    suggest_threshold: float = 0.5
    charge_tolerance_cents: int = 500
    max_combination: int = 12
    combination_candidates: int = 40
    search_budget: int = 20_000
    min_number_length: int = 4

    def __post_init__(self) -> None:
        if not 0 < self.suggest_threshold <= self.auto_threshold <= 1:
            raise ValueError("thresholds must satisfy 0 < suggestion threshold <= automatic threshold <= 1")
        if self.charge_tolerance_cents < 0:
            raise ValueError("the bank-charge tolerance cannot be negative")


@dataclass(frozen=True, slots=True)
class Allocation:
    invoice_id: int
    cents: int


@dataclass(frozen=True, slots=True)
class Proposal:
    """What to do with one payment. Allocations add up to the payment minus `overpaid_cents` plus
    `charges_cents`; credit notes netted appear with negative cents."""

    payment_id: str
    status: str
    confidence: float
    reason: str  # English, with its phrase for a page (a Said)
    debtor_id: int | None = None
    allocations: tuple[Allocation, ...] = ()
    overpaid_cents: int = 0
    charges_cents: int = 0
    left_open_cents: int = 0
    evidence: str = "none"

    @property
    def allocated_cents(self) -> int:
        return sum(a.cents for a in self.allocations)


# --- invoice numbers as people type them ----------------------------------------------------------

_PREFIXES = tuple(sorted((
    "FACTUURNUMMER", "FACTUURNR", "FACTUUR", "FACTNR", "FACT", "FAKTUUR", "NOTA", "INVOICENUMBER", "INVOICENO",
    "INVOICE", "INVNO", "INV", "REKENING", "RECHNUNG", "NUMMER", "NR", "NO", "F", "RE",
), key=len, reverse=True))
_TOKEN_SPLIT = re.compile(r"[\s,;:()#+&*\"']+")


_NON_ALNUM = re.compile(r"[^0-9A-Z]")
_PREFIX = re.compile(r"^(?:" + "|".join(_PREFIXES) + r")(?=\d)")


def _key_and_prefix(number: str) -> tuple[str, bool]:
    s = number.upper() if number else ""
    return _unprefixed(s if s.isalnum() else _NON_ALNUM.sub("", s))


def _unprefixed(s: str) -> tuple[str, bool]:
    """(key, whether a prefix went) of a number in capitals without separators."""
    if not s or s[0].isdigit():  # the common case needs no prefix search
        return s.lstrip("0"), False
    m = _PREFIX.match(s)
    if m:
        return s[m.end():].lstrip("0"), True
    return s.lstrip("0"), False


def number_key(number: str) -> str:
    """The form two spellings of one invoice number share: capitals, no separators, no prefix such
    as `F`, `INV-` or `Factuur`, no leading zeros. `F-000123`, `inv 123` and `123` all give `123`."""
    return _key_and_prefix(number)[0]


def number_keys_in_text(text: str, min_length: int = 4) -> list[str]:
    """Candidate invoice-number keys in a remittance text: every word, and every two neighbouring
    words joined (for `F 123`, `2016Q3 0004`, `factuur 0012`). A key shorter than `min_length` counts
    only behind a word such as `factuur` or `F`, since bare short numbers are house numbers and days."""
    text = (text or "").upper()
    words = [w.strip(".-/") for w in _TOKEN_SPLIT.split(text)]
    words = [w for w in words if w]
    if text.isascii():
        # cleaning two words joined is joining them cleaned: clean each word once
        words = [w if w.isalnum() else _NON_ALNUM.sub("", w) for w in words]
        key_of = _unprefixed
    else:
        key_of = _key_and_prefix
    keys: list[str] = []
    last = len(words) - 1
    for i, word in enumerate(words):
        for candidate in ((word, word + words[i + 1]) if i < last else (word,)):
            key, prefixed = key_of(candidate)
            if key and (len(key) >= min_length or prefixed) and _has_digit(key):
                keys.append(key)
    return list(dict.fromkeys(keys))


def _has_digit(key: str) -> bool:
    # a key in ASCII holds only A-Z and 0-9
    return not key.isalpha() if key.isascii() else any(ch.isdigit() for ch in key)


# --- names ----------------------------------------------------------------------------------------

_NOT_IN_NAME_KEY = re.compile(r"[^0-9A-Z ]")
_LEGAL_FORMS = {"BV", "NV", "VOF", "CV", "BVBA", "GMBH", "LTD", "LLC", "INC", "SA", "SARL", "AG", "HOLDING",
                "THE", "DE", "HET", "EN", "EO", "VAN"}


def name_key(name: str) -> str:
    """`XS News B.V.` and `XS NEWS B V` both give `NEWS XS`."""
    words = _NOT_IN_NAME_KEY.sub(" ", (name or "").upper().replace(".", "")).split()
    merged: list[str] = []
    for w in words:  # "B V" -> "BV"
        if len(w) == 1 and merged and len(merged[-1]) == 1 and merged[-1].isalpha():
            merged[-1] += w
        else:
            merged.append(w)
    return " ".join(sorted(w for w in merged if w not in _LEGAL_FORMS))


def name_similarity(a: str, b: str) -> float:
    ka, kb = name_key(a), name_key(b)
    if not ka or not kb:
        return 0.0
    return 1.0 if ka == kb else difflib.SequenceMatcher(None, ka, kb).ratio()


# --- the book of open invoices, and what the statement has already claimed ------------------------

@dataclass
class _Book:
    invoices: dict[int, OpenInvoice]
    remaining: dict[int, int]
    by_reference: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    by_number: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    by_debtor: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    by_amount: dict[tuple[str, int], list[int]] = field(default_factory=lambda: defaultdict(list))
    by_name: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    currencies: set[str] = field(default_factory=set)
    held_by_suggestion: set[int] = field(default_factory=set)  # debtors with invoices a person must confirm

    @classmethod
    def of(cls, invoices: Iterable[OpenInvoice], debtor_names: Mapping[int, str],
           open_currencies: Iterable[str] = ()) -> _Book:
        book = cls(invoices={}, remaining={})
        book.add(invoices, debtor_names)
        book.currencies.update(open_currencies)
        return book

    def add(self, invoices: Iterable[OpenInvoice], debtor_names: Mapping[int, str]) -> None:
        """More invoices (those already in the book keep what the statement has claimed of them). Every
        index stays ordered by due date, as if the book had been built with all of them at once."""
        invs, remaining = self.invoices, self.remaining
        new = sorted({inv.id: inv for inv in invoices if inv.id not in invs}.values(),
                     key=lambda v: (v.due_date or date.max, v.id))
        fresh = {inv.id for inv in new} if invs else ()
        by_reference, by_number, by_debtor = self.by_reference, self.by_number, self.by_debtor
        by_amount = self.by_amount
        merge: list[list[int]] = []  # lists that held invoices before: the new ones go in order below
        for inv in new:
            iid, debtor, number, currency, open_cents, _due, refs, key = inv
            invs[iid] = inv
            remaining[iid] = open_cents
            lists = [by_reference[compact_reference(ref)] for ref in refs] if refs else []
            lists += (by_number[key or _key_and_prefix(number)[0]], by_debtor[debtor],
                      by_amount[(currency, open_cents)])
            for ids in lists:
                if fresh and ids and ids[-1] not in fresh:
                    merge.append(ids)
                ids.append(iid)
        for ids in merge:
            ids.sort(key=lambda i: (invs[i].due_date or date.max, i))
        self.currencies.update(inv.currency for inv in new)
        for debtor_id, name in debtor_names.items():
            key = name_key(name)
            if key:
                self.by_name[key].add(debtor_id)

    def open_ids(self, ids: Iterable[int]) -> list[int]:
        return [i for i in ids if self.remaining.get(i, 0) != 0]

    def claim(self, allocations: Iterable[Allocation]) -> None:
        for a in allocations:
            self.remaining[a.invoice_id] -= a.cents


def _allocate(book: _Book, payment: int, ids: list[int], credit_notes: list[int], rules: MatchRules):
    """(allocations, overpaid, charges, left open, netted) for paying `ids` (oldest due first)."""
    ids = [i for i in ids if book.remaining[i] > 0]
    total = sum(book.remaining[i] for i in ids)
    full = [Allocation(i, book.remaining[i]) for i in ids]
    if payment >= total:
        return full, payment - total, 0, 0, False
    if total - payment <= rules.charge_tolerance_cents:
        return full, 0, total - payment, 0, False
    notes = [i for i in credit_notes if book.remaining[i] < 0]
    credit = sum(book.remaining[i] for i in notes)
    if notes and 0 <= (total + credit) - payment <= rules.charge_tolerance_cents:
        allocations = full + [Allocation(i, book.remaining[i]) for i in notes]
        return allocations, 0, total + credit - payment, 0, True
    allocations, left = [], payment
    for i in ids:
        part = min(left, book.remaining[i])
        if part > 0:
            allocations.append(Allocation(i, part))
        left -= part
    return allocations, 0, 0, total - payment, False


def allocate(payment_cents: int, invoices: Iterable[OpenInvoice],
             rules: MatchRules | None = None) -> tuple[tuple[Allocation, ...], int, int, int]:
    """How a payment that a person assigned to these invoices pays them: oldest due first, credit notes
    among them netted when the payment shows they were deducted, a shortfall within the bank-charge
    tolerance written off as charges, a part payment leaving the rest open, the excess kept on account.
    Returns (allocations, overpaid, charges, left open)."""
    rules = rules or MatchRules()
    chosen = sorted(invoices, key=lambda v: (v.due_date or date.max, v.id))
    book = _Book.of(chosen, {})
    positive = [v.id for v in chosen if v.open_cents > 0]
    notes = [v.id for v in chosen if v.open_cents < 0]
    allocations, overpaid, charges, left_open, _ = _allocate(book, payment_cents, positive, notes, rules)
    return tuple(allocations), overpaid, charges, left_open


def _combination(amounts: list[tuple[int, int]], target: int,
                 rules: MatchRules) -> tuple[list[int], int, bool]:
    """(ids of the first combination of at most `max_combination` amounts adding up exactly to
    `target`, how many were found (the search stops at 2: ambiguous), whether the search ran to its
    end within `search_budget` steps). One found and complete means unique."""
    items = sorted((p for p in amounts if 0 < p[1] <= target), key=lambda p: -p[1])
    ids = [i for i, _ in items]
    values = [v for _, v in items]
    negated = [-v for v in values]
    n, most = len(values), rules.max_combination
    prefix = [0]
    for v in values:
        prefix.append(prefix[-1] + v)
    prefix += [prefix[-1]] * most  # prefix[k + room] needs no bound check
    found: list[list[int]] = []
    chosen: list[int] = []
    budget = rules.search_budget

    def walk(start: int, left: int, room: int) -> None:
        nonlocal budget
        k = bisect_left(negated, -left, start)  # the first amount that still fits
        while k < n:
            budget -= 1
            if budget <= 0:
                return
            # the largest `room` amounts from here on cannot reach what is left: nor can later ones
            if prefix[k + room] - prefix[k] < left:
                return
            value = values[k]
            if value == left:
                found.append(chosen + [ids[k]])
                if len(found) >= 2:
                    return
            elif room > 1:
                chosen.append(ids[k])
                walk(k + 1, left - value, room - 1)
                chosen.pop()
                if len(found) >= 2:
                    return
            k += 1

    if target > 0:
        walk(0, target, most)
    complete = budget > 0 or len(found) >= 2
    return (found[0] if found else []), len(found), complete


def _oldest_making(book: _Book, ids: list[int], amount: int, limit: int) -> list[int]:
    running = 0
    for k, i in enumerate(ids[:limit]):
        running += book.remaining[i]
        if running == amount:
            return ids[:k + 1]
        if running > amount:
            break
    return []


# --- the passes -----------------------------------------------------------------------------------

def _status(confidence: float, rules: MatchRules) -> str:
    if confidence >= rules.auto_threshold:
        return AUTO
    return SUGGESTED if confidence >= rules.suggest_threshold else UNMATCHED


def _and(reason: Phrase, clause: Phrase) -> Phrase:
    """A reason with one more thing said about it."""
    return Phrase(N_("{reason}; {clause}"), {"reason": reason, "clause": clause})


def _numbers(book: _Book, ids: Iterable[int]) -> str:
    return ", ".join(book.invoices[i].number for i in ids)


_SPACE = re.compile(r"\s")


class _Matcher:
    def __init__(self, invoices, known_ibans, debtor_names, rules, currencies=()):
        self.rules = rules
        self.book = _Book.of(invoices, debtor_names, currencies)
        self.known_ibans = {_SPACE.sub("", k).upper(): v for k, v in known_ibans.items()}
        self.debtor_names = dict(debtor_names)
        self._references: dict[int, list[str]] = {}  # by id() of the payment: read from its texts once
        self._keys: dict[int, list[str]] = {}

    def references_of(self, payment: Payment) -> list[str]:
        """Our references the payment quotes, the structured field first."""
        refs = self._references.get(id(payment))
        if refs is None:
            refs = find_references(f"{payment.structured_reference} {payment.remittance}")
            if payment.structured_reference:
                refs.insert(0, compact_reference(payment.structured_reference))
            self._references[id(payment)] = refs
        return refs

    def keys_of(self, payment: Payment) -> list[str]:
        """The invoice-number keys in the payment's texts."""
        keys = self._keys.get(id(payment))
        if keys is None:
            keys = self._keys[id(payment)] = number_keys_in_text(
                f"{payment.remittance} {payment.structured_reference}", self.rules.min_number_length)
        return keys

    def debtor_of_account(self, payment: Payment) -> int | None:
        return self.known_ibans.get(_SPACE.sub("", payment.counterparty_iban).upper()) \
            if payment.counterparty_iban else None

    def propose(self, payment: Payment, confidence: float, reason: Phrase, evidence: str, debtor_id: int,
                ids: list[int], *, credit_notes: list[int] = ()) -> Proposal:
        book, rules, currency = self.book, self.rules, payment.currency
        account_debtor = self.debtor_of_account(payment)
        if account_debtor is not None and account_debtor != debtor_id and evidence != "reference":
            confidence -= CONFLICT_PENALTY
            reason = _and(reason, Phrase(N_("but the account {iban} belongs to another debtor"),
                                         {"iban": payment.counterparty_iban}))
        allocations, overpaid, charges, left_open, netted = _allocate(
            book, payment.amount_cents, ids, list(credit_notes), rules)
        if not allocations:
            confidence = min(confidence, REFERENCE_ALREADY_PAID)
            reason = _and(reason, Phrase(N_("its invoices are already paid (paid twice? refund or keep on account)")))
        if netted:
            netted_numbers = _numbers(book, [a.invoice_id for a in allocations if a.cents < 0])
            reason = _and(reason, Phrase(N_("credit note {numbers} deducted"), {"numbers": netted_numbers}))
        if overpaid and allocations:
            reason = _and(reason, Phrase(N_("overpaid by {amount}, kept on account"),
                                         {"amount": Money(overpaid, currency)}))
        if charges:
            reason = _and(reason, Phrase(N_("{amount} short, written off as bank charges"),
                                         {"amount": Money(charges, currency)}))
        if left_open:
            reason = _and(reason, Phrase(N_("part payment, {amount} stays open"),
                                         {"amount": Money(left_open, currency)}))
        status = _status(confidence, rules)
        if status == UNMATCHED:
            return Proposal(payment.id, UNMATCHED, round(confidence, 2), Said(reason), debtor_id, evidence=evidence)
        book.claim(allocations)
        if status == SUGGESTED and allocations:
            book.held_by_suggestion.add(debtor_id)
        return Proposal(payment.id, status, round(confidence, 2), Said(reason), debtor_id, tuple(allocations),
                        overpaid if allocations else payment.amount_cents, charges, left_open, evidence)

    def same_currency(self, ids: list[int], payment: Payment) -> list[int]:
        return [i for i in ids if self.book.invoices[i].currency == payment.currency]

    # 1. our own reference
    def by_reference(self, payment: Payment) -> Proposal | None:
        refs = self.references_of(payment)
        ids = list(dict.fromkeys(i for r in refs for i in self.book.by_reference.get(r, ())))
        if not ids:
            return None
        same = self.same_currency(ids, payment)
        if not same:
            return Proposal(payment.id, UNMATCHED, 0.0, Said(Phrase(
                N_("quotes our reference for invoice {numbers}, but pays in {currency} and the invoice is in "
                   "{invoice_currency}: match it by hand after converting"),
                {"numbers": _numbers(self.book, ids), "currency": payment.currency,
                 "invoice_currency": self.book.invoices[ids[0]].currency})), evidence="reference")
        ids = same
        debtor = self.book.invoices[ids[0]].debtor_id
        ids = [i for i in ids if self.book.invoices[i].debtor_id == debtor]
        ref = next(r for r in refs if self.book.by_reference.get(r))
        reminder = message_id_of(ref)
        numbers = _numbers(self.book, ids)
        reason = (Phrase(N_("our reference {ref} of reminder {reminder} (invoice {numbers})"),
                         {"ref": ref, "reminder": reminder, "numbers": numbers}) if reminder
                  else Phrase(N_("our reference {ref} (invoice {numbers})"), {"ref": ref, "numbers": numbers}))
        payable = [i for i in ids if self.book.remaining[i] > 0]
        notes = [i for i in ids if self.book.remaining[i] < 0]
        total = sum(self.book.remaining[i] for i in payable)
        net = total + sum(self.book.remaining[i] for i in notes)
        tolerance = self.rules.charge_tolerance_cents
        if len(payable) <= 1 or total - payment.amount_cents <= tolerance \
                or (notes and 0 <= net - payment.amount_cents <= tolerance):
            return self.propose(payment, REFERENCE, reason, "reference", debtor, ids, credit_notes=notes)
        chosen, count, complete = _combination([(i, self.book.remaining[i]) for i in payable],
                                               payment.amount_cents, self.rules)
        if count == 1 and complete:
            chosen = [i for i in payable if i in set(chosen)]
            return self.propose(payment, REFERENCE, _and(reason, Phrase(
                N_("the amount pays {numbers}"), {"numbers": _numbers(self.book, chosen)})), "reference", debtor, chosen)
        return self.propose(payment, REFERENCE_SPLIT_UNSURE,
                            _and(reason, Phrase(N_("the amount does not say which of its invoices it pays"))),
                            "reference", debtor, ids)

    # 2. invoice numbers in the text
    def by_number(self, payment: Payment) -> Proposal | None:
        book = self.book
        keys = self.keys_of(payment)
        ids = list(dict.fromkeys(i for k in keys for i in book.by_number.get(k, ())))
        ids = self.same_currency(book.open_ids(ids), payment)
        ids = [i for i in ids if book.remaining[i] > 0]
        if not ids:
            return None
        debtors = list(dict.fromkeys(book.invoices[i].debtor_id for i in ids))
        account_debtor = self.debtor_of_account(payment)
        debtor = account_debtor if account_debtor in debtors else debtors[0]
        ambiguous = len(debtors) > 1 and account_debtor not in debtors
        ids = [i for i in ids if book.invoices[i].debtor_id == debtor]
        total = sum(book.remaining[i] for i in ids)
        notes = [i for i in book.by_debtor[debtor] if book.remaining[i] < 0]
        credit = sum(book.remaining[i] for i in notes)
        shortfall = total - payment.amount_cents
        numbers = _numbers(book, ids)
        if 0 <= shortfall <= self.rules.charge_tolerance_cents:
            confidence, reason = NUMBER_AND_AMOUNT, Phrase(
                N_("invoice {numbers} named in the text and the amount matches"), {"numbers": numbers})
        elif notes and 0 <= (total + credit) - payment.amount_cents <= self.rules.charge_tolerance_cents:
            confidence, reason = NUMBER_NETTED, Phrase(
                N_("invoice {numbers} named in the text; the amount matches after open credit notes"),
                {"numbers": numbers})
        else:
            confidence = NUMBER_OTHER_AMOUNT + (0.1 if account_debtor == debtor else 0)
            reason = Phrase(N_("invoice {numbers} named in the text, but the amount differs ({paid} for {open})"),
                            {"numbers": numbers, "paid": Money(payment.amount_cents, payment.currency),
                             "open": Money(total, payment.currency)})
        if ambiguous:
            confidence -= CONFLICT_PENALTY
            reason = _and(reason, Phrase(N_("the text also names invoices of other debtors")))
        return self.propose(payment, confidence, reason, "number", debtor, ids, credit_notes=notes)

    # 3. the account learned from earlier matches, with the amount
    def by_account(self, payment: Payment) -> Proposal | None:
        debtor = self.debtor_of_account(payment)
        if debtor is None:
            return None
        return self.for_debtor(payment, debtor, Phrase(N_("account {iban} known for this debtor"),
                                                       {"iban": payment.counterparty_iban}), "account", 0.0)

    def for_debtor(self, payment: Payment, debtor: int, why: Phrase, evidence: str, penalty: float) -> Proposal:
        """The debtor is known; the amount says which invoices. Applied at once only when exactly one
        set of open invoices makes the amount and the search for another one ran to its end."""
        book, rules, amount = self.book, self.rules, payment.amount_cents
        ids = [i for i in book.by_debtor.get(debtor, ()) if book.remaining[i] != 0
               and book.invoices[i].currency == payment.currency]
        positive = [i for i in ids if book.remaining[i] > 0]
        notes = [i for i in ids if book.remaining[i] < 0]
        if not positive:
            confidence = ACCOUNT_ON_ACCOUNT - penalty
            return Proposal(payment.id, _status(confidence, rules), round(confidence, 2), Said(_and(
                why, Phrase(N_("nothing is open for this debtor, keep on account or refund")))), debtor,
                (), payment.amount_cents, evidence=evidence)
        candidates = [(i, book.remaining[i]) for i in positive[:rules.combination_candidates]]
        chosen, count, complete = _combination(candidates, amount, rules)
        if len(positive) > rules.combination_candidates:
            complete = False
        if count == 1 and complete and debtor in book.held_by_suggestion:
            # a suggestion holds some of this debtor's invoices: were it rejected, another set might fit
            chosen = [i for i in positive if i in set(chosen)]
            return self.propose(payment, ACCOUNT_HELD - penalty, _and(why, Phrase(
                N_("the amount is invoices {numbers}, but another payment's suggestion holds invoices of this debtor"),
                {"numbers": _numbers(book, chosen)})), evidence, debtor, chosen)
        if count == 1 and complete:
            chosen = [i for i in positive if i in set(chosen)]
            numbers = _numbers(book, chosen)
            if len(chosen) == 1:
                what = Phrase(N_("the amount is that of invoice {numbers}"), {"numbers": numbers})
                confidence = ACCOUNT_ONE_INVOICE
            elif chosen == positive:
                what = Phrase(N_("the amount is the debtor's whole open balance"))
                confidence = ACCOUNT_WHOLE_BALANCE
            elif chosen == positive[:len(chosen)]:
                what = Phrase(N_("the amount is the {n} oldest open invoices ({numbers})"),
                              {"n": len(chosen), "numbers": numbers})
                confidence = ACCOUNT_OLDEST_FIRST
            else:
                what = Phrase(N_("the amount is exactly invoices {numbers}, and no other combination"),
                              {"numbers": numbers})
                confidence = ACCOUNT_COMBINATION
            return self.propose(payment, confidence - penalty, _and(why, what), evidence, debtor, chosen)
        if count:
            singles = [i for i in positive if book.remaining[i] == amount]
            prefix = _oldest_making(book, positive, amount, rules.max_combination)
            pick = singles[:1] or prefix or [i for i in positive if i in set(chosen)]
            doubt = (N_("several sets of open invoices make this amount, proposed: {numbers}") if count > 1 else
                     N_("the search for other sets that make this amount was cut short, proposed: {numbers}"))
            return self.propose(payment, ACCOUNT_AMBIGUOUS_COMBINATION - penalty,
                                _and(why, Phrase(doubt, {"numbers": _numbers(book, pick)})), evidence, debtor, pick)
        balance = sum(book.remaining[i] for i in ids)
        if notes and 0 <= balance - amount <= rules.charge_tolerance_cents:
            return self.propose(payment, ACCOUNT_WHOLE_BALANCE - penalty,
                                _and(why, Phrase(N_("the amount is the debtor's whole open balance after credit notes"))),
                                evidence, debtor, positive, credit_notes=notes)
        short = [i for i in positive if 0 < book.remaining[i] - amount <= rules.charge_tolerance_cents]
        if short:
            return self.propose(payment, ACCOUNT_SAME_AMOUNT_TWICE - penalty, _and(why, Phrase(
                N_("the amount is invoice {numbers} less bank charges"), {"numbers": _numbers(book, short[:1])})),
                evidence, debtor, short[:1])
        return self.propose(payment, ACCOUNT_ON_ACCOUNT - penalty,
                            _and(why, Phrase(N_("the amount fits no combination, allocated oldest first"))),
                            evidence, debtor, positive)

    # 4. the name, then the amount alone
    def by_name_or_amount(self, payment: Payment) -> Proposal | None:
        book = self.book
        debtors = book.by_name.get(name_key(payment.counterparty_name), set())
        if len(debtors) == 1:
            debtor = next(iter(debtors))
            proposal = self.for_debtor(payment, debtor, Phrase(N_("payer name {name} is this debtor"),
                                                               {"name": repr(payment.counterparty_name)}), "name", 0.13)
            if proposal.allocations:
                return proposal
        ids = [i for i in book.by_amount.get((payment.currency, payment.amount_cents), ())
               if book.remaining[i] == payment.amount_cents]
        if len(ids) == 1:
            inv = book.invoices[ids[0]]
            similarity = name_similarity(payment.counterparty_name, self.debtor_names.get(inv.debtor_id, ""))
            confidence = AMOUNT_ONLY + (0.2 if similarity >= 0.8 else 0)
            only = (N_("the only open invoice of this amount is {number} and the payer's name is alike")
                    if similarity >= 0.8 else N_("the only open invoice of this amount is {number}"))
            return self.propose(payment, confidence, Phrase(only, {"number": inv.number}), "amount", inv.debtor_id, ids)
        return None


class Matching:
    """One statement matched in rounds, so that the caller need not hold the whole ledger:

    1. `quoted()`: the references and invoice-number keys the payments' texts hold;
    2. `add` the invoices those name (references also when paid) with the open credit notes of the
       debtors the numbers name, then `exact_passes()`: our references, the invoice numbers;
    3. for the payments these leave (`undecided()`), `add` every open invoice of the debtors they can
       concern (their payers' learned accounts, their payers' names) and the invoices of their
       amounts, with the names of those debtors, then `other_passes()`: the account and the name
       with the amount, which gives the proposals.

    The proposals are those `match_payments` makes with the whole ledger at once."""

    def __init__(self, payments: Iterable[Payment], *, known_ibans: Mapping[str, int] | None = None,
                 rules: MatchRules | None = None, currencies: Iterable[str] = ()):
        self.matcher = _Matcher((), known_ibans or {}, {}, rules or MatchRules(), currencies)
        self.credits = [p for p in payments if p.amount_cents > 0]
        self.order = sorted(range(len(self.credits)), key=lambda k: (self.credits[k].booking_date, k))
        self.result: dict[int, Proposal] = {}
        self.weak: dict[int, Proposal] = {}

    def quoted(self) -> tuple[set[str], set[str]]:
        """(our references, invoice-number keys) found in the texts of the credits."""
        m = self.matcher
        return ({r for p in self.credits for r in m.references_of(p)},
                {k for p in self.credits for k in m.keys_of(p)})

    def add(self, invoices: Iterable[OpenInvoice], debtor_names: Mapping[int, str] | None = None) -> None:
        self.matcher.book.add(invoices, debtor_names or {})
        self.matcher.debtor_names.update(debtor_names or {})

    def _passes(self, *steps) -> None:
        for step in steps:
            for k in self.order:
                if k not in self.result:
                    proposal = step(self.credits[k])
                    if proposal is None:
                        continue
                    if proposal.status == UNMATCHED and proposal.evidence != "reference":
                        self.weak.setdefault(k, proposal)  # a weaker kind of evidence may still do better
                    else:
                        self.result[k] = proposal

    def exact_passes(self) -> None:
        currencies = self.matcher.book.currencies
        for k in self.order:
            p = self.credits[k]
            if p.reversal:
                self.result[k] = Proposal(p.id, UNMATCHED, 0.0,
                                          said(N_("a reversal of an earlier booking, not a payment")))
            elif p.currency not in currencies:
                self.result[k] = Proposal(p.id, UNMATCHED, 0.0, said(
                    N_("paid in {currency}, and no invoice is open in {currency}: match it by hand after converting"),
                    currency=p.currency))
        self._passes(self.matcher.by_reference, self.matcher.by_number)

    def undecided(self) -> list[Payment]:
        return [self.credits[k] for k in self.order if k not in self.result]

    def other_passes(self) -> list[Proposal]:
        """The remaining passes, then one proposal per credit in the order given."""
        self._passes(self.matcher.by_account, self.matcher.by_name_or_amount)
        result, credits = self.result, self.credits
        for k in self.order:
            result.setdefault(k, self.weak.get(k) or Proposal(
                credits[k].id, UNMATCHED, 0.0, said(N_("no reference, invoice number, known account or amount found"))))
        return [result[k] for k in range(len(credits))]


def match_payments(payments: Iterable[Payment], invoices: Iterable[OpenInvoice], *,
                   known_ibans: Mapping[str, int] | None = None, debtor_names: Mapping[int, str] | None = None,
                   rules: MatchRules | None = None, currencies: Iterable[str] = ()) -> list[Proposal]:
    """One proposal per incoming payment (debits are left out), in the order given. `invoices` may be
    only those that can concern these payments (what they quote, their payers' and the named debtors'
    invoices, those of their amounts): `currencies` then names every currency anything is open in."""
    matching = Matching(payments, known_ibans=known_ibans, rules=rules, currencies=currencies)
    matching.add(invoices, debtor_names)
    matching.exact_passes()
    return matching.other_passes()
