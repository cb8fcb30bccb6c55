"""Hostile uploads, one per kind, and what reading each costs: seconds and extra peak memory.

    python bench/upload_bombs.py                     # this checkout's reader
    python bench/upload_bombs.py --code ../main      # another checkout's reader, for comparison
    python bench/upload_bombs.py --timeout 60 rows-xlsx dimension

Each bomb is written to a temporary file and read by `receivables.importing.read_table` in a fresh
process, which is stopped at the timeout. Memory is the process's high-water mark (VmHWM) minus its
size just before reading (the bomb's own bytes are in both)."""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

MB = 1024 * 1024

_CONTENT_TYPES = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                  b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                  b'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                  b'<Default Extension="xml" ContentType="application/xml"/>'
                  b'<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.'
                  b'spreadsheetml.sheet.main+xml"/>'
                  b'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
                  b'officedocument.spreadsheetml.worksheet+xml"/></Types>')
_RELS = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
         b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
         b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
         b'officeDocument" Target="xl/workbook.xml"/></Relationships>')
_WORKBOOK = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
             b'<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
             b'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
             b'<sheets><sheet name="Open items" sheetId="1" r:id="rId1"/></sheets></workbook>')
_WORKBOOK_RELS = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                  b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                  b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                  b'relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>')
_HEADER_ROW = (b'<row r="1"><c r="A1" t="inlineStr"><is><t>Factuurnummer</t></is></c>'
               b'<c r="B1" t="inlineStr"><is><t>Relatie</t></is></c><c r="C1" t="inlineStr"><is><t>Bedrag</t></is></c>'
               b'</row>')


def xlsx(sheet_data: bytes, dimension: str | None = None, before_sheet: bytes = b"") -> bytes:
    """A minimal workbook whose only sheet holds `sheet_data` (the inside of <sheetData>)."""
    dim = f'<dimension ref="{dimension}"/>'.encode() if dimension else b""
    sheet = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' + before_sheet
             + b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">' + dim
             + b"<sheetData>" + sheet_data + b"</sheetData></worksheet>")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", _CONTENT_TYPES)
        z.writestr("_rels/.rels", _RELS)
        z.writestr("xl/workbook.xml", _WORKBOOK)
        z.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        z.writestr("xl/worksheets/sheet1.xml", sheet)
    return buf.getvalue()


def rows_xlsx() -> bytes:
    """A million real rows, no declared dimension (every row different, so it packs only ~10 times)."""
    rows = b"".join(b'<row><c><v>%d</v></c><c t="inlineStr"><is><t>R%d</t></is></c><c><v>%d.5</v></c></row>'
                    % (i, i * 7919 % 100003, i % 977) for i in range(1_000_000))
    return xlsx(_HEADER_ROW + rows)


def rows_csv() -> bytes:
    """Three million lines of a plain CSV (12 MB)."""
    return b"a;b\n" + b"1;2\n" * 3_000_000


_LAST_CELL = b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'


def dimension() -> bytes:
    """Three rows whose declared dimension, and last cell, span the whole Excel grid (1,048,576 x 16,384)."""
    return xlsx(_HEADER_ROW + b'<row r="2"><c r="A2"><v>1</v></c></row>' + _LAST_CELL, dimension="A1:XFD1048576")


def row_gap() -> bytes:
    """The same cells under a dimension that claims three rows: the gap is found while streaming."""
    return xlsx(_HEADER_ROW + b'<row r="2"><c r="A2"><v>1</v></c></row>' + _LAST_CELL, dimension="A1:C3")


def deflate_ratio() -> bytes:
    """A few hundred kilobytes that unpack to two million identical rows (~180 MB)."""
    row = b'<row><c t="inlineStr"><is><t>0001</t></is></c><c t="inlineStr"><is><t>Bakker</t></is></c><c><v>1</v></c></row>'
    return xlsx(_HEADER_ROW + row * 2_000_000)


_LAUGHS = (b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
           + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
                      for i in range(1, 10))
           + b"]>\n")


def entities_xml() -> bytes:
    """The "billion laughs": nine levels of ten entities each, a gigabyte of text when expanded."""
    return (_LAUGHS + b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2" '
            b'xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">'
            b"<cbc:ID>&lol9;</cbc:ID></Invoice>")


def entities_xlsx() -> bytes:
    """The same entities inside the sheet of a workbook."""
    return xlsx(_HEADER_ROW + b'<row r="2"><c r="A2" t="inlineStr"><is><t>&lol9;</t></is></c></row>',
                before_sheet=_LAUGHS.replace(b"lolz", b"worksheet").split(b"\n", 1)[1])


def single_line() -> bytes:
    """A header and one 50 MB line."""
    return b"Factuurnummer;Relatie;Bedrag\n1;" + b"x" * (50 * MB) + b";2\n"


def columns() -> bytes:
    """10,000 columns, 1,000 rows."""
    header = ";".join(f"c{i}" for i in range(10_000)).encode() + b"\n"
    return header + (";".join(["1"] * 10_000).encode() + b"\n") * 1_000


@dataclass(frozen=True)
class Bomb:
    name: str
    file_name: str
    make: object  # () -> bytes
    limit: str  # words the refusal names


BOMBS = [
    Bomb("rows-xlsx", "rows.xlsx", rows_xlsx, "rows"),
    Bomb("rows-csv", "rows.csv", rows_csv, "rows"),
    Bomb("dimension", "dimension.xlsx", dimension, "rows"),
    Bomb("row-gap", "gap.xlsx", row_gap, "rows"),
    Bomb("deflate-ratio", "ratio.xlsx", deflate_ratio, "times its packed size"),
    Bomb("entities-xml", "laughs.xml", entities_xml, "entities"),
    Bomb("entities-xlsx", "laughs.xlsx", entities_xlsx, "entit"),
    Bomb("single-line", "line.csv", single_line, "per line"),
    Bomb("columns", "columns.csv", columns, "columns"),
]

_CHILD = """
import json, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from receivables.importing.reading import read_table
data = Path(sys.argv[2]).read_bytes()
def rss_kb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
Path(sys.argv[3]).write_text(str(rss_kb()))
start = time.perf_counter()
try:
    table = read_table(data, Path(sys.argv[2]).name)
    outcome = f"read {table.row_count} rows x {len(table.headers)} columns"
except Exception as exc:
    outcome = f"{type(exc).__name__}: {exc}"
print(json.dumps({"seconds": time.perf_counter() - start, "outcome": outcome}))
"""


def measure(data: bytes, file_name: str, code: Path, timeout: float = 60.0) -> dict:
    """Seconds and extra peak memory (MB) of reading `data` with the reader of checkout `code`."""
    with tempfile.TemporaryDirectory() as tmp:
        path, base = Path(tmp) / file_name, Path(tmp) / "base"
        path.write_bytes(data)
        child = subprocess.Popen([sys.executable, "-c", _CHILD, str(code), str(path), str(base)],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        started, hwm, stopped = time.perf_counter(), 0, False
        while child.poll() is None:
            hwm = max(hwm, _vm_hwm_kb(child.pid))
            if base.exists() and time.perf_counter() - started > timeout:
                child.kill()
                stopped = True
                break
            time.sleep(0.05)
        out, err = child.communicate()
        base_kb = int(base.read_text() or 0) if base.exists() else 0
    if stopped:
        return {"seconds": None, "peak_mb": (hwm - base_kb) / 1024, "outcome": f"stopped after {timeout:.0f} s"}
    if child.returncode and not out.strip():
        return {"seconds": None, "peak_mb": (hwm - base_kb) / 1024,
                "outcome": f"crashed (exit {child.returncode}): {err.strip().splitlines()[-1:]}"}
    result = json.loads(out)
    return {"seconds": result["seconds"], "peak_mb": max(hwm - base_kb, 0) / 1024, "outcome": result["outcome"]}


def _vm_hwm_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bombs", nargs="*", help="names to run (default: all)")
    parser.add_argument("--code", type=Path, default=Path(__file__).resolve().parent.parent)
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args()
    print(f"reader: {args.code.resolve()}")
    print(f"{'bomb':<15} {'size':>9} {'seconds':>8} {'extra MB':>9}  outcome")
    for bomb in BOMBS:
        if args.bombs and bomb.name not in args.bombs:
            continue
        data = bomb.make()
        r = measure(data, bomb.file_name, args.code, args.timeout)
        seconds = f"{r['seconds']:.2f}" if r["seconds"] is not None else "-"
        print(f"{bomb.name:<15} {len(data) / MB:>7.1f}MB {seconds:>8} {r['peak_mb']:>9.0f}  {r['outcome'][:150]}",
              flush=True)
    os.sys.stdout.flush()


if __name__ == "__main__":
    main()
