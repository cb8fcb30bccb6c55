"""Collection costs, statutory interest, part payments, prescription and the consumer's 14-day term
(Netherlands / EU). Pure; money in cents, dates are parameters.

Legal sources (Burgerlijk Wetboek, BW):
- art. 6:96 lid 2 sub c, lid 4–7 BW and the Besluit vergoeding voor buitengerechtelijke incassokosten (BIK):
  extrajudicial collection costs; lid 4: the fixed €40 for a business; lid 6: a consumer first gets the
  14-day letter; lid 7: one letter for every claim that can be demanded, costs on the sum of principals.
- art. 6:119 BW: statutory interest (consumers and other non-commercial claims), compounded yearly (lid 2);
  the rate by decree (art. 6:120 lid 1, Besluit vaststelling wettelijke rente).
- art. 6:119a, 6:120 lid 2 BW: statutory commercial interest = the ECB main refinancing rate before
  1 January / 1 July + 8 points (7 points before 16 March 2013).
- art. 6:44 BW: a payment goes first to costs, then to interest that has fallen due, then to the principal.
- art. 3:307, 7:28, 3:317, 3:319 BW: prescription, and its interruption by a written demand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from receivables.domain.errors import Problem
from receivables.domain.phrases import Phrase
from receivables.domain.translation import N_

# Besluit vergoeding buitengerechtelijke incassokosten, art. 2: (slice upper bound in cents, rate)
BIK_STAFFEL = ((250_000, Decimal("0.15")), (500_000, Decimal("0.10")), (1_000_000, Decimal("0.05")),
               (20_000_000, Decimal("0.01")), (None, Decimal("0.005")))
BIK_MIN_CENTS = 4_000  # Besluit BIK art. 2 lid 1: at least €40
BIK_MAX_CENTS = 677_500  # Besluit BIK art. 2 lid 1: at most €6,775
EU_FIXED_CENTS = 4_000  # art. 6:96 lid 4 BW (Directive 2011/7/EU art. 6): €40 per late invoice, no reminder needed
WIK_TERM_DAYS = 14  # art. 6:96 lid 6 BW: 14 days, starting the day after receipt of the letter
COST_MODES = ("none", "eu40", "bik")

COMMERCIAL = "commercial"  # art. 6:119a BW
CONSUMER = "consumer"  # art. 6:119 BW
INTEREST_KINDS = (COMMERCIAL, CONSUMER)
INTEREST_NAMES = {COMMERCIAL: N_("statutory commercial interest (art. 6:119a BW)"),
                  CONSUMER: N_("statutory interest (art. 6:119 BW)")}

_ECB = "ECB main refinancing rate {mro} % before {day} + {points} points (art. 6:120 lid 2 BW)"
_DECREE = "Besluit vaststelling wettelijke rente (art. 6:120 lid 1 BW), {day}"


@dataclass(frozen=True)
class Rate:
    """One row of a rate table: the percentage a year from `start` until the next row, and where it was
    published."""

    start: date
    percent: Decimal
    source: str = ""


def _commercial(day: str, percent: str, mro: str, points: int = 8, source: str = "") -> Rate:
    start = date.fromisoformat(day)
    return Rate(start, Decimal(percent), source or _ECB.format(mro=mro, day=start.strftime("%d-%m-%Y"), points=points))


# Wettelijke handelsrente from its start in this form (2002-12-01). Each rate is the ECB's main refinancing
# rate (the marginal rate of the last tender while the ECB auctioned at variable rates, 2002-2008) before
# the half-year + 7 points, + 8 points from 16-03-2013 (Wet van 12 december 2012, Stb. 2012, 649).
# Checked against: raadvanarbitrage.nl "Wettelijke rente, wettelijke handelsrente" (2002-2010),
# vdkraan.nl "Wettelijke rente 2013" (2007-2013), advocatenkantooroste.nl (2014-2015), rechtnet.nl
# (2016-01-01), rijksoverheid.nl "Hoe hoog is de wettelijke rente?" (8 % until 2022), abenslag.nl
# (2023-01-01), watsonlaw.nl (2023-07-01), wieringa-advocaten.nl (2024-01-01), metaalunie.nl (2024-07-01),
# vvoadvocatuur.nl (2025-01-01), ECB press releases of 5 June 2025 and 18 December 2025 (MRO 2.15 %).
COMMERCIAL_RATES: tuple[Rate, ...] = (
    _commercial("2002-12-01", "10.35", "3.35", 7),
    _commercial("2003-01-01", "9.85", "2.85", 7),
    _commercial("2003-07-01", "9.10", "2.10", 7),
    _commercial("2004-01-01", "9.01", "2.01", 7),  # unchanged on 2004-07-01 (2.01 %)
    _commercial("2005-01-01", "9.09", "2.09", 7),
    _commercial("2005-07-01", "9.05", "2.05", 7),
    _commercial("2006-01-01", "9.25", "2.25", 7),
    _commercial("2006-07-01", "9.83", "2.83", 7),
    _commercial("2007-01-01", "10.58", "3.58", 7),
    _commercial("2007-07-01", "11.07", "4.07", 7),
    _commercial("2008-01-01", "11.20", "4.20", 7),
    _commercial("2008-07-01", "11.07", "4.07", 7),
    _commercial("2009-01-01", "9.50", "2.50", 7),
    _commercial("2009-07-01", "8.00", "1.00", 7),  # 1 % until 13-04-2011
    _commercial("2011-07-01", "8.25", "1.25", 7),
    _commercial("2012-01-01", "8.00", "1.00", 7),
    _commercial("2013-01-01", "7.75", "0.75", 7),
    _commercial("2013-03-16", "8.75", "0.75", 8,
                "ECB main refinancing rate 0.75 % + 8 points from 16-03-2013 (Stb. 2012, 649; Directive 2011/7/EU)"),
    _commercial("2013-07-01", "8.50", "0.50"),
    _commercial("2014-01-01", "8.25", "0.25"),
    _commercial("2014-07-01", "8.15", "0.15"),
    _commercial("2015-01-01", "8.05", "0.05"),  # unchanged until 2016-06-30
    _commercial("2016-07-01", "8.00", "0.00"),  # unchanged until 2022-12-31
    _commercial("2023-01-01", "10.50", "2.50"),
    _commercial("2023-07-01", "12.00", "4.00"),
    _commercial("2024-01-01", "12.50", "4.50"),
    _commercial("2024-07-01", "12.25", "4.25"),
    _commercial("2025-01-01", "11.15", "3.15"),
    _commercial("2025-07-01", "10.15", "2.15"),
    _commercial("2026-01-01", "10.15", "2.15"),  # ECB unchanged on 18-12-2025
)

# Wettelijke rente for non-commercial claims (art. 6:119 BW), set by decree. Checked against
# raadvanarbitrage.nl (2002-2010), iqount.nl (2011-07-01), advocatenkantooroste.nl (2015-01-01),
# rijksoverheid.nl (2 % until 2022), abenslag.nl (KB 15-12-2022: 4 %), vfn.nl (Stb. 2023, 235: 6 %;
# 7 % from 2024), vvoadvocatuur.nl (6 % from 2025-01-01).
CONSUMER_RATES: tuple[Rate, ...] = (
    Rate(date(2002, 1, 1), Decimal("7"), _DECREE.format(day="01-01-2002")),
    Rate(date(2003, 8, 1), Decimal("5"), _DECREE.format(day="01-08-2003")),
    Rate(date(2004, 2, 1), Decimal("4"), _DECREE.format(day="01-02-2004")),
    Rate(date(2007, 1, 1), Decimal("6"), _DECREE.format(day="01-01-2007")),
    Rate(date(2009, 7, 1), Decimal("4"), _DECREE.format(day="01-07-2009")),
    Rate(date(2010, 1, 1), Decimal("3"), _DECREE.format(day="01-01-2010")),
    Rate(date(2011, 7, 1), Decimal("4"), _DECREE.format(day="01-07-2011")),
    Rate(date(2012, 7, 1), Decimal("3"), _DECREE.format(day="01-07-2012")),
    Rate(date(2015, 1, 1), Decimal("2"), _DECREE.format(day="01-01-2015")),
    Rate(date(2023, 1, 1), Decimal("4"), _DECREE.format(day="01-01-2023 (KB 15-12-2022)")),
    Rate(date(2023, 7, 1), Decimal("6"), _DECREE.format(day="01-07-2023 (Stb. 2023, 235)")),
    Rate(date(2024, 1, 1), Decimal("7"), _DECREE.format(day="01-01-2024 (AMvB 20-12-2023)")),
    Rate(date(2025, 1, 1), Decimal("6"), _DECREE.format(day="01-01-2025")),
)

# The table shape the settings and the engine pass around: ((start, percent), …)
DEFAULT_INTEREST_RATES = tuple((r.start, r.percent) for r in COMMERCIAL_RATES)
DEFAULT_CONSUMER_RATES = tuple((r.start, r.percent) for r in CONSUMER_RATES)
DEFAULT_RATE_TABLES = {COMMERCIAL: COMMERCIAL_RATES, CONSUMER: CONSUMER_RATES}


class CostError(Problem):
    """Cost settings or a rate table that cannot be used; the message says what to fix."""


class MissingRateError(CostError):
    """Interest is asked for a day before the first rate of the table: never charged at 0 %."""


def _cents(value: Decimal) -> int:
    return int(value.quantize(Decimal("1"), rounding=ROUND_HALF_UP))


def bik_cents(principal_cents: int) -> int:
    """Extrajudicial collection costs on a principal by the BIK staffel, min €40, max €6,775."""
    if principal_cents <= 0:
        return 0
    total, lower = Decimal(0), 0
    for upper, rate in BIK_STAFFEL:
        top = principal_cents if upper is None else min(principal_cents, upper)
        if top > lower:
            total += (top - lower) * rate
        if upper is None or principal_cents <= upper:
            break
        lower = upper
    return max(BIK_MIN_CENTS, min(BIK_MAX_CENTS, _cents(total)))


def with_vat(cents: int, vat_percent: Decimal | int | str) -> int:
    return _cents(Decimal(cents) * (1 + Decimal(str(vat_percent)) / 100))


# --- rate tables ------------------------------------------------------------------------------------

def parse_rate_rows(rows: list) -> tuple[Rate, ...]:
    """A rate table from stored rows [["2024-01-01", 12.5, "source"], …] or {"from", "rate", "source"};
    sorted, one row per start date, every rate a percentage from 0 to 100."""
    out = []
    for n, row in enumerate(rows, start=1):
        if isinstance(row, dict):
            start, rate, source = row.get("from"), row.get("rate"), row.get("source") or ""
        else:
            start, rate, source = (list(row) + [""])[:3]
        try:
            start = start if isinstance(start, date) else date.fromisoformat(str(start).strip()[:10])
        except ValueError:
            raise CostError(N_("rate {n}: '{value}' is not a date; write it as 2025-01-01"), n=n,
                            value=str(start)) from None
        try:
            rate = Decimal(str(rate).strip().replace(",", "."))
        except InvalidOperation:
            raise CostError(N_("rate {n}: '{value}' is not a percentage"), n=n, value=str(rate)) from None
        if not rate.is_finite() or rate < 0 or rate > 100:
            raise CostError(N_("interest rate {rate} from {day} is not a percentage between 0 and 100"),
                            rate=str(rate), day=f"{start:%d-%m-%Y}")
        out.append(Rate(start, rate, str(source or "").strip()))
    out.sort(key=lambda r: r.start)
    if len({r.start for r in out}) != len(out):
        raise CostError(N_("every rate needs its own start date"))
    return tuple(out)


def parse_rates(rows: list) -> tuple[tuple[date, Decimal], ...]:
    """A rate table as ((start, percent), …) from its stored rows (see `parse_rate_rows`)."""
    return tuple((r.start, r.percent) for r in parse_rate_rows(rows))


def rates_to_rows(rates: tuple[Rate, ...]) -> list[list[str]]:
    return [[r.start.isoformat(), str(r.percent), r.source] for r in rates]


def _rate_on(rates, day: date, kind: str = COMMERCIAL) -> Decimal:
    current = None
    for start, rate in rates:
        if start <= day:
            current = rate
        else:
            break
    if current is None:
        interest = Phrase(INTEREST_NAMES[kind]) if kind in INTEREST_NAMES else kind
        if rates:
            raise MissingRateError(N_("no rate of {interest} is known for {day} (the table starts on {first}); add the "
                                      "published rate under Settings → Reminders → interest rates"),
                                   interest=interest, day=f"{day:%d-%m-%Y}", first=f"{rates[0][0]:%d-%m-%Y}")
        raise MissingRateError(N_("no rate of {interest} is known for {day} (the table is empty); add the published "
                                  "rate under Settings → Reminders → interest rates"),
                               interest=interest, day=f"{day:%d-%m-%Y}")
    return current


def half_years_without_rate(rates, today: date) -> list[date]:
    """The 1 January / 1 July dates up to `today`, after the newest rate, for which the table has no row:
    a rate holds until the next one, so each of these runs on the older rate until a person adds the
    published one (a row with the same percentage confirms it)."""
    if not rates:
        return []
    newest = max(d for d, _ in rates)
    out, d = [], date(newest.year, 7, 1) if newest.month < 7 else date(newest.year + 1, 1, 1)
    while d <= today:
        out.append(d)
        d = date(d.year, 7, 1) if d.month == 1 else date(d.year + 1, 1, 1)
    return out


# --- interest -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class InterestPeriod:
    start: date
    end: date  # inclusive
    rate: Decimal  # percent a year
    principal_cents: Decimal  # what the interest ran on: the outstanding principal + capitalised interest
    interest: Decimal


def _add_year(d: date) -> date:
    try:
        return d.replace(year=d.year + 1)
    except ValueError:  # 29 February
        return d.replace(year=d.year + 1, day=28)


@dataclass
class InvoiceInterest:
    """Interest of one invoice up to a day, with part payments applied (art. 6:44 BW)."""

    accrued: Decimal = Decimal(0)  # all interest that ran, paid or not
    paid: Decimal = Decimal(0)  # interest that payments settled
    principal_cents: int = 0  # principal still open
    periods: list[InterestPeriod] = field(default_factory=list)

    @property
    def open(self) -> Decimal:
        return self.accrued - self.paid


def interest_on(amount_cents: int, due_date: date, until: date, rates, *, payments=(), reductions=(),
                kind: str = COMMERCIAL) -> InvoiceInterest:
    """Statutory interest of an invoice from the day after the due date up to and including `until`.

    - Actual days / 365, split where the rate changes (art. 6:119a, 6:120 lid 2 BW).
    - Compounded yearly: after each full year that year's interest is added to the sum the interest runs
      on (art. 6:119 lid 2 BW).
    - Interest runs on what was outstanding each day: `payments` (day, cents paid, already net of the
      part that went to costs) count from the day they were made. A payment goes first to interest that
      has fallen due, which is the interest of completed years (the capitalised interest), and then to
      the principal; the interest of the running year is paid with the principal, last (art. 6:44 lid 1
      BW: "de hoofdsom en de lopende rente"). `reductions` (credit notes, write-offs, corrections: day,
      cents) lower the principal itself, since they reduce the debt rather than pay it.
    MissingRateError when a day has no rate."""
    result = InvoiceInterest(principal_cents=amount_cents)
    start = due_date + timedelta(days=1)
    events: dict[date, list[tuple[str, int]]] = {}
    for day, cents in payments:
        events.setdefault(max(day, start), []).append(("pay", int(cents)))
    for day, cents in reductions:
        events.setdefault(max(day, start), []).append(("reduce", int(cents)))
    principal = Decimal(amount_cents)
    capitalised = running = Decimal(0)
    rates = tuple(rates)

    def apply(day: date) -> None:
        nonlocal principal, capitalised, running
        for what, cents in events.get(day, ()):
            left = Decimal(cents)
            if what == "reduce":
                principal = max(Decimal(0), principal - left)
                continue
            for pot in ("capitalised", "principal", "running"):
                have = {"capitalised": capitalised, "principal": principal, "running": running}[pot]
                take = min(have, left)
                left -= take
                if pot == "capitalised":
                    capitalised -= take
                    result.paid += take
                elif pot == "principal":
                    principal -= take
                else:
                    running -= take
                    result.paid += take

    if until < start:  # nothing ran yet: payments and reductions only lower the principal
        done = sum(int(c) for d, c in (*payments, *reductions) if d <= until)
        result.principal_cents = max(0, amount_cents - done)
        return result
    change_days = sorted({d for d, _ in rates} | set(events))
    year_start = start
    while year_start <= until:
        year_end = min(_add_year(year_start) - timedelta(days=1), until)
        seg_start = year_start
        while seg_start <= year_end:
            apply(seg_start)
            nxt = [d for d in change_days if seg_start < d <= year_end]
            seg_end = (min(nxt) - timedelta(days=1)) if nxt else year_end
            rate = _rate_on(rates, seg_start, kind)
            days = (seg_end - seg_start).days + 1
            base = principal + capitalised
            interest = base * rate / 100 * days / 365
            if base > 0:
                result.periods.append(InterestPeriod(seg_start, seg_end, rate, base, interest))
            result.accrued += interest
            running += interest
            seg_start = seg_end + timedelta(days=1)
        if year_end == _add_year(year_start) - timedelta(days=1):  # a full year: compounding
            capitalised += running
            running = Decimal(0)
        year_start = year_end + timedelta(days=1)
    result.principal_cents = _cents(principal)
    return result


def commercial_interest(principal_cents: int, due_date: date, until: date,
                        rates=DEFAULT_INTEREST_RATES) -> tuple[int, list[InterestPeriod]]:
    """Statutory commercial interest on a principal that stayed open, from the day after the due date up
    to and including `until` (see `interest_on`)."""
    if principal_cents <= 0:
        return 0, []
    r = interest_on(principal_cents, due_date, until, rates)
    return _cents(r.accrued), r.periods


# --- the consumer's 14-day letter -----------------------------------------------------------------------

def nl_delivery_day(day: date) -> bool:
    """Post is delivered in the Netherlands on this day: not a Sunday, not a Monday (PostNL does not
    deliver letters on Mondays since 2020), not a public holiday (the `holidays` package's NL calendar)."""
    import holidays

    return day.weekday() not in (0, 6) and day not in holidays.NL(years=day.year)


def presumed_receipt(sent_on: date, channel: str) -> date:
    """The day a letter is presumed received. E-mail: the day it was sent. Post: the second delivery day
    after sending (HR 25-11-2016, ECLI:NL:HR:2016:2704, on art. 6:96 lid 6 BW)."""
    if channel != "letter":
        return sent_on
    day, counted = sent_on, 0
    while counted < 2:
        day += timedelta(days=1)
        if nl_delivery_day(day):
            counted += 1
    return day


def wik_costs_from(letter_sent_on: date, channel: str = "email", extra_days: int = 0) -> date:
    """The first day costs may be charged to a consumer after the 14-day letter: the 14 days start the day
    after receipt (art. 6:96 lid 6 BW), so the day after those 14 days. `extra_days` (a setting) may only
    make this later."""
    return presumed_receipt(letter_sent_on, channel) + timedelta(days=WIK_TERM_DAYS + 1 + max(0, int(extra_days)))


# The words that make a message the 14-day letter (art. 6:96 lid 6 BW): the term counted from the day after
# receipt, in the safe wording, and the exact amount of the costs. Rendered from the templates, or checked
# in a text a person wrote.
WIK_TERM = {
    "nl": re.compile(r"binnen (14|veertien) dagen na de dag waarop u deze (brief|e-mail|aanmaning) (heeft ontvangen|"
                     r"ontvangt)", re.IGNORECASE),
    "en": re.compile(r"within (14|fourteen) days, counted from the day after the day you receive this "
                     r"(letter|e-mail|demand)", re.IGNORECASE),
}


def _plain(text: str) -> str:
    return re.sub(r"([€$£])\s+(?=\d)", r"\1", " ".join((text or "").replace("\u00a0", " ").split()))


def is_wik_letter(text: str, announced_cents: int, currency: str, language: str) -> bool:
    """Whether the words of a message make it the 14-day letter: they give the 14-day term from the day
    after receipt and state the exact cost amount (art. 6:96 lid 6 BW)."""
    from receivables.domain.money import fmt

    lang = language if language in WIK_TERM else "en"
    plain = _plain(text)
    return bool(WIK_TERM[lang].search(plain)) and _plain(fmt(int(announced_cents), currency, lang)) in plain


# --- prescription -------------------------------------------------------------------------------------

PRESCRIPTION_YEARS = 5  # art. 3:307 lid 1 BW: five years after the day after the claim fell due
CONSUMER_PURCHASE_YEARS = 2  # art. 7:28 BW: two years for the price of a consumer purchase


def _plus_years(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:
        return d.replace(year=d.year + years, day=28)


def prescribed_on(due_date: date, *, consumer: bool, interrupted_on: date | None = None) -> date:
    """The first day a claim may be time-barred. The term starts the day after the due date (art. 3:307
    lid 1 BW): five years, two for a consumer purchase (art. 7:28 BW). A written demand that interrupts it
    (art. 3:317 lid 1 BW) starts a new term of the same length, at most five years (art. 3:319 lid 1 BW)."""
    years = CONSUMER_PURCHASE_YEARS if consumer else PRESCRIPTION_YEARS
    start = due_date + timedelta(days=1)
    if interrupted_on is not None and interrupted_on >= start:
        start = interrupted_on + timedelta(days=1)
    return _plus_years(start, years)


def may_be_time_barred(due_date: date, today: date, *, consumer: bool, interrupted_on: date | None = None) -> bool:
    return today >= prescribed_on(due_date, consumer=consumer, interrupted_on=interrupted_on)


# --- the claim --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CostSettings:
    mode: str = "bik"  # none | eu40 | bik
    interest: bool = True  # statutory commercial interest for businesses
    vat_on_costs: bool = False  # only when the creditor cannot reclaim VAT
    vat_percent: Decimal = Decimal("21")
    rates: tuple = DEFAULT_INTEREST_RATES
    consumer_interest: bool = False  # statutory interest (art. 6:119 BW) for consumers: off unless chosen
    consumer_rates: tuple = DEFAULT_CONSUMER_RATES
    wik_extra_days: int = 0  # a stricter consumer term: days added after the 14; never fewer

    def __post_init__(self):
        if self.mode not in COST_MODES:
            raise CostError(N_("cost mode '{mode}' is not one of {modes}"), mode=str(self.mode),
                            modes=", ".join(COST_MODES))
        if int(self.wik_extra_days) < 0:
            raise CostError(N_("the consumer's term can be made longer, never shorter than 14 days"))


@dataclass(frozen=True)
class ClaimInvoice:
    """An invoice as a claim sees it: its original amount, due date and the dated changes of its open
    amount (negative = paid or reduced). Without changes the amount is taken as what stayed open."""

    number: str
    amount_cents: int
    due_date: date
    changes: tuple[tuple[date, int, str], ...] = ()  # (day, delta cents, kind: payment | credit | …)


@dataclass(frozen=True)
class Claim:
    """What a cost-charging step adds to the invoices it chases."""

    costs_cents: int
    interest_cents: int
    detail: dict
    principal_cents: int | None = None  # the principal still open after art. 6:44 (None: not computed)


def items_numbers(items: list[ClaimInvoice]) -> list[str]:
    return [i.number for i in items]


def _as_claim_invoice(item) -> ClaimInvoice:
    if isinstance(item, ClaimInvoice):
        return item
    number, cents, due = item
    return ClaimInvoice(str(number), int(cents), due)


def _split_costs_first(invoices: list[ClaimInvoice], costs_cents: int, costs_from: date | None,
                       on: date) -> tuple[dict[str, list], int]:
    """Payments up to `on` per invoice, with the part that settled charged costs taken off first (art. 6:44
    BW: costs before interest and principal). Costs count as charged from `costs_from`."""
    left = costs_cents if costs_from is not None else 0
    pays = sorted(((day, -delta, inv.number) for inv in invoices for day, delta, kind in inv.changes
                   if kind == "payment" and delta < 0 and day <= on), key=lambda p: (p[0], p[2]))
    out: dict[str, list] = {inv.number: [] for inv in invoices}
    paid_costs = 0
    for day, cents, number in pays:
        if left and costs_from is not None and day >= costs_from:
            take = min(left, cents)
            left -= take
            paid_costs += take
            cents -= take
        if cents:
            out[number].append((day, cents))
    return out, paid_costs


def claim(invoices: list, on: date, settings: CostSettings, *, consumer: bool,
          wik_letter_sent_on: date | None = None, wik_channel: str = "email",
          costs_charged_on: date | None = None, wik_letters: dict | None = None) -> Claim:
    """Costs and interest for a cost-charging step on `on`: the one computation behind every letter and
    the claim statement. `invoices` are ClaimInvoice or (number, open cents, due date).

    Costs (art. 6:96 BW): a business owes the €40 per invoice (lid 4) or the BIK staffel on the sum of the
    principals (Besluit BIK). A consumer first gets the 14-day letter, which states the exact BIK amount
    and charges nothing; costs follow only after its term has run out (lid 6), on the sum of the
    principals in that letter (lid 7). Interest: commercial for a business (art. 6:119a BW) when switched
    on; for a consumer (art. 6:119 BW) only when that setting is on. Payments made after costs were
    charged (`costs_charged_on`, the first letter that charged them) settle those costs first (art. 6:44).
    `wik_letters` (invoice number → (day sent, channel)) says which of a consumer's invoices had their
    14-day letter; `wik_letter_sent_on` stands for one letter covering all of them."""
    items = [_as_claim_invoice(i) for i in invoices]
    principal_now = sum(i.amount_cents + sum(delta for day, delta, _ in i.changes if day <= on) for i in items)
    base_day = costs_charged_on if costs_charged_on is not None and costs_charged_on <= on else None
    base = (sum(i.amount_cents + sum(delta for day, delta, _ in i.changes if day <= base_day) for i in items)
            if base_day is not None else principal_now)
    bik = bik_cents(base)
    if settings.vat_on_costs:
        bik = with_vat(bik, settings.vat_percent)
    detail: dict = {"mode": settings.mode, "principal_cents": principal_now, "consumer": bool(consumer),
                    "vat_included": bool(settings.vat_on_costs and settings.mode == "bik")}
    if consumer:
        detail["mode"] = "bik" if settings.mode != "none" else "none"
        costs = 0
        if settings.mode != "none":
            letters = dict(wik_letters or {})
            if wik_letters is None and wik_letter_sent_on is not None:
                letters = {i.number: (wik_letter_sent_on, wik_channel) for i in items}
            principal_of = {i.number: i.amount_cents + sum(d for day, d, _ in i.changes if day <= on) for i in items}
            without = [i.number for i in items if i.number not in letters]
            expired = [i.number for i in items if i.number in letters
                       and on >= wik_costs_from(*letters[i.number], settings.wik_extra_days)]
            if without:  # this message is their 14-day letter: it states the costs and charges nothing for them
                announced = bik_cents(sum(principal_of[n] for n in without))
                if settings.vat_on_costs:
                    announced = with_vat(announced, settings.vat_percent)
                detail.update({"wik_letter": True, "announced_cents": announced, "wik_invoices": without})
            else:
                detail["wik_letter"] = False
            pending = [letters[n] for n in items_numbers(items) if n in letters and n not in expired]
            if pending:
                first = min(wik_costs_from(*letter, settings.wik_extra_days) for letter in pending)
                detail["costs_from"] = first.isoformat()
            if expired:  # lid 7: on the sum of the principals whose letter term has run out
                costs = bik_cents(sum(principal_of[n] for n in expired))
                if settings.vat_on_costs:
                    costs = with_vat(costs, settings.vat_percent)
                detail.update({"bik_cents": costs, "costs_invoices": expired,
                               "wik_letter_sent_on": min(letters[n][0] for n in expired).isoformat()})
        use_interest, rates, kind = settings.consumer_interest, settings.consumer_rates, CONSUMER
    else:
        costs = 0
        if settings.mode == "bik":
            costs = bik
            detail["bik_cents"] = bik
        elif settings.mode == "eu40":
            late = sum(1 for i in items if i.amount_cents > 0)
            costs = EU_FIXED_CENTS * late
            detail["eu40_invoices"] = late
        use_interest, rates, kind = settings.interest, settings.rates, COMMERCIAL
    pays, costs_paid = _split_costs_first(items, costs, base_day, on)
    costs_open = costs - costs_paid
    interest_total, principal_total, lines = 0, 0, []
    for inv in items:
        reductions = [(day, -delta) for day, delta, kind_ in inv.changes
                      if kind_ != "payment" and delta < 0 and day <= on]
        increases = sum(delta for day, delta, _ in inv.changes if delta > 0 and day <= on)
        amount = inv.amount_cents + increases
        if use_interest and amount > 0:
            r = interest_on(amount, inv.due_date, on, rates, payments=pays[inv.number], reductions=reductions,
                            kind=kind)
        else:
            done = sum(c for _, c in pays[inv.number]) + sum(c for _, c in reductions)
            r = InvoiceInterest(principal_cents=max(0, amount - done))
        open_interest = _cents(r.open) if use_interest else 0
        interest_total += open_interest
        principal_total += r.principal_cents
        lines.append({"invoice": inv.number, "due_date": inv.due_date.isoformat(), "principal_cents": r.principal_cents,
                      "interest_cents": open_interest, "interest_paid_cents": _cents(r.paid),
                      "periods": [{"from": p.start.isoformat(), "to": p.end.isoformat(), "rate": str(p.rate),
                                   "interest_cents": _cents(p.interest)} for p in r.periods]})
    if use_interest:
        detail["interest"] = lines
        detail["interest_kind"] = kind
        detail["rates_used"] = sorted({p["rate"] for line in lines for p in line["periods"]}, key=Decimal)
    detail["invoices"] = [{k: line[k] for k in ("invoice", "due_date", "principal_cents")} for line in lines]
    if costs_paid:
        detail["costs_paid_cents"] = costs_paid
    interest_paid = sum(line["interest_paid_cents"] for line in lines)
    if interest_paid:
        detail["interest_paid_cents"] = interest_paid
    return Claim(costs_open, interest_total, detail, principal_total)
