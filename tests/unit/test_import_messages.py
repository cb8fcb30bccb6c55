"""The import check's problems, warnings, notices and column facts carry a catalogue message id with its
parameters: the command line prints the English it always printed, a page words them in Dutch."""

from receivables.domain.phrases import Phrase
from receivables.domain.phrasing import Said
from receivables.domain.translation import Count, catalogue, translate
from receivables.importing import OPEN_ITEMS, column_facts, read_table, suggest_mapping, validate
from receivables.services import imports as import_service

HEADER = "Relatiecode;Relatie;Factuurnummer;Factuurdatum;Vervaldatum;Bedrag;Openstaand"


def check(*lines: str):
    raw = read_table(("\r\n".join([HEADER, *lines]) + "\r\n").encode("utf-8"))
    return validate(raw, OPEN_ITEMS, suggest_mapping(raw.headers, OPEN_ITEMS))


def dutch(phrase: Phrase) -> str:
    return phrase.worded(lambda msgid, **p: translate(msgid, "nl", **p), lambda c, cur: f"{cur} {c}", str)


def in_catalogue(msgid: str) -> bool:
    return catalogue("nl").gettext(msgid) != msgid


def test_a_row_problem_is_a_message_id_with_its_parameters_and_reads_as_before_in_english():
    batch = check("0042;Bakker;1;01-03-2024;31-03-2024;10,00;10,00",
                  "0042;Bakker;2;01-03-2024;31-03-2024;tien;10,00")
    problem = batch.errors[0]
    assert problem.msgid == "is not an amount (expected like {example}); fix the value or choose the other decimal style"
    assert problem.params == {"example": "1.234,56 or -1234,56"}
    assert str(problem) == ("row 3, Bedrag: 'tien' is not an amount (expected like 1.234,56 or -1234,56); fix the "
                            "value or choose the other decimal style")
    assert in_catalogue(problem.msgid)
    assert dutch(problem.phrase) == ("is geen bedrag (verwacht zoals 1.234,56 or -1234,56); herstel de waarde of "
                                     "kies de andere schrijfwijze voor decimalen")


def test_a_duplicate_names_its_rows_as_parameters_never_in_the_message_id():
    rows = ["0042;Bakker;F-1;01-03-2024;31-03-2024;10,00;10,00" for _ in range(7)]
    problem = check(*rows).errors[0]
    assert "2" not in problem.msgid and "7" not in problem.msgid
    assert problem.params["count"] == 7 and isinstance(problem.params["count"], Count)
    assert problem.message == ("appears 7 times (rows 2, 3, 4, 5, 6 and 2 more); each invoice may appear once; "
                               "remove or merge the extra rows")
    assert dutch(problem.phrase) == ("komt 7 keer voor (rijen 2, 3, 4, 5, 6 en nog 2); elke factuur mag één keer "
                                     "voorkomen; verwijder of voeg de extra rijen samen")


def test_a_warning_is_worded_in_dutch_and_kept_in_english():
    batch = check("0042;Bakker;1;01-03-2024;31-03-2024;10,00;0,00")
    warning = batch.warnings[0]
    assert (warning.msgid, warning.params) == ("is 0: the invoice is recorded as paid", {})
    assert str(warning) == "row 2, Openstaand: is 0: the invoice is recorded as paid"
    assert dutch(warning.phrase) == "is 0: de factuur wordt als betaald vastgelegd"


def test_a_notice_counts_its_rows_as_a_parameter_grouped_as_the_reader_writes_numbers():
    lines = [f"0042;Bakker;{n};01-03-2024;31-03-2024;10,005;10,00" for n in range(1, 1201)]
    rounded = next(n for n in check(*lines).notices if n.key.startswith("rounded:"))
    assert rounded.msgid.startswith("{column} has more than two decimals in {count} of its amounts")
    assert rounded.params == {"column": "Bedrag", "row": 2, "value": "10,005", "stored": "10.01"}
    assert rounded.message == ("Bedrag has more than two decimals in 1,200 of its amounts: rounded to the cent "
                               "(row 2: 10,005 is stored as 10.01)")
    assert str(rounded).endswith("(rows 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21 "
                                 "and 1,180 more)")
    assert dutch(rounded.phrase) == (
        "Bedrag heeft meer dan twee decimalen in 1.200 van de bedragen: afgerond op de cent (rij 2: 10,005 wordt "
        "opgeslagen als 10.01) (rijen 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21 en "
        "nog 1.180)")


def test_a_missing_column_names_its_fields_in_the_readers_language():
    raw = read_table(b"Factuurnummer;Bedrag\r\n1;10,00\r\n")
    batch = validate(raw, OPEN_ITEMS, {"invoice_number": "Factuurnummer", "amount": "Bedrag"})
    said = [p for p in batch.errors if "{fields}" in p.msgid]
    assert [p.message for p in said] == [
        "no column is chosen for Debtor code or Debtor name; pick the column that holds it",
        "no column is chosen for Due date or Invoice date; pick the column that holds it"]
    assert dutch(said[0].phrase) == ("er is geen kolom gekozen voor Debiteurnummer of Debiteurnaam; kies de kolom "
                                     "waarin dit staat")


def test_the_column_facts_keep_their_english_summary_and_carry_a_phrase():
    batch = check("0042;Bakker;1;01-03-2024;31-03-2024;1.234,56;10,00")
    facts = {f.field: f for f in column_facts(batch)}
    assert facts["amount"].summary == "sum €1,234.56"
    assert facts["amount"].said.msgid == "sum {amounts}"
    assert facts["due_date"].summary == "31-03-2024 – 31-03-2024"
    assert facts["debtor_name"].summary == 'e.g. "Bakker"'
    assert dutch(facts["debtor_name"].said) == 'bijv. "Bakker"'


def test_waiting_for_another_import_is_english_text_with_a_dutch_phrase():
    assert isinstance(import_service.WAITING, Said)
    assert import_service.WAITING == "Another import is running; this one starts when it has finished"
    assert dutch(import_service.WAITING.phrase) == "Er loopt al een andere import; deze start zodra die klaar is"


def test_a_count_is_grouped_by_thousands_in_each_language():
    assert translate("{n} rows", "nl", n=Count(12345)) == "12.345 rijen"
    assert translate("{n} rows", "en", n=Count(12345)) == "12,345 rows"
    assert f"{Count(12345)} rows" == "12,345 rows"
