"""The admin's editor for the reminder engine: tracks and steps, the rules that choose a debtor's track,
payment details, costs, the interest-rate tables and the engine's limits, all in words. Called from the
Settings page's "Reminders" tab."""

from __future__ import annotations

import re
from datetime import date

import pandas as pd
import streamlit as st

from receivables.domain import costs as costing
from receivables.domain import tracks
from receivables.services import reminder_settings
from receivables.services.errors import ServiceError
from receivables.services.settings import get_setting
from ui import i18n, state
from ui.i18n import N_, _
from ui.text import md as _md

STEP_LABELS = tracks.STEP_LABELS  # the one list (receivables/domain/tracks.py)
CHANNEL_LABELS = {"email": N_("E-mail"), "letter": N_("Letter"), "call": N_("Phone call")}
TRACK_LABELS = {"friendly": N_("Friendly"), "standard": N_("Standard"), "strict": N_("Strict")}
SIGNAL_LABELS = {"avg_days_late": N_("Average days paid late"), "share_paid_late": N_("Share paid late (%)"),
                 "share_paid_late_30": N_("Share paid 30+ days late (%)"), "invoices_paid": N_("Invoices paid"),
                 "highest_step": N_("Highest step reached"), "broken_promises": N_("Broken payment promises"),
                 "open_disputes": N_("Invoices in dispute"), "debtor_age_days": N_("Customer for (days)")}
OP_LABELS = {">=": N_("at least"), ">": N_("more than"), "<=": N_("at most"), "<": N_("less than"),
             "==": N_("exactly")}
# the reasons of the shipped rules, so that they read in the viewer's language until someone rewrites them
SHIPPED_REASONS = (N_("Broke two or more payment promises"), N_("Pays a month or more late on average"),
                   N_("Reached a final notice in the last 12 months"), N_("New customer: too little payment history"),
                   N_("Has an invoice in dispute"), N_("Pays on time or nearly"), N_("Default track"))
COST_MODES = {"bik": N_("BIK staffel (extrajudicial collection costs)"),
              "eu40": N_("€40 per late invoice (EU directive)"), "none": N_("no costs")}
# where the shipped commercial rates were published, worded for the reader (the stored words stay as shipped)
ECB_SOURCE = re.compile(r"^ECB main refinancing rate (?P<mro>[\d.]+) % before (?P<day>[\d-]+) \+ (?P<points>\d+) points "
                        r"\(art\. 6:120 lid 2 BW\)$")
ECB_WORDS = N_("ECB main refinancing rate {mro} % before {day} + {points} points (art. 6:120 lid 2 BW)")
SHIPPED_SOURCES = (N_("ECB main refinancing rate 0.75 % + 8 points from 16-03-2013 (Stb. 2012, 649; Directive "
                      "2011/7/EU)"),)
NO_SIGNAL = ""  # the empty condition row under a rule's conditions: choose a signal there to add one
_DRAFT = "track_rules_draft"


def _worded(labels: dict) -> dict:
    """Labels worded now, in this run (a widget may call its format_func again outside the run)."""
    return {k: _(v) for k, v in labels.items()}


def track_name(track: tracks.Track) -> str:
    """A track as a person reads it: the shipped ones in the viewer's language, others by their name."""
    if track.key in TRACK_LABELS and track.name == track.key.title():
        return _(TRACK_LABELS[track.key])
    return track.name


def problem_text(exc: Exception, all_tracks: dict[str, tracks.Track]) -> str:
    """A core error in words, with the tracks, steps, channels and signals it names worded too."""
    msgid = getattr(exc, "msgid", None)
    if not msgid:
        return str(exc)
    params = dict(getattr(exc, "params", {}))
    track = all_tracks.get(params.get("track"))
    steps = {s.key: s for s in track.steps} if track else {}
    for name in ("step", "previous"):
        if params.get(name) in steps:
            params[name] = _(STEP_LABELS[steps[params[name]].template])
    if track:
        params["track"] = track_name(track)
    if params.get("template") in STEP_LABELS:
        params["template"] = _(STEP_LABELS[params["template"]])
    if params.get("channel") in CHANNEL_LABELS:
        params["channel"] = _(CHANNEL_LABELS[params["channel"]])
    if params.get("signal") in SIGNAL_LABELS:
        params["signal"] = _(SIGNAL_LABELS[params["signal"]])
    if "step" in params and params.get("steps"):  # catching up: the steps it may go to
        params["steps"] = ", ".join(_(STEP_LABELS[t]) for t in tracks.TEMPLATES)
    return _(msgid, **params)


def _editor_key(name: str) -> str:
    """A table editor's key, renewed after a save: its edits are in the saved table then, and kept as edits
    they would be applied to it a second time."""
    return f"{name}_{st.session_state.get('settings_saved_tables', 0)}"


def _saved_tables(done: str) -> None:
    st.session_state["settings_saved_tables"] = st.session_state.get("settings_saved_tables", 0) + 1
    st.session_state["settings_saved_message"] = done
    st.rerun()


def _save(key: str, value, user, done: str, all_tracks: dict) -> bool:
    try:
        with state.uow(immediate=True) as uow:
            reminder_settings.save_setting(uow, key, value, actor=user.username)
    except ServiceError as exc:
        st.error(problem_text(exc, all_tracks))
        return False
    state.data_changed()
    st.success(done)
    return True


def _rows(frame: pd.DataFrame) -> list[dict]:
    """Editor rows without the empty ones a person added and left blank."""
    out = []
    for r in frame.to_dict("records"):
        clean = {k: (None if (not isinstance(v, (list, dict)) and pd.isna(v)) else v) for k, v in r.items()}
        if any(v not in (None, "") for k, v in clean.items() if k != "key"):
            out.append(clean)
    return out


# --- tracks and their steps --------------------------------------------------------------------------

def _steps_of(rows: list[dict]) -> list[dict]:
    """The steps to store from the editor's rows, in the order of their day; a new step is named after
    its kind (reminder, reminder_2, ...), a kept step keeps its name, which the messages sent refer to."""
    taken = {r["key"] for r in rows if r.get("key")}
    steps = []
    for r in sorted(rows, key=lambda r: (r.get("offset") is None, r.get("offset") or 0)):
        key = r.get("key")
        if not key:
            base = key = str(r.get("template") or "step")
            n = 2
            while key in taken:
                key, n = f"{base}_{n}", n + 1
            taken.add(key)
        steps.append({"key": key, "template": r.get("template"), "channel": r.get("channel") or "email",
                      "offset": None if r.get("offset") is None else int(r["offset"]),
                      "charges_costs": bool(r.get("charges_costs")), "needs_approval": bool(r.get("needs_approval"))})
    return steps


def _tracks_editor(cfg, user) -> None:
    st.subheader(_("Tracks"))
    st.caption(_("Each track is a list of steps in order. The day counts from the due date (a negative day is a "
                 "courtesy notice before it). Steps are never skipped, and a step sent late pushes the rest back."))
    for problem in (p for t in cfg.tracks.values() for p in tracks.term_problems(t)):
        st.warning(_("{problem}. Until the days are changed, the engine waits for the term anyway.",
                     problem=problem_text(problem, cfg.tracks)))
    steps, channels = _worded(STEP_LABELS), _worded(CHANNEL_LABELS)
    columns = {"template": st.column_config.SelectboxColumn(_("Step"), options=list(tracks.TEMPLATES), width=220,
                                                            format_func=steps.get, required=True),
               "offset": st.column_config.NumberColumn(_("Day (from the due date)"), step=1, required=True,
                                                       format="%d", width=185),
               "channel": st.column_config.SelectboxColumn(_("Channel"), options=list(tracks.CHANNELS), width=110,
                                                           format_func=channels.get, required=True),
               "charges_costs": st.column_config.CheckboxColumn(
                   _("With collection costs"), width=170, help=_("The message claims collection costs and interest.")),
               "needs_approval": st.column_config.CheckboxColumn(
                   _("Waits for approval"), width=200, help=_("A person approves the message before it goes out."))}
    edited_tracks = []
    for t in cfg.tracks.values():
        st.markdown("**" + _md(track_name(t)) + "**")
        frame = pd.DataFrame([{"key": s.key, "template": s.template, "offset": s.offset, "channel": s.channel,
                               "charges_costs": s.charges_costs, "needs_approval": s.needs_approval}
                              for s in t.steps])
        edited = st.data_editor(frame, key=_editor_key(f"track_{t.key}"), num_rows="dynamic", hide_index=True, width="stretch",
                                column_order=list(columns), column_config=columns)
        edited_tracks.append({"key": t.key, "name": t.name, "steps": _steps_of(_rows(edited))})
    c1, c2 = st.columns([1, 3])
    if c1.button(_("Save tracks"), type="primary"):
        done = _("Tracks saved. New messages follow them.")
        if _save(reminder_settings.TRACKS_KEY, edited_tracks, user, done, cfg.tracks):
            _saved_tables(done)
    if c2.button(_("Back to the shipped tracks and rules")):
        with state.uow(immediate=True) as uow:
            reminder_settings.reset_tracks(uow, actor=user.username)
        state.data_changed()
        st.session_state.pop(_DRAFT, None)
        st.rerun()


# --- the rules that choose a debtor's track ----------------------------------------------------------

def _next_id() -> int:
    n = st.session_state["track_rules_ids"] = st.session_state.get("track_rules_ids", 0) + 1
    return n


def _draft(cfg) -> list[dict]:
    """The rules being edited, each with an id that keeps its widgets while rules are moved or removed."""
    if _DRAFT not in st.session_state:
        st.session_state[_DRAFT] = [{"id": _next_id(), "track": r.track, "label": r.label,
                                     "conditions": list(r.conditions)} for r in cfg.rules]
    return st.session_state[_DRAFT]


def condition_words(conditions) -> str:
    """Conditions as a person says them: "Average days paid late at least 30 and ..."."""
    parts = []
    for name, op, value in conditions:
        if name in tracks.SHARE_SIGNALS:
            shown = i18n.percent(value)
        elif name == "highest_step" and 0 <= int(value) < len(tracks.TEMPLATES):
            shown = _(STEP_LABELS[tracks.TEMPLATES[int(value)]])
        else:
            shown = f"{value:g}"
        parts.append(f"{_(SIGNAL_LABELS[name])} {_(OP_LABELS[op])} {shown}")
    return (" " + _("and") + " ").join(parts)


def _condition_rows(rule: dict, signals: dict, ops: dict, steps: dict) -> list[dict]:
    """The conditions of one rule as rows of choices (signal, comparison, value), and one empty row to add one."""
    rid, given = rule["id"], rule["conditions"]
    shown = len(given)
    while st.session_state.get(f"rule_{rid}_c{shown}_signal") not in (None, NO_SIGNAL):
        shown += 1  # a condition added in the empty row: offer the next empty row
    out = []
    for j in range(shown + 1):
        name, op, value = given[j] if j < len(given) else (NO_SIGNAL, ">=", 0.0)
        lead, c1, c2, c3 = st.columns([1.2, 3, 2, 2], vertical_alignment="center")
        lead.markdown(_("if") if j == 0 else _("and"))
        labels = {"label_visibility": "collapsed"}
        signal = c1.selectbox(_("Signal"), [NO_SIGNAL, *tracks.SIGNALS], index=[NO_SIGNAL, *tracks.SIGNALS].index(name),
                              format_func=signals.get, key=f"rule_{rid}_c{j}_signal", **labels)
        if signal == NO_SIGNAL:
            continue
        op = c2.selectbox(_("Comparison"), list(tracks.OPS), index=list(tracks.OPS).index(op), format_func=ops.get,
                          key=f"rule_{rid}_c{j}_op", **labels)
        vkey = f"rule_{rid}_c{j}_value_{signal}"  # its own widget per signal: a percentage, a count or a step
        same = signal == name
        if signal == "highest_step":
            ranks = list(range(len(tracks.TEMPLATES)))
            start = int(value) if same and int(value) in ranks else 0
            value = c3.selectbox(_("Value"), ranks, index=start, format_func=steps.get, key=vkey, **labels)
        elif signal in tracks.SHARE_SIGNALS:
            value = c3.number_input(_("Value"), value=round(float(value) * 100, 4) if same else 50.0, step=5.0,
                                    format="%g", key=vkey, **labels) / 100
        elif signal in tracks.COUNT_SIGNALS:
            value = c3.number_input(_("Value"), value=int(value) if same else 1, step=1, key=vkey, **labels)
        else:
            value = c3.number_input(_("Value"), value=float(value) if same else 7.0, step=1.0, format="%g",
                                    key=vkey, **labels)
        out.append({"signal": signal, "op": op, "value": float(value)})
    return out


def _rules_editor(cfg, user) -> None:
    st.subheader(_("Which track a debtor gets"))
    st.caption(_("The rules are read from the top; the first whose conditions all hold chooses the track, and "
                 "its reason is shown with the message. The last rule holds for every other debtor. A track set "
                 "by hand on the debtor wins over every rule."))
    draft = _draft(cfg)
    track_labels = {k: track_name(t) for k, t in cfg.tracks.items()}
    signals = {NO_SIGNAL: _("(add a condition)"), **_worded(SIGNAL_LABELS)}
    ops = _worded(OP_LABELS)
    steps = {i: _(STEP_LABELS[t]) for i, t in enumerate(tracks.TEMPLATES)}
    shipped = {_(r): r for r in SHIPPED_REASONS}
    data = []
    for i, rule in enumerate(draft):
        rid, last = rule["id"], i == len(draft) - 1
        with st.container(border=True):
            head, c1, c2, up, remove = st.columns([1.2, 2, 4, 0.5, 0.5], vertical_alignment="bottom")
            head.markdown("**" + (_("Every other debtor") if last else _("Rule {n}", n=i + 1)) + "**")
            if not last and i > 0 and up.button(":material/arrow_upward:", key=f"rule_{rid}_up",
                                                help=_("Move this rule up")):
                draft[i - 1], draft[i] = draft[i], draft[i - 1]
                st.rerun()
            if not last and remove.button(":material/delete:", key=f"rule_{rid}_remove", help=_("Remove this rule")):
                draft.pop(i)
                st.rerun()
            track = c1.selectbox(_("Track"), list(cfg.tracks), format_func=track_labels.get,
                                 index=list(cfg.tracks).index(rule["track"]) if rule["track"] in cfg.tracks else 0,
                                 key=f"rule_{rid}_track")
            reason = c2.text_input(_("Reason shown with the message"),
                                   value=_(rule["label"]) if rule["label"] in SHIPPED_REASONS else rule["label"],
                                   key=f"rule_{rid}_label", placeholder=_("empty: the conditions in words"))
            conditions = [] if last else _condition_rows(rule, signals, ops, steps)
            reason = reason.strip()
            label = shipped.get(reason, reason) or (condition_words(
                [(c["signal"], c["op"], c["value"]) for c in conditions]) or _("Default track"))
            data.append({"track": track, "label": label, "conditions": conditions})
    c1, c2 = st.columns([1, 3])
    if c1.button(_("Save rules"), type="primary"):
        if _save(reminder_settings.RULES_KEY, data, user, _("Rules saved."), cfg.tracks):
            st.session_state.pop(_DRAFT, None)  # read back from what was stored on the next run
    if c2.button(_("Add a rule")):
        draft.insert(len(draft) - 1, {"id": _next_id(), "track": draft[-1]["track"], "label": "", "conditions": []})
        st.rerun()


# --- payment details, costs, rates, the engine ------------------------------------------------------

def _payment(cfg, user) -> None:
    st.subheader(_("Payment details in every message"))
    with st.form("reminder_payment"):
        p = cfg.payment
        c1, c2 = st.columns(2)
        iban = c1.text_input(_("IBAN"), value=p.get("iban", ""))
        bic = c2.text_input(_("BIC"), value=p.get("bic", ""))
        beneficiary = c1.text_input(_("Beneficiary name"), value=p.get("beneficiary", ""),
                                    help=_("Also the company name under the messages; at most 70 characters"))
        link = c2.text_input(_("Payment link pattern (optional)"), value=p.get("link_pattern", ""),
                             help=_("e.g. {example}; it may use {fields}",
                                    example="https://pay.example.com/{debtor_code}?amount={amount}&ref={reference}",
                                    fields="{debtor_code}, {amount}, {reference}, {currency}"))
        if st.form_submit_button(_("Save payment details")):
            _save(reminder_settings.PAYMENT_KEY, {"iban": iban, "bic": bic, "beneficiary": beneficiary,
                                                  "link_pattern": link}, user,
                  _("Payment details saved; messages proposed from now on carry them and the QR code."), cfg.tracks)


def _costs(cfg, user) -> None:
    st.subheader(_("Costs and interest on demand steps"))
    with st.form("reminder_costs"):
        c = cfg.costs
        modes = _worded(COST_MODES)
        mode = st.radio(_("Costs"), list(modes), index=list(modes).index(c.mode), format_func=modes.get,
                        horizontal=True)
        interest = st.checkbox(_("Statutory commercial interest from the day after the due date (businesses, "
                                 "art. 6:119a BW)"), value=c.interest)
        consumer_interest = st.checkbox(_("Statutory interest for consumers (art. 6:119 BW, its own rate table)"),
                                        value=c.consumer_interest)
        vat = st.checkbox(_("Add VAT to the costs (only if you cannot reclaim VAT); letters then say incl. btw"),
                          value=c.vat_on_costs)
        vat_pct = st.number_input(_("VAT %"), value=float(c.vat_percent), min_value=0.0, max_value=100.0, step=1.0,
                                  format="%g")
        extra = st.number_input(_("Days added to the consumer's 14-day term"), min_value=0, max_value=30,
                                value=int(c.wik_extra_days),
                                help=_("The law's 14 days are a minimum (art. 6:96 lid 6 BW): this can make the "
                                       "term longer, never shorter"))
        st.caption(_("Consumers first get the 14-day letter (a demand, final notice or hand-over step) with the "
                     "exact cost amount; its 14 days start the day after receipt (e-mail: the day sent; post: the "
                     "second delivery day), and costs follow only after them, on the sum of the principals in it."))
        if st.form_submit_button(_("Save cost settings")):
            _save(reminder_settings.COSTS_KEY, {"mode": mode, "interest": interest, "vat_on_costs": vat,
                                                "vat_percent": str(vat_pct), "consumer_interest": consumer_interest,
                                                "wik_extra_days": int(extra)}, user, _("Cost settings saved."),
                  cfg.tracks)


def source_words(source: str) -> str:
    """Where a rate was published, in the reader's language when it is one of the shipped sources."""
    m = ECB_SOURCE.match(source or "")
    if m:
        mro = m["mro"].replace(".", ",") if i18n.current() == "nl" else m["mro"]
        return _(ECB_WORDS, mro=mro, day=m["day"], points=m["points"])
    return _(source) if source in SHIPPED_SOURCES else source


def _rate_table(title: str, key: str, table: tuple, kind: str, user) -> None:
    """One editable rate table with each rate's source; a half-year without its own published rate is named."""
    st.subheader(title)
    st.caption(_("Set each 1 January and 1 July; a rate holds until the next one. Add each new rate with where "
                 "it was published (a row with the same percentage confirms an unchanged rate). Interest for a day "
                 "before the first rate is refused, never charged at 0 %."))
    with state.uow() as uow:
        stored = get_setting(uow.session, key)
    rows = costing.parse_rate_rows(stored) if stored else costing.DEFAULT_RATE_TABLES[kind]
    shown = {source_words(r.source): r.source for r in rows}  # the words shown -> the words stored
    frame = pd.DataFrame([{"from": r.start, "rate": float(r.percent), "source": source_words(r.source)} for r in rows])
    edited = st.data_editor(frame, key=_editor_key(f"rates_{kind}"), num_rows="dynamic", hide_index=True, width="stretch",
                            column_config={"from": st.column_config.DateColumn(_("From"), format="DD-MM-YYYY",
                                                                               required=True),
                                           "rate": st.column_config.NumberColumn(_("Rate %"), format="localized",
                                                                                 required=True),
                                           "source": st.column_config.TextColumn(_("Published in"))})
    if st.button(_("Save rates"), key=f"save_rates_{kind}"):
        out = []
        for r in _rows(edited):
            start = r.get("from")
            out.append([pd.Timestamp(start).date().isoformat() if start is not None else "",
                        "" if r.get("rate") is None else str(r["rate"]), shown.get(r.get("source"), r.get("source") or "")])
        if any(not a or not b for a, b, _source in out):
            st.error(_("Every rate needs a start date and a percentage."))
        else:
            if _save(key, out, user, _("Interest rates saved."), {}):
                _saved_tables(_("Interest rates saved."))
    missing = costing.half_years_without_rate(table, date.today())
    if missing:
        st.warning(_("No rate entered for the half-year from {days}; until it is, interest for those days runs at "
                     "the rate before it. Add the published rate.", days=", ".join(i18n.day(d) for d in missing)))


def _engine(cfg, user) -> None:
    st.subheader(_("Engine"))
    with st.form("reminder_engine"):
        c1, c2, c3, c4 = st.columns(4)
        fresh = c1.number_input(_("Stop when the last import is older than (days)"), min_value=1, max_value=90,
                                value=cfg.freshness_days)
        tolerance = c2.number_input(_("Ignore open amounts below"), min_value=0.0, max_value=1000.0, step=1.0,
                                    value=cfg.tolerance_cents / 100, format="%g")
        ahead = c3.number_input(_("Propose this many days ahead"), min_value=0, max_value=14,
                                value=cfg.lookahead_days)
        grace = c4.number_input(_("Grace after a promised date (days)"), min_value=0, max_value=30,
                                value=cfg.grace_days)
        c5, c6 = st.columns(2)
        review = c5.number_input(_("A run creating more messages than this only proposes them"), min_value=1,
                                 max_value=100_000, value=cfg.review_above,
                                 help=_("So that a new ledger or a big import is looked at before anything goes "
                                        "out."))
        steps = _worded(STEP_LABELS)
        cap = c6.selectbox(_("Invoices first seen long past due enter at most at"), tracks.TEMPLATES,
                           index=tracks.TEMPLATES.index(cfg.catch_up_cap), format_func=steps.get,
                           help=_("Final notice and hand-over stay a person's decision; a consumer gets the 14-day "
                                  "letter before any step with costs."))
        if st.form_submit_button(_("Save engine settings")):
            saved = _save(reminder_settings.ENGINE_KEY,
                          {"freshness_days": int(fresh), "tolerance_cents": round(tolerance * 100),
                           "lookahead_days": int(ahead), "review_above": int(review), "catch_up_cap": cap}, user,
                          _("Engine settings saved."), cfg.tracks)
            if saved and int(grace) != cfg.grace_days:
                _save(reminder_settings.GRACE_KEY, int(grace), user, _("Grace period saved."), cfg.tracks)


def render(user) -> None:
    if "settings_saved_message" in st.session_state:  # a table was saved in the run before this one
        st.success(st.session_state.pop("settings_saved_message"))
    with state.uow() as uow:
        cfg = reminder_settings.load_settings(uow.session)
    _tracks_editor(cfg, user)
    _rules_editor(cfg, user)
    _payment(cfg, user)
    _costs(cfg, user)
    for title, key, table, kind in (
            (_("Statutory commercial interest rates (art. 6:119a BW)"), reminder_settings.RATES_KEY,
             cfg.costs.rates, costing.COMMERCIAL),
            (_("Statutory interest rates for consumers (art. 6:119 BW)"), reminder_settings.CONSUMER_RATES_KEY,
             cfg.costs.consumer_rates, costing.CONSUMER)):
        _rate_table(title, key, table, kind, user)
    _engine(cfg, user)
