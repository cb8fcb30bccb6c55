"""The sender's pure parts: addresses, the MIME message, the SMTP settings, the transport's client and the
letter step's message. (No database or server; kept beside the other sender tests. The re-check table is
in tests/unit/test_recheck.py.)"""

from __future__ import annotations

import email
import io
from datetime import UTC, datetime
from email import policy

import pytest

from db.config import SmtpConfigError, load_smtp_config
from emails.mime import Attachment, OutgoingMail, build_mime
from emails.transport import SmtpTransport, TransportUnavailable
from receivables.domain.contacts import AddressError, check_address, parse_mailbox, parse_recipients
from receivables.services.sending import SendSettings, compose
from tests.unit.test_recheck import candidate

NOW = datetime(2026, 6, 30, 9, 0)


@pytest.mark.parametrize("value, ok", [
    ("debtor@example.nl", True),
    ("  first.last+tag@sub.example.co.uk ", True),
    ("o'brien@example.ie", True),
    ("debtor@example.nl\n", False),
    ("debtor@example.nl\r\nBcc: victim@example.org", False),
    ("debtor@example.nl\rBcc: victim@example.org", False),
    ("deb tor@example.nl", False),
    ("debtor@localhost", False),
    ("debtor@@example.nl", False),
    ("débiteur@example.nl", False),
    ("debtor@example.nl,other@example.nl", False),
    (".debtor@example.nl", False),
    ("debtor@-example.nl", False),
    ("", False),
])
def test_addresses_are_checked_strictly(value, ok):
    if ok:
        assert check_address(value) == value.strip()
    else:
        with pytest.raises(AddressError):
            check_address(value)


@pytest.mark.parametrize("value, expected", [
    ("a@example.nl", ["a@example.nl"]),
    ("a@example.nl; b@example.nl, A@example.nl", ["a@example.nl", "b@example.nl"]),
    ("Boekhouding <ap@example.nl>, b@example.nl", ["ap@example.nl", "b@example.nl"]),
    (" , a@example.nl ,", ["a@example.nl"]),
])
def test_recipient_lists_split_on_commas_and_semicolons_without_duplicates(value, expected):
    assert parse_recipients(value) == expected


@pytest.mark.parametrize("value", ["", None, " , ", "a@example.nl\nb@example.nl", "a@example.nl, nope"])
def test_a_recipient_list_without_a_good_address_is_refused(value):
    with pytest.raises(AddressError):
        parse_recipients(value)


def test_a_display_name_with_a_line_break_is_refused():
    with pytest.raises(AddressError):
        parse_mailbox("Team\r\nBcc: victim@example.org <ar@example.nl>")
    assert parse_mailbox('"Debiteuren, Team" <ar@example.nl>') == ("Debiteuren, Team", "ar@example.nl")


def mail(**kw) -> OutgoingMail:
    base = dict(from_addr="Débiteuren <ar@example.nl>", to=("a@example.nl", "b@example.nl"),
                subject="Herinnering € 1.234,56", text="Beste klant,\n.punt aan het begin\n" + "lang " * 60,
                html='<p>Beste klant</p><img src="cid:epcqr" alt="QR">', message_id="<debtordesk.7.ab@example.nl>",
                date=datetime(2026, 6, 30, 9, 0, tzinfo=UTC), reply_to="replies@example.nl", qr_png=b"\x89PNGdata")
    return OutgoingMail(**{**base, **kw})


def parse(data: bytes):
    return email.message_from_bytes(data, policy=policy.default)


def structure(msg) -> list[str]:
    return [p.get_content_type() for p in msg.walk()]


@pytest.mark.parametrize("kw, expected", [
    ({}, ["multipart/alternative", "text/plain", "multipart/related", "text/html", "image/png"]),
    ({"qr_png": None}, ["multipart/alternative", "text/plain", "text/html"]),
    ({"html": ""}, ["text/plain"]),
    ({"attachments": (Attachment("Aanmaning D001.pdf", b"%PDF-1.4 test"),)},
     ["multipart/mixed", "multipart/alternative", "text/plain", "multipart/related", "text/html", "image/png",
      "application/pdf"]),
])
def test_the_mime_structure_follows_what_the_message_has(kw, expected):
    assert structure(parse(build_mime(mail(**kw)).data)) == expected


def test_the_message_reads_back_exactly():
    built = build_mime(mail(attachments=(Attachment("Aanmaning D001.pdf", b"%PDF-1.4 test"),)))
    msg = parse(built.data)
    assert built.envelope_from == "ar@example.nl" and built.recipients == ("a@example.nl", "b@example.nl")
    assert msg["From"] == "Débiteuren <ar@example.nl>" and msg["Reply-To"] == "replies@example.nl"
    assert msg["To"] == "a@example.nl, b@example.nl" and msg["Subject"] == "Herinnering € 1.234,56"
    assert msg["Message-ID"] == "<debtordesk.7.ab@example.nl>" and msg["Date"] == "Tue, 30 Jun 2026 09:00:00 +0000"
    assert msg.get_body(("plain",)).get_content().replace("\r\n", "\n") == mail().text + "\n"
    [img] = [p for p in msg.walk() if p["Content-ID"]]
    assert img["Content-ID"] == "<epcqr>" and img.get_content() == b"\x89PNGdata"
    [pdf] = [p for p in msg.walk() if p.get_content_type() == "application/pdf"]
    assert pdf.get_filename() == "Aanmaning D001.pdf" and pdf.get_content() == b"%PDF-1.4 test"
    assert all(len(line) <= 998 for line in built.data.split(b"\r\n"))
    assert b"\n" not in built.data.replace(b"\r\n", b"")


def test_without_a_qr_code_the_image_reference_is_left_out():
    msg = parse(build_mime(mail(qr_png=None)).data)
    assert "cid:epcqr" not in msg.get_body(("html",)).get_content()


@pytest.mark.parametrize("subject", ["Herinnering\r\nBcc: victim@example.org", "Herinnering\nBcc: victim@example.org",
                                     "Herinnering\u2028Bcc: victim@example.org", "Herinnering\x00\tBcc: victim@example.org"])
def test_a_line_break_in_the_subject_never_becomes_a_header(subject):
    msg = parse(build_mime(mail(subject=subject)).data)
    assert msg["Bcc"] is None and msg["Subject"] == "Herinnering Bcc: victim@example.org"


@pytest.mark.parametrize("kw", [
    {"to": ("a@example.nl\r\nBcc: victim@example.org",)},
    {"to": ()},
    {"reply_to": "replies@example.nl\nBcc: victim@example.org"},
    {"message_id": "<x@example.nl>\r\nBcc: victim@example.org"},
    {"message_id": "no-angle-brackets@example.nl"},
])
def test_a_header_value_that_could_inject_is_refused(kw):
    with pytest.raises(AddressError):
        build_mime(mail(**kw))


# --- settings -----------------------------------------------------------------------------------------

SECRETS = {"host": "smtp.example.nl", "port": 2525, "security": "starttls", "user": "ar@example.nl",
           "password": "from-secrets", "from": "Debiteuren <ar@example.nl>"}


def test_the_environment_wins_over_secrets_toml():
    cfg = load_smtp_config({"SMTP_PASSWORD": "from-env", "SMTP_PORT": "587"}, SECRETS)
    assert (cfg.host, cfg.port, cfg.security, cfg.password) == ("smtp.example.nl", 587, "starttls", "from-env")
    assert cfg.sources["password"] == "environment" and cfg.sources["host"] == "secrets.toml"
    assert ("SMTP_PASSWORD", "set", "environment") in cfg.summary()
    assert "from-env" not in str(cfg.summary())


@pytest.mark.parametrize("env, expected", [
    ({"SMTP_HOST": "h.example.nl", "SMTP_FROM": "a@example.nl"}, ("starttls", 587)),
    ({"SMTP_HOST": "h.example.nl", "SMTP_FROM": "a@example.nl", "SMTP_SECURITY": "ssl"}, ("ssl", 465)),
    ({"SMTP_HOST": "h.example.nl", "SMTP_FROM": "a@example.nl", "SMTP_PORT": "465"}, ("ssl", 465)),
    ({"SMTP_HOST": "h.example.nl", "SMTP_FROM": "a@example.nl", "SMTP_SECURITY": "NONE"}, ("none", 25)),
    ({"SMTP_HOST": "h.example.nl", "SMTP_FROM": "a@example.nl", "SMTP_PORT": "1025", "SMTP_SECURITY": "none"},
     ("none", 1025)),
])
def test_security_and_port_default_sensibly(env, expected):
    cfg = load_smtp_config(env, {})
    assert (cfg.security, cfg.port) == expected


@pytest.mark.parametrize("env, message", [
    ({"SMTP_HOST": "h", "SMTP_USER": "a@example.nl"}, "SMTP_PASSWORD"),
    ({"SMTP_HOST": "h"}, "SMTP_FROM"),
    ({"SMTP_HOST": "h", "SMTP_FROM": "a@example.nl", "SMTP_SECURITY": "tls"}, "SMTP_SECURITY"),
    ({"SMTP_HOST": "h", "SMTP_FROM": "a@example.nl", "SMTP_PORT": "smtp"}, "SMTP_PORT"),
    ({"SMTP_HOST": "h", "SMTP_FROM": "a@example.nl\nBcc: x@example.org"}, "SMTP_FROM"),
    ({"SMTP_HOST": "h", "SMTP_FROM": "a@example.nl", "SMTP_MAX_ATTEMPTS": "0"}, "SMTP_MAX_ATTEMPTS"),
])
def test_a_wrong_setting_is_named(env, message):
    with pytest.raises(SmtpConfigError, match=message):
        load_smtp_config(env, {})


def test_no_host_means_not_configured():
    assert load_smtp_config({}, {}) is None
    assert load_smtp_config({"SMTP_FROM": "a@example.nl"}, {"password": "x"}) is None


@pytest.mark.parametrize("security, ssl, starttls", [("ssl", True, False), ("starttls", False, True),
                                                     ("none", False, False)])
def test_the_yagmail_client_uses_the_chosen_security(security, ssl, starttls):
    client = SmtpTransport("smtp.example.nl", 2525, security).client()
    assert (client.ssl, bool(client.starttls), client.smtp_skip_login) == (ssl, starttls, True)
    assert client.port == "2525"


def test_the_yagmail_client_never_asks_for_a_password():
    client = SmtpTransport("smtp.example.nl", 2525, "none", user="ar@example.nl", password=None).client()
    with pytest.raises(TransportUnavailable, match="SMTP_PASSWORD"):
        client.handle_password("ar@example.nl", None)


# --- letter steps -------------------------------------------------------------------------------------

def test_a_letter_step_goes_out_with_its_words_as_a_pdf_letter_and_an_email_step_without():
    pypdf = pytest.importorskip("pypdf", reason="pypdf is a test dependency (pip install -r requirements-dev.txt)")
    settings = SendSettings("Debiteuren <ar@example.nl>")
    letter_step = candidate(channel="letter", subject="Aanmaning factuur INV-1", body_text="Betaal € 100,00.",
                            debtor_code="0042", debtor_name="Bakker B.V.", contact_person="J. Bakker",
                            address="Kerkstraat 1\n1234 AB  Amsterdam")
    built = compose(letter_step, settings, "<m1@example.nl>", NOW, None, payment={"beneficiary": "Voorbeeld B.V."})
    msg = parse(built.data)
    pdfs = [p for p in msg.iter_attachments() if p.get_content_type() == "application/pdf"]
    assert [p.get_filename() for p in pdfs] == ["letter-0042-20260630-1.pdf"]
    text = pypdf.PdfReader(io.BytesIO(pdfs[0].get_content())).pages[0].extract_text()
    for part in ("Voorbeeld B.V.", "Bakker B.V.", "t.a.v. J. Bakker", "Kerkstraat 1", "30-06-2026",
                 "Aanmaning factuur INV-1",
                 "Betaal € 100,00."):
        assert part in text, part
    email_step = compose(candidate(), settings, "<m2@example.nl>", NOW, None)
    assert not [p for p in parse(email_step.data).iter_attachments()]
