"""The Today worklist: each source read from a SQLite ledger, the owner rule, mine and everyone's, and
hand-overs."""

from datetime import date, datetime, timedelta

import pytest

from db.models import (
    BankAllocation,
    BankLine,
    BankStatementRecord,
    Debtor,
    ImportBatch,
    InboundMail,
    Invoice,
    Message,
    Note,
)
from db.uow import UnitOfWork
from receivables.domain.translation import translate
from receivables.domain.worklist import SOURCES, Item, OwnerRules, counts, handed, mine, ordered, owner_of
from receivables.services import bank, dossier, mailbox, queue, today
from receivables.services.errors import ServiceError
from tests import user_store


def dutch(phrase) -> str:  # noqa: ANN001
    """A phrase worded for a Dutch reader (amounts as currency and cents, to see them travel as amounts)."""
    return phrase.worded(lambda msgid, **p: translate(msgid, "nl", **p), lambda c, cur: f"{cur} {c}", str)

TODAY = date(2026, 12, 4)
NOW = datetime(2026, 12, 4, 9, 0)


@pytest.fixture
def uow(sqlite_engine):
    return lambda **kw: UnitOfWork(sqlite_engine, **kw)


def add_debtor(u, code, **kw):
    d = Debtor(code=code, name=kw.pop("name", f"Klant {code} B.V."), email=kw.pop("email", f"ar@{code}.example"),
               language="nl", **kw)
    u.session.add(d)
    u.session.flush()
    return d


def add_invoice(u, d, number, days_overdue=20, amount=50_000, **kw):
    due = TODAY - timedelta(days=days_overdue)
    inv = Invoice(number=number, debtor_id=d.id, invoice_date=due - timedelta(days=30), due_date=due,
                  amount_cents=amount, open_cents=amount, **kw)
    u.session.add(inv)
    u.session.flush()
    return inv


def add_message(u, d, status="proposed", channel="email", planned=TODAY, **kw):
    m = Message(debtor_id=d.id, track="standard", step_index=1, step_name=kw.pop("step", "reminder"),
                step_key=f"k{d.code}{status}{channel}{planned}", channel=channel, status=status, planned_date=planned,
                total_cents=kw.pop("total_cents", 50_000), **kw)
    u.session.add(m)
    u.session.flush()
    return m


def items(uow, source=None, **kw):
    with uow() as u:
        work = today.worklist(u, today=TODAY, **kw)
    return work.of(source) if source else work.items


# --- each source ------------------------------------------------------------------------------------

def test_a_reply_is_to_read_until_handled_and_late_once_its_pause_ran_out(uow):
    with uow() as u:
        d = add_debtor(u, "100")
        u.session.add_all([
            InboundMail(key="1:a", kind="reply", from_name="Jan", from_address="jan@100.example", subject="Re: factuur",
                        text="Wij betalen   morgen.", link="sender", debtor_id=d.id, sent_at=NOW,
                        paused_until=TODAY + timedelta(days=3)),
            InboundMail(key="1:b", kind="reply", from_address="piet@100.example", subject="Re: oud", text="oud",
                        link="thread", debtor_id=d.id, sent_at=NOW - timedelta(days=20),
                        paused_until=TODAY - timedelta(days=6)),
            InboundMail(key="1:c", kind="auto_reply", from_address="jan@100.example", subject="Afwezig", text="",
                        link="sender", debtor_id=d.id, handled_at=NOW, handled_by="mailbox"),
            InboundMail(key="1:d", kind="reply", from_address="jan@100.example", subject="gelezen", text="",
                        link="sender", debtor_id=d.id, handled_at=NOW, handled_by="carla"),
        ])
        u.commit()
    got = items(uow, "reply")
    assert [(i.title, i.detail, i.late) for i in got] == [
        ("Reply from piet@100.example: Re: oud", "oud", True),  # late first
        ("Reply from Jan: Re: factuur", "Wij betalen morgen.", False)]
    assert got[1].extra["paused_until"] == date(2026, 12, 7)
    assert (got[1].title_id, got[1].params) == ("Reply from {sender}: {subject}", {"sender": "Jan", "subject": "Re: factuur"})


def test_an_unassigned_mail_waits_until_a_debtor_is_picked_or_it_is_set_aside(uow):
    with uow() as u:
        add_debtor(u, "100")
        u.session.add(InboundMail(key="1:a", kind="reply", from_address="x@elders.example", subject="Vraag",
                                  text="Welke factuur?", link="unassigned", sent_at=NOW))
        u.session.add(InboundMail(key="1:b", kind="bounce", from_address="MAILER-DAEMON@x", subject="Undelivered",
                                  text="", link="unassigned", handled_at=NOW, handled_by="mailbox"))
        u.commit()
    (item,) = items(uow, "unassigned")
    assert (item.title, item.debtor_code, item.owner) == ("Mail from x@elders.example: Vraag", None, None)
    with uow() as u:
        mailbox.assign(u, item.ref, "100", actor="carla", today=TODAY)
    assert items(uow, "unassigned") == [] and [i.debtor_code for i in items(uow, "reply")] == ["100"]


def test_an_open_disputed_invoice_is_to_resolve_with_its_reason(uow):
    with uow() as u:
        d = add_debtor(u, "100")
        add_invoice(u, d, "F-1")
        paid = add_invoice(u, d, "F-2", disputed=True)
        paid.open_cents = 0
        u.commit()
        dossier.dispute_invoice(u, "100", "F-1", "twee pallets retour", actor="carla")
    (item,) = items(uow, "dispute")
    assert (item.title, item.detail, item.amount_cents) == ("Invoice F-1 disputed (€ 500,00)", "twee pallets retour",
                                                            50_000)
    with uow() as u:
        dossier.resolve_dispute(u, "100", "F-1", "creditnota gestuurd", actor="carla")
    assert items(uow, "dispute") == []


def test_promises_due_and_broken_ones_until_someone_follows_them_up(uow):
    with uow() as u:
        d = add_debtor(u, "100")
        e = add_debtor(u, "200")
        f = add_debtor(u, "300")
        s = u.session
        s.add_all([
            Note(debtor_id=d.id, kind="promise", outcome="pending", promise_date=TODAY, promise_cents=10_000,
                 created_by="carla", created_at=NOW - timedelta(days=5), text="belt terug"),
            Note(debtor_id=e.id, kind="promise", outcome="broken", promise_date=TODAY - timedelta(days=10),
                 promise_cents=20_000, created_by="carla", created_at=NOW - timedelta(days=20),
                 data={"resolved_on": (TODAY - timedelta(days=6)).isoformat()}),
            Note(debtor_id=f.id, kind="promise", outcome="pending", promise_date=TODAY + timedelta(days=1),
                 promise_cents=30_000, created_by="carla", created_at=NOW - timedelta(days=1)),
        ])
        u.commit()
    assert [(i.debtor_code, i.title, i.late) for i in items(uow, "promise")] == [
        ("200", "Promise broken: € 200,00 by 24-11-2026", True),
        ("100", "Promise due: € 100,00 by 04-12-2026", False)]
    with uow() as u:
        dossier.log_call(u, "200", "reached", "betaalt vrijdag, nieuwe toezegging volgt", actor="carla")
    assert [i.debtor_code for i in items(uow, "promise")] == ["100"]


def test_a_call_due_comes_with_the_phone_and_the_last_notes(uow):
    with uow() as u:
        d = add_debtor(u, "100", phone="+31 20 555 0101", contact_person="Anouk")
        add_message(u, d, channel="call", step="call")
        add_message(u, d, channel="call", step="call", planned=TODAY + timedelta(days=1))  # not due yet
        u.session.add(Note(debtor_id=d.id, kind="note", text="Vraagt altijd om kopiefactuur", created_by="dirk",
                           created_at=datetime(2026, 11, 30, 10)))
        u.commit()
    (item,) = items(uow, "call")
    assert item.title == "Call Klant 100 B.V. (Anouk): € 500,00 overdue"
    assert item.phone == "+31 20 555 0101"
    assert item.notes == ("30-11-2026 note (dirk): Vraagt altijd om kopiefactuur",)
    with uow() as u:
        queue.record_call(u, item.ref, "reached", "betaalt vrijdag", actor="carla")
    assert items(uow, "call") == []


def test_a_proposed_reminder_waits_for_approval_unless_its_debtor_has_no_address(uow):
    with uow() as u:
        d = add_debtor(u, "100")
        add_invoice(u, d, "F-1")
        m = add_message(u, d, step="second_reminder")
        add_message(u, d, planned=TODAY + timedelta(days=2), step="demand")  # planned later
        nobody = add_debtor(u, "200", email=None)
        add_invoice(u, nobody, "F-2")
        add_message(u, nobody)
        u.commit()
        reminder_id = m.id
    assert [(i.key, i.title) for i in items(uow, "approval")] == [
        (f"approval:{reminder_id}", "Second reminder to Klant 100 B.V.: € 500,00")]
    (approval,) = items(uow, "approval")  # the step by the name the reminder settings give it, in Dutch too
    assert dutch(approval.title_phrase) == "Tweede herinnering aan Klant 100 B.V.: € 500,00"
    (address,) = items(uow, "address")
    assert (address.debtor_code, address.title) == ("200", "No reminder address")
    assert address.detail == "open € 500,00; reminders waiting for an address: 1"
    assert dutch(address.detail_phrase) == "openstaand EUR 50000; herinneringen die op een adres wachten: 1"
    with uow() as u:
        queue.transition(u, [reminder_id], "approve", actor="carla")
    assert items(uow, "approval") == []


@pytest.mark.parametrize(("diagnostic", "english", "in_dutch"), [
    ("550 5.1.1 User unknown", "oud@100.example: 550 5.1.1 User unknown; open € 500,00",
     "oud@100.example: 550 5.1.1 User unknown; openstaand EUR 50000"),
    (None, "oud@100.example: refused; open € 500,00", "oud@100.example: geweigerd; openstaand EUR 50000"),
], ids=["the-servers-words", "none-given"])
def test_a_bounced_address_is_on_the_address_list_with_the_servers_words(uow, diagnostic, english, in_dutch):
    with uow() as u:
        d = add_debtor(u, "100", email=None, email_bouncing="oud@100.example")
        add_invoice(u, d, "F-1")
        u.session.add(InboundMail(key="1:a", kind="bounce", from_address="MAILER-DAEMON@x", subject="Undelivered",
                                  text="", link="thread", debtor_id=d.id, bounce_recipient="oud@100.example",
                                  bounce_diagnostic=diagnostic, handled_at=NOW, handled_by="mailbox"))
        u.commit()
    (item,) = items(uow, "address")
    assert (item.title, item.late) == ("Address bounced: oud@100.example", True)
    assert item.detail == english  # the server's own words stay as it wrote them, in either language
    assert dutch(item.detail_phrase) == in_dutch
    with uow() as u:
        dossier.update_contact(u, "100", emails="nieuw@100.example", language="nl", actor="carla")
    assert items(uow, "address") == []


def test_a_reminder_not_delivered_is_to_send_again_or_cancel(uow):
    with uow() as u:
        d = add_debtor(u, "100")
        add_invoice(u, d, "F-1")
        m = add_message(u, d, status="failed", recipients="ar@100.example", last_error="address bounced: ...")
        u.commit()
        failed_id = m.id
    (item,) = items(uow, "failed")
    assert (item.ref, item.title, item.detail) == (failed_id, "Not delivered: reminder to ar@100.example",
                                                   "address bounced: ...")
    with uow() as u:
        queue.transition(u, [failed_id], "approve", actor="carla")
    assert items(uow, "failed") == []


def test_an_interrupted_send_is_to_confirm_but_not_one_a_sender_is_at_right_now(uow):
    with uow() as u:
        d = add_debtor(u, "100")
        add_message(u, d, status="sending", subject="Herinnering", recipients="ar@100.example",
                    updated_at=datetime(2026, 12, 1, 8), last_error="the connection dropped after DATA")
        add_message(u, d, status="sending", subject="Nu bezig", channel="letter", recipients="ar@100.example")
        u.commit()
    (item,) = items(uow, "sending")
    assert (item.title, item.detail, item.debtor_id is not None) == (
        "Did it go out? Herinnering", "the connection dropped after DATA", True)


def test_a_payment_the_bank_matching_suggests_is_to_confirm_until_a_person_decides(uow):
    with uow() as u:
        d = add_debtor(u, "100")
        inv = add_invoice(u, d, "F-1", amount=60_500)
        batch = ImportBatch(kind="bank", mode="partial", file_name="camt.xml", file_hash="b", as_of=TODAY,
                            imported_by="carla")
        u.session.add(batch)
        u.session.flush()
        st = BankStatementRecord(batch_id=batch.id, account="NL91ABNA0417164300", format="camt.053", currency="EUR")
        u.session.add(st)
        u.session.flush()
        for n, status in enumerate(["suggested", "matched", "unmatched"]):
            line = BankLine(batch_id=batch.id, statement_id=st.id, dedupe_key=f"k{n}",
                            account="NL91ABNA0417164300", booking_date=TODAY - timedelta(days=1),
                            amount_cents=20_000, currency="EUR", counterparty_name="Klant 100",
                            status=status, reason="part payment of F-1", debtor_id=d.id)
            u.session.add(line)
            u.session.flush()
            u.session.add(BankAllocation(line_id=line.id, invoice_id=inv.id, cents=20_000))
        u.commit()
    (item,) = items(uow, "bank")
    assert (item.title, item.detail, item.debtor_code) == (
        "Payment to confirm: € 200,00 from Klant 100", "part payment of F-1", "100")
    with uow() as u:
        bank.confirm(u, item.ref, actor="carla")
    assert items(uow, "bank") == []


# --- whose ------------------------------------------------------------------------------------------

USERS = {"carla": "carla", "carla de boer": "carla", "dirk": "dirk"}


@pytest.mark.parametrize("owner, segment, manager, rules, expected", [
    ("dirk", "Bouw", "Carla de Boer", OwnerRules({"Bouw": "carla"}), "dirk"),  # its own owner first
    (None, "Bouw", "Carla de Boer", OwnerRules({"Bouw": "dirk"}), "dirk"),  # then the segment's rule
    (None, "Retail", "Sanne", OwnerRules({"Bouw": "dirk"}, {"Sanne": "carla"}), "carla"),  # the manager's rule
    (None, None, "Carla de Boer", OwnerRules(), "carla"),  # an account manager who is a user
    (None, None, "Mark Jansen", OwnerRules(), None),  # an account manager who is not
    (None, None, None, OwnerRules(), None),
])
def test_the_owner_of_a_debtor(owner, segment, manager, rules, expected):
    assert owner_of(owner, segment, manager, rules, USERS) == expected


def test_mine_is_my_own_and_nobodys_and_a_hand_over_makes_it_the_colleagues():
    work = [Item("reply:1", "reply", "a", owner="carla"), Item("call:2", "call", "b", owner="dirk"),
            Item("unassigned:3", "unassigned", "c")]
    assert [i.key for i in mine(work, "carla")] == ["reply:1", "unassigned:3"]
    moved = handed(work, {"call:2": ("dirk", "carla", "jij kent ze")})
    assert [i.key for i in mine(moved, "carla")] == ["reply:1", "call:2", "unassigned:3"]
    assert (moved[1].handed_by, moved[1].hand_note) == ("dirk", "jij kent ze")


def test_the_worklist_is_ordered_by_source_late_first_then_oldest_and_counted_per_source():
    work = [Item("call:1", "call", "", since=date(2026, 12, 1)), Item("reply:2", "reply", "", since=date(2026, 12, 3)),
            Item("reply:3", "reply", "", since=date(2026, 12, 1)), Item("reply:4", "reply", "", late=True,
                                                                       since=date(2026, 12, 4))]
    assert [i.key for i in ordered(work)] == ["reply:4", "reply:3", "reply:2", "call:1"]
    assert counts(work) == {**dict.fromkeys(SOURCES, 0), "reply": 3, "call": 1}


@pytest.fixture
def team(sqlite_engine):
    for name, full in (("carla", "Carla de Boer"), ("dirk", "Dirk Smit")):
        user_store.add_user(name, "collector", name=full, password="a-long-enough-password-1")


def test_owners_come_from_the_debtor_the_rules_and_a_hand_over(uow, team):
    with uow() as u:
        a = add_debtor(u, "100", owner="dirk")
        b = add_debtor(u, "200", segment="Bouw")
        c = add_debtor(u, "300", account_manager="Carla de Boer")
        for d in (a, b, c):
            add_message(u, d, channel="call", step="call")
        u.commit()
        today.save_owner_rules(u, OwnerRules({"Bouw": "dirk"}), actor="admin")
    assert {i.debtor_code: i.owner for i in items(uow)} == {"100": "dirk", "200": "dirk", "300": "carla"}
    assert [i.debtor_code for i in items(uow, user="carla")] == ["300"]
    with uow() as u:
        key = next(i.key for i in today.worklist(u, today=TODAY).items if i.debtor_code == "100")
        today.hand_over(u, key, "carla", "Jij spreekt hem vrijdag", actor="dirk", today=TODAY)
    mine_now = items(uow, user="carla")
    assert sorted(i.debtor_code for i in mine_now) == ["100", "300"]
    assert [(i.handed_by, i.hand_note) for i in mine_now if i.debtor_code == "100"] == [("dirk",
                                                                                          "Jij spreekt hem vrijdag")]
    with uow() as u:
        assert today.set_owner(u, "300", "dirk", actor="admin") == "dirk"
    assert [i.debtor_code for i in items(uow, user="carla")] == ["100"]


def test_a_hand_over_names_a_user_and_an_open_item(uow, team):
    with uow() as u:
        d = add_debtor(u, "100")
        add_message(u, d, channel="call", step="call")
        u.commit()
        with pytest.raises(ServiceError, match="there is no user 'erik'; users: carla, dirk"):
            today.hand_over(u, "call:1", "erik", actor="carla", today=TODAY)
        with pytest.raises(ServiceError, match="not an item of the worklist"):
            today.hand_over(u, "lunch:1", "dirk", actor="carla", today=TODAY)
        with pytest.raises(ServiceError, match="no longer on the worklist"):
            today.hand_over(u, "call:99", "dirk", actor="carla", today=TODAY)
        with pytest.raises(ServiceError, match="there is no user"):
            today.save_owner_rules(u, OwnerRules({"Bouw": "erik"}), actor="admin")
