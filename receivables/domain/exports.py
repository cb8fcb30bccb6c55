"""Every file Debtor Desk writes for a spreadsheet (CSV and Excel from the pages and the command line,
statements and reports, e-mail attachments) is written here, so that no cell is ever evaluated as a
formula: a text cell that starts with =, +, -, @, a tab or a carriage return (also after leading spaces
or quotes, which spreadsheets skip) is kept as text by a leading apostrophe. Numbers stay numbers.

Values come from outside (debtor names, invoice numbers, descriptions, e-mail subjects from an import);
"=HYPERLINK(...)" in a debtor name must reach the finance team's Excel as text."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Font

from receivables.domain.errors import Problem

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_SKIPPED = " \u00a0'\""  # what a spreadsheet may pass over before it looks for a formula
# a number as accounting exports write it: -12.50, -12,50, -1.234,56, -1 234.56, +5, -3e2
_NUMBER = re.compile(r"[+-]?(?=[.,]?\d)(?:\d{1,3}(?:[., \u00a0]\d{3})+|\d*)(?:[.,]\d*)?(?:[eE][+-]?\d+)?")


class ExportError(Problem):
    pass


def neutralise(value):
    """The value as it may go into a spreadsheet cell: text that a spreadsheet would read as a formula
    gets a leading apostrophe; a plain number written as text ("-12.50") and anything not text stay."""
    if not isinstance(value, str):
        return value
    rest = value.lstrip(_SKIPPED)
    if rest.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(value.strip()):
        return "'" + value
    return value


def is_active(value) -> bool:
    """Would a spreadsheet evaluate this cell as a formula? (A cell we neutralised starts with "'".)"""
    return isinstance(value, str) and not value.startswith("'") and neutralise(value) != value


def protect_csv(data: bytes) -> bytes:
    """A CSV file made elsewhere (an attachment), with every cell a spreadsheet would evaluate kept as
    text; cells already protected, and the delimiter and the BOM, stay as they are."""
    bom = data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    try:
        dialect = csv.Sniffer().sniff(text.split("\n", 1)[0], delimiters=",;\t")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    if not any(is_active(cell) for row in rows for cell in row):
        return data
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter).writerows([[neutralise(c) if is_active(c) else c for c in row]
                                                    for row in rows])
    return out.getvalue().encode("utf-8-sig" if bom else "utf-8")


def _cell(value):
    if isinstance(value, float) and value != value:  # NaN: an empty cell
        return ""
    return "" if value is None else neutralise(value)


def csv_text(columns: Sequence[str], rows: Iterable[Sequence], delimiter: str = ",") -> str:
    """A CSV table (minimal quoting, CRLF lines) of the rows, each cell neutralised."""
    out = io.StringIO()
    write_csv(out, columns, rows, delimiter)
    return out.getvalue()


def write_csv(stream, columns: Sequence[str], rows: Iterable[Sequence], delimiter: str = ",") -> None:
    """Write the CSV table to a text stream (stdout for the command line)."""
    w = csv.writer(stream, delimiter=delimiter)
    w.writerow([_cell(c) for c in columns])
    for row in rows:
        w.writerow([_cell(v) for v in row])


def csv_bytes(columns: Sequence[str], rows: Iterable[Sequence], delimiter: str = ",") -> bytes:
    """The CSV table as a file for Excel (UTF-8 with BOM): downloads, statements, e-mail attachments
    (a Dutch Excel expects ";")."""
    return csv_text(columns, rows, delimiter).encode("utf-8-sig")


def records_csv(records: Sequence[Mapping]) -> str:
    """JSON-style records (the command line's --format json rows) as CSV: one column per key, in the
    order first seen; nested lists are joined with "; ", nested objects flattened as key.subkey."""
    flat = [_flatten(r) for r in records]
    columns: dict[str, None] = {}
    for r in flat:
        columns.update(dict.fromkeys(r))
    return csv_text(list(columns), ([r.get(c) for c in columns] for r in flat))


def write_csv_records(stream, records: Sequence[Mapping]) -> None:
    stream.write(records_csv(records))


def _flatten(record: Mapping, prefix: str = "") -> dict:
    out = {}
    for k, v in record.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.update(_flatten(v, f"{key}."))
        elif isinstance(v, (list, tuple)):
            out[key] = "; ".join(str(x) for x in v)
        else:
            out[key] = v
    return out


def table(frame, fmt: str, sheet: str = "Export") -> bytes:
    """A pandas table as CSV (UTF-8 with BOM, for Excel) or an .xlsx workbook; every text cell
    neutralised, and in the workbook also stored as text, never as a formula."""
    clean = frame.copy()
    for c in clean.columns:
        if clean[c].dtype == object or pd.api.types.is_string_dtype(clean[c]):
            clean[c] = clean[c].map(neutralise)
    if fmt == "csv":
        return clean.to_csv(index=False).encode("utf-8-sig")
    if fmt != "xlsx":
        raise ExportError("export as csv or xlsx, not {fmt!r}", fmt=fmt)
    wb = Workbook()
    ws = wb.active
    ws.title = sheet[:31]
    ws.append([str(neutralise(str(c))) for c in clean.columns])
    for row in clean.itertuples(index=False):
        ws.append([None if (not isinstance(v, str) and pd.isna(v)) else
                   (float(v) if isinstance(v, Decimal) else v) for v in row])
    for row in ws.iter_rows():
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # never a formula
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# --- reports for a reader: the dialect of their language, a header, totals --------------------------------

DIALECTS = {  # delimiter, decimal mark, date pattern
    "nl": (";", ",", "%d-%m-%Y"),
    "en": (",", ".", "%Y-%m-%d"),
}
XLSX_DATE = {"nl": "dd-mm-yyyy", "en": "dd mmm yyyy"}
XLSX_MONEY = "#,##0.00"  # Excel shows the reader's own separators for a number format


def report(frame, fmt: str, *, lang: str = "nl", title: str = "", header: Sequence[str] = (),
           money: Sequence[str] = (), dates: Sequence[str] = (), total_label: str | None = None,
           sheet: str = "Export") -> bytes:
    """A table for a person: CSV in their language's dialect (Dutch: semicolons, decimal comma, UTF-8
    with BOM; English: commas and points) or an .xlsx with real number and date cells. Above the table
    the title and header lines (the as-of date, the filters); below it, when `total_label` is given, the
    sum of every money column. `money` columns hold integer cents; every text cell is neutralised."""
    if fmt not in ("csv", "xlsx"):
        raise ExportError("export as csv or xlsx, not {fmt!r}", fmt=fmt)
    if lang not in DIALECTS:
        raise ExportError("export in nl or en, not {lang!r}", lang=lang)
    columns = [str(c) for c in frame.columns]
    rows = [list(r) for r in frame.itertuples(index=False)]
    totals = None
    if total_label is not None:
        totals = [None] * len(columns)
        totals[0] = total_label
        for c in money:
            i = columns.index(c)
            totals[i] = sum(int(v) for v in frame[c] if not _missing(v))
    lines = [t for t in [title, *header] if t]
    if fmt == "csv":
        return _report_csv(columns, rows, totals, lines, lang, set(money), set(dates))
    return _report_xlsx(columns, rows, totals, lines, lang, set(money), set(dates), sheet)


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and v != v) or (hasattr(v, "__class__") and str(v) in ("NaT", "<NA>"))


def _csv_value(v, column: str, lang: str, money: set, dates: set):
    delimiter, decimal, date_pattern = DIALECTS[lang]
    if _missing(v):
        return ""
    if column in money:
        cents = int(v)
        sign = "-" if cents < 0 else ""
        units, rest = divmod(abs(cents), 100)
        return f"{sign}{units}{decimal}{rest:02d}"
    if column in dates or hasattr(v, "strftime"):
        return v.strftime(date_pattern)
    if isinstance(v, float):
        return f"{v}".replace(".", decimal)
    return neutralise(v) if isinstance(v, str) else v


def _report_csv(columns, rows, totals, lines, lang, money, dates) -> bytes:
    delimiter = DIALECTS[lang][0]
    out = io.StringIO()
    w = csv.writer(out, delimiter=delimiter)
    for line in lines:
        w.writerow([neutralise(line)])
    if lines:
        w.writerow([])
    w.writerow([neutralise(c) for c in columns])
    for row in rows:
        w.writerow([_csv_value(v, c, lang, money, dates) for v, c in zip(row, columns)])
    if totals is not None:
        w.writerow([_csv_value(v, c, lang, money, dates) for v, c in zip(totals, columns)])
    return out.getvalue().encode("utf-8-sig")


def _report_xlsx(columns, rows, totals, lines, lang, money, dates, sheet) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = sheet[:31]
    for line in lines:
        ws.append([neutralise(line)])
    if lines:
        ws["A1"].font = Font(bold=True, size=13)
        ws.append([])
    ws.append([neutralise(c) for c in columns])
    head = ws.max_row
    for cell in ws[head]:
        cell.font = Font(bold=True)
    for row in [*rows, *([totals] if totals is not None else [])]:
        values = []
        for v, c in zip(row, columns):
            if _missing(v):
                values.append(None)
            elif c in money:
                values.append(Decimal(int(v)) / 100)
            elif isinstance(v, datetime):
                values.append(v.replace(tzinfo=None))
            elif isinstance(v, date) or hasattr(v, "to_pydatetime"):
                values.append(v.to_pydatetime().date() if hasattr(v, "to_pydatetime") else v)
            else:
                values.append(neutralise(v) if isinstance(v, str) else v)
        ws.append(values)
    for r in ws.iter_rows(min_row=head + 1):
        for cell, c in zip(r, columns):
            if isinstance(cell.value, str):
                cell.data_type = "s"  # never a formula
            elif c in money:
                cell.number_format = XLSX_MONEY
            elif isinstance(cell.value, (date, datetime)):
                cell.number_format = XLSX_DATE[lang]
    if totals is not None:
        for cell in ws[ws.max_row]:
            cell.font = Font(bold=True)
    for i, c in enumerate(columns, start=1):
        width = max([len(str(c))] + [len(str(r[i - 1])) for r in rows[:200] if not _missing(r[i - 1])])
        ws.column_dimensions[ws.cell(row=head, column=i).column_letter].width = min(max(width + 2, 10), 50)
    ws.freeze_panes = ws.cell(row=head + 1, column=1)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
