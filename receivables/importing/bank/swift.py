"""MT940 statements of the Dutch banks (ING, Rabobank, ABN AMRO, SNS/ASN/RegioBank, Knab, Triodos).

The SWIFT layer (tags, `:61:` lines, balances, dates across a year end, reversal marks) is read by the
`mt-940` library. Two things are done here because the library leaves them to the caller: the envelope
each bank wraps around its statements (SWIFT blocks, `ABNANL2A`/`940` header lines, Rabobank's `:940:`)
and lines that ING's downloads wrap at arbitrary places, both cleaned up before the library sees the
text; and the `:86:` description, whose layout is per bank (see `descriptions`)."""

from __future__ import annotations

import logging
import re
from datetime import date
from decimal import Decimal

import mt940
from mt940 import tags as mt940_tags

from receivables.domain.phrases import Phrase
from receivables.domain.translation import N_
from receivables.importing.bank.descriptions import (
    Description,
    describe,
    free_text,
    is_slash_coded,
    looks_like_iban,
)
from receivables.importing.bank.fields import is_iban, normalise_iban, squash
from receivables.importing.bank.model import BankFileError, BankStatement, BankTransaction

_TAG = re.compile(r"^:(\d{2}[A-Z]?|NS):")
_SNS_FAMILY = ("SNSB", "ASNB", "RBRB")

logging.getLogger("mt940").setLevel(logging.CRITICAL)  # a failed match is reported as BankFileError


def looks_like_mt940(head: str) -> bool:
    return bool(re.search(r"^:20:", head, re.MULTILINE) and re.search(r"^:(60[FM]|61|25):", head, re.MULTILINE))


def detect_bank(text: str) -> str:
    """The bank that wrote the file, from its envelope and the first account line."""
    first_statement = re.search(r"^:20:", text, re.MULTILINE)
    head = text[:first_statement.start()] if first_statement else text[:200]
    account = re.search(r"^:25:(.*)$", text, re.MULTILINE)
    acct = account.group(1).upper() if account else ""
    if "TRIODOSBANK" in acct or "TRIO" in acct[4:8]:
        return "triodos"
    if any(code in head or code in acct for code in _SNS_FAMILY):
        return "sns"
    if "INGB" in head or "INGB" in acct:
        return "ing"
    if ":940:" in head or "RABO" in acct:
        return "rabobank"
    if "ABNA" in head or "ABNA" in acct:
        return "abnamro"
    if "KNAB" in head or "KNAB" in acct:
        return "knab"
    return "mt940"


def _blocks(text: str, bank: str) -> list[list[str]]:
    """Statements as lists of lines, without envelopes, header lines and blank lines."""
    blocks: list[list[str]] = []
    current: list[str] | None = None
    for raw in text.split("\n"):
        line = raw.rstrip()
        if "{4:" in line:
            line = line.split("{4:", 1)[1]
        if not line.strip():
            continue
        if line.startswith(":20:"):
            current = [line]
            blocks.append(current)
            continue
        if line.startswith("-}") or (line.strip() == "-" and bank != "ing"):
            current = None  # ING wraps text at fixed widths, so a lone "-" there can be content
            continue
        if current is None:  # bank header lines before a statement: ABNANL2A, 940, :940:
            continue
        current.append(raw.rstrip("\r"))
    return blocks


def _fields(lines: list[str]) -> list[tuple[str, list[str]]]:
    fields: list[tuple[str, list[str]]] = []
    for line in lines:
        m = _TAG.match(line)
        if m:
            fields.append((m.group(1), [line[m.end():]]))
        elif fields:
            fields[-1][1].append(line)
    return fields


def _rejoin_ing(fields: list[tuple[str, list[str]]]) -> list[tuple[str, list[str]]]:
    """ING wraps every field at a fixed width, even inside a word or a `:61:` reference: glue the
    pieces, then put the `/TRCD/` supplement of a `:61:` back on its own line."""
    out = []
    for tag, lines in fields:
        joined = "".join(line.strip() for line in lines)
        if tag == "61" and "/TRCD/" in joined:
            head, _, tail = joined.partition("/TRCD/")
            out.append((tag, [head, "/TRCD/" + tail]))
        else:
            out.append((tag, [joined]))
    return out


def _text_of(fields: list[tuple[str, list[str]]]) -> str:
    return "\n".join(f":{tag}:" + "\n".join(lines) for tag, lines in fields)


def _cents(amount: object, where: Phrase) -> int:
    value = getattr(amount, "amount", None)
    if not isinstance(value, Decimal):
        raise BankFileError(N_("{where}: no amount"), where=where)
    if value != value.quantize(Decimal("0.01")):
        raise BankFileError(N_("{where}: amount {value} has more than two decimals"), where=where, value=str(value))
    return int(value * 100)


def parse_mt940(text: str) -> list[BankStatement]:
    """Every statement in the file (one per `:20:`), with its transactions."""
    bank = detect_bank(text)
    blocks = _blocks(text.replace("\r\n", "\n").replace("\r", "\n"), bank)
    if not blocks:
        raise BankFileError(N_("No MT940 statement found (no line starting with :20:); "
                               "download the statement in MT940 format."))
    return [_statement(block, bank, n) for n, block in enumerate(blocks, start=1)]


def _statement(lines: list[str], bank: str, number: int) -> BankStatement:
    fields = _fields(lines)
    if bank == "ing":
        fields = _rejoin_ing(fields)
    custom = {61: mt940_tags.StatementASNB()} if bank == "sns" else None
    collection = mt940.models.Transactions(tags=custom, options=mt940.Options.all())
    try:
        collection.parse(_text_of(fields))
    except (RuntimeError, ValueError, KeyError, TypeError) as exc:
        value = exc.args[2] if isinstance(exc, RuntimeError) and len(exc.args) > 2 else ""
        raise BankFileError(N_("Statement {number}: cannot read the line {line}; the file may be edited or cut "
                               "off — download it from your bank again."), number=number,
                            line=repr(str(value)[:80])) from exc
    data = collection.data
    if "account_identification" not in data:
        raise BankFileError(N_("Statement {number} has no account (:25: line)."), number=number)
    account, account_currency = _account(data["account_identification"])
    opening = data.get("final_opening_balance") or data.get("intermediate_opening_balance") \
        or data.get("opening_balance")
    closing = data.get("final_closing_balance") or data.get("intermediate_closing_balance") \
        or data.get("closing_balance")
    currency = collection.currency or account_currency or "EUR"
    transactions = []
    tx_86 = iter(_details_per_transaction(fields))
    for i, tx in enumerate(collection.transactions, start=1):
        if "amount" not in tx.data:
            continue
        transactions.append(_transaction(tx.data, next(tx_86, ""), bank, Phrase(N_("Statement {number} line {n}"), {"number": number, "n": i}),
                                         currency))
    return BankStatement(
        format="mt940", bank=bank, account=account, currency=currency, transactions=tuple(transactions),
        statement_id="/".join(x for x in (str(data.get("transaction_reference", "")).strip(),
                                         str(data.get("statement_number") or "")) if x),
        opening_balance_cents=_cents(opening.amount, "opening balance") if opening else None,
        opening_date=_date(opening.date) if opening else None,
        closing_balance_cents=_cents(closing.amount, "closing balance") if closing else None,
        closing_date=_date(closing.date) if closing else None,
    )


def _details_per_transaction(fields: list[tuple[str, list[str]]]) -> list[str]:
    """The `:86:` text belonging to each `:61:`, with its original line breaks."""
    out: list[str] = []
    for tag, lines in fields:
        if tag == "61":
            out.append("")
        elif tag == "86" and out and not out[-1]:
            out[-1] = "\n".join(lines)
    return out


def _date(d: object) -> date:
    return date(d.year, d.month, d.day)


def _account(value: str) -> tuple[str, str]:
    s = (value or "").strip()
    currency = ""
    m = re.match(r"^(.*?)\s*([A-Z]{3})$", s)
    if m and is_iban(m.group(1).replace(" ", "")):
        s, currency = m.group(1), m.group(2)
    elif re.match(r"^[A-Z]{2}\d{2}[A-Z]{4}\d{10}[A-Z]{3}$", s):
        s, currency = s[:-3], s[-3:]
    if "/" in s:  # BIC/account (Triodos: TRIODOSBANK/0390123456)
        s = s.rsplit("/", 1)[1]
    return normalise_iban(s), currency


def _description(text: str, bank: str) -> Description:
    """Slash-coded `:86:` lines were wrapped at a fixed width, so they are glued back without a
    space; free texts (old ABN AMRO, SNS/ASN, Knab) keep their line breaks as word breaks."""
    if is_slash_coded(text.replace("\n", "")):
        return describe(text.replace("\n", ""))
    if bank in ("sns", "knab", "abnamro"):
        return free_text(text)
    return describe(text)


def _transaction(data: dict, details: str, bank: str, where: Phrase, currency: str) -> BankTransaction:
    amount = _cents(data["amount"], where)
    status = str(data.get("status") or "")
    desc = _description(details, bank)
    extra = squash(str(data.get("extra_details") or ""))
    customer_ref = str(data.get("customer_reference") or "").strip()
    iban, name = desc.iban, desc.name
    if bank == "sns":
        if looks_like_iban(customer_ref):
            iban = iban or normalise_iban(customer_ref)
        name = name or extra
    elif extra and is_iban(extra.split()[0]):  # Rabobank: counterparty account on the :61: line
        iban = iban or normalise_iban(extra.split()[0])
    bank_ref = str(data.get("bank_reference") or "").strip() or None
    if customer_ref in ("NONREF", "EREF", "PREF", "MARF") or bank == "sns":
        customer_ref = ""
    entry_date = data.get("entry_date") or data.get("date")
    return BankTransaction(
        booking_date=_date(entry_date), value_date=_date(data["date"]), amount_cents=amount,
        currency=str(data.get("currency") or currency), entry_reference=bank_ref,
        counterparty_name=name, counterparty_iban=iban, remittance=desc.remittance,
        structured_reference=desc.structured_reference,
        end_to_end_id=desc.end_to_end_id or customer_ref, bank_code=str(data.get("id") or ""),
        reversal=status.upper().startswith("R"),
    )
