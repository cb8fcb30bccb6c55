"""Which column holds what: the fields each kind of import needs, the headers accounting packages
use for them (Dutch and English), built-in profiles per package, and the header signature under
which a confirmed mapping is remembered."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass

from receivables.domain.translation import N_

OPEN_ITEMS, LEDGER, DEBTORS = "open-items", "ledger", "debtors"
KINDS = (OPEN_ITEMS, LEDGER, DEBTORS)
KIND_LABELS = {OPEN_ITEMS: N_("Open items (unpaid invoices on a date)"),
               LEDGER: N_("Invoice ledger (invoices with their paid date)"),
               DEBTORS: N_("Debtors (master data)")}


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    help: str = ""


FIELDS: dict[str, Field] = {f.name: f for f in [
    Field("invoice_number", N_("Invoice number"), N_("kept as text: leading zeros stay")),
    Field("debtor_code", N_("Debtor code"), N_("kept as text; new codes create a debtor")),
    Field("debtor_name", N_("Debtor name"), N_("names new debtors (the code is used when there is none)")),
    Field("invoice_date", N_("Invoice date")),
    Field("due_date", N_("Due date"), N_("when missing: invoice date + the debtor's payment term")),
    Field("amount", N_("Invoice amount"), N_("the original amount; credit notes negative")),
    Field("open_amount", N_("Open amount"), N_("what is still unpaid on the snapshot date")),
    Field("settled_date", N_("Paid / settled date"), N_("empty while unpaid")),
    Field("paid_amount", N_("Paid amount"), N_("when missing: the whole invoice was paid")),
    Field("currency", N_("Currency"), N_("ISO code such as EUR; when missing the default below is used")),
    Field("description", N_("Description")),
    Field("reference", N_("Reference")),
    Field("disputed", N_("Disputed"), N_("yes/no; marks an open invoice as disputed")),
    Field("email", N_("E-mail for reminders"), N_("several addresses separated by , or ;")),
    Field("contact_person", N_("Contact person")),
    Field("phone", N_("Phone")),
    Field("street", N_("Address (street and number)"), N_("for letters; with postcode, city and country below")),
    Field("postcode", N_("Postcode")),
    Field("city", N_("City")),
    Field("country", N_("Country"), N_("leave empty for the home country")),
    Field("language", N_("Language"), N_("nl, en, de or fr (Nederlands, English … are understood)")),
    Field("is_consumer", N_("Consumer"), N_("yes/no: consumers get the 14-day letter before costs")),
    Field("payment_term_days", N_("Payment term (days)")),
    Field("segment", N_("Segment")),
    Field("account_manager", N_("Account manager")),
]}

KIND_FIELDS: dict[str, tuple[str, ...]] = {
    OPEN_ITEMS: ("invoice_number", "debtor_code", "debtor_name", "invoice_date", "due_date", "amount",
                 "open_amount", "currency", "description", "reference"),
    LEDGER: ("invoice_number", "debtor_code", "debtor_name", "invoice_date", "due_date", "amount",
             "settled_date", "paid_amount", "currency", "disputed", "description", "reference"),
    DEBTORS: ("debtor_code", "debtor_name", "email", "contact_person", "phone", "street", "postcode", "city",
              "country", "language", "is_consumer", "payment_term_days", "segment", "account_manager"),
}

# each entry: at least one of the fields must be mapped
REQUIRED: dict[str, tuple[tuple[str, ...], ...]] = {
    OPEN_ITEMS: (("invoice_number",), ("debtor_code", "debtor_name"), ("open_amount", "amount"),
                 ("due_date", "invoice_date")),
    LEDGER: (("invoice_number",), ("debtor_code", "debtor_name"), ("amount",), ("invoice_date",)),
    DEBTORS: (("debtor_code",),),
}

AMOUNT_FIELDS = ("amount", "open_amount", "paid_amount")
DATE_FIELDS = ("invoice_date", "due_date", "settled_date")

# Headers seen in exports, by field. Matching ignores case, accents, spaces and punctuation.
SYNONYMS: dict[str, list[str]] = {
    "invoice_number": ["Factuurnummer", "Factuurnr.", "Factuur nr", "Factuurnr", "Fact.nr.", "Invoice number",
                       "InvoiceNumber", "Invoice no", "Invoice", "invoice_id", "invoicenumber", "Boekstuknummer",
                       "Documentnummer", "doc_id", "Document number", "Belegnummer", "Nummer", "Number"],
    "debtor_code": ["Relatiecode", "Debiteurnummer", "Debiteurnr.", "Deb.nr.", "Debiteur code", "Klantnummer",
                    "Klantnr.", "Relatienummer", "AccountCode", "Account code", "Customer number", "Customer ID",
                    "customerID", "cust_number", "CustomerCode", "Code", "dim2", "customer", "Relatie code",
                    "contact_id", "Zuordnung"],
    "debtor_name": ["Relatie", "Naam", "Relatienaam", "Debiteur", "Debiteurnaam", "Klant", "Klantnaam",
                    "Bedrijfsnaam", "AccountName", "Account name", "Customer", "Customer name", "name_customer",
                    "Contact", "Company", "Company name", "Name", "customername"],
    "invoice_date": ["Factuurdatum", "Datum", "Boekdatum", "InvoiceDate", "Invoice date", "Date",
                     "posting_date", "Documentdatum", "Belegdatum", "Document date", "Factuurdatum "],
    "due_date": ["Vervaldatum", "Vervalt", "Vervaldag", "Uiterste betaaldatum", "DueDate", "Due date",
                 "due_in_date", "Due", "Nettofälligkeit", "Payment due"],
    "amount": ["Bedrag", "Factuurbedrag", "Factuur", "Totaal", "Totaalbedrag", "Bedrag incl. btw",
               "Totaalbedrag incl. btw", "Amount", "InvoiceAmount", "Invoice amount", "value",
               "total_price_incl_tax", "Total", "AmountDC", "Betrag in Hauswährung", "Bedrag factuur"],
    "open_amount": ["Openstaand", "Openstaand bedrag", "Openstaand saldo", "Saldo", "Uitstaand", "Restant",
                    "Nog te betalen", "Open amount", "Open", "OpenAmount", "Outstanding", "Amount due",
                    "Balance", "openvalue", "total_unpaid", "converted_usd", "total_open_amount", "Te betalen",
                    "Open bedrag", "Te ontvangen"],
    "settled_date": ["Betaaldatum", "Datum betaald", "Afgeletterd op", "Voldaan op", "SettledDate", "Settled date",
                     "Paid date", "PaidDate", "Payment date", "clear_date", "Date paid", "paid_at"],
    "paid_amount": ["Betaald", "Betaald bedrag", "Paid amount", "PaidAmount", "Amount paid"],
    "currency": ["Valuta", "Valutacode", "Munteenheid", "Currency", "CurrencyCode", "Currency code",
                 "invoice_currency", "Hauswährung"],
    "description": ["Omschrijving", "Omschrijving factuur", "Onderwerp", "Description", "Subject", "Text",
                    "Tekst"],
    "reference": ["Referentie", "Factuurreferentie", "Kenmerk", "Uw referentie", "YourRef", "Your reference",
                  "Reference", "PO number", "Ordernummer"],
    "disputed": ["Dispuut", "Betwist", "Geschil", "Disputed", "In dispute"],
    "email": ["E-mail", "Email", "E-mailadres", "Emailadres", "E-mail adres", "Mail", "E-mail herinneringen",
              "E-mail facturen", "Email address", "Reminder e-mail", "InvoiceEmail", "email_address"],
    "contact_person": ["Contactpersoon", "Contact persoon", "T.a.v.", "Contact person", "ContactName",
                       "Contact name", "Attention"],
    "phone": ["Telefoon", "Telefoonnummer", "Tel.", "Tel", "Mobiel", "Phone", "Phone number", "Telephone"],
    "street": ["Adres", "Straat", "Straat en huisnummer", "Postadres", "Factuuradres", "Address", "Street",
               "AddressLine1", "Address line 1", "Billing address"],
    "postcode": ["Postcode", "Post code", "Zip", "Zipcode", "Zip code", "Postal code", "PostalCode"],
    "city": ["Plaats", "Woonplaats", "Vestigingsplaats", "Stad", "City", "Town"],
    "country": ["Land", "Landnaam", "Country", "Country name"],
    "language": ["Taal", "Taalcode", "Language", "LanguageCode", "Language code"],
    "is_consumer": ["Consument", "Particulier", "Consumer", "Is consumer", "Private person", "B2C"],
    "payment_term_days": ["Betalingstermijn", "Betaaltermijn", "Betaaltermijn (dagen)", "Krediettermijn",
                          "Payment term", "PaymentTerm", "Payment terms", "PaymentCondition", "Termijn"],
    "segment": ["Segment", "Branche", "Sector", "Categorie", "Klantgroep", "Industry", "Category"],
    "account_manager": ["Accountmanager", "Account manager", "Verkoper", "Vertegenwoordiger", "Sales rep",
                        "Salesperson", "Owner"],
}


# a column of days past due (negative: not yet due) tells on which day the list was made
DAYS_OVERDUE = ["Vervaldagen", "Dagen achterstallig", "Dagen vervallen", "Dagen over vervaldatum", "Dagen over",
                "Days overdue", "Days past due", "Overdue days", "Past due days"]


@dataclass(frozen=True)
class Profile:
    name: str
    label: str
    headers: dict[str, list[str]]  # field -> headers this package uses (first match wins)
    marks: tuple[tuple[str, ...], ...] = ()  # header sets only this package writes


PROFILES: dict[str, Profile] = {p.name: p for p in [
    Profile("exact", "Exact Online", {
        "debtor_code": ["AccountCode", "Code", "Relatiecode", "Debiteurnummer"],
        "debtor_name": ["AccountName", "Naam", "Relatie", "Debiteur"],
        "invoice_number": ["InvoiceNumber", "Factuurnummer", "Factuur"],
        "invoice_date": ["InvoiceDate", "Factuurdatum", "Datum"],
        "due_date": ["DueDate", "Vervaldatum"],
        # Exact's receivables list calls the open amount "Amount"; the original is AmountDC / Bedrag
        "open_amount": ["Amount", "Openstaand", "Saldo"],
        "amount": ["AmountDC", "Bedrag", "Factuurbedrag"],
        "currency": ["CurrencyCode", "Valuta"],
        "description": ["Description", "Omschrijving"],
        "reference": ["YourRef", "Uw referentie"],
        "email": ["Email", "E-mail"], "contact_person": ["ContactName", "Contactpersoon"],
        "phone": ["Phone", "Telefoon"], "language": ["Language", "Taal"],
        "payment_term_days": ["PaymentCondition", "Betalingsconditie"],
        "account_manager": ["AccountManager", "Accountmanager"],
    }, marks=(("AccountCode", "InvoiceNumber"), ("AccountName", "InvoiceNumber"), ("AccountCode", "AccountName"))),
    Profile("eboekhouden", "e-Boekhouden", {
        "debtor_code": ["Relatiecode"], "debtor_name": ["Relatie", "Bedrijf"],
        "invoice_number": ["Factuurnummer"], "invoice_date": ["Factuurdatum"], "due_date": ["Vervaldatum"],
        "amount": ["Bedrag"], "open_amount": ["Openstaand"], "description": ["Omschrijving"],
        "email": ["E-mail", "Email"], "contact_person": ["Contactpersoon"], "phone": ["Telefoon"],
    }, marks=(("Relatiecode", "Relatie", "Openstaand", "Soort"), ("Relatiecode", "Relatie", "Factuurnummer",
                                                                 "Openstaand"))),
    Profile("yuki", "Yuki", {
        "invoice_number": ["Factuurnr.", "Factuurnummer"], "debtor_name": ["Relatie"],
        "debtor_code": ["Relatiecode", "Code"], "description": ["Onderwerp"],
        "invoice_date": ["Factuurdatum"], "due_date": ["Vervaldatum"], "amount": ["Bedrag"],
        "open_amount": ["Uitstaand", "Openstaand"],
    }, marks=(("Factuurnr.", "Uitstaand"), ("Dagen achterstallig",), ("Onderwerp", "Uitstaand"))),
    Profile("twinfield", "Twinfield", {
        "invoice_number": ["invoicenumber", "Factuurnummer", "Factuurnr."],
        "debtor_code": ["dim2", "customer", "Relatie", "Debiteur"], "debtor_name": ["customername", "Naam"],
        "invoice_date": ["date", "Factuurdatum", "Datum"], "due_date": ["duedate", "Vervaldatum"],
        "amount": ["value", "Bedrag"], "open_amount": ["openvalue", "Openstaand"],
        "currency": ["currency", "Valuta"], "description": ["description", "Omschrijving"],
    }, marks=(("invoicenumber", "openvalue"), ("invoicenumber", "duedate", "value"))),
    Profile("moneybird", "Moneybird", {
        "invoice_number": ["invoice_id", "Factuurnummer", "Factuur"], "debtor_code": ["customer_id", "Klantnummer"],
        "debtor_name": ["contact", "company_name", "Contact", "Bedrijfsnaam"],
        "invoice_date": ["invoice_date", "Factuurdatum"], "due_date": ["due_date", "Vervaldatum"],
        "amount": ["total_price_incl_tax", "Totaalbedrag incl. btw", "Totaal"],
        "open_amount": ["total_unpaid", "Openstaand bedrag", "Openstaand"],
        "currency": ["currency", "Valuta"], "reference": ["reference", "Referentie"],
        "settled_date": ["paid_at", "Betaald op"],
        "email": ["send_invoices_to_email", "email", "E-mailadres"],
        "contact_person": ["attention", "Contactpersoon"], "phone": ["phone", "Telefoonnummer"],
    }, marks=(("total_unpaid",), ("invoice_id", "total_price_incl_tax"), ("Openstaand bedrag", "Contact"))),
    Profile("snelstart", "SnelStart", {
        "debtor_code": ["Relatiecode", "relatie"], "debtor_name": ["Naam", "Relatienaam"],
        "invoice_number": ["Factuurnummer", "factuurnummer"], "invoice_date": ["Factuurdatum", "factuurDatum"],
        "due_date": ["Vervaldatum", "vervalDatum"], "amount": ["Factuurbedrag", "factuurBedrag"],
        "open_amount": ["Openstaand saldo", "openstaandSaldo", "Openstaand"],
        "description": ["Omschrijving", "omschrijving"],
    }, marks=(("Openstaand saldo",), ("openstaandSaldo",), ("Factuurbedrag", "Relatiecode", "Naam"))),
    Profile("generic", N_("Generic (any package)"), SYNONYMS),
]}
GENERIC = "generic"


def normalise(header: str) -> str:
    """`Factuurnr.` -> `factuurnr`, `Open amount` -> `openamount`, `E-mail` -> `email`."""
    text = unicodedata.normalize("NFKD", header or "")
    text = "".join(c for c in text if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]", "", text.lower())


def header_signature(headers: list[str]) -> str:
    """Same header (in the same order) -> same signature, whatever the spelling of case and spaces."""
    return hashlib.sha256("\x1f".join(normalise(h) for h in headers).encode()).hexdigest()


def _match(headers: list[str], wanted: list[str], taken: set[str]) -> str | None:
    index = {}
    for h in headers:
        index.setdefault(normalise(h), h)
    for w in wanted:
        h = index.get(normalise(w))
        if h and h not in taken:
            return h
    return None


# in a debtor list the plain "number" column is the debtor's code
_DEBTOR_LIST = Profile("debtor-list", "Debtor list", {
    "debtor_code": ["Nummer", "Number", "Nr.", "Nr", "ID", "Debiteur", "Relatie code"],
    "debtor_name": ["Naam", "Name", "Bedrijfsnaam", "Relatie", "Klant"],
})


def suggest_mapping(headers: list[str], kind: str, profile: str | None = None) -> dict[str, str | None]:
    """field -> header for the fields of `kind`: the profile's headers first, then the generic ones."""
    fields = KIND_FIELDS[kind]
    order = [PROFILES[profile]] if profile and profile in PROFILES else []
    order.append(PROFILES[GENERIC])
    if kind == DEBTORS:
        order.append(_DEBTOR_LIST)
    mapping: dict[str, str | None] = dict.fromkeys(fields)
    taken: set[str] = set()
    # fields with few, specific synonyms first, so "Relatie" is not taken by the name when it is the code
    for prof in order:
        for field in fields:
            if mapping[field] is None and field in prof.headers:
                hit = _match(headers, prof.headers[field], taken)
                if hit:
                    mapping[field] = hit
                    taken.add(hit)
    return mapping


def days_overdue_column(headers: list[str]) -> str | None:
    """The column that counts the days since the due date, when the file has one."""
    return _match(headers, DAYS_OVERDUE, set())


def detect_profile(headers: list[str]) -> str:
    """The package whose own marks (headers only it writes) are all in the file; generic otherwise."""
    norm = {normalise(h) for h in headers}
    for prof in PROFILES.values():
        if any(all(normalise(h) in norm for h in mark) for mark in prof.marks):
            return prof.name
    return GENERIC


def missing_required(mapping: dict[str, str | None], kind: str) -> list[tuple[str, ...]]:
    return [group for group in REQUIRED[kind] if not any(mapping.get(f) for f in group)]


def currency_from_header(header: str | None) -> str | None:
    """`converted_usd` -> USD, `Bedrag (EUR)` -> EUR: an amount column that names its currency."""
    if not header:
        return None
    m = re.search(r"(?:^|[^a-z])(eur|usd|gbp|chf)(?:$|[^a-z])", header.lower())
    return m.group(1).upper() if m else None


def detect_kind(headers: list[str], settled_has_values: bool | None = None) -> str:
    """Which import this file is: a ledger has a filled paid/settled date, open items have invoice
    numbers, a debtor list has neither."""
    ledger = suggest_mapping(headers, LEDGER)
    if ledger.get("settled_date") and ledger.get("invoice_number") and settled_has_values is not False:
        return LEDGER
    open_items = suggest_mapping(headers, OPEN_ITEMS)
    if open_items.get("open_amount") or open_items.get("amount"):
        return OPEN_ITEMS
    debtors = suggest_mapping(headers, DEBTORS)
    contact_fields = ("email", "contact_person", "phone", "street", "city", "language", "is_consumer",
                      "payment_term_days")
    if debtors.get("debtor_code") and any(debtors.get(f) for f in contact_fields):
        return DEBTORS
    if open_items.get("invoice_number") or not debtors.get("debtor_code"):
        return OPEN_ITEMS
    return DEBTORS
