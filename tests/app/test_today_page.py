"""The Today page through Streamlit's AppTest: a collector's worklist on a small real ledger, each item acted
on with one click; a viewer sees it read-only; the demo renders in Dutch."""

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from db.models import Debtor, ImportBatch, InboundMail, Invoice, Message, Note, WorkHandoff
from db.uow import UnitOfWork
from receivables.services import mailbox
from tests import reply_samples as samples
from tests import user_store
from tests.app.login import log_in
from tests.conftest import ROOT


@pytest.fixture
def ledger(engine):
    """Bakker Bouw replied to its reminder (with an attachment), an unknown sender wrote, Visser Transport is
    to be called and Northwind's reminder waits for approval."""
    today = date.today()
    user_store.add_user("carla", "collector", name="Carla de Boer", password="a-long-enough-password-1")
    user_store.add_user("dirk", "collector", name="Dirk Smit", password="a-long-enough-password-2")
    with UnitOfWork(engine) as u:
        s = u.session
        s.add(ImportBatch(kind="open-items", mode="full", file_name="o.csv", file_hash="h", as_of=today,
                          imported_by="t"))
        made = {}
        for code, name, email in [("100", "Bakker Bouw B.V.", "jan@klant.example"),
                                  ("200", "Visser Transport B.V.", "ar@visser.example"),
                                  ("300", "Northwind Traders Ltd", "ar@northwind.example")]:
            d = Debtor(code=code, name=name, email=email, language="nl", phone="+31 20 555 0101")
            s.add(d)
            s.flush()
            s.add(Invoice(number=f"F-{code}", debtor_id=d.id, invoice_date=today - timedelta(days=40),
                          due_date=today - timedelta(days=10), amount_cents=121_000, open_cents=121_000))
            made[code] = d
        s.add(Message(debtor_id=made["100"].id, track="standard", step_index=1, step_name="reminder", step_key="r",
                      status="sent", planned_date=today - timedelta(days=3), sent_at=datetime.now() - timedelta(days=3),
                      smtp_message_id=f"<{samples.SENT_ID}>", recipients="jan@klant.example"))
        s.add(Message(debtor_id=made["200"].id, track="strict", step_index=2, step_name="call", step_key="c",
                      channel="call", status="proposed", planned_date=today, total_cents=121_000))
        s.add(Message(debtor_id=made["300"].id, track="standard", step_index=1, step_name="reminder", step_key="a",
                      status="proposed", planned_date=today, total_cents=121_000))
        s.add(Note(debtor_id=made["200"].id, kind="note", text="Vraagt altijd om een kopiefactuur", created_by="dirk"))
        u.commit()
    with UnitOfWork(engine) as u:
        mailbox.receive(u, samples.reply_with_attachment(), key="1:a", today=today)
        mailbox.receive(u, samples.reply(message_id="u@elders.example", in_reply_to=None,
                                         sender="boekhouding@elders.example", subject="Welke factuur?"),
                        key="1:b", today=today)
    return engine


def page(user="carla", role="collector", language="en") -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / "today.py"), default_timeout=60)
    log_in(at, user, role)
    at.session_state["_language"] = language
    return at.run()


def button(at, label, n=0):
    return [b for b in at.button if b.label == label][n]


def text(at) -> str:
    """What the page says, with the Markdown escapes of mail text taken out."""
    said = " ".join([*(m.value for m in at.markdown), *(t.value for t in at.text), *(c.value for c in at.caption)])
    return said.replace("\\", "")


def test_a_collector_sees_the_days_work_counted_and_in_order(ledger):
    at = page()
    assert not at.exception
    assert at.title[0].value == "Today"
    assert {m.label: m.value for m in at.metric} == {
        "Replies to read": "1", "Mail to assign to a debtor": "1", "Calls due": "1",
        "Reminders waiting for approval": "1"}
    assert [h.value for h in at.subheader] == ["Replies to read (1)", "Mail to assign to a debtor (1)",
                                               "Calls due (1)", "Reminders waiting for approval (1)"]
    shown = text(at)
    assert "Reply from jan@klant.example: Re: factuur" in shown
    assert "Zie het betaalbewijs in de bijlage." in shown
    assert "+31 20 555 0101" in shown and "Vraagt altijd om een kopiefactuur" in shown
    assert [b.label for b in at.get("download_button")] == ["Download betaalbewijs.pdf"]


def test_handling_a_reply_ends_its_pause_and_takes_it_off_the_list(ledger):
    with UnitOfWork(ledger) as u:
        assert u.session.scalar(select(Invoice.paused_until).where(Invoice.number == "F-100")) is not None
    at = page()
    at.text_input(key="handle_text_reply:1").input("betaling gevonden")
    at = button(at, "Handled").click().run()
    assert not at.exception
    assert at.success[0].value == "The reply is handled; reminders to Bakker Bouw B.V. go on."
    assert "Replies to read" not in {m.label for m in at.metric}
    with UnitOfWork(ledger) as u:
        assert u.session.scalar(select(Invoice.paused_until).where(Invoice.number == "F-100")) is None
        note = u.session.scalars(select(Note).where(Note.kind == "note", Note.created_by == "carla")).one()
        assert note.text.endswith("handled (Re: factuur): betaling gevonden")


def test_an_unassigned_mail_is_put_in_the_dossier_a_person_picks(ledger):
    at = page()
    at = at.text_input(key="find_unassigned:2").input("Visser").run()
    assert at.selectbox(key="pick_unassigned:2").value == "200 · Visser Transport B.V."
    at = button(at, "Put it in this dossier").click().run()
    assert not at.exception
    assert at.success[0].value == "The mail is in the dossier of 200 · Visser Transport B.V.."
    with UnitOfWork(ledger) as u:
        mail = u.session.get(InboundMail, 2)
        assert (mail.link, mail.debtor_id) == ("person", u.session.scalar(select(Debtor.id).where(Debtor.code == "200")))


def test_a_call_is_logged_and_a_reminder_approved_from_the_list(ledger):
    at = page()
    at.radio(key="outcome_call:2").set_value("reached")
    at.text_input(key="said_call:2").input("betaalt vrijdag")
    at = button(at, "Log the call").click().run()
    assert not at.exception and at.success[0].value == "The call is logged."
    at = button(at, "Approve").click().run()
    assert not at.exception and at.success[0].value == "Approved: it goes with the next send."
    with UnitOfWork(ledger) as u:
        assert {m.step_key: m.status for m in u.session.scalars(select(Message))} == {
            "r": "sent", "c": "sent", "a": "approved"}


def test_an_item_handed_to_a_colleague_leaves_mine_and_shows_in_theirs_with_the_note(ledger):
    with UnitOfWork(ledger) as u:
        u.session.execute(Debtor.__table__.update().values(owner="carla"))
        u.commit()
    at = page()
    at.selectbox(key="hand_to_call:2").set_value("dirk")
    at.text_input(key="hand_note_call:2").input("jij kent ze")
    at = [b for b in at.button if b.label == "Hand over"][2].click().run()  # the call's (after two mails)
    assert not at.exception and at.success[0].value == "Handed to dirk."
    assert "Calls due" not in {m.label for m in at.metric}
    with UnitOfWork(ledger) as u:
        handoff = u.session.scalars(select(WorkHandoff)).one()
        assert (handoff.item_key, handoff.from_user, handoff.to_user) == ("call:2", "carla", "dirk")
    theirs = page("dirk")
    assert "Handed over by carla: jij kent ze" in [i.value for i in theirs.info]


def test_a_viewer_sees_everyones_items_without_acting_on_them(ledger):
    at = page("vera", "viewer")
    assert not at.exception
    assert at.segmented_control(key="today_view").value == "everyone"
    assert len(at.subheader) == 4
    labels = {b.label for b in at.button}
    assert not labels & {"Handled", "Log the call", "Approve", "Hand over", "Fetch now"}


def test_fetch_now_without_a_mailbox_says_what_to_set(ledger):
    at = page()
    at = button(at, "Fetch now").click().run()
    assert not at.exception
    assert "no team mailbox is set up: set host, user and password in [imap]" in at.error[0].value


def test_the_demo_in_dutch(engine):
    from receivables.services import demo, reminders

    today = date.today()
    with UnitOfWork(engine) as u:
        demo.load_demo(u, seed=42, anchor=today)
    with UnitOfWork(engine) as u:
        reminders.generate(u, today, actor="test")
    at = page("admin", "admin", language="nl")
    assert not at.exception
    assert at.title[0].value == "Vandaag"
    labels = [m.label for m in at.metric]
    assert "Te lezen antwoorden" in labels and "Post zonder debiteur" in labels
    assert any(t.label.startswith("Toon alle") for t in at.toggle)  # long lists are cut short


def sidebar_links(at) -> list[str]:
    """The labels of the navigation's links (AppTest has no accessor for them)."""
    def walk(node):
        if type(getattr(node, "proto", None)).__name__ == "PageLink":
            yield node.proto.label
        for child in getattr(node, "children", {}).values():
            yield from walk(child)
    return list(walk(at.sidebar))


def test_the_navigation_counts_what_needs_a_person_next_to_today_and_counts_again_when_mail_came_in(ledger):
    at = log_in(AppTest.from_file(str(ROOT / "desk.py"), default_timeout=60), "carla", "collector").run()
    assert not at.exception
    links = sidebar_links(at)
    assert links[0] == "Today :red-badge[4]" and "Ageing" in links  # the reply, the mail to assign, the call, the approval
    with UnitOfWork(ledger) as u:
        mailbox.receive(u, samples.reply(message_id="n@elders.example", in_reply_to=None,
                                         sender="info@nogeen.example", subject="Nog een vraag"), key="1:c", today=date.today())
    at = log_in(AppTest.from_file(str(ROOT / "desk.py"), default_timeout=60), "carla", "collector").run()
    assert sidebar_links(at)[0] == "Today :red-badge[5]"


def test_a_collector_switches_the_daily_digest_on_and_off_on_today(ledger):
    from receivables.services import digest

    at = page()
    assert [p.proto.popover.label for p in at.get("popover") if "digest" in p.proto.popover.label] == ["Daily digest: off"]
    form = [f for f in at.get("form") if f.proto.form.form_id == "digest_opt_in"][0]
    form.text_input[0].input("carla@example.nl")
    [b for b in form.button if b.label == "Send me the digest"][0].click()
    at.run()
    assert not at.exception and not at.error
    with UnitOfWork(ledger) as u:
        assert digest.subscription(u, "daily", "carla") == digest.Subscription("daily", "carla", "carla@example.nl",
                                                                               "en")
    at = page(language="nl")
    assert [p.proto.popover.label for p in at.get("popover") if "overzicht" in p.proto.popover.label] == ["Dagelijks overzicht: aan"]
    form = [f for f in at.get("form") if f.proto.form.form_id == "digest_opt_in"][0]
    [b for b in form.button if b.label == "Overzicht stoppen"][0].click()
    at.run()
    with UnitOfWork(ledger) as u:
        assert digest.subscription(u, "daily", "carla") is None
