"""A deterministic demo ledger: ~250 Dutch and English debtors, 18 months of invoices with distinct
payment behaviours. Pure: the same seed and anchor date give the same data."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from email.message import EmailMessage
from email.utils import format_datetime

NL_FIRST = ["Van der Berg", "De Jong", "Jansen", "Bakker", "Visser", "Smit", "Meijer", "De Boer",
            "Mulder", "De Groot", "Bos", "Vos", "Peters", "Hendriks", "Van Leeuwen", "Dekker",
            "Brouwer", "De Wit", "Dijkstra", "Smits", "De Graaf", "Van der Meer", "Kok", "Jacobs",
            "Van Dijk", "Verhoeven", "Koster", "Prins", "Huisman", "Kuipers", "Schouten", "Willems"]
NL_TRADE = ["Installatietechniek", "Bouwmaterialen", "Logistiek", "Groothandel", "Metaalbewerking",
            "Drukkerij", "Schoonmaakdiensten", "Elektrotechniek", "Transport", "Houthandel",
            "Interieurbouw", "Tuinaanleg", "Koeltechniek", "Verpakkingen", "Automatisering",
            "Kantoorinrichting", "Bakkerij", "Horeca Groothandel", "Dakwerken", "Loodgietersbedrijf"]
NL_FORM = ["B.V.", "B.V.", "B.V.", "V.O.F.", "Holding B.V.", "& Zn. B.V.", "N.V."]
NL_CITIES = ["Amsterdam", "Rotterdam", "Utrecht", "Eindhoven", "Zwolle", "Groningen", "Breda",
             "Arnhem", "Tilburg", "Almere", "Leiden", "Haarlem", "Apeldoorn", "Enschede", "Delft"]
EN_FIRST = ["Northwind", "Harbour", "Bridgewater", "Kingsley", "Ashford", "Redwood", "Blackstone",
            "Westfield", "Oakridge", "Silverline", "Greenway", "Hillcrest", "Riverside", "Sterling"]
EN_TRADE = ["Traders", "Engineering", "Supplies", "Logistics", "Foods", "Packaging", "Systems",
            "Components", "Textiles", "Distribution"]
EN_FORM = ["Ltd", "Ltd", "plc", "Inc.", "LLC", "GmbH"]
GIVEN_NL = ["Anouk", "Bram", "Daan", "Eva", "Femke", "Joost", "Lotte", "Maarten", "Noor", "Pieter",
            "Ruben", "Sanne", "Thijs", "Wouter", "Inge", "Marieke", "Sven", "Kees"]
GIVEN_EN = ["Alice", "James", "Olivia", "Harry", "Emily", "George", "Sophie", "Thomas", "Grace"]
SEGMENTS = ["Bouw", "Groothandel", "Industrie", "Zakelijke dienstverlening", "Horeca", "Retail"]
MANAGERS = ["Sanne de Vries", "Mark Jansen", "Priya Kapoor", "Tom Bakker"]

# name, share of debtors, days late (min, max) for a typical invoice, chance it stays long open
BEHAVIOURS = [
    ("prompt", 0.40, (-6, 2), 0.00),
    ("slipper", 0.20, (-3, 12), 0.01),
    ("slow", 0.20, (5, 35), 0.03),
    ("chronic", 0.12, (25, 95), 0.10),
    ("disputer", 0.05, (0, 40), 0.05),
    ("new", 0.03, (0, 10), 0.00),
]


@dataclass
class DemoData:
    debtors: list[dict] = field(default_factory=list)
    invoices: list[dict] = field(default_factory=list)
    changes: list[dict] = field(default_factory=list)  # keyed by invoice "number"
    notes: list[dict] = field(default_factory=list)  # keyed by debtor "code", optional "number"
    mails: list[dict] = field(default_factory=list)  # what came back to the team mailbox: key, raw bytes


def _pick_behaviour(rng: random.Random) -> tuple:
    x = rng.random()
    acc = 0.0
    for b in BEHAVIOURS:
        acc += b[1]
        if x < acc:
            return b
    return BEHAVIOURS[0]


def _company(rng: random.Random, english: bool, used: set[str]) -> str:
    while True:
        if english:
            name = f"{rng.choice(EN_FIRST)} {rng.choice(EN_TRADE)} {rng.choice(EN_FORM)}"
        else:
            name = f"{rng.choice(NL_FIRST)} {rng.choice(NL_TRADE)} {rng.choice(NL_FORM)}"
            if rng.random() < 0.3:
                name = name.replace(" B.V.", f" {rng.choice(NL_CITIES)} B.V.")
        if name not in used:
            used.add(name)
            return name


_STREETS_NL = ("Kerkstraat", "Industrieweg", "Stationsplein", "Havenweg", "Marktstraat", "Nijverheidsweg",
               "Energieweg", "Handelskade", "Molenweg", "Dorpsstraat")
_CITIES_NL = ("Amsterdam", "Rotterdam", "Utrecht", "Eindhoven", "Zwolle", "Groningen", "Breda", "Arnhem",
              "Leiden", "Tilburg")
_STREETS_EN = ("High Street", "Station Road", "Mill Lane", "Church Street", "Victoria Road", "Park Avenue")
_CITIES_EN = ("London", "Manchester", "Bristol", "Leeds", "Birmingham")


def _postal_address(code: str, english: bool) -> str:
    """A made-up postal address (its own random numbers, so the rest of the demo stays the same)."""
    r = random.Random(f"address-{code}")
    if english:
        return (f"{r.randint(1, 220)} {r.choice(_STREETS_EN)}\n{r.choice(_CITIES_EN)}\n"
                f"{r.choice('BLMS')}{r.randint(1, 20)} {r.randint(1, 9)}{r.choice('ABDEFGHJ')}{r.choice('LNPQRSTU')}\n"
                "United Kingdom")
    return (f"{r.choice(_STREETS_NL)} {r.randint(1, 180)}\n{r.randint(1011, 9999)} "
            f"{r.choice('ABCDEGHJKLMNPRSTVWXZ')}{r.choice('ABCDEGHJKLMNPRSTVWXZ')}  {r.choice(_CITIES_NL)}")


def _slug(name: str) -> str:
    base = name.split()[0:2]
    return "".join(ch for ch in "".join(base).lower() if ch.isalnum())[:20] or "klant"


def generate(seed: int = 42, anchor: date | None = None, n_debtors: int = 250, months: int = 18) -> DemoData:
    """The demo ledger as of `anchor` (default today): invoices from `months` months back up to it."""
    rng = random.Random(seed)
    anchor = anchor or date.today()
    start = anchor - timedelta(days=int(months * 30.44))
    data = DemoData()
    used: set[str] = set()
    seq = 0
    for i in range(n_debtors):
        english = rng.random() < 0.15
        name = _company(rng, english, used)
        behaviour = _pick_behaviour(rng)
        code = f"{10001 + i:05d}" if i % 10 else f"0{1001 + i}"  # a few codes with a leading zero
        currency = "USD" if english and rng.random() < 0.3 else ("GBP" if english and rng.random() < 0.2 else "EUR")
        given = rng.choice(GIVEN_EN if english else GIVEN_NL)
        term = rng.choice([14, 30, 30, 30, 30, 45, 60]) if behaviour[0] != "new" else 30
        slug = _slug(name)
        # reserved domain (RFC 2606): a demo reminder sent by mistake can never reach a real mailbox
        tld = "example"
        debtor = {
            "code": code, "name": name, "email": f"crediteuren@{slug}.{tld}" if not english else f"accounts@{slug}.{tld}",
            "contact_person": f"{given} {name.split()[0] if not english else rng.choice(['Smith', 'Brown', 'Taylor', 'Clarke'])}",
            "phone": f"+31 {rng.randint(10, 79)} {rng.randint(100, 999)} {rng.randint(1000, 9999)}" if not english
            else f"+44 20 {rng.randint(1000, 9999)} {rng.randint(1000, 9999)}",
            "language": "en" if english else "nl", "is_consumer": False, "payment_term_days": term,
            "segment": rng.choice(SEGMENTS), "account_manager": rng.choice(MANAGERS), "is_demo": True,
            "behaviour": behaviour[0], "currency": currency, "address": _postal_address(code, english),
        }
        data.debtors.append(debtor)

        # invoices: a debtor buys regularly; 'new' debtors only in the last two months
        first = start if behaviour[0] != "new" else anchor - timedelta(days=rng.randint(20, 60))
        per_month = rng.choice([0.6, 1, 1, 1.5, 2, 2, 3])
        n_inv = max(1, int((anchor - first).days / 30.44 * per_month * rng.uniform(0.7, 1.3)))
        size = rng.choice([150, 400, 900, 2500, 6000, 15000])
        lo, hi = behaviour[2]
        for _ in range(n_inv):
            seq += 1
            inv_date = first + timedelta(days=rng.randint(0, max(0, (anchor - first).days)))
            due = inv_date + timedelta(days=term)
            amount = int(size * rng.uniform(0.3, 1.8) * 100) + rng.randint(0, 99)
            number = f"{inv_date.year}-{seq:05d}"
            inv = {"number": number, "debtor_code": code, "invoice_date": inv_date, "due_date": due,
                   "currency": currency, "amount_cents": amount, "description": f"Levering {inv_date:%m/%Y}",
                   "disputed": False, "is_demo": True}
            data.invoices.append(inv)
            late = rng.randint(lo, hi)
            if rng.random() < behaviour[3]:
                late += rng.randint(60, 200)
            paid_on = due + timedelta(days=late)
            if paid_on <= inv_date:
                paid_on = inv_date + timedelta(days=rng.randint(1, 5))
            if behaviour[0] == "disputer" and rng.random() < 0.15 and (anchor - due).days > 0:
                inv["disputed"] = True
                paid_on = anchor + timedelta(days=999)  # disputed invoices stay open
            if paid_on <= anchor:
                if rng.random() < 0.04 and amount > 20000:
                    part = amount // 2
                    first_pay = paid_on - timedelta(days=rng.randint(5, 20))
                    if first_pay > inv_date:
                        data.changes.append({"number": number, "change_date": first_pay,
                                             "kind": "payment", "delta_cents": -part})
                        data.changes.append({"number": number, "change_date": paid_on,
                                             "kind": "payment", "delta_cents": -(amount - part)})
                        continue
                data.changes.append({"number": number, "change_date": paid_on, "kind": "payment",
                                     "delta_cents": -amount})
            elif rng.random() < 0.06 and amount > 20000 and (anchor - inv_date).days > 10:
                part = amount // 3
                data.changes.append({"number": number, "change_date": anchor - timedelta(days=rng.randint(1, 9)),
                                     "kind": "payment", "delta_cents": -part})
        # a credit note now and then, settled against the account some weeks later
        if rng.random() < 0.25:
            seq += 1
            cn_date = anchor - timedelta(days=rng.randint(5, 400))
            amount = -int(size * rng.uniform(0.05, 0.3) * 100)
            number = f"CN{cn_date.year}-{seq:05d}"
            data.invoices.append({"number": number, "debtor_code": code, "invoice_date": cn_date,
                                  "due_date": cn_date, "currency": currency, "amount_cents": amount,
                                  "description": "Creditnota retour", "disputed": False, "is_demo": True})
            settle = cn_date + timedelta(days=rng.randint(10, 60))
            if settle <= anchor:
                data.changes.append({"number": number, "change_date": settle, "kind": "credit",
                                     "delta_cents": -amount})
    _demo_notes(rng, data, anchor)
    _demo_mails(seed, data, anchor)
    return data


def _demo_notes(rng: random.Random, data: DemoData, anchor: date) -> None:
    by_debtor: dict[str, list[dict]] = {}
    for inv in data.invoices:
        by_debtor.setdefault(inv["debtor_code"], []).append(inv)
    for d in data.debtors:
        invs = by_debtor.get(d["code"], [])
        if d["behaviour"] in ("chronic", "slow") and rng.random() < 0.5:
            when = anchor - timedelta(days=rng.randint(3, 40))
            data.notes.append({"debtor_code": d["code"], "kind": "call", "outcome": "reached",
                               "text": f"{d['contact_person']} gebeld: betaling is in de planning, volgende week.",
                               "created_at": when, "created_by": "demo"})
            if rng.random() < 0.6:
                promise_date = anchor + timedelta(days=rng.randint(-20, 14))
                data.notes.append({"debtor_code": d["code"], "kind": "promise",
                                   "text": "Toezegging telefonisch ontvangen.", "promise_date": promise_date,
                                   "promise_cents": sum(i["amount_cents"] for i in invs[-2:]),
                                   "outcome": "pending", "created_at": when, "created_by": "demo"})
        if d["behaviour"] == "disputer":
            for inv in invs:
                if inv["disputed"]:
                    data.notes.append({"debtor_code": d["code"], "number": inv["number"], "kind": "dispute",
                                       "text": "Klant betwist de hoeveelheid: 2 pallets retour gestuurd.",
                                       "created_at": min(anchor, inv["due_date"] + timedelta(days=2)),
                                       "created_by": "demo"})
        if rng.random() < 0.1:
            data.notes.append({"debtor_code": d["code"], "kind": "note",
                               "text": "Facturen voortaan naar de centrale crediteurenadministratie.",
                               "created_at": anchor - timedelta(days=rng.randint(30, 300)), "created_by": "demo"})


# --- the team mailbox ---------------------------------------------------------------------------------

_NL_MONTHS = ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober",
              "november", "december")
TEAM_MAILBOX = "debiteuren@demo-groothandel.example"


def _overdue(data: DemoData, anchor: date) -> dict[str, list[dict]]:
    """Per debtor, the invoices open and past due on the anchor date, oldest first."""
    paid: dict[str, int] = {}
    for c in data.changes:
        paid[c["number"]] = paid.get(c["number"], 0) + c["delta_cents"]
    out: dict[str, list[dict]] = {}
    for inv in data.invoices:
        if inv["amount_cents"] > 0 and inv["due_date"] < anchor and inv["amount_cents"] + paid.get(inv["number"], 0) > 0:
            out.setdefault(inv["debtor_code"], []).append(inv)
    return {code: sorted(invs, key=lambda i: i["due_date"]) for code, invs in out.items()}


def _mail(sender: str, subject: str, body: str, when: datetime, key: str, **headers) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = TEAM_MAILBOX
    msg["Subject"] = subject
    msg["Date"] = format_datetime(when.replace(tzinfo=UTC))
    msg["Message-ID"] = f"<{key}@demo-mail.example>"
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg


def _demo_mails(seed: int, data: DemoData, anchor: date) -> None:
    """Replies, an unassigned mail, an out-of-office and a bounce, as the mailbox would read them (its own
    random numbers, so the rest of the demo stays the same)."""
    rng = random.Random(f"mail-{seed}")
    overdue = _overdue(data, anchor)
    shared = {e for e in (d["email"] for d in data.debtors) if [x["email"] for x in data.debtors].count(e) > 1}
    by_kind: dict[tuple[str, bool], list[dict]] = {}
    for d in data.debtors:
        if d["code"] in overdue and d["email"] not in shared:  # so each mail links to its one debtor
            by_kind.setdefault((d["behaviour"], d["language"] == "en"), []).append(d)
    used: set[str] = set()

    def pick(*kinds, english=False) -> dict | None:
        pool = [d for k in kinds for d in by_kind.get((k, english), []) if d["code"] not in used]
        if not pool:
            return None
        d = rng.choice(pool)
        used.add(d["code"])
        return d

    def at(days_ago: int, hour: int) -> datetime:
        return datetime.combine(anchor - timedelta(days=days_ago), time(hour, rng.randint(0, 59)))

    def add(kind: str, msg: EmailMessage | bytes) -> None:
        key = f"demo:{seed}:{len(data.mails)}:{kind}"
        if isinstance(msg, EmailMessage) and msg.is_multipart():
            msg.set_boundary(f"=={key.replace(':', '.')}==")  # not the random one: the same seed, the same bytes
        data.mails.append({"key": key, "raw": msg if isinstance(msg, bytes) else msg.as_bytes()})

    if d := pick("slow", "slipper"):
        number = overdue[d["code"]][0]["number"]
        add("reply", _mail(f"{d['contact_person']} <{d['email']}>", "Re: Herinnering openstaande facturen",
                           f"Goedemorgen,\n\nFactuur {number} is gisteren door ons betaald; het bedrag is onderweg. "
                           f"Wilt u dit controleren?\n\nMet vriendelijke groet,\n{d['contact_person']}\n{d['name']}\n",
                           at(1, 9), f"paid-{d['code']}", In_Reply_To="<demo-reminder@demo-groothandel.example>"))
    if d := pick("disputer", "chronic"):
        number = overdue[d["code"]][-1]["number"]
        add("reply", _mail(f"{d['contact_person']} <{d['email']}>", f"Re: Herinnering factuur {number}",
                           f"Beste,\n\nFactuur {number} klopt niet: er zijn twee pallets retour gestuurd die nog op de "
                           "factuur staan. Graag een creditnota, dan betalen wij de rest direct.\n\n"
                           f"Groet,\n{d['contact_person']}\n", at(0, 8), f"wrong-{d['code']}"))
    if d := pick("slow", "slipper", "chronic", "prompt", english=True):
        number = overdue[d["code"]][0]["number"]
        msg = _mail(f"{d['contact_person']} <{d['email']}>", "RE: Payment reminder",
                    f"Hello,\n\nApologies for the delay. Our payment run is on Friday and invoice {number} is "
                    f"included; the remittance advice is attached.\n\nKind regards,\n{d['contact_person']}\n",
                    at(2, 15), f"friday-{d['code']}")
        msg.add_attachment(b"%PDF-1.4 remittance advice (demo)\n", maintype="application", subtype="pdf",
                           filename="remittance-advice.pdf")
        add("reply", msg)
    add("reply", _mail("Afdeling crediteuren <administratie@onbekend-bedrijf.example>", "Vraag over uw herinnering",
                       "Goedendag,\n\nWij ontvingen een herinnering, maar kunnen het factuurnummer niet vinden in onze "
                       "administratie. Kunt u de factuur opnieuw sturen naar dit adres?\n\nMet vriendelijke groet,\n"
                       "Afdeling crediteuren\n", at(1, 11), "unknown-sender"))
    if d := pick("slow", "chronic", "slipper"):
        back = anchor + timedelta(days=rng.randint(4, 9))
        add("auto", _mail(f"{d['contact_person']} <{d['email']}>", "Automatisch antwoord: Herinnering openstaande facturen",
                          f"Dank voor uw bericht. Ik ben afwezig tot en met {back.day} {_NL_MONTHS[back.month - 1]} "
                          f"{back.year}.\nVoor dringende zaken kunt u bellen met {d['phone']}.\n", at(1, 7),
                          f"away-{d['code']}", Auto_Submitted="auto-replied"))
    if d := pick("chronic", "slow", "slipper"):
        add("bounce", _bounce(d["email"], at(3, 6), f"bounce-{d['code']}"))


def _bounce(recipient: str, when: datetime, key: str) -> bytes:
    """A delivery status notification (RFC 3464) as Postfix writes it."""
    words = f"550 5.1.1 <{recipient}>: Recipient address rejected: User unknown in virtual mailbox table"
    return f"""From: Mail Delivery System <MAILER-DAEMON@mx.demo-groothandel.example>
To: {TEAM_MAILBOX}
Subject: Undelivered Mail Returned to Sender
Date: {format_datetime(when.replace(tzinfo=UTC))}
Message-ID: <{key}@mx.demo-groothandel.example>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="DEMO-BOUNDARY"

--DEMO-BOUNDARY
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.demo-groothandel.example.

I'm sorry to have to inform you that your message could not be delivered to one or more recipients.

<{recipient}>: host mx.klant.example said: {words}

--DEMO-BOUNDARY
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.demo-groothandel.example

Final-Recipient: rfc822; {recipient}
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; {words}

--DEMO-BOUNDARY--
""".replace("\n", "\r\n").encode()
