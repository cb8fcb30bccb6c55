"""A debtor's name is data: with Markdown in it (an image, a link) it shows as the text it is on every page
that names the debtor, for a viewer as for a collector."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from streamlit.testing.v1 import AppTest

from db.models import Debtor, ImportBatch, Invoice
from db.uow import UnitOfWork
from emails.template_source import TONES
from receivables.services import bank, reminder_settings, reminders, texts
from tests.app.login import log_in
from tests.app.test_queue_page import _tracks_with_approval
from tests.conftest import ROOT
from tests.integration.test_bank_service import OURS, statement, tx

EVIL = "![t](http://x/p.png) [pay](http://x/)"
# Markdown that would act: an image, a link anywhere but to our own pages (/dossier?debtor=…), or a bare
# address the renderer would make clickable by itself.
LIVE = re.compile(r"(?<!\\)!\[|\]\((?!/)|http://x")


@pytest.fixture
def ledger(engine):
    """Three debtors named with Markdown: an e-mail reminder each for two, a call task for the third, and a
    bank payment naming an invoice of the first."""
    from ui import state

    state.engine.clear()
    today = date.today()
    with UnitOfWork(engine) as u:
        s = u.session
        s.add(ImportBatch(kind="open-items", mode="full", file_name="o.csv", file_hash="h", as_of=today,
                          imported_by="t"))
        for code, days, override in [("100", 5, None), ("200", 3, None), ("300", 9, "strict")]:
            d = Debtor(code=code, name=f"{EVIL} {code}", email=f"ar@{code}.nl", language="nl",
                       track_override=override, account_manager=EVIL, contact_person=EVIL, phone="+31 20 555 0101")
            s.add(d)
            s.flush()
            due = today - timedelta(days=days)
            s.add(Invoice(number=f"F2026-0{code}", debtor_id=d.id, invoice_date=due - timedelta(days=30),
                          due_date=due, amount_cents=100_000, open_cents=100_000))
        u.commit()
    with UnitOfWork(engine) as u:
        reminder_settings.save_setting(u, reminder_settings.PAYMENT_KEY,
                                       {"iban": OURS, "beneficiary": "Demo B.V."}, actor="admin")
        reminder_settings.save_setting(u, reminder_settings.TRACKS_KEY, _tracks_with_approval(), actor="admin")
    for tone in TONES:  # a subject that names the debtor
        with UnitOfWork(engine) as u:
            texts.save(u, "reminder", tone, "nl", "Herinnering {{ debtor.name }}", "Betaal graag.", actor="admin")
    with UnitOfWork(engine) as u:
        reminders.generate(u, today, actor="test")
    with UnitOfWork(engine) as u:
        bank.add_account(u, OURS, actor="test")
    return engine


def shown(at: AppTest) -> list[str]:
    """Every text the page renders as Markdown: bodies, captions, message boxes, headings and labels."""
    out = []
    for kind in ("markdown", "caption", "info", "warning", "error", "success", "title", "header", "subheader",
                 "latex", "metric"):
        out += [e.value if kind != "metric" else e.label for e in getattr(at, kind)]
    for kind in ("button", "checkbox", "toggle", "text_input", "text_area", "selectbox", "radio", "expander",
                 "tabs", "number_input", "date_input", "multiselect"):
        out += [getattr(e, "label", "") or "" for e in at.get(kind)]
    return out


def assert_no_live_markup(at: AppTest) -> None:
    assert not at.exception
    texts = shown(at)
    live = [t for t in texts if LIVE.search(t)]
    assert live == []
    assert any(r"\[pay\]" in t for t in texts), "the debtor's name is not on the page at all"


def open_page(name: str, role: str, **query) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / name), default_timeout=60)
    log_in(at, "carla", role)
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


@pytest.mark.parametrize("role", ["viewer", "collector"])
def test_the_queue_shows_a_markdown_name_as_text_in_the_list_the_preview_and_the_call_list(ledger, role):
    at = open_page("queue.py", role)
    assert_no_live_markup(at)
    assert any("Subject" in t and r"\[pay\]" in t for t in shown(at))  # the preview's subject


@pytest.mark.parametrize("role", ["viewer", "collector"])
def test_the_dossier_shows_a_markdown_name_as_text(ledger, role):
    assert_no_live_markup(open_page("dossier.py", role, debtor="100"))


def test_today_shows_a_markdown_name_as_text(ledger):
    assert_no_live_markup(open_page("today.py", "collector"))


def test_the_bank_page_shows_a_markdown_name_as_text(ledger):
    at = open_page("bank.py", "collector")
    lines = statement(tx("990.00", text="F2026-0100", entry_ref="1"),  # a suggestion naming the debtor
                      tx("12.34", name=EVIL, text=EVIL, entry_ref="2"))  # who paid this? the payer's own words
    at.file_uploader[0].set_value(("statement.xml", lines, "application/xml"))
    at.run()
    at.button(key="bank_import").click()
    assert_no_live_markup(at.run())
