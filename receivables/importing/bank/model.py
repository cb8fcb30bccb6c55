"""What every bank statement format is read into: frozen statements and transactions, amounts in cents."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date

from receivables.domain.errors import Problem
from receivables.domain.translation import N_, Count, Figure

MAX_BYTES = 50 * 1024 * 1024
MAX_LINES = 1_000_000


class BankFileError(Problem):
    """A bank file that cannot be read; the message says what is wrong and what to upload instead."""


@dataclass(frozen=True, slots=True)
class BankTransaction:
    """One booking as the bank reports it. `amount_cents` is signed: positive money in, negative out.

    A batch booking (one entry paying or collecting several transactions) is split into one
    transaction per detail; they share `batch_reference` and carry their place in `batch_index`."""

    booking_date: date
    amount_cents: int
    currency: str
    value_date: date | None = None
    entry_reference: str | None = None
    counterparty_name: str = ""
    counterparty_iban: str = ""
    remittance: str = ""
    structured_reference: str = ""
    end_to_end_id: str = ""
    bank_code: str = ""
    reversal: bool = False
    batch_reference: str | None = None
    batch_index: int = 0
    batch_size: int = 1

    @property
    def is_credit(self) -> bool:
        return self.amount_cents > 0

    def dedupe_key(self, account: str) -> str:
        """The same booking read from an overlapping statement gives the same key: the bank's own
        reference when it gives one, otherwise account, date, amount, counterparty and text."""
        if self.entry_reference:
            basis = f"ref|{account}|{self.entry_reference}|{self.batch_index}"
        else:
            basis = "|".join((
                "fields", account, self.booking_date.isoformat(), str(self.amount_cents), self.currency,
                self.counterparty_iban, " ".join(self.counterparty_name.split()).upper(),
                " ".join(self.remittance.split()).upper(), self.structured_reference,
                self.end_to_end_id, str(self.batch_index),
            ))
        return hashlib.sha256(basis.encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class BankStatement:
    """One statement of one account. Balances are None when the format does not carry them."""

    format: str
    account: str
    currency: str
    transactions: tuple[BankTransaction, ...] = ()
    statement_id: str = ""
    opening_balance_cents: int | None = None
    opening_date: date | None = None
    closing_balance_cents: int | None = None
    closing_date: date | None = None
    bank: str = ""
    notes: tuple[str, ...] = field(default=())

    @property
    def total_cents(self) -> int:
        return sum(t.amount_cents for t in self.transactions)

    def balance_difference(self) -> int | None:
        """Closing balance minus (opening balance + the bookings): 0 when the statement adds up,
        None when it gives no balances to check against."""
        if self.opening_balance_cents is None or self.closing_balance_cents is None:
            return None
        return self.closing_balance_cents - (self.opening_balance_cents + self.total_cents)


def check_size(data: bytes) -> None:
    """Refuse oversized files before any parsing starts."""
    if len(data) > MAX_BYTES:
        raise BankFileError(N_("The file is {size} MB; a bank statement may be at most {limit} MB. Download a "
                               "shorter period and upload it in parts."),
                            size=Figure(len(data) / 1024 / 1024), limit=Count(MAX_BYTES // 1024 // 1024))
    lines = data.count(b"\n")
    if lines > MAX_LINES:
        raise BankFileError(N_("The file has {lines} lines; a bank statement may have at most {limit}. Download a "
                               "shorter period and upload it in parts."), lines=Count(lines), limit=Count(MAX_LINES))
    if not data.strip():
        raise BankFileError(N_("The file is empty. Download the statement again from your bank and upload it."))


def decode_text(data: bytes) -> str:
    """Bank text exports are UTF-8 (with or without BOM) or Windows-1252."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")
