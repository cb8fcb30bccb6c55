from datetime import date

import pytest
from jinja2.sandbox import SandboxedEnvironment

from emails import render
from emails.render import TemplateError, render_message
from receivables.domain import tracks

TEMPLATES = tracks.TEMPLATES
WORDS_NL = {"courtesy": "Attendering", "reminder": "herinnering", "second_reminder": "Tweede herinnering",
            "call": "Bellen", "demand": "Aanmaning", "final_notice": "Ingebrekestelling",
            "handover": "incassobureau"}


def context(template="demand", tone="standard", language="nl", many=True, wik=False, costs_cents=22_500,
            interest_cents=1_234):
    invoices = [
        {"number": "2026-00012", "invoice_date": date(2026, 4, 1), "due_date": date(2026, 5, 1),
         "days_overdue": 45, "open_cents": 121_000, "description": "Levering"},
        {"number": "2026-00019", "invoice_date": date(2026, 4, 10), "due_date": date(2026, 5, 10),
         "days_overdue": 36, "open_cents": 50_050, "description": "Levering"}][: 2 if many else 1]
    total = sum(i["open_cents"] for i in invoices)
    if wik:
        costs_cents = interest_cents = 0
    return {
        "language": language, "tone": tone, "channel": "call" if template == "call" else "email",
        "step": {"key": template, "template": template}, "track": {"key": tone, "name": tone.title()},
        "many": many, "currency": "EUR", "invoices": invoices, "invoice_count": len(invoices), "more": None,
        "debtor": {"code": "10001", "name": "Bakker & Zn. B.V.", "contact_person": "Anouk Bakker",
                   "phone": "+31 20 123 4567", "email": "crediteuren@bakker.nl"},
        "company": {"name": "Debtor Desk Demo B.V."},
        "overview": [{**i, "status": "chased"} for i in invoices] + [
            {"number": "CN2026-00001", "invoice_date": date(2026, 3, 1), "due_date": date(2026, 3, 1),
             "open_cents": -5_000, "status": "credit"}],
        "total_cents": total, "costs_cents": costs_cents, "interest_cents": interest_cents,
        "amount_due_cents": total + costs_cents + interest_cents,
        "costs": ({"mode": "bik", "wik_letter": True, "announced_cents": 22_500, "rates_used": []} if wik
                  else {"mode": "bik", "rates_used": ["10.15"]}),
        "planned_date": date(2026, 6, 15), "pay_by": date(2026, 6, 29),
        "payment": {"iban": "NL91 ABNA 0417 1643 00", "bic": "ABNANL2A", "beneficiary": "Debtor Desk Demo B.V.",
                    "reference": "10001 2026-00012 2026-00019", "link": "https://pay.example.test/10001"},
        "qr": True,
    }


def test_every_step_ships_in_dutch_and_english():
    for language in render.LANGUAGES:
        for template in TEMPLATES:
            assert (render.TEMPLATES_DIR / language / f"{template}.j2").is_file()
    assert render.template_names() == sorted(TEMPLATES)


@pytest.mark.parametrize("language", render.LANGUAGES)
@pytest.mark.parametrize("tone", tracks.TONES)
@pytest.mark.parametrize("template", TEMPLATES)
@pytest.mark.parametrize("many", [True, False])
def test_every_template_renders_in_every_tone_without_missing_variables(template, tone, language, many):
    r = render_message(context(template, tone, language, many))
    assert r.subject and "{" not in r.subject
    assert "{{" not in r.text and "{%" not in r.text and "{{" not in r.html
    assert "2026-00012" in r.text and "2026-00012" in r.html
    if template != "call":
        assert "cid:epcqr" in r.html
        assert "NL91 ABNA 0417 1643 00" in r.text
    assert "Bakker &amp; Zn. B.V." in r.html and "&amp;amp;" not in r.html  # escaped once in HTML
    if language == "nl":
        assert WORDS_NL[template].lower() in (r.subject + r.text).lower()


@pytest.mark.parametrize("template", ["demand", "final_notice", "handover"])
def test_cost_steps_show_interest_and_costs_in_the_text(template):
    r = render_message(context(template, "standard", "nl"))
    assert "€ 12,34" in r.text and "€ 225,00" in r.text
    assert "wettelijke handelsrente" in r.text and "incassokosten" in r.text
    assert "Totaal te betalen" in r.text and "€ 1.947,84" in r.text


@pytest.mark.parametrize("language, wording", [
    ("nl", "binnen 14 dagen na de dag waarop u deze brief heeft ontvangen"),
    ("en", "within 14 days, counted from the day after the day you receive this letter")])
def test_the_14_day_letter_states_the_term_and_the_exact_costs(language, wording):
    r = render_message(context("demand", "standard", language, wik=True))
    assert wording in r.text
    assert ("€ 225,00" if language == "nl" else "€225.00") in r.text


def test_credit_notes_appear_in_the_overview_but_are_not_chased():
    r = render_message(context("reminder", "friendly", "nl"))
    assert "CN2026-00001" in r.text and "creditnota" in r.text
    assert r.subject == "Vriendelijke herinnering: 2 facturen"


def test_an_unknown_variable_is_an_error_at_render_time():
    ctx = context()
    del ctx["pay_by"]
    with pytest.raises(TemplateError, match="pay_by"):
        render_message(ctx)


def test_templates_run_in_a_sandbox():
    assert isinstance(render.TEXT_ENV, SandboxedEnvironment)
    ctx = context()
    ctx["debtor"]["name"] = "{{ ''.__class__.__mro__ }}"  # data is never evaluated as a template
    assert "__mro__" in render_message(ctx).text


def test_an_edited_text_becomes_the_html_part_escaped():
    html = render.html_from_text("Beste klant,\n\n<b>betaal</b> a.u.b.", {"language": "nl", "qr": True})
    assert "&lt;b&gt;betaal&lt;/b&gt;" in html and "cid:epcqr" in html


@pytest.mark.parametrize("language", render.LANGUAGES)
@pytest.mark.parametrize("template", TEMPLATES)
def test_each_tone_of_a_step_has_its_own_words(template, language):
    texts = {tone: render_message(context(template, tone, language)).text for tone in tracks.TONES}
    assert len(set(texts.values())) == len(texts), f"{template} ({language}) reads the same in two tones"


# --- what each letter says must be true when it is sent (art. 6:83, 6:96, 6:119a BW) ------------------

@pytest.mark.parametrize("language, wrong, right", [
    ("nl", "dan verkeert u in verzuim", "sindsdien bent u in verzuim"),
    ("en", "you will be in default", "you have been in default since then"),
])
@pytest.mark.parametrize("tone", tracks.TONES)
def test_the_notice_of_default_says_default_began_when_the_term_expired(language, wrong, right, tone):
    r = render_message(context("final_notice", tone, language))
    assert wrong not in r.text and right in r.text


@pytest.mark.parametrize("template", ["demand", "final_notice", "handover"])
@pytest.mark.parametrize("language, wording", [("nl", "bent u in verzuim"), ("en", "you are in default")])
def test_a_letter_that_charges_costs_and_interest_says_that_default_has_begun(template, language, wording):
    assert wording in render_message(context(template, "standard", language)).text


@pytest.mark.parametrize("language, citation", [("nl", "artikel 6:96 lid 4 BW"),
                                                ("en", "article 6:96(4) of the Dutch Civil Code")])
def test_the_fixed_40_euros_cite_article_6_96_lid_4(language, citation):
    ctx = context("demand", "standard", language, costs_cents=8_000)
    ctx["costs"] = {"mode": "eu40", "rates_used": ["10.15"]}
    text = render_message(ctx).text
    assert citation in text and "6:119a lid 4" not in text


@pytest.mark.parametrize("language, vat", [("nl", "incl. btw"), ("en", "incl. VAT")])
def test_costs_that_include_vat_say_so_in_the_words_and_the_table(language, vat):
    ctx = context("demand", "standard", language)
    ctx["costs"] = {"mode": "bik", "rates_used": ["10.15"], "vat_included": True}
    r = render_message(ctx)
    assert r.text.count(vat) >= 2 and vat in r.html


@pytest.mark.parametrize("language, promise, none", [
    ("nl", "De kosten daarvan komen voor uw rekening", "niet hoger dan het bedrag dat wij u al in rekening"),
    ("en", "The costs of this will be for your account", "will not exceed the amount we have already charged")])
def test_a_handover_to_a_consumer_promises_no_costs_beyond_those_already_charged(language, promise, none):
    ctx = context("handover", "standard", language)
    ctx["costs"] = {"mode": "bik", "rates_used": [], "consumer": True}
    text = render_message(ctx).text
    assert promise not in text and none in text


def test_consumer_interest_is_called_statutory_interest_with_its_own_article():
    ctx = context("final_notice", "standard", "nl")
    ctx["costs"] = {"mode": "bik", "rates_used": ["6"], "interest_kind": "consumer", "consumer": True}
    text = render_message(ctx).text
    assert "wettelijke rente (artikel 6:119 BW)" in text and "handelsrente" not in text.lower()


def test_a_letter_after_part_payments_explains_how_they_were_applied():
    ctx = context("demand", "standard", "nl")
    ctx["costs"] = {"mode": "bik", "rates_used": ["10.15"], "costs_paid_cents": 5_000}
    assert "artikel 6:44 BW" in render_message(ctx).text
