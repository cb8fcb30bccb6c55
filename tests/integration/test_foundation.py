import json
import subprocess
import sys
from datetime import date, timedelta

import pytest
from sqlalchemy import func, inspect, select

from db.models import Debtor, Invoice, InvoiceChange
from receivables.services import analytics, audit, demo, demo_data, startup
from tests import user_store as users
from tests.conftest import ROOT

ANCHOR = date(2026, 6, 30)


def test_migrations_create_every_table(engine):
    tables = set(inspect(engine).get_table_names())
    assert {"debtor", "invoice", "invoice_change", "import_batch", "note", "message", "message_invoice",
            "audit_event", "setting", "column_mapping", "send_attempt"} <= tables


def test_migrations_upgrade_an_empty_sqlite_file_twice_without_harm(tmp_path):
    from db.engine import make_engine, upgrade

    eng = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    upgrade(eng)
    upgrade(eng)  # every start upgrades: the second time is a no-op
    assert "invoice" in inspect(eng).get_table_names()
    with eng.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    eng.dispose()


def test_migrations_upgrade_an_empty_postgresql_schema():
    import uuid

    from sqlalchemy import create_engine, text

    from db.engine import make_engine, upgrade
    from tests.conftest import PG_URL, postgres_available, skip_or_fail

    if reason := postgres_available():
        skip_or_fail(reason)
    schema = f"m_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        eng = make_engine(PG_URL + ("&" if "?" in PG_URL else "?") + f"options=-csearch_path%3D{schema}")
        upgrade(eng)
        upgrade(eng)
        assert {"debtor", "invoice", "message"} <= set(inspect(eng).get_table_names())
        eng.dispose()
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_migrations_import_no_application_code():
    """A migration keeps a frozen copy of what it needs: a later change to the application must never
    change what an old migration does."""
    import ast

    ours = {"db", "receivables", "emails", "ui", "pages"}
    for path in sorted((ROOT / "db" / "migrations" / "versions").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not {n.split(".")[0] for n in names} & ours, f"{path.name} imports {names}"


def test_the_demo_generator_is_deterministic():
    a, b = demo_data.generate(seed=7, anchor=ANCHOR), demo_data.generate(seed=7, anchor=ANCHOR)
    assert a == b
    assert demo_data.generate(seed=8, anchor=ANCHOR) != a
    assert 200 <= len(a.debtors) <= 300 and 5000 <= len(a.invoices) <= 8000
    assert all(i["invoice_date"] <= ANCHOR for i in a.invoices)


def test_demo_addresses_can_never_reach_a_real_mailbox():
    data = demo_data.generate(seed=1, anchor=ANCHOR)
    assert all(d["email"].endswith(".example") for d in data.debtors)


def test_loading_the_demo_twice_gives_the_same_ledger(uow):
    def snapshot():
        with uow() as u:
            return analytics.ageing_json(analytics.ageing_report(u, ANCHOR))

    with uow() as u:
        demo.load_demo(u, seed=3, anchor=ANCHOR)
    first = snapshot()
    with uow() as u:
        demo.load_demo(u, seed=3, anchor=ANCHOR)
    assert snapshot() == first
    with uow() as u:
        assert u.session.scalar(select(func.count()).select_from(Debtor)) == len(demo_data.generate(3, ANCHOR).debtors)


def test_open_amounts_equal_amount_plus_changes(uow):
    with uow() as u:
        demo.load_demo(u, seed=5, anchor=ANCHOR)
        s = u.session
        changes = dict(s.execute(select(InvoiceChange.invoice_id, func.sum(InvoiceChange.delta_cents))
                                 .group_by(InvoiceChange.invoice_id)).all())
        for inv in s.scalars(select(Invoice)):
            assert inv.open_cents == inv.amount_cents + changes.get(inv.id, 0)
            assert (inv.settled_date is not None) == (inv.open_cents == 0)


def test_ageing_of_a_past_date_is_what_was_open_then(uow):
    with uow() as u:
        demo.load_demo(u, seed=5, anchor=ANCHOR)
        past = ANCHOR - timedelta(days=120)
        report = analytics.ageing_report(u, past)
        s = u.session
        expected = 0
        for inv in s.scalars(select(Invoice).where(Invoice.invoice_date <= past, Invoice.currency == "EUR")):
            expected += inv.amount_cents + sum(c.delta_cents for c in inv.changes if c.change_date <= past)
        assert report.totals["EUR"]["total"] == expected
        assert report.totals["EUR"]["total"] != analytics.ageing_report(u, ANCHOR).totals["EUR"]["total"]


def test_removing_the_demo_leaves_an_empty_ledger_and_an_audit_entry(uow):
    with uow() as u:
        demo.load_demo(u, seed=1, anchor=ANCHOR)
    with uow() as u:
        assert demo.remove_demo(u, actor="alice") > 0
    with uow() as u:
        assert not demo.demo_present(u)
        assert u.session.scalar(select(func.count()).select_from(Invoice)) == 0
        log = audit.audit_log(u, actor="alice")
        assert log["action"].tolist() == ["demo.remove"]


def test_first_start_creates_an_admin_with_a_random_password_and_loads_the_demo(engine):
    first = startup.bootstrap(engine)
    assert first.admin_password and first.demo_loaded
    assert users.check_password("admin", first.admin_password)
    second = startup.bootstrap(engine)
    assert second.admin_password is None and not second.demo_loaded
    other = users.login_cookie().key
    assert len(other) >= 32


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "receivables", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


def test_the_command_line_lists_its_commands():
    res = run_cli("--help")
    assert res.returncode == 0 and res.stdout.startswith("usage: python -m receivables")
    listed = res.stdout.split("positional arguments:")[1]
    for command in ("demo", "demo-remove", "users", "report", "remind", "queue", "send", "import"):
        assert f"\n    {command} " in listed


def test_cli_reports_ageing_as_json(engine):
    assert run_cli("demo", "--seed", "2", "--as-of", ANCHOR.isoformat()).returncode == 0
    res = run_cli("report", "ageing", "--as-of", ANCHOR.isoformat(), "--format", "json")
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    reports = data if isinstance(data, list) else [data]
    eur = next(r for r in reports if r["currency"] == "EUR")
    assert eur["buckets"] == ["not_due", "1-30", "31-60", "61-90", "90+"]
    assert round(sum(d["total"] for d in eur["debtors"]), 2) == eur["totals"]["total"]
    assert round(sum(eur["totals"][b] for b in eur["buckets"]), 2) == eur["totals"]["total"]


def test_cli_errors_are_one_line_on_stderr(engine):
    res = run_cli("report", "ageing", "--as-of", "31-02-2024")
    assert res.returncode != 0 and "YYYY-MM-DD" in res.stderr
    res = run_cli("users", "add", "Bad Name!", "--role", "viewer")
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and "not a valid user name" in res.stderr


def test_cli_manages_users(engine):
    res = run_cli("users", "add", "carla", "--role", "collector")
    assert res.returncode == 0
    password = res.stdout.strip().rsplit(" ", 1)[-1]
    assert users.check_password("carla", password)
    res = run_cli("users", "reset-password", "carla")
    assert not users.check_password("carla", password)
    assert users.check_password("carla", res.stdout.strip().rsplit(" ", 1)[-1])


@pytest.mark.parametrize("chosen, problem", [("welkom2026!!", "most common passwords"),
                                             ("dirk", "at least 12 characters"),
                                             ("dirk-dirk-dirk", "not be the user name")])
def test_a_password_chosen_on_the_command_line_must_meet_the_policy(engine, chosen, problem):
    res = subprocess.run([sys.executable, "-m", "receivables", "users", "add", "dirk", "--role", "viewer",
                          "--password-stdin"], cwd=ROOT, capture_output=True, text=True, input=chosen + "\n",
                         timeout=120)
    assert res.returncode == 2 and problem in res.stderr
    assert "dirk" not in [u.username for u in users.list_users()]


def test_a_good_chosen_password_is_set_and_never_printed(engine):
    for args in (("add", "dirk", "--role", "viewer"), ("reset-password", "dirk")):
        chosen = "Ledger-Tulip-47-Oven" if args[0] == "add" else "Invoice-Harbour-92-Kite"
        res = subprocess.run([sys.executable, "-m", "receivables", "users", *args, "--password-stdin"], cwd=ROOT,
                             capture_output=True, text=True, input=chosen + "\n", timeout=120)
        assert res.returncode == 0, res.stderr
        assert chosen not in res.stdout and users.check_password("dirk", chosen)
