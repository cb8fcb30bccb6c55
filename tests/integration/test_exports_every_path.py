"""Every export path over the same hostile values: a customer's export whose debtor codes, names,
invoice numbers and segments are spreadsheet formulas reaches every file we write as text, and the
numbers (a credit note of -12.50) stay numbers."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from db.models import Debtor
from receivables import cli
from receivables.domain import exports
from receivables.domain.ageing import BucketSpec
from receivables.services import analytics

HOSTILE = ['=HYPERLINK("http://x","click")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(1)", "\t=1", " =1", "'=1"]


def active(cell: str) -> bool:
    """Would a spreadsheet evaluate this cell? (Ours start with an apostrophe when they must be text.)"""
    if cell.startswith("'"):
        return False
    rest = cell.lstrip(" \u00a0\"")
    return rest[:1] in ("=", "+", "-", "@", "\t", "\r") and not exports._NUMBER.fullmatch(cell.strip())


@pytest.fixture
def hostile_ledger(engine, tmp_path, capsys):
    """The hostile values as debtor codes, names and invoice numbers of an open-items import, and as
    segments; one debtor owes only a credit note of -12.50; reminders proposed for all."""
    today = date.today()
    rows = []
    due = today - timedelta(days=45)
    for k, bad in enumerate(HOSTILE, 1):
        rows.append([f"{bad}{k}", bad, f"{bad}{k}" if k % 2 else bad, f"{due - timedelta(days=30):%d-%m-%Y}",
                     f"{due:%d-%m-%Y}", f"{100 * k},00", f"{100 * k},00", "Factuur"])
    rows.append(["CN01", "Credit B.V.", "CN-1", f"{due:%d-%m-%Y}", f"{due:%d-%m-%Y}", "-12,50", "-12,50", "Creditnota"])
    out = io.StringIO()
    w = csv.writer(out, delimiter=";", lineterminator="\r\n")
    w.writerow(["Relatiecode", "Relatie", "Factuurnummer", "Factuurdatum", "Vervaldatum", "Bedrag", "Openstaand",
                "Soort"])
    w.writerows(rows)
    path = tmp_path / "open.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    assert cli.main(["import", str(path), "--as-of", today.isoformat()]) == 0, capsys.readouterr().err
    with engine.begin() as conn:  # the import trims names; a value typed in elsewhere may keep its space or tab
        ids = conn.execute(select(Debtor.id).where(Debtor.code != "CN01").order_by(Debtor.id)).scalars().all()
        for debtor_id, bad in zip(ids, HOSTILE, strict=True):
            conn.execute(update(Debtor).where(Debtor.id == debtor_id).values(name=bad, segment=bad,
                                                                            account_manager=bad))
    assert cli.main(["remind", "--date", today.isoformat()]) == 0, capsys.readouterr().err
    capsys.readouterr()
    return engine


def run(capsys, *args) -> list[list[str]]:
    assert cli.main([*args]) == 0, capsys.readouterr().err
    return list(csv.reader(io.StringIO(capsys.readouterr().out)))


CLI_PATHS = [
    ("report", "ageing", "--format", "csv"),
    ("report", "ageing", "--basis", "invoice", "--format", "csv"),
    ("report", "kpis", "--format", "csv"),
    ("report", "dso", "--by", "segment", "--months", "2", "--format", "csv"),
    ("report", "forecast", "--format", "csv"),
    ("report", "forecast", "--backtest", "--weeks", "2", "--format", "csv"),
    ("report", "behaviour", "--format", "csv"),
    ("queue", "list", "--format", "csv"),
]


@pytest.mark.parametrize("args", CLI_PATHS, ids=[" ".join(a[:2] + a[2:3]) for a in CLI_PATHS])
def test_no_command_line_csv_holds_an_active_formula(hostile_ledger, capsys, args):
    table = run(capsys, *args)
    cells = [c for row in table for c in row]
    assert [c for c in cells if active(c)] == []
    assert len(table) >= 2  # a header and rows: the path was exercised


def test_the_ageing_csv_keeps_every_hostile_value_as_text_and_the_credit_as_a_number(hostile_ledger, capsys):
    table = run(capsys, "report", "ageing", "--format", "csv")
    header, body = table[0], table[1:]
    names = {r[header.index("debtor_name")]: r for r in body}
    assert {"'" + bad for bad in HOSTILE} <= set(names)
    assert names["Credit B.V."][header.index("total")] == "-12.50"


def test_the_queue_csv_keeps_hostile_invoice_numbers_as_text(hostile_ledger, capsys):
    table = run(capsys, "queue", "list", "--format", "csv")
    cells = {c for row in table for c in row}
    assert {"'" + HOSTILE[0] + "1", "'@SUM(1)", "'-2+33"} <= cells  # debtor code, invoice numbers


def test_the_pages_csv_and_excel_exports_hold_no_formula(hostile_ledger, tmp_path):
    from db.uow import UnitOfWork

    with UnitOfWork(hostile_ledger) as u:
        report = analytics.ageing_report(u, date.today(), BucketSpec())
    frame = report.per_debtor[["debtor_code", "debtor_name", "total"]].assign(total=lambda f: f["total"] / 100)
    text = exports.table(frame, "csv").decode("utf-8-sig")
    cells = [c for row in csv.reader(io.StringIO(text)) for c in row]
    assert [c for c in cells if active(c)] == [] and "-12.5" in cells
    (tmp_path / "ageing.xlsx").write_bytes(exports.table(frame, "xlsx", sheet="Ageing"))
    ws = load_workbook(tmp_path / "ageing.xlsx").active
    values = [cell for row in ws.iter_rows() for cell in row]
    assert not [c for c in values if c.data_type == "f"]
    assert not [c.value for c in values if isinstance(c.value, str) and active(c.value)]
    assert -12.5 in [c.value for c in values]
    assert {"'" + bad for bad in HOSTILE} <= {c.value for c in values}


def test_a_csv_attachment_or_statement_written_through_exports_holds_no_formula():
    data = exports.csv_bytes(["invoice", "open"], [[bad, "-12.50"] for bad in HOSTILE])
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert [c for row in rows for c in row if active(c)] == []
    assert [r[1] for r in rows[1:]] == ["-12.50"] * len(HOSTILE)


def test_a_csv_attached_to_a_reminder_holds_no_formula_however_it_was_made(uow):
    import email
    from email import policy

    from emails.mime import Attachment
    from receivables.services import sending
    from tests.integration.test_send_support import seed, settings

    [mid] = seed(uow, 1)
    made_elsewhere = "\r\n".join(["invoice;open", *[f"{bad.replace(';', ',')};-12.50" for bad in HOSTILE]])
    with uow() as u:
        [c] = sending._load(u.session, ids=[mid], qr=True)
    built = sending.compose(c, settings(), f"<debtordesk.{mid}.x@example.nl>", sending.utcnow(), None,
                            (Attachment("rekeningoverzicht.csv", made_elsewhere.encode(), "text/csv"),))
    [part] = [p for p in email.message_from_bytes(built.data, policy=policy.default).walk()
              if p.get_filename() == "rekeningoverzicht.csv"]
    rows = list(csv.reader(io.StringIO(part.get_content() if isinstance(part.get_content(), str)
                                       else part.get_content().decode("utf-8-sig")), delimiter=";"))
    assert [c for row in rows for c in row if active(c)] == []
    assert [r[1] for r in rows[1:]] == ["-12.50"] * len(HOSTILE)


@pytest.mark.parametrize("language, delimiter", [("nl", ";"), ("en", ",")])
def test_the_statement_of_account_csv_holds_no_formula(language, delimiter):
    from emails import statement

    today = date.today()
    rows = [statement.Row(bad, today - timedelta(days=60), today - timedelta(days=30), -1250 if k == 0 else 100 * k)
            for k, bad in enumerate(HOSTILE)]
    data = statement.statement_csv(rows, "EUR", today, language)
    table = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=delimiter))
    assert [c for row in table for c in row if active(c)] == []
    assert [r[0] for r in table[1:]] == ["'" + bad for bad in HOSTILE]
    assert table[1][4] == ("-12,50" if language == "nl" else "-12.50")

