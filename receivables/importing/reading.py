"""From uploaded bytes to a table of text cells: encoding, delimiter, header row, line numbers.

Every cell stays text here (invoice numbers and debtor codes keep their leading zeros); numbers and
dates are parsed later, once the columns are known. What a file may cost is checked first
(`limits`); XML invoices become rows here too (`xml_invoices`)."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from receivables.domain.phrases import Phrase
from receivables.domain.phrasing import Said, said
from receivables.domain.translation import N_, Count
from receivables.importing import limits, xml_invoices
from receivables.importing.errors import FileRejected
from receivables.importing.limits import MAX_BYTES  # noqa: F401  (re-exported)

# what the importer reads, by file name ending: the upload box and the command line accept these only
FILE_TYPES = ("csv", "tsv", "txt", "xlsx", "xml", "zip")
FILE_TYPES_LABEL = N_("CSV, TSV, Excel (.xlsx), UBL or Twinfield XML, or a .zip of XML invoices")
DELIMITERS = (";", ",", "\t", "|")
DELIMITER_NAMES = {";": N_("semicolon"), ",": N_("comma"), "\t": N_("tab"), "|": N_("pipe")}
_SAMPLE_LINES = 60


@dataclass
class RawTable:
    """The file as text cells. `lines[i]` is the file line (or Excel row) of data row i."""

    table: pa.Table
    lines: np.ndarray
    header_line: int
    encoding: str
    delimiter: str | None  # None for Excel and XML
    sheet: str | None = None
    source: str | None = None  # "UBL" or "Twinfield" for XML invoices
    notes: list[Said] = field(default_factory=list)  # English, each with its phrase for a page
    bad_lines: list[tuple[int, int]] = field(default_factory=list)  # (line, fields) of malformed lines

    @property
    def headers(self) -> list[str]:
        return self.table.column_names

    @property
    def row_count(self) -> int:
        return self.table.num_rows

    def column(self, name: str) -> pa.Array:
        return self.table.column(name).combine_chunks()

    def samples(self, name: str, n: int = 3) -> list[str]:
        """The first `n` different non-empty values of a column, for showing next to the mapping."""
        out: list[str] = []
        for v in self.table.column(name).slice(0, 5000).to_pylist():
            v = (v or "").strip()
            if v and v not in out:
                out.append(v)
                if len(out) == n:
                    break
        return out

    def describe(self) -> Said:
        """What was read, as the page shows it under the upload (the English is what the CLI prints)."""
        n = Count(self.row_count)
        if self.source:
            return said(N_("{source} XML, {n} invoice(s)"), source=self.source, n=n)
        if self.delimiter is None:
            return said(N_("Excel sheet '{sheet}', {n} rows"), sheet=self.sheet, n=n)
        return said(N_("{encoding}, {delimiter}-separated, header on line {line}, {n} rows"),
                    encoding=self.encoding, delimiter=Phrase(DELIMITER_NAMES[self.delimiter]),
                    line=self.header_line, n=n)


def read_table(data: bytes, file_name: str = "") -> RawTable:
    """Read CSV/TSV (any delimiter, UTF-8 with or without BOM, or Windows-1252), Excel (.xlsx), UBL or
    Twinfield XML invoices, or a zip of XML invoices. Limits are checked before anything is parsed."""
    limits.check_upload_size(len(data))
    if not data or data.isspace():  # strip() would copy the whole file
        raise FileRejected(N_("the file is empty; export the open items again and upload that file"))
    if data[:4] == b"PK\x03\x04":
        return _read_zip(data)
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise FileRejected(N_("this is an old Excel file (.xls); open it in Excel and save it as .xlsx or CSV"))
    if data[:5] == b"%PDF-":
        raise FileRejected(N_("this is a PDF; export the list from your accounting package as CSV or Excel"))
    if xml_invoices.looks_like_xml(data):
        return _xml_table(xml_invoices.read_documents([(file_name or "the file", data)]))
    utf16 = data.startswith((b"\xff\xfe", b"\xfe\xff"))
    if not utf16:
        limits.check_text(data)  # before decoding, which copies the text
    text_bytes, encoding = _decode(data)
    if utf16:
        limits.check_text(text_bytes)
    if b"\r" in text_bytes:
        text_bytes = _bare_carriage_returns(text_bytes)
    return _read_delimited(text_bytes, encoding)


def bundle(files: list[tuple[str, bytes]]) -> tuple[str, bytes]:
    """Several uploaded files as one: a single file stays as it is, more become one zip, written the
    same way every time (sorted, fixed dates) so uploading the same files again is recognised."""
    if len(files) == 1:
        return files[0]
    limits.check_upload_size(sum(len(data) for _, data in files))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in sorted(files):
            archive.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data,
                             compress_type=zipfile.ZIP_DEFLATED)
    names = sorted(name for name, _ in files)
    return f"{names[0]} and {len(names) - 1} more", buf.getvalue()


def _read_zip(data: bytes) -> RawTable:
    """An .xlsx workbook, or a zip of XML invoices."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise _not_a_workbook(exc) from None
    with archive:
        limits.check_zip(archive)
        names = archive.namelist()
        if "xl/workbook.xml" in names:
            for name in names:
                if name.endswith((".xml", ".rels")):
                    limits.check_no_entities(archive, name)
                if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                    limits.check_xlsx_sheet(archive, name)
            return _read_xlsx(data)
        documents = [n for n in names if not n.endswith("/") and not n.startswith(("__MACOSX/", "."))]
        if not documents or not all(n.lower().endswith(".xml") for n in documents):
            raise FileRejected(N_("this zip file is not an Excel workbook and does not hold only XML invoices; "
                                  "upload {types}"), types=Phrase(FILE_TYPES_LABEL))
        try:
            # one document in memory at a time
            return _xml_table(xml_invoices.read_documents((n, archive.read(n)) for n in sorted(documents)))
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise FileRejected(N_("the zip file is damaged ({reason}); pack the invoices again"),
                               reason=str(exc)) from None


def _not_a_workbook(exc: Exception) -> FileRejected:
    return FileRejected(N_("this zip file is not an Excel workbook ({reason}); upload an .xlsx export or a CSV file"),
                        reason=type(exc).__name__)


def _xml_table(found: xml_invoices.XmlInvoices) -> RawTable:
    columns = list(zip(*found.rows))
    table = pa.table({h: pa.array(c, type=pa.string()) for h, c in zip(found.headers, columns)})
    # a "line" is the invoice's position in the upload (the File column names its document)
    lines = np.arange(1, len(found.rows) + 1, dtype=np.int64)
    notes = []
    if found.source == "UBL":
        notes.append(said(N_("e-invoices show what was invoiced, not what has been paid since: import them as a "
                             "partial list unless they are all of your open invoices")))
    return RawTable(table, lines, 0, "XML", None, source=found.source, notes=notes)


def _decode(data: bytes) -> tuple[bytes, str]:
    """UTF-8 bytes without BOM, and the name of the encoding the file was in."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise FileRejected(N_("the file looks like UTF-16 but cannot be read; save it as UTF-8 CSV")) from None
        return text.encode("utf-8"), "UTF-16"
    head = data[:65536]
    if b"\x00" in head or _control_share(head) > 0.05:
        raise FileRejected(N_("this is not a text file (CSV or TSV) or an Excel workbook; export the open items "
                              "as CSV or .xlsx and upload that file"))
    if data.startswith(b"\xef\xbb\xbf"):
        data, bom = data[3:], True
    else:
        bom = False
    try:
        data.decode("utf-8")
        return data, "UTF-8 with BOM" if bom else "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252").encode("utf-8"), "Windows-1252"
    except UnicodeDecodeError:
        # cp1252 leaves five bytes undefined; latin-1 maps them and everything else the same way
        return data.decode("latin-1").encode("utf-8"), "ISO-8859-1"


_BARE_CR = re.compile(rb"\r(?!\n)")


def _bare_carriage_returns(text: bytes) -> bytes:
    """Old-Mac line endings become new lines; in a file with new lines, a carriage return on its own is
    a line break typed inside a cell (Excel on a Mac writes those) and reads as a space."""
    if b"\n" not in text:
        return text.replace(b"\r", b"\n")
    return _BARE_CR.sub(b" ", text)


def _control_share(head: bytes) -> float:
    arr = np.frombuffer(head, dtype=np.uint8)
    if not len(arr):
        return 0.0
    control = (arr < 32) & ~np.isin(arr, (9, 10, 13, 12))
    return float(control.mean())


def _sample_lines(text: bytes) -> list[str]:
    """The first lines of the text, split exactly where the byte-level line numbering splits."""
    sample = text[: 1 << 20].decode("utf-8", errors="replace")
    return [ln.rstrip("\r") for ln in sample.split("\n")[:_SAMPLE_LINES * 4]]


def _field_counts(lines: list[str], delimiter: str) -> list[int]:
    counts = []
    for row in csv.reader(lines, delimiter=delimiter):
        counts.append(len(row) if any(c.strip() for c in row) else 0)
    return counts


def sniff_delimiter(lines: list[str]) -> str:
    """The delimiter that splits the most lines into the same number of fields (more than one)."""
    best, best_score = None, (0.0, 0)
    non_blank = [ln for ln in lines if ln.strip()][:_SAMPLE_LINES]
    if not non_blank:
        raise FileRejected(N_("the file has no rows; export the open items again and upload that file"))
    for delim in DELIMITERS:
        counts = [c for c in _field_counts(non_blank, delim) if c]
        if not counts:
            continue
        modal = max(set(counts), key=counts.count)
        if modal < 2:
            continue
        score = (counts.count(modal) / len(counts), modal)
        if score > best_score:
            best, best_score = delim, score
    if best is None:
        raise FileRejected(N_("no column separator found (tried semicolon, comma, tab and |); the file needs "
                              "one column per field with a header row"))
    return best


def _header_index(lines: list[str], delimiter: str) -> int:
    """Index (0-based, in `lines`) of the header: the first line with the usual number of fields and
    mostly non-numeric labels. Title lines above it ("Openstaande posten per ...") are skipped."""
    rows = list(csv.reader(lines[:_SAMPLE_LINES * 4], delimiter=delimiter))
    counts = [len(r) if any(c.strip() for c in r) else 0 for r in rows]
    filled = [c for c in counts if c]
    modal = max(set(filled), key=filled.count)
    for i, row in enumerate(rows):
        if counts[i] < modal:
            continue
        cells = [c.strip() for c in row]
        filled = [c for c in cells if c]
        labels = [c for c in filled if not _NUMBERISH.match(c)]
        # a title line padded with separators has one or two cells filled, a header most of them
        if len(filled) * 2 >= modal and len(labels) * 2 >= len(filled):
            return i
    return next(i for i, c in enumerate(counts) if c)


_NUMBERISH = re.compile(r"^[-+(]?[\d.,\s/:-]+\)?-?$")


def _clean_headers(raw: list[str]) -> list[str]:
    names, seen = [], {}
    for i, h in enumerate(raw, start=1):
        h = (h or "").replace("\ufeff", "").strip()
        h = h or f"column {i}"
        base, n = h, seen.get(h.lower(), 0)
        while h.lower() in seen:
            n += 1
            h = f"{base} ({n + 1})"
        seen[base.lower()] = n
        seen[h.lower()] = 0
        names.append(h)
    return names


def _non_blank_lines(text: bytes) -> np.ndarray:
    """1-based numbers of the lines that hold anything but spaces, tabs and the line ending."""
    arr = np.frombuffer(text, dtype=np.uint8)
    if not len(arr):
        return np.zeros(0, dtype=np.int64)
    newlines = np.flatnonzero(arr == 10)
    starts = np.concatenate(([0], newlines + 1))
    ends = np.concatenate((newlines, [len(arr)]))
    length = ends - starts
    blank = length == 0
    # a line that starts with a space, tab or "\r" may hold nothing else; those few are checked one by one
    maybe = np.flatnonzero(~blank)
    maybe = maybe[np.isin(arr[starts[maybe]], (32, 9, 13))]
    for i in maybe:
        if not text[starts[i]:ends[i]].strip():
            blank[i] = True
    return (np.flatnonzero(~blank) + 1).astype(np.int64)


def _read_delimited(text: bytes, encoding: str) -> RawTable:
    try:
        return _read_delimited_text(text, encoding)
    except csv.Error as exc:  # a quoted cell running over many lines
        raise FileRejected(N_("a cell of the file is too long to be an invoice's ({reason}); check that every "
                              "quote is closed, or export the file again"), reason=str(exc)) from None


def _read_delimited_text(text: bytes, encoding: str) -> RawTable:
    lines = _sample_lines(text)
    delimiter = sniff_delimiter(lines)
    header_idx = _header_index(lines, delimiter)
    header = next(csv.reader([lines[header_idx]], delimiter=delimiter))
    limits.check_columns(len(header))
    names = _clean_headers(header)
    # physical line numbers (1-based) of the non-blank lines; the header is one of them
    non_blank = _non_blank_lines(text)
    header_line = header_idx + 1
    body_start = _offset_of_line(text, header_line + 1)
    bad_rows: list[tuple[int | None, int, int]] = []

    def on_invalid(row) -> str:  # noqa: ANN001
        if row.text.strip():
            bad_rows.append((row.number, row.expected_columns, row.actual_columns))
        return "skip"

    try:
        table = pacsv.read_csv(
            pa.BufferReader(memoryview(text)[body_start:]),
            read_options=pacsv.ReadOptions(column_names=names, use_threads=True,
                                           block_size=1 << 24),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=b'"' in text,
                                             invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                                 strings_can_be_null=False, quoted_strings_can_be_null=False),
        )
    except pa.ArrowInvalid as exc:
        raise FileRejected(N_("the file cannot be read as {delimiter}-separated text ({reason}); check that it is "
                              "a plain CSV export"), delimiter=Phrase(DELIMITER_NAMES[delimiter]),
                           reason=str(exc).splitlines()[0]) from None
    data_lines = non_blank[non_blank > header_line]
    bad_lines: list[tuple[int, int]] = []
    if bad_rows or len(data_lines) != table.num_rows:
        data_lines, bad_lines = _record_lines(text, delimiter, header_line, len(names))
        if len(data_lines) != table.num_rows:  # cannot happen unless the two readers disagree
            raise FileRejected(N_("the rows of the file cannot be counted reliably; save it again as CSV "
                                  "from your accounting package or from Excel"))
    notes = []
    if header_idx:
        notes.append(said(N_("{n} line(s) above the header were skipped"), n=header_idx))
    return RawTable(table, data_lines, header_line, encoding, delimiter, notes=notes, bad_lines=bad_lines)


def _offset_of_line(text: bytes, line: int) -> int:
    """Byte offset where 1-based `line` starts (the end of the text when there are fewer lines)."""
    pos = 0
    for _ in range(line - 1):
        nl = text.find(b"\n", pos)
        if nl < 0:
            return len(text)
        pos = nl + 1
    return pos


def _record_lines(text: bytes, delimiter: str, header_line: int, width: int) -> tuple[np.ndarray, list]:
    """Exact line numbers when records span lines (newlines inside quotes) or have the wrong number
    of fields (those are returned apart, as (line, fields) pairs). Slower; only used then."""
    reader = csv.reader(io.StringIO(text.decode("utf-8"), newline=""), delimiter=delimiter)
    good, bad = [], []
    start = 1
    for row in reader:
        if start > header_line and any(c.strip() for c in row):
            (good if len(row) == width else bad).append(start if len(row) == width else (start, len(row)))
        start = reader.line_num + 1
    return np.asarray(good, dtype=np.int64), bad


# --- Excel --------------------------------------------------------------------------------------

def _read_xlsx(data: bytes) -> RawTable:
    try:
        import openpyxl

        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise _not_a_workbook(exc) from None
    advice = limits.SAVE_AS_CSV
    try:
        ws = wb.worksheets[0]
        sheet = ws.title
        # the declared dimension was checked; without it rows are not padded to a width that may lie
        ws.reset_dimensions()
        numbered: list[tuple[int, list[str]]] = []
        for n, row in enumerate(ws.iter_rows(), start=1):
            limits.check_rows(n - 1, limits.MAX_XLSX_ROWS, advice)
            limits.check_columns(len(row))
            cells = [_cell_text(c.value, getattr(c, "number_format", None)) for c in row]
            if any(cells):
                numbered.append((n, cells))
    finally:
        wb.close()
    if not numbered:
        raise FileRejected(N_("the first sheet ('{sheet}') of the workbook is empty; put the open items on the "
                              "first sheet"), sheet=sheet)
    width = max(len(r) for _, r in numbered)
    while width > 1 and all(len(r) < width or not r[width - 1] for _, r in numbered):
        width -= 1
    # one line per row to find the header in, as in a CSV file: a cell's own line breaks read as spaces
    as_lines = [";".join(" ".join(c.replace(";", ",").splitlines()) for c in r[:width])
                for _, r in numbered[:_SAMPLE_LINES * 4]]
    header_idx = _header_index(as_lines, ";")
    header_line, header = numbered[header_idx]
    names = _clean_headers([*header[:width], *[""] * (width - len(header))])
    body = numbered[header_idx + 1:]
    columns = [[(r[j] if j < len(r) else "") for _, r in body] for j in range(width)]
    table = pa.table({n: pa.array(c, type=pa.string()) for n, c in zip(names, columns)})
    lines = np.asarray([n for n, _ in body], dtype=np.int64)
    notes = [said(N_("{n} row(s) above the header were skipped"), n=header_line - 1)] if header_line > 1 else []
    return RawTable(table, lines, header_line, "Excel", None, sheet=sheet, notes=notes)


def _cell_text(value, number_format: str | None = None) -> str:  # noqa: ANN001
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and number_format \
            and re.fullmatch(r"0+", number_format) and float(value).is_integer() and value >= 0:
        return str(int(value)).zfill(len(number_format))  # a code Excel shows with its leading zeros
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, datetime):
        if value.time() == time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    return str(value).strip()
