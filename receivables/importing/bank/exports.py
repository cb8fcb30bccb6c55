"""The transaction downloads small companies take from their bank's website, in the banks' published
layouts:

- ING (Mijn ING Zakelijk, "kommagescheiden CSV"): a header row `Datum;Naam / Omschrijving;Rekening;
  Tegenrekening;Code;Af Bij;Bedrag (EUR);Mutatiesoort;Mededelingen[;Saldo na mutatie;Tag]` (or its English
  twin), semicolon or comma, dates `yyyymmdd`, unsigned amounts with `Af`/`Bij`, newest booking first;
- Rabobank (Rabo Internetbankieren, "CSV"): `IBAN/BBAN,Munt,BIC,Volgnr,Datum,Rentedatum,Bedrag,Saldo na trn,
  Tegenrekening IBAN/BBAN,Naam tegenpartij,…,Betalingskenmerk,Omschrijving-1,Omschrijving-2,Omschrijving-3,…`,
  dates `yyyy-mm-dd`, signed amounts `+1.234,56`, oldest first, `Volgnr` a running number per account;
- ABN AMRO (Internet Bankieren, "TXT"): tab-separated without header: account, currency, date `yyyymmdd`,
  balance before, balance after, value date, signed amount, description (see `descriptions`).
"""

from __future__ import annotations

import csv
import io
import re
from itertools import groupby

from receivables.domain.phrases import Phrase
from receivables.domain.translation import N_
from receivables.importing.bank.descriptions import describe, labelled
from receivables.importing.bank.fields import (
    cents,
    compact_date,
    dutch_date,
    iso_date,
    normalise_iban,
    squash,
)
from receivables.importing.bank.model import BankFileError, BankStatement, BankTransaction

ING_COLUMNS_NL = ("Datum", "Naam / Omschrijving", "Rekening", "Tegenrekening", "Code", "Af Bij", "Bedrag (EUR)",
                  "Mutatiesoort", "Mededelingen")
ING_COLUMNS_EN = ("Date", "Name / Description", "Account", "Counterparty", "Code", "Debit/credit",
                  "Amount (EUR)", "Transaction type", "Notifications")
RABO_REQUIRED = ("IBAN/BBAN", "Munt", "Volgnr", "Datum", "Bedrag", "Tegenrekening IBAN/BBAN", "Naam tegenpartij",
                 "Omschrijving-1")


def _rows(text: str, delimiter: str) -> list[list[str]]:
    return [row for row in csv.reader(io.StringIO(text), delimiter=delimiter) if any(c.strip() for c in row)]


def sniff_export(text: str) -> str | None:
    """'ing', 'rabobank' or 'abnamro' when the text is one of their downloads."""
    first = text.lstrip().split("\n", 1)[0]
    plain = first.replace('"', "")
    if plain.startswith(("Datum;Naam / Omschrijving", "Datum,Naam / Omschrijving", "Date;Name / Description",
                         "Date,Name / Description")):
        return "ing"
    if plain.startswith("IBAN/BBAN") and "Volgnr" in plain:
        return "rabobank"
    cols = first.split("\t")
    if len(cols) >= 8 and re.fullmatch(r"\d{8}", cols[2].strip()) and re.fullmatch(r"[A-Z]{3}", cols[1].strip()):
        return "abnamro"
    return None


def parse_export(text: str) -> list[BankStatement]:
    kind = sniff_export(text)
    if kind == "ing":
        return parse_ing_csv(text)
    if kind == "rabobank":
        return parse_rabobank_csv(text)
    if kind == "abnamro":
        return parse_abnamro_txt(text)
    raise BankFileError(N_("This text file is no bank download we know (ING CSV, Rabobank CSV, ABN AMRO TXT, "
                           "MT940). Download the transactions again in one of those formats."))


def _header_index(header: list[str], names: tuple[str, ...], what: str) -> dict[str, int]:
    clean = [h.strip().lstrip("\ufeff") for h in header]
    missing = [n for n in names if n not in clean]
    if missing:
        raise BankFileError(N_("The {what} file has no column {columns}; download it again without changing "
                               "the columns."), what=what, columns=", ".join(missing))
    return {name: i for i, name in enumerate(clean)}


def _cell(row: list[str], col: dict[str, int], name: str) -> str:
    i = col.get(name)
    return row[i].strip() if i is not None and i < len(row) else ""


def _balances_from_running(rows: list[tuple[int, int]]) -> tuple[int | None, int | None]:
    """Opening and closing from (amount, balance after) in booking order."""
    if not rows:
        return None, None
    first_amount, first_after = rows[0]
    return first_after - first_amount, rows[-1][1]


def parse_ing_csv(text: str) -> list[BankStatement]:
    delimiter = ";" if text.split("\n", 1)[0].count(";") >= text.split("\n", 1)[0].count(",") else ","
    rows = _rows(text, delimiter)
    header = [h.strip() for h in rows[0]]
    english = header[0].lstrip("\ufeff") == "Date"
    names = ING_COLUMNS_EN if english else ING_COLUMNS_NL
    col = _header_index(header, names, "ING CSV")
    date_c, name_c, acct_c, other_c, code_c, sign_c, amount_c, kind_c, info_c = names
    balance_c = "Resulting balance" if english else "Saldo na mutatie"
    parsed: list[tuple[str, BankTransaction, int | None]] = []
    for n, row in enumerate(rows[1:], start=2):
        where = Phrase(N_("Line {n}"), {"n": n})
        sign = _cell(row, col, sign_c).lower()
        if sign not in ("af", "bij", "debit", "credit"):
            raise BankFileError(N_("{where}: column {column} says {sign}; expected Af or Bij."), where=where,
                                column=repr(sign_c), sign=repr(sign))
        amount = cents(_cell(row, col, amount_c), ",", what=Phrase(N_("{where} amount"), {"where": where}))
        amount = -amount if sign in ("af", "debit") else amount
        info = _cell(row, col, info_c)
        desc = labelled(info) if info else describe("")
        value_date = None
        m = re.search(r"(?:Valutadatum|Value date):\s*(\d{2}-\d{2}-\d{4})", info)
        if m:
            value_date = dutch_date(m.group(1), what=Phrase(N_("{where} value date"), {"where": where}))
        balance_text = _cell(row, col, balance_c)
        balance = cents(balance_text, ",", what=Phrase(N_("{where} balance"), {"where": where})) if balance_text else None
        tx = BankTransaction(
            booking_date=compact_date(_cell(row, col, date_c), what=Phrase(N_("{where} date"), {"where": where})), value_date=value_date,
            amount_cents=amount, currency="EUR", counterparty_name=squash(_cell(row, col, name_c)) or desc.name,
            counterparty_iban=normalise_iban(_cell(row, col, other_c)) or desc.iban, remittance=desc.remittance,
            structured_reference=desc.structured_reference, end_to_end_id=desc.end_to_end_id,
            bank_code=_cell(row, col, code_c) or _cell(row, col, kind_c),
        )
        parsed.append((normalise_iban(_cell(row, col, acct_c)), tx, balance))
    if not parsed:
        raise BankFileError(N_("The ING CSV file has a header but no transactions."))
    statements = []
    for account, group in groupby(sorted(parsed, key=lambda p: p[0]), key=lambda p: p[0]):
        items = list(group)
        if items[0][1].booking_date >= items[-1][1].booking_date:
            items.reverse()  # ING lists the newest booking first
        running = [(tx.amount_cents, bal) for _, tx, bal in items if bal is not None]
        opening, closing = _balances_from_running(running) if len(running) == len(items) else (None, None)
        txs = tuple(tx for _, tx, _ in items)
        statements.append(BankStatement(
            format="csv-ing", bank="ing", account=account, currency="EUR", transactions=txs,
            statement_id=f"{account}:{txs[0].booking_date.isoformat()}..{txs[-1].booking_date.isoformat()}",
            opening_balance_cents=opening, opening_date=txs[0].booking_date if opening is not None else None,
            closing_balance_cents=closing, closing_date=txs[-1].booking_date if closing is not None else None,
        ))
    return statements


def parse_rabobank_csv(text: str) -> list[BankStatement]:
    rows = _rows(text, ",")
    col = _header_index(rows[0], RABO_REQUIRED, "Rabobank CSV")
    parsed: list[tuple[str, str, BankTransaction, int | None]] = []
    for n, row in enumerate(rows[1:], start=2):
        where = Phrase(N_("Line {n}"), {"n": n})
        remittance = squash(" ".join(_cell(row, col, f"Omschrijving-{i}") for i in (1, 2, 3)))
        value = _cell(row, col, "Rentedatum")
        balance_text = _cell(row, col, "Saldo na trn")
        currency = _cell(row, col, "Munt") or "EUR"
        tx = BankTransaction(
            booking_date=iso_date(_cell(row, col, "Datum"), what=Phrase(N_("{where} date"), {"where": where})),
            value_date=iso_date(value, what=Phrase(N_("{where} value date"), {"where": where})) if value else None,
            amount_cents=cents(_cell(row, col, "Bedrag"), ",", what=Phrase(N_("{where} amount"), {"where": where})), currency=currency,
            entry_reference=_cell(row, col, "Volgnr") or None,
            counterparty_name=squash(_cell(row, col, "Naam tegenpartij")),
            counterparty_iban=normalise_iban(_cell(row, col, "Tegenrekening IBAN/BBAN")), remittance=remittance,
            structured_reference=_cell(row, col, "Betalingskenmerk"),
            end_to_end_id=_cell(row, col, "Transactiereferentie"), bank_code=_cell(row, col, "Code"),
            reversal=bool(_cell(row, col, "Reden retour")),
            batch_reference=_cell(row, col, "Batch ID") or None,
        )
        balance = cents(balance_text, ",", what=Phrase(N_("{where} balance"), {"where": where})) if balance_text else None
        parsed.append((normalise_iban(_cell(row, col, "IBAN/BBAN")), currency, tx, balance))
    if not parsed:
        raise BankFileError(N_("The Rabobank CSV file has a header but no transactions."))
    statements = []
    for (account, currency), group in groupby(sorted(parsed, key=lambda p: (p[0], p[1])), key=lambda p: (p[0], p[1])):
        items = sorted(group, key=lambda p: (p[2].entry_reference or "").zfill(20))
        running = [(tx.amount_cents, bal) for _, _, tx, bal in items if bal is not None]
        opening, closing = _balances_from_running(running) if len(running) == len(items) else (None, None)
        txs = tuple(tx for _, _, tx, _ in items)
        statements.append(BankStatement(
            format="csv-rabobank", bank="rabobank", account=account, currency=currency, transactions=txs,
            statement_id=f"{account}:{txs[0].entry_reference}..{txs[-1].entry_reference}",
            opening_balance_cents=opening, opening_date=txs[0].booking_date if opening is not None else None,
            closing_balance_cents=closing, closing_date=txs[-1].booking_date if closing is not None else None,
        ))
    return statements


def parse_abnamro_txt(text: str) -> list[BankStatement]:
    parsed: list[tuple[str, str, BankTransaction, int, int]] = []
    for n, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        cols = line.rstrip("\r").split("\t")
        where = Phrase(N_("Line {n}"), {"n": n})
        if len(cols) < 8:
            raise BankFileError(N_("{where} has {columns} columns; an ABN AMRO TXT download has 8 (account, "
                                   "currency, date, balance before, balance after, value date, amount, "
                                   "description)."), where=where, columns=len(cols))
        account, currency = normalise_iban(cols[0]), cols[1].strip()
        desc = describe("\t".join(cols[7:]).replace("\t", " "))
        tx = BankTransaction(
            booking_date=compact_date(cols[2], what=Phrase(N_("{where} date"), {"where": where})),
            value_date=compact_date(cols[5], what=Phrase(N_("{where} value date"), {"where": where})),
            amount_cents=cents(cols[6], ",", what=Phrase(N_("{where} amount"), {"where": where})), currency=currency,
            counterparty_name=desc.name, counterparty_iban=desc.iban, remittance=desc.remittance,
            structured_reference=desc.structured_reference, end_to_end_id=desc.end_to_end_id,
        )
        before = cents(cols[3], ",", what=Phrase(N_("{where} balance before"), {"where": where}))
        after = cents(cols[4], ",", what=Phrase(N_("{where} balance after"), {"where": where}))
        if before + tx.amount_cents != after:
            raise BankFileError(N_("{where}: balance {before} plus amount {amount} is not the balance after "
                                   "({after}); the file was changed after download."), where=where,
                                before=cols[3], amount=cols[6], after=cols[4])
        parsed.append((account, currency, tx, before, after))
    if not parsed:
        raise BankFileError(N_("The ABN AMRO file holds no transactions."))
    statements = []
    for (account, currency), group in groupby(parsed, key=lambda p: (p[0], p[1])):
        items = list(group)
        txs = tuple(p[2] for p in items)
        statements.append(BankStatement(
            format="txt-abnamro", bank="abnamro", account=account, currency=currency, transactions=txs,
            statement_id=f"{account}:{txs[0].booking_date.isoformat()}..{txs[-1].booking_date.isoformat()}",
            opening_balance_cents=items[0][3], opening_date=txs[0].booking_date,
            closing_balance_cents=items[-1][4], closing_date=txs[-1].booking_date,
        ))
    return statements
