"""XML invoices read as rows of text like a CSV export: every public UBL 2.1 / Peppol BIS 3 sample and
Twinfield's sales transaction, one file, several or a zip; credit notes negative; any other XML
refused with what to export instead; entities never expanded."""

import io
import zipfile

import pytest

from receivables.importing import (
    FileRejected,
    bundle,
    detect_kind,
    detect_profile,
    read_table,
    suggest_mapping,
)

UBL_FIELDS = ["invoice_number", "debtor_code", "debtor_name", "invoice_date", "due_date", "amount", "open_amount",
              "currency", "reference"]


def stored(table) -> list[dict]:
    """Each row by field, as the automatic mapping reads it."""
    mapping = suggest_mapping(table.headers, detect_kind(table.headers), detect_profile(table.headers))
    return [{f: row[mapping[f]] for f in UBL_FIELDS} for row in table.table.to_pylist()]


# what SOURCES.md says each public sample holds
UBL_SAMPLES = [
    ("cen-tc434_ubl-tc434-example1.xml",
     ["12115118", "10202", "ODIN 59", "2015-01-09", "2015-01-09", "250.33", "250.33", "EUR",
      "Deb. 10202 / Fact. 12115118"]),
    ("cen-tc434_ubl-tc434-example8.xml",
     ["1100512149", "1081119", "Klant", "2014-11-10", "2014-11-24", "1099.78", "1099.78", "EUR", "1100512149"]),
    # no buyer id in this one: the name stands in for the code (as for a CSV without a code column)
    ("cen-tc434_ubl-tc434-example9.xml",
     ["20150483", "", "Provide Verzekeringen", "2015-04-01", "2015-04-14", "177.87", "177.87", "EUR",
      "2015 0483 0000 0000"]),
    ("peppol-bis3_base-example.xml",
     ["Snippet1", "FR23342", "BuyerTradingName AS", "2017-11-13", "2017-12-01", "1656.25", "1656.25", "EUR",
      "Snippet1"]),
]


@pytest.mark.parametrize("file_name, expected", UBL_SAMPLES)
def test_every_public_ubl_invoice_reads_as_one_open_item(shared_data, file_name, expected):
    table = read_table((shared_data / "ubl" / file_name).read_bytes(), file_name)
    assert table.source == "UBL" and table.describe() == "UBL XML, 1 invoice(s)"
    assert table.notes == ["e-invoices show what was invoiced, not what has been paid since: import them as a "
                           "partial list unless they are all of your open invoices"]
    assert detect_kind(table.headers) == "open-items"
    assert stored(table) == [dict(zip(UBL_FIELDS, expected))]
    assert table.table.column("File").to_pylist() == [file_name]


def test_the_twinfield_sales_transaction_reads_with_its_customer_and_open_value(shared_data):
    name = "twinfield_salesTransactionGetResponse.xml"
    table = read_table((shared_data / "nl_exports" / name).read_bytes(), name)
    assert table.source == "Twinfield" and detect_profile(table.headers) == "twinfield"
    assert stored(table) == [dict(zip(UBL_FIELDS, ["20130-6000", "1000", "Customer 0", "2013-05-02", "2013-05-06",
                                                   "121.00", "121.00", "EUR", "+++100/0160/01495+++"]))]


def test_several_ubl_files_and_a_zip_of_them_read_as_one_upload(shared_data):
    files = [(p.name, p.read_bytes()) for p in sorted((shared_data / "ubl").glob("*.xml"))]
    name, data = bundle(list(reversed(files)))
    assert name == "cen-tc434_ubl-tc434-example1.xml and 3 more"
    assert bundle(files) == (name, data), "the same files make the same upload, whatever their order"
    table = read_table(data, name)
    assert [r["invoice_number"] for r in stored(table)] == ["12115118", "1100512149", "20150483", "Snippet1"]
    assert table.lines.tolist() == [1, 2, 3, 4]

    own_zip = io.BytesIO()
    with zipfile.ZipFile(own_zip, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("invoices/", b"")
        for file_name, content in files:
            z.writestr(f"invoices/{file_name}", content)
    assert stored(read_table(own_zip.getvalue(), "invoices.zip")) == stored(table)


def ubl(root: str = "Invoice", type_code: str = "380", extra: str = "") -> bytes:
    ns = f"urn:oasis:names:specification:ubl:schema:xsd:{root}-2"
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<{root} xmlns="{ns}" xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
  xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
  <cbc:ID>CN-7</cbc:ID><cbc:IssueDate>2026-05-01</cbc:IssueDate><cbc:{root}TypeCode>{type_code}</cbc:{root}TypeCode>
  <cbc:DocumentCurrencyCode>USD</cbc:DocumentCurrencyCode>
  <cac:AccountingCustomerParty><cac:Party><cbc:EndpointID schemeID="0106">0042</cbc:EndpointID>
    <cac:PartyName><cbc:Name>Bakker B.V.</cbc:Name></cac:PartyName></cac:Party></cac:AccountingCustomerParty>
  <cac:PaymentMeans><cbc:PaymentMeansCode>30</cbc:PaymentMeansCode><cbc:PaymentDueDate>2026-05-31</cbc:PaymentDueDate>
  </cac:PaymentMeans>
  <cac:LegalMonetaryTotal><cbc:PrepaidAmount currencyID="USD">20.00</cbc:PrepaidAmount>
    <cbc:PayableAmount currencyID="USD">100.005</cbc:PayableAmount></cac:LegalMonetaryTotal>{extra}
</{root}>""".encode()


@pytest.mark.parametrize("data, amount, open_amount", [
    (ubl("Invoice"), "120.005", "100.005"),
    (ubl("CreditNote", "381"), "-120.005", "-100.005"),
    (ubl("Invoice", "381"), "-120.005", "-100.005"),
])
def test_a_credit_note_is_negative_and_a_prepaid_part_is_not_open(data, amount, open_amount):
    row = stored(read_table(data, "cn.xml"))[0]
    assert row == {"invoice_number": "CN-7", "debtor_code": "0042", "debtor_name": "Bakker B.V.",
                   "invoice_date": "2026-05-01", "due_date": "2026-05-31", "amount": amount,
                   "open_amount": open_amount, "currency": "USD", "reference": ""}


def test_a_twinfield_credit_and_a_settled_transaction_read_with_their_sign_and_open_value():
    def transaction(number: str, debitcredit: str, open_part: str) -> str:
        return (f"<transaction><header><currency>EUR</currency><date>20260501</date><invoicenumber>{number}"
                f"</invoicenumber><duedate>20260531</duedate></header><lines><line type=\"total\" id=\"1\">"
                f"<dim2 name=\"Bakker\">0042</dim2><value>50.00</value><debitcredit>{debitcredit}</debitcredit>"
                f"{open_part}</line></lines></transaction>")
    data = ("<transactions>" + transaction("1", "credit", "<openvalue>50.00</openvalue>")
            + transaction("2", "debit", "<matchstatus>matched</matchstatus>") + "</transactions>").encode()
    rows = stored(read_table(data, "twinfield.xml"))
    assert [(r["invoice_number"], r["debtor_code"], r["amount"], r["open_amount"]) for r in rows] == [
        ("1", "0042", "-50.00", "-50.00"), ("2", "0042", "50.00", "0.00")]


@pytest.mark.parametrize("data, says", [
    (b'<?xml version="1.0"?><auditfile xmlns="http://www.auditfiles.nl/XAF/3.2"/>', "XML Auditfile Financieel"),
    (b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"/>', "bank statement"),
    (b"<catalog><book/></catalog>", "type <catalog>"),
])
def test_other_xml_is_refused_with_what_to_export_instead(data, says):
    with pytest.raises(FileRejected, match=says) as refused:
        read_table(data, "export.xml")
    assert str(refused.value).endswith("Export UBL 2.1 / Peppol BIS 3 invoices or Twinfield sales transactions as XML, "
                                       "or the open items (openstaande posten) as CSV or Excel.")


@pytest.mark.parametrize("data, says", [
    (b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"><cbc:ID>1</Invoice>',
     "is not well-formed XML .*; export it again"),
    (b'<?xml version="1.0"?>\n<!DOCTYPE Invoice SYSTEM "http://example.com/x.dtd"><Invoice/>', "declares a DTD"),
])
def test_broken_xml_and_xml_with_a_dtd_are_refused(data, says):
    with pytest.raises(FileRejected, match=says):
        read_table(data, "export.xml")


def test_a_zip_must_hold_only_xml_invoices_of_one_kind(shared_data):
    twinfield = (shared_data / "nl_exports" / "twinfield_salesTransactionGetResponse.xml").read_bytes()
    peppol = (shared_data / "ubl" / "peppol-bis3_base-example.xml").read_bytes()
    with pytest.raises(FileRejected, match="upload one kind at a time"):
        read_table(bundle([("a.xml", peppol), ("b.xml", twinfield)])[1])
    with pytest.raises(FileRejected, match="does not hold only XML invoices"):
        read_table(bundle([("a.xml", peppol), ("notes.txt", b"hello")])[1])


def test_an_entity_bomb_is_refused_before_it_is_parsed():
    laughs = (b'<?xml version="1.0"?><!DOCTYPE Invoice [<!ENTITY a "aaaaaaaaaa">'
              + b"".join(b'<!ENTITY a%d "%s">' % (i, b"&a%s;" % (str(i - 1).encode() if i > 1 else b"") * 10)
                         for i in range(1, 12))
              + b']><Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2">&a11;</Invoice>')
    with pytest.raises(FileRejected, match="declares a DTD or entities"):
        read_table(laughs, "laughs.xml")
