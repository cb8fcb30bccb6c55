"""Collection costs and statutory commercial interest (Netherlands / EU). Pure; money in cents."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

# Besluit vergoeding buitengerechtelijke incassokosten: (slice upper bound in cents, rate)
BIK_STAFFEL = ((250_000, Decimal("0.15")), (500_000, Decimal("0.10")), (1_000_000, Decimal("0.05")),
               (20_000_000, Decimal("0.01")), (None, Decimal("0.005")))
BIK_MIN_CENTS = 4_000
BIK_MAX_CENTS = 677_500
EU_FIXED_CENTS = 4_000  # Directive 2011/7/EU art. 6: per late invoice
WIK_TERM_DAYS = 14  # the consumer's term starts the day after receipt, so costs from day 15 on
COST_MODES = ("none", "eu40", "bik")

# Wettelijke handelsrente (art. 6:119a BW): ECB main refinancing rate + 8 points, set 1 Jan and 1 Jul.
DEFAULT_INTEREST_RATES = (
    (date(2023, 1, 1), Decimal("10.50")),
    (date(2023, 7, 1), Decimal("12.00")),
    (date(2024, 1, 1), Decimal("12.50")),
    (date(2024, 7, 1), Decimal("12.25")),
    (date(2025, 1, 1), Decimal("11.15")),
    (date(2025, 7, 1), Decimal("10.15")),
)


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


@dataclass(frozen=True)
class InterestPeriod:
    start: date
    end: date  # inclusive
    rate: Decimal  # percent a year
    principal_cents: Decimal
    interest: Decimal


def parse_rates(rows: list) -> tuple[tuple[date, Decimal], ...]:
    """A rate table from stored rows [["2024-01-01", 12.5], …] or {"from":…, "rate":…}; sorted."""
    out = []
    for row in rows:
        start, rate = (row.get("from"), row.get("rate")) if isinstance(row, dict) else row
        start = start if isinstance(start, date) else date.fromisoformat(str(start))
        rate = Decimal(str(rate))
        if rate < 0 or rate > 100:
            raise ValueError(f"interest rate {rate} from {start} is not a percentage between 0 and 100")
        out.append((start, rate))
    out.sort()
    if len({d for d, _ in out}) != len(out):
        raise ValueError("every rate needs its own start date")
    return tuple(out)


def _rate_on(rates, day: date) -> Decimal:
    current = Decimal(0)
    for start, rate in rates:
        if start <= day:
            current = rate
        else:
            break
    return current


def _add_year(d: date) -> date:
    try:
        return d.replace(year=d.year + 1)
    except ValueError:  # 29 February
        return d.replace(year=d.year + 1, day=28)


def commercial_interest(principal_cents: int, due_date: date, until: date,
                        rates=DEFAULT_INTEREST_RATES) -> tuple[int, list[InterestPeriod]]:
    """Statutory commercial interest from the day after the due date up to and including `until`,
    actual days / 365, split where the rate changes, and compounded yearly: after each full year the
    interest of that year is added to the principal (art. 6:119 lid 2 BW)."""
    start = due_date + timedelta(days=1)
    if principal_cents <= 0 or until < start:
        return 0, []
    rates = tuple(rates)
    change_days = [d for d, _ in rates]
    principal = Decimal(principal_cents)
    periods: list[InterestPeriod] = []
    total = Decimal(0)
    year_start = start
    while year_start <= until:
        year_end = min(_add_year(year_start) - timedelta(days=1), until)
        year_interest = Decimal(0)
        seg_start = year_start
        while seg_start <= year_end:
            nxt = [d for d in change_days if seg_start < d <= year_end]
            seg_end = (min(nxt) - timedelta(days=1)) if nxt else year_end
            rate = _rate_on(rates, seg_start)
            days = (seg_end - seg_start).days + 1
            interest = principal * rate / 100 * days / 365
            periods.append(InterestPeriod(seg_start, seg_end, rate, principal, interest))
            year_interest += interest
            seg_start = seg_end + timedelta(days=1)
        total += year_interest
        principal += year_interest  # compounding after each full year
        year_start = year_end + timedelta(days=1)
    return _cents(total), periods


def wik_costs_from(letter_sent_on: date) -> date:
    """The first day costs may be charged to a consumer after the 14-day letter went out: the 14 days
    start the day after receipt, so the day after those 14 days."""
    return letter_sent_on + timedelta(days=WIK_TERM_DAYS + 1)


@dataclass(frozen=True)
class CostSettings:
    mode: str = "bik"  # none | eu40 | bik
    interest: bool = True
    vat_on_costs: bool = False  # only when the creditor cannot reclaim VAT
    vat_percent: Decimal = Decimal("21")
    rates: tuple = DEFAULT_INTEREST_RATES

    def __post_init__(self):
        if self.mode not in COST_MODES:
            raise ValueError(f"cost mode {self.mode!r} is not one of {', '.join(COST_MODES)}")


@dataclass(frozen=True)
class Claim:
    """What a cost-charging step adds to the invoices it chases."""

    costs_cents: int
    interest_cents: int
    detail: dict


def claim(invoices: list[tuple[str, int, date]], on: date, settings: CostSettings, *,
          consumer: bool, wik_letter_sent_on: date | None) -> Claim:
    """Costs and interest for a cost-charging step on `on`, for invoices (number, open cents, due date).

    A business pays interest (if switched on) and either €40 per invoice or the BIK staffel. A
    consumer first gets the 14-day letter, which states the exact BIK amount and charges nothing;
    costs follow only from the 15th day after that letter (WIK)."""
    principal = sum(c for _, c, _ in invoices)
    bik = bik_cents(principal)
    if settings.vat_on_costs:
        bik = with_vat(bik, settings.vat_percent)
    if consumer:
        if settings.mode == "none":
            return Claim(0, 0, {"mode": "none"})
        if wik_letter_sent_on is None or on < wik_costs_from(wik_letter_sent_on):
            detail = {"mode": "bik", "wik_letter": wik_letter_sent_on is None, "announced_cents": bik,
                      "costs_from": None if wik_letter_sent_on is None else wik_costs_from(wik_letter_sent_on).isoformat()}
            return Claim(0, 0, detail)
        return Claim(bik, 0, {"mode": "bik", "bik_cents": bik, "principal_cents": principal,
                              "wik_letter_sent_on": wik_letter_sent_on.isoformat()})
    detail: dict = {"mode": settings.mode, "principal_cents": principal}
    costs = 0
    if settings.mode == "bik":
        costs = bik
        detail["bik_cents"] = bik
    elif settings.mode == "eu40":
        costs = EU_FIXED_CENTS * sum(1 for _, c, _ in invoices if c > 0)
        detail["eu40_invoices"] = sum(1 for _, c, _ in invoices if c > 0)
    interest_total = 0
    if settings.interest:
        lines = []
        for number, cents, due in invoices:
            amount, periods = commercial_interest(cents, due, on, settings.rates)
            interest_total += amount
            lines.append({"invoice": number, "interest_cents": amount,
                          "periods": [{"from": p.start.isoformat(), "to": p.end.isoformat(),
                                       "rate": str(p.rate)} for p in periods]})
        detail["interest"] = lines
        detail["rates_used"] = sorted({p["rate"] for line in lines for p in line["periods"]}, key=Decimal)
    return Claim(costs, interest_total, detail)
