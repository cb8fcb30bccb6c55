"""Which column holds what: the profiles of the accounting packages, the generic synonyms, and the
header signature a confirmed mapping is remembered under."""

import pytest

from receivables.importing import (
    DEBTORS,
    LEDGER,
    OPEN_ITEMS,
    detect_kind,
    detect_profile,
    header_signature,
    suggest_mapping,
)
from receivables.importing.mapping import currency_from_header, missing_required, normalise

EXPORTS = {
    "exact": "AccountCode,AccountName,InvoiceNumber,InvoiceDate,DueDate,Amount,CurrencyCode,Description,YourRef",
    "eboekhouden": "Relatiecode;Relatie;Factuurnummer;Factuurdatum;Vervaldatum;Bedrag;Openstaand;Soort",
    "yuki": "Factuurnr.;Relatie;Onderwerp;Factuurdatum;Vervaldatum;Bedrag;Uitstaand;Dagen achterstallig",
    "twinfield": "invoicenumber;customer;customername;date;duedate;value;openvalue;currency",
    "moneybird": "invoice_id,customer_id,contact,invoice_date,due_date,total_price_incl_tax,total_unpaid,currency,"
                 "reference,state",
    "snelstart": "Relatiecode;Naam;Factuurnummer;Factuurdatum;Vervaldatum;Factuurbedrag;Openstaand saldo;"
                 "Omschrijving",
}

EXPECTED = {
    "exact": {"debtor_code": "AccountCode", "debtor_name": "AccountName", "invoice_number": "InvoiceNumber",
              "invoice_date": "InvoiceDate", "due_date": "DueDate", "open_amount": "Amount",
              "currency": "CurrencyCode", "description": "Description", "reference": "YourRef"},
    "eboekhouden": {"debtor_code": "Relatiecode", "debtor_name": "Relatie", "invoice_number": "Factuurnummer",
                    "invoice_date": "Factuurdatum", "due_date": "Vervaldatum", "amount": "Bedrag",
                    "open_amount": "Openstaand"},
    "yuki": {"invoice_number": "Factuurnr.", "debtor_name": "Relatie", "description": "Onderwerp",
             "invoice_date": "Factuurdatum", "due_date": "Vervaldatum", "amount": "Bedrag",
             "open_amount": "Uitstaand"},
    "twinfield": {"invoice_number": "invoicenumber", "debtor_code": "customer", "debtor_name": "customername",
                  "invoice_date": "date", "due_date": "duedate", "amount": "value", "open_amount": "openvalue",
                  "currency": "currency"},
    "moneybird": {"invoice_number": "invoice_id", "debtor_code": "customer_id", "debtor_name": "contact",
                  "invoice_date": "invoice_date", "due_date": "due_date", "amount": "total_price_incl_tax",
                  "open_amount": "total_unpaid", "currency": "currency", "reference": "reference"},
    "snelstart": {"debtor_code": "Relatiecode", "debtor_name": "Naam", "invoice_number": "Factuurnummer",
                  "invoice_date": "Factuurdatum", "due_date": "Vervaldatum", "amount": "Factuurbedrag",
                  "open_amount": "Openstaand saldo", "description": "Omschrijving"},
}


def headers(profile: str) -> list[str]:
    line = EXPORTS[profile]
    return line.split(";") if ";" in line else line.split(",")


@pytest.mark.parametrize("profile", sorted(EXPORTS))
def test_each_package_export_is_recognised_and_mapped(profile):
    assert detect_profile(headers(profile)) == profile
    mapping = suggest_mapping(headers(profile), OPEN_ITEMS, profile)
    assert {f: h for f, h in mapping.items() if h} == EXPECTED[profile]
    assert not missing_required(mapping, OPEN_ITEMS)


@pytest.mark.parametrize("header, field", [
    (["Factuurnr.", "Deb.nr.", "Naam", "Vervalt", "Factuur", "Saldo"], {
        "invoice_number": "Factuurnr.", "debtor_code": "Deb.nr.", "debtor_name": "Naam", "due_date": "Vervalt",
        "amount": "Factuur", "open_amount": "Saldo"}),
    (["column 1", "business_code", "cust_number", "name_customer", "clear_date", "buisness_year", "doc_id",
      "posting_date", "due_in_date", "baseline_create_date", "cust_payment_terms", "converted_usd"], {
        "invoice_number": "doc_id", "debtor_code": "cust_number", "debtor_name": "name_customer",
        "invoice_date": "posting_date", "due_date": "due_in_date", "open_amount": "converted_usd"}),
    (["Invoice number", "Customer number", "Customer name", "Invoice date", "Due date", "Open amount"], {
        "invoice_number": "Invoice number", "debtor_code": "Customer number", "debtor_name": "Customer name",
        "invoice_date": "Invoice date", "due_date": "Due date", "open_amount": "Open amount"}),
])
def test_the_generic_profile_knows_dutch_english_and_system_headers(header, field):
    assert detect_profile(header) == "generic"
    mapping = suggest_mapping(header, OPEN_ITEMS)
    assert {f: h for f, h in mapping.items() if h} == field


def test_the_ibm_ledger_maps_to_the_ledger_fields():
    header = ["countryCode", "customerID", "PaperlessDate", "invoiceNumber", "InvoiceDate", "DueDate",
              "InvoiceAmount", "Disputed", "SettledDate", "PaperlessBill", "DaysToSettle", "DaysLate"]
    mapping = suggest_mapping(header, LEDGER)
    assert {f: h for f, h in mapping.items() if h} == {
        "invoice_number": "invoiceNumber", "debtor_code": "customerID", "invoice_date": "InvoiceDate",
        "due_date": "DueDate", "amount": "InvoiceAmount", "settled_date": "SettledDate", "disputed": "Disputed"}
    assert detect_kind(header, settled_has_values=True) == LEDGER
    assert detect_kind(header, settled_has_values=False) == OPEN_ITEMS


@pytest.mark.parametrize("header, kind", [
    (EXPORTS["eboekhouden"].split(";"), OPEN_ITEMS),
    (["Relatiecode", "Naam", "E-mail", "Taal", "Contactpersoon", "Telefoon"], DEBTORS),
    (["Nummer", "Naam", "E-mailadres", "Betalingstermijn"], DEBTORS),
])
def test_the_kind_of_file_is_recognised_from_its_header(header, kind):
    assert detect_kind(header) == kind


def test_a_debtor_list_maps_contact_fields():
    header = ["Relatiecode", "Naam", "E-mail", "Taal", "Contactpersoon", "Telefoon", "Consument",
              "Betalingstermijn", "Segment", "Accountmanager"]
    mapping = suggest_mapping(header, DEBTORS)
    assert mapping == {"debtor_code": "Relatiecode", "debtor_name": "Naam", "email": "E-mail", "language": "Taal",
                       "contact_person": "Contactpersoon", "phone": "Telefoon", "is_consumer": "Consument",
                       "payment_term_days": "Betalingstermijn", "segment": "Segment",
                       "account_manager": "Accountmanager", "street": None, "postcode": None, "city": None,
                       "country": None}
    with_address = suggest_mapping([*header, "Adres", "Postcode", "Woonplaats", "Land"], DEBTORS)
    assert (with_address["street"], with_address["postcode"], with_address["city"], with_address["country"]) == (
        "Adres", "Postcode", "Woonplaats", "Land")


@pytest.mark.parametrize("header, expected", [
    ("Factuurnr.", "factuurnr"), ("Deb.nr.", "debnr"), ("InvoiceNumber", "invoicenumber"),
    ("invoice_number", "invoicenumber"), ("Open amount", "openamount"), ("E-mail", "email"),
    ("Hauswährung", "hauswahrung"), (" Saldo ", "saldo"),
])
def test_headers_are_compared_without_case_accents_or_punctuation(header, expected):
    assert normalise(header) == expected


def test_the_same_header_gives_the_same_signature_and_another_header_another():
    a = header_signature(["Factuurnummer", "Relatiecode", "Openstaand"])
    assert a == header_signature(["factuurnummer", " Relatiecode", "OPENSTAAND"])
    assert a != header_signature(["Factuurnummer", "Relatiecode", "Saldo"])
    assert a != header_signature(["Relatiecode", "Factuurnummer", "Openstaand"])


@pytest.mark.parametrize("header, currency", [
    ("converted_usd", "USD"), ("Bedrag (EUR)", "EUR"), ("Amount GBP", "GBP"), ("Openstaand", None),
    ("Europe", None),
])
def test_an_amount_header_may_name_its_currency(header, currency):
    assert currency_from_header(header) == currency
