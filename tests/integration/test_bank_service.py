"""Bank statements in, payments matched to invoices, against real SQLite and PostgreSQL: each matching
case end to end, re-imports, undo, accounts that are not ours, the accounting export after the bank,
and the reminder engine and the sender leaving a paid invoice alone."""

from __future__ import annotations

import contextlib
from datetime import date, datetime, timedelta
from xml.sax.saxutils import escape

import pytest
from sqlalchemy import func, select

from db.models import (
    AuditEvent,
    BankLedgerCase,
    BankLine,
    BankPayer,
    Debtor,
    ImportBatch,
    Invoice,
    InvoiceChange,
    Message,
    MessageInvoice,
)
from receivables.domain import bank_matching as bm
from receivables.domain import references
from receivables.services import bank, imports, reminders, sending
from receivables.services.errors import ServiceError
from receivables.services.ledger import apply_change

OURS = "NL91ABNA0417164300"
ACME_IBAN = "NL20INGB0001234567"
BAKER_IBAN = "NL39RABO0300065264"
STRANGER_IBAN = "NL69INGB0123456789"
DAY = date(2026, 6, 1)


# --- a camt.053 statement written for a test ---------------------------------------------------------

def tx(amount: str, *, name: str = "", iban: str = "", text: str = "", ref: str = "", sign: str = "CRDT",
       entry_ref: str | None = None, currency: str = "EUR", day: date = DAY) -> str:
    remittance = (f"<Strd><CdtrRefInf><Ref>{ref}</Ref></CdtrRefInf></Strd>" if ref else "") + \
                 (f"<Ustrd>{escape(text)}</Ustrd>" if text else "")
    party = "Dbtr" if sign == "CRDT" else "Cdtr"
    details = (f"<NtryDtls><TxDtls><Refs><EndToEndId>E2E-{entry_ref or amount}</EndToEndId></Refs>"
               f'<Amt Ccy="{currency}">{amount}</Amt><CdtDbtInd>{sign}</CdtDbtInd>'
               f"<RltdPties><{party}><Nm>{escape(name)}</Nm></{party}>"
               f"<{party}Acct><Id><IBAN>{iban}</IBAN></Id></{party}Acct></RltdPties>"
               f"<RmtInf>{remittance}</RmtInf></TxDtls></NtryDtls>")
    reference = f"<AcctSvcrRef>{entry_ref}</AcctSvcrRef>" if entry_ref else ""
    return (f'<Ntry><Amt Ccy="{currency}">{amount}</Amt><CdtDbtInd>{sign}</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>'
            f"<BookgDt><Dt>{day.isoformat()}</Dt></BookgDt><ValDt><Dt>{day.isoformat()}</Dt></ValDt>"
            f"{reference}{details}</Ntry>")


def statement(*entries: str, account: str = OURS) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt><GrpHdr><MsgId>M1</MsgId>
</GrpHdr><Stmt><Id>S-1</Id><Acct><Id><IBAN>{account}</IBAN></Id><Ccy>EUR</Ccy></Acct>
{"".join(entries)}</Stmt></BkToCstmrStmt></Document>""".encode()


# --- the ledger --------------------------------------------------------------------------------------

def debtor(s, code: str, name: str) -> Debtor:
    d = Debtor(code=code, name=name, email=f"ar@{code.lower()}.nl", contact_person="Anouk Bakker")
    s.add(d)
    s.flush()
    return d


def invoice(s, d: Debtor, number: str, cents: int, due: date = DAY - timedelta(days=20), currency: str = "EUR"):
    inv = Invoice(number=number, debtor_id=d.id, invoice_date=due - timedelta(days=30), due_date=due,
                  amount_cents=cents, open_cents=cents, currency=currency)
    s.add(inv)
    s.flush()
    return inv


@pytest.fixture
def ledger(uow):
    """Two debtors with open invoices, a credit note, and the company's account set."""
    with uow() as u:
        s = u.session
        acme = debtor(s, "ACME", "Acme Trading B.V.")
        baker = debtor(s, "BAKER", "Bakkerij De Korf")
        invoice(s, acme, "F2026-0101", 121_000, DAY - timedelta(days=40))
        invoice(s, acme, "F2026-0102", 60_500, DAY - timedelta(days=30))
        invoice(s, acme, "F2026-0103", 24_200, DAY - timedelta(days=10))
        invoice(s, baker, "0000777", 50_000)
        invoice(s, baker, "0000778", 33_333)
        invoice(s, baker, "C-0009", -5_000)  # a credit note
        u.commit()
    with uow() as u:
        bank.add_account(u, OURS, actor="test")
    return uow


def open_of(uow, number: str) -> int:
    with uow() as u:
        return u.session.scalar(select(Invoice.open_cents).where(Invoice.number == number))


def import_file(uow, data: bytes, name: str = "statement.xml") -> bank.ImportSummary:
    with uow() as u:
        return bank.import_statement(u, data, name, actor="test")


def lines(uow, status: str | None = None) -> list[dict]:
    with uow() as u:
        q = select(BankLine).order_by(BankLine.id)
        if status:
            q = q.where(BankLine.status == status)
        return [bank.line(u, line_id) for line_id in u.session.scalars(q.with_only_columns(BankLine.id)).all()]


def reminder(uow, debtor_code: str, numbers: list[str], status: str = "proposed") -> int:
    with uow() as u:
        s = u.session
        d = s.scalar(select(Debtor).where(Debtor.code == debtor_code))
        m = Message(debtor_id=d.id, track="standard", step_index=1, step_name="reminder", step_key=f"t/{numbers[0]}",
                    channel="email", status=status, planned_date=DAY, recipients=d.email, subject="Herinnering",
                    body_text="", body_html="")
        s.add(m)
        s.flush()
        for inv in s.scalars(select(Invoice).where(Invoice.number.in_(numbers))):
            s.add(MessageInvoice(message_id=m.id, invoice_id=inv.id, open_cents=inv.open_cents))
        u.commit()
        return m.id


# --- each matching case, end to end ------------------------------------------------------------------

def test_a_payment_quoting_our_reference_pays_the_reminders_invoices_at_once(ledger):
    message_id = reminder(ledger, "ACME", ["F2026-0101", "F2026-0102"])
    with ledger() as u:
        ref = bank.payment_reference(u.session, message_id)
    result = import_file(ledger, statement(tx("1815.00", name="ACME TRADING", iban=STRANGER_IBAN, ref=ref)))
    assert result.summary() == "lines 1, matched 1, suggested 0, unmatched 0"
    assert open_of(ledger, "F2026-0101") == open_of(ledger, "F2026-0102") == 0
    with ledger() as u:
        s = u.session
        changes = s.execute(select(InvoiceChange.kind, InvoiceChange.delta_cents, InvoiceChange.change_date,
                                   ImportBatch.kind).join(ImportBatch, ImportBatch.id == InvoiceChange.batch_id)
                            .order_by(InvoiceChange.delta_cents)).all()
        assert changes == [("payment", -121_000, DAY, "bank"), ("payment", -60_500, DAY, "bank")]
        assert s.get(Message, message_id).status == "cancelled"
        assert s.scalar(select(BankPayer.debtor_id).where(BankPayer.iban == STRANGER_IBAN)) is not None
    assert lines(ledger)[0]["reason"].startswith("our reference")


def test_the_betalingskenmerk_typed_with_spaces_in_the_text_matches_too(ledger):
    message_id = reminder(ledger, "ACME", ["F2026-0103"])
    with ledger() as u:
        bank.set_reference_kind(u, references.BETALINGSKENMERK, actor="test")
    with ledger() as u:
        ref = bank.payment_reference(u.session, message_id)
    assert len(ref) == 16 and references.is_valid_betalingskenmerk(ref)
    result = import_file(ledger, statement(tx("242.00", text=f"betaling {references.format_reference(ref)}")))
    assert result.matched == 1
    assert open_of(ledger, "F2026-0103") == 0


@pytest.mark.parametrize("text, amount, paid", [
    ("Factuur F2026-0102", "605.00", {"F2026-0102": 0}),
    ("f 2026 0102", "605.00", {"F2026-0102": 0}),
    ("inv 777", "500.00", {"0000777": 0}),
    ("F2026-0101 en F2026-0103", "1452.00", {"F2026-0101": 0, "F2026-0103": 0}),  # one payment, two invoices
    ("F2026-0102", "602.50", {"F2026-0102": 0}),  # 2.50 bank charges, within the tolerance
    ("factuur 777", "450.00", {"0000777": 0, "C-0009": 0}),  # the credit note deducted
])
def test_invoice_numbers_in_the_text_with_the_amount_are_matched_at_once(ledger, text, amount, paid):
    result = import_file(ledger, statement(tx(amount, name="Someone", iban=BAKER_IBAN, text=text)))
    assert result.summary() == "lines 1, matched 1, suggested 0, unmatched 0", lines(ledger)[0]["reason"]
    for number, cents in paid.items():
        assert open_of(ledger, number) == cents


def test_bank_charges_are_written_off_and_the_reason_says_so(ledger):
    import_file(ledger, statement(tx("602.50", text="F2026-0102")))
    with ledger() as u:
        kinds = sorted(u.session.execute(select(InvoiceChange.kind, InvoiceChange.delta_cents)).all())
    assert kinds == [("payment", -60_250), ("write_off", -250)]
    assert "written off as bank charges" in lines(ledger)[0]["reason"]


def test_an_overpayment_is_kept_on_account(ledger):
    message_id = reminder(ledger, "ACME", ["F2026-0103"])
    with ledger() as u:
        ref = bank.payment_reference(u.session, message_id)
    import_file(ledger, statement(tx("300.00", ref=ref)))
    line = lines(ledger)[0]
    assert (line["status"], line["overpaid_cents"]) == ("matched", 5_800)
    assert open_of(ledger, "F2026-0103") == 0


def test_a_known_account_with_the_amount_of_a_combination_is_matched_and_the_account_learned_first(ledger):
    import_file(ledger, statement(tx("605.00", name="Acme", iban=ACME_IBAN, text="F2026-0102", entry_ref="A1")))
    assert lines(ledger)[0]["status"] == "matched"  # the number taught the account
    result = import_file(ledger, statement(tx("1452.00", name="Acme", iban=ACME_IBAN, text="betaling",
                                              entry_ref="A2", day=DAY + timedelta(days=1))))
    assert result.matched == 1
    assert open_of(ledger, "F2026-0101") == open_of(ledger, "F2026-0103") == 0
    assert "known for this debtor" in lines(ledger)[-1]["reason"]


def test_a_part_payment_by_number_is_suggested_and_confirmed_leaves_the_rest_open(ledger):
    result = import_file(ledger, statement(tx("200.00", text="F2026-0102")))
    assert result.summary() == "lines 1, matched 0, suggested 1, unmatched 0"
    assert open_of(ledger, "F2026-0102") == 60_500  # nothing applied yet
    with ledger() as u:
        suggestion = bank.suggestions(u)[0]
    assert "part payment" in suggestion["reason"] and suggestion["allocations"][0]["invoice"] == "F2026-0102"
    with ledger() as u:
        bank.confirm(u, suggestion["id"], actor="carla")
    assert open_of(ledger, "F2026-0102") == 40_500
    assert lines(ledger)[0]["status"] == "matched"


def test_several_payments_for_one_invoice(ledger):
    import_file(ledger, statement(tx("300.00", text="F2026-0102", entry_ref="P1")))
    import_file(ledger, statement(tx("305.00", text="F2026-0102", entry_ref="P2", day=DAY + timedelta(days=3))))
    with ledger() as u:
        for s in bank.suggestions(u):
            bank.confirm(u, s["id"], actor="carla")
    assert open_of(ledger, "F2026-0102") == 0
    with ledger() as u:
        assert u.session.scalar(select(Invoice.settled_date).where(Invoice.number == "F2026-0102")) == \
            DAY + timedelta(days=3)


def test_the_name_with_the_amount_is_a_suggestion_a_person_can_reject_to_the_worklist(ledger):
    result = import_file(ledger, statement(tx("333.33", name="Bakkerij de Korf", iban=STRANGER_IBAN)))
    assert result.suggested == 1
    line = lines(ledger)[0]
    assert line["debtor_code"] == "BAKER" and "payer name" in line["reason"]
    with ledger() as u:
        bank.reject(u, line["id"], actor="carla")
    assert open_of(ledger, "0000778") == 33_333
    with ledger() as u:
        worklist = bank.worklist(u)
    assert [w["id"] for w in worklist] == [line["id"]] and "rejected by carla" in worklist[0]["reason"]


def test_a_suggestion_can_be_changed_to_other_invoices(ledger):
    import_file(ledger, statement(tx("200.00", text="F2026-0102")))
    line = lines(ledger)[0]
    with ledger() as u:
        acme = bank.debtor_by_code(u, "ACME")
        target = u.session.scalar(select(Invoice.id).where(Invoice.number == "F2026-0103"))
        bank.assign(u, line["id"], actor="carla", debtor_id=acme, invoice_ids=[target])
    assert open_of(ledger, "F2026-0102") == 60_500
    assert open_of(ledger, "F2026-0103") == 4_200
    line = lines(ledger)[0]
    assert (line["status"], line["evidence"], line["decided_by"]) == ("matched", "person", "carla")


def test_other_currencies_are_refused_for_matching(ledger):
    result = import_file(ledger, statement(tx("605.00", text="F2026-0102", currency="USD")))
    assert result.summary() == "lines 1, matched 0, suggested 0, unmatched 1"
    assert "USD" in lines(ledger)[0]["reason"]
    assert open_of(ledger, "F2026-0102") == 60_500


def test_who_paid_this_an_unmatched_credit_is_assigned_or_marked_not_ours(ledger):
    result = import_file(ledger, statement(tx("123.45", name="Onbekend", iban=STRANGER_IBAN, entry_ref="U1"),
                                           tx("99.00", name="Verzekeraar", entry_ref="U2")))
    assert result.summary() == "lines 2, matched 0, suggested 0, unmatched 2"
    first, second = lines(ledger)
    with ledger() as u:
        baker = bank.debtor_by_code(u, "BAKER")
        target = u.session.scalar(select(Invoice.id).where(Invoice.number == "0000777"))
        bank.assign(u, first["id"], actor="carla", debtor_id=baker, invoice_ids=[target])
        bank.mark_not_ours(u, second["id"], actor="carla", note="refund of the insurer")
    assert open_of(ledger, "0000777") == 50_000 - 12_345
    assert [ln["status"] for ln in lines(ledger)] == ["matched", "not_ours"]
    with ledger() as u:  # the payer's account is this debtor's from now on
        assert u.session.scalar(select(BankPayer.debtor_id).where(BankPayer.iban == STRANGER_IBAN)) == baker
        with pytest.raises(ServiceError, match="is matched, not suggested"):
            bank.confirm(u, first["id"], actor="carla")


def test_an_invoice_of_another_debtor_cannot_be_assigned(ledger):
    import_file(ledger, statement(tx("123.45", name="Onbekend")))
    with ledger() as u:
        baker = bank.debtor_by_code(u, "BAKER")
        acme_invoice = u.session.scalar(select(Invoice.id).where(Invoice.number == "F2026-0101"))
        with pytest.raises(ServiceError, match="not of this debtor"):
            bank.assign(u, lines(ledger)[0]["id"], actor="carla", debtor_id=baker, invoice_ids=[acme_invoice])


# --- statements in: the same twice, overlap, accounts, bad files --------------------------------------

def test_importing_the_same_statement_again_adds_nothing(ledger):
    data = statement(tx("605.00", text="F2026-0102", entry_ref="E1"), tx("50.00", name="Leverancier",
                                                                       sign="DBIT", entry_ref="E2"))
    first = import_file(ledger, data)
    assert (first.summary(), first.debits) == ("lines 2, matched 1, suggested 0, unmatched 0", 1)
    again = import_file(ledger, data)
    assert (again.summary(), again.duplicates, again.batch_id) == ("lines 0, matched 0, suggested 0, unmatched 0",
                                                                  2, None)
    with ledger() as u:
        assert u.session.scalar(select(func.count()).select_from(BankLine)) == 2
        assert u.session.scalar(select(func.count()).select_from(ImportBatch).where(ImportBatch.kind == "bank")) == 1
    assert open_of(ledger, "F2026-0102") == 0


def test_an_overlapping_statement_adds_only_its_new_lines_also_without_bank_references(ledger):
    import_file(ledger, statement(tx("605.00", name="Acme", text="F2026-0102"),
                                  tx("10.00", name="Rente", text="rente mei")))
    later = import_file(ledger, statement(tx("605.00", name="Acme", text="F2026-0102"),
                                          tx("10.00", name="Rente", text="rente mei"),
                                          tx("242.00", name="Acme", text="F2026-0103", day=DAY + timedelta(days=1))))
    assert (later.lines, later.duplicates, later.matched) == (1, 2, 1)
    assert open_of(ledger, "F2026-0102") == open_of(ledger, "F2026-0103") == 0


def test_debits_are_kept_but_never_matched(ledger):
    result = import_file(ledger, statement(tx("605.00", text="F2026-0102", sign="DBIT", name="Acme")))
    assert (result.summary(), result.debits) == ("lines 1, matched 0, suggested 0, unmatched 0", 1)
    assert open_of(ledger, "F2026-0102") == 60_500
    assert lines(ledger)[0]["status"] == "debit"


def test_a_statement_of_an_account_that_is_not_ours_changes_nothing_and_names_the_account(ledger):
    with pytest.raises(bank.UnknownAccount, match="NL02ABNA0123456789") as caught:
        import_file(ledger, statement(tx("605.00", text="F2026-0102"), account="NL02ABNA0123456789"))
    assert caught.value.accounts == ["NL02ABNA0123456789"]
    assert open_of(ledger, "F2026-0102") == 60_500
    assert lines(ledger) == []


def test_without_accounts_set_the_first_statements_account_is_offered(uow):
    with pytest.raises(bank.UnknownAccount) as caught:
        import_file(uow, statement(tx("1.00")))
    assert caught.value.accounts == [OURS]
    with uow() as u:
        bank.add_account(u, caught.value.accounts[0], actor="carla")
    assert import_file(uow, statement(tx("1.00"))).lines == 1
    with uow() as u:
        assert bank.own_accounts(u) == [OURS]


def test_an_account_number_is_checked(uow):
    with uow() as u, pytest.raises(ServiceError, match="no valid IBAN"):
        bank.add_account(u, "NL91ABNA0417164301", actor="carla")
    with uow() as u:
        assert bank.add_account(u, "nl91 abna 0417 1643 00", actor="carla") == OURS


@pytest.mark.parametrize("data, message", [
    (b"", "empty"),
    (b"%PDF-1.4 statement", "PDF"),
    (b"<Document><Other/></Document>", "no camt.053"),
    (statement(tx("six")), "not an amount"),
])
def test_a_bad_file_changes_nothing_and_says_what_to_do(ledger, data, message):
    with pytest.raises(ServiceError, match=message) as caught:
        import_file(ledger, data, "upload.xml")
    assert str(caught.value).startswith("upload.xml: ")
    with ledger() as u:
        assert u.session.scalar(select(func.count()).select_from(ImportBatch)) == 0
        assert u.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "bank.import")) == 0


def test_the_real_samples_import(uow, shared_data):
    for path in sorted((shared_data / "bank").rglob("*")):
        if not path.is_file():
            continue
        for st in bank.bank_files.read_statements(path.read_bytes()):
            with uow() as u, contextlib.suppress(ServiceError):  # a sample account that is no real IBAN
                bank.add_account(u, st.account, actor="test")
        try:
            result = import_file(uow, path.read_bytes(), path.name)
        except bank.UnknownAccount:
            continue
        again = import_file(uow, path.read_bytes(), path.name)
        assert again.lines == 0 and again.duplicates == result.lines + result.duplicates, path.name


# --- undo -------------------------------------------------------------------------------------------

def test_undo_takes_the_latest_statement_back_with_its_matches(ledger):
    message_id = reminder(ledger, "ACME", ["F2026-0102"])
    import_file(ledger, statement(tx("605.00", name="Acme", iban=ACME_IBAN, text="F2026-0102", entry_ref="X1")))
    import_file(ledger, statement(tx("200.00", text="F2026-0101", entry_ref="X2")))  # a suggestion
    with ledger() as u:
        first = u.session.scalar(select(ImportBatch.id).where(ImportBatch.kind == "bank").order_by(ImportBatch.id))
        with pytest.raises(ServiceError, match="only the latest"):
            bank.undo_latest(u, actor="carla", batch_id=first)
    with ledger() as u:
        bank.undo_latest(u, actor="carla")
    with ledger() as u:
        assert bank.undo_latest(u, actor="carla") == first
    assert open_of(ledger, "F2026-0102") == 60_500
    with ledger() as u:
        s = u.session
        assert s.scalar(select(func.count()).select_from(InvoiceChange)) == 0
        assert s.scalar(select(func.count()).select_from(BankLine)) == 0
        assert s.scalar(select(func.count()).select_from(BankPayer)) == 0
        assert s.get(Message, message_id).status == "proposed"
        assert [h["status"] for h in bank.history(u)] == ["undone", "undone"]
    again = import_file(ledger, statement(tx("605.00", name="Acme", iban=ACME_IBAN, text="F2026-0102",
                                             entry_ref="X1")))
    assert again.matched == 1  # the undone lines are no duplicates


def test_undo_also_takes_back_a_suggestion_confirmed_since(ledger):
    import_file(ledger, statement(tx("200.00", text="F2026-0102")))
    with ledger() as u:
        bank.confirm(u, bank.suggestions(u)[0]["id"], actor="carla")
        bank.undo_latest(u, actor="carla")
    assert open_of(ledger, "F2026-0102") == 60_500


# --- the accounting export after the bank -----------------------------------------------------------

OPEN_ITEMS = "Relatiecode;Relatie;Factuurnummer;Factuurdatum;Vervaldatum;Bedrag;Openstaand;Soort\r\n"


def export(rows: list[tuple[str, str, str, str]]) -> bytes:
    """An e-Boekhouden open-items list: (debtor code, number, amount, open)."""
    lines_ = [f"{code};Klant;{number};15-04-2026;25-05-2026;{amount};{open_};Factuur"
              for code, number, amount, open_ in rows]
    return (OPEN_ITEMS + "\r\n".join(lines_) + "\r\n").encode()


LEDGER_FILE = "Factuurnummer;Relatiecode;Factuurdatum;Vervaldatum;Bedrag;Betaaldatum\r\n"


def ledger_file(rows: list[tuple[str, str, str, str]]) -> bytes:
    """An invoice ledger: (number, debtor code, amount, paid date or "")."""
    lines_ = [f"{number};{code};15-04-2026;25-05-2026;{amount};{paid}" for number, code, amount, paid in rows]
    return (LEDGER_FILE + "\r\n".join(lines_) + "\r\n").encode()


def run_export(uow, data: bytes, as_of: date, kind: str = "open-items") -> int:
    """The accounting import as a person runs it: it keeps the bank's payments by itself."""
    with uow() as u:
        result = imports.run_import(u, data, f"{kind}.csv", actor="test", kind=kind, as_of=as_of,
                                    **({"mode": "partial"} if kind == "open-items" else {}))
    run_export.notes = result.notes
    return result.batch_id


def test_an_export_that_still_shows_a_paid_invoice_open_neither_reopens_nor_doubles_it(ledger):
    import_file(ledger, statement(tx("605.00", text="F2026-0102")))
    assert open_of(ledger, "F2026-0102") == 0
    batch_id = run_export(ledger, export([("ACME", "F2026-0102", "605,00", "605,00")]), DAY + timedelta(days=1))
    assert open_of(ledger, "F2026-0102") == 0  # the bank payment stands
    with ledger() as u:
        cases = bank.ledger_cases(u)
        assert [(c["invoice"], c["file_open_cents"], c["kept_cents"], c["open_cents"]) for c in cases] == [
            ("F2026-0102", 60_500, 60_500, 0)]
        assert u.session.scalar(select(func.count()).select_from(InvoiceChange)
                                .where(InvoiceChange.batch_id == batch_id)) == 0
        bank.resolve_case(u, cases[0]["id"], actor="carla")
        assert bank.ledger_cases(u) == []


def test_the_import_says_that_it_kept_the_bank_payment(ledger):
    import_file(ledger, statement(tx("605.00", text="F2026-0102")))
    run_export(ledger, export([("ACME", "F2026-0102", "605,00", "605,00")]), DAY + timedelta(days=1))
    assert any("the bank payments stand" in note for note in run_export.notes)


def test_a_ledger_file_without_the_bank_payment_neither_reopens_nor_doubles_the_invoice(ledger):
    import_file(ledger, statement(tx("605.00", text="F2026-0102")))
    batch_id = run_export(ledger, ledger_file([("F2026-0102", "ACME", "605,00", ""),
                                               ("F2026-0101", "ACME", "1.210,00", "")]),
                          DAY + timedelta(days=1), kind="ledger")
    assert open_of(ledger, "F2026-0102") == 0 and open_of(ledger, "F2026-0101") == 121_000
    with ledger() as u:
        assert [(c["invoice"], c["kept_cents"]) for c in bank.ledger_cases(u)] == [("F2026-0102", 60_500)]
        assert u.session.scalar(select(func.count()).select_from(InvoiceChange)
                                .where(InvoiceChange.batch_id == batch_id)) == 0


def test_a_ledger_file_that_booked_the_bank_payment_changes_nothing(ledger):
    import_file(ledger, statement(tx("605.00", text="F2026-0102")))
    batch_id = run_export(ledger, ledger_file([("F2026-0102", "ACME", "605,00", DAY.strftime("%d-%m-%Y"))]),
                          DAY + timedelta(days=1), kind="ledger")
    assert open_of(ledger, "F2026-0102") == 0  # paid once, not twice
    with ledger() as u:
        assert bank.ledger_cases(u) == []
        assert u.session.scalar(select(func.sum(InvoiceChange.delta_cents)).join(Invoice).where(
            Invoice.number == "F2026-0102")) == -60_500
        assert u.session.scalar(select(func.count()).select_from(InvoiceChange)
                                .where(InvoiceChange.batch_id == batch_id)) == 0


def test_an_export_that_agrees_with_the_bank_changes_nothing(ledger):
    import_file(ledger, statement(tx("605.00", text="F2026-0102")))
    batch_id = run_export(ledger, export([("ACME", "F2026-0102", "605,00", "0,00"),
                                          ("ACME", "F2026-0101", "1.210,00", "1.210,00")]), DAY + timedelta(days=1))
    assert open_of(ledger, "F2026-0102") == 0
    with ledger() as u:
        assert bank.ledger_cases(u) == []
        assert u.session.scalar(select(func.count()).select_from(InvoiceChange)
                                .where(InvoiceChange.batch_id == batch_id)) == 0


def test_an_export_behind_on_a_part_payment_keeps_the_bank_part(ledger):
    import_file(ledger, statement(tx("200.00", text="F2026-0102")))
    with ledger() as u:
        bank.confirm(u, bank.suggestions(u)[0]["id"], actor="carla")
    # the export has the invoice at 700.00 open: 95.00 more was charged, the 200.00 paid is not booked yet
    run_export(ledger, export([("ACME", "F2026-0102", "700,00", "700,00")]), DAY + timedelta(days=1))
    assert open_of(ledger, "F2026-0102") == 50_000
    with ledger() as u:
        [case] = bank.ledger_cases(u)
    assert (case["kept_cents"], case["file_open_cents"]) == (20_000, 70_000)


def test_undoing_the_bank_statement_after_such_an_export_leaves_what_the_export_says(ledger):
    import_file(ledger, statement(tx("605.00", text="F2026-0102")))
    run_export(ledger, export([("ACME", "F2026-0102", "605,00", "605,00")]), DAY + timedelta(days=1))
    with ledger() as u:
        bank.undo_latest(u, actor="carla")
    assert open_of(ledger, "F2026-0102") == 60_500
    with ledger() as u:
        assert u.session.scalar(select(func.count()).select_from(BankLedgerCase)) == 0


# --- chasing stops by itself ------------------------------------------------------------------------

def test_the_reminder_engine_proposes_nothing_for_an_invoice_the_bank_paid(ledger):
    with ledger() as u:
        s = u.session
        s.add(ImportBatch(kind="open-items", mode="full", file_name="open.csv", file_hash="h", as_of=DAY,
                          imported_by="test"))
        acme = s.scalar(select(Debtor).where(Debtor.code == "ACME"))
        s.add(Message(debtor_id=acme.id, track="standard", step_index=1, step_name="reminder", step_key="old/ACME",
                      channel="email", status="sent", planned_date=DAY - timedelta(days=700),
                      sent_at=datetime(2024, 1, 1), recipients=acme.email, subject="", body_text="", body_html=""))
        for code in ("BAKER",):  # only Acme is in this story
            s.execute(Debtor.__table__.update().where(Debtor.code == code).values(reminders_blocked=True))
        u.commit()
    import_file(ledger, statement(tx("2057.00", text="F2026-0101 F2026-0102 F2026-0103")))
    assert open_of(ledger, "F2026-0101") == 0
    with ledger(immediate=True) as u:
        reminders.generate(u, DAY, actor="test", lookahead_days=0)
    with ledger() as u:
        chased = u.session.scalars(select(Invoice.number).join(MessageInvoice).join(Message).where(
            Message.status.in_(("proposed", "approved")), MessageInvoice.active.is_(True))).all()
    assert chased == []


def test_the_sender_drops_an_invoice_paid_since_the_reminder_was_approved(ledger):
    with ledger() as u:
        u.session.add(ImportBatch(kind="open-items", mode="full", file_name="open.csv", file_hash="h", as_of=DAY,
                                  imported_by="test"))
        u.commit()
    paid = reminder(ledger, "ACME", ["F2026-0102"], status="approved")
    partly = reminder(ledger, "BAKER", ["0000777", "0000778"], status="approved")
    import_file(ledger, statement(tx("605.00", text="F2026-0102", entry_ref="S1"),
                                  tx("333.33", text="factuur 0000778", entry_ref="S2")))
    with ledger() as u:
        assert u.session.get(Message, paid).status == "cancelled"
        planned = {p.id: p for p in sending.plan(u, DAY, now=datetime(2026, 6, 1, 12))}
    assert paid not in planned  # nothing left to chase: it never reaches the sender
    assert planned[partly].action in ("send", "address")  # the sender's re-check: what is left still goes
    with ledger() as u:
        still = u.session.scalars(select(Invoice.number).join(MessageInvoice).where(
            MessageInvoice.message_id == partly, MessageInvoice.active.is_(True))).all()
    assert still == ["0000777"]


def test_each_payment_and_how_it_was_matched_for_the_dossier(ledger):
    import_file(ledger, statement(tx("605.00", text="F2026-0102", entry_ref="D1"),
                                  tx("200.00", text="F2026-0101", entry_ref="D2")))
    with ledger() as u:
        acme = bank.debtor_by_code(u, "ACME")
        payments = bank.debtor_payments(u, acme)
    assert [(p["status"], p["allocations"][0]["invoice"]) for p in payments] == [
        ("matched", "F2026-0102"), ("suggested", "F2026-0101")]
    assert all(p["reason"] for p in payments)


def test_payments_already_booked_before_the_statement_are_not_paid_twice(ledger):
    with ledger() as u:
        inv = u.session.scalar(select(Invoice).where(Invoice.number == "F2026-0102"))
        apply_change(u.session, inv, DAY, "payment", -60_500)
        u.commit()
    message_id = reminder(ledger, "ACME", ["F2026-0102"])
    with ledger() as u:
        ref = bank.payment_reference(u.session, message_id)
    result = import_file(ledger, statement(tx("605.00", ref=ref)))
    assert result.suggested == 1
    assert "already paid" in lines(ledger)[0]["reason"]
    assert open_of(ledger, "F2026-0102") == 0


# --- what the database reads for the matcher ---------------------------------------------------------

def test_the_matcher_is_given_only_the_invoices_the_lines_can_concern(ledger):
    with ledger() as u:
        s = u.session
        for n in range(7):  # enough debtors for the database to look the named ones up one by one
            invoice(s, debtor(s, f"OTHER{n}", f"Ander Bedrijf {n}"), f"X-{n}", 1_000 + n)
        u.commit()
    payments = [bm.Payment("1", 121_000, "EUR", DAY, remittance="factuur F2026-0101"),
                bm.Payment("2", 33_333, "EUR", DAY, counterparty_name="Bakkerij De Korf"),
                bm.Payment("3", 45_000, "EUR", DAY, remittance="nota 777")]
    with ledger() as u:
        found = bank.propose(u.session, payments, bank.match_rules(u.session))
    assert [(p.status, p.evidence) for p in found.proposals] == [
        ("auto", "number"), ("suggested", "name"), ("auto", "number")]
    assert "credit note C-0009 deducted" in found.proposals[2].reason
    # the number passes read the two invoices named and Bakkerij De Korf's credit note; the name pass,
    # for the one line left, Bakkerij De Korf's open invoices: neither Acme's others nor the others'
    assert (found.exact_invoices, found.left_over, found.other_invoices) == (3, 1, 3)


def _random_ledger(s, rnd) -> tuple[list[bm.Payment], dict]:
    """Debtors (two share a name), invoices with credit notes and common prices, reminders with our
    reference, learned accounts; payments quoting references, typing numbers, from known accounts, with
    names, with amounts only, and noise."""
    names = ["Acme Trading B.V.", "Acme Trading BV", *[f"Bedrijf {n} V.O.F." for n in range(28)]]
    debtors = [debtor(s, f"R{n}", name) for n, name in enumerate(names)]
    invoices = []
    for n in range(400):
        cents = rnd.choice((12_100, 24_200, rnd.randint(1_000, 90_000), -rnd.randint(500, 5_000)))
        invoices.append(invoice(s, rnd.choice(debtors), f"F2026-{n:05d}" if n % 2 else f"{n:07d}", cents,
                                DAY - timedelta(days=rnd.randint(-20, 200))))
    refs = {}
    for _ in range(40):
        d = rnd.choice(debtors)
        mine = [i for i in invoices if i.debtor_id == d.id and i.open_cents > 0][:rnd.randint(1, 3)]
        if not mine:
            continue
        m = Message(debtor_id=d.id, track="standard", step_index=1, step_name="reminder", step_key=f"r/{len(refs)}",
                    channel="email", status="sent", planned_date=DAY, subject="", body_text="", body_html="")
        s.add(m)
        s.flush()
        s.add_all([MessageInvoice(message_id=m.id, invoice_id=i.id, open_cents=i.open_cents) for i in mine])
        refs[references.message_reference(m.id)] = mine
    known = {f"NL00TEST{d.id:010d}": d.id for d in debtors if rnd.random() < 0.6}
    s.add_all([BankPayer(iban=iban, debtor_id=d) for iban, d in known.items()])
    payments = []
    for n in range(150):
        d = rnd.choice(debtors)
        mine = [i for i in invoices if i.debtor_id == d.id and i.open_cents > 0]
        kind, iban, text, ref, cents = rnd.random(), f"NL00TEST{d.id:010d}", "", "", rnd.randint(100, 200_000)
        if kind < 0.2:
            ref, paid = rnd.choice(list(refs.items()))
            cents = rnd.choice((sum(i.open_cents for i in paid), paid[0].open_cents, cents))
        elif kind < 0.45 and mine:
            paid = rnd.sample(mine, min(len(mine), rnd.randint(1, 2)))
            text = " ".join(rnd.choice((i.number, "factuur " + i.number.lstrip("0"), i.number.lower())) for i in paid)
            credit = -sum(i.open_cents for i in invoices if i.debtor_id == d.id and i.open_cents < 0)
            cents = sum(i.open_cents for i in paid) - rnd.choice((0, 0, 250, 3_000, credit, credit))
        elif kind < 0.8 and mine:
            cents = sum(i.open_cents for i in rnd.sample(mine, min(len(mine), rnd.randint(1, 3))))
            text = rnd.choice(("", "betaling", f"order {rnd.randint(1, 99999)}"))
        else:
            iban = rnd.choice((iban, f"NL00NOIS{n:010d}"))
        payments.append(bm.Payment(str(n), max(cents, 1), "EUR", DAY + timedelta(days=rnd.randint(0, 3)),
                                   d.name if rnd.random() < 0.7 else "", iban, text, ref))
    return payments, known


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_matching_in_rounds_proposes_what_the_whole_ledger_would(uow, seed):
    """The service reads only what each pass needs; the proposals are those of the matcher given every
    open invoice, every learned account and every debtor's name."""
    import random

    with uow() as u:
        payments, known = _random_ledger(u.session, random.Random(seed))
        u.commit()
    with uow() as u:
        s = u.session
        rules = bank.match_rules(s)
        found = bank.propose(s, payments, rules)
        quoted = {}
        for mid, iid in s.execute(select(MessageInvoice.message_id, MessageInvoice.invoice_id)):
            quoted.setdefault(iid, []).append(references.message_reference(mid))
        ledger_ = [bm.OpenInvoice(i.id, i.debtor_id, i.number, i.currency, i.open_cents, i.due_date,
                                  tuple(quoted.get(i.id, ())))
                   for i in s.scalars(select(Invoice)) if i.open_cents or i.id in quoted]
        names = dict(s.execute(select(Debtor.id, Debtor.name)).all())
    whole = bm.match_payments(payments, ledger_, known_ibans=known, debtor_names=names, rules=rules)
    assert found.proposals == whole
    assert {p.status for p in whole} >= {"auto", "suggested", "unmatched"}
    assert {p.evidence for p in whole} >= {"reference", "number", "account", "name"}
