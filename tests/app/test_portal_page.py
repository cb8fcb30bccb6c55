"""The debtor's portal (portal.py) through Streamlit's AppTest: the same neutral page for every link that
does not work, the debtor's own page in their language, an action from it, and a debtor's words shown as
text."""

import re
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from db.models import Debtor, ImportBatch, Invoice, Message, Note
from db.uow import UnitOfWork
from receivables.services import portal_links, reminder_settings
from tests.conftest import ROOT

KEY = "app-test-KEY-for-the-portal-q8w7e6r5t4y3u2i1o0zz"
NAME = "<script>alert(1)</script> **Bakker** [klik](https://evil.example)"


@pytest.fixture
def tokens(sqlite_engine, monkeypatch):
    today = date.today()
    monkeypatch.setenv("PORTAL_URL", "https://pay.example.test")
    monkeypatch.setenv("PORTAL_SECRET_KEY", KEY)
    out = {}
    with UnitOfWork(sqlite_engine) as u:
        s = u.session
        s.add(ImportBatch(kind="open-items", mode="full", file_name="o.csv", file_hash="h", as_of=today,
                          imported_by="t"))
        for code, name, language in [("100", NAME, "en"), ("200", "Visser Transport B.V.", "nl")]:
            d = Debtor(code=code, name=name, email=f"ar@{code}.example", language=language)
            s.add(d)
            s.flush()
            for n, days in ((1, 40), (2, 10)):
                s.add(Invoice(number=f"F-{code}-{n}", debtor_id=d.id, invoice_date=today - timedelta(days=days + 30),
                              due_date=today - timedelta(days=days), amount_cents=121_000 * n, open_cents=121_000 * n))
            m = Message(debtor_id=d.id, track="standard", step_index=1, step_name="reminder", step_key=f"r{code}",
                        status="sent", planned_date=today, sent_at=datetime.now(), recipients=d.email)
            s.add(m)
            s.flush()
            out[code] = portal_links.make_token(d.id, m.id, 0)
        reminder_settings.save_setting(u, reminder_settings.PAYMENT_KEY, {
            "iban": "NL91ABNA0417164300", "bic": "ABNANL2A", "beneficiary": "Debtor Desk Demo B.V.",
            "link_pattern": ""}, actor="admin")
    out["engine"] = sqlite_engine
    return out


def portal(token: str | None, language: str = "en") -> AppTest:
    at = AppTest.from_file(str(ROOT / "portal.py"), default_timeout=60)
    at.session_state["_language"] = language
    if token is not None:
        at.query_params["t"] = token
    return at.run()


def invoice_lines(at) -> list[tuple[str, str]]:
    """(number, status) of each invoice card."""
    numbers = [re.search(r"\*\*Invoice (.+?)\*\*", m.value).group(1).replace("\\", "") for m in at.markdown
               if m.value.startswith("**Invoice ")]
    statuses = [re.search(r"-badge\[(.+?)\]$", m.value).group(1) for m in at.markdown if "-badge[" in m.value]
    return list(zip(numbers, statuses))


def said(at) -> str:
    return " ".join([*(m.value for m in at.markdown), *(t.value for t in at.title), *(c.value for c in at.caption)])


@pytest.mark.parametrize("token", [None, "", "nonsense", "WzEsMSwwXQ.aaaaaa.bbbbbbbbbbbbbbbbbbbbbbbbbbb"])
def test_a_link_that_does_not_work_shows_only_the_neutral_page(tokens, token):
    at = portal(token)
    assert not at.exception
    assert [t.value for t in at.title] == ["This link does not work"]
    assert "Debtor Desk Demo B.V." in said(at)
    assert "F-100" not in said(at) and not at.button


def test_a_revoked_link_shows_the_same_neutral_page(tokens):
    with UnitOfWork(tokens["engine"]) as u:
        u.session.scalar(select(Debtor).where(Debtor.code == "100")).portal_generation = 1
        u.commit()
    assert [t.value for t in portal(tokens["100"]).title] == ["This link does not work"]


def test_the_debtor_sees_their_open_invoices_how_to_pay_and_their_name_as_text(tokens):
    at = portal(tokens["100"])
    assert not at.exception
    assert at.title[0].value == "Your open invoices"
    text = said(at)
    assert invoice_lines(at) == [("F-100-1", "open"), ("F-100-2", "open")]
    assert "F-200" not in text
    # the name is escaped Markdown: no live link, no bold, no HTML
    shown = [m.value for m in at.markdown if "script" in m.value][0]
    assert "\\<script\\>" in shown and "\\*\\*Bakker\\*\\*" in shown and "\\[klik\\]\\(https" in shown
    assert "€3,630.00" in text.replace("\\", "") and "NL91 ABNA 0417 1643 00" in text
    assert len(at.get("download_button")) == 1


def test_a_dutch_debtor_reads_the_page_in_dutch(tokens):
    at = portal(tokens["200"], language="en")
    assert not at.exception
    assert at.title[0].value == "Uw openstaande facturen"
    assert "**Factuur F\\-200\\-1**" in said(at) and "vervalt op" in said(at)
    assert ":gray-badge[open]" in said(at)


def test_disputing_an_invoice_from_the_page_lands_in_the_dossier_as_text(tokens):
    at = portal(tokens["100"])
    at.multiselect(key="dispute_numbers").set_value(["F-100-2"])
    at.selectbox(key="dispute_reason").set_value("other")
    at.text_area(key="dispute_text").input("<img src=x onerror=alert(1)> *niet* besteld")
    at = [b for b in at.button if b.label == "Send the dispute"][0].click().run()
    assert not at.exception
    assert at.success[0].value.startswith("Thank you. We will look into it")
    assert invoice_lines(at) == [("F-100-1", "open"), ("F-100-2", "in dispute")]
    with UnitOfWork(tokens["engine"]) as u:
        note = u.session.scalar(select(Note).where(Note.kind == "dispute"))
        assert note.text == "Something else: <img src=x onerror=alert(1)> *niet* besteld"
        assert note.created_by == "portal"
        assert u.session.scalar(select(Invoice.disputed).where(Invoice.number == "F-100-2"))


def test_a_refused_action_says_what_to_fix_and_changes_nothing(tokens):
    at = portal(tokens["100"])
    at = [b for b in at.button if b.label == "Send the dispute"][0].click().run()
    assert not at.exception
    assert at.error[0].value == "choose at least one invoice"
    with UnitOfWork(tokens["engine"]) as u:
        assert not u.session.scalar(select(Note).where(Note.kind == "dispute"))


def test_the_company_name_and_contact_details_are_shown_as_text_too(tokens):
    with UnitOfWork(tokens["engine"]) as u:
        reminder_settings.save_setting(u, reminder_settings.PAYMENT_KEY, {
            "iban": "NL91ABNA0417164300", "bic": "", "beneficiary": "De Ruyter <b>B.V.</b> [x](http://e.x)",
            "link_pattern": ""}, actor="admin")
    for token in ("nonsense", tokens["100"]):
        shown = said(portal(token))
        assert "De Ruyter \\<b\\>B.V.\\</b\\> \\[x\\]\\(http\\://e.x\\)" in shown


def test_a_promise_and_a_reported_payment_from_the_page_pause_the_invoices(tokens):
    at = portal(tokens["100"])
    at.multiselect(key="promise_numbers").set_value(["F-100-1"])
    at.text_input(key="promise_text").input("[klik](http://evil.example) <script>")
    at = [b for b in at.button if b.label == "Send the promise"][0].click().run()
    assert not at.exception
    assert at.success[0].value.startswith("Thank you. We send no reminders")
    at.multiselect(key="paid_numbers").set_value(["F-100-2"])
    at = [b for b in at.button if b.label == "Let us know"][0].click().run()
    assert not at.exception
    assert invoice_lines(at) == [("F-100-1", "promised"), ("F-100-2", "payment reported")]
    with UnitOfWork(tokens["engine"]) as u:
        kinds = sorted(u.session.scalars(select(Note.kind).where(Note.created_by == "portal", Note.kind != "portal_visit")))
        assert kinds == ["portal_paid", "promise"]
        assert u.session.scalar(select(Note.text).where(Note.kind == "promise")) == "[klik](http://evil.example) <script>"
