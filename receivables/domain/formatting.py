"""Numbers, money, dates and durations as a Dutch or an English reader expects them, by Babel's CLDR
data: `€ 1.234,56`, `05-12-2026`, `56,6 d`, `12,5 %` in Dutch; `€1,234.56`, `05 Dec 2026`, `56.6 d`,
`12.5%` in English. Pages, charts and exports all format through here, so one screen never mixes two."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal, format_percent

LOCALES = {"nl": "nl_NL", "en": "en_GB"}
DEFAULT_LANGUAGE = "nl"
TIME_ZONE = "Europe/Amsterdam"  # the team's clock: audit times and sent times are shown in it
_NBSP = "\u00a0"


def locale_of(lang: str | None) -> str:
    return LOCALES.get(lang or DEFAULT_LANGUAGE, LOCALES[DEFAULT_LANGUAGE])


def money(cents: int | None, currency: str = "EUR", lang: str = DEFAULT_LANGUAGE) -> str:
    """An amount of integer cents with its currency: `€ 1.234,56` (nl), `€1,234.56` (en); '' for None."""
    if cents is None:
        return ""
    value = Decimal(int(cents)) / 100
    return format_currency(value, currency, locale=locale_of(lang)).replace(_NBSP, " ")


def amount(cents: int | None, lang: str = DEFAULT_LANGUAGE) -> str:
    """An amount without its currency, two decimals: `1.234,56` (nl), `1,234.56` (en)."""
    if cents is None:
        return ""
    return format_decimal(Decimal(int(cents)) / 100, format="#,##0.00", locale=locale_of(lang))


def number(value: float | int | None, decimals: int = 0, lang: str = DEFAULT_LANGUAGE) -> str:
    if value is None or value != value:
        return ""
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    return format_decimal(value, format=pattern, locale=locale_of(lang))


def days(value: float | int | None, lang: str = DEFAULT_LANGUAGE, decimals: int = 1) -> str:
    """A number of days: `56,6 d` (nl), `56.6 d` (en)."""
    text = number(value, decimals, lang)
    return f"{text} d" if text else ""


def percent(share: float | None, lang: str = DEFAULT_LANGUAGE, decimals: int = 1) -> str:
    """A share (0.125) as a percentage: `12,5 %` (nl), `12.5%` (en)."""
    if share is None or share != share:
        return ""
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "") + "%"
    text = format_percent(share, format=pattern, locale=locale_of(lang))
    return text.replace("%", " %").replace(_NBSP, " ") if lang == "nl" and " %" not in text else text.replace(_NBSP, " ")


def day(d: date | datetime | None, lang: str = DEFAULT_LANGUAGE) -> str:
    """A date: `05-12-2026` (nl, dd-mm-jjjj), `05 Dec 2026` (en)."""
    if d is None:
        return ""
    if isinstance(d, datetime):
        d = d.date()
    return format_date(d, "dd-MM-yyyy" if lang == "nl" else "dd MMM yyyy", locale=locale_of(lang))


def moment(t: datetime | None, lang: str = DEFAULT_LANGUAGE, zone: str = TIME_ZONE) -> str:
    """A point in time to the second in the team's time zone: `05-12-2026 15:03:09` (nl), `05 Dec 2026
    15:03:09` (en). We store UTC without a zone; a time without one is read as UTC."""
    if t is None:
        return ""
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    pattern = "dd-MM-yyyy HH:mm:ss" if lang == "nl" else "dd MMM yyyy HH:mm:ss"
    return format_datetime(t, pattern, tzinfo=ZoneInfo(zone), locale=locale_of(lang))


# Patterns for grids and charts, where the widget formats the value itself.
DATE_PATTERN = {"nl": "DD-MM-YYYY", "en": "DD MMM YYYY"}  # moment.js, for st.column_config.DateColumn
D3_LOCALE = {  # d3-format locales for Vega-Lite/Altair axes and tooltips
    "nl": {"decimal": ",", "thousands": ".", "grouping": [3], "currency": ["€ ", ""]},
    "en": {"decimal": ".", "thousands": ",", "grouping": [3], "currency": ["€", ""]},
}
