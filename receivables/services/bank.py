"""Money in: a bank statement is imported as one batch, its credits to the company's own accounts are
matched to open invoices, and a person decides what the machine is not sure of.

A statement upload is an ImportBatch of kind "bank"; an applied match is a dated invoice change
(payment; bank charges a write-off, a netted credit note a credit) whose batch is that upload, so
ageing, DSO, the reminder engine and the sender's re-check see it at once, and undoing the upload
takes its matches back. The matching itself is `receivables.domain.bank_matching`; here the
database finds, with joins, what each of its passes needs (`propose`): for the reference and number
passes the invoices the quoted references and the invoice numbers in the texts name, then, only for the
lines those leave, the invoices of the debtors the lines can concern (learned accounts, payers' names)
and those of their amounts, so the matcher never holds the whole ledger.

An accounting export that still shows open an invoice the bank paid does not reopen it:
`keep_bank_payments` holds the reopening back and lists the case for a person."""

from __future__ import annotations

import gc
import hashlib
import json
import re
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.orm.attributes import set_committed_value
from stdnum import iban as iban_number

from db.models import (
    BankAllocation,
    BankInvoiceKey,
    BankLedgerCase,
    BankLine,
    BankPayer,
    BankStatementRecord,
    Debtor,
    ImportBatch,
    Invoice,
    InvoiceChange,
    Message,
    MessageInvoice,
    utcnow,
)
from db.uow import UnitOfWork
from receivables.domain import bank_matching as bm
from receivables.domain import phrases, references
from receivables.domain.phrases import Money, Phrase
from receivables.domain.phrasing import kept
from receivables.domain.recheck import NOTHING_LEFT
from receivables.domain.translation import N_
from receivables.importing import bank as bank_files
from receivables.services import ledger, plans, reminder_settings, wording
from receivables.services.audit import record_audit
from receivables.services.errors import ServiceError
from receivables.services.settings import get_setting, put_setting

KIND = "bank"
ACCOUNTS_KEY = "bank.accounts"
RULES_KEY = "bank.matching"
REFERENCE_KIND_KEY = reminder_settings.REFERENCE_KIND_KEY
MATCHED, SUGGESTED, UNMATCHED, NOT_OURS, DEBIT = "matched", "suggested", "unmatched", "not_ours", "debit"
NEW = "new"
_CHUNK = 500


# --- the company's own accounts, the rules, the reference printed on reminders ----------------------

def normalise_account(account: str) -> str:
    """An IBAN compact and checked, or an old domestic account number as digits."""
    compact = re.sub(r"[\s.\-]", "", account or "").upper()
    if not compact:
        raise ServiceError("give the number (IBAN) of the bank account")
    if compact[:2].isalpha():
        if not iban_number.is_valid(compact):
            raise ServiceError("{account} is no valid IBAN; copy it from the bank statement", account=account)
        return compact
    if not compact.isdigit():
        raise ServiceError("{account} is no IBAN or account number", account=account)
    return compact


def _compact(account: str) -> str:
    return re.sub(r"[\s.\-]", "", account or "").upper()


def _own(session) -> list[str]:
    return list(get_setting(session, ACCOUNTS_KEY) or [])


def own_accounts(uow: UnitOfWork) -> list[str]:
    """The company's accounts: only credits to these count as payments."""
    return _own(uow.session)


def add_account(uow: UnitOfWork, account: str, *, actor: str) -> str:
    account = normalise_account(account)
    accounts = _own(uow.session)
    if account not in accounts:
        put_setting(uow.session, ACCOUNTS_KEY, [*accounts, account], actor)
        uow.commit()
    return account


def remove_account(uow: UnitOfWork, account: str, *, actor: str) -> None:
    account = _compact(account)
    accounts = _own(uow.session)
    if account not in accounts:
        raise ServiceError("{account} is not one of the company's accounts", account=account)
    put_setting(uow.session, ACCOUNTS_KEY, [a for a in accounts if a != account], actor)
    uow.commit()


def match_rules(session) -> bm.MatchRules:
    """The thresholds and the bank-charge tolerance, as set (defaults: automatic from 0.90, suggested
    from 0.50, charges up to 5.00)."""
    value = get_setting(session, RULES_KEY) or {}
    default = bm.MatchRules()
    return bm.MatchRules(auto_threshold=float(value.get("auto_threshold", default.auto_threshold)),
                         suggest_threshold=float(value.get("suggest_threshold", default.suggest_threshold)),
                         charge_tolerance_cents=int(value.get("charge_tolerance_cents",
                                                              default.charge_tolerance_cents)))


def save_rules(uow: UnitOfWork, *, auto_threshold: float, suggest_threshold: float, charge_tolerance_cents: int,
               actor: str) -> bm.MatchRules:
    try:
        rules = bm.MatchRules(auto_threshold=auto_threshold, suggest_threshold=suggest_threshold,
                              charge_tolerance_cents=charge_tolerance_cents)
    except ValueError as exc:
        raise ServiceError(str(exc)) from None
    put_setting(uow.session, RULES_KEY, {"auto_threshold": auto_threshold, "suggest_threshold": suggest_threshold,
                                         "charge_tolerance_cents": charge_tolerance_cents}, actor)
    uow.commit()
    return rules


def reference_kind(session) -> str:
    """RF creditor reference (default) or the Dutch betalingskenmerk."""
    return reminder_settings.reference_kind(session)


def set_reference_kind(uow: UnitOfWork, kind: str, *, actor: str) -> None:
    if kind not in references.KINDS:
        raise ServiceError("the payment reference is one of {kinds}", kinds=", ".join(references.KINDS))
    put_setting(uow.session, REFERENCE_KIND_KEY, kind, actor)
    uow.commit()


def payment_reference(session, message_id: int) -> str:
    """The structured reference a reminder and its QR code carry: a payment quoting it is matched to
    that reminder's invoices exactly."""
    return wording.structured_reference(message_id, reference_kind(session))


# --- importing a statement -----------------------------------------------------------------------

class UnknownAccount(ServiceError):
    """None of the file's statements is for one of the company's accounts; `accounts` lists theirs, so
    a page can offer to add the first."""

    def __init__(self, accounts: list[str]):
        super().__init__(N_("the statement is for account {accounts}, which is not one of the company's "
                            "accounts; add it (Bank page, or: bank accounts add IBAN) and import again"),
                         accounts=", ".join(accounts) or "?")
        self.accounts = accounts


@dataclass
class ImportSummary:
    file_name: str
    format: str = ""
    batch_id: int | None = None
    statements: int = 0
    lines: int = 0
    matched: int = 0
    suggested: int = 0
    unmatched: int = 0
    debits: int = 0
    duplicates: int = 0
    other_accounts: list[str] = field(default_factory=list)
    unbalanced: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return f"lines {self.lines}, matched {self.matched}, suggested {self.suggested}, unmatched {self.unmatched}"

    def details(self) -> str:
        parts = [f"debits {self.debits}", f"already imported {self.duplicates}"]
        if self.other_accounts:
            parts.append(f"left out: statements of {', '.join(self.other_accounts)} (not the company's)")
        if self.unbalanced:
            parts.append(f"balances do not add up: {', '.join(self.unbalanced)}")
        return ", ".join(parts)


def import_statement(uow: UnitOfWork, data: bytes, file_name: str, *, actor: str) -> ImportSummary:
    """Read a statement file and import it as one batch, all or nothing: lines an earlier upload had
    (the bank's entry reference, or account, date, amount, counterparty and text) are left out, the
    statements of accounts that are not the company's too; the new credits are matched at once."""
    try:
        statements = bank_files.read_statements(data)
    except bank_files.BankFileError as exc:
        raise ServiceError("{file}: {problem}", file=file_name, problem=exc) from None
    s = uow.session
    own = set(_own(s))
    ours = [st for st in statements if _compact(st.account) in own]
    result = ImportSummary(file_name, statements[0].format if statements else "", statements=len(ours),
                           other_accounts=sorted({_compact(st.account) for st in statements} - own))
    if not ours:
        raise UnknownAccount(result.other_accounts)
    result.unbalanced = [f"{st.account} {st.statement_id}".strip() for st in ours if st.balance_difference()]
    days = [t.booking_date for st in ours for t in st.transactions]
    batch = ImportBatch(kind=KIND, mode="partial", file_name=file_name[:255],
                        file_hash=hashlib.sha256(data).hexdigest(), as_of=max(days, default=date.today()),
                        imported_by=actor, profile=result.format[:50], details={})
    s.add(batch)
    s.flush()
    lines = _store_lines(s, batch, ours, result)
    if not lines:
        uow.rollback()
        return result
    credits = [ln for ln in lines if ln.status == NEW]
    _match(s, credits, match_rules(s), batch)
    for ln in lines:
        result.matched += ln.status == MATCHED
        result.suggested += ln.status == SUGGESTED
        result.unmatched += ln.status == UNMATCHED
    result.batch_id = batch.id
    batch.count_new, batch.count_unchanged = result.lines, result.duplicates
    batch.count_changed = result.matched
    batch.details = {**(batch.details or {}), "format": result.format, "summary": result.summary(),
                     "details": result.details()}
    record_audit(s, actor, "bank.import", "import_batch", batch.id, None,
                 {"file_name": file_name, "summary": result.summary(), "details": result.details()})
    uow.commit()
    return result


def _store_lines(s, batch: ImportBatch, statements, result: ImportSummary) -> list[BankLine]:
    wanted = {t.dedupe_key(_compact(st.account)) for st in statements for t in st.transactions}
    known = set()
    keys = list(wanted)
    for i in range(0, len(keys), _CHUNK):
        known |= set(s.scalars(select(BankLine.dedupe_key).where(BankLine.dedupe_key.in_(keys[i:i + _CHUNK]))))
    lines: list[BankLine] = []
    for st in statements:
        account = _compact(st.account)
        record = BankStatementRecord(batch_id=batch.id, account=account[:34], format=st.format[:20],
                                     statement_ref=(st.statement_id or None) and st.statement_id[:100],
                                     currency=st.currency[:3], opening_balance_cents=st.opening_balance_cents,
                                     opening_date=st.opening_date, closing_balance_cents=st.closing_balance_cents,
                                     closing_date=st.closing_date)
        s.add(record)
        s.flush()
        for t in st.transactions:
            key = t.dedupe_key(account)
            if key in known:
                record.duplicate_count += 1
                continue
            known.add(key)
            record.line_count += 1
            lines.append(_line(t, key, account, batch.id, record.id))
    result.lines = len(lines)
    result.duplicates = sum(len(st.transactions) for st in statements) - len(lines)
    result.debits = sum(ln.status == DEBIT for ln in lines)
    s.add_all(lines)
    s.flush()
    return lines


def _line(t: bank_files.BankTransaction, key: str, account: str, batch_id: int, statement_id: int) -> BankLine:
    return BankLine(batch_id=batch_id, statement_id=statement_id, dedupe_key=key, account=account[:34],
                    booking_date=t.booking_date, value_date=t.value_date, amount_cents=t.amount_cents,
                    currency=t.currency[:3], counterparty_name=t.counterparty_name[:255],
                    counterparty_iban=_compact(t.counterparty_iban)[:34], remittance=t.remittance,
                    structured_reference=t.structured_reference[:64], end_to_end_id=t.end_to_end_id[:100],
                    entry_reference=t.entry_reference and t.entry_reference[:100], bank_code=t.bank_code[:50],
                    reversal=t.reversal, status=NEW if t.amount_cents > 0 else DEBIT, reason="",
                    evidence="none", overpaid_cents=0, charges_cents=0)


# --- matching ------------------------------------------------------------------------------------

def _payment(ln: BankLine) -> bm.Payment:
    return bm.Payment(str(ln.id), ln.amount_cents, ln.currency, ln.booking_date, ln.counterparty_name,
                      ln.counterparty_iban, ln.remittance, ln.structured_reference, ln.reversal)


def _match(s, lines: list[BankLine], rules: bm.MatchRules, batch: ImportBatch) -> None:
    """Propose for every line at once (strongest evidence first over all of them), then apply what is
    certain enough and keep the rest as suggestions or on the worklist."""
    if not lines:
        return
    payments = [_payment(ln) for ln in lines]
    record_proposals(s, lines, propose(s, payments, rules).proposals, batch)


def record_proposals(s, lines: list[BankLine], proposals: list[bm.Proposal], batch: ImportBatch) -> None:
    """Each line takes its proposal; the automatic ones are booked at once. In a few statements whatever
    the number of lines: the lines' decisions in one update, their allocations in one insert, the
    payments as dated changes through `ledger.apply_changes`."""
    s.flush()
    by_id = {str(ln.id): ln for ln in lines}
    decided: dict[int, dict] = {}
    allocations: dict[int, list[list[int]]] = {}
    for p in proposals:
        line = by_id[p.payment_id]
        status = {bm.AUTO: MATCHED, bm.SUGGESTED: SUGGESTED}.get(p.status, UNMATCHED)
        kept = status != UNMATCHED
        decided[line.id] = {"status": status, "confidence": p.confidence, "reason": phrases.dump(p.reason, REASON_MAX),
                            "evidence": p.evidence, "debtor_id": p.debtor_id if kept else None,
                            "overpaid_cents": p.overpaid_cents if kept else 0,
                            "charges_cents": p.charges_cents if kept else 0}
        allocations[line.id] = _charged(p.allocations, p.charges_cents) if kept else []
    matched = [ln for ln in lines if ln.id in decided and decided[ln.id]["status"] == MATCHED]
    settled = _book_rows(s, matched, decided, allocations)
    if decided:
        s.execute(update(BankLine), [{"id": line_id, **values} for line_id, values in decided.items()])
    rows = [{"line_id": line_id, "invoice_id": invoice_id, "cents": cents, "charges_cents": charges,
             "applied": decided[line_id]["status"] == MATCHED}
            for line_id, made in allocations.items() for invoice_id, cents, charges in made]
    for i in range(0, len(rows), 50_000):
        s.execute(insert(BankAllocation), rows[i:i + 50_000])
    for line in lines:  # the session's objects as written, without writing them again
        for name, value in decided.get(line.id, {}).items():
            set_committed_value(line, name, value)
        s.expire(line, ["allocations"])
    _leave_messages(s, settled, batch)
    _learn(s, [ln for ln in matched if ln.evidence in ("reference", "number")])


def _charged(allocations, charges: int) -> list[list[int]]:
    """[invoice, cents, charges] per allocation: a shortfall written off as bank charges is laid on the
    last invoices paid."""
    rows = [[a.invoice_id, a.cents, 0] for a in allocations]
    for row in reversed(rows):
        if charges <= 0:
            break
        if row[1] > 0:
            row[2] = min(charges, row[1])
            charges -= row[2]
    return rows


def _book_rows(s, lines: list[BankLine], decided: dict[int, dict], allocations: dict[int, list[list[int]]]) -> list[int]:
    """`_apply` for lines still being decided (their decision and allocations as plain values): an
    invoice paid in the meantime takes only what is still open, the rest of the money stays on account.
    Returns the invoices now settled."""
    ids = sorted({row[0] for ln in lines for row in allocations[ln.id]})
    open_now: dict[int, int] = {}
    for i in range(0, len(ids), _CHUNK):
        open_now.update(s.execute(select(Invoice.id, Invoice.open_cents).where(Invoice.id.in_(ids[i:i + _CHUNK]))).all())
    changes = []
    for line in lines:
        day, batch, kept = line.booking_date, line.batch_id, []
        for invoice_id, cents, charges in allocations[line.id]:
            have = open_now[invoice_id]
            if cents > 0:
                paid = min(cents, max(have, 0))
                decided[line.id]["overpaid_cents"] += cents - paid
                charges = min(charges, paid)
                changes += [(invoice_id, day, "payment", -(paid - charges), batch),
                            (invoice_id, day, "write_off", -charges, batch)]
                cents = paid
            else:  # a credit note the payer deducted: its negative open amount is used up
                cents = max(cents, min(have, 0))
                changes.append((invoice_id, day, "credit", -cents, batch))
            open_now[invoice_id] = have - cents
            if cents:
                kept.append([invoice_id, cents, charges])
        allocations[line.id] = kept
    after = ledger.apply_changes(s, changes)
    plans.apply_payments(s, list(after))  # set against the oldest open term of a plan
    return [i for i, cents in after.items() if cents == 0]


def _with_charges(allocations, charges: int) -> list[BankAllocation]:
    """The shortfall written off as bank charges is laid on the last invoices paid."""
    return [BankAllocation(invoice_id=invoice_id, cents=cents, charges_cents=part, applied=False)
            for invoice_id, cents, part in _charged(allocations, charges)]


def _apply(s, lines: list[BankLine]) -> list[int]:
    """Book the lines' allocations as dated changes of their batch, all at once; returns the invoices
    now settled. An invoice paid in the meantime takes only what is still open; the rest of the money
    stays on account."""
    s.flush()
    ids = sorted({a.invoice_id for ln in lines for a in ln.allocations})
    open_now: dict[int, int] = {}
    for i in range(0, len(ids), _CHUNK):
        open_now.update(s.execute(select(Invoice.id, Invoice.open_cents).where(Invoice.id.in_(ids[i:i + _CHUNK]))).all())
    changes = []
    for line in lines:
        for a in list(line.allocations):
            have, day, batch = open_now[a.invoice_id], line.booking_date, line.batch_id
            if a.cents > 0:
                cents = min(a.cents, max(have, 0))
                line.overpaid_cents += a.cents - cents
                charges = min(a.charges_cents, cents)
                changes += [(a.invoice_id, day, "payment", -(cents - charges), batch),
                            (a.invoice_id, day, "write_off", -charges, batch)]
                a.cents, a.charges_cents = cents, charges
            else:  # a credit note the payer deducted: its negative open amount is used up
                a.cents = max(a.cents, min(have, 0))
                changes.append((a.invoice_id, day, "credit", -a.cents, batch))
            open_now[a.invoice_id] = have - a.cents
            if a.cents == 0:
                line.allocations.remove(a)
            else:
                a.applied = True
    after = ledger.apply_changes(s, changes)
    plans.apply_payments(s, list(after))  # set against the oldest open term of a plan
    return [i for i, cents in after.items() if cents == 0]


def _learn(s, lines: list[BankLine]) -> None:
    """The payers' accounts belong to these debtors from now on (the first debtor an account paid for
    keeps it)."""
    wanted = {ln.counterparty_iban: ln for ln in reversed(lines) if ln.counterparty_iban and ln.debtor_id}
    known = set()
    ibans = list(wanted)
    for i in range(0, len(ibans), _CHUNK):
        known |= set(s.scalars(select(BankPayer.iban).where(BankPayer.iban.in_(ibans[i:i + _CHUNK]))))
    s.add_all([BankPayer(iban=iban, debtor_id=ln.debtor_id, line_id=ln.id) for iban, ln in wanted.items()
               if iban not in known])


def _leave_messages(s, invoice_ids: list[int], batch: ImportBatch) -> None:
    """Paid invoices leave the unsent reminders; the batch remembers which, so undo can restore them."""
    if not invoice_ids:
        return
    details = dict(batch.details or {})
    lines, statuses = list(details.get("message_lines", [])), dict(details.get("message_status", {}))
    for i in range(0, len(invoice_ids), _CHUNK):
        for mid, iid, status in s.execute(
                select(MessageInvoice.message_id, MessageInvoice.invoice_id, Message.status)
                .join(Message, Message.id == MessageInvoice.message_id)
                .where(MessageInvoice.invoice_id.in_(invoice_ids[i:i + _CHUNK]), MessageInvoice.active.is_(True),
                       Message.status.in_(ledger.UNSENT))):
            lines.append([mid, iid])
            statuses.setdefault(str(mid), status)
    ledger.drop_from_pending_messages(s, invoice_ids)
    details.update(message_lines=lines, message_status=statuses)
    batch.details = details


# --- what the database finds for the matcher -----------------------------------------------------

@dataclass
class Proposed:
    proposals: list[bm.Proposal]
    exact_invoices: int  # invoices read for the reference and number passes
    other_invoices: int  # invoices read for the lines those passes left
    left_over: int  # lines the reference and number passes left


def _in(s, column: str, param: str, pg_type: str) -> str:
    if s.get_bind().dialect.name == "postgresql":
        return f"{column} = ANY(CAST(:{param} AS {pg_type}[]))"
    return f"{column} IN (SELECT value FROM json_each(:{param}))"


def _values(s, values) -> object:
    values = list(values)
    return values if s.get_bind().dialect.name == "postgresql" else json.dumps(values)


def refresh_number_keys(s) -> int:
    """Keys for open invoices that have none yet (or whose number changed); returns how many."""
    rows = s.execute(text(
        "SELECT i.id, i.number FROM invoice i LEFT JOIN bank_invoice_key k ON k.invoice_id = i.id "
        "WHERE i.open_cents <> 0 AND (k.invoice_id IS NULL OR k.number <> i.number)")).all()
    for start in range(0, len(rows), 50_000):
        chunk = rows[start:start + 50_000]
        ids = [r[0] for r in chunk]
        s.execute(text(f"DELETE FROM bank_invoice_key WHERE {_in(s, 'invoice_id', 'ids', 'bigint')}"),
                  {"ids": _values(s, ids)})
        s.execute(insert(BankInvoiceKey), [{"invoice_id": i, "number": n, "number_key": bm.number_key(n)[:64]}
                                           for i, n in chunk])
    return len(rows)


def propose(s, payments: list[bm.Payment], rules: bm.MatchRules) -> Proposed:
    """The matcher's proposals for these payments, with the database finding what each pass needs by
    joins, so that the matcher never holds the whole ledger. First the exact passes: the invoices the
    quoted references name through their reminders (also when paid: paid twice?) and the open invoices
    whose number keys the texts hold, with the open credit notes of those invoices' debtors. Then, only
    for the lines those passes leave, every open invoice of the debtors the lines can concern (their
    payers' learned accounts, their payers' names) and the invoices of their amounts. The matcher looks
    at a debtor's other invoices only for those debtors, so it decides as it would with the whole ledger."""
    with _cycle_collector_paused():
        return _propose(s, payments, rules)


@contextmanager
def _cycle_collector_paused():
    """Matching builds hundreds of thousands of small tuples, lists and dicts, none of them in a
    reference cycle; with the cycle collector on, each of its full collections walks all of them again
    while they are being built. Reference counting still frees them; the collector runs again after."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _propose(s, payments: list[bm.Payment], rules: bm.MatchRules) -> Proposed:
    refresh_number_keys(s)
    ibans = {_compact(p.counterparty_iban) for p in payments if p.counterparty_iban}
    known = dict(s.execute(text(f"SELECT iban, debtor_id FROM bank_payer WHERE {_in(s, 'iban', 'ibans', 'text')}"),
                           {"ibans": _values(s, ibans)}).all()) if ibans else {}
    currencies = set(s.scalars(select(Invoice.currency).where(Invoice.open_cents != 0).distinct()))
    matching = bm.Matching(payments, known_ibans=known, rules=rules, currencies=currencies)
    exact = [_open_invoice(r) for r in _exact_rows(s, *matching.quoted()).values()]
    matching.add(exact)
    matching.exact_passes()
    left = matching.undecided()
    if not left:
        return Proposed(matching.other_passes(), len(exact), 0, 0)
    named = _named_debtors(s, left)
    by_name: dict[str, list[int]] = defaultdict(list)
    for debtor_id, name in named.items():
        by_name[bm.name_key(name)].append(debtor_id)
    debtors = {known[i] for i in (_compact(p.counterparty_iban) for p in left) if i in known}
    debtors |= {ids[0] for ids in (by_name.get(bm.name_key(p.counterparty_name)) for p in left)
                if ids and len(ids) == 1}
    amounts = {p.amount_cents for p in left}
    other = _open_invoices(s.execute(text(
        _INVOICES + f"i.open_cents <> 0 AND ({_in(s, 'i.debtor_id', 'debtors', 'bigint')} "
                    f"OR {_in(s, 'i.open_cents', 'amounts', 'bigint')})"),
        {"debtors": _values(s, debtors), "amounts": _values(s, amounts)}))
    # the amount pass compares the payer's name with that of the one invoice of its amount
    wanted = {inv.debtor_id for inv in (*exact, *other) if inv.open_cents in amounts} - set(named)
    names = dict(named)
    if wanted:
        names.update(s.execute(text(f"SELECT id, name FROM debtor WHERE {_in(s, 'id', 'ids', 'bigint')}"),
                               {"ids": _values(s, wanted)}).all())
    matching.add(other, names)
    return Proposed(matching.other_passes(), len(exact), len(other), len(left))


_INVOICES = ("SELECT i.id, i.debtor_id, i.number, i.currency, i.open_cents, i.due_date, k.number_key "
             "FROM invoice i LEFT JOIN bank_invoice_key k ON k.invoice_id = i.id AND k.number = i.number WHERE ")


def _open_invoice(row) -> bm.OpenInvoice:
    """A row of `_INVOICES`, with the references quoted for the invoice as an eighth column if any."""
    iid, debtor, number, currency, open_cents, due, key, *refs = row
    return bm.OpenInvoice(iid, debtor, number, currency, open_cents, _day(due), tuple(refs[0]) if refs else (),
                          key or "")


def _open_invoices(rows) -> list[bm.OpenInvoice]:
    """Rows of `_INVOICES` as open invoices: what `_open_invoice` does, without a call per row (the
    second round reads hundreds of thousands)."""
    day, open_invoice = _day, bm.OpenInvoice
    return [open_invoice(iid, debtor, number, currency, open_cents, day(due), (), key or "")
            for iid, debtor, number, currency, open_cents, due, key in rows]


def _exact_rows(s, quoted: set[str], keys: set[str]) -> dict[int, tuple]:
    """Invoice rows (with their quoted references last) for the reference and number passes: those the
    quoted references name through their reminders, the open ones whose number keys the texts hold, and
    the open credit notes of the debtors of the latter (a payer may have deducted one)."""
    by_message: dict[int, list[str]] = defaultdict(list)
    for ref in quoted:
        message_id = references.message_id_of(ref)
        if message_id:
            by_message[message_id].append(ref)
    rows: dict[int, tuple] = {}
    if by_message:
        for *row, mid in s.execute(text(
                "SELECT i.id, i.debtor_id, i.number, i.currency, i.open_cents, i.due_date, k.number_key, "
                "mi.message_id FROM message_invoice mi JOIN invoice i ON i.id = mi.invoice_id "
                "LEFT JOIN bank_invoice_key k ON k.invoice_id = i.id AND k.number = i.number "
                f"WHERE {_in(s, 'mi.message_id', 'ids', 'bigint')}"), {"ids": _values(s, by_message)}):
            rows.setdefault(row[0], (*row, []))[7].extend(by_message[mid])
    debtors: set[int] = set()
    if keys:
        for row in s.execute(text(
                "SELECT i.id, i.debtor_id, i.number, i.currency, i.open_cents, i.due_date, k.number_key "
                "FROM bank_invoice_key k JOIN invoice i ON i.id = k.invoice_id AND i.number = k.number "
                f"WHERE {_in(s, 'k.number_key', 'keys', 'text')} AND i.open_cents <> 0"),
                {"keys": _values(s, keys)}):
            rows.setdefault(row[0], tuple(row))
            debtors.add(row[1])
    if not debtors:
        return rows
    if len(debtors) * 4 > (s.scalar(select(func.count()).select_from(Debtor)) or 0):
        # a long statement names most debtors: one pass over the credit notes beats looking each debtor up
        notes = (row for row in s.execute(text(_INVOICES + "i.open_cents < 0")) if row[1] in debtors)
    else:
        notes = s.execute(text(_INVOICES + f"i.open_cents < 0 AND {_in(s, 'i.debtor_id', 'ids', 'bigint')}"),
                          {"ids": _values(s, debtors)})
    for row in notes:
        rows.setdefault(row[0], tuple(row))
    return rows


def _named_debtors(s, payments) -> dict[int, str]:
    """Every debtor whose name is that of a payer (all of them for a name several debtors share)."""
    wanted = {bm.name_key(p.counterparty_name) for p in payments if p.counterparty_name}
    wanted.discard("")
    if not wanted:
        return {}
    return {d: name for d, name in s.execute(select(Debtor.id, Debtor.name)) if bm.name_key(name) in wanted}


def _day(value) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return _iso_day(value)


@lru_cache(maxsize=4096)
def _iso_day(value: str) -> date:  # SQLite gives dates as text; a ledger has few distinct due dates
    return date.fromisoformat(value[:10])


def rematch(uow: UnitOfWork, *, actor: str) -> dict[str, int]:
    """Match the worklist's credits again (after an import brought new invoices, say)."""
    s = uow.session
    lines = list(s.scalars(select(BankLine).where(BankLine.status == UNMATCHED).order_by(BankLine.id)))
    by_batch = defaultdict(list)
    for ln in lines:
        by_batch[ln.batch_id].append(ln)
    for batch_id, group in by_batch.items():
        _match(s, group, match_rules(s), s.get(ImportBatch, batch_id))
    counts = {status: sum(ln.status == status for ln in lines) for status in (MATCHED, SUGGESTED, UNMATCHED)}
    record_audit(s, actor, "bank.rematch", "bank_line", None, None, counts)
    uow.commit()
    return counts


# --- what a person decides -----------------------------------------------------------------------

def _get_line(s, line_id: int, allowed: tuple[str, ...]) -> BankLine:
    line = s.get(BankLine, line_id)
    if line is None:
        raise ServiceError("there is no bank line {id}", id=line_id)
    if line.status not in allowed:
        raise ServiceError("bank line {id} is {status}, not {allowed}", id=line_id, status=line.status,
                           allowed=" or ".join(allowed))
    return line


def _decided(s, line: BankLine, actor: str, what: str) -> None:
    line.decided_by, line.decided_at = actor, utcnow()
    record_audit(s, actor, f"bank.{what}", "bank_line", line.id, None,
                 {"status": line.status, "debtor_id": line.debtor_id,
                  "allocations": [[a.invoice_id, a.cents] for a in line.allocations]})


def confirm(uow: UnitOfWork, line_id: int, *, actor: str) -> BankLine:
    """Apply a suggestion as proposed."""
    s = uow.session
    line = _get_line(s, line_id, (SUGGESTED,))
    _book(s, line, Phrase(N_("{reason}; confirmed by {actor}"), {"reason": phrases.load(line.reason), "actor": actor}))
    _decided(s, line, actor, "confirm")
    uow.commit()
    return line


def assign(uow: UnitOfWork, line_id: int, *, actor: str, debtor_id: int, invoice_ids: list[int] | None = None) -> BankLine:
    """Change a suggestion, or answer "who paid this?": the payment is this debtor's and pays these
    invoices (oldest due first; credit notes among them netted when the amount shows it; without
    invoices it is kept on account)."""
    s = uow.session
    line = _get_line(s, line_id, (SUGGESTED, UNMATCHED))
    if s.get(Debtor, debtor_id) is None:
        raise ServiceError("there is no debtor {id}", id=debtor_id)
    chosen = list(s.scalars(select(Invoice).where(Invoice.id.in_(invoice_ids or []))))
    if len(chosen) != len(set(invoice_ids or [])):
        raise ServiceError("one of the invoices chosen does not exist")
    for inv in chosen:
        if inv.debtor_id != debtor_id:
            raise ServiceError("invoice {number} is not of this debtor", number=inv.number)
        if inv.currency != line.currency:
            raise ServiceError("invoice {number} is in {currency}; the payment is in {paid}", number=inv.number,
                               currency=inv.currency, paid=line.currency)
        if inv.open_cents == 0:
            raise ServiceError("invoice {number} is already paid", number=inv.number)
    allocations, overpaid, charges, left = bm.allocate(
        line.amount_cents, [bm.OpenInvoice(i.id, i.debtor_id, i.number, i.currency, i.open_cents, i.due_date)
                            for i in chosen], match_rules(s))
    line.allocations = _with_charges(allocations, charges)
    line.debtor_id, line.overpaid_cents, line.charges_cents = debtor_id, overpaid, charges
    line.evidence, line.confidence = "person", 1.0
    numbers = ", ".join(i.number for i in chosen) or Phrase(N_("nothing (kept on account)"))
    reason = Phrase(N_("assigned by {actor}: pays {numbers}"), {"actor": actor, "numbers": numbers})
    if left:
        reason = Phrase(N_("{reason}; {amount} stays open"), {"reason": reason, "amount": Money(left, line.currency)})
    _book(s, line, reason)
    _learn(s, [line])
    _decided(s, line, actor, "assign")
    uow.commit()
    return line


REASON_MAX = 2000  # characters of a bank line's reason kept


def _book(s, line: BankLine, reason: Phrase) -> None:
    settled = _apply(s, [line])
    line.status, line.reason = MATCHED, phrases.dump(reason, REASON_MAX)
    _leave_messages(s, settled, s.get(ImportBatch, line.batch_id))


def reject(uow: UnitOfWork, line_id: int, *, actor: str) -> BankLine:
    """The suggestion is wrong: the payment goes to the "who paid this?" worklist."""
    s = uow.session
    line = _get_line(s, line_id, (SUGGESTED,))
    line.allocations = []
    line.status, line.debtor_id, line.overpaid_cents, line.charges_cents = UNMATCHED, None, 0, 0
    line.reason = phrases.dump(Phrase(N_("suggestion rejected by {actor} ({reason})"),
                                      {"actor": actor, "reason": phrases.load(line.reason)}), REASON_MAX)
    _decided(s, line, actor, "reject")
    uow.commit()
    return line


def mark_not_ours(uow: UnitOfWork, line_id: int, *, actor: str, note: str = "") -> BankLine:
    """The money is no payment of an invoice of ours (a refund, a deposit, a mistaken transfer)."""
    s = uow.session
    line = _get_line(s, line_id, (SUGGESTED, UNMATCHED))
    line.allocations = []
    line.status, line.debtor_id = NOT_OURS, None
    line.reason = phrases.dump(Phrase(N_("not ours, said {actor}: {note}"), {"actor": actor, "note": note}) if note
                               else Phrase(N_("not ours, said {actor}"), {"actor": actor}))
    _decided(s, line, actor, "not_ours")
    uow.commit()
    return line


# --- undo ----------------------------------------------------------------------------------------

def _latest(s) -> ImportBatch | None:
    return s.scalars(select(ImportBatch).where(ImportBatch.kind == KIND, ImportBatch.status == "applied")
                     .order_by(ImportBatch.id.desc()).limit(1)).first()


def undo_latest(uow: UnitOfWork, *, actor: str, batch_id: int | None = None) -> int:
    """Take back the newest statement upload with every match made from it (also those confirmed
    since): its payments leave the invoices, the reminders they emptied come back, the accounts it
    taught are forgotten. Returns the batch id."""
    s = uow.session
    batch = _latest(s)
    if batch is None:
        raise ServiceError("there is no bank statement to undo")
    if batch_id is not None and batch.id != batch_id:
        raise ServiceError("only the latest bank statement (batch {latest}) can be undone, not batch {batch}",
                           latest=batch.id, batch=batch_id)
    touched = sorted(set(s.scalars(select(InvoiceChange.invoice_id).where(InvoiceChange.batch_id == batch.id))))
    s.execute(delete(InvoiceChange).where(InvoiceChange.batch_id == batch.id))
    for i in range(0, len(touched), _CHUNK):
        for inv in s.scalars(select(Invoice).where(Invoice.id.in_(touched[i:i + _CHUNK]))):
            ledger.recompute(s, inv)
        s.execute(delete(BankLedgerCase).where(BankLedgerCase.invoice_id.in_(touched[i:i + _CHUNK]),
                                               BankLedgerCase.status == "open"))
    _restore_messages(s, batch.details or {})
    lines = select(BankLine.id).where(BankLine.batch_id == batch.id)
    s.execute(delete(BankPayer).where(BankPayer.line_id.in_(lines)))
    s.execute(delete(BankAllocation).where(BankAllocation.line_id.in_(lines)))
    s.execute(delete(BankLine).where(BankLine.batch_id == batch.id))
    s.execute(delete(BankStatementRecord).where(BankStatementRecord.batch_id == batch.id))
    batch.status = "undone"
    record_audit(s, actor, "bank.undo", "import_batch", batch.id, {"file_name": batch.file_name},
                 {"status": "undone", "invoices_restored": len(touched)})
    uow.commit()
    return batch.id


def _restore_messages(s, details: dict) -> None:
    statuses = details.get("message_status", {})
    for mid, iid in details.get("message_lines", []):
        s.execute(update(MessageInvoice).where(MessageInvoice.message_id == mid, MessageInvoice.invoice_id == iid)
                  .values(active=True))
    for mid, status in statuses.items():
        s.execute(update(Message).where(Message.id == int(mid), Message.status == "cancelled",
                                        Message.last_error.in_((NOTHING_LEFT, phrases.dump(NOTHING_LEFT))))
                  .values(status=status, last_error=None))
    if statuses:
        wording.reword(s, [int(m) for m in statuses], Phrase(N_("an undone bank statement brought an invoice back")))


# --- the accounting export after the bank ---------------------------------------------------------

def keep_bank_payments(session, import_batch_id: int) -> list[int]:
    """For an accounting import, before it commits: where it reopened (or raised) an invoice the bank
    paid, the bank payment stands — the reopening is held back up to what the bank paid — and the case
    is listed for a person, since the accountant may not have booked the payment yet. An export that
    agrees with the bank changes nothing and needs nothing here. Returns the case ids."""
    s = session
    raised = s.execute(select(InvoiceChange.id, InvoiceChange.invoice_id, InvoiceChange.delta_cents)
                       .where(InvoiceChange.batch_id == import_batch_id, InvoiceChange.delta_cents > 0)).all()
    if not raised:
        return []
    bank_batches = select(ImportBatch.id).where(ImportBatch.kind == KIND, ImportBatch.status == "applied")
    ids = sorted({r[1] for r in raised})
    paid: dict[int, int] = {}
    for i in range(0, len(ids), _CHUNK):
        paid.update(s.execute(select(InvoiceChange.invoice_id, -func.sum(InvoiceChange.delta_cents))
                              .where(InvoiceChange.invoice_id.in_(ids[i:i + _CHUNK]),
                                     InvoiceChange.batch_id.in_(bank_batches))
                              .group_by(InvoiceChange.invoice_id)).all())
    cases = []
    for change_id, invoice_id, delta in raised:
        kept = min(delta, paid.get(invoice_id) or 0)
        if kept <= 0:
            continue
        invoice = s.get(Invoice, invoice_id, populate_existing=True)
        file_open = invoice.open_cents
        if kept == delta:
            s.execute(delete(InvoiceChange).where(InvoiceChange.id == change_id))
        else:
            s.execute(update(InvoiceChange).where(InvoiceChange.id == change_id).values(delta_cents=delta - kept))
        s.flush()
        ledger.recompute(s, invoice)
        case = s.scalars(select(BankLedgerCase).where(BankLedgerCase.invoice_id == invoice_id,
                                                      BankLedgerCase.status == "open")).first()
        if case is None:
            case = BankLedgerCase(invoice_id=invoice_id, import_batch_id=import_batch_id, kept_cents=kept,
                                  file_open_cents=file_open, status="open")
            s.add(case)
        else:
            case.import_batch_id, case.kept_cents, case.file_open_cents = import_batch_id, kept, file_open
        s.flush()
        cases.append(case.id)
    return cases


def reconcile_import(uow: UnitOfWork, import_batch_id: int, *, actor: str) -> list[int]:
    """`keep_bank_payments` for an accounting import already committed, in a transaction of its own."""
    cases = keep_bank_payments(uow.session, import_batch_id)
    if cases:
        record_audit(uow.session, actor, "bank.keep_payments", "import_batch", import_batch_id, None,
                     {"cases": cases})
    uow.commit()
    return cases


def ledger_cases(uow: UnitOfWork, *, status: str = "open") -> list[dict]:
    """Invoices the bank paid that a later export still showed open: for a person to look at."""
    rows = uow.session.execute(
        select(BankLedgerCase, Invoice.number, Invoice.currency, Invoice.open_cents, Debtor.code, Debtor.name,
               ImportBatch.file_name, ImportBatch.as_of)
        .join(Invoice, Invoice.id == BankLedgerCase.invoice_id).join(Debtor, Debtor.id == Invoice.debtor_id)
        .join(ImportBatch, ImportBatch.id == BankLedgerCase.import_batch_id)
        .where(BankLedgerCase.status == status).order_by(BankLedgerCase.id)).all()
    return [{"id": c.id, "invoice_id": c.invoice_id, "invoice": number, "debtor_code": code, "debtor_name": name,
             "currency": currency, "open_cents": open_cents, "file_open_cents": c.file_open_cents,
             "kept_cents": c.kept_cents, "export": file_name, "export_as_of": as_of, "status": c.status}
            for c, number, currency, open_cents, code, name, file_name, as_of in rows]


def resolve_case(uow: UnitOfWork, case_id: int, *, actor: str) -> None:
    case = uow.session.get(BankLedgerCase, case_id)
    if case is None or case.status != "open":
        raise ServiceError("there is no open case {id}", id=case_id)
    case.status, case.resolved_by, case.resolved_at = "resolved", actor, utcnow()
    record_audit(uow.session, actor, "bank.case_resolved", "bank_ledger_case", case_id, None, {"status": "resolved"})
    uow.commit()


# --- reading -------------------------------------------------------------------------------------

def _line_dict(ln: BankLine, numbers: dict[int, str], debtors: dict[int, tuple[str, str]]) -> dict:
    code, name = debtors.get(ln.debtor_id, ("", ""))
    return {"id": ln.id, "batch_id": ln.batch_id, "booking_date": ln.booking_date, "amount_cents": ln.amount_cents,
            "currency": ln.currency, "counterparty_name": ln.counterparty_name,
            "counterparty_iban": ln.counterparty_iban, "remittance": ln.remittance,
            "structured_reference": ln.structured_reference, "status": ln.status, "confidence": ln.confidence,
            "reason": kept(ln.reason), "evidence": ln.evidence, "debtor_id": ln.debtor_id, "debtor_code": code,
            "debtor_name": name, "overpaid_cents": ln.overpaid_cents, "charges_cents": ln.charges_cents,
            "decided_by": ln.decided_by,
            "allocations": [{"invoice_id": a.invoice_id, "invoice": numbers.get(a.invoice_id, ""), "cents": a.cents,
                             "charges_cents": a.charges_cents, "applied": a.applied} for a in ln.allocations]}


def _lines(s, where, limit: int | None = None) -> list[dict]:
    q = select(BankLine).where(*where).order_by(BankLine.booking_date, BankLine.id)
    lines = list(s.scalars(q.limit(limit) if limit else q))
    invoice_ids = {a.invoice_id for ln in lines for a in ln.allocations}
    debtor_ids = {ln.debtor_id for ln in lines if ln.debtor_id}
    numbers = dict(s.execute(select(Invoice.id, Invoice.number).where(Invoice.id.in_(invoice_ids))).all()) \
        if invoice_ids else {}
    debtors = {d: (c, n) for d, c, n in s.execute(select(Debtor.id, Debtor.code, Debtor.name)
                                                   .where(Debtor.id.in_(debtor_ids)))} if debtor_ids else {}
    return [_line_dict(ln, numbers, debtors) for ln in lines]


def suggestions(uow: UnitOfWork) -> list[dict]:
    """Matches a person confirms, changes or rejects, oldest first, each with its reason."""
    return _lines(uow.session, [BankLine.status == SUGGESTED])


def worklist(uow: UnitOfWork) -> list[dict]:
    """Credits nobody could match: who paid this?"""
    return _lines(uow.session, [BankLine.status == UNMATCHED])


def line(uow: UnitOfWork, line_id: int) -> dict:
    found = _lines(uow.session, [BankLine.id == line_id])
    if not found:
        raise ServiceError("there is no bank line {id}", id=line_id)
    return found[0]


def debtor_payments(uow: UnitOfWork, debtor_id: int) -> list[dict]:
    """Each bank payment of a debtor (applied or suggested) and how it was matched: for the dossier."""
    return _lines(uow.session, [BankLine.debtor_id == debtor_id, BankLine.status.in_((MATCHED, SUGGESTED))])


def history(uow: UnitOfWork, limit: int = 20) -> list[dict]:
    """Statement uploads, newest first, with their figures per status (undone ones too)."""
    s = uow.session
    batches = list(s.scalars(select(ImportBatch).where(ImportBatch.kind == KIND)
                             .order_by(ImportBatch.id.desc()).limit(limit)))
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    ids = [b.id for b in batches]
    if ids:
        for batch_id, status, n in s.execute(select(BankLine.batch_id, BankLine.status, func.count())
                                             .where(BankLine.batch_id.in_(ids))
                                             .group_by(BankLine.batch_id, BankLine.status)):
            counts[batch_id][status] = n
    latest = _latest(s)
    return [{"batch": b.id, "imported_at": b.imported_at, "imported_by": b.imported_by, "file_name": b.file_name,
             "format": b.profile, "status": b.status, "lines": b.count_new, "already_imported": b.count_unchanged,
             **{k: counts[b.id].get(k, 0) for k in (MATCHED, SUGGESTED, UNMATCHED, NOT_OURS, DEBIT)},
             "undoable": latest is not None and latest.id == b.id}
            for b in batches]


def debtor_choices(uow: UnitOfWork) -> list[dict]:
    """Debtors to assign a payment to: code, name, open balance."""
    rows = uow.session.execute(
        select(Debtor.id, Debtor.code, Debtor.name, func.coalesce(func.sum(Invoice.open_cents), 0))
        .outerjoin(Invoice, (Invoice.debtor_id == Debtor.id) & (Invoice.open_cents != 0))
        .group_by(Debtor.id, Debtor.code, Debtor.name).order_by(Debtor.code))
    return [{"id": i, "code": c, "name": n, "open_cents": int(o)} for i, c, n, o in rows]


def open_invoices(uow: UnitOfWork, debtor_id: int) -> list[dict]:
    """A debtor's open invoices and credit notes, oldest due first, to choose what a payment pays."""
    rows = uow.session.execute(select(Invoice.id, Invoice.number, Invoice.due_date, Invoice.currency,
                                      Invoice.open_cents)
                               .where(Invoice.debtor_id == debtor_id, Invoice.open_cents != 0)
                               .order_by(Invoice.due_date, Invoice.id))
    return [{"id": i, "number": n, "due_date": d, "currency": c, "open_cents": o} for i, n, d, c, o in rows]


def debtor_by_code(uow: UnitOfWork, code: str) -> int:
    debtor_id = uow.session.scalar(select(Debtor.id).where(Debtor.code == code))
    if debtor_id is None:
        raise ServiceError("there is no debtor {code}", code=code)
    return debtor_id


def invoice_ids(uow: UnitOfWork, numbers: list[str]) -> list[int]:
    """The ids of invoices given by number (as a person types them on the command line)."""
    found = dict(uow.session.execute(select(Invoice.number, Invoice.id).where(Invoice.number.in_(numbers))).all())
    missing = [n for n in numbers if n not in found]
    if missing:
        raise ServiceError("there is no invoice {numbers}", numbers=", ".join(missing))
    return [found[n] for n in numbers]
