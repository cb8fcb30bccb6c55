"""Sender throughput against a local SMTP server, next to a bare smtplib loop in the same run.

    python bench/bench_send.py --messages 1000 --rounds 3

A local aiosmtpd (its own process, a handler that only counts) receives everything; by default the whole
measurement is made twice, against a server that offers PIPELINING (RFC 2920: the sender then sends MAIL,
RCPT and DATA in one write; smtplib's sendmail never does) and one that does not (`--server`). Once: the reminder
engine proposes one message per debtor and they are approved (the EPC QR image of each is drawn then, as
in the app; that time is reported too). Each round:
1. `send_batch` sends them (re-check, claim, MIME with the EPC QR, SMTP, the journal, record: the real
   thing);
2. the same messages, rendered to bytes beforehand, go out again through a bare smtplib loop over one
   connection (`sendmail` per message, nothing else).
The ratio is sender throughput / bare throughput (median over the rounds); the CPU time this process
spends a message in each is printed too (the server's is not in it). Also measured: the same with
messages that carry no QR code. (The QR image on its own: bench/bench_qr.py.)

    python bench/bench_send.py --messages 1000 --rounds 3 --email-message

builds every message with the standard library's `email.message.EmailMessage` (policy SMTP) instead of
emails.mime's own assembly, for the sender and the bare loop alike, to show what that costs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from datetime import UTC, date, datetime, timedelta
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, select, update  # noqa: E402

from bench.dbarg import HELP, bench_database, describe  # noqa: E402
from db.engine import make_engine, upgrade  # noqa: E402
from db.models import Debtor, ImportBatch, Invoice, Message, SendAttempt  # noqa: E402
from db.uow import UnitOfWork  # noqa: E402
from emails import mime  # noqa: E402
from emails.transport import SmtpTransport  # noqa: E402
from receivables.domain.contacts import AddressError, check_address, parse_mailbox  # noqa: E402
from receivables.services import queue, reminders, sending  # noqa: E402

SERVER = textwrap.dedent("""
    import sys, time
    from aiosmtpd.controller import Controller
    class Sink:
        count = 0
        async def handle_EHLO(self, server, session, envelope, hostname, responses):
            session.host_name = hostname
            if sys.argv[2] == "pipelining":  # aiosmtpd reads pipelined commands in order but does not say so
                responses.insert(-1, "250-PIPELINING")
            return responses
        async def handle_DATA(self, server, session, envelope):
            Sink.count += 1
            return "250 OK"
    c = Controller(Sink(), hostname="127.0.0.1", port=int(sys.argv[1]))
    c.start()
    print("ready", flush=True)
    sys.stdin.readline()  # until the benchmark closes our stdin
    c.stop()
""")

SETTINGS = sending.SendSettings("Debiteuren Voorbeeld <ar@example.nl>", "debiteuren@example.nl",
                                rate_per_minute=0, max_attempts=3, retry_seconds=1)
PAYMENT = {"iban": "NL91ABNA0417164300", "bic": "ABNANL2A", "beneficiary": "Voorbeeld Groothandel BV"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_ledger(engine, n: int, today: date) -> None:
    with UnitOfWork(engine) as u:
        s = u.session
        s.add(ImportBatch(kind="open-items", mode="full", file_name="bench.csv", file_hash="bench", as_of=today,
                          imported_by="bench"))
        s.execute(insert(Debtor), [{"code": f"B{i:05d}", "name": f"Klant {i} B.V.", "email": f"ap{i}@example.nl",
                                    "language": "nl" if i % 3 else "en"} for i in range(1, n + 1)])
        ids = dict(s.execute(select(Debtor.code, Debtor.id)).all())
        s.execute(insert(Invoice), [
            {"number": f"2026-{i:05d}", "debtor_id": ids[f"B{i:05d}"], "invoice_date": today - timedelta(days=40),
             "due_date": today - timedelta(days=10), "amount_cents": 50_000 + 137 * i, "open_cents": 50_000 + 137 * i,
             "description": "Levering volgens order"} for i in range(1, n + 1)])
        u.commit()
    with UnitOfWork(engine) as u:
        reminders.save_setting(u, reminders.PAYMENT_KEY, PAYMENT, actor="bench")


def propose_and_approve(engine, today: date, qr: bool) -> int:
    with UnitOfWork(engine, immediate=True) as u:
        reminders.generate(u, today, actor="bench")
    with UnitOfWork(engine, immediate=True) as u:  # steps that need approval get it
        proposed = u.session.scalars(select(Message.id).where(Message.status == "proposed",
                                                              Message.channel == "email")).all()
        if proposed:
            queue.transition(u, proposed, "approve", actor="bench")
    with UnitOfWork(engine) as u:
        ids = u.session.scalars(select(Message.id).where(Message.status == "approved")).all()
    if not qr:
        with UnitOfWork(engine) as u:
            for m in u.session.scalars(select(Message)):
                m.body_html = mime.strip_qr_image(m.body_html)
                m.qr_payload = m.qr_png = None
            u.commit()
    return len(ids)


def reset(engine) -> None:
    """The messages back to approved, as if they had never been sent."""
    with UnitOfWork(engine) as u:
        u.session.execute(update(Message).values(status="approved", sent_at=None, smtp_message_id=None,
                                                 attempts=0, last_error=None, next_attempt_at=None))
        u.session.execute(SendAttempt.__table__.delete())
        u.commit()


def prerender(engine, today: date) -> list:
    """Every approved message as wire bytes, exactly as the sender builds them."""
    out = []
    with UnitOfWork(engine) as u:
        for c in sending._load(u.session, where=sending._due_filter(today, sending.utcnow()), qr=True):
            qr = sending._qr_png(u, c)
            out.append(sending.compose(c, SETTINGS, mime.make_message_id(SETTINGS.from_addr, c.id),
                                       sending.utcnow(), qr))
    return out


def bare(port: int, built: list) -> tuple[float, float]:
    """Seconds, and seconds of this process's CPU."""
    started, cpu = time.perf_counter(), time.process_time()
    smtp = smtplib.SMTP("127.0.0.1", port)
    for b in built:
        smtp.sendmail(b.envelope_from, list(b.recipients), b.data)
    smtp.quit()
    return time.perf_counter() - started, time.process_time() - cpu


def sender(engine, port: int, today: date) -> tuple[float, float, int]:
    """Seconds, seconds of this process's CPU, and how many were sent."""
    started, cpu = time.perf_counter(), time.process_time()
    with UnitOfWork(engine, immediate=True) as u:
        result = sending.send_batch(u, SmtpTransport("127.0.0.1", port, "none"), SETTINGS, today=today,
                                    actor="bench")
    assert result.failed == 0 and result.error is None, result.summary()
    return time.perf_counter() - started, time.process_time() - cpu, result.sent


def run(n: int, rounds: int, qr: bool, url: str | None, port: int) -> dict:
    today = date.today()
    tmp = tempfile.mkdtemp(prefix="bench-send-")
    os.environ["DEBTOR_DESK_JOURNAL"] = f"{tmp}/journal"  # the sender's journal, beside the database
    engine = make_engine(url or f"sqlite:///{tmp}/bench.db")
    upgrade(engine)
    make_ledger(engine, n, today)
    started = time.perf_counter()
    approved = propose_and_approve(engine, today, qr)
    render_ms = (time.perf_counter() - started) / max(1, approved) * 1000
    built = prerender(engine, today)
    sizes = sorted(len(b.data) for b in built)
    rows = []
    for r in range(rounds):
        reset(engine)
        if r % 2 == 0:
            t_sender, cpu_sender, sent = sender(engine, port, today)
            t_bare, cpu_bare = bare(port, built)
        else:
            t_bare, cpu_bare = bare(port, built)
            t_sender, cpu_sender, sent = sender(engine, port, today)
        assert sent == approved == len(built), (sent, approved, len(built))
        rows.append({"sender_per_s": sent / t_sender, "bare_per_s": len(built) / t_bare,
                     "sender_cpu_ms": cpu_sender / sent * 1000, "bare_cpu_ms": cpu_bare / len(built) * 1000})
        print(f"  round {r + 1}: sender {rows[-1]['sender_per_s']:.0f}/s, bare {rows[-1]['bare_per_s']:.0f}/s "
              f"(client CPU a message: {rows[-1]['sender_cpu_ms']:.2f} ms and {rows[-1]['bare_cpu_ms']:.2f} ms)",
              flush=True)
    engine.dispose()
    s = statistics.median(x["sender_per_s"] for x in rows)
    b = statistics.median(x["bare_per_s"] for x in rows)
    return {"messages": approved, "qr": qr, "database": engine.dialect.name, "median_message_bytes": sizes[len(sizes) // 2],
            "render_and_approve_ms_per_message": round(render_ms, 2),
            "sender_per_s": round(s, 1), "bare_per_s": round(b, 1), "ratio": round(s / b, 3),
            "sender_cpu_ms": round(statistics.median(x["sender_cpu_ms"] for x in rows), 3),
            "bare_cpu_ms": round(statistics.median(x["bare_cpu_ms"] for x in rows), 3), "rounds": rows}


def email_message_mime(mail: mime.OutgoingMail) -> mime.BuiltMail:
    """emails.mime.build_mime's message, built by the standard library: the same checks, the same parts,
    `EmailMessage` with policy SMTP putting the headers and parts together."""
    name, envelope_from = parse_mailbox(mail.from_addr)
    to = tuple(check_address(a) for a in mail.to)
    if not to:
        raise AddressError("there is no e-mail address to send to")
    message_id = mail.message_id or mime.make_message_id(mail.from_addr)
    if not re.fullmatch(r"<[^<>\s@]+@[^<>\s@]+>", message_id):
        raise AddressError(f"{message_id!r} is not a valid Message-ID")
    msg = EmailMessage(policy=policy.SMTP)
    msg["Date"] = (mail.date or datetime.now(UTC)).replace(microsecond=0)
    msg["From"] = Address(mime.clean_header_text(name), addr_spec=envelope_from)
    if mail.reply_to:
        reply_name, reply_addr = parse_mailbox(mail.reply_to)
        msg["Reply-To"] = Address(mime.clean_header_text(reply_name), addr_spec=reply_addr)
    msg["To"] = ", ".join(to)
    msg["Subject"] = mime.clean_header_text(mail.subject)
    msg["Message-ID"] = message_id
    msg.set_content(mail.text, cte="quoted-printable")
    html = mail.html or ""
    if html and mail.qr_png is None:
        html = mime.strip_qr_image(html)
    if html:
        msg.add_alternative(html, subtype="html", cte="quoted-printable")
        if mail.qr_png is not None and f"cid:{mime.QR_CID}" in html:
            msg.get_payload()[1].add_related(mail.qr_png, "image", "png", cid=f"<{mime.QR_CID}>",
                                             disposition="inline", filename="epc-qr.png")
    for att in mail.attachments:
        maintype, subtype = att.mime_type.split("/")
        msg.add_attachment(att.content, maintype, subtype, filename=mime.clean_header_text(att.filename))
    return mime.BuiltMail(envelope_from, to, message_id, msg.as_bytes())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--db", "--database-url", dest="db", default=None, help=HELP)
    ap.add_argument("--json", default=None, help="also write the results to this file")
    ap.add_argument("--email-message", action="store_true",
                    help="build the messages with email.message.EmailMessage (policy SMTP) instead")
    ap.add_argument("--server", choices=("plain", "pipelining", "both"), default="both",
                    help="the local server offers PIPELINING (RFC 2920, as Postfix, Exim and the large mail "
                         "services do), does not (aiosmtpd as it comes), or one run each (default)")
    args = ap.parse_args()
    if args.email_message:
        mime.build_mime = email_message_mime  # the sender and the bare loop's messages alike
    kinds = {"plain": ["plain"], "pipelining": ["pipelining"], "both": ["plain", "pipelining"]}[args.server]
    servers = {}
    try:
        for kind in kinds:
            port = free_port()
            servers[kind] = (port, subprocess.Popen([sys.executable, "-c", SERVER, str(port), kind],
                                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True))
            assert servers[kind][1].stdout.readline().strip() == "ready"
        results = {"cpus": os.cpu_count(), "load_average": os.getloadavg(),
                   "mime": "email.message.EmailMessage" if args.email_message else "emails.mime"}
        print(f"MIME built by {results['mime']}; load average {results['load_average'][0]:.1f}", flush=True)
        for kind in kinds:
            port = servers[kind][0]
            for qr in (True, False):
                key = ("pipelining_" if kind == "pipelining" else "") + ("with_qr" if qr else "without_qr")
                print(f"{args.messages} messages, {'with' if qr else 'without'} the QR code, to a server that "
                      f"{'offers PIPELINING' if kind == 'pipelining' else 'does not offer PIPELINING'}:", flush=True)
                with bench_database(args.db, "bench_send") as url:
                    results[key] = r = run(args.messages, args.rounds, qr, url, port)
                    results["database"] = describe(url)
                print(f"  median: sender {r['sender_per_s']}/s, bare smtplib {r['bare_per_s']}/s, "
                      f"ratio {r['ratio']} (generating and approving took "
                      f"{r['render_and_approve_ms_per_message']} ms a message)", flush=True)
        results["load_average_after"] = os.getloadavg()
        print(f"database: {results['database']}; load average at the end {results['load_average_after'][0]:.1f}",
              flush=True)
    finally:
        for _, server in servers.values():
            server.stdin.close()
            server.wait(timeout=30)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
