"""The dossier page driven through AppTest: a collector finds a debtor and records what was said; a viewer
only reads."""

import re
from datetime import date, datetime, time, timedelta
from email.message import EmailMessage

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from db.models import Debtor, Invoice, Note
from db.uow import UnitOfWork
from receivables.domain import formatting
from receivables.services.ledger import apply_change
from tests.app.login import log_in
from tests.conftest import ROOT

PAGE = str(ROOT / "pages" / "dossier.py")
ACTIONS = {"add_note", "log_call", "record_promise", "open_dispute", "resolve_dispute", "reject_dispute", "block", "unblock",
           "save_contact", "record_reply"}
EVIL = "Belt vrijdag terug <script>alert(1)</script> [klik hier](http://evil.example)"


@pytest.fixture
def app_db(engine):
    from ui import state

    today = date.today()
    state.engine.clear()  # the page must use this test's database
    with UnitOfWork(engine) as u:
        s = u.session
        d = Debtor(code="0100", name="De Jong Bouw B.V.", email="crediteuren@dejong.nl", language="nl",
                   segment="Bouw", account_manager="Sanne de Vries", contact_person="Anouk de Jong")
        s.add_all([d, Debtor(code="0200", name="De Jonge Transport V.O.F.", email="fin@dejonge.nl")])
        s.flush()
        for n, (days_ago, cents) in enumerate([(75, 100000), (45, 50000), (5, 25000)], start=1):
            issued = today - timedelta(days=days_ago)
            s.add(Invoice(number=f"2026-000{n}", debtor_id=d.id, invoice_date=issued,
                          due_date=issued + timedelta(days=30), amount_cents=cents, open_cents=cents))
        paid = Invoice(number="2025-0100", debtor_id=d.id, invoice_date=today - timedelta(days=120),
                       due_date=today - timedelta(days=90), amount_cents=80000, open_cents=80000)
        s.add(paid)
        s.flush()
        apply_change(s, paid, today - timedelta(days=70), "payment", -80000)
        u.commit()
    yield engine
    state.engine.clear()


def page(role: str, debtor: str | None = None) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    log_in(at, "carla" if role == "collector" else "vera", role)
    if debtor:
        at.query_params["debtor"] = debtor
    return at.run()


def unescape(markdown: str) -> str:
    """What a reader sees of our escaped Markdown: the characters behind the backslashes."""
    return re.sub(r"\\(.)", r"\1", markdown)


def headers(at: AppTest) -> list[str]:
    return [unescape(h.value) for h in at.header]


def timeline_titles(at: AppTest) -> list[str]:
    return [unescape(m.value) for m in at.markdown if m.value.startswith(":material/") and "**" in m.value]


def markdown(at: AppTest) -> str:
    return "\n".join(unescape(m.value) for m in at.markdown)


def texts(at: AppTest) -> list[str]:
    return [t.value for t in at.text]


def reply_eml() -> bytes:
    msg = EmailMessage()
    msg["From"] = "Anouk de Jong <anouk@dejong.nl>"
    msg["Subject"] = "Re: Herinnering"
    msg["Date"] = "Wed, 04 Mar 2026 10:15:00 +0000"
    msg.set_content("Wij hebben vandaag betaald.")
    msg.add_attachment(b"%PDF", maintype="application", subtype="pdf", filename="betaalbewijs.pdf")
    return msg.as_bytes()


def submit(at: AppTest, key: str) -> AppTest:
    at.button(key=key).click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


def test_a_collector_finds_a_debtor_and_records_note_promise_dispute_block_and_reply(app_db):
    today = date.today()
    at = page("collector")
    assert not at.exception
    assert "Search for a debtor" in at.info[0].value

    at.text_input(key="dossier_search").input("jong").run()
    assert at.selectbox(key="dossier_pick").options == ["0100 · De Jong Bouw B.V. — name",
                                                        "0200 · De Jonge Transport V.O.F. — name"]
    at.selectbox(key="dossier_pick").select_index(0).run()
    assert not at.exception
    assert headers(at) == ["De Jong Bouw B.V."]
    assert at.query_params["debtor"] == ["0100"] or at.query_params["debtor"] == "0100"
    assert any("Invoice 2026-0001 issued" in t for t in timeline_titles(at))

    at.text_area(key="note_text").input(EVIL)
    submit(at, "add_note")
    assert at.success[0].value == "Note added."
    assert EVIL in texts(at)  # shown as plain text, literally
    assert not any("](http" in m.value or "<script>" in m.value for m in at.markdown)

    at.date_input(key="promise_date").set_value(today + timedelta(days=5))
    at.multiselect(key="promise_invoices").select("2026-0001")
    at.text_area(key="promise_text").input("Toezegging per telefoon")
    submit(at, "record_promise")
    # read in English: money and dates as an English reader writes them
    assert (f"**Promise to pay {formatting.money(100000, 'EUR', 'en')} by "
            f"{formatting.day(today + timedelta(days=5), 'en')}**") in markdown(at)
    assert "promise pending" in markdown(at)

    at.selectbox(key="dispute_invoice").select("2026-0002")
    at.text_area(key="dispute_reason").input("2 pallets retour gestuurd")
    submit(at, "open_dispute")
    assert any("Dispute opened on invoice 2026-0002" in t for t in timeline_titles(at))
    assert "2 pallets retour gestuurd" in texts(at)

    at.text_area(key="block_reason").input("in overleg met de directeur")
    submit(at, "block")
    assert any("Reminders blocked" in t for t in timeline_titles(at))
    assert any("Reminders are blocked" in w.value for w in at.warning)

    at.file_uploader(key="reply_file").set_value(("antwoord.eml", reply_eml(), "message/rfc822"))
    submit(at, "record_reply")
    assert any("Reply from Anouk de Jong" in t and "Re: Herinnering" in t for t in timeline_titles(at))
    assert "Wij hebben vandaag betaald." in texts(at)
    assert "attachments: betaalbewijs.pdf" in markdown(at)


@pytest.mark.parametrize("query", ["0200", "transport", "fin@dejonge", "0003"])
def test_a_single_match_or_an_exact_code_opens_the_dossier_straight_away(app_db, query):
    at = page("collector")
    at.text_input(key="dossier_search").input(query).run()
    assert not at.exception
    expected = "De Jong Bouw B.V." if query == "0003" else "De Jonge Transport V.O.F."
    assert headers(at) == [expected]
    assert not [w for w in at.selectbox if w.key == "dossier_pick"]


def test_a_link_in_an_email_subject_is_not_made_clickable(app_db):
    msg = EmailMessage()
    msg["From"] = "www.evil.example <x@dejong.nl>"
    msg["Subject"] = "pay at https://evil.example/pay [x](http://evil.example)"
    msg.set_content("body")
    at = page("collector", "0100")
    at.file_uploader(key="reply_file").set_value(("r.eml", msg.as_bytes(), "message/rfc822"))
    submit(at, "record_reply")
    title = next(t for t in timeline_titles(at) if "Reply from" in t)
    assert "https:\u200b//evil.example/pay [x](http:\u200b//evil.example)" in title
    assert "www\u200b.evil.example" in title
    assert not any("://" in m.value or "www." in m.value for m in at.markdown)


def add_promise_past_its_date(engine):
    today = date.today()
    with UnitOfWork(engine) as u:
        debtor = u.session.scalars(select(Debtor).where(Debtor.code == "0100")).one()
        u.session.add(Note(debtor_id=debtor.id, kind="promise", outcome="pending", promise_cents=100000,
                           promise_date=today - timedelta(days=10), created_by="carla",
                           created_at=datetime.combine(today - timedelta(days=12), time(9))))
        u.commit()


def test_the_dossier_shows_a_promise_broken_once_its_date_has_passed(app_db):
    add_promise_past_its_date(app_db)
    at = page("viewer", "0100")
    assert not at.exception
    assert any(t.startswith(":material/handshake: **Promise broken") for t in timeline_titles(at))
    assert "1 broken promise in 12 months" in markdown(at)
    with UnitOfWork(app_db) as u:  # recorded by the next review, not by looking
        assert u.session.scalars(select(Note.outcome).where(Note.kind == "promise")).one() == "pending"


def test_opening_the_dossier_writes_nothing(app_db):
    from receivables.services import analytics
    from tests.writes import writes

    add_promise_past_its_date(app_db)
    page("viewer", "0200")  # the server has started: its start-up has run
    page("collector", "0200")  # and both users are in the database
    with UnitOfWork(app_db) as u:
        version = analytics.data_version(u)
    with writes() as sent:
        for role in ("viewer", "collector"):
            at = page(role, "0100")
            assert not at.exception and headers(at) == ["De Jong Bouw B.V."]
    assert sent == []
    with UnitOfWork(app_db) as u:
        assert analytics.data_version(u) == version


def test_the_call_form_offers_the_one_list_of_outcomes(app_db):
    from receivables.domain import calls

    at = page("collector", "0100")
    assert tuple(at.radio(key="call_outcome").options) == calls.CALL_OUTCOMES
    at.radio(key="call_outcome").set_value("voicemail")
    submit(at, "log_call")
    assert any("Call: voicemail" in t for t in timeline_titles(at))


def test_a_mistake_in_a_form_shows_what_to_fix_and_records_nothing(app_db):
    at = page("collector", "0100")
    at.text_area(key="block_reason").input("")
    at.button(key="block").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == ["the reason for blocking is empty; type what was said or agreed"]
    assert not any("Reminders blocked" in t for t in timeline_titles(at))


def test_the_timeline_can_be_filtered_by_kind(app_db):
    at = page("collector", "0100")
    at.text_area(key="note_text").input("alleen een notitie")
    submit(at, "add_note")
    at.button_group(key="dossier_kinds").set_value(["note"]).run()
    assert not at.exception
    titles = timeline_titles(at)
    assert len(titles) == 1 and "**Note**" in titles[0]


def test_a_viewer_sees_the_dossier_but_no_action_buttons(app_db):
    at = page("viewer", "0100")
    assert not at.exception
    assert headers(at) == ["De Jong Bouw B.V."]
    assert at.dataframe and at.get("plotly_chart")
    assert not {b.key for b in at.button} & ACTIONS
    assert not at.text_area and not at.file_uploader


def test_an_unknown_debtor_in_the_link_says_how_to_find_one(app_db):
    at = page("collector", "9999")
    assert not at.exception
    assert "search by name" in at.error[0].value


def test_the_dossier_reads_in_dutch_with_dutch_amounts_and_dates(app_db):
    at = AppTest.from_file(PAGE, default_timeout=60)
    log_in(at, "carla", "collector", language="nl")
    at.query_params["debtor"] = "0100"
    at.run()
    assert not at.exception
    assert at.title[0].value == "Debiteurendossier"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Openstaand"] == "€ 1.750,00" and metrics["Vervallen"] == "€ 1.500,00"
    assert metrics["Gewogen dagen te laat"] == "20,0 d"
    assert "Tijdlijn" in [s.value for s in at.subheader]
    text = markdown(at)
    assert "**Factuur 2026-0001 verstuurd: € 1.000,00**" in text
    assert f"vervalt {date.today() - timedelta(days=45):%d-%m-%Y}" in text
    assert "betalingstermijn 30 dagen" in text
    table = at.dataframe[0].value
    assert list(table.columns[:4]) == ["number", "invoice_date", "due_date", "amount_cents"]
    assert "€ 1.000,00" in set(table["amount_cents"]) and table.isna().any().any() is not None
    assert "Verjaring" in [t.label for t in at.tabs]


def test_the_statement_downloads_as_pdf_and_excel_in_the_readers_language(app_db):
    import io

    import openpyxl
    import pypdf

    from receivables.services import dossier

    today = date.today()
    with UnitOfWork(app_db) as u:
        pdf = dossier.statement(u, "0100", "pdf", "nl", today)
        xlsx = dossier.statement(u, "0100", "xlsx", "en", today)
    assert pdf.name == f"rekeningoverzicht-0100-{today:%Y%m%d}.pdf"
    words = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf.data)).pages)
    assert "Rekeningoverzicht" in words and "2026-0003" in words and "1.750,00" in words
    assert "2025-0100" not in words  # paid: not an open item
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.data)).active
    cells = [c for row in sheet.iter_rows() for c in row if c.value is not None]
    amounts = [c.value for c in cells if isinstance(c.value, (int, float)) and c.value >= 250]
    assert 1000 in amounts and 250 in amounts and 1750 in amounts  # real numbers, total included
    assert any(c.value == "Statement of account · Debtor Desk" for c in cells)

    at = page("viewer", "0100")
    buttons = {b.key for b in at.get("download_button")}
    assert {"statement_pdf", "statement_xlsx"} <= buttons


def test_the_statement_is_written_from_the_command_line(app_db, tmp_path, monkeypatch):
    import openpyxl

    from receivables.cli import dossier as cli

    class Args:
        code, format, lang, today, out = "0100", "xlsx", None, date.today(), tmp_path / "s.xlsx"

    assert cli._statement(app_db, Args) == 0
    sheet = openpyxl.load_workbook(Args.out).active
    values = [c.value for row in sheet.iter_rows() for c in row]
    assert "Rekeningoverzicht · Debtor Desk" in values  # the debtor reads Dutch
    assert 1750 in values or 1750.0 in values


def test_the_files_a_debtor_sent_with_a_reply_can_be_downloaded_from_the_dossier(app_db):
    from receivables.services import mailbox
    from tests import reply_samples as samples

    today = date.today()
    with UnitOfWork(app_db) as u:
        mailbox.receive(u, samples.reply_with_attachment().replace(b"jan@klant.example", b"crediteuren@dejong.nl"),
                        key="1:att", today=today)
        mailbox.receive(u, samples.reply_with_attachment(size=30_000_000).replace(
            b"jan@klant.example", b"crediteuren@dejong.nl").replace(b"<att@", b"<groot@"), key="1:big", today=today)
    at = page("viewer", "0100")
    assert not at.exception
    (box,) = [e for e in at.expander if "attachment" in e.label]
    assert box.label == "2 attachments with replies"
    downloads = [b for b in box.get("download_button")]
    assert [b.proto.label for b in downloads] == ["Download betaalbewijs.pdf"]
    assert any("too large to keep" in c.value for c in box.caption)
    assert not [e for e in page("viewer", "0200").expander if "attachment" in e.label]  # another debtor's: none


def test_a_bounced_address_is_named_in_the_dossier_until_a_person_confirms_it(app_db):
    from receivables.services import dossier as dossier_service

    with UnitOfWork(app_db) as u:
        d = u.session.scalars(select(Debtor).where(Debtor.code == "0100")).one()
        d.email_bouncing = "crediteuren@dejong.nl"
        u.commit()
    at = page("viewer", "0100")
    assert [w.value for w in at.warning if "bounced" in w.value] == [
        "Reminders are not sent to crediteuren@dejong\\.nl: mail to it bounced. Enter a new address under Contact, "
        "or save it there as it is to use it again."]
    with UnitOfWork(app_db) as u:  # saved as it stands: confirmed
        dossier_service.update_contact(u, "0100", emails="crediteuren@dejong.nl", language="nl",
                                       contact_person="Anouk de Jong", actor="carla")
    assert not [w for w in page("viewer", "0100").warning if "bounced" in w.value]


@pytest.mark.parametrize("query", ["De\x00Jong", "\x00\x00", "0100\x00"])
def test_a_nul_character_in_the_search_is_refused_with_a_message_not_a_database_error(app_db, query):
    at = page("collector")
    at.text_input(key="dossier_search").input(query).run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        "the search holds a control character (such as NUL) that no code, name or number contains; type the "
        "search again"]
    assert headers(at) == []


def test_a_nul_character_in_the_debtor_address_is_refused_with_a_message(app_db):
    at = page("collector", debtor="0100\x00")
    assert not at.exception
    assert any("there is no debtor with code" in e.value for e in at.error)
