from datetime import datetime
from email.message import EmailMessage

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from receivables.importing.eml import EmlError, html_to_text, message_ids, parse_eml


def plain(body="Wij betalen vrijdag.", **headers) -> bytes:
    msg = EmailMessage()
    msg["From"] = headers.pop("From", "Anouk de Jong <anouk@dejong.nl>")
    msg["Subject"] = headers.pop("Subject", "Re: Herinnering factuur 2025-00012")
    msg["Date"] = headers.pop("Date", "Tue, 03 Mar 2026 14:05:00 +0100")
    for k, v in headers.items():
        msg[k.replace("_", "-")] = v
    msg.set_content(body)
    return msg.as_bytes()


def with_attachments() -> bytes:
    msg = EmailMessage()
    msg["From"] = "accounts@northwind.co.uk"
    msg["Subject"] = "Remittance advice"
    msg["Message-ID"] = "<abc123@northwind.co.uk>"
    msg.set_content("Please find the remittance attached.")
    msg.add_alternative("<p>Please find the <b>remittance</b> attached.</p>", subtype="html")
    msg.add_attachment(b"%PDF-1.4 ...", maintype="application", subtype="pdf", filename="remittance.pdf")
    msg.add_attachment(b"a;b\n1;2\n", maintype="text", subtype="csv", filename="betalingen.csv")
    return msg.as_bytes()


def html_only() -> bytes:
    msg = EmailMessage()
    msg["From"] = "Bram <bram@vos.nl>"
    msg["Subject"] = "betaling"
    msg.set_content("<html><head><style>p{}</style></head><body><p>Wij hebben&nbsp;betaald.</p>"
                    "<script>alert(1)</script><div>Groet, Bram</div></body></html>", subtype="html")
    return msg.as_bytes()


RAW_1252 = (b"From: =?iso-8859-1?q?Ren=E9e_M=FCller?= <renee@muller.nl>\r\n"
            b"Subject: =?utf-8?b?UmU6IEFhbm1hbmluZyDigqwgMTIwLDAw?=\r\n"
            b"Date: Mon, 2 Mar 2026 09:00:00 +0000\r\n"
            b"In-Reply-To: <msg-42@debtordesk.example>\r\n"
            b"References: <msg-41@debtordesk.example>\r\n <msg-42@debtordesk.example>\r\n"
            b"Content-Type: text/plain; charset=windows-1252\r\n"
            b"Content-Transfer-Encoding: 8bit\r\n\r\n"
            b"Het bedrag van \x80 120,00 is overgemaakt. Co\xebffici\xebnt.\r\n")


@pytest.mark.parametrize("raw, field, expected", [
    (plain(), "from_address", "anouk@dejong.nl"),
    (plain(), "from_name", "Anouk de Jong"),
    (plain(), "subject", "Re: Herinnering factuur 2025-00012"),
    (plain(), "body", "Wij betalen vrijdag."),
    (plain(), "sent_at", datetime(2026, 3, 3, 13, 5)),
    (plain(Date="not a date"), "sent_at", None),
    (plain(), "attachments", []),
    (with_attachments(), "body", "Please find the remittance attached."),
    (with_attachments(), "attachments", ["remittance.pdf", "betalingen.csv"]),
    (with_attachments(), "message_id", "abc123@northwind.co.uk"),
    (html_only(), "body", "Wij hebben betaald.\n\nGroet, Bram"),
    (RAW_1252, "from_name", "Renée Müller"),
    (RAW_1252, "subject", "Re: Aanmaning € 120,00"),
    (RAW_1252, "body", "Het bedrag van € 120,00 is overgemaakt. Coëfficiënt."),
    (RAW_1252, "in_reply_to", ["msg-42@debtordesk.example"]),
    (RAW_1252, "references", ["msg-41@debtordesk.example", "msg-42@debtordesk.example"]),
    (RAW_1252, "answers", ["msg-42@debtordesk.example", "msg-41@debtordesk.example"]),
])
def test_an_eml_file_gives_sender_date_subject_body_and_attachments(raw, field, expected):
    assert getattr(parse_eml(raw), field) == expected


@pytest.mark.parametrize("raw, says", [
    (b"", "empty"),
    (b"   \r\n", "empty"),
    (b"%PDF-1.4 this is a pdf renamed to .eml", "no From header"),
    (b"Subject: hello\r\n\r\nno sender here", "no From header"),
    (b"From: a@b.nl\r\n\r\n" + b"x" * (16 * 1024 * 1024), "larger than"),
])
def test_a_file_that_is_not_an_email_is_refused_with_what_to_do(raw, says):
    with pytest.raises(EmlError, match=says):
        parse_eml(raw)


@pytest.mark.parametrize("header, ids", [
    ("<a@b>", ["a@b"]),
    ("<a@b> <c@d>", ["a@b", "c@d"]),
    ("<a@b>\r\n\t<c@d>", ["a@b", "c@d"]),
    ("a@b", ["a@b"]),
    ("", []),
    (None, []),
    ("not an id", []),
])
def test_message_ids_are_read_without_brackets(header, ids):
    assert message_ids(header) == ids


def test_html_to_text_drops_tags_scripts_and_styles():
    assert html_to_text("<style>x{}</style><p>a <i>b</i></p><script>evil()</script><br>c") == "a b\n\nc"


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_any_bytes_either_parse_or_are_refused_with_an_eml_error(raw):
    try:
        parsed = parse_eml(raw)
    except EmlError:
        return
    assert isinstance(parsed.body, str) and isinstance(parsed.attachments, list)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=300), st.text(max_size=80))
def test_any_text_body_and_subject_survive_a_round_trip(body, subject):
    msg = EmailMessage()
    msg["From"] = "x@y.nl"
    msg["Subject"] = " ".join(subject.split())
    msg.set_content(body)
    parsed = parse_eml(msg.as_bytes())
    assert parsed.subject == " ".join(subject.split()).strip()
    assert parsed.body.split() == body.split()
