"""A real SMTP server (aiosmtpd on 127.0.0.1, a free port) that records what arrives and can misbehave
on request, and a ledger with approved messages. Shared by the test_send* modules."""

from __future__ import annotations

import asyncio
import email
import socket
import threading
from dataclasses import dataclass
from datetime import date, timedelta
from email import policy

import pytest
from aiosmtpd.controller import Controller

from db.models import Debtor, ImportBatch, Invoice, Message, MessageInvoice
from receivables.services.sending import SendSettings
from receivables.services.settings import put_setting

HTML = ('<html><body><p>Beste klant,</p><p>Factuur {number} staat open.</p>'
        '<img src="cid:epcqr" alt="EPC QR" width="160" height="160"></body></html>')
PAYMENT = {"iban": "NL91ABNA0417164300", "bic": "ABNANL2A", "beneficiary": "Voorbeeld Groothandel BV"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes

    @property
    def message(self):
        return email.message_from_bytes(self.content, policy=policy.default)

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])

    @property
    def our_id(self) -> int:
        return int(self.message_id.split(".")[1])


class Mailbox:
    """The handler: records messages; `data_replies` / `rcpt_replies` / `mail_replies` are answers to give
    instead of accepting (data and mail replies popped one per message), `drop_at_rcpt` / `drop_after_data`
    close the connection; `pipelining` offers RFC 2920 PIPELINING (aiosmtpd reads pipelined commands in
    order, but does not offer it by itself)."""

    def __init__(self, pipelining: bool = False):
        self.pipelining = pipelining
        self.mail_replies: list[str | None] = []
        self.messages: list[Received] = []
        self.connections = 0
        self.data_replies: list[str | None] = []
        self.rcpt_replies: dict[str, str] = {}
        self.drop_at_rcpt: list[bool] = []
        self.drop_after_data: list[bool] = []
        self.delay = 0.0
        self.data_calls = 0
        self.signal_at = 0  # set `in_data` when the n-th message is being received
        self.in_data = threading.Event()
        self.lock = threading.Lock()
        self.port = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        with self.lock:
            self.connections += 1
        if self.pipelining:
            responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.mail_replies:
            reply = self.mail_replies.pop(0)
            if reply:
                return reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.drop_at_rcpt and self.drop_at_rcpt.pop(0):
            server.transport.close()
            return "421 closing"
        if address in self.rcpt_replies:
            return self.rcpt_replies[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.data_calls += 1
            if self.data_calls == self.signal_at:
                self.in_data.set()
        if self.data_replies:
            reply = self.data_replies.pop(0)
            if reply:
                return reply
        with self.lock:  # the server has the message; a slow one answers later
            self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.drop_after_data and self.drop_after_data.pop(0):
            server.transport.close()
        return "250 OK queued"

    def ids(self) -> list[int]:
        with self.lock:
            return [m.our_id for m in self.messages]


def start_server(handler: Mailbox, port: int | None = None) -> Controller:
    handler.port = port or free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=handler.port)
    controller.start()
    return controller


@pytest.fixture
def smtp_server():
    handler = Mailbox()
    controller = start_server(handler)
    yield handler
    controller.stop()


def settings(**kw) -> SendSettings:
    base = dict(from_addr="Debiteuren Voorbeeld <ar@example.nl>", reply_to="debiteuren@example.nl",
                rate_per_minute=0, max_attempts=3, retry_seconds=0.05)
    return SendSettings(**{**base, **kw})


def smtp_env(port: int, **extra) -> dict[str, str]:
    return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port), "SMTP_SECURITY": "none",
            "SMTP_FROM": "Debiteuren Voorbeeld <ar@example.nl>", "SMTP_REPLY_TO": "debiteuren@example.nl",
            "SMTP_RATE_PER_MINUTE": "0", "SMTP_RETRY_SECONDS": "0.05", "SMTP_TIMEOUT": "10", **extra}


def seed(uow, n: int = 3, *, today: date | None = None, recipients: str = "debtor{i}@example.nl",
         invoices: int = 1, edited: bool = False, payment: bool = True, as_of: date | None = None,
         channel: str = "email") -> list[int]:
    """n debtors, each with `invoices` overdue invoices in one approved message planned today."""
    today = today or date.today()
    with uow() as u:
        s = u.session
        s.add(ImportBatch(kind="open-items", mode="full", file_name="open.csv", file_hash=f"h{n}{today}",
                          as_of=as_of or today, imported_by="test"))
        if payment:
            put_setting(s, "reminder.payment", PAYMENT, "system")
        ids = []
        for i in range(1, n + 1):
            d = Debtor(code=f"D{i:03d}", name=f"Klant {i} BV", email=recipients.format(i=i))
            s.add(d)
            s.flush()
            invs = []
            for k in range(invoices):
                cents = 10_000 * i + 100 * k + 50
                inv = Invoice(number=f"2026-{i:03d}-{k}", debtor_id=d.id, invoice_date=today - timedelta(days=60),
                              due_date=today - timedelta(days=30), amount_cents=cents, open_cents=cents)
                s.add(inv)
                invs.append(inv)
            s.flush()
            total = sum(x.open_cents for x in invs)
            m = Message(debtor_id=d.id, track="standard", step_index=1, step_name="reminder",
                        step_key=f"standard/reminder/{i}", channel=channel, status="approved", planned_date=today,
                        recipients=recipients.format(i=i), subject=f"Herinnering openstaande factuur {d.code}",
                        body_text=f"Beste klant,\n\nFactuur {invs[0].number} staat nog open.\n\nMet vriendelijke groet,\n",
                        body_html=HTML.format(number=invs[0].number), total_cents=total, currency="EUR",
                        edited=edited)
            s.add(m)
            s.flush()
            for inv in invs:
                s.add(MessageInvoice(message_id=m.id, invoice_id=inv.id, open_cents=inv.open_cents, active=True))
            ids.append(m.id)
        u.commit()
    return ids


def statuses(uow) -> dict[int, str]:
    from sqlalchemy import select

    with uow() as u:
        return dict(u.session.execute(select(Message.id, Message.status)).all())
