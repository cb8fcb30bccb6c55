"""XML invoices go through the same import as a CSV export, from the service and from the command line:
every public UBL sample and Twinfield's sales transaction end up as the invoices they describe."""

import subprocess
import sys
import zipfile
from datetime import date

import pytest
from sqlalchemy import select

from db.models import Debtor, Invoice
from db.uow import UnitOfWork
from receivables.importing import bundle
from receivables.services import imports as import_service
from tests.conftest import ROOT

AS_OF = date(2026, 6, 30)

# number, debtor code, debtor name, invoice date, due date, amount, open, currency, reference
EXPECTED = {
    "ubl/cen-tc434_ubl-tc434-example1.xml":
        ("12115118", "10202", "ODIN 59", date(2015, 1, 9), date(2015, 1, 9), 25033, 25033, "EUR",
         "Deb. 10202 / Fact. 12115118"),
    "ubl/cen-tc434_ubl-tc434-example8.xml":
        ("1100512149", "1081119", "Klant", date(2014, 11, 10), date(2014, 11, 24), 109978, 109978, "EUR",
         "1100512149"),
    "ubl/cen-tc434_ubl-tc434-example9.xml":
        ("20150483", "Provide Verzekeringen", "Provide Verzekeringen", date(2015, 4, 1), date(2015, 4, 14), 17787,
         17787, "EUR", "2015 0483 0000 0000"),
    "ubl/peppol-bis3_base-example.xml":
        ("Snippet1", "FR23342", "BuyerTradingName AS", date(2017, 11, 13), date(2017, 12, 1), 165625, 165625, "EUR",
         "Snippet1"),
    "nl_exports/twinfield_salesTransactionGetResponse.xml":
        ("20130-6000", "1000", "Customer 0", date(2013, 5, 2), date(2013, 5, 6), 12100, 12100, "EUR",
         "+++100/0160/01495+++"),
}
UBL = sorted(p for p in EXPECTED if p.startswith("ubl/"))


def stored_invoices(uow) -> list[tuple]:
    with uow() as u:
        rows = u.session.execute(select(Invoice, Debtor).join(Debtor).order_by(Invoice.number)).all()
        return [(i.number, d.code, d.name, i.invoice_date, i.due_date, i.amount_cents, i.open_cents, i.currency,
                 i.reference) for i, d in rows]


def run_cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "receivables", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("path", list(EXPECTED))
def test_each_real_xml_invoice_imports_as_the_invoice_it_describes(uow, shared_data, path):
    data = (shared_data / path).read_bytes()
    with uow(immediate=True) as u:
        result = import_service.run_import(u, data, path.rsplit("/", 1)[1], actor="carla", mode="partial",
                                           as_of=AS_OF)
    assert result.summary() == "new 1, changed 0, closed 0, unchanged 0, skipped 0"
    assert stored_invoices(uow) == [EXPECTED[path]]


def test_the_preview_names_the_xml_kind_and_maps_every_column(uow, shared_data):
    name, data = bundle([(p, (shared_data / p).read_bytes()) for p in UBL])
    with uow() as u:
        preview = import_service.preview(u, import_service.Upload(data, name))
    assert preview.kind == "open-items" and preview.dialect == "UBL XML, 4 invoice(s)"
    assert {f for f, h in preview.mapping.items() if h} == {"invoice_number", "debtor_code", "debtor_name",
                                                            "invoice_date", "due_date", "amount", "open_amount",
                                                            "currency", "reference"}


def test_the_command_line_imports_several_xml_files_at_once_and_a_zip_of_them_changes_nothing(
        engine, uow, shared_data, tmp_path):
    files = [shared_data / p for p in UBL]
    res = run_cli("import", *files, "--mode", "partial", "--as-of", AS_OF)
    assert res.returncode == 0, res.stderr
    assert res.stdout == "new 4, changed 0, closed 0, unchanged 0, skipped 0\n"
    assert stored_invoices(uow) == sorted(EXPECTED[p] for p in UBL)

    res = run_cli("import", *reversed(files), "--mode", "partial", "--as-of", AS_OF)
    assert res.returncode == 0 and "was imported before" in res.stderr

    packed = tmp_path / "invoices.zip"
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as z:
        for f in files:
            z.write(f, f.name)
    res = run_cli("import", packed, "--mode", "partial", "--as-of", AS_OF)
    assert res.returncode == 0, res.stderr
    assert res.stdout == "new 0, changed 0, closed 0, unchanged 4, skipped 0\n"


def test_the_command_line_imports_the_twinfield_xml(sqlite_engine, shared_data):
    path = "nl_exports/twinfield_salesTransactionGetResponse.xml"
    res = run_cli("import", shared_data / path, "--mode", "partial", "--as-of", AS_OF)
    assert res.returncode == 0, res.stderr
    assert res.stdout == "new 1, changed 0, closed 0, unchanged 0, skipped 0\n"
    assert stored_invoices(lambda **kw: UnitOfWork(sqlite_engine, **kw)) == [EXPECTED[path]]


@pytest.mark.parametrize("name, content, says", [
    ("open.pdf", b"%PDF-1.7", "the importer reads CSV, TSV, Excel (.xlsx), UBL or Twinfield XML, or a .zip of XML "
                              "invoices (.csv, .tsv, .txt, .xlsx, .xml, .zip); export one of those"),
    ("bank.xml", b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"/>',
     "'bank.xml' is an ISO 20022 document (a bank statement or payment file), not a list of invoices. Export UBL"),
])
def test_the_command_line_refuses_what_the_importer_does_not_read_and_changes_nothing(
        sqlite_engine, tmp_path, name, content, says):
    (tmp_path / name).write_bytes(content)
    res = run_cli("import", tmp_path / name)
    assert res.returncode == 2 and says in res.stderr and "Traceback" not in res.stderr
