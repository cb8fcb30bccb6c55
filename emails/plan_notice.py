"""The notice of a payment plan's term, a few days before it falls due: its own template per language
(`<lang>/plan/notice.j2`, blocks subject and body) in the reminders' sandbox, framed by the same greeting
and closing."""

from __future__ import annotations

from emails.mime import QR_CID
from emails.render import HTML_ENV, LABELS, TEXT_ENV, Rendered, TemplateError, _block, _paragraphs
from receivables.domain import contacts


def render_notice(ctx: dict) -> Rendered:
    """Subject, text and HTML of a term's notice. `ctx`: debtor, company, term (seq, due_date), term_count,
    amount_cents, left_after_cents, currency, numbers, many, payment (iban, beneficiary, reference),
    language, qr (whether the message carries the EPC QR code)."""
    lang = contacts.letter_language(ctx.get("language"))
    ctx = {"tone": "standard", "qr": False, **ctx, "language": lang, "t": LABELS[lang], "qr_src": f"cid:{QR_CID}"}
    name = f"{lang}/plan/notice.j2"
    try:
        subject = " ".join(_block(TEXT_ENV, name, "subject", ctx).split())
        body = _paragraphs(_block(TEXT_ENV, name, "body", ctx))
        frame = f"{lang}/_frame.j2"
        greeting = _block(TEXT_ENV, frame, "greeting", ctx).strip()
        closing = [line.strip() for line in _block(TEXT_ENV, frame, "closing", ctx).strip().splitlines()]
        text = "\n\n".join([greeting, *body, "\n".join(closing)]).strip() + "\n"
        html = HTML_ENV.get_template("edited.html.j2").render({**ctx, "edited_text": text})
    except Exception as exc:  # jinja's UndefinedError, TemplateSyntaxError, SecurityError …
        raise TemplateError(f"template {name} cannot be rendered: {exc}") from exc
    return Rendered(subject, text, html)
