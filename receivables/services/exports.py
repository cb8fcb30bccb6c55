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
from decimal import Decimal

from receivables.services.errors import ServiceError

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_SKIPPED = " \u00a0'\""  # what a spreadsheet may pass over before it looks for a formula
# a number as accounting exports write it: -12.50, -12,50, -1.234,56, -1 234.56, +5, -3e2
_NUMBER = re.compile(r"[+-]?(?=[.,]?\d)(?:\d{1,3}(?:[., \u00a0]\d{3})+|\d*)(?:[.,]\d*)?(?:[eE][+-]?\d+)?")


class ExportError(ServiceError):
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
    import pandas as pd

    clean = frame.copy()
    for c in clean.columns:
        if clean[c].dtype == object or pd.api.types.is_string_dtype(clean[c]):
            clean[c] = clean[c].map(neutralise)
    if fmt == "csv":
        return clean.to_csv(index=False).encode("utf-8-sig")
    if fmt != "xlsx":
        raise ExportError(f"export as csv or xlsx, not {fmt!r}")
    from openpyxl import Workbook

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
