"""The team mailbox service against a real IMAP server (dovecot) and a real database: replies, auto-replies
and bounces delivered into the mailbox, fetched, linked and acted on; the reminder engine then holds or
sends as they say."""

import os
import subprocess
import sys
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from db.models import Debtor, ImportBatch, InboundMail, Invoice, Message, MessageInvoice
from emails.imap import ImapMailbox, ImapSettings
from emails.transport import SmtpTransport
from receivables.domain import phrases
from receivables.services import dossier, imports, mailbox, queue, reminders, sending, today
from receivables.services.errors import ServiceError
from tests import reply_samples as samples
from tests.conftest import ROOT
from tests.integration import test_send_support as support
from tests.integration.imap_server import run_dovecot

TODAY = date(2026, 12, 4)
SENT_ON = date(2026, 11, 20)


@pytest.fixture(scope="module")
def dovecot():
    yield from run_dovecot()


@pytest.fixture
def account(dovecot):
    return dovecot.new_account()


@pytest.fixture
def ledger(uow):
    """Klant B.V. (jan@klant.example) owes one invoice, 15 days overdue; the first reminder went out on
    20 November with the Message-ID the samples answer, so the second reminder is due today."""
    with uow() as u:
        s = u.session
        s.add(ImportBatch(kind="open-items", mode="full", file_name="open.csv", file_hash="h", as_of=TODAY,
                          imported_by="test"))
        d = Debtor(code="100", name="Klant B.V.", email="jan@klant.example", language="nl", track_override="standard")
        other = Debtor(code="200", name="Ander B.V.", email="piet@ander.example", language="nl")
        s.add_all([d, other])
        s.flush()
        inv = Invoice(number="2026-014", debtor_id=d.id, invoice_date=TODAY - timedelta(days=45),
                      due_date=TODAY - timedelta(days=15), amount_cents=121_000, open_cents=121_000)
        s.add(inv)
        s.flush()
        m = Message(debtor_id=d.id, track="standard", step_index=1, step_name="reminder",
                    step_key=f"standard/reminder/EUR/{inv.due_date}", channel="email", status="sent",
                    planned_date=SENT_ON, sent_at=datetime.combine(SENT_ON, datetime.min.time()),
                    recipients="jan@klant.example", subject="Herinnering factuur 2026-014", body_text="",
                    body_html="", smtp_message_id=f"<{samples.SENT_ID}>", total_cents=121_000)
        s.add(m)
        s.flush()
        s.add(MessageInvoice(message_id=m.id, invoice_id=inv.id, open_cents=121_000))
        u.commit()
    return uow


def fetch(uow, account, on=TODAY, **settings):
    with uow(immediate=True) as u:
        return mailbox.fetch(u, ImapMailbox(ImapSettings.from_mapping(account.settings(**settings))), today=on,
                             actor="test")


smtp_server = support.smtp_server  # the fixture


def send_once(uow, server):
    with uow(immediate=True) as u:
        return sending.send_batch(u, SmtpTransport("127.0.0.1", server.port, "none", timeout=10), support.settings(),
                                  today=TODAY, actor="test", sleep=lambda s: None)


def generate(uow, on=TODAY):
    """As the daily job does: after that day's import of the open items."""
    with uow(immediate=True) as u:
        if on != TODAY:
            u.session.add(ImportBatch(kind="open-items", mode="full", file_name="open.csv", file_hash=f"h{on}",
                                      as_of=on, imported_by="test"))
            u.commit()
        return reminders.generate(u, on, actor="test")


def new_steps(uow, code="100"):
    with uow() as u:
        return [(m.step_name, m.status) for m in u.session.scalars(
            select(Message).join(Debtor).where(Debtor.code == code, Message.step_name != "reminder")
            .order_by(Message.id))]


def timeline(uow, code="100", kind="reply"):
    with uow() as u:
        return [e for e in dossier.open_dossier(u, code, TODAY).timeline if e.kind == kind]


def worklist(uow, **kw):
    with uow() as u:
        return today.worklist(u, today=TODAY, **kw)


# --- linking ---------------------------------------------------------------------------------------

def test_a_reply_to_our_reminder_lands_on_the_timeline_and_holds_the_next_reminder_until_handled(ledger, account):
    account.deliver(samples.reply())
    result = fetch(ledger, account)
    assert (result.stored, result.replies) == (1, 1)
    (entry,) = timeline(ledger)
    assert entry.title == "Reply from Jan Jansen <jan@klant.example>: Re: Herinnering factuur 2026-014"
    assert entry.text == "Beste,\n\nWij hebben gisteren betaald."
    assert "answers reminder 'reminder', sent 20-11-2026" in entry.details
    assert account.folder_uids("INBOX") == [] and len(account.folder_uids("Processed")) == 1

    assert generate(ledger).created == 0  # the second reminder does not cross the answer
    assert new_steps(ledger) == []
    (item,) = worklist(ledger).of("reply")
    assert item.debtor_code == "100" and "gisteren betaald" in item.detail

    with ledger(immediate=True) as u:
        mailbox.handle(u, item.ref, "betaling gevonden, bevestigd", actor="carla")
    assert worklist(ledger).of("reply") == []
    assert "Reply of 03-12-2026 handled (Re: Herinnering factuur 2026-014): betaling gevonden, bevestigd" in [
        e.text for e in timeline(ledger, kind="note")]
    generate(ledger)
    assert new_steps(ledger) == [("second_reminder", "approved")]


def test_the_pause_after_a_reply_ends_by_itself_after_the_days_set(ledger, account):
    with ledger() as u:
        mailbox.save_policy(u, reply_pause_days=3, postpone_to_return_date=True, actor="admin")
    account.deliver(samples.reply())
    fetch(ledger, account)
    assert generate(ledger, TODAY + timedelta(days=3)).created == 0
    generate(ledger, TODAY + timedelta(days=4))
    assert new_steps(ledger) == [("second_reminder", "approved")]
    (item,) = worklist(ledger).of("reply")  # still to read: the pause ended, the reply was not handled
    with ledger() as u:
        assert today.worklist(u, today=TODAY + timedelta(days=4)).of("reply")[0].late


def test_a_reply_from_a_contact_address_links_by_sender_and_an_unknown_one_waits_for_a_person(ledger, account):
    account.deliver(samples.reply(message_id="s@ander.example", in_reply_to=None, sender="Piet <PIET@ander.example>"))
    account.deliver(samples.reply(message_id="u@elders.example", in_reply_to=None, sender="boekhouding@elders.example",
                                  subject="Factuur graag opnieuw", body="Kunt u de factuur opnieuw sturen?"))
    result = fetch(ledger, account)
    assert (result.replies, result.unassigned) == (1, 1)
    assert [e.title for e in timeline(ledger, "200")] == ["Reply from Piet <PIET@ander.example>: Re: Herinnering "
                                                          "factuur 2026-014"]
    (item,) = worklist(ledger).of("unassigned")
    assert item.title == "Mail from boekhouding@elders.example: Factuur graag opnieuw" and item.debtor_code is None

    with ledger(immediate=True) as u:
        mailbox.assign(u, item.ref, "100", actor="carla", today=TODAY)
    assert worklist(ledger).of("unassigned") == []
    assert [e.text for e in timeline(ledger)] == ["Kunt u de factuur opnieuw sturen?"]
    assert sorted(i.debtor_code for i in worklist(ledger).of("reply")) == ["100", "200"]
    assert generate(ledger).created == 0  # the assigned reply holds the reminders as a linked one does


def test_a_mail_that_is_no_debtors_is_set_aside_with_a_reason(ledger, account):
    account.deliver(samples.reply(message_id="n@news.example", in_reply_to=None, sender="news@leverancier.example",
                                  subject="Nieuwsbrief"))
    fetch(ledger, account)
    (item,) = worklist(ledger).of("unassigned")
    with ledger() as u:
        with pytest.raises(ServiceError, match="say why"):
            mailbox.set_aside(u, item.ref, " ", actor="carla")
        mailbox.set_aside(u, item.ref, "nieuwsbrief van een leverancier", actor="carla")
    assert worklist(ledger).of("unassigned") == []


def test_attachments_are_kept_and_can_be_downloaded(ledger, account):
    account.deliver(samples.reply_with_attachment(size=4096))
    fetch(ledger, account)
    (entry,) = timeline(ledger)
    assert "attachments: betaalbewijs.pdf" in entry.details
    with ledger() as u:
        (item,) = today.worklist(u, today=TODAY).of("reply")
        view = mailbox.mails(u, [item.ref])[item.ref]
        (attachment_id, name, size, kept), = view.attachments
        got = mailbox.attachment(u, attachment_id)
    assert (name, size, kept) == ("betaalbewijs.pdf", 4096, True)
    assert got.data.startswith(b"%PDF-1.4") and len(got.data) == 4096 and got.content_type == "application/pdf"


def test_html_replies_reach_the_timeline_as_plain_text(ledger, account):
    account.deliver(samples.html_only_reply())
    fetch(ledger, account)
    (entry,) = timeline(ledger)
    assert "Deze factuur klopt niet." in entry.text
    assert "<" not in entry.text and "alert" not in entry.text and "javascript" not in entry.text


def test_a_reply_uploaded_as_eml_before_it_was_fetched_is_on_the_timeline_once(ledger, account):
    with ledger() as u:
        dossier.record_reply(u, "100", actor="carla", eml=samples.reply(), file_name="antwoord.eml")
    account.deliver(samples.reply())
    fetch(ledger, account)
    assert len(timeline(ledger)) == 1
    assert worklist(ledger).of("reply") == []  # a person already recorded it


# --- auto-replies ----------------------------------------------------------------------------------

def test_an_out_of_office_is_filed_and_holds_reminders_until_the_return_date(ledger, account):
    account.deliver(samples.out_of_office_nl())  # away through Monday 4 January 2027
    result = fetch(ledger, account)
    assert (result.auto_replies, result.replies) == (1, 0)
    (entry,) = timeline(ledger)
    assert entry.title.endswith("Automatisch antwoord: Herinnering factuur 2026-014")
    assert worklist(ledger).items == []  # filed: nothing for a person to do
    with ledger() as u:
        assert u.session.scalar(select(Invoice.paused_until)) == date(2027, 1, 4)
    assert generate(ledger).created == 0
    generate(ledger, date(2027, 1, 5))
    assert new_steps(ledger) == [("second_reminder", "approved")]


def test_with_the_setting_off_an_out_of_office_changes_nothing(ledger, account):
    with ledger() as u:
        mailbox.save_policy(u, reply_pause_days=14, postpone_to_return_date=False, actor="admin")
    account.deliver(samples.out_of_office_nl())
    fetch(ledger, account)
    generate(ledger)
    assert new_steps(ledger) == [("second_reminder", "approved")]


def test_an_auto_reply_without_a_return_date_changes_nothing(ledger, account):
    account.deliver(samples.reply(message_id="auto@klant.example", subject="Re: Herinnering",
                                  body="Uw bericht is ontvangen en wordt zo snel mogelijk behandeld.",
                                  headers={"Auto-Submitted": "auto-replied"}))
    assert fetch(ledger, account).auto_replies == 1
    generate(ledger)
    assert new_steps(ledger) == [("second_reminder", "approved")]
    assert worklist(ledger).items == []


# --- bounces ---------------------------------------------------------------------------------------

def test_a_bounce_fails_the_reminder_with_the_servers_words_and_the_debtor_needs_an_address(ledger, account):
    account.deliver(samples.rfc3464_bounce(recipient="jan@klant.example"))
    assert fetch(ledger, account).bounces == 1
    with ledger() as u:
        m = u.session.scalars(select(Message).where(Message.step_name == "reminder")).one()
        d = u.session.scalars(select(Debtor).where(Debtor.code == "100")).one()
        reminder_id = m.id
        assert m.status == "failed"
        assert str(phrases.load(m.last_error)) == ("address bounced: jan@klant.example: 550 5.1.1 <jan@klant.example>: Recipient "
                                "address rejected: User unknown in virtual mailbox table")
        assert (d.email, d.email_bouncing) == (None, "jan@klant.example")
        assert reminders.debtors_without_address(u)["debtor_code"].tolist() == ["100"]
        with pytest.raises(ServiceError, match="no usable reminder address"):
            queue.transition(u, [m.id], "approve", actor="carla")  # not sent again to the same address
    work = worklist(ledger)
    assert [i.title for i in work.of("address")] == ["Address bounced: jan@klant.example"]
    assert "550 5.1.1" in work.of("address")[0].detail
    assert [i.ref for i in work.of("failed")] == [reminder_id]
    assert generate(ledger).created == 0  # the invoice waits at the failed step for a person

    with ledger() as u:  # a person enters the new address and sends the reminder again
        dossier.update_contact(u, "100", emails="nieuw@klant.example", language="nl", actor="carla")
        queue.transition(u, [reminder_id], "approve", actor="carla")
    assert worklist(ledger).items == []


def test_a_bounce_of_one_of_two_addresses_leaves_the_reminder_delivered_to_the_other(ledger, account):
    with ledger() as u:
        d = u.session.scalars(select(Debtor).where(Debtor.code == "100")).one()
        d.email = "jan@klant.example, oud@klant.example"
        u.session.execute(Message.__table__.update().values(recipients="jan@klant.example, oud@klant.example"))
        u.commit()
    account.deliver(samples.rfc3464_bounce(recipient="oud@klant.example"))
    fetch(ledger, account)
    with ledger() as u:
        d = u.session.scalars(select(Debtor).where(Debtor.code == "100")).one()
        assert (d.email, d.email_bouncing) == ("jan@klant.example", "oud@klant.example")
        assert u.session.scalar(select(Message.status).where(Message.step_name == "reminder")) == "sent"
    generate(ledger)
    assert new_steps(ledger) == [("second_reminder", "approved")]


def test_a_bounce_without_our_message_id_links_by_the_failed_recipient(ledger, account):
    account.deliver(samples.gmail_style_bounce(recipient="piet@ander.example").replace(
        samples.SENT_ID.encode(), b"someone-else@example"))
    fetch(ledger, account)
    with ledger() as u:
        d = u.session.scalars(select(Debtor).where(Debtor.code == "200")).one()
        assert (d.email, d.email_bouncing) == (None, "piet@ander.example")
    assert [e.text.splitlines()[0] for e in timeline(ledger, "200")] == [
        "piet@ander.example bounced: 550 5.1.1 The email account that you tried to reach does not exist."]


# --- resuming ---------------------------------------------------------------------------------------

class BreaksOff(ImapMailbox):
    """A fetch that stops (a crash, a lost connection) after storing a message, before moving it."""

    def __init__(self, settings, moves_before_break: int):
        super().__init__(settings)
        self.moves_left = moves_before_break

    def mark_processed(self, uid: str) -> None:
        if self.moves_left == 0:
            raise ConnectionResetError("connection lost")
        self.moves_left -= 1
        super().mark_processed(uid)


def test_an_interrupted_fetch_resumes_without_duplicates(ledger, account):
    for n in range(3):
        account.deliver(samples.reply(message_id=f"m{n}@klant.example", body=f"Antwoord {n}"))
    with ledger(immediate=True) as u:
        box = BreaksOff(ImapSettings.from_mapping(account.settings()), moves_before_break=1)
        with pytest.raises(ServiceError, match="connection lost"):
            mailbox.fetch(u, box, today=TODAY, actor="test")
    assert account.folder_uids("INBOX") == ["2", "3"]  # the second was stored, not moved
    result = fetch(ledger, account)
    assert (result.stored, result.already) == (1, 1)
    assert account.folder_uids("INBOX") == [] and len(account.folder_uids("Processed")) == 3
    with ledger() as u:
        assert u.session.scalar(select(func.count()).select_from(InboundMail)) == 3
    assert sorted(e.text for e in timeline(ledger)) == ["Antwoord 0", "Antwoord 1", "Antwoord 2"]


def test_the_same_mail_delivered_twice_is_kept_once(ledger, account):
    account.deliver(samples.reply())
    account.deliver(samples.reply())
    result = fetch(ledger, account)
    assert (result.stored, result.already) == (1, 1)
    assert len(timeline(ledger)) == 1


def test_mailbox_fetch_on_the_command_line(ledger, account, engine):
    account.deliver(samples.reply())
    account.deliver(samples.out_of_office_nl())
    env = {**os.environ, "IMAP_HOST": "127.0.0.1", "IMAP_PORT": str(account.port), "IMAP_SECURITY": "none",
           "IMAP_USER": account.user, "IMAP_PASSWORD": account.password, "IMAP_TIMEOUT": "10"}
    run = subprocess.run([sys.executable, "-m", "receivables", "mailbox", "fetch", "--today", TODAY.isoformat()],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "read 2: 1 replies, 0 unassigned, 1 auto-replies, 0 bounces"
    check = subprocess.run([sys.executable, "-m", "receivables", "mailbox", "check"], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=120)
    assert check.returncode == 0 and check.stdout.startswith("ok: connected to 127.0.0.1")


def test_mailbox_fetch_without_settings_says_what_to_set(engine):
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMAP_")}
    run = subprocess.run([sys.executable, "-m", "receivables", "mailbox", "fetch"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    assert "no team mailbox is set up: set host, user and password in [imap]" in run.stderr


def test_a_bounced_address_an_import_brings_back_is_not_used_again_until_a_person_confirms_it(ledger, account,
                                                                                              smtp_server):
    account.deliver(samples.rfc3464_bounce(recipient="jan@klant.example"))
    fetch(ledger, account)
    with ledger(immediate=True) as u:  # the next debtor list from the ledger still has the old address
        imports.run_import(u, b"Relatiecode;Naam;E-mail\r\n100;Klant B.V.;jan@klant.example\r\n", "debiteuren.csv",
                           actor="carla", kind="debtors")
    with ledger() as u:
        d = u.session.scalars(select(Debtor).where(Debtor.code == "100")).one()
        assert (d.email, d.email_bouncing) == ("jan@klant.example", "jan@klant.example")
        assert reminders.debtors_without_address(u)["debtor_code"].tolist() == ["100"]
        # a reminder approved before the bounce came in waits for an address instead of going to it
        u.session.execute(Message.__table__.update().where(Message.step_name == "reminder").values(
            status="approved", planned_date=TODAY, sent_at=None, smtp_message_id=None, recipients=None))
        u.commit()
        frame = queue.queue(u)
        assert (frame["recipients"].tolist(), frame["state"].tolist()) == ([""], [queue.NEEDS_ADDRESS])
    assert [i.title for i in worklist(ledger).of("address")] == ["Address bounced: jan@klant.example"]
    assert send_once(ledger, smtp_server).summary() == "sent 0, failed 0, cancelled 0"
    assert smtp_server.messages == []

    with ledger() as u:  # a person confirms the address as it stands: it is used again
        dossier.update_contact(u, "100", emails="jan@klant.example", language="nl", actor="carla")
    with ledger() as u:
        assert u.session.scalar(select(Debtor.email_bouncing).where(Debtor.code == "100")) is None
        assert reminders.debtors_without_address(u).empty
    assert worklist(ledger).of("address") == []
    assert send_once(ledger, smtp_server).summary() == "sent 1, failed 0, cancelled 0"
    assert [m.rcpt_tos for m in smtp_server.messages] == [["jan@klant.example"]]


def test_the_engine_does_not_approve_a_reminder_to_a_bounced_address_an_import_brought_back(ledger, account):
    account.deliver(samples.rfc3464_bounce(recipient="jan@klant.example"))
    fetch(ledger, account)
    with ledger(immediate=True) as u:
        imports.run_import(u, b"Relatiecode;Naam;E-mail\r\n100;Klant B.V.;jan@klant.example\r\n", "debiteuren.csv",
                           actor="carla", kind="debtors")
        s = u.session
        d = s.scalars(select(Debtor).where(Debtor.code == "100")).one()
        s.add(Invoice(number="2026-020", debtor_id=d.id, invoice_date=TODAY - timedelta(days=40),
                      due_date=TODAY - timedelta(days=10), amount_cents=50_000, open_cents=50_000))
        s.commit()
    generate(ledger)
    with ledger() as u:
        rows = u.session.execute(select(Message.status, Invoice.number).select_from(Message)
                                 .join(MessageInvoice, MessageInvoice.message_id == Message.id)
                                 .join(Invoice, Invoice.id == MessageInvoice.invoice_id).where(Message.status.in_(("proposed", "approved")))).all()
    assert rows and all(status == "proposed" for status, _ in rows)  # waiting for a person, not on its way
