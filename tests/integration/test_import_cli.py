"""`python -m receivables import …` as a script or cron job uses it: one summary line, exit 2 with
every problem on stderr and the database unchanged. The ledger itself is tested on both databases in
test_import_service; here the command's own behaviour runs on both for the two main paths only."""

import subprocess
import sys

import openpyxl
import pytest
from sqlalchemy import func, select

from db.models import Debtor, ImportBatch, Invoice
from db.uow import UnitOfWork
from tests.conftest import ROOT

HEADER = "Relatiecode;Relatie;Factuurnummer;Factuurdatum;Vervaldatum;Bedrag;Openstaand;Soort"


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "receivables", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


def write(path, *lines: str):
    path.write_bytes(("\r\n".join([HEADER, *lines]) + "\r\n").encode())
    return path


def counts(engine) -> tuple[int, int]:
    with UnitOfWork(engine) as u:
        return (u.session.scalar(select(func.count()).select_from(Invoice)),
                u.session.scalar(select(func.count()).select_from(ImportBatch)))


def test_an_import_prints_one_summary_line_and_a_second_upload_changes_nothing(engine, tmp_path):
    f = write(tmp_path / "open.csv", "0042;Bakker;000123;01-05-2026;31-05-2026;100,00;100,00;Factuur",
              "0043;Smit;000124;01-05-2026;31-05-2026;50,00;25,00;Factuur")
    res = run_cli("import", f, "--as-of", "2026-06-30")
    assert res.returncode == 0, res.stderr
    assert res.stdout == "new 2, changed 0, closed 0, unchanged 0, skipped 0\n"
    res = run_cli("import", f, "--as-of", "2026-06-30")
    assert res.returncode == 0
    assert res.stdout == "new 0, changed 0, closed 0, unchanged 0, skipped 0\n"
    assert "was imported before" in res.stderr
    assert counts(engine) == (2, 1)


def test_a_rejected_file_exits_2_with_every_problem_on_stderr_and_changes_nothing(engine, tmp_path):
    f = write(tmp_path / "bad.csv", "0042;Bakker;1;01-05-2026;31-02-2026;100,00;100,00;Factuur",
              "0042;Bakker;2;01-05-2026;31-05-2026;100,00;honderd;Factuur",
              "0042;Bakker;3;01-05-2026;31-05-2026;100,00;100,00;Factuur")
    res = run_cli("import", f)
    assert res.returncode == 2
    assert res.stdout == ""
    assert res.stderr.splitlines()[:3] == [
        "error: bad.csv: 2 problem(s); nothing was imported",
        "  row 2, Vervaldatum: '31-02-2026' is not a date (expected dd-mm-yyyy)",
        "  row 3, Openstaand: 'honderd' is not an amount (expected like 1.234,56 or -1234,56); fix the value or "
        "choose the other decimal style"]
    assert "Traceback" not in res.stderr
    assert counts(engine) == (0, 0)

    res = run_cli("import", f, "--valid-rows-only", "--mode", "partial")
    assert res.returncode == 0
    assert res.stdout == "new 1, changed 0, closed 0, unchanged 0, skipped 2\n"
    assert "left out 2 problem row(s):" in res.stderr
    assert counts(engine) == (1, 1)


def test_a_file_with_one_invoice_number_on_every_row_is_refused_with_one_line_naming_it(sqlite_engine, tmp_path):
    f = write(tmp_path / "same.csv", *(f"{i % 300:04d};Debiteur {i % 300};F-1001;01-05-2026;31-05-2026;100,00;100,00;Factuur"
                                       for i in range(20_000)))
    res = run_cli("import", f, "--dry-run")
    assert res.returncode == 2
    assert res.stderr.splitlines() == [
        "error: same.csv: 1 problem(s); nothing was imported",
        "  row 2, Factuurnummer: 'F-1001' appears 20,000 times (rows 2, 3, 4, 5, 6 and 19,995 more); each invoice "
        "may appear once; remove or merge the extra rows",
        "Fix the file, or rerun with --valid-rows-only to import the other rows."]


@pytest.mark.parametrize("name, data", [
    ("cr-in-cell.csv", (HEADER + "\r\n0042;Bakker\rB.V.;000123;01-05-2026;31-05-2026;100,00;100,00;Factuur\r\n").encode()),
    ("multi-line.xlsx", None),
])
def test_a_carriage_return_or_a_line_break_inside_a_cell_imports_from_the_command_line(sqlite_engine, tmp_path,
                                                                                        name, data):
    if data is None:
        wb = openpyxl.Workbook()
        wb.active.append(HEADER.split(";"))
        wb.active.append(["0042", "Bakker\r\nB.V.", "000123", "01-05-2026", "31-05-2026", "100,00", "100,00", "F"])
        wb.save(tmp_path / name)
    else:
        (tmp_path / name).write_bytes(data)
    res = run_cli("import", tmp_path / name, "--as-of", "2026-06-30")
    assert (res.returncode, res.stdout) == (0, "new 1, changed 0, closed 0, unchanged 0, skipped 0\n"), res.stderr
    assert "Traceback" not in res.stderr
    with UnitOfWork(sqlite_engine) as u:
        assert u.session.scalar(select(Debtor.name)) == "Bakker B.V."


def test_a_dry_run_reports_the_counts_and_writes_nothing(sqlite_engine, tmp_path):
    engine = sqlite_engine
    f = write(tmp_path / "open.csv", "0042;Bakker;1;01-05-2026;31-05-2026;100,00;100,00;Factuur")
    res = run_cli("import", f, "--dry-run")
    assert res.returncode == 0 and res.stdout.splitlines()[0] == "new 1, changed 0, closed 0, unchanged 0, skipped 0"
    assert "dry run: nothing was written" in res.stderr
    assert counts(engine) == (0, 0)


def test_ambiguous_dates_are_settled_with_date_order_and_errors_stay_one_line(sqlite_engine, tmp_path):
    engine = sqlite_engine
    f = tmp_path / "us.csv"
    f.write_text("InvoiceNumber,AccountCode,InvoiceDate,DueDate,Amount\nA1,C1,01/02/2026,02/03/2026,10.00\n")
    res = run_cli("import", f)
    assert res.returncode == 2 and "choose the date order" in res.stderr and "--date-order mdy" in res.stderr
    res = run_cli("import", f, "--date-order", "mdy", "--kind", "open-items")
    assert res.returncode == 0, res.stderr
    with UnitOfWork(engine) as u:
        assert str(u.session.scalar(select(Invoice.invoice_date))) == "2026-01-02"
    res = run_cli("import", tmp_path / "missing.csv")
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and "no file at" in res.stderr
    (tmp_path / "empty.csv").write_bytes(b"")
    res = run_cli("import", tmp_path / "empty.csv")
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and "the file is empty" in res.stderr


def test_history_lists_batches_and_undo_takes_back_the_latest(sqlite_engine, tmp_path):
    engine = sqlite_engine
    first = write(tmp_path / "week1.csv", "0042;Bakker;1;01-05-2026;31-05-2026;100,00;100,00;Factuur")
    second = write(tmp_path / "week2.csv", "0042;Bakker;2;01-06-2026;30-06-2026;70,00;70,00;Factuur")
    assert run_cli("import", first, "--as-of", "2026-06-01").returncode == 0
    assert run_cli("import", second, "--as-of", "2026-06-08", "--close-missing").returncode == 0
    history = run_cli("import-history")
    assert history.returncode == 0
    assert [ln.split()[-1] for ln in history.stdout.splitlines()] == ["week2.csv", "week1.csv"]
    assert "closed 1" in history.stdout.splitlines()[0]
    res = run_cli("import-undo", "--batch", "1")
    assert res.returncode == 2 and "only the latest import (batch 2)" in res.stderr
    res = run_cli("import-undo")
    assert res.returncode == 0 and res.stdout == "undid batch 2 (week2.csv)\n"
    with UnitOfWork(engine) as u:
        assert dict(u.session.execute(select(Invoice.number, Invoice.open_cents)).all()) == {"1": 10000}


@pytest.mark.parametrize("args, says", [
    (("report", "ageing", "--as-of", "31-02-2024"), "'31-02-2024' is not a date"),
    (("report", "ageing", "--format", "xml"), "invalid choice: 'xml'"),
    (("import",), "the following arguments are required: file"),
    (("frobnicate",), "invalid choice: 'frobnicate'"),
])
def test_argument_errors_are_one_line_on_stderr(sqlite_engine, args, says):
    res = run_cli(*args)
    assert res.returncode == 2 and res.stdout == ""
    assert res.stderr.count("\n") == 1 and res.stderr.startswith("error: ") and says in res.stderr


def test_a_full_import_that_would_close_another_files_invoices_stops_until_close_missing(sqlite_engine, tmp_path):
    engine = sqlite_engine
    first = write(tmp_path / "first.csv", *(f"00{i};Klant {i};A-{i};01-05-2026;31-05-2026;100,00;100,00;Factuur"
                                            for i in range(4)))
    other = write(tmp_path / "other.csv", *(f"09{i};Ander {i};B-{i};01-06-2026;01-07-2026;10,00;10,00;Factuur"
                                            for i in range(5)))
    assert run_cli("import", first, "--as-of", "2026-06-01").returncode == 0
    res = run_cli("import", other, "--as-of", "2026-06-08")
    assert res.returncode == 2 and res.stdout == ""
    assert res.stderr.splitlines() == [
        "error: This full import closes 4 open invoices as paid on 08-06-2026: €400.00. All 4 belong to 4 "
        "debtors that are not in this file at all. That is every open invoice in the ledger. Nothing was imported.",
        "If other.csv is the complete list of open items, import it again with --close-missing; if it is not, "
        "use --mode partial."]
    assert counts(engine) == (4, 1)
    res = run_cli("import", other, "--as-of", "2026-06-08", "--close-missing")
    assert res.returncode == 0, res.stderr
    assert res.stdout == "new 5, changed 0, closed 4, unchanged 0, skipped 0\n"


def test_a_dry_run_prints_the_rows_as_they_will_be_stored_and_what_to_look_at(sqlite_engine, tmp_path, shared_data):
    name = "bdo_demo_sap_offene_posten_sample_data_hard.csv"
    res = run_cli("import", shared_data / "nl_exports" / name, "--dry-run", "--as-of", "2023-04-30")
    assert res.returncode == 2
    assert "Zuordnung was not taken as the debtor code" in res.stderr
    assert "no column is chosen for Debtor code or Debtor name" in res.stderr
    assert "--map debtor_code=COLUMN" in res.stderr
    res = run_cli("import", shared_data / "nl_exports" / name, "--dry-run", "--as-of", "2023-04-30",
                  "--map", "debtor_code=Zuordnung")
    assert res.returncode == 0, res.stderr
    out = res.stdout.splitlines()
    assert out[0] == "new 5, changed 0, closed 0, unchanged 0, skipped 0"
    table = out[out.index("First 5 rows as they will be stored:") + 1:]
    assert table[0].split() == ["row", "number", "debtor", "name", "invoice", "date", "due", "date", "amount",
                                "open", "currency"]
    assert table[1].split() == ["2", "1200401780", "6090466822", "6090466822", "30-04-2023", "30-05-2023",
                                "51,671.15", "51,671.15", "EUR"]
    assert not any(".0 " in ln for ln in table[:6])
    assert any("due date" in ln and "30 days" in ln for ln in out)
    assert any("document numbers" in ln for ln in out)
    assert "dry run: nothing was written" in res.stderr
    assert counts(sqlite_engine) == (0, 0)


@pytest.mark.parametrize("path", ["ar/WA_Fn-UseC_-Accounts-Receivable.csv", "ar/highradius_open_invoices_nulldata.csv",
                                  "nl_exports/bdo_demo_openstaande_posten_sample_data.csv"])
def test_a_dry_run_of_each_real_export_shows_its_rows_and_columns(sqlite_engine, shared_data, path):
    res = run_cli("import", shared_data / path, "--dry-run")
    assert res.returncode == 0, res.stderr
    assert "rows as they will be stored:" in res.stdout and "Columns:" in res.stdout
    assert counts(sqlite_engine) == (0, 0)
