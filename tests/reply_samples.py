"""Raw mails as they arrive in the team mailbox: replies, out-of-office answers and bounces, written
the way Outlook, Gmail, Postfix and Exim write them."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime

SENT_ID = "reminder-42.7@debtor-desk.example"
WHEN = format_datetime(datetime(2026, 12, 3, 9, 15, tzinfo=UTC))


def reply(*, message_id="r1@klant.example", in_reply_to=SENT_ID, sender="Jan Jansen <jan@klant.example>",
          subject="Re: Herinnering factuur 2026-014", body="Beste,\n\nWij hebben gisteren betaald.\n",
          headers=None) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "debiteuren@leverancier.example"
    msg["Subject"] = subject
    msg["Date"] = WHEN
    msg["Message-ID"] = f"<{message_id}>"
    if in_reply_to:
        msg["In-Reply-To"] = f"<{in_reply_to}>"
        msg["References"] = f"<first@debtor-desk.example> <{in_reply_to}>"
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    return msg.as_bytes()


def html_only_reply(*, message_id="h1@klant.example") -> bytes:
    msg = EmailMessage()
    msg["From"] = "Piet <piet@klant.example>"
    msg["To"] = "debiteuren@leverancier.example"
    msg["Subject"] = "RE: Herinnering"
    msg["Date"] = WHEN
    msg["Message-ID"] = f"<{message_id}>"
    msg["In-Reply-To"] = f"<{SENT_ID}>"
    msg.set_content(
        "<html><head><style>p {color: red}</style><script>alert('x')</script></head><body>"
        "<p>Deze factuur klopt <b>niet</b>.</p><table><tr><td>Factuur</td><td>2026-014</td></tr></table>"
        "<img src=x onerror=alert(1)><a href=\"javascript:steal()\">zie bijlage</a></body></html>",
        subtype="html")
    return msg.as_bytes()


def reply_with_attachment(*, size=2048) -> bytes:
    msg = EmailMessage()
    msg["From"] = "jan@klant.example"
    msg["Subject"] = "Re: factuur"
    msg["Message-ID"] = "<att@klant.example>"
    msg["In-Reply-To"] = f"<{SENT_ID}>"
    msg.set_content("Zie het betaalbewijs in de bijlage.")
    msg.add_attachment(b"%PDF-1.4 " + b"x" * (size - 9), maintype="application", subtype="pdf",
                       filename="betaalbewijs.pdf")
    return msg.as_bytes()


def out_of_office_nl(*, message_id="ooo@klant.example") -> bytes:
    return reply(message_id=message_id, subject="Automatisch antwoord: Herinnering factuur 2026-014",
                 body="Dank voor uw bericht. Ik ben afwezig tot en met maandag 4 januari 2027.\n"
                      "Voor dringende zaken kunt u bellen met 020-1234567.\n",
                 headers={"Auto-Submitted": "auto-replied", "X-Auto-Response-Suppress": "All"})


def rfc3464_bounce(*, recipient="oud@klant.example", original_id=SENT_ID) -> bytes:
    return f"""From: Mail Delivery System <MAILER-DAEMON@mx.leverancier.example>
To: debiteuren@leverancier.example
Subject: Undelivered Mail Returned to Sender
Date: {WHEN}
Message-ID: <bounce-1@mx.leverancier.example>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="BOUNDARY"

--BOUNDARY
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.leverancier.example.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<{recipient}>: host mx.klant.example[192.0.2.1] said: 550 5.1.1
    <{recipient}>: Recipient address rejected: User unknown in virtual mailbox table

--BOUNDARY
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.leverancier.example
Arrival-Date: {WHEN}

Final-Recipient: rfc822; {recipient}
Original-Recipient: rfc822;{recipient}
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.klant.example
Diagnostic-Code: smtp; 550 5.1.1 <{recipient}>: Recipient address rejected:
    User unknown in virtual mailbox table

--BOUNDARY
Content-Type: text/rfc822-headers

From: Debiteuren <debiteuren@leverancier.example>
To: {recipient}
Subject: Herinnering factuur 2026-014
Message-ID: <{original_id}>

--BOUNDARY--
""".replace("\n", "\r\n").encode()


def rfc3464_delay(*, recipient="traag@klant.example") -> bytes:
    return rfc3464_bounce(recipient=recipient).replace(b"Action: failed", b"Action: delayed").replace(
        b"Status: 5.1.1", b"Status: 4.4.7")


def exim_inline_bounce(*, recipient="weg@klant.example", original_id=SENT_ID) -> bytes:
    return f"""From: Mail Delivery System <Mailer-Daemon@mail.leverancier.example>
To: debiteuren@leverancier.example
Subject: Mail delivery failed: returning message to sender
Date: {WHEN}
Message-ID: <exim-1@mail.leverancier.example>
Content-Type: text/plain; charset=us-ascii

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  {recipient}
    host mx.klant.example [192.0.2.7]
    SMTP error from remote mail server after RCPT TO:<{recipient}>:
    550 5.1.1 The email account that you tried to reach does not exist

------ This is a copy of the message, including all the headers. ------

From: Debiteuren <debiteuren@leverancier.example>
To: {recipient}
Subject: Herinnering factuur 2026-014
Message-ID: <{original_id}>
Date: {WHEN}

Geachte heer, mevrouw,
""".replace("\n", "\r\n").encode()


def postfix_plain_bounce(*, recipient="oud@klant.example", original_id=SENT_ID) -> bytes:
    return f"""From: MAILER-DAEMON@mx.leverancier.example (Mail Delivery System)
To: debiteuren@leverancier.example
Subject: Undelivered Mail Returned to Sender
Message-ID: <pf-1@mx.leverancier.example>
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.leverancier.example.

<{recipient}>: host mx.klant.example[192.0.2.1] said: 550 5.1.1 User unknown
    (in reply to RCPT TO command)

--- Original message headers ---
From: debiteuren@leverancier.example
To: {recipient}
Message-Id: <{original_id}>
Subject: Herinnering
""".replace("\n", "\r\n").encode()


def gmail_style_bounce(*, recipient="fout@klant.example") -> bytes:
    return f"""From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
To: debiteuren@leverancier.example
Subject: Delivery Status Notification (Failure)
X-Failed-Recipients: {recipient}
Message-ID: <g-1@mail.gmail.com>
Content-Type: text/plain; charset=UTF-8

Address not found

Your message wasn't delivered to {recipient} because the address couldn't be found.

The response from the remote server was:
550 5.1.1 The email account that you tried to reach does not exist.

Message-ID: <{SENT_ID}>
""".replace("\n", "\r\n").encode()


def exchange_nl_bounce(*, recipient="vertrokken@klant.example") -> bytes:
    return f"""From: postmaster@klant.example
To: debiteuren@leverancier.example
Subject: Onbestelbaar: Herinnering factuur 2026-014
Message-ID: <ex-1@klant.example>
Content-Type: text/plain; charset=UTF-8

Kan niet worden bezorgd aan deze ontvangers of groepen:

{recipient}
Het e-mailadres is niet gevonden.

Remote Server returned '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup'

Original message headers:
Message-ID: <{SENT_ID}>
To: {recipient}
""".replace("\n", "\r\n").encode()
