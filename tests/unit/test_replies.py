from datetime import date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from receivables.domain.replies import (
    Link,
    LinkKind,
    ReplyError,
    ReplyKind,
    html_to_text,
    link_reply,
    parse_reply,
    return_date,
)
from tests import reply_samples as samples

TODAY = date(2026, 12, 4)


def parse(raw: bytes, **kwargs):
    return parse_reply(raw, today=TODAY, **kwargs)


@pytest.mark.parametrize(
    "headers, subject, kind",
    [
        # RFC 3834
        ({"Auto-Submitted": "auto-replied"}, "Re: factuur", ReplyKind.AUTO_REPLY),
        ({"Auto-Submitted": "auto-generated"}, "Re: factuur", ReplyKind.AUTO_REPLY),
        ({"Auto-Submitted": "auto-replied; owner-email=\"jan@klant.example\""}, "Re: factuur", ReplyKind.AUTO_REPLY),
        ({"Auto-Submitted": "no"}, "Re: factuur", ReplyKind.REPLY),
        ({"Auto-Submitted": "No"}, "Re: factuur", ReplyKind.REPLY),
        # de-facto headers of auto-responders
        ({"X-Autoreply": "yes"}, "Re: factuur", ReplyKind.AUTO_REPLY),
        ({"X-Autorespond": "Re: factuur"}, "Re: factuur", ReplyKind.AUTO_REPLY),
        ({"X-Autoreply": "no"}, "Re: factuur", ReplyKind.REPLY),
        ({"Precedence": "auto_reply"}, "Re: factuur", ReplyKind.AUTO_REPLY),
        ({"Precedence": "bulk"}, "Re: factuur", ReplyKind.AUTO_REPLY),
        ({"Precedence": "junk"}, "Re: factuur", ReplyKind.AUTO_REPLY),
        ({"Precedence": "list"}, "Re: factuur", ReplyKind.REPLY),
        # out-of-office subjects, no headers at all
        ({}, "Afwezig: Herinnering factuur 2026-014", ReplyKind.AUTO_REPLY),
        ({}, "Afwezigheidsbericht", ReplyKind.AUTO_REPLY),
        ({}, "Automatisch antwoord: Herinnering", ReplyKind.AUTO_REPLY),
        ({}, "Niet op kantoor", ReplyKind.AUTO_REPLY),
        ({}, "Out of Office: Payment reminder", ReplyKind.AUTO_REPLY),
        ({}, "Out of the office until Monday", ReplyKind.AUTO_REPLY),
        ({}, "Automatic reply: Payment reminder", ReplyKind.AUTO_REPLY),
        ({}, "Auto-Reply: Payment reminder", ReplyKind.AUTO_REPLY),
        ({}, "AutoReply", ReplyKind.AUTO_REPLY),
        ({}, "Abwesenheitsnotiz: Zahlungserinnerung", ReplyKind.AUTO_REPLY),
        ({}, "Automatische Antwort: Zahlungserinnerung", ReplyKind.AUTO_REPLY),
        ({}, "Nicht im Büro: Zahlungserinnerung", ReplyKind.AUTO_REPLY),
        ({}, "Réponse automatique : Relance facture", ReplyKind.AUTO_REPLY),
        ({}, "Reponse automatique: Relance facture", ReplyKind.AUTO_REPLY),
        ({}, "Message d'absence", ReplyKind.AUTO_REPLY),
        ({}, "Absent du bureau", ReplyKind.AUTO_REPLY),
        # people who mention these words are still people
        ({}, "Re: Herinnering factuur 2026-014", ReplyKind.REPLY),
        ({}, "Re: uw automatisch antwoord klopt niet", ReplyKind.REPLY),
        ({}, "Betaling na afwezigheid", ReplyKind.REPLY),
        ({}, "RE: Abwesenheit der Buchhaltung, Rechnung bezahlt", ReplyKind.REPLY),
        ({}, "Re: Relance facture", ReplyKind.REPLY),
    ],
)
def test_auto_replies_are_told_from_people_by_headers_and_subjects(headers, subject, kind):
    result = parse(samples.reply(subject=subject, headers=headers))
    assert result.kind == kind, result.reason
    assert (result.reason != "") == (kind == ReplyKind.AUTO_REPLY)


@pytest.mark.parametrize(
    "text, expected",
    [
        # nl
        ("Ik ben afwezig tot en met 12 januari.", date(2027, 1, 13)),
        ("Ik ben t/m vrijdag 18 december afwezig.", date(2026, 12, 19)),
        ("Ik ben tot 5 januari 2027 met vakantie.", date(2027, 1, 5)),
        ("Vanaf maandag 4 januari ben ik weer aanwezig.", date(2027, 1, 4)),
        ("Ik ben weer op kantoor op 11-01-2027.", date(2027, 1, 11)),
        ("Afwezig van 20-12-2026 t/m 03-01-2027, bel bij spoed 06-12345678.", date(2027, 1, 4)),
        ("Ik ben van 1 december tot 3 januari afwezig.", date(2027, 1, 3)),
        ("Terug op 8 jan.", date(2027, 1, 8)),
        # en
        ("I am out of the office until January 5th, 2027.", date(2027, 1, 5)),
        ("I'll be back on 6/1.", date(2027, 1, 6)),
        ("Out of office through 23 December.", date(2026, 12, 24)),
        ("Returning on Monday 11th January 2027.", date(2027, 1, 11)),
        ("I'm away, back 2027-01-07.", date(2027, 1, 7)),
        # de
        ("Ich bin bis einschließlich 3. Januar nicht im Büro.", date(2027, 1, 4)),
        ("Ab dem 11.01.2027 bin ich wieder erreichbar.", date(2027, 1, 11)),
        ("Ich bin bis zum 15. Dezember abwesend.", date(2026, 12, 15)),
        ("Zurück am 7. Jänner.", date(2027, 1, 7)),
        # fr
        ("Je serai de retour le 4 janvier.", date(2027, 1, 4)),
        ("Absent jusqu'au 8 janvier inclus.", date(2027, 1, 9)),
        ("Je suis absente jusqu'au 1er février 2027.", date(2027, 2, 1)),
        ("De retour le 14/12.", date(2026, 12, 14)),
        # nothing stated, or nothing that is a date
        ("Dank voor uw bericht, ik lees het zo snel mogelijk.", None),
        ("Bel bij spoed 020-1234567 tussen 9.00 en 12.30 uur.", None),
        ("Status 5.1.1 from 192.0.2.1", None),
    ],
)
def test_an_out_of_office_return_date_is_read_in_four_languages(text, expected):
    assert return_date(text, today=TODAY) == expected


def test_a_return_date_without_a_year_is_the_next_one_after_today():
    assert return_date("tot en met 2 januari", today=date(2026, 12, 20)) == date(2027, 1, 3)
    assert return_date("tot en met 2 januari", today=date(2027, 1, 1)) == date(2027, 1, 3)
    assert return_date("weer terug op 10 maart", today=date(2027, 1, 1)) == date(2027, 3, 10)


def test_an_out_of_office_reply_carries_its_return_date():
    result = parse(samples.out_of_office_nl())
    assert result.kind == ReplyKind.AUTO_REPLY
    assert result.reason == "Auto-Submitted: auto-replied"
    assert result.return_date == date(2027, 1, 5)


def test_a_real_reply_has_no_return_date_even_when_it_names_one():
    result = parse(samples.reply(body="Wij betalen tot en met 12 januari in termijnen."))
    assert result.kind == ReplyKind.REPLY
    assert result.return_date is None


def test_a_reply_is_read_with_its_thread_sender_and_date():
    result = parse(samples.reply())
    assert result.message_id == "r1@klant.example"
    assert result.in_reply_to == (samples.SENT_ID,)
    assert result.answers == [samples.SENT_ID, "first@debtor-desk.example"]
    assert (result.from_name, result.from_address) == ("Jan Jansen", "jan@klant.example")
    assert result.subject == "Re: Herinnering factuur 2026-014"
    assert result.sent_at == datetime(2026, 12, 3, 9, 15)
    assert result.text == "Beste,\n\nWij hebben gisteren betaald."


def test_an_html_only_reply_becomes_plain_text_without_scripts_or_markup():
    result = parse(samples.html_only_reply())
    assert "Deze factuur klopt niet." in result.text
    assert "Factuur" in result.text and "2026-014" in result.text
    for unsafe in ("<", ">", "alert", "javascript", "color: red", "onerror"):
        assert unsafe not in result.text
    assert result.attachments == ()


@pytest.mark.parametrize(
    "html, expected",
    [
        ("<p>Eerste</p><p>Tweede</p>", "Eerste\n\nTweede"),
        ("<ul><li>een</li><li>twee</li></ul>", "* een\n* twee"),
        ("Tom &amp; Jerry&nbsp;BV", "Tom & Jerry BV"),
        ("<div><style>x{}</style>zichtbaar<script>onzichtbaar()</script></div>", "zichtbaar"),
        ("", ""),
    ],
)
def test_html_is_reduced_to_readable_text(html, expected):
    assert html_to_text(html) == expected


def test_attachments_are_kept_with_their_bytes_up_to_the_cap():
    kept = parse(samples.reply_with_attachment(size=2048)).attachments
    assert [(a.name, a.content_type, a.size, a.too_large) for a in kept] == [
        ("betaalbewijs.pdf", "application/pdf", 2048, False)]
    assert kept[0].data.startswith(b"%PDF-1.4")
    capped = parse(samples.reply_with_attachment(size=2048), max_attachment_bytes=1000).attachments
    assert [(a.name, a.size, a.data, a.too_large) for a in capped] == [("betaalbewijs.pdf", 2048, None, True)]


def test_an_rfc3464_bounce_names_the_failed_address_the_servers_words_and_our_message():
    result = parse(samples.rfc3464_bounce())
    assert result.kind == ReplyKind.BOUNCE
    bounce = result.bounce
    assert bounce.recipient == "oud@klant.example"
    assert bounce.action == "failed"
    assert bounce.status == "5.1.1"
    assert bounce.diagnostic == ("550 5.1.1 <oud@klant.example>: Recipient address rejected: "
                                 "User unknown in virtual mailbox table")
    assert bounce.original_message_id == samples.SENT_ID
    assert "could not" in result.text


def test_a_delivery_delay_notice_is_filed_as_automatic_not_as_a_bounce():
    result = parse(samples.rfc3464_delay())
    assert result.kind == ReplyKind.AUTO_REPLY
    assert result.bounce is None
    assert result.reason == "delivery status notification: delayed"
    assert result.return_date is None


def test_a_mailer_daemon_bounce_with_the_original_headers_inline_is_a_bounce():
    result = parse(samples.exim_inline_bounce())
    assert result.kind == ReplyKind.BOUNCE
    assert result.bounce.recipient == "weg@klant.example"
    assert result.bounce.status == "5.1.1"
    assert result.bounce.diagnostic == "550 5.1.1 The email account that you tried to reach does not exist"
    assert result.bounce.original_message_id == samples.SENT_ID


@pytest.mark.parametrize(
    "raw, recipient, status, diagnostic_start",
    [
        (samples.postfix_plain_bounce(), "oud@klant.example", "5.1.1", "550 5.1.1 User unknown"),
        (samples.gmail_style_bounce(), "fout@klant.example", "5.1.1", "550 5.1.1 The email account"),
        (samples.exchange_nl_bounce(), "vertrokken@klant.example", "5.1.10", "550 5.1.10 RESOLVER.ADR"),
        (samples.exim_inline_bounce(), "weg@klant.example", "5.1.1", "550 5.1.1 The email account"),
    ],
)
def test_bounces_without_a_delivery_status_report_are_read_from_their_text(raw, recipient, status,
                                                                           diagnostic_start):
    result = parse(raw)
    assert result.kind == ReplyKind.BOUNCE
    assert (result.bounce.recipient, result.bounce.status) == (recipient, status)
    assert result.bounce.diagnostic.startswith(diagnostic_start)
    assert result.bounce.original_message_id == samples.SENT_ID


@pytest.mark.parametrize(
    "subject, body",
    [
        ("Re: undeliverable goods", "The goods were undeliverable, we paid 450 euro of the 550 invoiced."),
        ("Re: Onbestelbaar pakket", "Het pakket was onbestelbaar, mail naar jan@klant.example."),
    ],
)
def test_a_person_writing_about_undeliverable_goods_is_not_a_bounce(subject, body):
    assert parse(samples.reply(subject=subject, body=body)).kind == ReplyKind.REPLY


def test_a_postmaster_notice_that_reports_no_failure_is_not_a_bounce():
    raw = samples.reply(sender="postmaster@leverancier.example", subject="Quota information",
                        body="Your mailbox is 80% full.", in_reply_to=None)
    assert parse(raw).kind == ReplyKind.REPLY


@pytest.mark.parametrize("raw", [b"", b"   \r\n"])
def test_an_empty_message_is_refused(raw):
    with pytest.raises(ReplyError):
        parse(raw)


SENT = {samples.SENT_ID: 42}
CONTACTS = {"jan@klant.example": [7], "gedeeld@holding.example": [8, 9]}


@pytest.mark.parametrize(
    "raw, expected",
    [
        (samples.reply(), Link(LinkKind.THREAD, message_id=42)),
        # only References names our mail (some clients drop In-Reply-To)
        (samples.reply(in_reply_to=None, headers={"References": f"<x@y> <{samples.SENT_ID}>"}),
         Link(LinkKind.THREAD, message_id=42)),
        (samples.reply(in_reply_to="unknown@elsewhere"), Link(LinkKind.SENDER, debtor_id=7)),
        (samples.reply(in_reply_to=None, sender="JAN@Klant.Example"), Link(LinkKind.SENDER, debtor_id=7)),
        (samples.reply(in_reply_to=None, sender="gedeeld@holding.example"),
         Link(LinkKind.UNASSIGNED, candidates=(8, 9))),
        (samples.reply(in_reply_to=None, sender="vreemde@nergens.example"), Link(LinkKind.UNASSIGNED)),
        (samples.rfc3464_bounce(), Link(LinkKind.THREAD, message_id=42)),
        (samples.rfc3464_bounce(recipient="jan@klant.example", original_id="lost@x"),
         Link(LinkKind.SENDER, debtor_id=7)),
    ],
)
def test_a_reply_links_by_thread_then_by_sender_else_waits_for_a_person(raw, expected):
    assert link_reply(parse(raw), SENT, CONTACTS) == expected


@given(st.binary(max_size=2000))
@settings(max_examples=300, deadline=None)
def test_any_bytes_give_a_reply_or_a_clear_refusal(raw):
    try:
        result = parse_reply(raw, today=TODAY)
    except ReplyError:
        return
    assert result.kind in set(ReplyKind)


@given(st.text(max_size=400))
@settings(max_examples=300, deadline=None)
def test_a_return_date_is_never_long_before_today(text):
    found = return_date(text, today=TODAY)
    assert found is None or found >= date(2026, 11, 3)


@given(st.sampled_from([samples.reply(), samples.out_of_office_nl(), samples.rfc3464_bounce(),
                        samples.html_only_reply(), samples.exim_inline_bounce()]),
       st.integers(min_value=0, max_value=4000))
@settings(max_examples=200, deadline=None)
def test_a_mail_cut_off_anywhere_is_still_read_or_refused(raw, cut):
    try:
        parse_reply(raw[:cut], today=TODAY)
    except ReplyError:
        pass


def _mail(content_type: str) -> bytes:
    return (f"From: jan@klant.example\r\nSubject: Re: factuur\r\nContent-Type: {content_type}\r\n"
            "Content-Transfer-Encoding: 8bit\r\n\r\nWij hebben betaald.\r\n").encode()


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain; charset=utf-8u",  # a charset Python does not know
        "text/plain; charset=\"utf\x00-8\"",  # a mangled one
    ],
)
def test_a_mangled_charset_still_gives_the_text(content_type):
    result = parse_reply(_mail(content_type), today=TODAY)
    assert result.kind == ReplyKind.REPLY
    assert result.text == "Wij hebben betaald."


def test_a_delivery_report_without_parts_is_filed_as_automatic_not_as_a_bounce():
    result = parse_reply(_mail("multipart/report; report-type=delivery-status; charset=\"a\x00b\""), today=TODAY)
    assert result.kind == ReplyKind.AUTO_REPLY
    assert result.reason == "delivery status notification: no failure"
