"""The reminder engine's settings: tracks and rules, payment details, costs and interest rates, the engine's
limits. Stored as settings rows, checked before they are saved, read back with the shipped defaults for
whatever was never saved."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from db.uow import UnitOfWork
from receivables.domain import costs as costing
from receivables.domain import epc, references, tracks
from receivables.domain.errors import Problem
from receivables.domain.tracks import Track
from receivables.services import portal_links, texts
from receivables.services.errors import ServiceError
from receivables.services.settings import get_setting, put_setting

TRACKS_KEY = "reminder.tracks"
RULES_KEY = "reminder.rules"
PAYMENT_KEY = "reminder.payment"
COSTS_KEY = "reminder.costs"
RATES_KEY = "reminder.interest_rates"
CONSUMER_RATES_KEY = "reminder.consumer_interest_rates"  # art. 6:119 BW, its own table
ENGINE_KEY = "reminder.engine"
REFERENCE_KIND_KEY = "bank.reference_kind"  # the structured payment reference each reminder carries
GRACE_KEY = "promise_grace_days"  # shared with the dossier's promises
# review_above: a run that would create more messages than this proposes all of them for review;
# catch_up_cap: the highest step an invoice first seen long past due enters at (a template, see tracks)
ENGINE_DEFAULTS = {"freshness_days": 7, "tolerance_cents": 500, "lookahead_days": 1, "review_above": 50,
                   "catch_up_cap": "demand"}
PAYMENT_DEFAULTS = {"iban": "", "bic": "", "beneficiary": "", "link_pattern": ""}
LINK_FIELDS = ("debtor_code", "amount", "reference", "currency")  # known when the words are rendered


@dataclass(frozen=True)
class ReminderSettings:
    tracks: dict[str, Track]
    rules: list[tracks.Rule]
    payment: dict
    costs: costing.CostSettings
    freshness_days: int = 7
    tolerance_cents: int = 500
    lookahead_days: int = 1
    grace_days: int = 3
    review_above: int = 50
    catch_up_cap: str = "demand"
    # (template, tone, language) -> a text edited in Settings, used instead of the shipped template
    texts: dict = field(default_factory=dict)
    reference_kind: str = references.RF
    portal_link: str = ""  # where a reminder's personal link to the portal goes ('' without a portal address)


def reference_kind(session) -> str:
    """The kind of structured payment reference a reminder carries: the RF creditor reference (default)
    or the Dutch betalingskenmerk."""
    kind = get_setting(session, REFERENCE_KIND_KEY) or references.RF
    return kind if kind in references.KINDS else references.RF


def load_settings(session) -> ReminderSettings:
    """The settings as stored, falling back to the shipped defaults for what was never saved."""
    track_data = get_setting(session, TRACKS_KEY)
    all_tracks = tracks.parse_tracks(track_data) if track_data else tracks.default_tracks()
    rule_data = get_setting(session, RULES_KEY)
    rules = (tracks.parse_rules(rule_data, set(all_tracks)) if rule_data
             else tracks.parse_rules(tracks.rules_to_data(tracks.default_rules()), set(all_tracks)))
    payment = {**PAYMENT_DEFAULTS, **(get_setting(session, PAYMENT_KEY) or {})}
    c = get_setting(session, COSTS_KEY) or {}
    rates = get_setting(session, RATES_KEY)
    consumer_rates = get_setting(session, CONSUMER_RATES_KEY)
    cost_settings = costing.CostSettings(
        mode=c.get("mode", "bik"), interest=bool(c.get("interest", True)),
        vat_on_costs=bool(c.get("vat_on_costs", False)), vat_percent=Decimal(str(c.get("vat_percent", "21"))),
        rates=costing.parse_rates(rates) if rates else costing.DEFAULT_INTEREST_RATES,
        consumer_interest=bool(c.get("consumer_interest", False)),
        consumer_rates=costing.parse_rates(consumer_rates) if consumer_rates else costing.DEFAULT_CONSUMER_RATES,
        wik_extra_days=int(c.get("wik_extra_days", 0) or 0))
    engine = {**ENGINE_DEFAULTS, **(get_setting(session, ENGINE_KEY) or {})}
    try:
        grace = max(0, int(get_setting(session, GRACE_KEY, 3)))
    except (TypeError, ValueError):
        grace = 3
    cap = engine["catch_up_cap"] if engine["catch_up_cap"] in tracks.TEMPLATES else ENGINE_DEFAULTS["catch_up_cap"]
    return ReminderSettings(all_tracks, rules, payment, cost_settings, int(engine["freshness_days"]),
                            int(engine["tolerance_cents"]), int(engine["lookahead_days"]), grace,
                            int(engine["review_above"]), cap, texts.in_force(session), reference_kind(session),
                            portal_links.link_placeholder())


def _tracks(value, session) -> list[dict]:
    parsed = tracks.parse_tracks(value)
    tracks.check_terms(parsed)  # no step inside a letter's term; costs only after a 14-day letter
    rule_data = get_setting(session, RULES_KEY) or tracks.rules_to_data(tracks.default_rules())
    missing = {r["track"] for r in rule_data} - set(parsed)
    if missing:
        raise ServiceError("rules still use track(s) {tracks}; change the rules first",
                           tracks=", ".join(sorted(missing)))
    return tracks.tracks_to_data(parsed)


def _rules(value, session) -> list[dict]:
    rules = tracks.parse_rules(value, set(load_settings(session).tracks))
    problems = tracks.rule_problems(rules)  # only when saving: rules stored before these checks still load
    if problems:
        raise problems[0]
    return tracks.rules_to_data(rules)


def _payment(value, session) -> dict:
    p = {**PAYMENT_DEFAULTS, **{k: str(v or "").strip() for k, v in dict(value).items()}}
    if p["iban"] and not epc.valid_iban(p["iban"]):
        raise ServiceError("IBAN {iban} is not valid; check the letters and digits", iban=p["iban"])
    if p["bic"] and not epc.valid_bic(p["bic"]):
        raise ServiceError("BIC {bic} is not valid; it has 8 or 11 letters and digits", bic=p["bic"])
    if len(p["beneficiary"]) > 70:
        raise ServiceError("the beneficiary name may have at most 70 characters")
    if p["link_pattern"]:
        if not p["link_pattern"].startswith(("https://", "http://")):
            raise ServiceError("the payment link must start with https://")
        try:
            p["link_pattern"].format_map({f: "x" for f in LINK_FIELDS})
        except (KeyError, ValueError, IndexError) as exc:
            raise ServiceError("the payment link may only use {fields} ({unknown} is unknown)",
                               fields=", ".join("{" + f + "}" for f in LINK_FIELDS), unknown=str(exc)) from None
    p["iban"] = epc.format_iban(p["iban"]) if p["iban"] else ""
    p["bic"] = p["bic"].upper()
    return p


def _costs(value, session) -> dict:
    c = dict(value)
    extra = int(c.get("wik_extra_days", 0) or 0)
    if not 0 <= extra <= 30:  # art. 6:96 lid 6 BW: the 14 days are a minimum; a longer term is allowed
        raise ServiceError("the consumer's term can be 0 to 30 days longer than 14, never shorter")
    costing.CostSettings(mode=c.get("mode", "bik"), wik_extra_days=extra)
    vat = Decimal(str(c.get("vat_percent", "21")))
    if not 0 <= vat <= 100:
        raise ServiceError("the VAT percentage must be between 0 and 100")
    return {"mode": c.get("mode", "bik"), "interest": bool(c.get("interest", True)),
            "vat_on_costs": bool(c.get("vat_on_costs", False)), "vat_percent": str(vat),
            "consumer_interest": bool(c.get("consumer_interest", False)), "wik_extra_days": extra}


def _rates(value, session) -> list[dict]:
    rows = costing.parse_rate_rows(value)
    if not rows:
        raise ServiceError("keep at least one interest rate")
    return costing.rates_to_rows(rows)


def _engine(value, session) -> dict:
    e = {**ENGINE_DEFAULTS, **dict(value)}
    out = {k: int(e[k]) for k in ENGINE_DEFAULTS if k != "catch_up_cap"}
    out["catch_up_cap"] = str(e["catch_up_cap"])
    if out["catch_up_cap"] not in tracks.TEMPLATES:
        raise ServiceError("catching up may go at most to one of {steps}, not '{step}'",
                           steps=", ".join(tracks.TEMPLATES), step=out["catch_up_cap"])
    if not 1 <= out["review_above"] <= 100_000:
        raise ServiceError("the number of messages above which a run is a review must be between 1 and "
                           "100,000")
    if not 1 <= out["freshness_days"] <= 90:
        raise ServiceError("the data-freshness limit must be between 1 and 90 days")
    if not 0 <= out["tolerance_cents"] <= 100_000:
        raise ServiceError("the tolerance must be between 0 and 1,000.00")
    if not 0 <= out["lookahead_days"] <= 14:
        raise ServiceError("propose at most 14 days ahead")
    return out


def _grace(value, session) -> int:
    days = int(value)
    if not 0 <= days <= 30:
        raise ServiceError("the grace period after a promised date must be between 0 and 30 days")
    return days


_CHECKS = {TRACKS_KEY: _tracks, RULES_KEY: _rules, PAYMENT_KEY: _payment, COSTS_KEY: _costs, RATES_KEY: _rates,
           CONSUMER_RATES_KEY: _rates, ENGINE_KEY: _engine, GRACE_KEY: _grace}


def _validated(key: str, value, session):
    """The value to store for a settings key, or ServiceError saying what to fix."""
    check = _CHECKS.get(key)
    if check is None:
        raise ServiceError("unknown reminder setting '{key}'", key=key)
    try:
        return check(value, session)
    except ServiceError:
        raise
    except Problem as exc:  # a track or rule the domain refuses: its words and parameters, worded on the page
        raise ServiceError(exc.msgid, **exc.params) from None
    except (ValueError, TypeError, KeyError, InvalidOperation) as exc:
        raise ServiceError("this setting cannot be saved: {detail}", detail=str(exc) or type(exc).__name__) from None


KEYS = tuple(_CHECKS)


def stored_form(session, key: str):
    """One reminder setting as `save_setting` takes it: what is stored, or the shipped default (tracks and
    rules in their stored form, rules with their conditions as choices too)."""
    if key not in _CHECKS:
        raise ServiceError("unknown reminder setting '{key}'", key=key)
    if key == TRACKS_KEY:
        return tracks.tracks_to_data(load_settings(session).tracks)
    if key == RULES_KEY:
        rules = load_settings(session).rules
        return [{**data, "conditions": [{"signal": n, "op": op, "value": v} for n, op, v in rule.conditions]}
                for rule, data in zip(rules, tracks.rules_to_data(rules), strict=True)]
    return get_setting(session, key)


def save_setting(uow: UnitOfWork, key: str, value, *, actor: str) -> None:
    """Check and store one reminder setting (tracks, rules, payment details, costs, rates, engine)."""
    put_setting(uow.session, key, _validated(key, value, uow.session), actor)
    uow.commit()


def reset_tracks(uow: UnitOfWork, *, actor: str) -> None:
    """Back to the shipped tracks and rules."""
    put_setting(uow.session, TRACKS_KEY, tracks.tracks_to_data(tracks.default_tracks()), actor)
    put_setting(uow.session, RULES_KEY, tracks.rules_to_data(tracks.default_rules()), actor)
    uow.commit()
