"""From uploaded bytes to a table of text: encodings, delimiters, header rows, line numbers, Excel,
and a clear refusal for everything that is not a table."""

import io
from datetime import datetime

import openpyxl
import pytest

from receivables.importing import FileRejected, read_table
from receivables.importing.reading import MAX_BYTES


def rows(table) -> list[dict]:
    return table.table.to_pylist()


@pytest.mark.parametrize("data, encoding", [
    ("Naam;Bedrag\r\nJosé Ëlberg;€ 1,00\r\n".encode(), "UTF-8"),
    (b"\xef\xbb\xbf" + "Naam;Bedrag\r\nJosé Ëlberg;€ 1,00\r\n".encode(), "UTF-8 with BOM"),
    ("Naam;Bedrag\r\nJosé Ëlberg;€ 1,00\r\n".encode("cp1252"), "Windows-1252"),
    ("Naam;Bedrag\r\nJosé Ëlberg;€ 1,00\r\n".encode("utf-16"), "UTF-16"),
])
def test_text_in_every_common_encoding_reads_the_same(data, encoding):
    table = read_table(data)
    assert table.encoding == encoding
    assert table.headers == ["Naam", "Bedrag"]
    assert rows(table) == [{"Naam": "José Ëlberg", "Bedrag": "€ 1,00"}]


@pytest.mark.parametrize("delimiter", [";", ",", "\t", "|"])
def test_the_delimiter_is_found(delimiter):
    text = delimiter.join(["Factuurnummer", "Relatie", "Bedrag"]) + "\n"
    text += delimiter.join(["0012", "Bakker B.V.", "12"]) + "\n"
    table = read_table(text.encode())
    assert table.delimiter == delimiter
    assert rows(table) == [{"Factuurnummer": "0012", "Relatie": "Bakker B.V.", "Bedrag": "12"}]


def test_a_comma_inside_amounts_does_not_fool_the_semicolon_detection():
    table = read_table(b"Factuur;Bedrag;Open\n1;1.234,56;1.234,56\n2;12,00;0,00\n")
    assert table.delimiter == ";" and table.headers == ["Factuur", "Bedrag", "Open"]


def test_title_lines_above_the_header_are_skipped_and_line_numbers_stay_true():
    data = b"Openstaande posten per 31-12-2024\n\nFactuur;Relatie;Bedrag\n1;A;10\n\n2;B;20\n   \n3;C;30\n"
    table = read_table(data)
    assert table.header_line == 3
    assert [r["Factuur"] for r in rows(table)] == ["1", "2", "3"]
    assert table.lines.tolist() == [4, 6, 8]


def test_leading_zeros_and_every_cell_stay_text():
    table = read_table(b"Factuurnummer,Relatiecode\n000123,0042\n")
    assert rows(table) == [{"Factuurnummer": "000123", "Relatiecode": "0042"}]


def test_quoted_values_may_hold_delimiters_and_newlines_and_keep_their_line_numbers():
    data = b'Factuur,Omschrijving,Bedrag\r\n1,"Huur, januari",10\r\n2,"twee\r\nregels",20\r\n3,x,30\r\n'
    table = read_table(data)
    assert [r["Omschrijving"] for r in rows(table)] == ["Huur, januari", "twee\r\nregels", "x"]
    assert table.lines.tolist() == [2, 3, 5]


def test_a_line_with_the_wrong_number_of_fields_is_reported_with_its_line():
    table = read_table(b"a;b;c\n1;2;3\n4;5\n6;7;8\n")
    assert table.bad_lines == [(3, 2)]
    assert table.lines.tolist() == [2, 4]


def test_empty_header_cells_get_a_name_and_duplicates_a_suffix():
    table = read_table(b",Bedrag,Bedrag\n0,1,2\n")
    assert table.headers == ["column 1", "Bedrag", "Bedrag (2)"]


def test_classic_mac_line_endings_are_read():
    table = read_table(b"a;b\r1;2\r3;4\r")
    assert [r["a"] for r in rows(table)] == ["1", "3"]


def _xlsx(cells: list[list]) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Openstaande posten"
    for row in cells:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_an_excel_workbook_reads_like_a_csv_with_dates_as_iso_text():
    data = _xlsx([["Overzicht debiteuren"], [], ["Factuurnummer", "Relatiecode", "Factuurdatum", "Bedrag"],
                  ["000123", "0042", datetime(2024, 1, 31), 1234.5], ["124", 42, 45046, 10]])
    table = read_table(data, "open.xlsx")
    assert table.delimiter is None and table.sheet == "Openstaande posten"
    assert table.header_line == 3
    assert rows(table) == [
        {"Factuurnummer": "000123", "Relatiecode": "0042", "Factuurdatum": "2024-01-31", "Bedrag": "1234.5"},
        {"Factuurnummer": "124", "Relatiecode": "42", "Factuurdatum": "45046", "Bedrag": "10"},
    ]
    assert table.lines.tolist() == [4, 5]


@pytest.mark.parametrize("data, says", [
    (b"", "empty"),
    (b"   \r\n\r\n", "empty"),
    (bytes(range(256)) * 40, "not a text file"),
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "PDF"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, ".xls"),
    (b"PK\x03\x04not really a zip", "not an Excel workbook"),
    (b"just one column\nno separator\nanywhere\n", "no column separator"),
])
def test_files_that_are_not_tables_get_a_clear_message(data, says):
    with pytest.raises(FileRejected, match=says):
        read_table(data)


def test_a_file_over_the_size_limit_is_refused_before_reading():
    data = b"a;b\n" + b"1;2\n" * ((200 * 1024 * 1024) // 4)  # a 200 MB export
    assert len(data) > MAX_BYTES
    with pytest.raises(FileRejected, match="the limit is 128 MB"):
        read_table(data)


def test_the_upload_box_allows_exactly_what_the_importer_takes():
    import tomllib

    from receivables.importing import MAX_BYTES
    from tests.conftest import ROOT

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] * 1024 * 1024 == MAX_BYTES
