"""`python -m receivables send` as the cron job runs it: a real process, a real SMTP server, SQLite and
PostgreSQL. Includes the process killed mid-batch and two senders at once."""

from __future__ import annotations

import collections
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from db.models import Message
from receivables import sending
from receivables.uow import UnitOfWork
from tests.conftest import ROOT
from tests.integration import test_send_support as support
from tests.integration.test_send_support import free_port, seed, smtp_env, statuses

smtp_server = support.smtp_server  # the fixture


@pytest.fixture
def lite(sqlite_engine):
    """Output, exit codes and settings do not depend on the database: SQLite only, to keep the suite quick."""
    return lambda **kw: UnitOfWork(sqlite_engine, **kw)


def cli(*args, env=None, timeout=120, **kw):
    return subprocess.run([sys.executable, "-m", "receivables", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=timeout, stdin=subprocess.DEVNULL, **kw)


def popen(*args, env=None):
    return subprocess.Popen([sys.executable, "-m", "receivables", *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})},
                            stdin=subprocess.DEVNULL)


def test_send_prints_the_counts_and_exits_0_when_nothing_failed(lite, smtp_server):
    seed(lite, 3)
    run = cli("send", env=smtp_env(smtp_server.port))
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines()[-1] == "sent 3, failed 0, cancelled 0"
    assert len(smtp_server.messages) == 3


def test_send_exits_1_when_a_message_failed(lite, smtp_server):
    seed(lite, 2)
    smtp_server.rcpt_replies["debtor2@example.nl"] = "550 5.1.1 unknown user"
    run = cli("send", env=smtp_env(smtp_server.port))
    assert run.returncode == 1
    assert "sent 1, failed 1, cancelled 0" in run.stdout and "550 5.1.1 unknown user" in run.stdout


def test_dry_run_shows_the_messages_and_changes_nothing(lite, smtp_server):
    ids = seed(lite, 2)
    run = cli("send", "--dry-run", "--limit", "1", env=smtp_env(smtp_server.port))
    assert run.returncode == 0, run.stderr
    assert f"#{ids[0]} D001 -> debtor1@example.nl" in run.stdout and f"#{ids[1]}" not in run.stdout
    assert "would send 1" in run.stdout
    assert set(statuses(lite).values()) == {"approved"} and smtp_server.messages == []


def test_without_a_server_send_says_how_to_configure_one_and_the_outbox_works(lite, tmp_path):
    seed(lite, 2)
    run = cli("send")
    assert run.returncode == 2 and "no SMTP server is configured" in run.stderr and "--outbox" in run.stderr
    run = cli("send", "--outbox")
    assert run.returncode == 0, run.stderr
    assert "sent 2, failed 0, cancelled 0" in run.stdout
    assert len(list(Path(os.environ["DEBTOR_DESK_OUTBOX"]).glob("*.eml"))) == 2


def test_a_missing_password_is_an_error_and_never_a_prompt(lite, smtp_server):
    seed(lite, 1)
    env = smtp_env(smtp_server.port, SMTP_USER="ar@example.nl")
    started = time.monotonic()
    run = subprocess.run([sys.executable, "-m", "receivables", "send"], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, **env}, timeout=60, stdin=subprocess.PIPE)  # stdin left open
    assert run.returncode == 2 and "SMTP_PASSWORD" in run.stderr
    assert time.monotonic() - started < 60 and "Password for" not in run.stdout + run.stderr


def test_settings_come_from_secrets_toml_and_the_environment_wins(lite, smtp_server):
    seed(lite, 1)
    Path(os.environ["DEBTOR_DESK_SECRETS"]).write_text(
        f'[smtp]\nhost = "127.0.0.1"\nport = {free_port()}\nsecurity = "none"\nfrom = "ar@example.nl"\n'
        'rate_per_minute = 0\n', encoding="utf-8")
    run = cli("send", env={"SMTP_PORT": str(smtp_server.port)})
    assert run.returncode == 0, run.stderr
    assert len(smtp_server.messages) == 1 and smtp_server.messages[0].mail_from == "ar@example.nl"


def test_a_sender_killed_mid_batch_and_restarted_sends_nothing_twice(uow, smtp_server):
    ids = seed(uow, 30)
    smtp_server.delay, smtp_server.signal_at = 0.2, 8
    env = smtp_env(smtp_server.port)
    first = popen("send", env=env)
    assert smtp_server.in_data.wait(timeout=90), first.communicate()
    os.kill(first.pid, signal.SIGKILL)  # while the server holds the whole 8th message and has not answered
    first.wait(timeout=30)
    assert first.returncode == -signal.SIGKILL
    time.sleep(0.5)  # the server finishes that conversation: the message did arrive
    smtp_server.delay = 0
    second = cli("send", env=env)
    assert second.returncode == 0, second.stdout + second.stderr

    arrived = collections.Counter(smtp_server.ids())
    state = statuses(uow)
    assert max(arrived.values()) == 1, "a message arrived twice"
    assert len(arrived) == len(ids)
    waiting = [i for i in ids if state[i] == "sending"]
    assert len(waiting) == 1 and arrived[waiting[0]] == 1  # it went out; a person confirms it
    assert all(state[i] == "sent" for i in ids if i not in waiting)
    with uow() as u:
        [stuck] = sending.waiting_for_confirmation(u)
        assert stuck.id == waiting[0] and stuck.message_id == smtp_server.messages[7].message_id
        sent_ids = u.session.scalars(select(Message.smtp_message_id).where(Message.status == "sent")).all()
    assert len(set(sent_ids)) == len(sent_ids) == len(ids) - 1


def test_two_senders_at_once_send_every_message_exactly_once(uow, smtp_server):
    ids = seed(uow, 40)
    smtp_server.delay = 0.02
    env = smtp_env(smtp_server.port)
    runs = [popen("send", env=env), popen("send", env=env)]
    outs = [r.communicate(timeout=180) for r in runs]
    assert [r.returncode for r in runs] == [0, 0], outs
    arrived = collections.Counter(smtp_server.ids())
    assert sorted(arrived) == sorted(ids) and set(arrived.values()) == {1}
    assert set(statuses(uow).values()) == {"sent"}
    totals = [re.fullmatch(r"sent (\d+), failed 0, cancelled 0", out.strip().splitlines()[-1]) for out, _ in outs]
    assert sum(int(m.group(1)) for m in totals) == 40
