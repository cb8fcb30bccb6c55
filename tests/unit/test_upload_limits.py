"""Every upload has bounded cost: each kind of hostile file is refused within seconds, with little
memory and a message that names the limit; files inside the limits still read."""

import pytest

from bench.upload_bombs import BOMBS, measure, xlsx
from receivables.importing import FileRejected, limits, read_table
from tests.conftest import ROOT

SECONDS = 5.0
EXTRA_MB = 64  # on top of the bomb's own bytes; the readers before the limits took 111 MB to 4.6 GB


@pytest.mark.slow
@pytest.mark.parametrize("bomb", BOMBS, ids=[b.name for b in BOMBS])
def test_a_hostile_upload_is_refused_at_once_with_the_limit_named_and_bounded_memory(bomb):
    result = measure(bomb.make(), bomb.file_name, ROOT, timeout=30)
    assert result["outcome"].startswith("FileRejected: "), result
    assert bomb.limit in result["outcome"]
    assert result["seconds"] < SECONDS, result
    assert result["peak_mb"] < EXTRA_MB, result


def _sheet(rows: int, pad: int = 0) -> bytes:
    return xlsx(b"".join(b'<row><c t="inlineStr"><is><t>%s</t></is></c><c><v>%d</v></c></row>'
                         % ((b"Factuur" if i == 0 else b"%07d" % i) + b" " * pad, i) for i in range(rows + 1)))


def test_the_row_count_of_a_sheet_is_exact_across_the_blocks_it_is_read_in(monkeypatch):
    monkeypatch.setattr(limits, "MAX_XLSX_ROWS", 900)
    monkeypatch.setattr(limits, "MAX_RATIO", 10_000)  # the padding packs well; the rows are what is tested
    at_limit = _sheet(900, pad=10_000)  # 9 MB unpacked: the rows straddle the 4 MB blocks
    assert read_table(at_limit, "ok.xlsx").row_count == 900
    with pytest.raises(FileRejected, match="more than 900 rows; the limit is 900"):
        read_table(_sheet(901, pad=10_000), "over.xlsx")


def test_a_declared_dimension_inside_the_limits_reads_and_only_the_real_cells_count():
    data = xlsx(b'<row r="1"><c r="A1" t="inlineStr"><is><t>Factuur</t></is></c>'
                b'<c r="B1" t="inlineStr"><is><t>Bedrag</t></is></c></row>'
                b'<row r="2"><c r="A2"><v>7</v></c><c r="B2"><v>10</v></c></row>', dimension="A1:Z5000")
    table = read_table(data, "ok.xlsx")
    assert table.headers == ["Factuur", "Bedrag"] and table.row_count == 1


@pytest.mark.parametrize("text, says", [
    (b"a;b\n" + b"1;2\n" * (limits.MAX_ROWS + 1), "more than 2,000,000 rows"),
    (b"a;b\n1;" + b"x" * (limits.MAX_LINE_BYTES + 1), "the limit is 128 KB per line"),
    ((";".join(f"c{i}" for i in range(limits.MAX_COLUMNS + 1)) + "\n" + "1;" * limits.MAX_COLUMNS + "1\n").encode(),
     "501 columns; the limit is 500"),
    (b'a;b\n1;"' + b"x\n" * 70_000 + b'"\n', "a cell of the file is too long"),
])
def test_a_csv_over_a_limit_is_refused_with_the_limit(text, says):
    with pytest.raises(FileRejected, match=says):
        read_table(text, "open.csv")


def test_a_csv_just_inside_the_limits_reads():
    header = ";".join(f"c{i}" for i in range(limits.MAX_COLUMNS)) + "\n"
    long_cell = "x" * (limits.MAX_LINE_BYTES - limits.MAX_COLUMNS * 2)
    table = read_table((header + long_cell + ";1" * (limits.MAX_COLUMNS - 1) + "\n").encode(), "open.csv")
    assert len(table.headers) == limits.MAX_COLUMNS and table.row_count == 1


def test_a_classic_mac_file_is_measured_by_its_own_line_ends():
    data = b"a;b\r" + b"1;2\r" * 400_000  # 1.6 MB without a single "\n"
    assert read_table(data, "mac.csv").row_count == 400_000


def test_rows_below_a_declared_dimension_that_is_too_small_are_still_read():
    rows = b"".join(b'<row r="%d"><c r="A%d"><v>%d</v></c><c r="B%d"><v>1</v></c></row>' % (i, i, i, i)
                    for i in range(2, 7))
    data = xlsx(b'<row r="1"><c r="A1" t="inlineStr"><is><t>Factuur</t></is></c>'
                b'<c r="B1" t="inlineStr"><is><t>Bedrag</t></is></c></row>' + rows, dimension="A1:B2")
    table = read_table(data, "short-dimension.xlsx")
    assert table.table.column("Factuur").to_pylist() == ["2", "3", "4", "5", "6"]
    assert table.lines.tolist() == [2, 3, 4, 5, 6]


def test_the_row_and_line_limits_are_exact():
    limits.check_text(b"a;b\n" + b"1;2\n" * limits.MAX_ROWS)
    with pytest.raises(FileRejected, match="more than 2,000,000 rows"):
        limits.check_text(b"a;b\n" + b"1;2\n" * (limits.MAX_ROWS + 1))
    limits.check_text(b"a\n" + b"x" * limits.MAX_LINE_BYTES + b"\n1\n")
    with pytest.raises(FileRejected, match="per line"):
        limits.check_text(b"a\n" + b"x" * (limits.MAX_LINE_BYTES + 1) + b"\n1\n")
