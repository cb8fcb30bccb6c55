"""Argument types shared by the command-line modules."""

from __future__ import annotations

import argparse
from datetime import date

from receivables.domain.money import from_decimal


def iso_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{value}' is not a date; write it as YYYY-MM-DD") from None


def amount(value: str) -> int:
    """An amount typed as 1234.56 (or 1234,56), in integer cents."""
    try:
        return from_decimal(value.replace(",", "."))
    except Exception:  # noqa: BLE001 (decimal raises several kinds)
        raise argparse.ArgumentTypeError(f"'{value}' is not an amount; write it as 1234.56") from None
