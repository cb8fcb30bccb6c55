"""The EPC QR image is drawn when a message is rendered or approved and kept with it; the sender attaches
the kept image while it still encodes what the message asks for, and draws a fresh one when it does not."""

from __future__ import annotations

import email
import shutil
import subprocess
from datetime import date
from email import policy

import pytest
from sqlalchemy import select, update

from db.models import Invoice, Message, MessageInvoice
from emails.transport import SmtpTransport
from receivables.domain import epc
from receivables.services import queue, reminders, sending
from tests.integration import test_reminders as remind
from tests.integration import test_send_support as support
from tests.integration.test_send_support import PAYMENT, seed, settings

smtp_server = support.smtp_server  # the fixtures
ledger = remind.ledger

def send(uow, port, today=None):
    today = today or date.today()  # read when sending, like the seed: a run that crosses midnight agrees with it
    with uow(immediate=True) as u:
        return sending.send_batch(u, SmtpTransport("127.0.0.1", port, "none", timeout=10), settings(),
                                  today=today, actor="carla", sleep=lambda s: None)


def approve(uow, ids):
    """The seeded messages as a person approves them in the queue."""
    with uow() as u:
        u.session.execute(update(Message).where(Message.id.in_(ids)).values(status="proposed"))
        u.commit()
    with uow() as u:
        queue.transition(u, ids, "approve", actor="carla")


def kept(uow, message_id) -> tuple[str | None, bytes | None]:
    with uow() as u:
        return tuple(u.session.execute(select(Message.qr_payload, Message.qr_png)
                                       .where(Message.id == message_id)).one())


def payload_now(uow, message_id) -> str | None:
    with uow() as u:
        return reminders.payment_payload(u, message_id)


def image_that_arrived(received) -> bytes:
    msg = email.message_from_bytes(received.content, policy=policy.default)
    [png] = [p.get_content() for p in msg.walk() if p.get_content_type() == "image/png"]
    return png


def scanned(png: bytes, tmp_path) -> str:
    if shutil.which("zbarimg") is None:
        pytest.skip("zbarimg (zbar-tools) is not installed")
    path = tmp_path / "qr.png"
    path.write_bytes(png)
    out = subprocess.run(["zbarimg", "--raw", "-q", "-Sbinary", str(path)], capture_output=True, check=True)
    return out.stdout.rstrip(b"\n").decode("utf-8")


def test_approving_keeps_the_qr_of_the_amount_due(uow, tmp_path):
    [mid] = seed(uow, 1, invoices=2)
    assert kept(uow, mid) == (None, None)
    approve(uow, [mid])
    payload, png = kept(uow, mid)
    assert payload == payload_now(uow, mid) and "EUR202.00" in payload.split("\n")  # 100.50 + 101.50
    assert png == epc.qr_png(payload) and scanned(png, tmp_path) == payload


def test_messages_that_need_no_approval_get_their_qr_when_generated(ledger):
    remind.generate(ledger)
    approved = remind.messages(ledger, "approved")
    assert approved  # the reminder step goes out without approval
    for m, _ in approved:
        assert m.qr_payload == payload_now(ledger, m.id) and m.qr_png == epc.qr_png(m.qr_payload)
    for m, _ in remind.messages(ledger, "proposed"):
        assert m.qr_png is None  # drawn when a person approves it


def test_the_kept_image_goes_out_and_none_is_drawn_while_sending(uow, smtp_server, monkeypatch):
    ids = seed(uow, 3)
    approve(uow, ids)

    def drawn(payload, scale=4):
        raise AssertionError("a QR code was drawn while sending")

    monkeypatch.setattr(epc, "qr_png", drawn)
    result = send(uow, smtp_server.port)
    assert result.sent == 3
    for got in smtp_server.messages:
        assert image_that_arrived(got) == kept(uow, got.our_id)[1]


def test_a_message_whose_total_changed_at_the_recheck_goes_out_with_a_fresh_qr(uow, smtp_server, tmp_path):
    [mid] = seed(uow, 1, invoices=2)
    approve(uow, [mid])
    before, _ = kept(uow, mid)
    with uow() as u:  # a partial payment on the first invoice since the approval
        inv = u.session.scalars(select(Invoice).join(MessageInvoice, MessageInvoice.invoice_id == Invoice.id)
                                .where(MessageInvoice.message_id == mid).order_by(Invoice.number)).first()
        inv.open_cents -= 4_000
        u.commit()
    result = send(uow, smtp_server.port)
    assert result.sent == 1
    after, png = kept(uow, mid)
    assert after == payload_now(uow, mid) != before
    assert "EUR162.00" in after.split("\n")  # 202.00 less the 40.00 paid
    [got] = smtp_server.messages
    assert image_that_arrived(got) == png == epc.qr_png(after)
    assert scanned(image_that_arrived(got), tmp_path) == after


def test_payment_details_changed_after_approval_go_out_in_a_fresh_qr(uow, smtp_server):
    [mid] = seed(uow, 1)
    approve(uow, [mid])
    old, old_png = kept(uow, mid)
    with uow() as u:
        reminders.save_setting(u, reminders.PAYMENT_KEY, {**PAYMENT, "iban": "DE89370400440532013000"},
                               actor="admin")
    send(uow, smtp_server.port)
    now = payload_now(uow, mid)
    assert "DE89370400440532013000" in now.split("\n") and now != old
    [got] = smtp_server.messages
    assert image_that_arrived(got) == epc.qr_png(now) != old_png


def test_a_message_without_payment_details_keeps_no_qr_and_goes_out_without_the_image(uow, smtp_server):
    [mid] = seed(uow, 1, payment=False)
    approve(uow, [mid])
    assert kept(uow, mid) == (None, None)
    send(uow, smtp_server.port)
    [got] = smtp_server.messages
    msg = email.message_from_bytes(got.content, policy=policy.default)
    assert "cid:epcqr" not in msg.get_body(("html",)).get_content()
    assert not [p for p in msg.walk() if p.get_content_type() == "image/png"]
