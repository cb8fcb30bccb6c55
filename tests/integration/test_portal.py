"""The debtor's portal against real SQLite and PostgreSQL: the personal link in a sent reminder, what it
opens and what it refuses, and what each action does to the dossier and the next reminder."""

import email
import re
from datetime import UTC, datetime, timedelta
from email import policy

import pytest
from sqlalchemy import select, update

from db.models import AuditEvent, Debtor, Invoice, Message, Note, PortalAddressChange
from emails.transport import OutboxTransport
from receivables.domain import portal as rules
from receivables.services import dossier, portal, portal_links, sending
from receivables.services import today as today_service
from receivables.services.errors import ServiceError
from tests.integration.test_reminders import PAYMENT, TODAY, generate, ledger, messages  # noqa: F401

KEY = "k3Y-for-the-portal-tests-9f8e7d6c5b4a3210ZYXWVUTS"
URL = "https://pay.example.test"
CLIENT = "203.0.113.7"


@pytest.fixture(autouse=True)
def portal_address(monkeypatch):
    monkeypatch.setenv("PORTAL_URL", URL)
    monkeypatch.setenv("PORTAL_SECRET_KEY", KEY)


def send_all(uow, tmp_path, today=TODAY):
    """Approve every proposed message and send it to the outbox; the .eml texts by debtor code."""
    with uow() as u:
        u.session.execute(update(Message).where(Message.status == "proposed").values(status="approved"))
        u.commit()
    with uow() as u:
        sending.send_batch(u, OutboxTransport(tmp_path / "out"), sending.SendSettings("ar@desk.test"), today=today,
                           actor="carla")
    out = {}
    for path in sorted((tmp_path / "out").glob("*.eml")):
        mail = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        out[mail["To"]] = mail.get_body(("plain",)).get_content()
    return out


def link_of(text: str) -> str:
    return re.search(re.escape(URL) + r"/\?t=([A-Za-z0-9_.-]+)", text).group(1)


@pytest.fixture
def sent(ledger, tmp_path):  # noqa: F811
    """Each debtor's first reminder sent; the tokens of the links they carry, by debtor code."""
    generate(ledger)
    mails = send_all(ledger, tmp_path)
    return ledger, {"100": link_of(mails["ar@100.nl"]), "200": link_of(mails["ar@200.nl"])}


def test_a_sent_reminder_carries_a_personal_link_that_opens_the_debtors_own_page(sent):
    uow, tokens = sent
    with uow() as u:
        seen = portal.view(u, tokens["100"], CLIENT, today=TODAY)
    assert seen.debtor_name == "Klant 100 B.V."
    assert [i.number for i in seen.invoices] == ["F-1", "F-2", "F-3"]  # open ones, no credit note
    assert all(i.status == rules.STATUS_OPEN for i in seen.invoices)
    assert seen.totals == {"EUR": 121_000 + 50_050 + 30_000}
    assert seen.iban.replace(" ", "") == PAYMENT["iban"] and seen.reference.startswith("RF") and seen.qr_png


def test_no_portal_address_means_no_link_in_the_reminder(ledger, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.delenv("PORTAL_URL")
    generate(ledger)
    mails = send_all(ledger, tmp_path)
    assert "?t=" not in mails["ar@100.nl"] and rules.MARK not in mails["ar@100.nl"]


def test_the_link_names_no_debtor_code_or_amount_in_clear(sent):
    import base64
    import json

    _, tokens = sent
    for token in tokens.values():
        payload = token.split(".")[0]
        named = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        assert len(named) == 3 and all(isinstance(v, int) for v in named)  # ids and a generation only
        assert "F-1" not in token and "Klant" not in token


def refused(uow, token, **kw) -> str:
    with uow() as u, pytest.raises(portal.PortalRefused) as exc:
        portal.view(u, token, CLIENT, today=TODAY, **kw)
    return str(exc.value)


def test_a_tampered_expired_revoked_or_foreign_link_is_refused_with_the_same_words(sent, monkeypatch):
    uow, tokens = sent
    token = tokens["100"]
    tampered = token[:-3] + ("AAA" if token[-3:] != "AAA" else "BBB")
    expired_at = datetime.now(UTC) + timedelta(days=rules.TOKEN_DAYS + 1)
    with uow() as u:
        other_message = u.session.scalar(select(Message.id).join(Debtor).where(Debtor.code == "200"))
        first_debtor = u.session.scalar(select(Debtor.id).where(Debtor.code == "100"))
    foreign = portal_links.make_token(first_debtor, other_message, 0)  # debtor 100 with 200's reminder
    words = {refused(uow, tampered), refused(uow, "nonsense"), refused(uow, token, now=expired_at),
             refused(uow, foreign)}
    monkeypatch.setenv("PORTAL_SECRET_KEY", "another-KEY-of-enough-length-q8w7e6r5t4y3u2i1o0")
    words.add(refused(uow, token))
    monkeypatch.setenv("PORTAL_SECRET_KEY", KEY)
    with uow() as u:
        portal.revoke_links(u, "100", actor="carla")
    words.add(refused(uow, token))
    assert words == {"this link does not work (any more)"}
    with uow() as u:  # the other debtor's link still works
        assert portal.view(u, tokens["200"], CLIENT, today=TODAY).debtor_name == "Northwind Traders Ltd"
        assert u.session.scalar(select(AuditEvent.id).where(AuditEvent.action == "portal.refused").limit(1))


def test_a_placeholder_or_short_key_is_refused(monkeypatch):
    for key in ("changeme", "x" * 40, "your-secret-key-here-your-secret-key-here"):
        monkeypatch.setenv("PORTAL_SECRET_KEY", key)
        with pytest.raises(ServiceError, match="signing key"):
            portal_links.config()


def test_a_visit_is_audited_and_on_the_dossier_timeline_once_a_day(sent):
    uow, tokens = sent
    for _ in range(3):
        with uow() as u:
            portal.view(u, tokens["100"], CLIENT, today=TODAY)
    with uow() as u:
        visits = u.session.scalars(select(AuditEvent).where(AuditEvent.action == "portal.visit")).all()
        assert len(visits) == 3 and visits[0].after["client"] == CLIENT
        kinds = [e.kind for e in dossier.open_dossier(u, "100", today=TODAY).timeline]
    assert kinds.count("portal") == 1


def test_too_many_requests_from_one_link_are_refused_until_the_window_has_passed(sent, monkeypatch):
    uow, tokens = sent
    monkeypatch.setitem(portal.LIMITS, "token", 3)
    for _ in range(3):
        with uow() as u:
            portal.view(u, tokens["100"], CLIENT, today=TODAY)
    assert refused(uow, tokens["100"]) == "this link does not work (any more)"
    later = datetime.now(UTC).replace(tzinfo=None) + portal.WINDOW + timedelta(seconds=1)
    with uow() as u:
        assert portal.view(u, tokens["100"], CLIENT, today=TODAY, now=later).debtor_name == "Klant 100 B.V."


def test_a_disputed_invoice_is_left_out_of_the_next_reminder_and_on_the_worklist(sent, tmp_path):
    uow, tokens = sent
    with uow() as u:
        assert portal.dispute(u, tokens["100"], CLIENT, ["F-1"], "wrong_amount", "Prijs <b>klopt</b> niet") == ["F-1"]
    with uow() as u:
        inv = u.session.scalar(select(Invoice).where(Invoice.number == "F-1"))
        note = u.session.scalar(select(Note).where(Note.kind == "dispute", Note.invoice_id == inv.id))
        assert inv.disputed and note.created_by == "portal"
        assert note.text == "Wrong amount or price: Prijs <b>klopt</b> niet"  # kept as typed, shown as text
        work = today_service.worklist(u, today=TODAY)
        assert [i.key for i in work.of("dispute")] == [f"dispute:{inv.id}"]
        view = portal.view(u, tokens["100"], CLIENT, today=TODAY)
        assert {i.number: i.status for i in view.invoices}["F-1"] == rules.STATUS_DISPUTED
    later = TODAY + timedelta(days=20)
    generate(uow, later)
    chased = [numbers for m, numbers in messages(uow) if m.status in ("proposed", "approved")
              and m.planned_date > TODAY]
    assert chased and all("F-1" not in numbers for numbers in chased)


def test_a_dispute_needs_a_listed_reason_and_text_for_something_else(sent):
    uow, tokens = sent
    with uow() as u:
        with pytest.raises(ServiceError, match="reason from the list"):
            portal.dispute(u, tokens["100"], CLIENT, ["F-1"], "<script>", "")
        with pytest.raises(ServiceError, match="describe the problem"):
            portal.dispute(u, tokens["100"], CLIENT, ["F-1"], "other", "  ")
        with pytest.raises(ServiceError, match="longer than"):
            portal.dispute(u, tokens["100"], CLIENT, ["F-1"], "other", "x" * (rules.MAX_REASON + 1))
        with pytest.raises(ServiceError, match="open invoices"):
            portal.dispute(u, tokens["100"], CLIENT, ["F-9"], "quality", "")  # the other debtor's
    with uow() as u:
        assert not u.session.scalar(select(Invoice.disputed).where(Invoice.number == "F-1"))


def test_a_promise_within_the_horizon_pauses_the_invoices_and_a_later_one_is_refused(sent):
    uow, tokens = sent
    with uow() as u:
        with pytest.raises(ServiceError, match="at most 30 days"):
            portal.promise(u, tokens["100"], CLIENT, TODAY + timedelta(days=31), ["F-1"], today=TODAY)
        portal.save_settings(u, actor="admin", promise_horizon_days=45)
    with uow() as u:
        note_id = portal.promise(u, tokens["100"], CLIENT, TODAY + timedelta(days=40), ["F-1", "F-2"],
                                 "Na <i>ontvangst</i> van onze klant", today=TODAY)
    with uow() as u:
        note = u.session.get(Note, note_id)
        assert note.created_by == "portal" and note.outcome == "pending"
        paused = dict(u.session.execute(select(Invoice.number, Invoice.paused_until)
                                        .where(Invoice.number.in_(["F-1", "F-2"]))).all())
        assert all(p >= TODAY + timedelta(days=40) for p in paused.values())
        statuses = {i.number: i.status for i in portal.view(u, tokens["100"], CLIENT, today=TODAY).invoices}
    assert statuses == {"F-1": "promised", "F-2": "promised", "F-3": "open"}


def test_i_have_paid_makes_chasing_wait_the_configured_days_and_lands_on_the_worklist(sent):
    uow, tokens = sent
    with uow() as u:
        with pytest.raises(ServiceError, match="in the future"):
            portal.report_payment(u, tokens["200"], CLIENT, TODAY + timedelta(days=1), today=TODAY)
        portal.report_payment(u, tokens["200"], CLIENT, TODAY - timedelta(days=1), 70_000, ["F-9"],
                              "Betaald via <a href='x'>bank</a>", today=TODAY)
    with uow() as u:
        inv = u.session.scalar(select(Invoice).where(Invoice.number == "F-9"))
        assert inv.paused_until == TODAY + timedelta(days=rules.DEFAULT_PAID_WAIT_DAYS)
        items = today_service.worklist(u, today=TODAY).of("portal")
        assert [i.debtor_code for i in items] == ["200"]
        assert "<a href='x'>bank</a>" in items[0].detail


def test_a_new_address_is_used_once_the_link_mailed_to_it_is_opened(sent, tmp_path):
    uow, tokens = sent
    outbox = OutboxTransport(tmp_path / "confirm")
    with uow() as u:
        with pytest.raises(ServiceError, match="not a valid e-mail address"):
            portal.request_address_change(u, tokens["100"], CLIENT, "boekhouding@klant\n.nl", transport=outbox,
                                          send_settings=sending.SendSettings("ar@desk.test"))
        portal.request_address_change(u, tokens["100"], CLIENT, "boekhouding@klant100.nl", transport=outbox,
                                      send_settings=sending.SendSettings("ar@desk.test"))
    with uow() as u:
        assert u.session.scalar(select(Debtor.email).where(Debtor.code == "100")) == "ar@100.nl"  # not yet
    mail = email.message_from_bytes(next((tmp_path / "confirm").glob("*.eml")).read_bytes(), policy=policy.default)
    assert mail["To"] == "boekhouding@klant100.nl"
    code = re.search(r"\?confirm=([A-Za-z0-9_-]+)", mail.get_body(("plain",)).get_content()).group(1)
    with uow() as u:
        assert portal.confirm_address(u, code, CLIENT) == "boekhouding@klant100.nl"
    with uow() as u:
        assert u.session.scalar(select(Debtor.email).where(Debtor.code == "100")) == "boekhouding@klant100.nl"
        assert u.session.scalar(select(PortalAddressChange.confirmed_at)) is not None
        with pytest.raises(portal.PortalRefused):  # used once
            portal.confirm_address(u, code, CLIENT)


def test_the_statement_pdf_is_the_debtors_own(sent):
    uow, tokens = sent
    with uow() as u:
        name, pdf = portal.statement_pdf(u, tokens["200"], CLIENT, today=TODAY)
        portal.statement_downloaded(u, tokens["200"], CLIENT)
    assert pdf.startswith(b"%PDF") and name.endswith(".pdf")
    with uow() as u:
        assert u.session.scalar(select(AuditEvent.entity_id).where(AuditEvent.action == "portal.statement")) == "200"


def test_a_link_expires_after_the_configured_days(monkeypatch):
    monkeypatch.setenv("PORTAL_TOKEN_DAYS", "10")
    cfg = portal_links.config()
    token = portal_links.make_token(1, 2, 0, cfg)
    assert portal_links.read_token(token, cfg) == rules.LinkClaims(1, 2, 0)
    assert portal_links.read_token(token, cfg, now=datetime.now(UTC) + timedelta(days=9)) is not None
    assert portal_links.read_token(token, cfg, now=datetime.now(UTC) + timedelta(days=11)) is None


def disputed_days_ago(uow, tokens, days: int) -> None:
    with uow() as u:
        portal.dispute(u, tokens["100"], CLIENT, ["F-1"], "quality", "")
        u.session.execute(update(Note).where(Note.kind == "dispute").values(
            created_at=datetime.combine(TODAY - timedelta(days=days), datetime.min.time())))
        u.commit()


def test_a_resolved_dispute_does_not_count_its_days_against_the_debtor(sent):
    uow, tokens = sent
    disputed_days_ago(uow, tokens, 6)
    with uow() as u:
        dossier.resolve_dispute(u, "100", "F-1", "creditnota gestuurd", actor="carla", today=TODAY)
    with uow() as u:
        inv = u.session.scalar(select(Invoice).where(Invoice.number == "F-1"))
        assert not inv.disputed and inv.paused_until == TODAY + timedelta(days=6)


def test_a_rejected_dispute_is_chased_again_and_the_debtor_is_told_why(sent, tmp_path):
    uow, tokens = sent
    disputed_days_ago(uow, tokens, 6)
    outbox = OutboxTransport(tmp_path / "rejected")
    with uow() as u:
        with pytest.raises(ServiceError, match="message to the debtor is empty"):
            portal.reject_dispute(u, "100", "F-1", " ", actor="carla", transport=outbox,
                                  send_settings=sending.SendSettings("ar@desk.test"))
    with uow() as u:
        assert portal.reject_dispute(u, "100", "F-1", "De levering is op 3 mei getekend ontvangen.", actor="carla",
                                     transport=outbox, send_settings=sending.SendSettings("ar@desk.test")) == "ar@100.nl"
    mail = email.message_from_bytes(next((tmp_path / "rejected").glob("*.eml")).read_bytes(), policy=policy.default)
    assert mail["Subject"] == "Uw bezwaar tegen factuur F-1"
    assert "De levering is op 3 mei getekend ontvangen." in mail.get_body(("plain",)).get_content()
    with uow() as u:
        inv = u.session.scalar(select(Invoice).where(Invoice.number == "F-1"))
        assert not inv.disputed and inv.paused_until is None
        titles = [e.title for e in dossier.open_dossier(u, "100", today=TODAY).timeline]
    assert "Dispute rejected on invoice F-1; the debtor was told why" in titles


def test_a_proposed_payment_plan_waits_for_a_person_and_an_accepted_one_shows_as_in_a_plan(sent):
    from db.models import PaymentPlan
    from receivables.services import plans

    uow, tokens = sent
    with uow() as u:
        with pytest.raises(ServiceError):  # more terms than an admin allows
            portal.propose_plan(u, tokens["100"], CLIENT, ["F-1"], 99, TODAY + timedelta(days=7), today=TODAY)
        plan_id = portal.propose_plan(u, tokens["100"], CLIENT, ["F-1", "F-2"], 3, TODAY + timedelta(days=7),
                                      "<script>x</script> drie termijnen graag", today=TODAY)
    with uow() as u:
        plan = u.session.get(PaymentPlan, plan_id)
        assert (plan.status, plan.source, plan.note) == ("proposed", "portal", "<script>x</script> drie termijnen graag")
        seen = portal.view(u, tokens["100"], CLIENT, today=TODAY)
        assert seen.plan_proposed
        plans.accept_plan(u, plan_id, actor="carla", today=TODAY)
    with uow() as u:
        statuses = {i.number: i.status for i in portal.view(u, tokens["100"], CLIENT, today=TODAY).invoices}
    assert statuses == {"F-1": "plan", "F-2": "plan", "F-3": "open"}
