"""How much work one upload may cause, checked before anything is parsed.

A few hundred kilobytes can unpack to gigabytes (a zip bomb), declare a million empty rows (an Excel
dimension) or hold one endless line; each limit is checked on sizes the file declares or on a cheap
scan of its bytes, so a file over a limit is refused in moments and without the memory its content
would take. Every refusal names the limit and says what to export instead."""

from __future__ import annotations

import re
import zipfile

import numpy as np

from receivables.domain.phrases import Phrase
from receivables.domain.translation import N_, Count
from receivables.importing.errors import FileRejected

MB = 1024 * 1024
MAX_BYTES = 128 * MB  # the upload itself (Streamlit's maxUploadSize says the same)
MAX_UNPACKED_BYTES = 512 * MB  # all members of a zip (an .xlsx is one) together, as declared
MAX_RATIO = 100  # unpacked / packed size of one zip member; a sheet of 200,000 open items packs 9 times
MAX_MEMBERS = 50_000  # files in one zip (one UBL invoice per file)
MAX_ROWS = 2_000_000  # data rows of a CSV or invoices in XML
MAX_XLSX_ROWS = 100_000  # rows of an Excel sheet: openpyxl reads 5-30 thousand a second, a CSV millions
MAX_COLUMNS = 500
MAX_LINE_BYTES = 128 * 1024  # one line of a CSV/TSV (Python's csv module reads no longer cell either)
_RATIO_FROM = 1 * MB  # tiny members may compress very well without meaning harm

_CELL = re.compile(rb"([A-Z]{1,3})([0-9]{1,7})")
_DIMENSION = re.compile(rb"<(?:\w+:)?dimension\s+ref=\"([^\"]*)\"")
_ROW_TAG = re.compile(rb"<(?:\w+:)?row[\s/>]")


def _mb(n: float) -> Count:
    """Megabytes, whole, as a message's parameter (grouped the reader's way)."""
    return Count(round(n / MB))


SHORTER = Phrase(N_("Export a shorter period or split the file."))
SAVE_AS_CSV = Phrase(N_("Save the sheet as CSV (up to {rows} rows) or export a shorter period."),
                     {"rows": Count(MAX_ROWS)})
ONLY_INVOICE_COLUMNS = N_("Export only the columns of the invoices (number, debtor, dates, amounts).")


def check_upload_size(size: int) -> None:
    if size > MAX_BYTES:
        raise FileRejected(N_("the file is {size} MB; the limit is {limit} MB. Export a shorter period or split "
                              "the file."), size=_mb(size), limit=_mb(MAX_BYTES))


def check_text(text: bytes) -> None:
    """Rows and line length of a delimited text, counted on its bytes a few megabytes at a time."""
    newline = 10 if b"\n" in text or b"\r" not in text else 13  # classic Mac files end lines with "\r"
    longest, rows, start, chunk = 0, 0, 0, 4 * MB
    for offset in range(0, len(text), chunk):
        part = np.frombuffer(memoryview(text)[offset:offset + chunk], dtype=np.uint8)
        ends = np.flatnonzero(part == newline) + offset
        rows += len(ends)
        if len(ends):
            longest = max(longest, int(ends[0]) - start, int(np.diff(ends).max()) - 1 if len(ends) > 1 else 0)
            start = int(ends[-1]) + 1
    longest = max(longest, len(text) - start)
    if longest > MAX_LINE_BYTES:
        raise FileRejected(N_("a line of the file is {size} KB long; the limit is {limit} KB per line. This is not "
                              "an export with one invoice per line: export the open items again as CSV or Excel."),
                           size=Count(round(longest / 1024)), limit=Count(MAX_LINE_BYTES // 1024))
    check_rows(rows - 1)  # the header's line is no row


def check_rows(rows: int, limit: int = MAX_ROWS, advice: Phrase = SHORTER) -> None:
    if rows > limit:
        raise FileRejected(N_("the file has more than {limit} rows; the limit is {limit}. {advice}"),
                           limit=Count(limit), advice=advice)


def check_columns(columns: int) -> None:
    if columns > MAX_COLUMNS:
        raise FileRejected(N_("the file has {columns} columns; the limit is {limit}. {advice}"),
                           columns=Count(columns), limit=Count(MAX_COLUMNS), advice=Phrase(ONLY_INVOICE_COLUMNS))


def check_zip(archive: zipfile.ZipFile) -> None:
    """Member count, declared sizes and compression ratios, read from the zip's directory only.
    Python's zipfile stops each member at its declared size, so the declaration is what is read."""
    members = archive.infolist()
    if len(members) > MAX_MEMBERS:
        raise FileRejected(N_("the zip holds {files} files; the limit is {limit}. Split it."),
                           files=Count(len(members)), limit=Count(MAX_MEMBERS))
    total = sum(m.file_size for m in members)
    if total > MAX_UNPACKED_BYTES:
        raise FileRejected(N_("the zip unpacks to {size} MB; the limit is {limit} MB. {advice}"),
                           size=_mb(total), limit=_mb(MAX_UNPACKED_BYTES), advice=SHORTER)
    for m in members:
        if m.file_size > _RATIO_FROM and m.file_size > MAX_RATIO * max(m.compress_size, 1):
            raise FileRejected(N_("'{member}' in the zip unpacks {ratio} times its packed size; the limit is {limit} "
                                  "times. This is not an export: upload the file your accounting package wrote."),
                               member=m.filename, ratio=Count(round(m.file_size / max(m.compress_size, 1))),
                               limit=Count(MAX_RATIO))


def check_xlsx_sheet(archive: zipfile.ZipFile, member: str) -> None:
    """The sheet's declared dimension, then its row elements counted on the unpacked bytes (no XML
    parsing), against the row and column limits."""
    advice = SAVE_AS_CSV
    with archive.open(member) as src:
        head = src.read(64 * 1024)
        found = _DIMENSION.search(head)
        if found:
            cells = _CELL.findall(found.group(1))
            rows = max((int(r) for _, r in cells), default=0)
            columns = max((column_number(c) for c, _ in cells), default=0)
            if rows - 1 > MAX_XLSX_ROWS:
                raise FileRejected(N_("the sheet declares {rows} rows ({cells}); the limit is {limit}. {advice}"),
                                   rows=Count(rows), cells=found.group(1).decode(errors="replace"),
                                   limit=Count(MAX_XLSX_ROWS), advice=advice)
            if columns > MAX_COLUMNS:
                raise FileRejected(N_("the sheet declares {columns} columns; the limit is {limit}. {advice}"),
                                   columns=Count(columns), limit=Count(MAX_COLUMNS),
                                   advice=Phrase(ONLY_INVOICE_COLUMNS))
        rows, carry = 0, b""
        while True:
            chunk = src.read(4 * MB)
            block = carry + head + chunk
            head = b""
            if not chunk:
                rows += len(_ROW_TAG.findall(block))
                break
            # a tag that starts in the last bytes may be cut off: it is counted with the next block
            cut = len(block) - 32
            rows += sum(1 for m in _ROW_TAG.finditer(block) if m.start() < cut)
            carry = block[cut:]
            check_rows(rows - 1, MAX_XLSX_ROWS, advice)
        check_rows(rows - 1, MAX_XLSX_ROWS, advice)


def check_no_entities(archive: zipfile.ZipFile, member: str) -> None:
    """A DTD must come before the first element, so the head of each XML part is enough to see one;
    Office never writes them, and entity definitions are how an XML bomb multiplies."""
    with archive.open(member) as src:
        head = src.read(64 * 1024)
    if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
        raise FileRejected(N_("'{member}' in the workbook declares a DTD or entities, which Excel never writes; it "
                              "is not read. Open the file in Excel and save it again, or export it as CSV."),
                           member=member)


def column_number(letters: bytes | str) -> int:
    n = 0
    for ch in letters.decode() if isinstance(letters, bytes) else letters:
        n = n * 26 + ord(ch) - 64
    return n
