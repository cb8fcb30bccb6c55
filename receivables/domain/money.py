"""Money is integer cents; these helpers are the only place that turns cents into text or units."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£"}


def to_units(cents: int) -> float:
    """Cents as currency units for JSON output and charts (rounded to cents by construction)."""
    return round(cents / 100, 2)


def to_decimal(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(Decimal("0.01"))


def from_decimal(value: Decimal | str | int) -> int:
    return int((Decimal(value) * 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


def plain(cents: int) -> str:
    """`1,234.56`, `-12.50`: the amount without a currency, for tables that show the currency beside it."""
    sign = "-" if cents < 0 else ""
    units, rest = divmod(abs(int(cents)), 100)
    return f"{sign}{units:,}.{rest:02d}"


def fmt(cents: int, currency: str = "EUR", lang: str = "nl") -> str:
    """`€ 1.234,56` (nl) or `€1,234.56` (en); negative amounts keep their sign before the symbol."""
    sign = "-" if cents < 0 else ""
    units, rest = divmod(abs(int(cents)), 100)
    grouped = f"{units:,}"
    symbol = SYMBOLS.get(currency, currency + " ")
    if lang == "nl":
        return f"{sign}{symbol} {grouped.replace(',', '.')},{rest:02d}"
    return f"{sign}{symbol}{grouped}.{rest:02d}"
