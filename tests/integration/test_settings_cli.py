"""`python -m receivables settings`: the reminder settings the Settings page edits, through the same checks."""

import json
import subprocess
import sys

from db.uow import UnitOfWork
from receivables.domain import tracks
from receivables.services import audit, reminder_settings
from receivables.services.settings import get_setting
from tests.conftest import ROOT


def run_cli(*args, stdin: str | None = None):
    return subprocess.run([sys.executable, "-m", "receivables", *args], cwd=ROOT, capture_output=True, text=True,
                          input=stdin, timeout=180)


def test_rules_shown_as_choices_can_be_changed_and_set_again_and_choose_the_track(engine):
    shown = run_cli("settings", "show", "reminder.rules")
    assert shown.returncode == 0, shown.stderr
    rules = json.loads(shown.stdout)
    assert rules[1]["conditions"] == [{"signal": "avg_days_late", "op": ">=", "value": 30.0}]
    rules.insert(-1, {"track": "strict", "label": "Often a month late",
                      "conditions": [{"signal": "share_paid_late_30", "op": ">=", "value": 0.4}]})
    done = run_cli("settings", "set", "reminder.rules", "-", stdin=json.dumps(rules))
    assert done.returncode == 0, done.stderr
    with UnitOfWork(engine) as uow:
        cfg = reminder_settings.load_settings(uow.session)
        log = audit.audit_log(uow, action="setting.change")
    assert cfg.rules[-2].when == "share_paid_late_30 >= 0.4"
    slow_payer = {"invoices_paid": 10, "avg_days_late": 12, "share_paid_late": 0.6, "share_paid_late_30": 0.5}
    assert tracks.choose_track(slow_payer, cfg.rules)[0] == "strict"
    assert list(log["actor"]) == ["cli"]


def test_an_impossible_rule_from_the_command_line_is_refused_and_nothing_is_stored(engine):
    rules = [{"track": "strict", "conditions": [{"signal": "share_paid_late", "op": ">=", "value": 1.5}]},
             {"track": "standard", "when": ""}]
    res = run_cli("settings", "set", "reminder.rules", "-", stdin=json.dumps(rules))
    assert res.returncode == 2
    assert res.stderr.strip() == "error: rule 1: a share is a percentage between 0 and 100"
    with UnitOfWork(engine) as uow:
        assert get_setting(uow.session, reminder_settings.RULES_KEY) is None
