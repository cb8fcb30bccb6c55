"""A file the importer cannot read is refused with a catalogue message id and its parameters: the command
line prints the English it always printed, a page words it in Dutch with Dutch numbers."""

import io

import openpyxl
import pytest

from receivables.domain.phrases import Phrase
from receivables.domain.translation import catalogue, translate
from receivables.importing import FileRejected, limits, read_table


def dutch(exc: FileRejected) -> str:
    return Phrase(exc.msgid, exc.params).worded(lambda msgid, **p: translate(msgid, "nl", **p),
                                                lambda c, cur: f"{cur} {c}", str)


def refusal(read) -> FileRejected:  # noqa: ANN001
    with pytest.raises(FileRejected) as refused:
        read()
    return refused.value


def empty_sheet() -> bytes:
    wb = openpyxl.Workbook()
    wb.active.title = "Blad1"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


CASES = [
    pytest.param(lambda: limits.check_upload_size(1300 * limits.MB),
                 "the file is {size} MB; the limit is {limit} MB. Export a shorter period or split the file.",
                 "the file is 1,300 MB; the limit is 128 MB. Export a shorter period or split the file.",
                 "het bestand is 1.300 MB; de grens is 128 MB. Exporteer een kortere periode of splits het bestand.",
                 id="size"),
    pytest.param(lambda: limits.check_rows(limits.MAX_ROWS + 1),
                 "the file has more than {limit} rows; the limit is {limit}. {advice}",
                 "the file has more than 2,000,000 rows; the limit is 2,000,000. Export a shorter period or split "
                 "the file.",
                 "het bestand heeft meer dan 2.000.000 rijen; de grens is 2.000.000. Exporteer een kortere periode of "
                 "splits het bestand.",
                 id="rows"),
    pytest.param(lambda: read_table(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "open.pdf"),
                 "this is a PDF; export the list from your accounting package as CSV or Excel",
                 "this is a PDF; export the list from your accounting package as CSV or Excel",
                 "dit is een pdf; exporteer de lijst uit uw boekhoudpakket als CSV of Excel",
                 id="pdf"),
    pytest.param(lambda: read_table(b"<transactions><transaction></transactions>", "open.xml"),
                 "'{name}' is not well-formed XML ({reason}); export it again",
                 "'open.xml' is not well-formed XML (Opening and ending tag mismatch: transaction line 1 and "
                 "transactions, line 1, column 43); export it again",
                 "'open.xml' is geen geldige XML (Opening and ending tag mismatch: transaction line 1 and "
                 "transactions, line 1, column 43); exporteer het opnieuw",
                 id="bad-xml"),
    pytest.param(lambda: read_table(b"<Order xmlns='urn:oasis:names:specification:ubl:schema:xsd:Order-2'/>",
                                    "order.xml"),
                 "'{name}' is {kind}, not a list of invoices. Export {what}.",
                 "'order.xml' is a UBL order, not a list of invoices. Export UBL 2.1 / Peppol BIS 3 invoices or "
                 "Twinfield sales transactions as XML, or the open items (openstaande posten) as CSV or Excel.",
                 "'order.xml' is een UBL-bestelling, geen lijst met facturen. Exporteer UBL 2.1- / Peppol BIS "
                 "3-facturen of Twinfield-verkooptransacties als XML, of de openstaande posten als CSV of Excel.",
                 id="other-xml"),
    pytest.param(lambda: read_table(empty_sheet(), "open.xlsx"),
                 "the first sheet ('{sheet}') of the workbook is empty; put the open items on the first sheet",
                 "the first sheet ('Blad1') of the workbook is empty; put the open items on the first sheet",
                 "het eerste werkblad ('Blad1') van de werkmap is leeg; zet de openstaande posten op het eerste "
                 "werkblad",
                 id="empty-sheet"),
]


@pytest.mark.parametrize("read, msgid, english, nederlands", CASES)
def test_a_refused_file_carries_its_message_id_and_reads_in_english_and_dutch(read, msgid, english, nederlands):
    refused = refusal(read)
    assert refused.msgid == msgid
    assert str(refused) == english
    assert "{" not in str(refused)
    assert catalogue("nl").gettext(msgid) != msgid
    assert dutch(refused) == nederlands


def test_sizes_and_counts_are_parameters_never_part_of_the_message_id():
    refused = refusal(lambda: limits.check_upload_size(300 * limits.MB))
    assert refused.params["size"] == 300 and refused.params["limit"] == 128
    assert not any(ch.isdigit() for ch in refused.msgid)
