"""The portal's own mails (the link confirming a new address, the answer to a rejected dispute) against a
real SMTP server and real SQLite and PostgreSQL: written with what they tell, sent exactly once like the
reminders, and one left in doubt by a crash is not sent again by itself."""

from __future__ import annotations

import collections
import re
import subprocess
import sys
import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from db.models import Debtor, Invoice, PortalMail
from emails.transport import SmtpTransport
from receivables.domain import messages
from receivables.services import portal, portal_links, portal_mail, sending
from receivables.services.errors import ServiceError
from tests.conftest import ROOT
from tests.integration import test_send_support as support
from tests.integration.test_send_support import seed, settings

KEY = "k3Y-for-the-portal-mail-tests-9f8e7d6c5b4a3210ZYXW"
URL = "https://pay.example.test"
CLIENT = "203.0.113.9"
smtp_server = support.smtp_server  # the fixture
WHY = "De levering is op 3 mei getekend ontvangen."


@pytest.fixture(autouse=True)
def portal_address(monkeypatch):
    monkeypatch.setenv("PORTAL_URL", URL)
    monkeypatch.setenv("PORTAL_SECRET_KEY", KEY)


def smtp(port: int) -> SmtpTransport:
    return SmtpTransport("127.0.0.1", port, "none", timeout=10)


def disputed(uow) -> str:
    """One debtor with an approved reminder; its invoice disputed. The invoice number."""
    seed(uow, 1)
    with uow() as u:
        inv = u.session.scalars(select(Invoice)).one()
        inv.disputed = True
        u.commit()
        return inv.number


def token(uow) -> str:
    with uow() as u:
        debtor = u.session.scalars(select(Debtor)).one()
        return portal_links.make_token(debtor.id, 1, debtor.portal_generation)


def mails(uow) -> dict[int, str]:
    with uow() as u:
        return dict(u.session.execute(select(PortalMail.id, PortalMail.status)).all())


def rejections(server) -> list:
    return [m for m in server.messages if str(m.message["Subject"]).startswith("Uw bezwaar tegen factuur")]


def test_a_rejected_dispute_is_mailed_once_however_often_the_sender_runs(uow, smtp_server):
    number = disputed(uow)
    smtp_server.data_replies = ["451 4.3.0 try again later"]
    with uow() as u, pytest.raises(ServiceError, match="next sending run"):
        portal.reject_dispute(u, "D001", number, WHY, actor="carla", transport=smtp(smtp_server.port),
                              send_settings=settings())
    with uow() as u:  # the rejection stands, and its mail waits: neither without the other
        assert not u.session.scalar(select(Invoice.disputed))
    assert list(mails(uow).values()) == ["queued"] and smtp_server.messages == []

    def run():
        with uow(immediate=True) as u:
            sending.send_batch(u, smtp(smtp_server.port), settings(), today=date.today(), actor="cron",
                               sleep=lambda s: None)

    runs = [threading.Thread(target=run) for _ in range(2)]  # two senders at once
    for t in runs:
        t.start()
    for t in runs:
        t.join()
    run()  # and once more
    arrived = rejections(smtp_server)
    assert len(arrived) == 1 and WHY in arrived[0].message.get_body(("plain",)).get_content()
    assert list(mails(uow).values()) == ["sent"]


def test_the_confirmation_link_arrives_once_and_confirms_the_new_address(uow, smtp_server):
    seed(uow, 1)
    link = token(uow)
    with uow() as u:
        portal.request_address_change(u, link, CLIENT, "boekhouding@klant1.nl", transport=smtp(smtp_server.port),
                                      send_settings=settings())
    for _ in range(2):  # later runs of the sender leave a sent confirmation alone
        with uow() as u:
            assert portal_mail.deliver(u, smtp(smtp_server.port), settings()) == []
    [mail] = [m for m in smtp_server.messages if m.rcpt_tos == ["boekhouding@klant1.nl"]]
    code = re.search(r"\?confirm=([A-Za-z0-9_-]+)", mail.message.get_body(("plain",)).get_content()).group(1)
    with uow() as u:
        stored = u.session.scalar(select(PortalMail.body_text))
    assert code not in stored and portal_mail.CONFIRM_MARK in stored  # only its hash is kept
    with uow() as u:
        assert portal.confirm_address(u, code, CLIENT) == "boekhouding@klant1.nl"


DIE_IN_CONVERSATION = """
import os, sys
from db.engine import make_engine
from db.uow import UnitOfWork
from emails.transport import SmtpTransport
from receivables.services import portal_mail
from tests.integration.test_send_support import settings

def die(*args, **kwargs):
    os._exit(9)  # the server has the mail, the process dies before its answer is on record

portal_mail._record = die
with UnitOfWork(make_engine()) as u:
    portal_mail.deliver(u, SmtpTransport("127.0.0.1", int(sys.argv[1]), "none"), settings())
"""


def test_a_crash_between_claim_and_record_leaves_the_mail_in_doubt_not_sent_again(uow, smtp_server):
    number = disputed(uow)
    smtp_server.data_replies = ["451 4.3.0 try again later"]
    with uow() as u, pytest.raises(ServiceError, match="next sending run"):
        portal.reject_dispute(u, "D001", number, WHY, actor="carla", transport=smtp(smtp_server.port),
                              send_settings=settings())
    died = subprocess.run([sys.executable, "-c", DIE_IN_CONVERSATION, str(smtp_server.port)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert died.returncode == 9, died.stderr
    assert len(rejections(smtp_server)) == 1 and list(mails(uow).values()) == ["sending"]
    with uow(immediate=True) as u:  # the next runs do not send it blindly
        sending.send_batch(u, smtp(smtp_server.port), settings(), today=date.today(), actor="cron",
                           sleep=lambda s: None)
    with uow() as u:
        assert portal_mail.deliver(u, smtp(smtp_server.port), settings()) == []
        [doubt] = portal_mail.in_doubt(u)
    assert len(rejections(smtp_server)) == 1 and doubt.in_flight and doubt.message_id
    later = doubt.claimed_at + messages.ON_ITS_WAY + timedelta(minutes=1)
    with uow() as u:  # a person looked: it did not arrive; it goes again, with the same Message-ID
        with pytest.raises(ServiceError, match="may still be on its way"):
            portal_mail.confirm_resend(u, doubt.id, actor="carla")
        portal_mail.confirm_resend(u, doubt.id, actor="carla", now=later)
    with uow() as u:
        assert [o.outcome for o in portal_mail.deliver(u, smtp(smtp_server.port), settings())] == ["sent"]
    ids = collections.Counter(m.message_id for m in rejections(smtp_server))
    assert list(ids.values()) == [2] and str(doubt.message_id) in ids
    assert list(mails(uow).values()) == ["sent"]
