"""A real ledger's first contact with the reminder engine: nothing goes out that a person did not look at,
recipients are the debtor's reminder contact as it is when a message is looked at or sent, invoices
first seen long past due catch up, and big messages stay readable. Real SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import email
import io
from datetime import date, timedelta
from email import policy
from pathlib import Path

import pytest
from sqlalchemy import select, update

from db.models import Debtor, ImportBatch, Invoice, Message, MessageInvoice
from emails import statement
from receivables.services import dossier, reminder_settings, reminders, sending
from receivables.services import imports as import_service
from receivables.services import queue as queue_service
from receivables.services.errors import ServiceError

EBOEK = "Relatiecode;Relatie;Factuurnummer;Factuurdatum;Vervaldatum;Bedrag;Openstaand;Soort"


def day(d: date) -> str:
    return d.isoformat()


def open_items(rows: list[tuple[str, str, int, int]]) -> bytes:
    """(debtor code, invoice number, days past due, open cents) as an e-Boekhouden open-items export."""
    lines, today = [EBOEK], date.today()  # read when the file is made: the CLI generates for its own today
    for code, number, days, cents in rows:
        due = today - timedelta(days=days)
        amount = f"{cents // 100},{cents % 100:02d}"
        lines.append(";".join([code, f"Klant {code} B.V.", number, day(due - timedelta(days=30)), day(due), amount,
                               amount, "Factuur"]))
    return ("\r\n".join(lines) + "\r\n").encode()


def run_import(uow, data: bytes, name: str, **kw):
    with uow(immediate=True) as u:
        return import_service.run_import(u, data, name, actor="carla", as_of=date.today(), **kw)


def remind(uow, today: date | None = None, fresh: bool = False) -> reminders.GenerateResult:
    """Generate for `today` (the day it runs when not given); `fresh`: after that day's import, as the daily
    job does."""
    today = today or date.today()
    with uow(immediate=True) as u:
        if fresh:
            u.session.add(ImportBatch(kind="open-items", mode="full", file_name="open.csv", file_hash=f"{today}",
                                      as_of=today, imported_by="test"))
            u.session.flush()
        return reminders.generate(u, today, actor="test")


def queue(uow, **kw):
    with uow() as u:
        return queue_service.queue(u, **kw)


def cli(capsys, *args: str) -> tuple[int, str]:
    from receivables.cli import main

    code = main(list(args))
    return code, capsys.readouterr().out


# --- recipients ----------------------------------------------------------------------------------------

def test_an_open_items_import_without_a_debtor_list_proposes_everything_and_waits_for_addresses(uow, capsys):
    run_import(uow, open_items([("100", "F-1", 5, 50_000), ("200", "F-2", 4, 20_000), ("300", "F-3", 3, 7_500)]),
               "open.csv")
    code, out = cli(capsys, "remind")
    assert code == 0
    assert out.startswith("created 3, unchanged 0, cancelled 0\n")
    assert "review: the first run on this ledger (3 message(s))" in out
    assert "needs address: 3 message(s)" in out
    frame = queue(uow)
    assert set(frame["status"]) == {"proposed"} and set(frame["state"]) == {queue_service.NEEDS_ADDRESS}
    assert frame["recipients"].tolist() == ["", "", ""]
    code, out = cli(capsys, "queue", "addresses")
    assert "3 debtor(s) without a reminder address; open €775.00" in out
    with pytest.raises(ServiceError, match="no recipient"):
        with uow() as u:
            queue_service.transition(u, frame["id"].tolist(), "approve", actor="carla")

    # the address arrives through the dossier for one debtor and a debtor list for another
    with uow() as u:
        dossier.update_contact(u, "100", emails="debiteuren@klant100.nl", language="nl", actor="carla")
    run_import(uow, b"Relatiecode;Naam;E-mail\r\n200;Klant 200 B.V.;ap@klant200.nl\r\n", "debiteuren.csv",
               kind="debtors")
    frame = queue(uow)
    assert dict(zip(frame["debtor_code"], frame["recipients"])) == {
        "100": "debiteuren@klant100.nl", "200": "ap@klant200.nl", "300": ""}
    assert dict(zip(frame["debtor_code"], frame["state"])) == {
        "100": "proposed", "200": "proposed", "300": queue_service.NEEDS_ADDRESS}
    with uow() as u:
        left = reminders.debtors_without_address(u)
    assert left[["debtor_code", "currency", "open_cents", "invoices", "waiting_messages"]].values.tolist() == [
        ["300", "EUR", 7_500, 1, 1]]

    # the same messages become sendable: nothing is generated again
    assert remind(uow).summary() == "created 0, unchanged 3, cancelled 0"
    ready = frame.loc[frame["state"] == "proposed", "id"].tolist()
    with uow() as u:
        queue_service.transition(u, ready, "approve", actor="carla")
    code, out = cli(capsys, "send", "--outbox")
    assert "sent 0, exported 2 (not sent until marked sent), failed 0, cancelled 0" in out  # the outbox is not sending
    sent = sorted(Path(_outbox()).glob("*.eml"))
    assert sorted(email.message_from_bytes(p.read_bytes(), policy=policy.default)["To"] for p in sent) == [
        "ap@klant200.nl", "debiteuren@klant100.nl"]
    with uow() as u:
        assert sorted(u.session.scalars(select(Message.recipients).where(Message.status == "exported"))) == [
            "ap@klant200.nl", "debiteuren@klant100.nl"]


def _outbox() -> str:
    import os

    return os.environ["DEBTOR_DESK_OUTBOX"]


def test_an_approved_message_goes_to_the_address_the_debtor_has_when_it_is_sent(uow):
    run_import(uow, open_items([("100", "F-1", 5, 50_000)]), "open.csv")
    with uow() as u:
        dossier.update_contact(u, "100", emails="oud@klant.nl", language="nl", actor="carla")
    remind(uow)
    [mid] = queue(uow)["id"].tolist()
    with uow() as u:
        queue_service.transition(u, [mid], "approve", actor="carla")
        dossier.update_contact(u, "100", emails="nieuw@klant.nl", language="nl", actor="carla")
    with uow() as u:
        assert queue_service.preview(u, mid).recipients == "nieuw@klant.nl"
        [planned] = sending.plan(u, date.today())
    assert (planned.recipients, planned.action) == ("nieuw@klant.nl", "send")


def test_a_step_that_needs_no_approval_still_waits_when_the_debtor_has_no_address(uow):
    run_import(uow, open_items([("100", "F-1", 2, 50_000), ("200", "F-2", 2, 10_000)]), "open.csv")
    run_import(uow, b"Relatiecode;Naam;E-mail\r\n100;Klant 100 B.V.;ar@klant100.nl\r\n", "debiteuren.csv",
               kind="debtors")
    with uow() as u:  # both were chased before: no first run
        for d in u.session.scalars(select(Debtor)):
            u.session.add(Message(debtor_id=d.id, track="standard", step_index=1, step_name="reminder",
                                  step_key=f"old/{d.code}", status="sent", planned_date=date.today() - timedelta(days=800)))
        u.commit()
    result = remind(uow)
    assert (result.review, result.needs_address) == (None, 1)
    frame = queue(uow)
    assert dict(zip(frame["debtor_code"], frame["state"])) == {"100": "approved", "200": queue_service.NEEDS_ADDRESS}


# --- a first run is a review ------------------------------------------------------------------------

def test_a_run_above_the_limit_only_proposes_and_sums_up_by_step_track_and_currency(uow):
    rows = [(f"{n:03d}", f"F-{n}", 2, 10_000 * n) for n in range(1, 5)]
    run_import(uow, open_items(rows), "open.csv")
    run_import(uow, ("Relatiecode;Naam;E-mail\r\n" + "".join(f"{c};Klant {c} B.V.;ar@{c}.nl\r\n" for c, *_ in rows))
               .encode(), "debiteuren.csv", kind="debtors")
    with uow() as u:
        for d in u.session.scalars(select(Debtor)):
            u.session.add(Message(debtor_id=d.id, track="standard", step_index=1, step_name="reminder",
                                  step_key=f"old/{d.code}", status="sent", planned_date=date.today() - timedelta(days=800)))
        u.commit()
        reminder_settings.save_setting(u, reminder_settings.ENGINE_KEY, {"review_above": 3}, actor="admin")
    result = remind(uow)
    assert str(result.review) == "4 messages at once, more than the limit of 3"
    assert result.groups == [reminders.CreatedGroup("standard", "reminder", "EUR", 4, 4, 100_000, 0)]
    assert set(queue(uow)["status"]) == {"proposed"}


def test_the_review_limit_is_checked_before_it_is_saved(uow):
    with uow() as u:
        with pytest.raises(ServiceError, match="between 1 and 100,000"):
            reminder_settings.save_setting(u, reminder_settings.ENGINE_KEY, {"review_above": 0}, actor="admin")
        with pytest.raises(ServiceError, match="catching up may go at most"):
            reminder_settings.save_setting(u, reminder_settings.ENGINE_KEY, {"catch_up_cap": "lawsuit"}, actor="admin")


# --- catch-up by age ----------------------------------------------------------------------------------

def test_an_invoice_first_seen_long_past_due_enters_at_the_demand_with_the_reason(uow):
    run_import(uow, open_items([("100", "F-OLD", 412, 50_000), ("200", "F-NEW", 2, 10_000)]), "open.csv")
    result = remind(uow)
    assert result.caught_up == 1
    frame = queue(uow).set_index("debtor_code")
    assert (frame.loc["100", "step"], frame.loc["200", "step"]) == ("demand", "reminder")
    assert str(frame.loc["100", "reason"]).startswith("First seen 412 days past due: enters at demand")
    assert frame.loc["100", "costs_cents"] > 0  # a business: the demand charges its costs


def test_the_step_after_a_catch_up_keeps_its_spacing(uow):
    run_import(uow, open_items([("100", "F-OLD", 412, 50_000)]), "open.csv")
    run_import(uow, b"Relatiecode;Naam;E-mail\r\n100;Klant 100 B.V.;ar@klant100.nl\r\n", "debiteuren.csv",
               kind="debtors")
    today = date.today()
    remind(uow, today)
    [mid] = queue(uow)["id"].tolist()
    with uow() as u:
        u.session.execute(update(Message).where(Message.id == mid).values(status="sent", sent_at=_at(today)))
        u.commit()
    with uow() as u:
        standard = reminder_settings.load_settings(u.session).tracks["standard"]
    spacing = standard.steps[standard.index_of("final_notice")].offset - standard.steps[standard.index_of("demand")].offset
    assert remind(uow, today + timedelta(days=spacing - 2), fresh=True).created == 0  # proposed a day ahead
    remind(uow, today + timedelta(days=spacing), fresh=True)
    final = queue(uow, statuses=["proposed"]).iloc[0]
    assert final["step"] == "final_notice" and final["planned_date"] == today + timedelta(days=spacing)


def _at(d: date):
    from datetime import datetime

    return datetime.combine(d, datetime.min.time()).replace(hour=9)


def test_a_consumer_first_seen_long_past_due_gets_the_14_day_letter_first(uow):
    run_import(uow, open_items([("100", "F-OLD", 412, 50_000)]), "open.csv")
    with uow() as u:
        u.session.execute(update(Debtor).values(is_consumer=True))
        u.commit()
        reminder_settings.save_setting(u, reminder_settings.ENGINE_KEY, {"catch_up_cap": "handover"}, actor="admin")
    remind(uow)
    [row] = queue(uow).to_dict("records")
    with uow() as u:
        m = u.session.get(Message, row["id"])
        assert (m.step_name, m.costs_cents, m.interest_cents) == ("demand", 0, 0)  # not the final notice or beyond
        assert m.costs_detail["wik_letter"] is True and "14 dagen" in m.body_text


@pytest.mark.parametrize("days, step", [(2, "reminder"), (13, "reminder"), (14, "second_reminder"),
                                        (25, "call"), (400, "demand")])
def test_the_entry_step_follows_the_age_when_first_seen(uow, days, step):
    run_import(uow, open_items([("100", "F-1", days, 50_000)]), "open.csv")
    remind(uow)
    assert queue(uow)["step"].tolist() == [step]


# --- big messages ---------------------------------------------------------------------------------------

def test_a_message_with_many_invoices_lists_the_oldest_25_and_attaches_a_statement_of_all(uow, capsys):
    rows = [("100", f"F-{n:03d}", 10 + n, 1_000 + n) for n in range(40)]
    rows += [("100", "=cmd|' /C calc'!A0", 5, 2_000)]  # a number a spreadsheet would run as a formula
    run_import(uow, open_items(rows), "open.csv")
    with uow() as u:
        dossier.update_contact(u, "100", emails="ar@klant100.nl", language="nl", actor="carla")
        reminder_settings.save_setting(u, reminder_settings.ENGINE_KEY, {"catch_up_cap": "reminder"}, actor="admin")
    remind(uow)
    [row] = queue(uow).to_dict("records")
    assert row["invoices"] == 41
    with uow() as u:
        m = u.session.get(Message, row["id"])
        listed = [n for _, n, *_ in rows if n in m.body_text]
        total = sum(c for *_, c in rows)
        assert len(listed) == 25 and "F-039" in listed and "F-000" not in listed  # the oldest 25
        assert "en nog 16 facturen" in m.body_text and "rekeningoverzicht" in m.body_text
        assert "41 openstaande facturen" in m.subject or "41" in m.subject
        assert m.total_cents == total
        queue_service.transition(u, [m.id], "approve", actor="carla")
    with uow() as u:
        pdf, sheet = sending.statement_for(u, row["id"], date.today())
    assert pdf.filename.startswith("rekeningoverzicht-100-") and pdf.content.startswith(b"%PDF")
    lines = list(csv.reader(io.StringIO(sheet.content.decode("utf-8-sig")), delimiter=";"))
    assert len(lines) == 42 and lines[0][0] == "Factuur"
    assert "'=cmd|' /C calc'!A0" in [r[0] for r in lines]
    cli(capsys, "send", "--outbox")
    [eml] = Path(_outbox()).glob("*.eml")
    parsed = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    names = sorted(a.get_filename() for a in parsed.iter_attachments())
    assert [n.rsplit(".", 1)[1] for n in names] == ["csv", "pdf"]


def test_up_to_25_invoices_no_statement_is_attached(uow):
    run_import(uow, open_items([("100", f"F-{n:03d}", 3, 1_000) for n in range(25)]), "open.csv")
    remind(uow)
    [mid] = queue(uow)["id"].tolist()
    with uow() as u:
        assert sending.statement_for(u, mid, date.today()) == ()
    assert statement.needed(25) is False and statement.needed(26) is True


# --- real files ---------------------------------------------------------------------------------------

def highradius_moved(shared_data, last_due: date) -> bytes:
    """The HighRadius open items (posted February-May 2020) with every date moved so that the last due date
    is `last_due`: as they were, they are more than five years past due and may be time-barred."""
    source = (shared_data / "ar" / "highradius_open_invoices_nulldata.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(source)))
    shift = last_due - max(date(int(r["due_in_date"][6:]), int(r["due_in_date"][3:5]), int(r["due_in_date"][:2]))
                           for r in rows)

    def moved(value: str) -> str:
        if not value:
            return value
        d = date(int(value[6:]), int(value[3:5]), int(value[:2])) + shift
        return f"{d.day:02d}-{d.month:02d}-{d.year}"

    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({**r, **{c: moved(r[c]) for c in ("posting_date", "due_in_date", "baseline_create_date")}})
    return out.getvalue().encode("utf-8")


def test_the_highradius_open_items_as_published_are_too_old_to_chase_automatically(uow, shared_data):
    data = (shared_data / "ar" / "highradius_open_invoices_nulldata.csv").read_bytes()
    assert run_import(uow, data, "nulldata.csv").summary().startswith("new 9681")
    generated = remind(uow)
    # due in 2020: more than five years ago, so they may be time-barred (art. 3:307 BW); a person decides
    assert generated.created == 0 and generated.time_barred == 9681
    assert any("time-barred: 9681 invoice(s)" in line for line in generated.review_lines())


def test_the_highradius_open_items_are_a_review_caught_up_in_dollars(uow, shared_data):
    data = highradius_moved(shared_data, date.today() - timedelta(days=365))  # all a year or more past due
    result = run_import(uow, data, "nulldata.csv")
    assert result.summary().startswith("new 9681")
    generated = remind(uow)
    assert str(generated.review).startswith("the first run on this ledger")
    assert {g.currency for g in generated.groups} == {"USD"}
    assert {g.step for g in generated.groups} <= {"reminder", "second_reminder", "call", "demand"}
    assert all(g.approved == 0 for g in generated.groups)
    frame = queue(uow)
    assert set(frame["status"]) == {"proposed"}
    assert frame["needs_address"].all()  # an open-items file has no e-mail addresses
    assert frame["reason"].map(str).str.startswith("First seen").sum() == generated.caught_up > 0
    assert frame["invoices"].max() > statement.LIST_LIMIT
    with uow() as u:
        worklist = reminders.debtors_without_address(u)
        assert set(worklist["currency"]) == {"USD"}
        assert worklist["open_cents"].sum() == u.session.scalar(
            select(__import__("sqlalchemy").func.sum(Invoice.open_cents)).where(Invoice.open_cents > 0))
    big = frame.loc[frame["invoices"].idxmax()]
    with uow() as u:
        body = u.session.get(Message, int(big["id"])).body_text
        lines = u.session.scalar(select(__import__("sqlalchemy").func.count()).select_from(MessageInvoice)
                                 .where(MessageInvoice.message_id == int(big["id"])))
    assert lines == big["invoices"] and body.count("\n") < 120  # readable, not thousands of lines


def test_the_ibm_ledger_moved_to_today_is_a_review_entered_by_age(uow, shared_data):
    source = (shared_data / "ar" / "WA_Fn-UseC_-Accounts-Receivable.csv").read_text(encoding="ascii")
    rows = list(csv.DictReader(io.StringIO(source)))
    cut = date(2012, 12, 31)  # its open items then are up to 23 days past due
    shift = date.today() - cut

    def us(value: str) -> date:
        m, d, y = (int(x) for x in value.split("/"))
        return date(y, m, d)

    def moved(value: str) -> str:
        d = us(value) + shift
        return f"{d.month}/{d.day}/{d.year}"

    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\r\n")
    writer.writeheader()
    for r in rows:
        if us(r["InvoiceDate"]) > cut:
            continue  # not yet invoiced on the day that became today
        settled = us(r["SettledDate"])
        writer.writerow({**r, "InvoiceDate": moved(r["InvoiceDate"]), "DueDate": moved(r["DueDate"]),
                         "SettledDate": "" if settled > cut else moved(r["SettledDate"])})
    result = run_import(uow, out.getvalue().encode("ascii"), "ibm-today.csv")
    assert result.kind == "ledger"
    generated = remind(uow)
    assert generated.review and generated.created > 0
    frame = queue(uow)
    assert set(frame["status"]) == {"proposed"}
    assert not set(frame["template"]) & {"final_notice", "handover"}  # a person's decision
    caught = frame[frame["reason"].map(str).str.startswith("First seen")]
    assert len(caught) == generated.caught_up > 0
    assert set(caught["template"]) <= {"second_reminder", "call"} and "reminder" in set(frame["template"])
