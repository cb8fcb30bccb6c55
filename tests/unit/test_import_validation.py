"""Every row checked before anything is written: problems name the file line, the column, the value
and what to do; subtotal and blank rows are recognised and counted."""

from datetime import date

import pytest

from receivables.importing import (
    DEBTORS,
    LEDGER,
    OPEN_ITEMS,
    ImportOptions,
    guess_kind,
    read_table,
    suggest_mapping,
    validate,
)
from receivables.importing.dates import DMY, MDY

EBOEK = "Relatiecode;Relatie;Factuurnummer;Factuurdatum;Vervaldatum;Bedrag;Openstaand;Soort"


def check(text: str, kind: str = OPEN_ITEMS, options: ImportOptions = ImportOptions(), **mapping_changes):
    raw = read_table(text.encode("utf-8"))
    mapping = suggest_mapping(raw.headers, kind)
    mapping.update(mapping_changes)
    return validate(raw, kind, mapping, options)


def eboek(*lines: str) -> str:
    return "\r\n".join([EBOEK, *lines]) + "\r\n"


def test_a_clean_export_gives_typed_rows_and_no_problems():
    batch = check(eboek("0042;Bakker B.V.;000123;01-03-2024;31-03-2024;1.234,56;1.000,00;Factuur",
                        "0043;De Vries;000124;02-03-2024;01-04-2024;-50,00;-50,00;Creditfactuur"))
    assert batch.ok and batch.skipped == {"blank": 0, "subtotal": 0}
    first, second = batch.frame.to_dict("records")
    assert first["invoice_number"] == "000123" and first["debtor_code"] == "0042"
    assert (first["amount_cents"], first["open_cents"]) == (123456, 100000)
    assert first["invoice_date"].date() == date(2024, 3, 1) and first["due_date"].date() == date(2024, 3, 31)
    assert (second["amount_cents"], second["open_cents"]) == (-5000, -5000)
    assert batch.options.decimal == "comma" and batch.options.date_order == DMY
    assert first["line"] == 2 and second["line"] == 3


def test_a_bad_date_is_reported_with_row_column_value_and_expected_form():
    lines = [f"0042;Bakker;{n};01-03-2024;31-03-2024;10,00;10,00;Factuur" for n in range(1, 16)]
    lines.append("0042;Bakker;16;01-03-2024;31-02-2024;10,00;10,00;Factuur")
    batch = check(eboek(*lines))
    assert not batch.ok and batch.error_count == 1
    assert str(batch.errors[0]) == "row 17, Vervaldatum: '31-02-2024' is not a date (expected dd-mm-yyyy)"
    assert batch.error_lines.tolist() == [17]
    assert len(batch.valid_rows()) == 15


@pytest.mark.parametrize("cell, message", [
    ("1.23", "is not an amount (expected like 1.234,56 or -1234,56)"),
    ("tien euro", "is not an amount"),
    ("", "is empty; every invoice needs an amount"),
])
def test_amounts_that_do_not_parse_are_problems(cell, message):
    batch = check(eboek("0042;Bakker;1;01-03-2024;31-03-2024;1.000,00;1.000,00;F",
                        f"0042;Bakker;2;01-03-2024;31-03-2024;10,00;{cell};F"))
    assert [p.line for p in batch.errors] == [3]
    assert message in str(batch.errors[0]) and "Openstaand" in str(batch.errors[0])


def test_duplicate_invoice_numbers_are_problems_on_every_row_that_has_them():
    batch = check(eboek("1;A;F-1;01-03-2024;31-03-2024;10,00;10,00;F",
                        "1;A;F-2;01-03-2024;31-03-2024;10,00;10,00;F",
                        "2;B;F-1;02-03-2024;01-04-2024;20,00;20,00;F"))
    assert batch.error_lines.tolist() == [2, 4]
    assert [str(p) for p in batch.errors] == [
        "row 2, Factuurnummer: 'F-1' appears 2 times (rows 2, 4); each invoice may appear once; remove or merge the "
        "extra rows"]
    assert [r["invoice_number"] for r in batch.valid_rows().to_dict("records")] == ["F-2"]


def test_twenty_thousand_rows_with_one_invoice_number_are_one_problem_naming_the_number_and_its_first_rows():
    rows = [f"{i % 300:04d};Debiteur {i % 300};F-1001;01-05-2026;31-05-2026;100,00;100,00;Factuur"
            for i in range(20_000)]
    batch = check(eboek(*rows, "0001;Debiteur 1;F-1002;01-05-2026;31-05-2026;5,00;5,00;Factuur"))
    assert [str(p) for p in batch.errors] == [
        "row 2, Factuurnummer: 'F-1001' appears 20,000 times (rows 2, 3, 4, 5, 6 and 19,995 more); each invoice "
        "may appear once; remove or merge the extra rows"]
    assert batch.error_count == 1
    assert len(batch.error_lines) == 20_000
    assert batch.valid_rows()["invoice_number"].tolist() == ["F-1002"]


def test_subtotal_total_and_blank_rows_are_skipped_and_counted():
    batch = check(eboek("0042;Bakker;1;01-03-2024;31-03-2024;10,00;10,00;Factuur",
                        "0042;Bakker;2;01-03-2024;31-03-2024;5,00;5,00;Factuur",
                        ";Subtotaal Bakker;;;;15,00;15,00;",
                        ";;;;;;;",
                        "",
                        "0043;De Vries;3;01-03-2024;31-03-2024;7,00;7,00;Factuur",
                        "Totaal;;;;;22,00;22,00;"))
    assert batch.ok
    assert batch.skipped == {"blank": 1, "subtotal": 2}
    assert batch.frame["invoice_number"].tolist() == ["1", "2", "3"]


def test_a_row_with_debtor_and_date_but_no_number_is_a_problem_not_a_subtotal():
    batch = check(eboek("0042;Bakker;;01-03-2024;31-03-2024;10,00;10,00;Factuur"))
    assert str(batch.errors[0]) == "row 2, Factuurnummer: is empty; every invoice needs its number"


@pytest.mark.parametrize("header, missing", [
    ("Relatiecode;Relatie;Factuurdatum;Vervaldatum;Openstaand", "Invoice number"),
    ("Factuurnummer;Factuurdatum;Vervaldatum;Openstaand", "Debtor code or Debtor name"),
    ("Factuurnummer;Relatiecode;Vervaldatum", "Open amount or Invoice amount"),
    ("Factuurnummer;Relatiecode;Openstaand", "Due date or Invoice date"),
])
def test_missing_required_columns_are_one_problem_each_before_any_row(header, missing):
    batch = check(header + "\n" + ";".join("1" for _ in header.split(";")) + "\n")
    assert batch.file_errors and not len(batch.frame)
    assert str(batch.file_errors[0]) == f"no column is chosen for {missing}; pick the column that holds it"


def test_a_mapping_to_a_column_that_is_not_there_is_a_problem():
    batch = check(eboek("1;A;1;01-03-2024;31-03-2024;1,00;1,00;F"), open_amount="Saldo")
    assert "the column 'Saldo' chosen for Open amount is not in the file" in str(batch.file_errors[0])


def test_oddities_of_real_exports_are_warnings_not_problems():
    batch = check(eboek("1;A;1;01-03-2024;15-02-2024;10,00;10,00;F",
                        "1;A;2;01-03-2024;31-03-2024;10,00;0,00;F"))
    assert batch.ok and batch.warning_count == 2
    assert [str(w) for w in batch.warnings] == [
        "row 2, Vervaldatum: '15-02-2024' is before the invoice date; imported as it is",
        "row 3, Openstaand: is 0: the invoice is recorded as paid",
    ]


def test_dates_that_could_be_day_or_month_first_are_asked_not_guessed():
    text = eboek("1;A;1;01-03-2024;02-04-2024;10,00;10,00;F", "1;A;2;05-03-2024;06-04-2024;10,00;10,00;F")
    batch = check(text)
    assert batch.detected.date_order_ambiguous
    assert [str(p) for p in batch.file_errors] == [
        "Factuurdatum: the dates can be read day-first or month-first (no day above 12 anywhere); "
        "choose the date order"]
    chosen = check(text, options=ImportOptions(date_order=MDY))
    assert chosen.ok and chosen.frame["invoice_date"].iloc[0].date() == date(2024, 1, 3)


def test_a_file_with_days_above_twelve_in_second_place_is_read_month_first():
    header = "invoiceNumber,customerID,InvoiceDate,DueDate,InvoiceAmount,SettledDate"
    batch = check(f"{header}\n0000611365,0379-NEVHP,1/2/2013,2/1/2013,55.94,1/15/2013\n", kind=LEDGER)
    assert batch.ok and batch.options.date_order == MDY
    row = batch.frame.iloc[0]
    assert row["invoice_number"] == "0000611365"
    assert (row["invoice_date"].date(), row["settled_date"].date()) == (date(2013, 1, 2), date(2013, 1, 15))


def test_a_yuki_export_without_debtor_codes_uses_the_name_as_code():
    text = ("Factuurnr.;Relatie;Onderwerp;Factuurdatum;Vervaldatum;Bedrag;Uitstaand;Dagen achterstallig\n"
            "2024-001;Bakker B.V.;Advies;01-03-2024;31-03-2024;121,00;121,00;12\n")
    batch = check(text)
    assert batch.ok
    assert batch.frame.iloc[0][["debtor_code", "debtor_name"]].tolist() == ["Bakker B.V.", "Bakker B.V."]


def test_a_currency_column_must_hold_codes():
    text = "Factuurnummer;Relatiecode;Vervaldatum;Openstaand;Valuta\n1;A;31-03-2024;1,00;EUR\n2;A;31-03-2024;1,00;euro\n"
    batch = check(text)
    assert str(batch.errors[0]) == "row 3, Valuta: 'EURO' is not a currency code; use three letters such as EUR"


def test_the_kind_is_guessed_from_whether_paid_dates_are_filled():
    ledger = read_table(b"Factuurnummer;Relatiecode;Factuurdatum;Bedrag;Betaaldatum\n1;A;01-03-2024;1,00;05-03-2024\n")
    unpaid = read_table(b"Factuurnummer;Relatiecode;Factuurdatum;Bedrag;Betaaldatum\n1;A;01-03-2024;1,00;\n")
    assert (guess_kind(ledger), guess_kind(unpaid)) == (LEDGER, OPEN_ITEMS)


def test_debtor_master_data_is_checked_field_by_field():
    text = ("Relatiecode;Naam;E-mail;Taal;Consument;Betalingstermijn\n"
            "0042;Bakker B.V.;debiteuren@bakker.nl; Nederlands;nee;30 dagen\n"
            "0043;Smith Ltd;ap@smith.co.uk, finance@smith.co.uk;English;no;14\n"
            "0044;Jansen;jansen at home;Klingon;misschien;veel\n")
    batch = check(text, kind=DEBTORS)
    good = batch.valid_rows().to_dict("records")
    assert [(r["debtor_code"], r["email"], r["language"], r["is_consumer"], r["payment_term_days"]) for r in good] == [
        ("0042", "debiteuren@bakker.nl", "nl", False, 30),
        ("0043", "ap@smith.co.uk, finance@smith.co.uk", "en", False, 14)]
    assert [str(p) for p in batch.errors] == [
        "row 4, E-mail: 'jansen at home' is not an e-mail address; write name@example.nl, several separated by commas",
        "row 4, Taal: 'Klingon' is not a language we send reminders in; use nl or en",
        "row 4, Consument: 'misschien' is not yes or no",
        "row 4, Betalingstermijn: 'veel' is not a number of days (0 to 365)"]


def test_the_sap_open_items_list_skips_its_subtotal_rows(shared_data):
    raw = read_table((shared_data / "nl_exports" / "bdo_demo_sap_openstaande_posten_crediteuren_300423_FBL1N.csv")
                     .read_bytes())
    batch = validate(raw, OPEN_ITEMS, suggest_mapping(raw.headers, OPEN_ITEMS))
    assert batch.ok
    assert batch.skipped["subtotal"] + batch.skipped["blank"] == 33
    assert len(batch.frame) == 655
    assert batch.frame["invoice_date"].iloc[0].date() == date(2023, 4, 30)  # an Excel serial number


@pytest.mark.parametrize("piece", [1, 2, 3, 100])
def test_parsing_in_pieces_finds_what_parsing_the_whole_file_finds(piece):
    from receivables.importing.validation import prepare

    text = eboek("0042;Bakker B.V.;000123;01-03-2024;31-03-2024;1.234,56;1.000,00;Factuur",
                 ";;;;;;;",
                 "0043;De Vries;000124;31-02-2024;01-04-2024;-50,00;-50,00;Creditfactuur",
                 "Totaal;;;;;1.184,56;950,00;",
                 "0044;Jansen;000125;05-03-2024;01-03-2024;abc;0,00;Factuur",
                 "0045;Smit;000123;06-03-2024;05-04-2024;10,00;10,00;Factuur",
                 "0046;;000126;07-03-2024;06-04-2024;20,00;20,00;Factuur")
    raw = read_table(text.encode("utf-8"))
    mapping = suggest_mapping(raw.headers, OPEN_ITEMS)
    whole = validate(raw, OPEN_ITEMS, mapping)
    prepared = prepare(raw, OPEN_ITEMS, mapping)
    pieces = [prepared.parse(i, min(i + piece, prepared.row_count)) for i in range(0, prepared.row_count, piece)]
    parts = prepared.finish(pieces)
    assert [str(p) for p in parts.errors] == [str(p) for p in whole.errors]
    assert [str(p) for p in parts.warnings] == [str(p) for p in whole.warnings]
    assert (parts.error_count, parts.warning_count, parts.skipped) == (whole.error_count, whole.warning_count,
                                                                      whole.skipped)
    assert parts.frame.to_dict("records") == whole.frame.to_dict("records")
    assert list(parts.error_lines) == list(whole.error_lines) == [2, 4, 6, 7]
    assert any("appears 2 times (rows" in str(p) and "7" in str(p) for p in parts.errors)
    valid = [prepared.valid_rows(p) for p in pieces]
    assert sum(len(v) for v in valid) == len(whole.valid_rows()) == 1


def test_a_duplicate_in_an_export_sorted_by_number_is_still_found():
    batch = check(eboek("0042;Bakker B.V.;000123;01-03-2024;31-03-2024;10,00;10,00;Factuur",
                        "0042;Bakker B.V.;000124;01-03-2024;31-03-2024;10,00;10,00;Factuur",
                        "0043;De Vries;000124;02-03-2024;01-04-2024;20,00;20,00;Factuur",
                        "0043;De Vries;000125;02-03-2024;01-04-2024;20,00;20,00;Factuur"))
    assert [str(p) for p in batch.errors] == [
        "row 3, Factuurnummer: '000124' appears 2 times (rows 3, 4); each invoice may appear once; "
        "remove or merge the extra rows"]
    assert check(eboek("0042;Bakker B.V.;000123;01-03-2024;31-03-2024;10,00;10,00;Factuur",
                       "0042;Bakker B.V.;000124;01-03-2024;31-03-2024;10,00;10,00;Factuur")).ok


def test_numbers_written_as_floats_lose_the_dot_zero_and_the_check_says_so():
    batch = check("Klantnummer,Factuurnummer,Factuurdatum,Vervaldatum,Bedrag\n"
                  "42.0,1200401780.0,2023-04-30,2023-05-30,10.00\n"
                  "43.0,1200401781.0,2023-04-30,2023-05-30,20.00\n", kind=OPEN_ITEMS)
    assert batch.ok
    assert batch.frame["invoice_number"].tolist() == ["1200401780", "1200401781"]
    assert batch.frame["debtor_code"].tolist() == ["42", "43"]
    said = sorted(n.message for n in batch.notices)
    assert len(said) == 2 and all("ends in .0 in every row" in m for m in said)
    assert [n.lines for n in batch.notices] == [(2, 3), (2, 3)]


@pytest.mark.parametrize("numbers", [["12.0", "13"], ["12.5", "13.0"], ["A12.0", "13.0"], ["0012", "0013"]],
                         ids=["not-every-row", "a-real-decimal", "not-digits", "leading-zeros"])
def test_a_column_that_is_not_a_float_artefact_is_kept_exactly(numbers):
    batch = check("Klantnummer,Factuurnummer,Factuurdatum,Bedrag\n"
                  + "".join(f"42,{n},2023-04-30,10.00\n" for n in numbers), kind=OPEN_ITEMS)
    assert batch.frame["invoice_number"].tolist() == numbers
    assert not batch.notices


def test_a_debtor_code_column_of_document_numbers_is_not_picked_and_is_doubted_when_chosen():
    from receivables.importing.validation import debtor_code_doubts, review_mapping

    text = ("Zuordnung,Belegnummer,Belegdatum,Betrag\n"
            + "".join(f"{6090466822 + i},{1200401780 + i},2023-04-30,10.00\n" for i in range(5)))
    raw = read_table(text.encode())
    suggested = suggest_mapping(raw.headers, OPEN_ITEMS)
    assert suggested["debtor_code"] == "Zuordnung"  # SAP's assignment field: sometimes the customer, here not
    mapping, notes = review_mapping(raw, OPEN_ITEMS, suggested)
    assert mapping["debtor_code"] is None
    assert notes == ["Zuordnung was not taken as the debtor code: every one of its 5 values is different, "
                     "and they look like document numbers (6090466822). Choose the column that holds the "
                     "debtor's code or name."]
    doubts = debtor_code_doubts(raw, {"debtor_code": "Zuordnung", "invoice_number": "Belegnummer"})
    assert len(doubts) == 1 and doubts[0].count == 5 and "document numbers" in doubts[0].message


@pytest.mark.parametrize("codes, names, doubted", [
    (["0042", "0043", "0044", "0045", "0046"], None, False),  # five small debtors, each their own code
    (["100", "100", "101", "102", "103"], None, False),
    ([str(6090466822 + i) for i in range(5)], None, True),
    ([f"{96911384 + i:010d}" for i in range(5)], None, True),  # zero-padded, as SAP writes them
    ([f"K{i}" for i in range(60)], None, True),  # sixty invoices, not one debtor twice
    ([f"K{i % 59}" for i in range(60)], None, False),
    ([f"C{i}" for i in range(12)], ["Bakker"] * 6 + ["Smit"] * 6, True),  # far more codes than names
    ([f"C{i % 6}" for i in range(12)], ["Bakker"] * 6 + ["Smit"] * 6, False),
], ids=["small-codes", "repeating", "document-numbers", "zero-padded-document-numbers", "all-different",
        "one-repeats", "more-codes-than-names", "codes-per-debtor"])
def test_a_debtor_code_column_is_doubted_only_when_it_looks_wrong(codes, names, doubted):
    from receivables.importing.validation import debtor_code_doubts

    header = "Code,Factuurnummer,Bedrag" + (",Naam" if names else "")
    rows = [f"{c},F{i},10.00" + (f",{names[i]}" if names else "") for i, c in enumerate(codes)]
    raw = read_table(("\n".join([header, *rows]) + "\n").encode())
    mapping = {"debtor_code": "Code", "invoice_number": "Factuurnummer", "debtor_name": "Naam" if names else None}
    assert bool(debtor_code_doubts(raw, mapping)) is doubted


def test_an_excel_export_shows_its_numbers_as_text_with_the_leading_zeros_it_displays():
    import io

    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Relatiecode", "Factuurnummer", "Factuurdatum", "Openstaand"])
    ws.append([42, 1200401780.0, "2023-04-30", 10.5])
    ws.append([43, 611365, "2023-04-30", 20])
    ws["A2"].number_format = ws["A3"].number_format = "0000"
    ws["B3"].number_format = "0000000000"
    buf = io.BytesIO()
    wb.save(buf)
    batch = check_bytes(buf.getvalue())
    assert batch.frame["invoice_number"].tolist() == ["1200401780", "0000611365"]
    assert batch.frame["debtor_code"].tolist() == ["0042", "0043"]
    assert batch.frame["open_cents"].tolist() == [1050, 2000]


def check_bytes(data: bytes, kind: str = OPEN_ITEMS):
    raw = read_table(data)
    return validate(raw, kind, suggest_mapping(raw.headers, kind))


def test_an_address_the_sender_refuses_is_refused_by_the_import_too():
    text = "Relatiecode;Naam;E-mail\n0042;Bakker B.V.;a@b.c\n0043;Smith Ltd;ap@smith.co.uk\n"
    batch = check(text, kind=DEBTORS)
    assert [str(p) for p in batch.errors] == [
        "row 2, E-mail: 'a@b.c' is not an e-mail address; write name@example.nl, several separated by commas"]


def test_a_language_we_have_no_texts_in_is_imported_as_the_fallback_with_a_warning():
    text = "Relatiecode;Naam;Taal\n0042;Müller GmbH;Deutsch\n0043;Bakker B.V.;nl\n"
    batch = check(text, kind=DEBTORS)
    assert batch.ok
    assert [r["language"] for r in batch.valid_rows().to_dict("records")] == ["en", "nl"]
    assert [str(p) for p in batch.warnings] == [
        "row 2, Taal: 'Deutsch' is a language we have no reminder texts in; this debtor is written to in English"]
