"""`python -m receivables send` as the cron job runs it: a real process, a real SMTP server, SQLite and
PostgreSQL. Includes the process killed mid-batch and two senders at once."""

from __future__ import annotations

import collections
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from db.models import AuditEvent, Message
from db.uow import UnitOfWork
from receivables.services import send_confirm, sending
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
    assert "sent 0, exported 2 (not sent until marked sent), failed 0, cancelled 0" in run.stdout
    assert len(list(Path(os.environ["DEBTOR_DESK_OUTBOX"]).glob("*.eml"))) == 2


def test_exported_messages_wait_for_a_person_to_mark_them_sent_and_are_never_sent_by_smtp(lite, smtp_server):
    ids = seed(lite, 3)
    assert cli("send", "--outbox").returncode == 0
    assert set(statuses(lite).values()) == {"exported"}
    again = cli("send", env=smtp_env(smtp_server.port))  # a server configured later sends none of them
    assert again.returncode == 0 and smtp_server.messages == [] and "sent 0" in again.stdout
    listed = cli("send", "waiting")
    assert listed.stdout.strip().splitlines()[-1] == "in doubt 0, exported 3"
    assert all(f"exported #{i} D00{n}" in listed.stdout and ".eml" in listed.stdout for n, i in enumerate(ids, 1))
    wrong = cli("send", "mark-sent", str(ids[0]), "9999")
    assert wrong.returncode == 2 and "9999 (there is no such message)" in wrong.stderr and "nothing was changed" in wrong.stderr
    assert set(statuses(lite).values()) == {"exported"}
    done = cli("send", "mark-sent", str(ids[0]), str(ids[1]))
    assert done.returncode == 0 and done.stdout.strip() == "marked sent 2"
    state = statuses(lite)
    assert [state[i] for i in ids] == ["sent", "sent", "exported"]
    with lite() as u:
        events = u.session.execute(select(AuditEvent.entity_id, AuditEvent.actor)
                                   .where(AuditEvent.action == "send.mark_sent")).all()
    assert sorted(int(e) for e, _ in events) == ids[:2] and {a for _, a in events} == {"cli"}
    twice = cli("send", "mark-sent", str(ids[0]))
    assert twice.returncode == 2 and f"{ids[0]} (sent)" in twice.stderr


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
        [stuck] = send_confirm.waiting_for_confirmation(u)
        assert stuck.id == waiting[0] and stuck.message_id == smtp_server.messages[7].message_id
        sent_ids = u.session.scalars(select(Message.smtp_message_id).where(Message.status == "sent")).all()
    assert len(set(sent_ids)) == len(sent_ids) == len(ids) - 1


def test_a_sender_killed_at_many_points_leaves_at_most_the_message_on_the_wire_in_doubt(uow, smtp_server):
    """kill -9 landing anywhere: in a conversation, while claiming, while recording. After each, what the
    next run does first (reading the dead run's journal) leaves at most one more message in doubt."""
    ids = seed(uow, 160)
    env = smtp_env(smtp_server.port)
    rng = random.Random(19)
    in_doubt: set[int] = set()
    kills = 10
    for kill in range(kills):
        smtp_server.delay = 0.03 if kill % 3 == 2 else 0  # some kills while a slow server holds the message
        before = len(smtp_server.messages)
        run = popen("send", env=env)
        target, deadline = before + rng.randint(2, 10), time.monotonic() + 90
        while len(smtp_server.messages) < target and run.poll() is None and time.monotonic() < deadline:
            time.sleep(0.0005)
        time.sleep(rng.random() * (0.03 if smtp_server.delay else 0.004))
        os.kill(run.pid, signal.SIGKILL)
        assert run.wait(timeout=30) == -signal.SIGKILL, run.communicate()
        time.sleep(smtp_server.delay + 0.05)  # the server finishes what it had
        with uow() as u:
            sending.recover(u, actor="cron")
            stuck = {s.id: s for s in send_confirm.waiting_for_confirmation(u)}
        assert len(set(stuck) - in_doubt) <= 1, f"kill {kill}: {sorted(set(stuck) - in_doubt)}"
        assert set(stuck) >= in_doubt  # nobody confirmed them: they stay
        for i in set(stuck) - in_doubt:  # what is known, for the person who decides
            assert "conversation begun" in stuck[i].last_error and "DATA" in stuck[i].last_error
            assert stuck[i].message_id in stuck[i].last_error and not stuck[i].in_flight
        in_doubt = set(stuck)
    smtp_server.delay = 0
    final = cli("send", env=env)
    assert final.returncode == 0, final.stdout + final.stderr
    assert f"waiting for confirmation {len(in_doubt)}" in final.stderr if in_doubt else True
    assert all(f"#{i} " in final.stderr for i in in_doubt)

    arrived = collections.Counter(smtp_server.ids())
    state = statuses(uow)
    assert max(arrived.values()) == 1, "a message arrived twice"
    assert {i for i in ids if state[i] == "sending"} == in_doubt
    assert all(state[i] == "sent" for i in ids if i not in in_doubt)
    assert set(arrived) == set(ids) - {i for i in in_doubt if i not in arrived}  # nothing lost
    assert len(in_doubt) <= kills


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
