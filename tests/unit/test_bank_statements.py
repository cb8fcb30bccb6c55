"""Reading bank statements: camt.053 (.001.02 to .001.08), the Dutch banks' MT940, and the ING,
Rabobank and ABN AMRO downloads, from bytes to typed transactions whose totals agree with the
statement's own balances; bad files get a message that says what to do."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from receivables.domain.bank_matching import number_keys_in_text
from receivables.importing.bank import (
    MAX_BYTES,
    MAX_LINES,
    BankFileError,
    detect_format,
    read_statements,
)

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "real" / "bank"


def sample(relative: str) -> bytes:
    path = SAMPLES / relative
    if not path.exists():
        pytest.skip(f"public sample {relative} not present in ../shared/data/real/bank")
    return path.read_bytes()


# --- the real public samples ------------------------------------------------------------------------

# file, format, statements, transactions, statements whose balances do not add up in the file itself
REAL = [
    ("camt053/rabobank_camt053_mpdroog_invoiced.xml", "camt.053", 132, 9, {}),
    ("camt053/oca_test-camt053-txdtls.xml", "camt.053", 1, 2, {}),
    # an OCA test fixture whose balances were not kept in step with its entries
    ("camt053/oca_test-camt053_abnamro.xml", "camt.053", 1, 4, {0: -43416}),
    ("mt940/oca_test-ing.940.txt", "mt940", 1, 8, {}),
    ("mt940/oca_test-rabo.swi.txt", "mt940", 4, 2, {}),
    ("mt940/oca_test-sns.940.txt", "mt940", 3, 8, {}),
    ("mt940/wolph_asnb_0708271685_09022020_164516.940.txt", "mt940", 31, 8, {}),
    # the jejik fixtures were cut down by hand: lines were dropped but the balances kept
    ("mt940/jejik_abnamro.sta.txt", "mt940", 2, 10, {0: -203800, 1: -100260}),
    ("mt940/jejik_knab.sta.txt", "mt940", 2, 3, {1: 450000}),
]


@pytest.mark.parametrize(("relative", "kind", "statements", "transactions", "off"), REAL,
                         ids=[r[0] for r in REAL])
def test_every_real_sample_is_read_and_adds_up_to_its_own_balances(relative, kind, statements, transactions, off):
    data = sample(relative)
    assert detect_format(data) == kind
    read = read_statements(data)
    assert len(read) == statements
    assert sum(len(s.transactions) for s in read) == transactions
    for n, statement in enumerate(read):
        assert statement.account
        assert statement.currency
        difference = statement.balance_difference()
        if difference is None:
            continue
        assert difference == off.get(n, 0), f"statement {n} ({statement.statement_id})"


def _one(relative: str, **fields):
    txs = [t for s in read_statements(sample(relative)) for t in s.transactions]
    hits = [t for t in txs if all(getattr(t, k) == v for k, v in fields.items())]
    assert len(hits) == 1, f"{fields} found {len(hits)} times"
    return hits[0]


def test_rabobank_camt_has_the_xs_news_payment_quoting_its_invoice():
    tx = _one("camt053/rabobank_camt053_mpdroog_invoiced.xml", amount_cents=442525)
    assert (tx.booking_date, tx.counterparty_name, tx.counterparty_iban, tx.remittance) == (
        date(2016, 8, 15), "XS NEWS B V", "NL62ABNA0408441224", "2016Q3-0004")
    assert tx.is_credit and not tx.reversal


@pytest.mark.parametrize(("cents", "text", "day"), [
    (298299, "2016Q3-0005", date(2016, 9, 28)),
    (451668, "2016Q3-0006", date(2016, 10, 11)),
])
def test_rabobank_camt_has_the_later_customer_payments(cents, text, day):
    tx = _one("camt053/rabobank_camt053_mpdroog_invoiced.xml", amount_cents=cents)
    assert (tx.remittance, tx.booking_date) == (text, day)


def test_rabobank_camt_structured_reference_is_kept():
    tx = _one("camt053/rabobank_camt053_mpdroog_invoiced.xml", structured_reference="1067931951601240")
    assert tx.amount_cents == -407600
    assert tx.counterparty_name == "Belastingdienst Apeldoorn"


def test_a_batch_booking_is_split_into_its_transactions():
    statement = read_statements(sample("camt053/oca_test-camt053-txdtls.xml"))[0]
    assert statement.format == "camt.053.001.04"
    assert [t.amount_cents for t in statement.transactions] == [218700, 129600]
    assert {t.batch_reference for t in statement.transactions} == {"20170323001234567891234567891234"}
    assert [t.batch_index for t in statement.transactions] == [1, 2]
    assert [t.structured_reference for t in statement.transactions] == [
        "302388292000011111111111111", "302388292000022222222222222"]
    assert len({t.dedupe_key(statement.account) for t in statement.transactions}) == 2


def test_a_reversed_batch_keeps_its_reversal_mark_and_its_sign():
    statement = read_statements(sample("camt053/oca_test-camt053_abnamro.xml"))[0]
    reversed_ = [t for t in statement.transactions if t.reversal]
    assert [t.amount_cents for t in reversed_] == [-56405, -10000]
    credit = [t for t in statement.transactions if t.is_credit]
    assert [(t.amount_cents, t.counterparty_iban) for t in credit] == [(140531, "NL69ABNA0522123643")]
    assert "CUSNO 90782" in credit[0].remittance


def test_ing_structured_mt940_gives_counterparty_reference_and_text():
    tx = _one("mt940/oca_test-ing.940.txt", amount_cents=157)
    assert (tx.counterparty_name, tx.counterparty_iban, tx.remittance, tx.end_to_end_id) == (
        "J.Janssen", "NL32INGB0000012345", "Factuurnr 123456 Klantnr 00123", "20120123456789")
    assert "123456" in number_keys_in_text(tx.remittance)
    structured = _one("mt940/oca_test-ing.940.txt", amount_cents=3200)
    assert structured.structured_reference == "9001123412341234"


def test_knab_payment_for_two_invoices_names_both():
    tx = _one("mt940/jejik_knab.sta.txt", amount_cents=-726000)
    assert (tx.counterparty_name, tx.counterparty_iban) == ("PICQER", "NL65INGB0123456789")
    assert tx.remittance == "FACTUUR 201403110, 201403113"
    assert {"201403110", "201403113"} <= set(number_keys_in_text(tx.remittance))


def test_rabobank_mt940_takes_the_counterparty_account_from_the_statement_line():
    tx = _one("mt940/oca_test-rabo.swi.txt", amount_cents=40000)
    assert (tx.counterparty_name, tx.counterparty_iban, tx.remittance) == (
        "R. SMITH", "NL66RABO0160878799", "Test money paid by other partner:")


def test_sns_free_text_gives_name_account_and_invoice_text():
    tx = _one("mt940/oca_test-sns.940.txt", amount_cents=-71313)
    assert (tx.counterparty_name, tx.counterparty_iban, tx.remittance) == (
        "gerrits glas en schilderwerk", "NL49RABO0166416932", "Factuur 17227/248/20")


def test_old_abn_amro_free_text_keeps_the_betalingskenmerk():
    tx = _one("mt940/jejik_abnamro.sta.txt", amount_cents=-900)
    assert tx.counterparty_name == "KPN - DIGITENNE"
    assert tx.structured_reference == "000000042188659"
    assert "BETREFT FACTUUR D.D. 20-05-2011" in tx.remittance


# --- camt.053 versions and shapes, from our own fixtures ------------------------------------------------

def camt(version: int | None, entries: str, *, opening="100.00", closing="1350.00") -> bytes:
    ns = f' xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.{version:02d}"' if version else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document{ns}><BkToCstmrStmt><GrpHdr><MsgId>M1</MsgId></GrpHdr><Stmt><Id>S-1</Id>
<Acct><Id><IBAN>NL91ABNA0417164300</IBAN></Id><Ccy>EUR</Ccy></Acct>
<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">{opening}</Amt><CdtDbtInd>CRDT</CdtDbtInd>
<Dt><Dt>2024-03-01</Dt></Dt></Bal>
<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">{closing}</Amt><CdtDbtInd>CRDT</CdtDbtInd>
<Dt><Dt>2024-03-01</Dt></Dt></Bal>
{entries}</Stmt></BkToCstmrStmt></Document>""".encode()


def entry(amount: str, details: str = "", *, sign="CRDT", status="<Sts>BOOK</Sts>", extra="") -> str:
    return (f'<Ntry><Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>{sign}</CdtDbtInd>{extra}{status}'
            f"<BookgDt><Dt>2024-03-01</Dt></BookgDt><ValDt><Dt>2024-03-02</Dt></ValDt>"
            f"<AcctSvcrRef>REF-{amount}</AcctSvcrRef>"
            f"{'<NtryDtls>' + details + '</NtryDtls>' if details else ''}</Ntry>")


def tx_details(amount: str, name: str, iban: str, text: str, version: int) -> str:
    amt = (f'<Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd>' if version >= 4
           else f'<AmtDtls><TxAmt><Amt Ccy="EUR">{amount}</Amt></TxAmt></AmtDtls>')
    return (f"<TxDtls><Refs><EndToEndId>E2E-{amount}</EndToEndId></Refs>{amt}<RltdPties><Dbtr><Nm>{name}</Nm></Dbtr>"
            f"<DbtrAcct><Id><IBAN>{iban}</IBAN></Id></DbtrAcct></RltdPties>"
            f"<RmtInf><Ustrd>{text}</Ustrd></RmtInf></TxDtls>")


@pytest.mark.parametrize("version", [2, 3, 4, 5, 6, 7, 8, None])
def test_every_camt053_version_is_read_with_and_without_transaction_details(version):
    v = version or 2
    status = "<Sts><Cd>BOOK</Cd></Sts>" if v >= 7 else "<Sts>BOOK</Sts>"
    data = camt(version, "".join([
        entry("1000.00", tx_details("1000.00", "Acme B.V.", "NL20INGB0001234567", "Factuur F-0012", v),
              status=status),
        entry("250.00", status=status),  # no TxDtls at all
        entry("75.00", status="<Sts>PDNG</Sts>" if v < 7 else "<Sts><Cd>PDNG</Cd></Sts>"),  # not booked
    ]))
    statement = read_statements(data)[0]
    assert statement.format == (f"camt.053.001.{version:02d}" if version else "camt.053")
    assert [t.amount_cents for t in statement.transactions] == [100000, 25000]
    first = statement.transactions[0]
    assert (first.counterparty_name, first.counterparty_iban, first.remittance, first.end_to_end_id) == (
        "Acme B.V.", "NL20INGB0001234567", "Factuur F-0012", "E2E-1000.00")
    assert (first.booking_date, first.value_date, first.entry_reference) == (
        date(2024, 3, 1), date(2024, 3, 2), "REF-1000.00")
    assert statement.balance_difference() == 0


@pytest.mark.parametrize("version", [2, 8])
def test_a_batch_with_several_details_becomes_several_payments(version):
    details = "".join(tx_details(a, n, i, t, version) for a, n, i, t in [
        ("600.00", "Acme B.V.", "NL20INGB0001234567", "F-0012"),
        ("650.00", "Bakker", "NL39RABO0300065264", "INV 77"),
    ])
    data = camt(version, entry("1250.00", details), opening="0.00", closing="1250.00")
    txs = read_statements(data)[0].transactions
    assert [(t.amount_cents, t.counterparty_name, t.batch_index, t.batch_size) for t in txs] == [
        (60000, "Acme B.V.", 1, 2), (65000, "Bakker", 2, 2)]


def test_a_batch_whose_details_do_not_add_up_stays_one_booking():
    details = "".join(tx_details(a, "X", "NL20INGB0001234567", "t", 4) for a in ("600.00", "600.00"))
    txs = read_statements(camt(4, entry("1250.00", details), opening="0.00", closing="1250.00"))[0].transactions
    assert [t.amount_cents for t in txs] == [125000]


def test_a_reversal_entry_is_marked_and_signed_by_its_own_indicator():
    data = camt(2, entry("40.00", sign="DBIT", extra="<RvslInd>true</RvslInd>"), opening="40.00", closing="0.00")
    tx = read_statements(data)[0].transactions[0]
    assert (tx.amount_cents, tx.reversal) == (-4000, True)


@pytest.mark.parametrize(("data", "says"), [
    (b'<?xml version="1.0"?><!DOCTYPE lol [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
     b"<Document><BkToCstmrStmt>&b;</BkToCstmrStmt></Document>", "DTD"),
    (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><Document><BkToCstmrStmt>&x;'
     b"</BkToCstmrStmt></Document>", "DTD"),
    (camt(2, entry("10.00"))[:-40], "not well-formed"),
    (b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.02"><BkToCstmrDbtCdtNtfctn/></Document>',
     "camt.054"),
    (camt(9, entry("10.00")), "not supported"),
    (camt(2, entry("ten")), "not an amount"),
    (b"<Document><BkToCstmrStmt></BkToCstmrStmt></Document>", "no statement"),
    (b"<html><body>BkToCstmrStmt</body></html>", "no camt.053"),
])
def test_bad_xml_is_refused_with_a_message_that_says_what_to_do(data, says):
    with pytest.raises(BankFileError, match=says):
        read_statements(data)


# --- MT940 of banks without a public sample here, from their published layouts -----------------------

TRIODOS = b"""{1:F01TRIONL2UXXXX0000000000}{2:I940TRIONL2UXXXXN}{4:
:20:1774607603607/1
:25:TRIODOSBANK/0390123456
:28:1
:60F:C240301EUR335,31
:61:240301C1210,00NET NONREF
:86:000>100000000000
>20INGBNL2A
>21NL20INGB0001234567
>22ACME BV>23FACTUUR 2024-0012
>310390123456
:61:240301D11,98NBA NONREF
:86:000>100000000000
>20HOLLAND & BARRETT - ENSCHED>21E - TERMINAL 0MXK4N
>310390123456
:62F:C240301EUR1533,33
-}
"""

ABN_SEPA = b"""ABNANL2A
940
ABNANL2A
:20:ABN AMRO BANK NV
:25:417164300
:28:24001/1
:60F:C240301EUR1000,00
:61:2403010301C605,00N654NONREF
:86:/TRTP/SEPA OVERBOEKING/IBAN/NL20INGB0001234567/BIC/INGBNL2A/NAME/ACME
 BV/REMI/Factuur F2024-0012 en F2024-0013/EREF/NOTPROVIDED
:61:2403010301D2,50N426NONREF
:86:/TRTP/SEPA INCASSO/CSID/NL00ZZZ123456789012/NAME/Bank/REMI/Kosten/EREF/K1
:62F:C240301EUR1602,50
-
"""


def test_triodos_subfields_give_account_name_and_text():
    statement = read_statements(TRIODOS)[0]
    assert statement.account == "0390123456"
    assert statement.balance_difference() == 0
    credit = statement.transactions[0]
    assert (credit.amount_cents, credit.counterparty_iban, credit.counterparty_name, credit.remittance) == (
        121000, "NL20INGB0001234567", "ACME BV", "FACTUUR 2024-0012")


def test_abn_amro_sepa_mt940_is_read_from_its_slash_codes():
    statement = read_statements(ABN_SEPA)[0]
    assert statement.balance_difference() == 0
    credit = statement.transactions[0]
    assert (credit.counterparty_name, credit.counterparty_iban, credit.remittance, credit.end_to_end_id) == (
        "ACME BV", "NL20INGB0001234567", "Factuur F2024-0012 en F2024-0013", "")


def test_a_broken_mt940_line_is_refused_with_its_statement_number():
    broken = ABN_SEPA.replace(b":61:2403010301D2,50", b":61:24XX010301D2,50")
    with pytest.raises(BankFileError, match="Statement 1"):
        read_statements(broken)


# --- the CSV and TXT downloads -------------------------------------------------------------------------

ING_NL = """\
"Datum";"Naam / Omschrijving";"Rekening";"Tegenrekening";"Code";"Af Bij";"Bedrag (EUR)";"Mutatiesoort";"Mededelingen";"Saldo na mutatie";"Tag"
"20240305";"Bakkerij De Korf";"NL69INGB0123456789";"NL39RABO0300065264";"OV";"Bij";"1.210,00";"Overschrijving";"Naam: Bakkerij De Korf Omschrijving: factuur 2024-0012 IBAN: NL39RABO0300065264 Kenmerk: 0312 Valutadatum: 05-03-2024";"2.460,00";""
"20240304";"Kosten";"NL69INGB0123456789";"";"DV";"Af";"2,50";"Diversen";"Kosten zakelijk betalingsverkeer";"1.250,00";""
"20240301";"ACME BV";"NL69INGB0123456789";"NL20INGB0001234567";"OV";"Bij";"252,50";"Overschrijving";"Naam: ACME BV Omschrijving: RF0900000007 IBAN: NL20INGB0001234567 Valutadatum: 01-03-2024";"1.252,50";""
"""

ING_EN = """\
"Date","Name / Description","Account","Counterparty","Code","Debit/credit","Amount (EUR)","Transaction type","Notifications"
"20240305","Bakkerij De Korf","NL69INGB0123456789","NL39RABO0300065264","OV","Credit","1210,00","Transfer","Name: Bakkerij De Korf Description: invoice 2024-0012 IBAN: NL39RABO0300065264 Value date: 05-03-2024"
"""

RABOBANK = """\
"IBAN/BBAN","Munt","BIC","Volgnr","Datum","Rentedatum","Bedrag","Saldo na trn","Tegenrekening IBAN/BBAN","Naam tegenpartij","Naam uiteindelijke partij","Naam initiërende partij","BIC tegenpartij","Code","Batch ID","Transactiereferentie","Machtigingskenmerk","Incassant ID","Betalingskenmerk","Omschrijving-1","Omschrijving-2","Omschrijving-3","Reden retour","Oorspr bedrag","Oorspr munt","Koers"
"NL17RABO0310029597","EUR","RABONL2U","000000000000001001","2024-03-01","2024-03-01","+4.425,25","+25.914,69","NL62ABNA0408441224","XS NEWS B V","","","ABNANL2A","cb","","","","","","2016Q3-0004","","","","","",""
"NL17RABO0310029597","EUR","RABONL2U","000000000000001002","2024-03-02","2024-03-02","-0,08","+25.914,61","","Kosten","","","","db","","","","","","Periode 01-02-2024 t/m 29-02-2024","","","","","",""
"NL17RABO0310029597","EUR","RABONL2U","000000000000001003","2024-03-03","2024-03-04","+100,00","+26.014,61","NL20INGB0001234567","ACME BV","","","INGBNL2A","cb","","E2E-9","","","5000056789012345","","","","","","",""
"""

ABN_TXT = (
    "417164300\tEUR\t20240301\t1000,00\t1605,00\t20240301\t605,00\tSEPA Overboeking                 "
    "IBAN: NL20INGB0001234567        BIC: INGBNL2A                    Naam: ACME BV                   "
    "Omschrijving: Factuur F2024-0012 en F2024-0013                  Kenmerk: 0301-77\n"
    "417164300\tEUR\t20240302\t1605,00\t1602,50\t20240302\t-2,50\tABN AMRO Bank N.V.               Basic Package"
    "                 2,50\n"
    "417164300\tEUR\t20240303\t1602,50\t1702,50\t20240303\t100,00\t/TRTP/SEPA OVERBOEKING/IBAN/NL39RABO0300065264"
    "/BIC/RABONL2U/NAME/Bakkerij De Korf/REMI/factuur 2024-0012/EREF/NOTPROVIDED\n"
)


@pytest.mark.parametrize(("data", "kind", "bank"), [
    (ING_NL, "csv-ing", "ing"),
    (ING_EN, "csv-ing", "ing"),
    (RABOBANK, "csv-rabobank", "rabobank"),
    (ABN_TXT, "txt-abnamro", "abnamro"),
])
def test_each_bank_download_is_recognised(data, kind, bank):
    encoded = data.encode("utf-8")
    assert detect_format(encoded) == kind
    assert all(s.bank == bank for s in read_statements(encoded))


def test_ing_csv_signs_amounts_by_af_bij_and_adds_up_oldest_first():
    statement = read_statements(ING_NL.encode("cp1252"))[0]
    assert statement.account == "NL69INGB0123456789"
    assert [t.amount_cents for t in statement.transactions] == [25250, -250, 121000]
    assert (statement.opening_balance_cents, statement.closing_balance_cents) == (100000, 246000)
    assert statement.balance_difference() == 0
    korf = statement.transactions[2]
    assert (korf.counterparty_name, korf.counterparty_iban, korf.remittance, korf.end_to_end_id, korf.value_date) == (
        "Bakkerij De Korf", "NL39RABO0300065264", "factuur 2024-0012", "0312", date(2024, 3, 5))


def test_ing_csv_in_english_reads_the_same_fields():
    tx = read_statements(ING_EN.encode())[0].transactions[0]
    assert (tx.amount_cents, tx.remittance, tx.value_date) == (121000, "invoice 2024-0012", date(2024, 3, 5))


def test_rabobank_csv_keeps_sequence_number_and_betalingskenmerk():
    statement = read_statements(RABOBANK.encode("utf-8"))[0]
    assert statement.balance_difference() == 0
    assert statement.opening_balance_cents == 2148944
    xs, _, acme = statement.transactions
    assert (xs.amount_cents, xs.counterparty_name, xs.remittance, xs.entry_reference) == (
        442525, "XS NEWS B V", "2016Q3-0004", "000000000000001001")
    assert (acme.structured_reference, acme.end_to_end_id, acme.value_date) == (
        "5000056789012345", "E2E-9", date(2024, 3, 4))


def test_abn_amro_txt_reads_both_description_layouts():
    statement = read_statements(ABN_TXT.encode())[0]
    assert (statement.opening_balance_cents, statement.closing_balance_cents) == (100000, 170250)
    assert statement.balance_difference() == 0
    acme, _, korf = statement.transactions
    assert (acme.counterparty_name, acme.counterparty_iban, acme.remittance, acme.end_to_end_id) == (
        "ACME BV", "NL20INGB0001234567", "Factuur F2024-0012 en F2024-0013", "0301-77")
    assert (korf.counterparty_name, korf.counterparty_iban, korf.remittance) == (
        "Bakkerij De Korf", "NL39RABO0300065264", "factuur 2024-0012")


def test_abn_amro_txt_whose_balances_do_not_follow_is_refused():
    with pytest.raises(BankFileError, match="Line 1"):
        read_statements(ABN_TXT.replace("1605,00\t20240301", "1606,00\t20240301", 1).encode())


@pytest.mark.parametrize(("data", "says"), [
    (ING_NL.replace('"Bij";"1.210,00"', '"Bij";"1.210,0x"'), "not an amount"),
    (ING_NL.replace('"Bij";"1.210,00"', '"Op";"1.210,00"'), "expected Af or Bij"),
    (ING_NL.replace('"20240305"', '"2024-13-05"'), "not a date"),
    (RABOBANK.replace("2024-03-02", "02-03-2024", 1), "not a date"),
])
def test_a_bad_cell_is_refused_with_its_line(data, says):
    with pytest.raises(BankFileError, match=f"Line \\d+.*{says}"):
        read_statements(data.encode())


@pytest.mark.parametrize(("data", "says"), [
    (b"%PDF-1.4 statement", "PDF"),
    (b"PK\x03\x04zipped", "zip"),
    (b"Datum,Bedrag\n2024-01-01,10\n", "no bank statement"),
    (b"   \n", "empty"),
])
def test_files_that_are_no_statement_are_refused(data, says):
    with pytest.raises(BankFileError, match=says):
        read_statements(data)


def test_oversized_files_are_refused_before_parsing():
    with pytest.raises(BankFileError, match="at most 50 MB"):
        read_statements(b"<" + b" " * MAX_BYTES)
    with pytest.raises(BankFileError, match="at most 1,000,000"):
        read_statements(b"\n" * (MAX_LINES + 1))


def test_the_same_booking_in_two_downloads_has_the_same_key():
    first = read_statements(ABN_TXT.encode())[0]
    again = read_statements(ABN_TXT.splitlines(keepends=True)[0].encode())[0]
    assert first.transactions[0].dedupe_key(first.account) == again.transactions[0].dedupe_key(again.account)
    keys = {t.dedupe_key(first.account) for t in first.transactions}
    assert len(keys) == 3


# --- properties -----------------------------------------------------------------------------------

def _units(cents: int, mark: str) -> str:
    return f"{abs(cents) // 100}{mark}{abs(cents) % 100:02d}"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=-10**9, max_value=10**9).filter(bool), min_size=1, max_size=20),
       st.integers(min_value=0, max_value=10**9), st.sampled_from([2, 4, 8]))
def test_camt_entries_are_read_to_the_cent_and_add_up(amounts, opening, version):
    entries = "".join(entry(_units(a, "."), sign="CRDT" if a > 0 else "DBIT",
                            status="<Sts><Cd>BOOK</Cd></Sts>" if version == 8 else "<Sts>BOOK</Sts>")
                      for a in amounts)
    closing = opening + sum(amounts)
    data = camt(version, entries, opening=_units(opening, "."), closing=_units(closing, "."))
    if closing < 0:
        data = data.replace(b"<CdtDbtInd>CRDT</CdtDbtInd>\n<Dt><Dt>2024-03-01</Dt></Dt></Bal>\n<Ntry",
                            b"<CdtDbtInd>DBIT</CdtDbtInd>\n<Dt><Dt>2024-03-01</Dt></Dt></Bal>\n<Ntry", 1)
    statement = read_statements(data)[0]
    assert [t.amount_cents for t in statement.transactions] == amounts
    assert statement.balance_difference() == 0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=-10**8, max_value=10**8).filter(bool), min_size=1, max_size=20))
def test_mt940_lines_are_read_to_the_cent_and_add_up(amounts):
    opening = 10**10
    lines = "".join(f":61:2403010301{'C' if a > 0 else 'D'}{_units(a, ',')}NTRFNONREF//B{k}\n:86:/REMI/USTD//t{k}/\n"
                    for k, a in enumerate(amounts))
    text = (f":20:S1\n:25:NL69INGB0123456789\n:28C:1/1\n:60F:C240301EUR{_units(opening, ',')}\n{lines}"
            f":62F:C240301EUR{_units(opening + sum(amounts), ',')}\n-\n")
    statement = read_statements(text.encode())[0]
    assert [t.amount_cents for t in statement.transactions] == amounts
    assert statement.balance_difference() == 0
