"""`python -m receivables bank …` as cron or a shell uses it: the import's one summary line, suggestions
as JSON, confirm and reject by id, the company's accounts, undo; errors as one line with exit 2 and
nothing changed."""

import json
import subprocess
import sys

from sqlalchemy import func, select

from db.models import ImportBatch, Invoice
from db.uow import UnitOfWork
from tests.conftest import ROOT
from tests.integration.test_bank_service import OURS, debtor, invoice, statement, tx


def run_cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "receivables", "bank", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def setup_ledger(engine) -> None:
    with UnitOfWork(engine) as u:
        acme = debtor(u.session, "ACME", "Acme Trading B.V.")
        invoice(u.session, acme, "F2026-0101", 121_000)
        invoice(u.session, acme, "F2026-0102", 60_500)
        u.commit()


def open_of(engine, number: str) -> int:
    with UnitOfWork(engine) as u:
        return u.session.scalar(select(Invoice.open_cents).where(Invoice.number == number))


def test_import_prints_the_figures_and_suggestions_are_decided_by_id(engine, tmp_path):
    setup_ledger(engine)
    f = tmp_path / "statement.xml"
    f.write_bytes(statement(tx("605.00", text="F2026-0102", entry_ref="1"), tx("300.00", text="F2026-0101",
                                                                            entry_ref="2"),
                            tx("12.34", name="Onbekend", entry_ref="3"), tx("40.00", sign="DBIT", entry_ref="4")))
    res = run_cli("import", f)
    assert res.returncode == 2 and "bank accounts add NL91ABNA0417164300" in res.stderr  # no account set yet
    res = run_cli("accounts", "add", OURS)
    assert res.returncode == 0, res.stderr
    assert run_cli("accounts", "list").stdout == f"{OURS}\n"

    res = run_cli("import", f)
    assert res.returncode == 0, res.stderr
    assert res.stdout == "lines 4, matched 1, suggested 1, unmatched 1\n"
    assert "debits 1" in res.stderr
    again = run_cli("import", f)
    assert again.stdout == "lines 0, matched 0, suggested 0, unmatched 0\n"

    res = run_cli("suggestions", "--format", "json")
    [suggestion] = json.loads(res.stdout)
    assert (suggestion["amount"], suggestion["allocations"][0]["invoice"]) == ("300.00", "F2026-0101")
    assert "part payment" in suggestion["reason"]
    res = run_cli("confirm", suggestion["id"])
    assert res.returncode == 0, res.stderr
    assert open_of(engine, "F2026-0101") == 91_000
    assert json.loads(run_cli("suggestions", "--format", "json").stdout) == []

    [unmatched] = json.loads(run_cli("worklist", "--format", "json").stdout)
    res = run_cli("reject", unmatched["id"])
    assert res.returncode == 2 and res.stderr.startswith("error: bank line") and "not suggested" in res.stderr
    assert run_cli("not-ours", unmatched["id"], "--note", "interest").returncode == 0

    assert run_cli("undo").stdout.startswith("bank statement batch ")
    assert open_of(engine, "F2026-0101") == 121_000 and open_of(engine, "F2026-0102") == 60_500


def test_a_bad_file_is_one_line_with_exit_2_and_changes_nothing(engine, tmp_path):
    f = tmp_path / "statement.pdf"
    f.write_bytes(b"%PDF-1.4")
    res = run_cli("import", f)
    assert res.returncode == 2
    assert res.stderr.count("\n") == 1 and "PDF" in res.stderr
    with UnitOfWork(engine) as u:
        assert u.session.scalar(select(func.count()).select_from(ImportBatch)) == 0
    res = run_cli("accounts", "add", "NL00NOTANIBAN")
    assert res.returncode == 2 and "no valid IBAN" in res.stderr
