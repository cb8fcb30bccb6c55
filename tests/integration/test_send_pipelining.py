"""The sender against a server that offers PIPELINING (RFC 2920): MAIL, RCPT and DATA go in one write and
their replies are read after it; each refusal is still read, worded and acted on as without it."""

from __future__ import annotations

import smtplib
from datetime import date

import pytest
from sqlalchemy import select

from db.models import Message, SendAttempt
from db.uow import UnitOfWork
from emails.transport import SmtpTransport
from receivables.domain import phrases
from receivables.services import sending
from tests.integration.test_send_support import Mailbox, seed, settings, start_server


@pytest.fixture
def uow(sqlite_engine):
    return lambda **kw: UnitOfWork(sqlite_engine, **kw)


@pytest.fixture(params=[True, False], ids=["pipelining", "one-by-one"])
def server(request):
    handler = Mailbox(pipelining=request.param)
    controller = start_server(handler)
    yield handler
    controller.stop()


@pytest.fixture
def writes(monkeypatch):
    """Each write the client makes to the server, as text."""
    seen: list[bytes] = []
    send = smtplib.SMTP.send

    def counted(self, s):
        seen.append(s if isinstance(s, bytes) else s.encode("ascii"))
        return send(self, s)

    monkeypatch.setattr(smtplib.SMTP, "send", counted)
    return seen


def send(uow, port):
    with uow(immediate=True) as u:
        return sending.send_batch(u, SmtpTransport("127.0.0.1", port, "none", timeout=10), settings(),
                                  today=date.today(), actor="carla", sleep=lambda s: None)


def last(uow, message_id) -> tuple[str, str | None, list[str]]:
    """The message's status, its last problem as the command line says it, and its send history."""
    with uow() as u:
        m = u.session.get(Message, message_id)
        return m.status, str(phrases.load(m.last_error)), list(u.session.scalars(
            select(SendAttempt.outcome).where(SendAttempt.message_id == message_id).order_by(SendAttempt.id)))


def test_with_pipelining_the_envelope_goes_in_one_write_and_every_message_arrives_once(uow, server, writes):
    ids = seed(uow, 4)
    result = send(uow, server.port)
    assert result.summary() == "sent 4, failed 0, cancelled 0"
    assert sorted(server.ids()) == sorted(ids)
    envelopes = [w for w in writes if w.upper().startswith(b"MAIL FROM:")]
    if server.pipelining:
        assert len(envelopes) == 4 and all(w.endswith(b"RCPT TO:<debtor%d@example.nl>\r\nDATA\r\n" % (i + 1))
                                            for i, w in enumerate(envelopes))
    else:
        assert [w.upper() for w in envelopes] == [b"MAIL FROM:<AR@EXAMPLE.NL>\r\n"] * 4  # the command alone


def test_a_refused_sender_is_a_permanent_failure_and_the_next_message_still_goes(uow, server):
    first, second = seed(uow, 2)
    server.mail_replies = ["553 5.7.1 sender not allowed"]
    result = send(uow, server.port)
    assert result.summary() == "sent 1, failed 1, cancelled 0"
    status, error, outcomes = last(uow, first)
    assert status == "failed" and "553 5.7.1 sender not allowed" in error and outcomes == ["permanent"]
    assert server.ids() == [second] and last(uow, second)[0] == "sent"


def test_every_recipient_refused_sends_nothing_and_a_temporary_refusal_is_tried_again(uow, server):
    first, second = seed(uow, 2)
    server.rcpt_replies["debtor1@example.nl"] = "550 5.1.1 no such user here"
    server.rcpt_replies["debtor2@example.nl"] = "450 4.2.1 mailbox busy"
    result = send(uow, server.port)
    assert server.messages == [] and server.data_calls == 0
    status, error, outcomes = last(uow, first)
    assert status == "failed" and "550 5.1.1 no such user here" in error and outcomes == ["permanent"]
    status, error, outcomes = last(uow, second)
    assert status == "failed" and "gave up after 3 tries" in error and outcomes == ["temporary"] * 3
    assert result.failed == 2


def test_a_refused_recipient_beside_a_taken_one_is_noted_and_the_message_goes_to_the_other(uow, server):
    [mid] = seed(uow, 1, recipients="debtor{i}@example.nl, boekhouding{i}@example.nl")
    server.rcpt_replies["debtor1@example.nl"] = "550 5.1.1 no such user here"
    assert send(uow, server.port).sent == 1
    [got] = server.messages
    assert got.rcpt_tos == ["boekhouding1@example.nl"]
    status, error, _ = last(uow, mid)
    assert status == "sent" and "refused debtor1@example.nl (550 5.1.1 no such user here)" in error


def test_a_message_refused_at_data_fails_with_the_servers_words(uow, server):
    [mid] = seed(uow, 1)
    server.data_replies = ["554 5.6.0 message content rejected"]
    assert send(uow, server.port).failed == 1
    status, error, outcomes = last(uow, mid)
    assert status == "failed" and "554 5.6.0 message content rejected" in error and outcomes == ["permanent"]
    assert server.messages == []
