"""A page shows what the command line (or cron, or another app server) wrote, at its next run: its cached
frames are keyed by the data version every committed write raises in the database."""

import json
import subprocess
import sys
from datetime import date, timedelta

from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from db.engine import make_engine
from db.models import Debtor, Note
from db.uow import UnitOfWork
from tests.app.login import log_in
from tests.app.test_ageing_page import PAGE as AGEING
from tests.app.test_ageing_page import demo  # noqa: F401 - a fixture
from tests.app.test_queue_page import ledger  # noqa: F401 - a fixture
from tests.conftest import ROOT


def cli(*args: str) -> str:
    res = subprocess.run([sys.executable, "-m", "receivables", *args], cwd=ROOT, capture_output=True, text=True,
                         timeout=180)
    assert res.returncode == 0, res.stderr
    return res.stdout


def open_page(path) -> AppTest:
    at = AppTest.from_file(str(path), default_timeout=60)
    log_in(at, "carla", "collector")
    return at.run()


def test_the_queue_shows_what_remind_on_the_command_line_proposed_at_its_next_run(ledger):  # noqa: F811
    at = open_page(ROOT / "pages" / "queue.py")
    assert not at.exception
    assert "No messages match" in at.info[0].value
    cli("remind")
    at = at.run()  # the same server process, its caches kept: the next run of the page
    assert not at.exception
    assert not any("No messages match" in i.value for i in at.info)
    listed = at.dataframe[0].value
    assert len(listed) == 2  # the two e-mail reminders; the call task is on the call list


def test_the_ageing_page_shows_an_import_made_on_the_command_line_with_the_command_lines_figures(demo, tmp_path):  # noqa: F811
    at, today = open_page(AGEING), date.today()
    at.date_input(key="ageing_as_of").set_value(today).run()
    if at.get("button_group"):
        at.button_group(key="ageing_currency").set_value("EUR").run()
    assert not at.exception
    before = {r["Code"]: r["Total"] for r in at.dataframe[0].value.to_dict("records")}
    assert "CLI-1" not in before
    due = today - timedelta(days=45)
    path = tmp_path / "more.csv"
    path.write_text("Relatiecode;Relatie;Factuurnummer;Factuurdatum;Vervaldatum;Bedrag;Openstaand\r\n"
                    f"CLI-1;Cron Import B.V.;CLI-F-1;{due - timedelta(days=30):%d-%m-%Y};{due:%d-%m-%Y};"
                    "1.234,56;1.234,56\r\n", encoding="utf-8")
    cli("import", str(path), "--mode", "partial", "--as-of", today.isoformat())
    at = at.run()
    assert not at.exception
    after = {r["Code"]: r for r in at.dataframe[0].value.to_dict("records")}
    assert after["CLI-1"]["Total"] == 1234.56 and after["CLI-1"]["31-60"] == 1234.56
    data = json.loads(cli("report", "ageing", "--as-of", today.isoformat(), "--format", "json"))
    eur = next(r for r in (data if isinstance(data, list) else [data]) if r["currency"] == "EUR")
    assert {r["code"]: r["total"] for r in eur["debtors"]} == {code: r["Total"] for code, r in after.items()}


def test_the_ageing_page_shows_a_track_changed_by_a_write_elsewhere_at_its_next_run(demo):  # noqa: F811
    today = date.today()
    at = open_page(AGEING)
    at.date_input(key="ageing_as_of").set_value(today).run()
    if at.get("button_group"):
        at.button_group(key="ageing_currency").set_value("EUR").run()
    assert not at.exception
    before = {r["Code"]: r["Track"] for r in at.dataframe[0].value.to_dict("records")}
    code = next(c for c, track in sorted(before.items()) if track != "strict")
    engine = make_engine()  # another process's write: two broken promises of one debtor
    try:
        with UnitOfWork(engine) as u:
            debtor_id = u.session.scalar(select(Debtor.id).where(Debtor.code == code))
            for days in (5, 50):
                u.session.add(Note(debtor_id=debtor_id, kind="promise", outcome="broken", promise_cents=100,
                                   promise_date=today - timedelta(days=days), created_by="t"))
            u.commit()
    finally:
        engine.dispose()
    at = at.run()
    assert not at.exception
    after = {r["Code"]: r["Track"] for r in at.dataframe[0].value.to_dict("records")}
    assert after[code] == "strict"
    assert {c: t for c, t in after.items() if c != code} == {c: t for c, t in before.items() if c != code}
