"""ISO 20022 camt.053 bank-to-customer statements, versions .001.02 to .001.08.

Read by element names regardless of the namespace (banks differ in the version they declare, and
some leave it out), with lxml set up to refuse DTDs, entities and network access."""

from __future__ import annotations

import re

from lxml import etree

from receivables.domain.phrases import Phrase
from receivables.domain.translation import N_
from receivables.importing.bank.fields import cents, iso_date, normalise_iban, squash
from receivables.importing.bank.model import BankFileError, BankStatement, BankTransaction

SUPPORTED_VERSIONS = tuple(f"camt.053.001.{n:02d}" for n in range(2, 9))
_VERSION = re.compile(r"camt\.(\d{3})\.001\.(\d{2})")


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                           huge_tree=False, remove_comments=True, remove_pis=True)


def looks_like_camt(head: bytes) -> bool:
    return b"BkToCstmrStmt" in head or b"camt.05" in head


def parse_camt053(data: bytes) -> list[BankStatement]:
    """All statements in the document, each with its booked entries."""
    if b"<!DOCTYPE" in data[:4096] or b"<!ENTITY" in data:
        raise BankFileError(N_("The XML file declares a DTD or entities, which bank statements never do; "
                               "download the camt.053 statement from your bank again."))
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise BankFileError(N_("The XML file is not well-formed ({reason}); download the camt.053 statement "
                               "again, the file may have been cut off."), reason=str(exc)) from exc
    namespace = etree.QName(root).namespace or ""
    version = _version(namespace, root)
    for el in root.iter():
        if isinstance(el.tag, str):
            el.tag = etree.QName(el).localname
    report = root.find("BkToCstmrStmt")
    if report is None:
        if root.find("BkToCstmrDbtCdtNtfctn") is not None or root.find("BkToCstmrAcctRpt") is not None:
            raise BankFileError(N_("This is a camt.054 notification or camt.052 report, not a statement; "
                                   "download the end-of-day statement (camt.053) instead."))
        raise BankFileError(N_("The XML file is no camt.053 bank statement (no BkToCstmrStmt element); "
                               "download the statement in camt.053 format."))
    statements = [_statement(stmt, version) for stmt in report.findall("Stmt")]
    if not statements:
        raise BankFileError(N_("The camt.053 file holds no statement (no Stmt element)."))
    return statements


def _version(namespace: str, root: etree._Element) -> str:
    m = _VERSION.search(namespace)
    if not m:
        return "camt.053"
    kind, number = m.group(1), int(m.group(2))
    if kind != "053":
        raise BankFileError(N_("This is a camt.{kind} file, not a statement; download the end-of-day "
                               "statement (camt.053) instead."), kind=kind)
    name = f"camt.053.001.{number:02d}"
    if name not in SUPPORTED_VERSIONS:
        raise BankFileError(N_("camt.053 version {name} is not supported (supported: .001.02 to .001.08); "
                               "choose one of those in your bank's download settings."), name=name)
    return name


def _text(el: etree._Element | None, path: str) -> str:
    if el is None:
        return ""
    found = el.find(path)
    return (found.text or "").strip() if found is not None and found.text else ""


def _signed(amount_el: etree._Element | None, indicator: str, where: Phrase) -> tuple[int, str]:
    if amount_el is None or not (amount_el.text or "").strip():
        raise BankFileError(N_("{where} has no amount."), where=where)
    value = cents(amount_el.text, ".", what=Phrase(N_("{where} amount"), {"where": where}))
    if indicator not in ("CRDT", "DBIT"):
        raise BankFileError(N_("{where} has credit/debit indicator {indicator}; expected CRDT or DBIT."), where=where,
                            indicator=repr(indicator))
    return (value if indicator == "CRDT" else -value), amount_el.get("Ccy", "")


def _balance(stmt: etree._Element, codes: tuple[str, ...]):
    for code in codes:
        for bal in stmt.findall("Bal"):
            if _text(bal, "Tp/CdOrPrtry/Cd") == code or _text(bal, "Tp/CdOrPrtry/Prtry") == code:
                amount, _ = _signed(bal.find("Amt"), _text(bal, "CdtDbtInd"),
                                            Phrase(N_("Balance {code}"), {"code": code}))
                day = _text(bal, "Dt/Dt") or _text(bal, "Dt/DtTm")
                return amount, (iso_date(day, what=Phrase(N_("Balance {code} date"), {"code": code})) if day else None)
    return None, None


def _statement(stmt: etree._Element, version: str) -> BankStatement:
    account = normalise_iban(_text(stmt, "Acct/Id/IBAN") or _text(stmt, "Acct/Id/Othr/Id"))
    opening, opening_date = _balance(stmt, ("OPBD", "PRCD", "OPAV"))
    closing, closing_date = _balance(stmt, ("CLBD", "CLAV"))
    currency = _text(stmt, "Acct/Ccy")
    if not currency:
        amt = stmt.find("Bal/Amt")
        currency = amt.get("Ccy", "") if amt is not None else ""
    transactions: list[BankTransaction] = []
    for number, entry in enumerate(stmt.findall("Ntry"), start=1):
        transactions.extend(_entry(entry, number))
    if not currency and transactions:
        currency = transactions[0].currency
    return BankStatement(
        format=version, account=account, currency=currency, transactions=tuple(transactions),
        statement_id=_text(stmt, "Id"), opening_balance_cents=opening, opening_date=opening_date,
        closing_balance_cents=closing, closing_date=closing_date,
    )


def _status(entry: etree._Element) -> str:
    return _text(entry, "Sts/Cd") or _text(entry, "Sts")


def _bank_code(el: etree._Element) -> str:
    domain = "/".join(x for x in (_text(el, "BkTxCd/Domn/Cd"), _text(el, "BkTxCd/Domn/Fmly/Cd"),
                                  _text(el, "BkTxCd/Domn/Fmly/SubFmlyCd")) if x)
    return domain or _text(el, "BkTxCd/Prtry/Cd")


def _entry(entry: etree._Element, number: int) -> list[BankTransaction]:
    where = Phrase(N_("Entry {n}"), {"n": number})
    status = _status(entry)
    if status and status != "BOOK":
        return []  # pending and information-only entries are not on the balance
    amount, currency = _signed(entry.find("Amt"), _text(entry, "CdtDbtInd"), where)
    booking = _text(entry, "BookgDt/Dt") or _text(entry, "BookgDt/DtTm")
    value = _text(entry, "ValDt/Dt") or _text(entry, "ValDt/DtTm")
    if not booking and not value:
        raise BankFileError(N_("{where} has neither a booking date nor a value date."), where=where)
    booking_date = iso_date(booking or value, what=Phrase(N_("{where} booking date"), {"where": where}))
    value_date = iso_date(value, what=Phrase(N_("{where} value date"), {"where": where})) if value else None
    reference = _text(entry, "AcctSvcrRef") or _text(entry, "NtryRef") or None
    reversal = _text(entry, "RvslInd").lower() == "true"
    details = entry.findall("NtryDtls/TxDtls")
    entry_text = squash(_text(entry, "AddtlNtryInf"))
    common = dict(booking_date=booking_date, value_date=value_date, currency=currency, reversal=reversal,
                  bank_code=_bank_code(entry))
    if not details:
        return [BankTransaction(amount_cents=amount, entry_reference=reference, remittance=entry_text, **common)]
    parts = [_detail(d, amount, currency, Phrase(N_("{where} transaction {n}"), {"where": where, "n": i})) for i, d in enumerate(details, start=1)]
    split = len(parts) > 1 and all(p["amount"] is not None for p in parts) \
        and sum(p["amount"] for p in parts) == amount
    if not split:
        # one booking, or a batch whose parts do not add up to it: keep the booking whole
        first = parts[0]
        texts = [p["remittance"] for p in parts if p["remittance"]] or [entry_text]
        refs = [p["structured_reference"] for p in parts if p["structured_reference"]]
        return [BankTransaction(
            amount_cents=amount, entry_reference=reference or first["reference"],
            counterparty_name=first["name"], counterparty_iban=first["iban"], remittance=" | ".join(texts),
            structured_reference=" ".join(refs), end_to_end_id=first["end_to_end_id"],
            batch_size=len(parts), **(common | {"bank_code": first["bank_code"] or common["bank_code"]}),
        )]
    batch = reference or f"{booking_date.isoformat()}:{number}"
    return [BankTransaction(
        amount_cents=p["amount"], entry_reference=reference or p["reference"], counterparty_name=p["name"],
        counterparty_iban=p["iban"], remittance=p["remittance"] or entry_text,
        structured_reference=p["structured_reference"], end_to_end_id=p["end_to_end_id"],
        batch_reference=batch, batch_index=i, batch_size=len(parts),
        **(common | {"currency": p["currency"] or currency, "bank_code": p["bank_code"] or common["bank_code"]}),
    ) for i, p in enumerate(parts, start=1)]


def _detail(tx: etree._Element, entry_amount: int, entry_currency: str, where: Phrase) -> dict:
    amount_el = tx.find("Amt")
    if amount_el is None:
        amount_el = tx.find("AmtDtls/TxAmt/Amt")
    indicator = _text(tx, "CdtDbtInd") or ("CRDT" if entry_amount > 0 else "DBIT")
    amount, currency = (None, entry_currency)
    if amount_el is not None and (amount_el.text or "").strip():
        amount, currency = _signed(amount_el, indicator, where)
    incoming = (amount if amount is not None else entry_amount) > 0
    party, other = ("Dbtr", "Cdtr") if incoming else ("Cdtr", "Dbtr")
    name = _text(tx, f"RltdPties/{party}/Nm") or _text(tx, f"RltdPties/{party}/Pty/Nm") \
        or _text(tx, f"RltdPties/Ultmt{party}/Nm")
    iban = _text(tx, f"RltdPties/{party}Acct/Id/IBAN") or _text(tx, f"RltdPties/{party}Acct/Id/Othr/Id")
    if not name and not iban:  # some banks fill the other side for returns
        name = _text(tx, f"RltdPties/{other}/Nm")
        iban = _text(tx, f"RltdPties/{other}Acct/Id/IBAN")
    ustrd = [squash(u.text or "") for u in tx.findall("RmtInf/Ustrd") if (u.text or "").strip()]
    strd = [squash(r.text or "") for r in tx.findall("RmtInf/Strd/CdtrRefInf/Ref") if (r.text or "").strip()]
    extra = squash(_text(tx, "AddtlTxInf"))
    remittance = " ".join(ustrd) or extra
    return {
        "amount": amount, "currency": currency, "name": squash(name), "iban": normalise_iban(iban),
        "remittance": remittance, "structured_reference": " ".join(strd),
        "end_to_end_id": "" if _text(tx, "Refs/EndToEndId") == "NOTPROVIDED" else _text(tx, "Refs/EndToEndId"),
        "reference": _text(tx, "Refs/AcctSvcrRef") or None, "bank_code": _bank_code(tx),
    }
