"""The reminder engine and its queue against real SQLite and PostgreSQL."""

import json
import re
import subprocess
import sys
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from db.models import AuditEvent, Debtor, ImportBatch, Invoice, Message, MessageInvoice, Note
from receivables.domain import messages as message_states
from receivables.domain import phrases, tracks
from receivables.services import payment_qr, queue, reminder_settings, reminders
from receivables.services.errors import ServiceError
from receivables.services.ledger import apply_change, drop_from_pending_messages
from tests.conftest import ROOT

TODAY = date(2026, 6, 1)
PAYMENT = {"iban": "NL91ABNA0417164300", "bic": "ABNANL2A", "beneficiary": "Debtor Desk Demo B.V.",
           "link_pattern": "https://pay.example.test/{debtor_code}?amount={amount}"}


def fresh_import(s, as_of=TODAY):
    s.add(ImportBatch(kind="open-items", mode="full", file_name="open.csv", file_hash="h", as_of=as_of,
                      imported_by="test"))


def debtor(s, code, **kw):
    d = Debtor(code=code, name=kw.pop("name", f"Klant {code} B.V."), email=kw.pop("email", f"ar@{code}.nl"),
               language=kw.pop("language", "nl"), contact_person=kw.pop("contact_person", "Anouk Bakker"), **kw)
    s.add(d)
    s.flush()
    return d


def history(s, d, on=TODAY - timedelta(days=700)):
    """A reminder sent to the debtor long ago, for no invoice still open: the ledger has been chased
    before, so a run is no first run (which only proposes)."""
    s.add(Message(debtor_id=d.id, track="standard", step_index=1, step_name="reminder", step_key=f"old/{d.code}",
                  channel="email", status="sent", planned_date=on, sent_at=datetime.combine(on, datetime.min.time()),
                  recipients=d.email, subject="Herinnering", body_text="", body_html=""))
    s.flush()


def invoice(s, d, number, due, amount=100_000, paid_on=None, **kw):
    inv = Invoice(number=number, debtor_id=d.id, invoice_date=due - timedelta(days=30), due_date=due,
                  amount_cents=amount, open_cents=amount, **kw)
    s.add(inv)
    s.flush()
    if paid_on:
        apply_change(s, inv, paid_on, "payment", -amount)
    return inv


def generate(uow, today=TODAY, lookahead=0, fresh=True):
    """Generate as the daily job does: after that day's import (unless `fresh` is False)."""
    if fresh and today != TODAY:
        with uow() as u:
            fresh_import(u.session, today)
            u.commit()
    with uow(immediate=True) as u:
        return reminders.generate(u, today, actor="test", lookahead_days=lookahead)


def messages(uow, status=None):
    with uow() as u:
        q = select(Message).where(Message.step_key.not_like("old/%")).order_by(Message.id)  # not the history
        if status:
            q = q.where(Message.status == status)
        out = []
        for m in u.session.scalars(q):
            numbers = sorted(u.session.scalars(select(Invoice.number).join(MessageInvoice).where(
                MessageInvoice.message_id == m.id, MessageInvoice.active.is_(True))))
            out.append((m, numbers))
        u.session.expunge_all()  # keep the loaded rows readable after the rollback
        return out


def mark_sent(uow, message_id, on):
    with uow() as u:
        u.session.execute(update(Message).where(Message.id == message_id).values(
            status="sent", sent_at=datetime.combine(on, datetime.min.time()).replace(hour=9)))
        u.commit()


@pytest.fixture
def ledger(uow):
    """Bakker (100): two invoices overdue 10 and 5 days, one not yet due, a credit note. Jansen (200)
    overdue 3 days. Standard track for both (too little history); both were reminded long ago."""
    with uow() as u:
        s = u.session
        fresh_import(s)
        a = debtor(s, "100")
        invoice(s, a, "F-1", TODAY - timedelta(days=10), 121_000)
        invoice(s, a, "F-2", TODAY - timedelta(days=5), 50_050)
        invoice(s, a, "F-3", TODAY + timedelta(days=20), 30_000)
        invoice(s, a, "CN-1", TODAY - timedelta(days=40), -5_000)
        b = debtor(s, "200", language="en", name="Northwind Traders Ltd")
        invoice(s, b, "F-9", TODAY - timedelta(days=3), 70_000)
        history(s, a)
        history(s, b)
        reminder_settings.save_setting(u, reminder_settings.PAYMENT_KEY, PAYMENT, actor="admin")
    return uow


def test_one_message_per_debtor_and_step_lists_all_its_invoices_at_that_step(ledger):
    result = generate(ledger)
    assert (result.created, result.unchanged, result.cancelled) == (2, 0, 0)
    (m1, n1), (m2, n2) = messages(ledger)
    assert n1 == ["F-1", "F-2"] and m1.step_name == "reminder" and m1.track == "standard"
    assert m1.total_cents == 171_050 and m1.language == "nl"
    with ledger() as u:  # the recipients are the debtor's reminder contact when it is looked at, not a copy
        assert queue.queue(u)["recipients"].tolist() == ["ar@100.nl", "ar@200.nl"]
    assert "CN-1" in m1.body_text and "creditnota" in m1.body_text  # shown, never chased
    assert "F-3" in m1.body_text and "nog niet vervallen" in m1.body_text
    assert "too little payment history" in str(phrases.load(m1.reason))
    assert n2 == ["F-9"] and m2.language == "en" and "Payment reminder" in m2.subject
    assert "cid:epcqr" in m1.body_html and "https://pay.example.test/100?amount=1710.50" in m1.body_text


def test_generating_twice_creates_nothing_twice(ledger):
    generate(ledger)
    again = generate(ledger)
    assert (again.created, again.unchanged, again.cancelled) == (0, 2, 0)
    assert len(messages(ledger)) == 2


def test_a_late_send_pushes_the_next_step_back(ledger):
    generate(ledger)
    (m1, _), (m2, _) = messages(ledger)
    mark_sent(ledger, m1.id, TODAY + timedelta(days=3))  # reminder went out 3 days late
    # F-1 is due -10: second reminder at +14 = TODAY+4, but 13 days after the late send = TODAY+16
    assert generate(ledger, TODAY + timedelta(days=15)).created == 0
    result = generate(ledger, TODAY + timedelta(days=16))
    assert result.created == 1
    newest, numbers = messages(ledger)[-1]
    assert newest.step_name == "second_reminder" and numbers == ["F-1", "F-2"]


def test_after_an_outage_only_the_next_missing_step_is_proposed(uow):
    with uow() as u:
        fresh_import(u.session, TODAY)
        d = debtor(u.session, "300")
        invoice(u.session, d, "F-30", TODAY - timedelta(days=40))
        u.commit()
    generate(uow)
    [(m, numbers)] = messages(uow)
    assert m.step_name == "reminder" and m.planned_date == TODAY  # not the demand of day 30


def test_a_step_still_waiting_in_the_queue_holds_the_next_one_back(ledger):
    generate(ledger)
    assert generate(ledger, TODAY + timedelta(days=30)).created == 1
    newest, numbers = messages(ledger)[-1]
    assert numbers == ["F-3"] and newest.step_name == "reminder"  # F-1, F-2 wait for their reminder to go


@pytest.mark.parametrize("hold", ["disputed", "paused", "promise", "blocked", "tolerance", "consumer_paid"])
def test_held_invoices_are_left_out(uow, hold):
    with uow() as u:
        s = u.session
        fresh_import(s)
        d = debtor(s, "400", reminders_blocked=(hold == "blocked"))
        amount = 300 if hold == "tolerance" else 100_000
        inv = invoice(s, d, "F-40", TODAY - timedelta(days=5), amount,
                      disputed=(hold == "disputed"),
                      paused_until=TODAY + timedelta(days=3) if hold == "paused" else None,
                      paid_on=TODAY - timedelta(days=1) if hold == "consumer_paid" else None)
        if hold == "promise":
            s.add(Note(debtor_id=d.id, kind="promise", outcome="pending", promise_date=TODAY + timedelta(days=2),
                       promise_invoice_ids=[inv.id], created_by="carla"))
        u.commit()
    assert generate(uow).created == 0


def test_a_block_with_an_end_date_lets_reminders_resume_after_it(uow):
    with uow() as u:
        fresh_import(u.session)
        d = debtor(u.session, "410", reminders_blocked=True, blocked_until=TODAY - timedelta(days=1))
        invoice(u.session, d, "F-41", TODAY - timedelta(days=5))
        u.commit()
    assert generate(uow).created == 1


def test_stale_data_stops_generation_with_a_clear_warning_and_changes_nothing(ledger):
    with pytest.raises(ServiceError, match="stale.*Import a fresh open-items export"):
        generate(ledger, TODAY + timedelta(days=8), fresh=False)
    assert messages(ledger) == []


def test_a_debtor_list_imported_today_does_not_make_stale_open_items_fresh(ledger):
    with ledger() as u:
        u.session.add(ImportBatch(kind="debtors", mode="partial", file_name="debiteuren.csv", file_hash="d",
                                  as_of=TODAY + timedelta(days=8), imported_by="test"))
        u.commit()
    with pytest.raises(ServiceError, match="stale"):
        generate(ledger, TODAY + timedelta(days=8), fresh=False)
    assert messages(ledger) == []


def test_a_refused_stale_run_does_not_judge_promises_either(ledger):
    from receivables.services import dossier

    with ledger() as u:
        dossier.promise_to_pay(u, "200", TODAY + timedelta(days=1), actor="carla", today=TODAY)
    with pytest.raises(ServiceError, match="stale"):
        generate(ledger, TODAY + timedelta(days=30), fresh=False)
    with ledger() as u:
        assert u.session.scalars(select(Note.outcome).where(Note.kind == "promise")).all() == ["pending"]


def test_without_any_import_nothing_is_generated(uow):
    with pytest.raises(ServiceError, match="no open items have been imported"):
        generate(uow)


def test_an_invoice_paid_before_sending_leaves_its_message_and_an_empty_message_is_cancelled(ledger):
    generate(ledger)
    with ledger() as u:
        f9 = u.session.scalars(select(Invoice).where(Invoice.number == "F-9")).one()
        apply_change(u.session, f9, TODAY, "payment", -f9.open_cents)  # an import that forgot to drop it
        u.commit()
    result = generate(ledger)
    assert result.cancelled == 1
    assert [m.status for m, _ in messages(ledger)] == ["approved", "cancelled"]


def test_a_partial_payment_updates_the_amount_of_the_unsent_message(ledger):
    generate(ledger)
    with ledger() as u:
        f1 = u.session.scalars(select(Invoice).where(Invoice.number == "F-1")).one()
        apply_change(u.session, f1, TODAY, "payment", -21_000)
        u.commit()
    generate(ledger)
    m, _ = messages(ledger)[0]
    assert m.total_cents == 150_050 and "1.500,50" in m.body_text


def test_two_generators_at_once_create_every_message_once(ledger):
    cmd = [sys.executable, "-m", "receivables", "remind", "--date", TODAY.isoformat()]
    procs = [subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    created = sorted(int(o.split("created ")[1].split(",")[0]) for o, _ in outs)
    assert created == [0, 2]
    assert len(messages(ledger)) == 2


def test_the_track_follows_payment_behaviour(uow):
    with uow() as u:
        s = u.session
        fresh_import(s)
        late, prompt = debtor(s, "500"), debtor(s, "600")
        for n in range(6):
            due = TODAY - timedelta(days=300 - n * 30)
            invoice(s, late, f"L-{n}", due, paid_on=due + timedelta(days=45))
            invoice(s, prompt, f"P-{n}", due, paid_on=due)
        invoice(s, late, "L-open", TODAY - timedelta(days=2))
        invoice(s, prompt, "P-open", TODAY - timedelta(days=4))
        u.commit()
    generate(uow)
    with uow() as u:
        by_code = {u.session.get(Debtor, m.debtor_id).code: m for m in u.session.scalars(select(Message))}
        assert by_code["500"].track == "strict" and "avg days late 45.0" in str(phrases.load(by_code["500"].reason))
        assert by_code["600"].track == "friendly" and by_code["600"].step_name == "reminder"
        assert "Vriendelijke herinnering" in by_code["600"].subject


def test_an_override_on_the_debtor_wins_over_the_rules(uow):
    with uow() as u:
        fresh_import(u.session)
        d = debtor(u.session, "700", track_override="strict")
        invoice(u.session, d, "F-70", TODAY + timedelta(days=5))
        u.commit()
    generate(uow)
    [(m, _)] = messages(uow)
    assert (m.track, m.step_name) == ("strict", "courtesy") and "set by hand" in m.reason


def walk(uow, code, until_step, start=TODAY, consumer=False):
    """Send every step of a strict-track debtor on its planned day until `until_step`."""
    day = start
    for _ in range(80):
        generate(uow, day)
        for m, _ in messages(uow):
            if m.status in ("approved", "proposed"):
                mark_sent(uow, m.id, day)
                if m.step_name == until_step:
                    return m
        day += timedelta(days=1)
    raise AssertionError(f"{until_step} never came")


def test_a_demand_to_a_business_adds_interest_and_bik_costs(uow):
    with uow() as u:
        fresh_import(u.session)
        d = debtor(u.session, "800", track_override="strict")
        invoice(u.session, d, "F-80", TODAY - timedelta(days=1), 300_000)
        u.commit()
    m = walk(uow, "800", "demand")
    assert m.costs_cents == 42_500  # BIK on €3,000
    assert m.interest_cents > 0 and m.costs_detail["rates_used"]
    assert "€ 425,00" in m.body_text and "wettelijke handelsrente" in m.body_text


def test_a_consumer_first_gets_the_14_day_letter_and_costs_only_15_days_later(uow):
    with uow() as u:
        fresh_import(u.session)
        d = debtor(u.session, "900", track_override="strict", is_consumer=True)
        invoice(u.session, d, "F-90", TODAY - timedelta(days=1), 100_000)
        u.commit()
    letter = walk(uow, "900", "demand")
    assert letter.costs_cents == 0 and letter.costs_detail["wik_letter"] is True
    assert "binnen 14 dagen na de dag waarop u deze brief heeft ontvangen" in letter.body_text
    assert "€ 150,00" in letter.body_text
    sent_on = letter.planned_date
    final = walk(uow, "900", "final_notice", start=sent_on)
    assert (final.planned_date - sent_on).days >= 15  # strict spacing is 14: pushed to day 15
    assert final.costs_cents == 15_000 and final.interest_cents == 0


# --- the queue ------------------------------------------------------------------------------------

def one_message(uow, status, channel="email", recipients="ar@q.nl"):
    with uow() as u:
        s = u.session
        d = (s.scalars(select(Debtor).where(Debtor.code == "Q")).first()
             or debtor(s, "Q", email=recipients))
        n = s.scalar(select(func.count()).select_from(Message))
        m = Message(debtor_id=d.id, track="standard", step_index=1, step_name="reminder", step_key=f"k{n}",
                    channel=channel, status=status, planned_date=TODAY, recipients=recipients,
                    subject="Herinnering", body_text="Beste klant", body_html="<p>Beste klant</p>")
        s.add(m)
        u.commit()
        return m.id


TRANSITIONS = [
    ("proposed", "approve", "approved"), ("proposed", "postpone", "postponed"), ("proposed", "block", "blocked"),
    ("postponed", "unpostpone", "proposed"), ("postponed", "approve", "approved"), ("postponed", "block", "blocked"),
    ("approved", "postpone", "postponed"), ("approved", "block", "blocked"), ("approved", "unapprove", "proposed"),
    ("approved", "approve", None), ("sending", "block", None), ("sending", "postpone", None),
    ("sending", "approve", None), ("sending", "unapprove", None),  # only the sender knows if it went out
    ("sent", "approve", None), ("sent", "block", None), ("blocked", "approve", None),
    ("cancelled", "approve", None), ("failed", "postpone", None), ("proposed", "unpostpone", None),
    ("proposed", "called", None),  # an e-mail is not a call task
]


@pytest.mark.parametrize("before, action, after", TRANSITIONS)
def test_every_queue_transition_follows_the_table(uow, before, action, after):
    mid = one_message(uow, before)
    until = TODAY + timedelta(days=7)
    if after is None:
        with pytest.raises(ServiceError, match=f"message {mid}"):
            with uow() as u:
                queue.transition(u, [mid], action, actor="carla", until=until, today=TODAY)
        with uow() as u:
            assert u.session.get(Message, mid).status == before
        return
    with uow() as u:
        queue.transition(u, [mid], action, actor="carla", until=until, today=TODAY)
    with uow() as u:
        m = u.session.get(Message, mid)
        assert m.status == after
        assert after in message_states.ALLOWED_TRANSITIONS[before]
        if action == "postpone":
            assert m.postponed_until == until and m.planned_date == until
        event = u.session.scalars(select(AuditEvent).where(AuditEvent.action == f"message.{action}")).one()
        assert event.actor == "carla" and event.before["status"] == before


def test_a_batch_with_one_bad_message_changes_nothing(uow):
    good, bad = one_message(uow, "proposed"), one_message(uow, "sent")
    with pytest.raises(ServiceError, match=f"message {bad} is sent"):
        with uow() as u:
            queue.transition(u, [good, bad], "approve", actor="carla")
    with uow() as u:
        assert u.session.get(Message, good).status == "proposed"


@pytest.mark.parametrize("until, message", [(None, "until when"), (TODAY, "not after today")])
def test_postponing_needs_a_future_date(uow, until, message):
    mid = one_message(uow, "proposed")
    with pytest.raises(ServiceError, match=message):
        with uow() as u:
            queue.transition(u, [mid], "postpone", actor="carla", until=until, today=TODAY)


def test_an_email_without_recipient_cannot_be_approved(uow):
    mid = one_message(uow, "proposed", recipients=None)
    with pytest.raises(ServiceError, match="no recipient"):
        with uow() as u:
            queue.transition(u, [mid], "approve", actor="carla")


def test_a_postponed_message_comes_back_on_its_date(ledger):
    generate(ledger)
    (m1, _), _ = messages(ledger)
    with ledger() as u:
        queue.transition(u, [m1.id], "postpone", actor="carla", until=TODAY + timedelta(days=3), today=TODAY)
    with ledger() as u:
        fresh_import(u.session, TODAY + timedelta(days=3))
        u.commit()
    assert generate(ledger, TODAY + timedelta(days=2)).resumed == 0
    assert generate(ledger, TODAY + timedelta(days=3)).resumed == 1
    assert messages(ledger)[0][0].status == "proposed"


def test_a_call_task_is_done_with_a_note(uow):
    mid = one_message(uow, "proposed", channel="call")
    with uow() as u:
        note_id = queue.record_call(u, mid, "reached", "Betaalt vrijdag", actor="carla")
    with uow() as u:
        assert u.session.get(Message, mid).status == "sent"
        note = u.session.get(Note, note_id)
        assert (note.kind, note.outcome, note.message_id) == ("call", "reached", mid)


@pytest.mark.parametrize(("outcome", "said", "refusal"), [
    ("called twice", "", "call outcome 'called twice' is unknown"),
    ("reached", "  ", "the call summary is empty"),
])
def test_a_call_task_takes_the_outcomes_the_dossier_takes(uow, outcome, said, refusal):
    mid = one_message(uow, "proposed", channel="call")
    with uow() as u, pytest.raises(ServiceError, match=refusal):
        queue.record_call(u, mid, outcome, said, actor="carla")
    with uow() as u:
        assert u.session.get(Message, mid).status == "proposed"


def test_an_edit_is_what_will_be_sent_and_is_audited(ledger):
    generate(ledger)
    (m1, _), _ = messages(ledger)
    with ledger() as u:
        queue.edit_text(u, m1.id, "Herinnering F-1", "Beste Anouk,\n\nWilt u <vandaag> betalen?", actor="carla")
    with ledger() as u:
        p = queue.preview(u, m1.id)
        assert p.subject == "Herinnering F-1" and p.edited
        assert "&lt;vandaag&gt;" in p.html and "data:image/png;base64," in p.html
        assert p.payload.startswith("BCD\n002\n1\nSCT\nABNANL2A\nDebtor Desk Demo B.V.\nNL91ABNA0417164300\nEUR1710.50")
        event = u.session.scalars(select(AuditEvent).where(AuditEvent.action == "message.edit")).one()
        assert event.after["body_text"].startswith("Beste Anouk")
    # an edited message keeps its words when the engine runs again
    generate(ledger)
    assert messages(ledger)[0][0].subject == "Herinnering F-1"


def test_dropping_an_invoice_from_pending_messages_then_resolving_it_proposes_it_again(ledger):
    generate(ledger)
    with ledger() as u:
        f9 = u.session.scalars(select(Invoice).where(Invoice.number == "F-9")).one()
        f9.disputed = True
        drop_from_pending_messages(u.session, [f9.id])
        u.commit()
    assert messages(ledger)[1][0].status == "cancelled"
    with ledger() as u:
        u.session.execute(update(Invoice).where(Invoice.number == "F-9").values(disputed=False))
        u.commit()
    assert generate(ledger).created == 1


def test_blocking_the_debtor_from_the_queue_blocks_its_unsent_messages(ledger):
    generate(ledger)
    (m1, _), _ = messages(ledger)
    with ledger() as u:
        queue.block_debtor(u, m1.id, "Curator aangesteld", actor="carla", today=TODAY)
    (m1, _), (m2, _) = messages(ledger)
    assert m1.status == "blocked" and m2.status == "approved"
    assert generate(ledger, TODAY + timedelta(days=5)).created == 0


def test_blocking_the_debtor_blocks_nothing_when_its_messages_cannot_follow(ledger, monkeypatch):
    generate(ledger)
    (m1, _), _ = messages(ledger)

    def changed_meanwhile(*args, **kwargs):  # as when someone else moved a message in the meantime
        raise ServiceError(f"message {m1.id} was changed by someone else meanwhile; reload and try again")

    monkeypatch.setattr(queue, "_move", changed_meanwhile)
    with pytest.raises(ServiceError, match="changed by someone else"):
        with ledger() as u:
            queue.block_debtor(u, m1.id, "Curator aangesteld", actor="carla", today=TODAY)
    with ledger() as u:
        debtor_100 = u.session.scalars(select(Debtor).where(Debtor.code == "100")).one()
        assert not debtor_100.reminders_blocked and debtor_100.blocked_reason is None
        assert u.session.scalars(select(Note).where(Note.kind == "block")).all() == []
        assert u.session.scalars(select(AuditEvent).where(AuditEvent.action == "debtor.block")).all() == []
    assert messages(ledger)[0][0].status == "approved"


def test_a_batch_of_row_changes_with_a_bad_last_row_changes_nothing(uow):
    first, second, sent = one_message(uow, "proposed"), one_message(uow, "proposed"), one_message(uow, "sent")
    rows = [queue.RowChange(first, "approve"), queue.RowChange(second, note="Belt vrijdag terug"),
            queue.RowChange(sent, "", note=None), queue.RowChange(sent, "block")]
    with pytest.raises(ServiceError, match=rf"^row 4 \(message #{sent}\): message {sent} is sent; it cannot be "
                                           r"blocked\. Nothing was changed$"):
        with uow() as u:
            queue.apply_rows(u, rows, actor="carla", today=TODAY)
    with uow() as u:
        assert u.session.get(Message, first).status == "proposed"
        assert u.session.get(Message, second).note is None
        assert u.session.scalars(select(AuditEvent).where(AuditEvent.action.like("message.%"))).all() == []
    with uow() as u:  # without the bad row, every row is applied at once
        assert queue.apply_rows(u, rows[:3], actor="carla", today=TODAY) == 2
    with uow() as u:
        assert u.session.get(Message, first).status == "approved"
        assert u.session.get(Message, second).note == "Belt vrijdag terug"


def test_the_cli_lists_approves_postpones_and_blocks(ledger, capsys):
    from receivables.cli import main

    def cli(*args):
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse refusing the command line
            code = exc.code
        out, err = capsys.readouterr()
        return code, out, err

    done = subprocess.run([sys.executable, "-m", "receivables", "remind", "--date", TODAY.isoformat()], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    summary, group = done.stdout.strip().splitlines()
    assert summary == "created 2, unchanged 0, cancelled 0", done.stderr
    assert group.split() == ["standard", "reminder", "EUR", "2", "message(s)", "3", "invoice(s)", "€2,410.50", "(2",
                             "approved)"]
    listed = json.loads(cli("queue", "list", "--format", "json")[1])
    assert {tuple(sorted(r)) for r in listed} == {tuple(sorted(
        ["id", "debtor_code", "step", "track", "status", "planned_date", "invoice_numbers", "total", "subject",
         "currency", "channel", "recipients", "needs_address", "reason"]))}
    first = next(r for r in listed if r["debtor_code"] == "100")
    assert first["invoice_numbers"] == ["F-1", "F-2"] and first["total"] == 1710.5
    ids = [str(r["id"]) for r in listed]
    assert cli("queue", "unapprove", *ids)[0] == 2  # no such command: argparse refuses
    code, out, err = cli("queue", "postpone", ids[0], "--until", (date.today() + timedelta(days=5)).isoformat())
    assert code == 0, err
    assert cli("queue", "block", ids[1])[1].strip() == "blocked 1"
    code, out, err = cli("queue", "approve", ids[1])
    assert code == 2 and err.startswith("error: message") and "blocked" in err
    assert cli("queue", "approve", "--all")[0] == 2  # nothing proposed is left
    statuses = {r["status"] for r in json.loads(cli("queue", "list", "--status", "postponed", "--format", "json")[1])}
    assert statuses == {"postponed"}


def test_lookahead_proposes_tomorrows_messages_planned_for_tomorrow(uow):
    with uow() as u:
        fresh_import(u.session)
        d = debtor(u.session, "950", track_override="friendly")
        invoice(u.session, d, "F-95", TODAY - timedelta(days=2))  # friendly reminder on day +3: tomorrow
        u.commit()
    generate(uow, lookahead=1)
    [(m, numbers)] = messages(uow)
    assert (m.step_name, m.planned_date) == ("reminder", TODAY + timedelta(days=1))
    with uow() as u:
        tomorrow = queue.queue(u, planned_from=TODAY + timedelta(days=1), planned_until=TODAY + timedelta(days=1))
    assert tomorrow["invoice_numbers"].tolist() == [["F-95"]]


def every_step_needs_approval(uow) -> None:
    with uow() as u:
        data = tracks.tracks_to_data(tracks.default_tracks())
        for track in data["tracks"] if isinstance(data, dict) else data:
            for step in track["steps"]:
                step["needs_approval"] = True
        reminder_settings.save_setting(u, reminder_settings.TRACKS_KEY, data, actor="admin")


def test_invoices_reaching_a_step_on_consecutive_days_go_in_one_message_none_called_overdue_early(uow):
    with uow() as u:
        fresh_import(u.session)
        d = debtor(u.session, "960", track_override="friendly")
        invoice(u.session, d, "F-96", TODAY - timedelta(days=3))  # friendly reminder on day +3: today
        invoice(u.session, d, "F-97", TODAY - timedelta(days=2))  # and tomorrow
        u.commit()
    generate(uow, lookahead=1)
    [(m, numbers)] = messages(uow)
    assert numbers == ["F-96", "F-97"] and (m.step_name, m.planned_date) == ("reminder", TODAY + timedelta(days=1))
    assert generate(uow, TODAY + timedelta(days=1), lookahead=1).created == 0
    assert len(messages(uow)) == 1


def test_a_proposed_message_takes_in_an_invoice_that_reaches_its_step_later_and_waits_for_it(uow):
    with uow() as u:
        fresh_import(u.session)
        d = debtor(u.session, "970", track_override="friendly")
        invoice(u.session, d, "F-98", TODAY - timedelta(days=5))  # friendly reminder (+3): due now
        u.commit()
    every_step_needs_approval(uow)  # the admin's choice: the message stays proposed
    generate(uow, lookahead=0)
    [(m, numbers)] = messages(uow)
    assert m.status == "proposed" and m.planned_date == TODAY and numbers == ["F-98"]
    with uow() as u:
        invoice(u.session, u.session.get(Debtor, m.debtor_id), "F-99", TODAY - timedelta(days=2))  # tomorrow
        u.commit()
    generate(uow, lookahead=1)
    [(m, numbers)] = messages(uow)
    assert numbers == ["F-98", "F-99"] and m.planned_date == TODAY + timedelta(days=1)


def _leave_by_import(u):
    """A full open-items export of the day that no longer has F-2: it was paid."""
    from receivables.services import imports as import_service

    header = "Relatiecode;Relatie;Factuurnummer;Factuurdatum;Vervaldatum;Bedrag;Openstaand;Soort"
    rows = [("100", "F-1", TODAY - timedelta(days=10), "1.210,00"), ("100", "F-3", TODAY + timedelta(days=20), "300,00"),
            ("100", "CN-1", TODAY - timedelta(days=40), "-50,00"), ("200", "F-9", TODAY - timedelta(days=3), "700,00")]
    body = "\r\n".join([header] + [f"{c};Klant {c};{n};{due - timedelta(days=30):%d-%m-%Y};{due:%d-%m-%Y};{a};{a};Factuur"
                                   for c, n, due, a in rows])
    result = import_service.run_import(u, body.encode(), "open.csv", actor="carla", kind="open-items", as_of=TODAY)
    assert result.closed == 1, result.summary()


def _leave_by_dispute(u):
    from receivables.services import dossier

    dossier.dispute_invoice(u, "100", "F-2", "levering onvolledig", actor="carla")


def _leave_by_promise(u):
    from receivables.services import dossier

    dossier.promise_to_pay(u, "100", TODAY + timedelta(days=7), invoice_numbers=["F-2"], actor="carla", today=TODAY)


@pytest.mark.parametrize("leave", [_leave_by_import, _leave_by_dispute, _leave_by_promise],
                         ids=["paid-in-an-import", "disputed", "promised"])
def test_an_invoice_that_leaves_an_approved_message_leaves_its_words_and_total_too(ledger, leave):
    generate(ledger)
    (m1, numbers), _ = messages(ledger)
    assert m1.status == "approved" and numbers == ["F-1", "F-2"] and "F-2" in m1.body_text
    with ledger(immediate=True) as u:
        leave(u)
    (m1, numbers), _ = messages(ledger)
    assert m1.status == "approved" and numbers == ["F-1"]
    assert m1.total_cents == 121_000 and "1.210,00" in m1.body_text and "1.710,50" not in m1.body_text
    chased = m1.body_text.split("Totaal openstaand")[0]  # the overview of all open items follows it
    assert "factuur F-1 is verstreken" in chased and "F-2" not in chased
    if leave is not _leave_by_import:  # still open: the overview says why it is not chased
        overview = m1.body_text.split("Overzicht")[1]
        assert "F-2" in overview and "F-2              27-05-2026           € 500,50  vervallen" not in overview
    assert m1.qr_payload is None or "EUR1210.00" in m1.qr_payload
    with ledger() as u:
        assert payment_qr.payment_payload(u, m1.id).split("\n")[7] == "EUR1210.00"


def _hand_written_then_disputed(ledger) -> int:
    """Bakker's message, its words written by hand, then F-2 disputed: it goes back to be checked."""
    generate(ledger)
    (m1, _), _ = messages(ledger)
    with ledger() as u:
        queue.edit_text(u, m1.id, "Herinnering", "Beste Anouk,\n\nF-1 en F-2 staan nog open.", actor="carla")
    with ledger(immediate=True) as u:
        _leave_by_dispute(u)
    return m1.id


def test_a_hand_written_message_whose_invoice_leaves_goes_back_to_be_checked(ledger):
    _hand_written_then_disputed(ledger)
    (m1, numbers), _ = messages(ledger)
    assert m1.status == "proposed" and numbers == ["F-1"] and "written by hand" in m1.last_error
    assert m1.total_cents == 121_000 and m1.qr_payload is None  # the amount follows, the words wait for a person
    with ledger() as u:
        assert payment_qr.payment_payload(u, m1.id).split("\n")[7] == "EUR1210.00"
    assert m1.body_text.rstrip().endswith("F-1 en F-2 staan nog open.")  # a person's words are not rewritten


def test_the_demo_data_counts_as_fresh_open_items(uow):
    from receivables.services import demo

    with uow(immediate=True) as u:
        demo.load_demo(u, seed=7, anchor=TODAY, actor="test")
    result = generate(uow)
    assert result.created > 0


@pytest.mark.parametrize("pattern, says", [
    ("https://pay.example.test/{debtor_code}?id={message_id}", "may only use {debtor_code}, {amount}"),
    ("https://pay.example.test/{klant}", "may only use"),
    ("ftp://pay.example.test/{debtor_code}", "must start with https://"),
])
def test_a_payment_link_with_a_field_the_words_cannot_know_is_refused(uow, pattern, says):
    with uow() as u:
        with pytest.raises(ServiceError, match=re.escape(says)):
            reminder_settings.save_setting(u, reminder_settings.PAYMENT_KEY, {**PAYMENT, "link_pattern": pattern}, actor="admin")


def test_a_person_acting_on_a_message_clears_the_problem_the_queue_showed(ledger):
    mid = _hand_written_then_disputed(ledger)
    with ledger() as u:
        assert "approve it again" in queue.queue(u).set_index("id").loc[mid, "last_error"]
        queue.transition(u, [mid], "approve", actor="carla", today=TODAY)
    with ledger() as u:
        assert queue.queue(u).set_index("id").loc[mid, "last_error"] == ""
        event = u.session.scalars(select(AuditEvent).where(AuditEvent.action == "message.approve")).one()
        assert "approve it again" in event.before["last_error"] and event.after["last_error"] is None


def test_a_payment_link_saved_with_a_field_no_longer_offered_renders_without_it(ledger):
    from receivables.services.settings import put_setting

    with ledger() as u:  # as an older version stored it, before the check refused it
        put_setting(u.session, reminder_settings.PAYMENT_KEY,
                    {**PAYMENT, "link_pattern": "https://pay.example.test/{debtor_code}?m={message_id}"}, "admin")
        u.commit()
    generate(ledger)
    (m1, _), _ = messages(ledger)
    assert "https://pay.example.test/100?m=" in m1.body_text
    with ledger(immediate=True) as u:
        _leave_by_dispute(u)  # re-rendering inside a dispute works as well
    assert messages(ledger)[0][1] == ["F-1"]


def test_an_invoice_due_at_a_step_waits_at_most_a_day_for_another_one(uow):
    with uow() as u:
        fresh_import(u.session)
        d = debtor(u.session, "980", track_override="friendly")
        invoice(u.session, d, "F-81", TODAY - timedelta(days=3))  # friendly reminder (+3): today
        invoice(u.session, d, "F-82", TODAY + timedelta(days=7))  # in ten days
        u.commit()
    generate(uow, lookahead=14)
    found = sorted((m.planned_date, numbers) for m, numbers in messages(uow))
    assert found == [(TODAY, ["F-81"]), (TODAY + timedelta(days=10), ["F-82"])]


def test_a_newly_due_invoice_does_not_join_a_message_planned_days_ahead(uow):
    with uow() as u:
        fresh_import(u.session)
        d = debtor(u.session, "990", track_override="friendly")
        invoice(u.session, d, "F-91", TODAY + timedelta(days=7))  # friendly reminder (+3): in ten days
        u.commit()
    every_step_needs_approval(uow)
    generate(uow, lookahead=14)
    with uow() as u:
        invoice(u.session, u.session.scalars(select(Debtor).where(Debtor.code == "990")).one(), "F-92",
                TODAY - timedelta(days=3))  # its reminder is due today
        u.commit()
    generate(uow, lookahead=14)
    found = sorted((m.planned_date, numbers) for m, numbers in messages(uow))
    assert found == [(TODAY, ["F-92"]), (TODAY + timedelta(days=10), ["F-91"])]
