"""Invoices sent as XML, as rows of text cells like those of a CSV export.

Two kinds are read: UBL 2.1 invoices and credit notes (the Peppol BIS 3 / NLCIUS e-invoice, one
document per invoice) and Twinfield's sales transactions (`<transaction>` as the API and its XML
export give them). Each becomes one open-items row; mapping, validation and the ledger comparison
then treat it like any other export.

XML is parsed without a DTD, entities or network access: a document that declares any of those is
refused before it is parsed, so an entity bomb costs nothing."""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from lxml import etree

from receivables.domain.phrases import Phrase
from receivables.domain.translation import N_
from receivables.importing.errors import FileRejected
from receivables.importing.limits import MAX_ROWS, check_rows

UBL_INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
UBL_CREDIT_NOTE = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
_NS = {"cac": CAC, "cbc": CBC}

UBL_HEADERS = ["Invoice number", "Customer number", "Customer name", "Invoice date", "Due date",
               "Invoice amount", "Open amount", "Currency", "Reference", "File"]
# Twinfield's own element names, so the Twinfield profile recognises them
TWINFIELD_HEADERS = ["invoicenumber", "dim2", "customername", "date", "duedate", "value", "openvalue",
                     "currency", "reference", "file"]

WHAT_WE_READ = Phrase(N_("UBL 2.1 / Peppol BIS 3 invoices or Twinfield sales transactions as XML, or the open "
                         "items (openstaande posten) as CSV or Excel"))
_CREDIT_TYPE_CODES = {"381", "396", "532"}

# documents people upload by mistake, and what to export instead
_OTHER_XML = {
    "auditfile": N_("an XML Auditfile Financieel (XAF)"),
    "Document": N_("an ISO 20022 document (a bank statement or payment file)"),
    "Order": N_("a UBL order"),
    "ApplicationResponse": N_("a UBL application response"),
    "Envelope": N_("a SOAP message"),
    "workbook": N_("an Excel 2003 XML spreadsheet"),
    "Workbook": N_("an Excel 2003 XML spreadsheet"),
    "CrossIndustryInvoice": N_("a UN/CEFACT CII invoice"),
}


@dataclass(frozen=True)
class XmlInvoices:
    """The invoices of one or more XML documents, as text rows of one kind."""

    source: str  # "UBL" or "Twinfield"
    headers: list[str]
    rows: list[list[str]]


def looks_like_xml(data: bytes) -> bool:
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"<") and not head[:64].lower().startswith((b"<html", b"<!doctype html"))


def read_documents(documents: Iterable[tuple[str, bytes]]) -> XmlInvoices:
    """Rows of every invoice in the documents (file name, bytes); all must be of the same kind."""
    source, rows = None, []
    for name, data in documents:
        kind = None
        for kind, row in _stream(name, data):
            if source and kind != source:
                raise FileRejected(N_("'{name}' holds {kind} XML and the other files {source} XML; upload one "
                                      "kind at a time"), name=name, kind=kind, source=source)
            source = kind
            rows.append(row)
            check_rows(len(rows), MAX_ROWS)
    if not rows:
        raise FileRejected(N_("the XML holds no invoices; export the open sales invoices again"))
    headers = UBL_HEADERS if source == "UBL" else TWINFIELD_HEADERS
    return XmlInvoices(source, headers, rows)


# parts of a UBL invoice that are never read and can be large (lines, embedded PDFs, signatures)
_UBL_SKIPPED = {"InvoiceLine", "CreditNoteLine", "AdditionalDocumentReference", "UBLExtensions", "Signature"}


def _stream(name: str, data: bytes):  # noqa: ANN202
    """(kind, row) for each invoice, parsed as a stream: what has been read is dropped, so a large
    export costs memory for one invoice at a time."""
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise FileRejected(N_("'{name}' declares a DTD or entities, which invoice XML never does; it is not read. "
                              "Export {what}."), name=name, what=WHAT_WE_READ)
    events = etree.iterparse(io.BytesIO(data), events=("start", "end"), resolve_entities=False, no_network=True,
                             load_dtd=False, huge_tree=False, remove_comments=True, remove_pis=True)
    root, kind = None, None
    try:
        for event, element in events:
            if root is None:
                root, kind = element, _kind_of(element, name)
                continue
            if event != "end":
                continue
            if kind == "UBL":
                if element.getparent() is root and etree.QName(element).localname in _UBL_SKIPPED:
                    element.clear()
                    root.remove(element)
                if element is root:
                    yield kind, _ubl_row(root, name)
            elif element.tag == "transaction":
                yield kind, _twinfield_row(element, name)
                element.clear()
                if element is not root:
                    element.getparent().remove(element)
    except etree.XMLSyntaxError as exc:
        raise FileRejected(N_("'{name}' is not well-formed XML ({reason}); export it again"), name=name,
                           reason=exc.msg) from None


def _kind_of(root: etree._Element, name: str) -> str:
    tag = etree.QName(root)
    if tag.namespace in (UBL_INVOICE, UBL_CREDIT_NOTE) and tag.localname in ("Invoice", "CreditNote"):
        return "UBL"
    if tag.namespace is None and tag.localname in ("transaction", "transactions"):
        return "Twinfield"
    other = _OTHER_XML.get(tag.localname)
    what = (Phrase(other) if other else
            Phrase(N_("an XML document of type <{tag}>"), {"tag": tag.localname}))
    raise FileRejected(N_("'{name}' is {kind}, not a list of invoices. Export {what}."), name=name, kind=what,
                       what=WHAT_WE_READ)


def _text(node: etree._Element, path: str) -> str:
    found = node.find(path, _NS)
    return (found.text or "").strip() if found is not None else ""


def _first(node: etree._Element, *paths: str) -> str:
    return next((v for v in (_text(node, p) for p in paths) if v), "")


def _amount(text: str, negative: bool, what: Phrase | str, name: str) -> str:
    """The amount as text with a decimal point; two decimals unless it has more (so the point is never
    mistaken for a thousands separator, and rounding stays visible to validation)."""
    if not text:
        return ""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise FileRejected(N_("'{name}': {what} '{text}' is not a number"), name=name, what=what,
                           text=text) from None
    if negative:
        value = -value
    return f"{value:.2f}" if value == value.quantize(Decimal("0.01")) else str(value)


def _ubl_row(doc: etree._Element, name: str) -> list[str]:
    credit = (etree.QName(doc).localname == "CreditNote"
              or _first(doc, "cbc:InvoiceTypeCode", "cbc:CreditNoteTypeCode") in _CREDIT_TYPE_CODES)
    party = doc.find("cac:AccountingCustomerParty/cac:Party", _NS)
    code = customer = ""
    if party is not None:
        code = _first(party, "cac:PartyIdentification/cbc:ID", "cbc:EndpointID", "cac:PartyLegalEntity/cbc:CompanyID",
                      "cac:PartyTaxScheme/cbc:CompanyID")
        customer = _first(party, "cac:PartyName/cbc:Name", "cac:PartyLegalEntity/cbc:RegistrationName")
    totals = "cac:LegalMonetaryTotal/cbc:"
    payable = _text(doc, totals + "PayableAmount")
    prepaid = _text(doc, totals + "PrepaidAmount")
    invoiced = str(Decimal(payable) + Decimal(prepaid)) if payable and prepaid and _numeric(payable, prepaid) else payable
    return [
        _text(doc, "cbc:ID"), code, customer, _text(doc, "cbc:IssueDate"),
        _first(doc, "cbc:DueDate", "cac:PaymentMeans/cbc:PaymentDueDate", "cac:PaymentTerms/cbc:PaymentDueDate"),
        _amount(invoiced, credit, Phrase(N_("the invoice total")), name),
        _amount(payable, credit, Phrase(N_("the amount due")), name),
        _first(doc, "cbc:DocumentCurrencyCode") or (doc.find(totals + "PayableAmount", _NS).get("currencyID", "")
                                                     if payable else ""),
        _text(doc, "cac:PaymentMeans/cbc:PaymentID"), name,
    ]


def _numeric(*texts: str) -> bool:
    try:
        [Decimal(t) for t in texts]
    except InvalidOperation:
        return False
    return True


def _twinfield_row(transaction: etree._Element, name: str) -> list[str]:
    header = transaction.find("header")
    if header is None:
        raise FileRejected(N_("'{name}': a <transaction> without its <header>; export the sales transactions "
                              "again"), name=name)
    # the "total" line is the receivable: the customer (dim2) and what is owed and still open
    total = next((ln for ln in transaction.iterfind("lines/line") if ln.get("type") == "total"), None)
    if total is None:
        raise FileRejected(N_("'{name}': transaction {number} has no total line; export the sales transactions "
                              "with their lines"), name=name,
                           number=_text(header, "invoicenumber") or _text(header, "number"))
    credit = _text(total, "debitcredit") == "credit"
    dim2 = total.find("dim2")
    return [
        _text(header, "invoicenumber") or _text(header, "number"),
        _text(total, "dim2"), dim2.get("name", "") if dim2 is not None else "",
        _compact_date(_text(header, "date")), _compact_date(_text(header, "duedate")),
        _amount(_text(total, "value"), credit, "value", name),
        _amount(_open_value(total), credit, "openvalue", name),
        _text(header, "currency"), _text(header, "paymentreference"), name,
    ]


def _open_value(total: etree._Element) -> str:
    """A settled transaction may leave out its open value."""
    text = _text(total, "openvalue")
    if not text and _text(total, "matchstatus") == "matched":
        return "0"
    return text or _text(total, "value")


def _compact_date(text: str) -> str:
    """Twinfield writes dates as YYYYMMDD."""
    if re.fullmatch(r"\d{8}", text):
        return f"{text[:4]}-{text[4:6]}-{text[6:]}"
    return text
