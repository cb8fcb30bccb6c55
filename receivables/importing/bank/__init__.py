"""Bank statements in: bytes -> typed, frozen statements and transactions. Pure, no database.

`read_statements` finds the format from the bytes themselves (camt.053 XML, MT940, or the ING,
Rabobank and ABN AMRO downloads) and refuses oversized or unreadable files with a BankFileError whose
message says what to do."""

from __future__ import annotations

from receivables.domain.translation import N_
from receivables.importing.bank.camt import SUPPORTED_VERSIONS, looks_like_camt, parse_camt053
from receivables.importing.bank.exports import parse_export, sniff_export
from receivables.importing.bank.model import (
    MAX_BYTES,
    MAX_LINES,
    BankFileError,
    BankStatement,
    BankTransaction,
    check_size,
    decode_text,
)
from receivables.importing.bank.swift import looks_like_mt940, parse_mt940


def detect_format(data: bytes) -> str:
    """'camt.053', 'mt940', 'csv-ing', 'csv-rabobank' or 'txt-abnamro'; BankFileError otherwise."""
    head = data[:8192]
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"<"):
        if looks_like_camt(head):
            return "camt.053"
        raise BankFileError(N_("This XML file is no camt.053 bank statement; download the statement in camt.053 "
                               "(or MT940) format."))
    if stripped.startswith(b"PK\x03\x04"):
        raise BankFileError(N_("This is a zip or Excel file; unpack it, or download the statement as camt.053, "
                               "MT940 or CSV."))
    if stripped.startswith(b"%PDF"):
        raise BankFileError(N_("This is a PDF statement, which cannot be read; download the transactions as "
                               "camt.053, MT940 or CSV instead."))
    text = decode_text(head)
    export = sniff_export(text)
    if export:
        return {"ing": "csv-ing", "rabobank": "csv-rabobank", "abnamro": "txt-abnamro"}[export]
    if looks_like_mt940(text):
        return "mt940"
    raise BankFileError(N_("This file is no bank statement we can read. Upload a camt.053 (XML) or MT940 "
                           "statement, or the CSV download of ING or Rabobank, or ABN AMRO's TXT download."))


def read_statements(data: bytes) -> list[BankStatement]:
    """Every statement in the file, in file order."""
    check_size(data)
    kind = detect_format(data)
    if kind == "camt.053":
        return parse_camt053(data)
    text = decode_text(data)
    if kind == "mt940":
        return parse_mt940(text)
    return parse_export(text)


__all__ = [
    "MAX_BYTES", "MAX_LINES", "SUPPORTED_VERSIONS", "BankFileError", "BankStatement", "BankTransaction",
    "detect_format", "read_statements",
]
