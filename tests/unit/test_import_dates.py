"""Dates in every form the exports use; day-month order only from proof, never a guess."""

from datetime import date, timedelta

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from receivables.importing.dates import DMY, MDY, column_order, file_order, parse_dates


def parse_one(text: str, order: str | None) -> date | None:
    parsed = parse_dates(pa.array([text]), order)
    if parsed.bad[0] or parsed.empty[0]:
        return None
    return parsed.days[0].astype("datetime64[D]").astype(object)


@pytest.mark.parametrize("text, order, expected", [
    ("31-12-2024", DMY, date(2024, 12, 31)),  # dd-mm-yyyy
    ("1-2-13", DMY, date(2013, 2, 1)),  # d-m-yy
    ("5-6-70", DMY, date(1970, 6, 5)),  # two-digit years from 70 are the 1900s
    ("31/12/2024", DMY, date(2024, 12, 31)),  # dd/mm/yyyy
    ("31.12.2024", DMY, date(2024, 12, 31)),  # dd.mm.yyyy
    ("2024-01-31", None, date(2024, 1, 31)),  # yyyy-mm-dd needs no order
    ("2024-01-31 00:00:00", None, date(2024, 1, 31)),
    ("2024-1-5", None, date(2024, 1, 5)),
    ("2024/01/31", None, date(2024, 1, 31)),
    ("20240131", None, date(2024, 1, 31)),  # yyyymmdd (Twinfield)
    ("45046", None, date(2023, 4, 30)),  # Excel serial number
    ("45046.0", None, date(2023, 4, 30)),
    ("1/15/2013", MDY, date(2013, 1, 15)),  # US m/d/yyyy
    ("12/31/2024", MDY, date(2024, 12, 31)),
    ("01/02/2024", MDY, date(2024, 1, 2)),
    ("01/02/2024", DMY, date(2024, 2, 1)),
    ("31-12-2024 13:45", DMY, date(2024, 12, 31)),
    ("29-02-2024", DMY, date(2024, 2, 29)),
])
def test_dates_are_read_in_every_export_form(text, order, expected):
    assert parse_one(text, order) == expected


@pytest.mark.parametrize("text, order", [
    ("31-02-2024", DMY),  # no such day
    ("29-02-2023", DMY),
    ("32-01-2024", DMY),
    ("01-13-2024", DMY),
    ("31-12-2024", MDY),
    ("1-1-0024", DMY),  # year 24 AD is a typing error
    ("99999", DMY),  # five digits outside the Excel range of plausible dates
    ("12345678", DMY),
    ("yesterday", DMY),
    ("01-02-2024", None),  # day-month order unknown: not read until the user chooses
])
def test_impossible_or_unclear_dates_are_rejected(text, order):
    parsed = parse_dates(pa.array([text]), order)
    assert parsed.bad[0]


def test_an_empty_cell_is_empty_not_bad():
    parsed = parse_dates(pa.array(["", " "]), DMY)
    assert parsed.empty.all() and not parsed.bad.any() and np.isnat(parsed.days).all()


@pytest.mark.parametrize("samples, order, conflict", [
    (["1/2/2013", "1/15/2013"], MDY, False),  # a second number above 12 proves month-first
    (["30-03-2020", "01-04-2020"], DMY, False),
    (["01-02-2020", "12-11-2020"], None, False),  # every date fits both: ambiguous
    (["13-01-2020", "01-13-2020"], None, True),
    (["2020-01-01"], None, False),
])
def test_a_column_proves_its_day_month_order_or_stays_open(samples, order, conflict):
    evidence = column_order(samples)
    assert (evidence.order, evidence.conflict) == (order, conflict)


def test_one_proving_column_settles_the_order_for_the_whole_file():
    assert file_order([column_order(["1/2/2013"]), column_order(["1/15/2013"])]) == (MDY, False)
    assert file_order([column_order(["01-02-2020"])]) == (None, True)
    assert file_order([column_order(["2020-01-01"])]) == (None, False)


FORMATS = {
    "dd-mm-yyyy": (lambda d: d.strftime("%d-%m-%Y"), DMY),
    "d-m-yy": (lambda d: f"{d.day}-{d.month}-{d:%y}", DMY),
    "dd/mm/yyyy": (lambda d: d.strftime("%d/%m/%Y"), DMY),
    "m/d/yyyy": (lambda d: f"{d.month}/{d.day}/{d.year}", MDY),
    "yyyy-mm-dd": (lambda d: d.isoformat(), None),
    "yyyymmdd": (lambda d: d.strftime("%Y%m%d"), None),
    "excel": (lambda d: str((d - date(1899, 12, 30)).days), None),
}


@given(st.dates(min_value=date(1970, 1, 1), max_value=date(2069, 12, 31)), st.sampled_from(sorted(FORMATS)))
def test_any_date_written_in_a_supported_form_reads_back_the_same(day, form):
    write, order = FORMATS[form]
    if form == "excel" and not 20000 <= (day - date(1899, 12, 30)).days <= 80000:
        day = date(1960, 1, 1) + timedelta(days=(day - date(1970, 1, 1)).days % 50000)
    assert parse_one(write(day), order) == day
