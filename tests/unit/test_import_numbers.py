"""Amounts as accounting packages write them, parsed into exact cents."""

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from receivables.importing.numbers import COMMA, POINT, detect_style, parse_amounts


def parse_one(text: str, style: str) -> int | None:
    parsed = parse_amounts(pa.array([text]), style)
    return None if parsed.bad[0] else int(parsed.cents[0])


@pytest.mark.parametrize("text, cents", [
    ("1.234,56", 123456),
    ("1234,56", 123456),
    ("-1.234,56", -123456),
    ("1.234,56-", -123456),  # trailing minus (SAP, AFAS)
    ("(1.234,56)", -123456),
    ("€ 1.234,56", 123456),
    ("€ -12,5", -1250),
    ("-€ 3,00", -300),
    ("1.234.567,89", 123456789),
    ("1 234,56", 123456),
    ("1\u00a0234,56", 123456),  # non-breaking space as thousands separator (Excel, Dutch locale)
    ("+1,00", 100),
    ("−5,00", -500),  # Unicode minus
    (" 7 ", 700),
    ("1.234", 123400),  # dot groups thousands in a decimal-comma file
    ("0,005", 1),  # half a cent rounds away from zero
    ("-0,005", -1),
    ("0,004", 0),
    ("12,345678", 1235),
    ("EUR 10,00", 1000),
])
def test_decimal_comma_amounts_are_read_exactly(text, cents):
    assert parse_one(text, COMMA) == cents


@pytest.mark.parametrize("text, cents", [
    ("1,234.56", 123456),
    ("(1,234.56)", -123456),
    ("$1,234.56", 123456),
    ("1234.5", 123450),
    ("55.94", 5594),
    ("2.345", 235),
    ("-0.125", -13),
    ("1,000,000", 100000000),
    ("2309.79", 230979),
])
def test_decimal_point_amounts_are_read_exactly(text, cents):
    assert parse_one(text, POINT) == cents


@pytest.mark.parametrize("text, style", [
    ("1.23", COMMA),  # would silently become 123 if the dot were ignored
    ("1234.5", COMMA),
    ("1,5", POINT),
    ("1.23,45", COMMA),  # a thousands group must have three digits
    ("abc", COMMA),
    ("12,34,56", COMMA),
    ("€", COMMA),
    ("123456789012345678,00", COMMA),  # beyond any invoice: a mistake, not a number
    ("1,234.56", COMMA),
])
def test_values_that_do_not_fit_the_style_are_errors_not_guesses(text, style):
    assert parse_one(text, style) is None


def test_empty_cells_are_empty_not_zero_and_not_bad():
    parsed = parse_amounts(pa.array(["", "  ", None]), COMMA)
    assert parsed.empty.tolist() == [True, True, True]
    assert not parsed.bad.any()


@pytest.mark.parametrize("samples, delimiter, expected", [
    (["1.234,56", "12,00"], ";", (COMMA, True)),
    (["1,234.56", "12.00"], ",", (POINT, True)),
    (["55.94", "61.74"], ",", (POINT, True)),
    (["1.234.567"], ",", (COMMA, True)),  # dots group thousands, so the comma is the decimal mark
    (["1.234", "5.000"], ";", (COMMA, False)),  # nothing proves it: a semicolon file is Dutch
    (["1.234", "5.000"], ",", (POINT, False)),
    (["100", "2500"], ";", (COMMA, False)),
])
def test_the_decimal_style_is_taken_from_values_that_prove_it(samples, delimiter, expected):
    assert detect_style(samples, delimiter) == expected


def _format(cents: int, style: str, grouped: bool, trailing_minus: bool) -> str:
    units, rest = divmod(abs(cents), 100)
    dec, thou = (",", ".") if style == COMMA else (".", ",")
    body = f"{units:,}".replace(",", thou) if grouped else str(units)
    body = f"{body}{dec}{rest:02d}"
    if cents < 0:
        return body + "-" if trailing_minus else "-" + body
    return body


@given(st.integers(min_value=-10**13, max_value=10**13), st.sampled_from([COMMA, POINT]), st.booleans(),
       st.booleans())
def test_any_formatted_amount_reads_back_to_the_same_cents(cents, style, grouped, trailing_minus):
    assert parse_one(_format(cents, style, grouped, trailing_minus), style) == cents


@pytest.mark.parametrize("text, style, rounded", [
    ("64982.589", POINT, True),
    ("64982.58", POINT, False),
    ("64982.500", POINT, False),  # zeros past the cent change nothing
    ("12,345678", COMMA, True),
    ("(1.234,567)", COMMA, True),
    ("1.234", COMMA, False),  # a thousands separator, not three decimals
    ("", POINT, False),
])
def test_an_amount_with_more_than_two_decimals_is_marked_as_rounded(text, style, rounded):
    assert bool(parse_amounts(pa.array([text]), style).rounded[0]) is rounded
