"""Rendering reminder messages from Jinja2 templates: sandboxed, and an undefined variable is an error
when the message is rendered for the queue (its preview), never at send time: the sender sends the
stored text."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from jinja2 import FileSystemLoader, StrictUndefined, pass_context
from jinja2.sandbox import SandboxedEnvironment

from emails.mime import QR_CID
from receivables.domain import contacts
from receivables.domain.errors import Problem
from receivables.domain.money import fmt
from receivables.domain.translation import N_

TEMPLATES_DIR = Path(__file__).with_name("templates")
LANGUAGES = tuple(contacts.LANGUAGES)

MONTHS = {
    "nl": ["januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september",
           "oktober", "november", "december"],
    "en": ["January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December"],
}

LABELS = {
    "nl": {"invoice": "Factuur", "invoice_date": "Factuurdatum", "due_date": "Vervaldatum",
           "days": "Dagen over", "open": "Openstaand", "total": "Totaal openstaand",
           "principal": "Hoofdsom", "interest": "Wettelijke handelsrente", "interest_consumer": "Wettelijke rente", "costs_bik": "Buitengerechtelijke incassokosten",
           "costs_eu40": "Vergoeding invorderingskosten (€ 40 per factuur)", "amount_due": "Totaal te betalen",
           "overview": "Overzicht van al uw openstaande posten", "status": "Status",
           "pay": "Betaalgegevens", "iban": "IBAN", "bic": "BIC", "beneficiary": "Ten name van",
           "reference": "Betalingskenmerk", "description": "Omschrijving", "amount": "Bedrag", "pay_link": "Direct betalen",
           "scan": "Scan de QR-code met uw bank-app om direct te betalen.",
           "status_chased": "in deze brief", "status_not_due": "nog niet vervallen",
           "status_credit": "creditnota", "status_disputed": "in behandeling", "status_held": "afspraak loopt",
           "status_other": "vervallen", "rate": "tegen", "vat": "incl. btw",
           "customer": "Klantnummer", "date": "Datum", "call_contact": "Contactpersoon", "call_phone": "Telefoon", "call_email": "E-mail",
           "portal": "Bekijk uw facturen online, betaal direct of laat ons weten als er iets niet klopt"},
    "en": {"invoice": "Invoice", "invoice_date": "Invoice date", "due_date": "Due date",
           "days": "Days overdue", "open": "Outstanding", "total": "Total outstanding",
           "principal": "Principal", "interest": "Statutory commercial interest", "interest_consumer": "Statutory interest", "costs_bik": "Extrajudicial collection costs",
           "costs_eu40": "Fixed compensation for recovery costs (EUR 40 per invoice)", "amount_due": "Total to pay",
           "overview": "Overview of all your open items", "status": "Status",
           "pay": "Payment details", "iban": "IBAN", "bic": "BIC", "beneficiary": "Beneficiary",
           "reference": "Payment reference", "description": "Description", "amount": "Amount", "pay_link": "Pay online",
           "scan": "Scan the QR code with your banking app to pay at once.",
           "status_chased": "in this letter", "status_not_due": "not yet due",
           "status_credit": "credit note", "status_disputed": "under review", "status_held": "arrangement in place",
           "status_other": "overdue", "rate": "at", "vat": "incl. VAT",
           "customer": "Customer number", "date": "Date", "call_contact": "Contact", "call_phone": "Phone", "call_email": "E-mail",
           "portal": "See your invoices online, pay at once or let us know when something is wrong"},
}


class TemplateError(Problem):
    """A template that cannot be rendered (an unknown variable, a syntax error); says which."""


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


@pass_context
def _money(ctx, cents: int, currency: str | None = None) -> str:
    return fmt(int(cents), currency or ctx["currency"], ctx["language"])


@pass_context
def _day(ctx, value: date) -> str:
    if ctx["language"] == "nl":
        return f"{value.day} {MONTHS['nl'][value.month - 1]} {value.year}"
    return f"{value.day} {MONTHS['en'][value.month - 1]} {value.year}"


@pass_context
def _short(ctx, value: date) -> str:
    return value.strftime("%d-%m-%Y") if ctx["language"] == "nl" else value.isoformat()


@pass_context
def _rate(ctx, value) -> str:
    text = f"{value}".rstrip("0").rstrip(".") if "." in f"{value}" else f"{value}"
    return text.replace(".", ",") if ctx["language"] == "nl" else text


def _env(autoescape: bool) -> SandboxedEnvironment:
    env = SandboxedEnvironment(loader=FileSystemLoader(str(TEMPLATES_DIR)), undefined=StrictUndefined,
                               autoescape=autoescape, trim_blocks=True, lstrip_blocks=True,
                               keep_trailing_newline=False)
    env.filters.update(money=_money, day=_day, short=_short, rate=_rate)
    return env


TEXT_ENV = _env(False)
HTML_ENV = _env(True)


def template_names() -> list[str]:
    """The step templates shipped for every language (nl and en)."""
    return sorted(p.stem for p in (TEMPLATES_DIR / "nl").glob("*.j2") if not p.stem.startswith("_"))


def _paragraphs(text: str) -> list[str]:
    parts = re.split(r"\n\s*\n", text.strip())
    return [" ".join(line.strip() for line in p.splitlines() if line.strip()) for p in parts if p.strip()]


def _block(env: SandboxedEnvironment, name, block: str, ctx: dict) -> str:
    tmpl = env.get_template(name) if isinstance(name, str) else name
    return "".join(tmpl.blocks[block](tmpl.new_context(ctx)))


# What a text may use, as the template editor lists it: field -> what it holds.
FIELDS = {
    "debtor.name": N_("the debtor's name"), "debtor.code": N_("the debtor's code"),
    "debtor.contact_person": N_("the contact person (may be empty)"), "company.name": N_("your company's name"),
    "invoices[0].number": N_("the (first) invoice's number"), "invoices[0].due_date|day": N_("its due date"),
    "invoices[0].days_overdue": N_("its days past due"), "invoice_count": N_("how many invoices this message chases"),
    "many": N_("true when it chases more than one (use in {% if many %}…{% endif %})"),
    "total_cents|money": N_("the principal chased"), "costs_cents|money": N_("collection costs claimed"),
    "interest_cents|money": N_("statutory interest claimed"), "amount_due_cents|money": N_("total to pay"),
    "pay_by|day": N_("the date to pay by"), "payment.reference": N_("the payment reference"),
    "payment.description": N_("the description for the transfer (debtor code and invoice numbers)"),
    "track.name": N_("the track's name"), '{% include "nl/_costs.j2" %}': N_("the legal paragraph on costs and interest "
    "(required where the shipped text has it: a 14-day letter without it claims no costs)"),
}


def step_source(lang: str, template: str) -> str:
    """The shipped source of a step's template (all tones)."""
    return (TEMPLATES_DIR / lang / f"{template}.j2").read_text(encoding="utf-8")


def compile_text(source: str):
    """A template from an edited text, in the same sandbox; TemplateError when it does not parse."""
    try:
        return TEXT_ENV.from_string(source)
    except Exception as exc:  # TemplateSyntaxError, SecurityError
        raise TemplateError(f"the text cannot be used: {exc}") from exc


def render_message(ctx: dict, texts: dict | None = None) -> Rendered:
    """Subject, plain text and HTML of a message from its context (see `reminders.message_context`).
    The HTML shows the invoices in a table and the EPC QR code as the inline image `cid:epcqr`.
    `texts` maps (template, tone, language) to an edited template source used instead of the shipped one."""
    lang = contacts.letter_language(ctx.get("language"))
    ctx = {"qr_src": f"cid:{QR_CID}", **ctx, "language": lang, "t": LABELS[lang]}
    name = f"{lang}/{ctx['step']['template']}.j2"
    edited = (texts or {}).get((ctx["step"]["template"], ctx.get("tone", "standard"), lang))
    try:
        source = compile_text(edited) if edited else name
        subject = " ".join(_block(TEXT_ENV, source, "subject", ctx).split())
        body = _paragraphs(_block(TEXT_ENV, source, "body", ctx))
        frame = f"{lang}/_frame.j2"
        greeting = _block(TEXT_ENV, frame, "greeting", ctx).strip()
        closing = [line.strip() for line in _block(TEXT_ENV, frame, "closing", ctx).strip().splitlines()]
        parts = {**ctx, "paragraphs": body, "greeting": greeting, "closing": closing, "subject": subject}
        text = TEXT_ENV.get_template("layout.txt.j2").render(parts).strip() + "\n"
        # keep "€ 37,43" together on one line in the HTML
        parts["paragraphs"] = [re.sub(r"([€$£]) (?=-?\d)", "\\1\u00a0", p) for p in body]
        html = HTML_ENV.get_template("layout.html.j2").render(parts)
    except Exception as exc:  # jinja's UndefinedError, TemplateSyntaxError, SecurityError …
        raise TemplateError(f"template {name} cannot be rendered: {exc}") from exc
    return Rendered(subject, text, html)


def html_from_text(text: str, ctx: dict) -> str:
    """The HTML part for a text a person edited: the same words, paragraph by paragraph, plus the QR."""
    lang = contacts.letter_language(ctx.get("language"))
    parts = {"qr_src": f"cid:{QR_CID}", **ctx, "language": lang, "t": LABELS[lang], "edited_text": text}
    return HTML_ENV.get_template("edited.html.j2").render(parts)
