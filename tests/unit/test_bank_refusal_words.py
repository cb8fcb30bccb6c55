"""A bank file that cannot be read is refused with a catalogue message id and its parameters: the command
line prints the English it always printed, the Bank page words it in Dutch with Dutch numbers."""

import pytest

from receivables.domain.phrases import Phrase
from receivables.domain.translation import catalogue, translate
from receivables.importing.bank import BankFileError, read_statements
from receivables.importing.bank.model import MAX_BYTES, check_size

ABN_TXT = ("417164300\tEUR\t20240301\t1000,00\t1605,00\t20240301\t605,00\tSEPA Overboeking\n"
           "417164300\tEUR\t20240302\t1605,00\t1602,50\t20240302\t-2,5x\tKosten\n")


def dutch(exc: BankFileError) -> str:
    return Phrase(exc.msgid, exc.params).worded(lambda msgid, **p: translate(msgid, "nl", **p),
                                                lambda c, cur: f"{cur} {c}", str)


CASES = [
    pytest.param(lambda: check_size(b"x" * (MAX_BYTES + 1_400_000)),
                 "The file is 51.3 MB; a bank statement may be at most 50 MB. Download a shorter period and upload "
                 "it in parts.",
                 "Het bestand is 51,3 MB; een bankafschrift mag hoogstens 50 MB zijn. Download een kortere periode en "
                 "upload die in delen.",
                 id="size"),
    pytest.param(lambda: read_statements(b"%PDF-1.7\n"),
                 "This is a PDF statement, which cannot be read; download the transactions as camt.053, MT940 or "
                 "CSV instead.",
                 "Dit is een pdf-afschrift, dat niet te lezen is; download de transacties in plaats daarvan als "
                 "camt.053, MT940 of CSV.",
                 id="pdf"),
    pytest.param(lambda: read_statements(ABN_TXT.encode()),
                 "Line 2 amount '-2,5x' is not an amount",
                 "Regel 2, bedrag '-2,5x' is geen bedrag",
                 id="bad-amount"),
]


@pytest.mark.parametrize("read, english, nederlands", CASES)
def test_a_refused_bank_file_reads_in_english_and_in_dutch(read, english, nederlands):
    with pytest.raises(BankFileError) as refused:
        read()
    assert str(refused.value) == english
    assert "{" not in refused.value.msgid or refused.value.params
    assert catalogue("nl").gettext(refused.value.msgid) != refused.value.msgid
    assert dutch(refused.value) == nederlands
