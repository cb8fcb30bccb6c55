"""The reminder queue page through Streamlit's AppTest, on a small real ledger."""

from datetime import date, timedelta

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from db.models import AuditEvent, Debtor, ImportBatch, Invoice, Message, Note
from db.uow import UnitOfWork
from receivables.services import reminder_settings, reminders
from tests.app.login import log_in
from tests.conftest import ROOT


@pytest.fixture
def ledger(engine):
    """Three debtors: an e-mail reminder each for two, and a call task for a strict-track debtor."""
    today = date.today()
    with UnitOfWork(engine) as u:
        s = u.session
        s.add(ImportBatch(kind="open-items", mode="full", file_name="o.csv", file_hash="h", as_of=today,
                          imported_by="t"))
        for code, name, days, override in [("100", "Bakker Bouw B.V.", 5, None),
                                           ("200", "Northwind Traders Ltd", 3, None),
                                           ("300", "Visser Transport B.V.", 9, "strict")]:
            d = Debtor(code=code, name=name, email=f"ar@{code}.nl", language="nl", track_override=override,
                       account_manager="Sanne de Vries", phone="+31 20 555 0101")
            s.add(d)
            s.flush()
            due = today - timedelta(days=days)
            s.add(Invoice(number=f"F-{code}", debtor_id=d.id, invoice_date=due - timedelta(days=30),
                          due_date=due, amount_cents=100_000, open_cents=100_000))
        u.commit()
    with UnitOfWork(engine) as u:
        reminder_settings.save_setting(u, reminder_settings.PAYMENT_KEY, {"iban": "NL91ABNA0417164300", "beneficiary": "Demo B.V."},
                               actor="admin")
        reminder_settings.save_setting(u, reminder_settings.TRACKS_KEY, _tracks_with_approval(), actor="admin")
    return engine


def _tracks_with_approval():
    from receivables.domain import tracks

    data = tracks.tracks_to_data(tracks.default_tracks())
    for t in data:
        for s in t["steps"]:
            s["needs_approval"] = True
        if t["key"] == "strict":  # a call task straight away, to have one on the call list
            t["steps"] = [{**t["steps"][2], "offset": 1}, *[x for x in t["steps"][3:]]]
    return data


def page(role="collector", language="en") -> AppTest:
    import streamlit as st

    from ui import state

    state.engine.clear()  # the page must use this test's database
    st.cache_data.clear()
    at = AppTest.from_file(str(ROOT / "pages" / "queue.py"), default_timeout=60)
    log_in(at, "carla", role, language=language)
    return at.run()


def button(at, label):
    return next(b for b in at.button if b.label == label)


def statuses(engine):
    with UnitOfWork(engine) as u:
        return {m.id: m.status for m in u.session.scalars(select(Message))}


def test_generating_from_the_page_fills_the_queue_and_the_call_list(ledger):
    at = page()
    assert not at.exception
    assert "No messages match" in at.info[0].value
    at = button(at, "Propose due reminders").click().run()
    assert not at.exception
    assert "created 3" in at.success[0].value
    # the first run on a ledger is a review: everything proposed, summed up by track, step and currency
    assert "This run is a review" in at.warning[0].value
    assert {(r["Track"], r["Step"], r["Currency"]) for r in at.dataframe[0].value.to_dict("records")} == {
        ("standard", "reminder", "EUR"), ("strict", "call", "EUR")}
    assert [m.value for m in at.metric][:4] == ["2", "2", "0", "1"]
    calls = " ".join(m.value for m in at.markdown)
    assert "Visser Transport B.V." in calls


def test_approve_all_approves_the_filtered_rows_only(ledger):
    with UnitOfWork(ledger) as u:
        reminders.generate(u, date.today(), actor="test")
    at = page()
    track = next(s for s in at.selectbox if s.label == "Track")
    at = track.select("standard").run()
    at = button(at, "Approve all 2 shown").click().run()
    assert not at.exception
    assert sorted(statuses(ledger).values()) == ["approved", "approved", "proposed"]


def test_a_step_of_ones_own_is_named_by_its_key_in_words_in_the_step_filter(ledger):
    from receivables.domain import tracks

    data = _tracks_with_approval()
    data[0]["steps"][0]["key"] = "final_notice_by_post"
    with UnitOfWork(ledger) as u:
        reminder_settings.save_setting(u, reminder_settings.TRACKS_KEY, data, actor="admin")
    assert tracks.step_name("final_notice_by_post") == "Final notice by post"
    at = page()
    step = next(s for s in at.selectbox if s.label == "Step")
    assert "Final notice by post" in step.options and "final_notice_by_post" not in step.options


def test_a_viewer_sees_the_queue_without_action_controls(ledger):
    with UnitOfWork(ledger) as u:
        reminders.generate(u, date.today(), actor="test")
    at = page("viewer")
    assert not at.exception
    assert not [b for b in at.button if b.label in ("Propose due reminders", "Apply row changes")]
    assert not [b for b in at.button if b.label in ("Approve", "Send back")] and not at.data_editor
    assert len(at.dataframe) == 1


def select_rows(at, *rows: int) -> AppTest:
    """Tick rows of the queue's list as a person would (AppTest seeds a keyed data editor's edits)."""
    editor = at.data_editor[0]
    at.session_state[editor.key] = {"edited_rows": {r: {"selected": True} for r in rows}, "added_rows": [],
                                    "deleted_rows": []}
    return at.run()


def test_row_changes_are_applied_all_at_once_or_not_at_all(ledger):
    with UnitOfWork(ledger) as u:
        reminders.generate(u, date.today(), actor="test")
    with UnitOfWork(ledger) as u:
        second = sorted(statuses(ledger))[1]
        reminders.transition(u, [second], "approve", actor="test")
    before = statuses(ledger)
    at = select_rows(page(), 0, 1)  # the second is approved already: it cannot be approved again
    at = button(at, "Approve").click().run()
    assert not at.exception
    assert "row 2" in at.error[0].value and "cannot be approved" in at.error[0].value
    assert statuses(ledger) == before  # the first row is not approved either
    at = select_rows(page(), 0)
    at = button(at, "Approve").click().run()
    assert not at.exception and "1 message approved" in at.success[0].value
    at = select_rows(page(), 1)
    next(t for t in at.text_input if t.label == "Block reason").input("Betaald per telefoon")
    at = button(at, "Block selected").click().run()
    assert not at.exception and "1 message blocked" in at.success[0].value
    assert sorted(statuses(ledger).values()) == ["approved", "blocked", "proposed"]


def test_a_call_is_recorded_with_its_note(ledger):
    with UnitOfWork(ledger) as u:
        reminders.generate(u, date.today(), actor="test")
    at = page()
    at = button(at, "Called").click().run()
    next(t for t in at.text_area if t.label == "What was said").input("Betaalt vrijdag")
    at = next(b for b in at.button if b.label == "Save call").click().run()
    assert not at.exception
    with UnitOfWork(ledger) as u:
        note = u.session.scalars(select(Note).where(Note.kind == "call")).one()
        assert note.text == "Betaalt vrijdag" and note.created_by == "carla"
        assert u.session.get(Message, note.message_id).status == "sent"


def test_the_preview_shows_the_message_and_an_edit_is_saved_and_audited(ledger):
    with UnitOfWork(ledger) as u:
        reminders.generate(u, date.today(), actor="test")
    at = page()
    assert any("Subject:" in m.value and "herinnering" in m.value.lower() for m in at.markdown)
    subject = next(t for t in at.text_input if t.label == "Subject")
    subject.input("Herinnering, met excuses voor de late mail")
    at = next(b for b in at.button if b.label == "Save text").click().run()
    assert not at.exception
    with UnitOfWork(ledger) as u:
        edited = u.session.scalars(select(Message).where(Message.edited.is_(True))).one()
        assert edited.subject == "Herinnering, met excuses voor de late mail"
        assert u.session.scalars(select(AuditEvent).where(AuditEvent.action == "message.edit")).one().actor == "carla"


def test_the_preview_shows_the_personal_portal_link_the_debtor_will_get(ledger, monkeypatch):
    import re

    from receivables.domain import portal as portal_rules
    from receivables.services import portal_links

    monkeypatch.setenv("PORTAL_URL", "https://pay.example.test")
    monkeypatch.setenv("PORTAL_SECRET_KEY", "k3Y-for-the-queue-preview-9f8e7d6c5b4a3210ZYXWVUTSRQ")
    with UnitOfWork(ledger) as u:
        reminders.generate(u, date.today(), actor="test")
        stored = u.session.scalars(select(Message).where(Message.channel == "email").order_by(Message.id)).first()
        debtor = u.session.get(Debtor, stored.debtor_id)
        mid, debtor_id, generation = stored.id, debtor.id, debtor.portal_generation
        assert portal_rules.MARK in stored.body_text  # signed only when it is sent
    at = page()
    shown = "\n".join(t.value for t in at.text)
    assert portal_rules.MARK not in shown
    token = re.search(r"https://pay\.example\.test/\?t=([A-Za-z0-9_.\-]+)", shown).group(1)
    assert portal_links.read_token(token) == portal_rules.LinkClaims(debtor_id, mid, generation)
    assert next(t for t in at.text_area if t.label == "Text").value.count(portal_rules.MARK) == 1  # edits keep the mark


def test_blocking_the_debtor_from_the_preview(ledger):
    with UnitOfWork(ledger) as u:
        reminders.generate(u, date.today(), actor="test")
    at = page()
    reason = next(t for t in at.text_input if t.label == "Reason")
    reason.input("Betalingsregeling afgesproken")
    at = next(b for b in at.button if b.label == "Block debtor").click().run()
    assert not at.exception
    assert "blocked" in at.success[0].value
    with UnitOfWork(ledger) as u:
        assert u.session.scalars(select(Debtor).where(Debtor.reminders_blocked.is_(True))).one()
    assert "blocked" in statuses(ledger).values()


def test_messages_without_an_address_wait_and_the_worklist_leads_to_the_import(ledger):
    with UnitOfWork(ledger) as u:
        u.session.execute(Debtor.__table__.update().values(email=None))
        u.commit()
        reminders.generate(u, date.today(), actor="test")
    at = page()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Needs address"] == "2" and metrics["To approve"] == "0"
    assert button(at, "Approve all 0 shown").disabled
    worklist = next(e for e in at.expander if e.label.startswith("Debtors without a reminder address"))
    assert worklist.label.endswith("(3)")
    shown = next(d.value for d in at.dataframe if "Messages waiting" in d.value.columns)
    assert sorted(shown["Debtor"].str.split(" · ").str[0]) == ["100", "200", "300"] and shown["Open"].sum() == 3000
    assert any("1,000.00" in m.value or "3,000.00" in m.value for m in at.markdown if "Open:" in m.value)
    # outside the navigation (AppTest runs the page on its own) the link to the Import page is a plain one
    assert any("Import a debtor list" in m.value and "(/import)" in m.value for m in at.markdown)
    at = next(b for b in at.button if b.label == "Approve this message").click().run()
    assert not at.exception
    assert "no recipient" in at.error[0].value and "import a debtor list" in at.error[0].value
    with UnitOfWork(ledger) as u:  # the address arrives (a debtor import or the dossier): same messages
        u.session.execute(Debtor.__table__.update().values(email="debiteuren@klant.nl"))
        u.commit()
    at = page()
    assert {m.label: m.value for m in at.metric}["Needs address"] == "0"
    assert not [e for e in at.expander if e.label.startswith("Debtors without")]
    assert any("debiteuren@klant.nl" in m.value for m in at.markdown if m.value.startswith("**To:**"))
    at = button(at, "Approve all 2 shown").click().run()
    assert not at.exception and "Approved 2" in at.success[0].value


def test_totals_are_one_figure_per_currency(ledger):
    with UnitOfWork(ledger) as u:
        u.session.execute(Invoice.__table__.update().where(Invoice.number == "F-200").values(currency="USD"))
        u.commit()
        reminders.generate(u, date.today(), actor="test")
    at = page(language="nl")  # the amounts in the Dutch way
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Totaal in herinnering (EUR)"] == "€ 2.000,00"
    assert metrics["Totaal in herinnering (USD)"] == "US$ 1.000,00"


def settings_page() -> AppTest:
    import streamlit as st

    from ui import state

    state.engine.clear()
    st.cache_data.clear()
    at = AppTest.from_file(str(ROOT / "pages" / "settings.py"), default_timeout=60)
    log_in(at, "ada", "admin")
    return at.run()


def test_the_admin_edits_payment_details_and_a_bad_iban_is_refused(ledger):
    at = settings_page()
    assert not at.exception
    iban = next(t for t in at.text_input if t.label == "IBAN")
    iban.input("NL00 BANK 0000 0000 00")
    at = next(b for b in at.button if b.label == "Save payment details").click().run()
    assert not at.exception
    assert any("is not valid" in e.value for e in at.error)
    iban = next(t for t in at.text_input if t.label == "IBAN")
    iban.input("DE89 3704 0044 0532 0130 00")
    at = next(b for b in at.button if b.label == "Save payment details").click().run()
    assert any("Payment details saved" in s.value for s in at.success)
    with UnitOfWork(ledger) as u:
        assert reminder_settings.load_settings(u.session).payment["iban"] == "DE89 3704 0044 0532 0130 00"


def test_the_admin_changes_the_freshness_limit(ledger):
    at = settings_page()
    limit = next(n for n in at.number_input if n.label.startswith("Stop when"))
    limit.set_value(3)
    at = next(b for b in at.button if b.label == "Save engine settings").click().run()
    assert not at.exception
    with UnitOfWork(ledger) as u:
        assert reminder_settings.load_settings(u.session).freshness_days == 3


def test_a_letter_step_can_be_downloaded_as_pdf_from_the_preview(ledger):
    with UnitOfWork(ledger) as u:
        data = _tracks_with_approval()
        for t in data:
            for s in t["steps"]:
                if s["channel"] == "email":
                    s["channel"] = "letter"
        reminder_settings.save_setting(u, reminder_settings.TRACKS_KEY, data, actor="admin")
    with UnitOfWork(ledger) as u:
        reminders.generate(u, date.today(), actor="test")
    at = page()
    assert not at.exception
    downloads = at.get("download_button")
    assert [d.proto.label for d in downloads] == ["Download the letter (PDF)"]
    assert any("letter attached as PDF" in c.value for c in at.caption)


# --- the bulk actions on selected rows, and the page in Dutch ----------------------------------------------

def add_debtor(engine, code: str, name: str, days: int = 4) -> None:
    with UnitOfWork(engine) as u:
        d = Debtor(code=code, name=name, email=f"ar@{code}.nl", language="nl")
        u.session.add(d)
        u.session.flush()
        due = date.today() - timedelta(days=days)
        u.session.add(Invoice(number=f"F-{code}", debtor_id=d.id, invoice_date=due - timedelta(days=30),
                              due_date=due, amount_cents=123_456, open_cents=123_456))
        u.commit()


def audited(engine, action: str) -> list[int]:
    with UnitOfWork(engine) as u:
        return sorted(int(e.entity_id) for e in u.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_three_selected_rows_are_approved_at_once_and_audited(ledger):
    add_debtor(ledger, "400", "De Vries Installatie B.V.")
    with UnitOfWork(ledger) as u:
        reminders.generate(u, date.today(), actor="test")
    at = page()
    assert len(at.data_editor[0].value) == 3 and button(at, "Approve").disabled
    at = select_rows(at, 0, 1, 2)
    assert any("3 messages selected" in c.value for c in at.caption)
    at = button(at, "Approve").click().run()
    assert not at.exception and "3 messages approved" in at.success[0].value
    approved = [i for i, status in statuses(ledger).items() if status == "approved"]
    assert len(approved) == 3 and audited(ledger, "message.approve") == sorted(approved)


def test_selected_rows_are_postponed_to_a_chosen_date(ledger):
    today = date.today()
    with UnitOfWork(ledger) as u:
        reminders.generate(u, today, actor="test")
    until = today + timedelta(days=12)
    at = select_rows(page(), 0, 1)
    next(d for d in at.date_input if d.label == "Postpone until").set_value(until)
    at = button(at, "Postpone selected").click().run()
    assert not at.exception and "2 messages postponed" in at.success[0].value
    with UnitOfWork(ledger) as u:
        postponed = u.session.scalars(select(Message).where(Message.status == "postponed")).all()
        assert len(postponed) == 2 and {m.planned_date for m in postponed} == {until}


def test_blocking_selected_rows_needs_a_reason_and_a_failed_batch_changes_nothing(ledger):
    with UnitOfWork(ledger) as u:
        reminders.generate(u, date.today(), actor="test")
    before = statuses(ledger)
    at = select_rows(page(), 0, 1)
    at = button(at, "Block selected").click().run()  # no reason given
    assert not at.exception and "say why" in at.error[0].value
    assert statuses(ledger) == before
    at = select_rows(page(), 0, 1)
    at = button(at, "Send back").click().run()  # proposed messages cannot be sent back: none is
    assert not at.exception and "row 1" in at.error[0].value and "Nothing was changed" in at.error[0].value
    assert statuses(ledger) == before and not audited(ledger, "message.unapprove")
    at = select_rows(page(), 0, 1)
    next(t for t in at.text_input if t.label == "Block reason").input("Betaald per telefoon")
    at = button(at, "Block selected").click().run()
    assert not at.exception and "2 messages blocked" in at.success[0].value
    with UnitOfWork(ledger) as u:
        blocked = u.session.scalars(select(Message).where(Message.status == "blocked")).all()
        assert len(blocked) == 2 and {m.note for m in blocked} == {"Betaald per telefoon"}


def test_sending_back_returns_approved_messages_to_proposed(ledger):
    with UnitOfWork(ledger) as u:
        reminders.generate(u, date.today(), actor="test")
    at = select_rows(page(), 0, 1)
    at = button(at, "Approve").click().run()
    at = select_rows(page(), 0, 1)
    at = button(at, "Send back").click().run()
    assert not at.exception and "2 messages sent back" in at.success[0].value
    assert sorted(statuses(ledger).values()) == ["proposed", "proposed", "proposed"]


def test_the_views_show_what_goes_out_tomorrow_and_this_week(ledger):
    today = date.today()
    with UnitOfWork(ledger) as u:
        reminders.generate(u, today, actor="test")
        first = min(statuses(ledger))
        u.session.execute(Message.__table__.update().where(Message.id == first)
                          .values(planned_date=today + timedelta(days=1)))
        u.commit()
    at = page()
    view = next(s for s in at.get("button_group") if s.label == "Planned")
    assert len(at.data_editor[0].value) == 2
    at = view.set_value("tomorrow").run()
    assert list(at.data_editor[0].value["id"]) == [first]
    at = next(s for s in at.get("button_group") if s.label == "Planned").set_value("today").run()
    assert first not in list(at.data_editor[0].value["id"]) and len(at.data_editor[0].value) == 1
    at = next(s for s in at.get("button_group") if s.label == "Planned").set_value("week").run()
    assert len(at.data_editor[0].value) == 2


def test_a_debtor_name_with_markdown_stays_text_in_the_preview(ledger):
    with UnitOfWork(ledger) as u:
        u.session.execute(Debtor.__table__.update().where(Debtor.code == "100")
                          .values(name="**Groot** [klik](http://evil.example)"))
        u.commit()
        reminders.generate(u, date.today(), actor="test")
    at = page()
    assert not at.exception
    shown = " ".join(m.value for m in at.markdown)
    assert "](http://evil" not in shown and "**Groot**" not in shown
    assert any("[klik]" in t.value for t in at.text) or "klik" in shown


def test_the_queue_in_dutch(ledger):
    today = date.today()
    with UnitOfWork(ledger) as u:
        reminders.generate(u, today, actor="test")
    at = page(language="nl")
    assert not at.exception
    assert at.title[0].value == "Herinneringen"
    labels = [b.label for b in at.button]
    assert {"Goedkeuren", "Terugzetten", "Herinneringen voorstellen"} <= set(labels)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Goed te keuren"] == "2" and metrics["Totaal in herinnering (EUR)"] == "€ 3.000,00"
    table = at.data_editor[0].value
    assert set(table["total"]) == {"€ 1.000,00"} and set(table["planned"]) == {f"{today:%d-%m-%Y}"}
    assert set(table["state"]) == {"voorgesteld"}
    assert any("Onderwerp:" in m.value for m in at.markdown)


def test_the_reasons_read_in_dutch_and_a_reason_stored_in_english_before_as_it_was(ledger):
    from receivables.domain.translation import translate

    with UnitOfWork(ledger) as u:
        reminders.generate(u, date.today(), actor="test")
    at = page(language="nl")
    assert not at.exception
    shown = " ".join([*(c.value for c in at.caption), *(m.value for m in at.markdown)]).replace("\\", "")
    # a new customer's e-mail in the preview, the strict debtor's call on the call list: each reason in Dutch
    rule = translate("New customer: too little payment history", "nl")
    assert rule != "New customer: too little payment history"
    assert f"{rule} (Betaalde facturen: 0)" in shown
    assert "Traject Streng met de hand ingesteld voor deze debiteur" in shown
    assert "too little payment history" not in shown and "set by hand" not in shown

    old = "New customer: too little payment history (invoices paid 0)"  # as messages were stored before
    with UnitOfWork(ledger) as u:
        for m in u.session.scalars(select(Message)):
            m.reason = old
        u.commit()
    at = page(language="nl")
    assert not at.exception
    shown = " ".join([*(c.value for c in at.caption), *(m.value for m in at.markdown)]).replace("\\", "")
    assert old in shown and "Betaalde facturen" not in shown


def test_the_last_problem_reads_in_dutch_and_one_stored_in_english_before_as_it_was(ledger):
    from receivables.domain import phrases
    from receivables.domain.translation import N_

    with UnitOfWork(ledger) as u:
        reminders.generate(u, date.today(), actor="test")
    old = "try 1 of 3: the server refused the message: 451 4.3.0 mailbox busy"  # as problems were stored before
    busy = phrases.Phrase(N_("try {n} of {max}: {detail}"), {"n": 1, "max": 3, "detail": phrases.Phrase(
        N_("the server refused the message: {reply}"), {"reply": "451 4.3.0 mailbox busy"})})
    with UnitOfWork(ledger) as u:
        first, second = u.session.scalars(select(Message).where(Message.channel == "email").order_by(Message.id))
        first.last_error, second.last_error = phrases.dump(busy), old
        u.commit()
    at = page(language="nl")
    assert not at.exception
    problems = list(at.data_editor[0].value["problem"])
    assert "poging 1 van 3: de server weigerde het bericht: 451 4.3.0 mailbox busy" in problems
    assert old in problems
    assert any(w.value.startswith("Laatste probleem: poging 1 van 3") for w in at.warning)  # the preview of the first
