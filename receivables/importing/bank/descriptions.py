"""The description text Dutch banks put in MT940 `:86:` fields and in their CSV exports, read into
counterparty, remittance text and structured reference. Each bank has its own layout:

- slash-coded (ING, Rabobank, ABN AMRO since SEPA): `/EREF/…/CNTP/iban/bic/name/city/REMI/USTD//text/`
  or `/TRTP/…/IBAN/…/BIC/…/NAME/…/REMI/…/EREF/…`, Rabobank `/ORDP//NAME/…/ADDR/…/REMI/…`;
- labelled (ABN AMRO downloads, ING CSV `Mededelingen`): `IBAN: … BIC: … Naam: … Omschrijving: … Kenmerk: …`;
- Triodos: `000>100000000000>20bic>21iban>22name…>31own account`;
- free text (old ABN AMRO, SNS/ASN, Knab): the whole text is the remittance; `REK: …/NAAM: …` and
  `BETALINGSKENM. …` are picked out where present.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from receivables.importing.bank.fields import is_iban, normalise_iban, squash

_SLASH_KEYS = ("EREF", "MARF", "CSID", "CNTP", "REMI", "PREF", "RTRN", "TRTP", "IBAN", "BIC", "NAME", "ORDP",
               "BENM", "ADDR", "ISDT", "PURP", "ULTC", "ULTD", "ULTB", "TRCD", "ID", "SUM", "EXCH", "OCMT",
               "CHGS", "BUSP", "CDTRREF", "CDTRREFTP")
_SLASH_SPLIT = re.compile(r"/(" + "|".join(sorted(_SLASH_KEYS, key=len, reverse=True)) + r")/")
_LABELS = ("IBAN", "BIC", "Naam", "Omschrijving", "Kenmerk", "Machtiging", "Incassant", "Voor", "Valutadatum",
           "Betalingskenm.", "Betalingskenmerk", "Name", "Description", "Reference", "Value date")
_LABEL_SPLIT = re.compile(r"(?:^|\s)(" + "|".join(re.escape(x) for x in _LABELS) + r"):\s?", re.IGNORECASE)
_BETALINGSKENMERK = re.compile(r"BETALINGSKENM(?:ERK)?\.?:?\s*((?:\d{4}\s){3}\d{4}|\d{7,16})(?!\d)", re.IGNORECASE)
_IBAN_AT_START = re.compile(r"^([A-Z]{2}\d{2}[A-Z0-9]{10,30})\s+(.*)$")
_KNAB = re.compile(r"REK:\s*([A-Z0-9]+)\s*/\s*NAAM:\s*(.*)$", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Description:
    name: str = ""
    iban: str = ""
    remittance: str = ""
    structured_reference: str = ""
    end_to_end_id: str = ""


def is_slash_coded(text: str) -> bool:
    return bool(re.match(r"\s*/(" + "|".join(_SLASH_KEYS) + r")/", text or ""))


def slash_coded(text: str) -> Description:
    """`/EREF/…//CNTP/…/REMI/…` (ING), `/TRTP/…/NAME/…` (ABN AMRO), `/ORDP//NAME/…` (Rabobank)."""
    parts = _SLASH_SPLIT.split(text.strip())
    fields: dict[str, str] = {}
    for key, value in zip(parts[1::2], parts[2::2]):
        if key not in fields or not fields[key]:
            fields[key] = value
    name, iban = fields.get("NAME", ""), fields.get("IBAN", "")
    if "CNTP" in fields:
        cntp = fields["CNTP"].split("/")
        iban = iban or (cntp[0] if cntp else "")
        name = name or (cntp[2] if len(cntp) > 2 else "")
    remittance, structured = "", ""
    remi = fields.get("REMI", "")
    if remi.startswith("USTD//"):
        remittance = remi[6:]
    elif remi.startswith("STRD/"):
        pieces = [p for p in remi.split("/") if p]
        structured = pieces[-1] if len(pieces) >= 3 else ""
    else:
        remittance = remi
    eref = fields.get("EREF", "").strip("/ ")
    return Description(
        name=squash(name.strip("/")), iban=normalise_iban(iban.strip("/")),
        remittance=squash(remittance.rstrip("/")), structured_reference=squash(structured),
        end_to_end_id="" if eref == "NOTPROVIDED" else eref,
    )


def labelled(text: str) -> Description:
    """`SEPA Overboeking IBAN: … BIC: … Naam: … Omschrijving: … Kenmerk: …` (ABN AMRO), and the
    `Naam: … Omschrijving: … IBAN: … Kenmerk: …` of ING's CSV `Mededelingen`."""
    parts = _LABEL_SPLIT.split(text)
    fields: dict[str, str] = {}
    for key, value in zip(parts[1::2], parts[2::2]):
        fields.setdefault(key.lower(), squash(value))
    if not fields:
        return free_text(text)
    remittance = fields.get("omschrijving") or fields.get("description") or squash(text)
    reference = fields.get("betalingskenm.") or fields.get("betalingskenmerk") or ""
    kenmerk = fields.get("kenmerk") or fields.get("reference") or ""
    return Description(
        name=fields.get("naam") or fields.get("name") or "", iban=normalise_iban(fields.get("iban", "")),
        remittance=remittance, structured_reference=reference,
        end_to_end_id="" if kenmerk == "NOTPROVIDED" else kenmerk,
    )


def triodos(text: str) -> Description:
    """`000>100000000000>20INGBNL2A>21NL27INGB0000026500>22NAME>23MORE>310338505768`."""
    joined = text.replace("\n", "")
    fields: dict[str, list[str]] = {}
    for key, value in re.findall(r">(\d{2})([^>]*)", joined):
        fields.setdefault(key, []).append(value)
    sub = {k: "".join(v) for k, v in fields.items()}
    iban = sub.get("21", "").strip()
    if is_iban(iban.replace(" ", "")):
        name = sub.get("22", "").strip()
        rest = "".join(sub.get(k, "") for k in ("23", "24", "25", "26", "27"))
        remittance = squash(rest)
    else:
        iban, name = "", ""
        remittance = squash("".join(sub.get(k, "") for k in ("20", "21", "22", "23", "24", "25", "26", "27")))
    return Description(name=squash(name), iban=normalise_iban(iban), remittance=remittance,
                       structured_reference=_kenmerk(remittance))


def free_text(text: str) -> Description:
    """Old ABN AMRO (`GIRO  428428 KPN  BETALINGSKENM. …`), SNS/ASN (`NL49RABO… name` then the text
    on its own lines) and Knab (`text` then `REK: iban/NAAM: name`)."""
    name, iban = "", ""
    knab = _KNAB.search(text)
    if knab:
        iban, name = knab.group(1), knab.group(2)
        text = text[:knab.start()] + text[knab.end():]
    lines = [line.strip() for line in text.split("\n")]
    first = _IBAN_AT_START.match(lines[0]) if lines else None
    if first and looks_like_iban(first.group(1)):
        iban, name = first.group(1), first.group(2)
        lines = lines[1:] or [""]
    remittance = squash(" ".join(lines))
    giro = re.match(r"^(?:GIRO|BGC)\s+\d+\s+(.+?)(?:\s{2,}|$)", text)
    if giro and not name:
        name = giro.group(1)
    return Description(name=squash(name), iban=normalise_iban(iban), remittance=remittance,
                       structured_reference=_kenmerk(text))


def looks_like_iban(text: str) -> bool:
    """The shape of an IBAN; anonymised statements keep the shape but not the check digits."""
    return bool(re.fullmatch(r"[A-Z]{2}\d{2}[A-Z]{4}\d{7,24}|[A-Z]{2}\d{2}[A-Z0-9]{11,30}", text or ""))


def _kenmerk(text: str) -> str:
    m = _BETALINGSKENMERK.search(text or "")
    return re.sub(r"\s", "", m.group(1)) if m else ""


def describe(text: str) -> Description:
    """Whichever layout the text is in."""
    if is_slash_coded(text):
        return slash_coded(text.replace("\n", ""))
    if re.match(r"\s*\d{3}>\d{2}", text or ""):
        return triodos(text)
    if re.search(r"(?:^|\s)(Naam|Omschrijving|Name|Description):", text or "", re.IGNORECASE) \
            and not _KNAB.search(text or ""):
        return labelled(text)
    return free_text(text or "")
