"""Reminder tracks and their steps, when a step is due, and which track a debtor gets. Pure."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from receivables.domain.errors import Problem
from receivables.domain.phrases import Phrase, Term
from receivables.domain.translation import N_

DEFAULTS_FILE = Path(__file__).with_name("default_tracks.json")

# The step templates in order of escalation; the position is the step's rank.
TEMPLATES = ("courtesy", "reminder", "second_reminder", "call", "demand", "final_notice", "handover")
# each template's name as its reader calls it (the reminder settings, the queue, Today, the digest)
STEP_LABELS = {"courtesy": N_("Courtesy notice"), "reminder": N_("First reminder"),
               "second_reminder": N_("Second reminder"), "call": N_("Phone call"), "demand": N_("Demand"),
               "final_notice": N_("Final notice"), "handover": N_("Hand-over to collection")}
CHANNELS = ("email", "call", "letter")
TONES = ("friendly", "standard", "strict")
# The payment term each letter gives, in days after it goes out (its "pay by" date); the next step waits
# until that term has run out, so that no letter demands more, or hands over, while the debtor still has
# the time the previous one gave (art. 6:82 lid 1 BW: a reasonable term, which must be respected). A
# courtesy notice asks for payment by the due date; a call sends nothing and gives no term.
TERM_DAYS = {"reminder": 7, "second_reminder": 7, "demand": 14, "final_notice": 14, "handover": 14}
# The steps whose words can be a consumer's 14-day letter (art. 6:96 lid 6 BW): for a consumer the first
# cost-charging step of these is that letter and charges nothing; costs may follow only after its term.
WIK_TEMPLATES = ("demand", "final_notice", "handover")


class TrackError(Problem):
    """A track or rule definition that cannot be used; the message says what to fix."""


@dataclass(frozen=True)
class Step:
    key: str
    template: str
    offset: int  # days from the due date; negative = a courtesy notice before it
    channel: str = "email"
    charges_costs: bool = False
    needs_approval: bool = True

    @property
    def rank(self) -> int:
        return TEMPLATES.index(self.template)


@dataclass(frozen=True)
class Track:
    key: str
    name: str
    steps: tuple[Step, ...]

    @property
    def tone(self) -> str:
        """The wording of the messages: the track's key when it is a known tone, else standard."""
        return self.key if self.key in TONES else "standard"

    def index_of(self, step_key: str) -> int | None:
        for i, s in enumerate(self.steps):
            if s.key == step_key:
                return i
        return None

    def index_for_rank(self, rank: int) -> int:
        """The last step of this track at or below an escalation rank reached in another track."""
        found = -1
        for i, s in enumerate(self.steps):
            if s.rank <= rank:
                found = i
        return found


def parse_tracks(data: list[dict]) -> dict[str, Track]:
    """Tracks from their stored form, checked: known templates and channels, increasing offsets."""
    if not isinstance(data, list) or not data:
        raise TrackError(N_("there must be at least one track"))
    tracks: dict[str, Track] = {}
    for t in data:
        key = str(t.get("key", "")).strip()
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,29}", key):
            raise TrackError(N_("track key '{key}' must be lower-case letters, digits or _ (e.g. 'standard')"), key=key)
        if key in tracks:
            raise TrackError(N_("track '{key}' appears twice"), key=key)
        steps = []
        for n, s in enumerate(t.get("steps") or [], start=1):
            skey = str(s.get("key", "")).strip()
            if not re.fullmatch(r"[a-z][a-z0-9_]{0,29}", skey):
                raise TrackError(N_("track {track}, step {n}: key '{key}' must be lower-case letters, digits or _"),
                                 track=key, n=n, key=skey)
            template = str(s.get("template", "")).strip()
            if template not in TEMPLATES:
                raise TrackError(N_("track {track}, step {step}: template '{template}' is not one of {templates}"),
                                 track=key, step=skey, template=template, templates=", ".join(TEMPLATES))
            channel = str(s.get("channel", "email")).strip()
            if channel not in CHANNELS:
                raise TrackError(N_("track {track}, step {step}: channel '{channel}' is not one of {channels}"),
                                 track=key, step=skey, channel=channel, channels=", ".join(CHANNELS))
            try:
                offset = int(s.get("offset"))
            except (TypeError, ValueError):
                raise TrackError(N_("track {track}, step {step}: the offset must be a whole number of days"),
                                 track=key, step=skey) from None
            steps.append(Step(skey, template, offset, channel, bool(s.get("charges_costs", False)),
                              bool(s.get("needs_approval", True))))
        if not steps:
            raise TrackError(N_("track {track} has no steps"), track=key)
        keys = [s.key for s in steps]
        if len(set(keys)) != len(keys):
            raise TrackError(N_("track {track}: every step needs its own key"), track=key)
        offsets = [s.offset for s in steps]
        if offsets != sorted(set(offsets)):
            raise TrackError(N_("track {track}: the offsets must increase from step to step (now {offsets})"), track=key,
                             offsets=", ".join(str(o) for o in offsets))
        tracks[key] = Track(key, str(t.get("name") or key.title()), tuple(steps))
    return tracks


def term_ends(step: Step) -> int | None:
    """The offset (days from the due date) on which the term the step's letter gives ends, or None."""
    if step.channel == "call" or step.template == "call":
        return None
    if step.template == "courtesy":
        return 0  # pay by the due date
    return step.offset + TERM_DAYS.get(step.template, 0)


def term_problems(track: Track) -> list[TrackError]:
    """Steps of a track that would go out while the term of an earlier letter still runs: each must come
    at least a day after the last day of every earlier letter's term (calls are exempt: they send
    nothing)."""
    problems = []
    last: tuple[Step, int] | None = None  # the earlier letter whose term ends latest, and that day
    for step in track.steps:
        if last is not None and step.channel != "call" and step.template != "call" and step.offset <= last[1]:
            prev, end = last
            problems.append(TrackError(
                N_("track {track}: step {step} (day {day}) would go out before the {term}-day term of {previous} "
                   "(day {previous_day}) has run out; give it an offset of at least {least}"),
                track=track.key, step=step.key, day=step.offset, term=TERM_DAYS.get(prev.template, 0),
                previous=prev.key, previous_day=prev.offset, least=end + 1))
        end = term_ends(step)
        if end is not None and (last is None or end >= last[1]):
            last = (step, end)
    return problems


def cost_problems(track: Track) -> list[TrackError]:
    """Steps that charge costs but could not be preceded, for a consumer, by a 14-day letter: only a
    demand, final notice or hand-over can be that letter, so a reminder or call charging costs would
    charge a consumer before it (art. 6:96 lid 6 BW)."""
    return [TrackError(N_("track {track}: step {step} ({template}, {channel}) cannot charge costs: for a consumer "
                          "costs only follow a 14-day letter, which is a demand, final notice or hand-over step "
                          "sent by e-mail or letter; untick costs there"),
                       track=track.key, step=s.key, template=s.template, channel=s.channel)
            for s in track.steps if s.charges_costs and (s.template not in WIK_TEMPLATES or s.channel == "call")]


def check_terms(tracks: dict[str, Track]) -> None:
    """TrackError (the first problem) when a step of any track would go out before the previous letter's
    term has run out, or charges costs where a consumer has had no 14-day letter."""
    problems = [p for t in tracks.values() for p in (*term_problems(t), *cost_problems(t))]
    if problems:
        raise problems[0]


def tracks_to_data(tracks: dict[str, Track]) -> list[dict]:
    return [{"key": t.key, "name": t.name, "steps": [asdict(s) for s in t.steps]} for t in tracks.values()]


def default_tracks() -> dict[str, Track]:
    tracks = parse_tracks(_defaults()["tracks"])
    check_terms(tracks)
    return tracks


def default_rules() -> list[Rule]:
    return parse_rules(_defaults()["rules"], {t for t in default_tracks()})


def _defaults() -> dict:
    return json.loads(DEFAULTS_FILE.read_text(encoding="utf-8"))


# --- due-ness -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Reached:
    """How far an invoice got in its track: the step's index, and the day it went out (None while it
    is still waiting in the queue)."""

    index: int
    sent_on: date | None


def next_step(track: Track, due_date: date, reached: Reached | None, today: date,
              lookahead: int = 0) -> tuple[int, date] | None:
    """The step an invoice is due for and its planned date, or None.

    A step is due when due date + offset has come and the previous step went out at least
    (offset − previous offset) days ago; steps are never skipped, so a late send pushes the rest back
    and after an outage the missed step comes first. A step before the due date is only for invoices
    not yet due and is passed over once the due date has gone by. `lookahead` days ahead are proposed
    already, for "what goes out tomorrow"."""
    if reached is not None and reached.sent_on is None:
        return None  # the previous step is still in the queue
    horizon = today + timedelta(days=lookahead)
    i = reached.index + 1 if reached is not None else 0
    while i < len(track.steps):
        step = track.steps[i]
        planned = due_date + timedelta(days=step.offset)
        if reached is not None and reached.index >= 0:
            prev = track.steps[reached.index]
            planned = max(planned, reached.sent_on + timedelta(days=step.offset - prev.offset))
            end = term_ends(prev)
            if end is not None and step.channel != "call" and step.template != "call":
                # a track saved before terms were checked: still never inside the previous letter's term
                planned = max(planned, reached.sent_on + timedelta(days=end - prev.offset + 1))
        planned = max(planned, today)
        if step.offset < 0 and planned > due_date:
            i += 1  # a courtesy notice is never sent late
            continue
        return (i, planned) if planned <= horizon else None
    return None


def catch_up_entry(track: Track, due_date: date, first_seen: date | None, cap: str = "demand",
                   costs_need_a_letter: bool = False) -> int | None:
    """The step an invoice first seen long past due enters its track at, or None when it starts at the
    beginning like an invoice followed from its due date.

    The entry is the latest step whose offset the invoice had passed when it was first seen, never above
    the `cap` template (a person decides on final notice and hand-over) and, when costs need a letter first
    (a consumer: the WIK 14-day letter), never past the first step that charges costs, which is that
    letter. Only an entry beyond the first step after the due date is a catch-up."""
    if first_seen is None:
        return None
    age = (first_seen - due_date).days
    top = TEMPLATES.index(cap) if cap in TEMPLATES else TEMPLATES.index("demand")
    regular = [i for i, s in enumerate(track.steps) if s.offset >= 0]
    last = len(track.steps) - 1
    if costs_need_a_letter:
        last = next((i for i, s in enumerate(track.steps) if s.charges_costs), last)
    entry = None
    for i in regular:
        step = track.steps[i]
        if step.offset <= age and step.rank <= top and i <= last:
            entry = i
    if entry is None or not regular or entry <= regular[0]:
        return None
    return entry


# --- choosing the track ---------------------------------------------------------------------------

SIGNALS = {
    "avg_days_late": "avg days late",
    "share_paid_late": "share paid late",
    "share_paid_late_30": "share paid 30+ days late",
    "invoices_paid": "invoices paid",
    "highest_step": "highest step reached",
    "broken_promises": "broken promises",
    "open_disputes": "open disputes",
    "debtor_age_days": "customer for (days)",
}
OPS = {">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
       "<": lambda a, b: a < b, "==": lambda a, b: a == b}
SHARE_SIGNALS = ("share_paid_late", "share_paid_late_30")  # a fraction 0..1 (shown as a percentage)
COUNT_SIGNALS = ("invoices_paid", "highest_step", "broken_promises", "open_disputes", "debtor_age_days")
_CONDITION = re.compile(r"^\s*([a-z_0-9]+)\s*(>=|<=|==|>|<)\s*(-?\d+(?:\.\d+)?)\s*$")


@dataclass(frozen=True)
class Rule:
    track: str
    when: str  # "avg_days_late >= 30 and share_paid_late >= 0.5"; empty matches every debtor
    label: str
    conditions: tuple[tuple[str, str, float], ...] = ()

    def matches(self, signals: dict[str, float]) -> bool:
        return all(OPS[op](float(signals.get(name, 0) or 0), value) for name, op, value in self.conditions)


def _number(value: float) -> str:
    """A condition's value as the stored expression writes it: 30, 0.5 (never 1e-05)."""
    return f"{float(value):.6f}".rstrip("0").rstrip(".")


def condition_text(conditions) -> str:
    """The stored expression of conditions: 'avg_days_late >= 30 and share_paid_late <= 0.5'."""
    return " and ".join(f"{name} {op} {_number(value)}" for name, op, value in conditions)


def _structured(n: int, data) -> list[tuple[str, str, float]]:
    """Conditions given as choices: [{"signal": ..., "op": ..., "value": ...}, ...]."""
    conditions = []
    for c in data:
        name, op = str(c.get("signal", "")).strip(), str(c.get("op", "")).strip()
        if name not in SIGNALS:
            raise TrackError(N_("rule {n}: unknown signal '{signal}'; use one of {signals}"), n=n, signal=name,
                             signals=", ".join(SIGNALS))
        if op not in OPS:
            raise TrackError(N_("rule {n}: '{op}' is not a comparison; use one of {ops}"), n=n, op=op,
                             ops=" ".join(OPS))
        try:
            value = float(c.get("value"))
        except (TypeError, ValueError):
            raise TrackError(N_("rule {n}: the condition on {signal} needs a number"), n=n, signal=name) from None
        conditions.append((name, op, value))
    return conditions


def parse_rules(data: list[dict], track_keys: set[str]) -> list[Rule]:
    """Rules from their stored form; first match wins, so a rule without conditions ends the list. A rule's
    conditions are the expression in "when" (how they are stored) or, when given as choices, a list in
    "conditions" of {"signal", "op", "value"}."""
    if not isinstance(data, list) or not data:
        raise TrackError(N_("there must be at least one rule; end with one without conditions"))
    rules = []
    for n, r in enumerate(data, start=1):
        track = str(r.get("track", "")).strip()
        if track not in track_keys:
            raise TrackError(N_("rule {n}: track '{track}' does not exist (tracks: {tracks})"), n=n, track=track,
                             tracks=", ".join(sorted(track_keys)))
        if r.get("conditions") is not None:
            conditions = _structured(n, r["conditions"])
            when = condition_text(conditions)
        else:
            when = str(r.get("when") or "").strip()
            conditions = []
            for part in [p for p in re.split(r"\s+and\s+", when) if p.strip()] if when else []:
                m = _CONDITION.match(part)
                if not m:
                    raise TrackError(N_("rule {n}: '{condition}' is not a condition; write e.g. 'avg_days_late >= 30'"),
                                     n=n, condition=part.strip())
                name, op, value = m.groups()
                if name not in SIGNALS:
                    raise TrackError(N_("rule {n}: unknown signal '{signal}'; use one of {signals}"), n=n,
                                     signal=name, signals=", ".join(SIGNALS))
                conditions.append((name, op, float(value)))
        label = str(r.get("label") or "").strip() or (when or "every debtor")
        rules.append(Rule(track, when, label, tuple(conditions)))
    if rules[-1].conditions:
        raise TrackError(N_("the last rule must have no conditions, so every debtor gets a track"))
    return rules


def rule_problems(rules: list[Rule]) -> list[TrackError]:
    """What is wrong with rules a person is about to save (rules stored before these checks still work): a
    value a signal can never have, or a rule without conditions above others, which would never be reached."""
    problems = []
    for n, rule in enumerate(rules, start=1):
        if not rule.conditions and n < len(rules):
            problems.append(TrackError(N_("rule {n} has no conditions, so the rules below it are never used; give it "
                                          "a condition or remove the rules below it"), n=n))
        for name, _op, value in rule.conditions:
            if name in SHARE_SIGNALS and not 0 <= value <= 1:
                problems.append(TrackError(N_("rule {n}: a share is a percentage between 0 and 100"), n=n))
            elif value < 0:
                problems.append(TrackError(N_("rule {n}: a value cannot be below 0"), n=n))
            elif name in COUNT_SIGNALS and value != int(value):
                problems.append(TrackError(N_("rule {n}: a count or a number of days is a whole number"), n=n))
            elif name == "highest_step" and value >= len(TEMPLATES):
                problems.append(TrackError(N_("rule {n}: there is no step above {top}"), n=n, top=len(TEMPLATES) - 1))
    return problems


def rules_to_data(rules: list[Rule]) -> list[dict]:
    return [{"track": r.track, "when": r.when, "label": r.label} for r in rules]


def _fmt_signal(name: str, value: float) -> str:
    if name.startswith("share_"):
        return f"{value:.0%}"
    if name == "avg_days_late":
        return f"{value:.1f}"
    return f"{int(value)}"


# how a reason is put together around words of the reader's own lists (no catalogue words of their own)
RULE_ONLY = "{rule}"
RULE_WITH_FACTS = "{rule} ({facts})"


def facts_term(conditions, signals: dict[str, float]) -> Term:
    """The signals a rule's conditions name, each with the debtor's value (a signal named twice once)."""
    shown = list(dict.fromkeys(name for name, _, _ in conditions))
    values = [[n, float(signals.get(n, 0) or 0)] for n in shown]
    return Term("facts", ",".join(shown), ", ".join(f"{SIGNALS[n]} {_fmt_signal(n, v)}" for n, v in values), values)


def choose_track(signals: dict[str, float], rules: list[Rule], override: str | None = None,
                 tracks: dict[str, Track] | None = None) -> tuple[str, Phrase]:
    """The debtor's track and the reason, shown with every message. A per-debtor override wins."""
    if override and (tracks is None or override in tracks):
        return override, Phrase(N_("Track {track} set by hand for this debtor"),
                                {"track": Term("track", override, override)})
    for rule in rules:
        if rule.matches(signals):
            label = Term("label", rule.label, rule.label)
            if not rule.conditions:
                return rule.track, Phrase(RULE_ONLY, {"rule": label})
            return rule.track, Phrase(RULE_WITH_FACTS, {"rule": label, "facts": facts_term(rule.conditions, signals)})
    return rules[-1].track, Phrase(RULE_ONLY, {"rule": Term("label", rules[-1].label, rules[-1].label)})


def choose_track_keys(signals: dict[str, object], rules: list[Rule], overrides, tracks: dict[str, Track] | None = None):
    """`choose_track`'s track (not its reason) for many debtors at once: `signals` maps each signal name to
    an array with one value per debtor (0 where a debtor has none), `overrides` the tracks set by hand (None
    or '' for none). The first matching rule wins as there; an array of track keys. Used where the tracks
    of tens of thousands of debtors are shown, where a call per debtor would take a second."""
    chosen = np.asarray(overrides, dtype=object).copy()
    n = len(chosen)
    own = np.array([bool(o) and (tracks is None or o in tracks) for o in chosen], dtype=bool)
    undecided = ~own
    for rule in rules:
        if not undecided.any():
            break
        hit = undecided.copy()
        for name, op, value in rule.conditions:
            column = signals.get(name)
            values = np.zeros(n) if column is None else np.asarray(column, dtype="float64")
            hit &= OPS[op](values, value)
        chosen[hit] = rule.track
        undecided &= ~hit
    chosen[undecided] = rules[-1].track
    return chosen


def step_name(key: str) -> Phrase | str:
    """A step by its template's name (a phrase, worded in its reader's language), or a step of a person's
    own making by its key, as it is."""
    return Phrase(STEP_LABELS[key]) if key in STEP_LABELS else key.replace("_", " ").capitalize()
