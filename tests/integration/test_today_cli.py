"""`python -m receivables today`: the same worklist as the Today page, for scripts, on SQLite and PostgreSQL."""

import json
import subprocess
import sys
from datetime import date, datetime, timedelta

from db.models import Debtor, InboundMail, Invoice, Message
from receivables.domain.worklist import SOURCES
from tests import user_store
from tests.conftest import ROOT

TODAY = date(2026, 12, 4)


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "receivables", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=180)


def ledger(uow):
    user_store.add_user("carla", "collector", name="Carla de Boer", password="a-long-enough-password-1")
    user_store.add_user("dirk", "collector", name="Dirk Smit", password="a-long-enough-password-2")
    with uow() as u:
        s = u.session
        mine = Debtor(code="100", name="Bakker Bouw B.V.", email="ar@bakker.example", owner="carla",
                      phone="+31 20 555 0101")
        theirs = Debtor(code="200", name="Visser Transport B.V.", email="ar@visser.example", owner="dirk")
        s.add_all([mine, theirs])
        s.flush()
        for d in (mine, theirs):
            s.add(Invoice(number=f"F-{d.code}", debtor_id=d.id, invoice_date=TODAY - timedelta(days=40),
                          due_date=TODAY - timedelta(days=10), amount_cents=121_000, open_cents=121_000))
        s.add(Message(debtor_id=theirs.id, track="standard", step_index=3, step_name="call", step_key="c",
                      channel="call", status="proposed", planned_date=TODAY, total_cents=121_000))
        s.add(InboundMail(key="1:a", kind="reply", from_name="Jan Bakker", from_address="ar@bakker.example",
                          subject="Re: Herinnering", text="Betaald op 2 december.", link="thread", debtor_id=mine.id,
                          sent_at=datetime(2026, 12, 3, 9), paused_until=TODAY + timedelta(days=14)))
        s.add(InboundMail(key="1:b", kind="reply", from_address="info@elders.example", subject="Vraag",
                          text="Welke factuur?", link="unassigned", sent_at=datetime(2026, 12, 2, 9)))
        u.commit()


def test_today_as_json_for_everyone_and_for_one_user(uow):
    ledger(uow)
    res = run_cli("today", "--format", "json", "--today", TODAY.isoformat())
    assert res.returncode == 0, res.stderr
    everyone = json.loads(res.stdout)
    assert everyone["user"] is None and everyone["today"] == "2026-12-04"
    assert everyone["counts"] == {**dict.fromkeys(SOURCES, 0), "reply": 1, "unassigned": 1, "call": 1}
    assert [(i["key"], i["debtor_code"], i["owner"]) for i in everyone["items"]] == [
        ("reply:1", "100", "carla"), ("unassigned:2", None, None), ("call:1", "200", "dirk")]
    reply = everyone["items"][0]
    assert reply["title"] == "Reply from Jan Bakker: Re: Herinnering" and reply["detail"] == "Betaald op 2 december."
    assert everyone["items"][2]["phone"] is None

    res = run_cli("today", "--user", "carla", "--format", "json", "--today", TODAY.isoformat())
    assert [i["key"] for i in json.loads(res.stdout)["items"]] == ["reply:1", "unassigned:2"]


def test_an_item_handed_over_on_the_command_line_is_the_colleagues(uow):
    ledger(uow)
    res = run_cli("today", "hand", "call:1", "carla", "--note", "jij kent ze", "--as", "dirk")
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "call:1 handed to carla"
    res = run_cli("today", "--user", "carla", "--format", "json", "--today", TODAY.isoformat())
    handed = [i for i in json.loads(res.stdout)["items"] if i["key"] == "call:1"]
    assert [(i["owner"], i["handed_by"], i["hand_note"]) for i in handed] == [("carla", "dirk", "jij kent ze")]


def test_the_text_list_and_the_owner_of_a_debtor(uow):
    ledger(uow)
    assert run_cli("today", "owner", "200", "carla").stdout.strip() == "200 is followed by carla"
    res = run_cli("today", "--user", "carla", "--today", TODAY.isoformat())
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0] == ("Today 2026-12-04 for carla: 1 replies to read, 1 mail to assign to a debtor, "
                        "1 calls due")
    assert lines[1].startswith("reply:1") and "100 Reply from Jan Bakker: Re: Herinnering [carla]" in lines[1]
    res = run_cli("today", "owner", "200", "erik")
    assert res.returncode == 2 and "there is no user 'erik'; users: carla, dirk" in res.stderr
