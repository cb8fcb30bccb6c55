"""The admin's editor for the reminder engine: tracks and steps, track rules, payment details, costs,
the interest-rate table and the engine's limits. Called from the Settings page's "Reminders" tab."""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from receivables.domain import costs as costing
from receivables.domain import tracks
from receivables.services import reminder_settings
from receivables.services.errors import ServiceError
from ui import state
from ui.text import md


def _save(key: str, value, user, done: str) -> None:
    try:
        with state.uow(immediate=True) as uow:
            reminder_settings.save_setting(uow, key, value, actor=user.username)
    except ServiceError as exc:
        st.error(str(exc))
        return
    state.data_changed()
    st.success(done)


def _rows(frame: pd.DataFrame) -> list[dict]:
    """Editor rows without the empty ones a person added and left blank."""
    out = []
    for r in frame.to_dict("records"):
        clean = {k: (None if (not isinstance(v, (list, dict)) and pd.isna(v)) else v) for k, v in r.items()}
        if any(v not in (None, "") for v in clean.values()):
            out.append(clean)
    return out


def _rate_table(title: str, key: str, table: tuple, kind: str, user) -> None:
    """One editable rate table with each rate's source; a half-year without its own published rate is named."""
    from receivables.services.settings import get_setting

    st.subheader(title)
    st.caption("Set each 1 January and 1 July; a rate holds until the next one. Add each new rate with where it "
               "was published (a row with the same percentage confirms an unchanged rate). Interest for a day "
               "before the first rate is refused, never charged at 0 %.")
    with state.uow() as uow:
        stored = get_setting(uow.session, key)
    rows = costing.parse_rate_rows(stored) if stored else costing.DEFAULT_RATE_TABLES[kind]
    frame = pd.DataFrame([{"from": r.start, "rate": float(r.percent), "source": r.source} for r in rows])
    edited = st.data_editor(frame, key=f"rates_{kind}", num_rows="dynamic", hide_index=True, width="stretch",
                            column_config={"from": st.column_config.DateColumn("from", format="DD-MM-YYYY",
                                                                               required=True),
                                           "rate": st.column_config.NumberColumn("rate %", format="%.2f",
                                                                                 required=True),
                                           "source": st.column_config.TextColumn("published in")})
    if st.button("Save rates", key=f"save_rates_{kind}"):
        out = []
        for r in _rows(edited):
            start = r.get("from")
            out.append([pd.Timestamp(start).date().isoformat() if start is not None else "",
                        "" if r.get("rate") is None else str(r["rate"]), r.get("source") or ""])
        if any(not a or not b for a, b, _ in out):
            st.error("Every rate needs a start date and a percentage.")
        else:
            _save(key, out, user, "Interest rates saved.")
    missing = costing.half_years_without_rate(table, date.today())
    if missing:
        st.warning("No rate entered for the half-year from " + ", ".join(f"{d:%d-%m-%Y}" for d in missing)
                   + "; until it is, interest for those days runs at the rate before it. Add the published rate.")


def render(user) -> None:
    with state.uow() as uow:
        cfg = reminder_settings.load_settings(uow.session)

    st.subheader("Tracks")
    st.caption("Each track is an ordered list of steps; the offset counts days from the due date (negative = "
               "a courtesy notice before it). Steps are never skipped and a late send pushes the rest back.")
    for problem in (p for t in cfg.tracks.values() for p in tracks.term_problems(t)):
        st.warning(f"{problem}. Until the offsets are changed the engine waits for the term anyway.")
    edited_tracks = []
    for t in cfg.tracks.values():
        st.markdown(f"**{md(t.name)}** (`{t.key}`)")
        frame = pd.DataFrame([{"key": s.key, "template": s.template, "offset": s.offset, "channel": s.channel,
                               "charges_costs": s.charges_costs, "needs_approval": s.needs_approval}
                              for s in t.steps])
        edited = st.data_editor(frame, key=f"track_{t.key}", num_rows="dynamic", hide_index=True, width="stretch",
                                column_config={
                                    "template": st.column_config.SelectboxColumn(options=list(tracks.TEMPLATES),
                                                                                 required=True),
                                    "channel": st.column_config.SelectboxColumn(options=list(tracks.CHANNELS),
                                                                                required=True),
                                    "offset": st.column_config.NumberColumn("offset (days)", step=1, required=True),
                                    "charges_costs": st.column_config.CheckboxColumn("costs"),
                                    "needs_approval": st.column_config.CheckboxColumn("approval"),
                                })
        edited_tracks.append({"key": t.key, "name": t.name, "steps": [
            {**r, "offset": None if r.get("offset") is None else int(r["offset"]),
             "charges_costs": bool(r.get("charges_costs")), "needs_approval": bool(r.get("needs_approval"))}
            for r in _rows(edited)]})
    c1, c2 = st.columns([1, 3])
    if c1.button("Save tracks", type="primary"):
        _save(reminder_settings.TRACKS_KEY, edited_tracks, user, "Tracks saved. New messages follow them.")
    if c2.button("Back to the shipped tracks and rules"):
        with state.uow(immediate=True) as uow:
            reminder_settings.reset_tracks(uow, actor=user.username)
        state.data_changed()
        st.rerun()

    st.subheader("Which track a debtor gets")
    st.caption("Rules are read top to bottom; the first that matches wins and its label is shown with the "
               "message. Conditions: " + ", ".join(f"`{k}`" for k in tracks.SIGNALS)
               + " with >=, <=, >, <, ==, joined by `and`. The last rule has no condition. An override on the "
               "debtor wins over every rule.")
    rules = pd.DataFrame(tracks.rules_to_data(cfg.rules))
    edited_rules = st.data_editor(rules, key="track_rules", num_rows="dynamic", hide_index=True, width="stretch",
                                  column_config={"track": st.column_config.SelectboxColumn(options=list(cfg.tracks),
                                                                                           required=True),
                                                 "when": st.column_config.TextColumn("when (conditions)"),
                                                 "label": st.column_config.TextColumn("reason shown")})
    if st.button("Save rules"):
        _save(reminder_settings.RULES_KEY, [{**r, "when": r.get("when") or ""} for r in _rows(edited_rules)], user,
              "Rules saved.")

    st.subheader("Payment details in every message")
    with st.form("reminder_payment"):
        p = cfg.payment
        c1, c2 = st.columns(2)
        iban = c1.text_input("IBAN", value=p.get("iban", ""))
        bic = c2.text_input("BIC", value=p.get("bic", ""))
        beneficiary = c1.text_input("Beneficiary name", value=p.get("beneficiary", ""),
                                    help="Also the company name under the messages; at most 70 characters")
        link = c2.text_input("Payment link pattern (optional)", value=p.get("link_pattern", ""),
                             help="e.g. https://pay.example.com/{debtor_code}?amount={amount}&ref={reference}; "
                                  "it may use {debtor_code}, {amount}, {reference} and {currency}")
        if st.form_submit_button("Save payment details"):
            _save(reminder_settings.PAYMENT_KEY, {"iban": iban, "bic": bic, "beneficiary": beneficiary,
                                                  "link_pattern": link}, user,
                  "Payment details saved; messages proposed from now on carry them and the QR code.")

    st.subheader("Costs and interest on demand steps")
    with st.form("reminder_costs"):
        c = cfg.costs
        modes = {"bik": "BIK staffel (extrajudicial collection costs)", "eu40": "€40 per late invoice (EU directive)",
                 "none": "no costs"}
        mode = st.radio("Costs", list(modes), index=list(modes).index(c.mode), format_func=modes.get,
                        horizontal=True)
        interest = st.checkbox("Statutory commercial interest from the day after the due date (businesses, "
                               "art. 6:119a BW)", value=c.interest)
        consumer_interest = st.checkbox("Statutory interest for consumers (art. 6:119 BW, its own rate table)",
                                        value=c.consumer_interest)
        vat = st.checkbox("Add VAT to the costs (only if you cannot reclaim VAT); letters then say incl. btw",
                          value=c.vat_on_costs)
        vat_pct = st.number_input("VAT %", value=float(c.vat_percent), min_value=0.0, max_value=100.0, step=1.0)
        extra = st.number_input("Days added to the consumer's 14-day term", min_value=0, max_value=30,
                                value=int(c.wik_extra_days), help="The law's 14 days are a minimum (art. 6:96 lid 6 "
                                                                  "BW): this can make the term longer, never shorter")
        st.caption("Consumers first get the 14-day letter (a demand, final notice or hand-over step) with the exact "
                   "cost amount; its 14 days start the day after receipt (e-mail: the day sent; post: the second "
                   "delivery day), and costs follow only after them, on the sum of the principals in it.")
        if st.form_submit_button("Save cost settings"):
            _save(reminder_settings.COSTS_KEY, {"mode": mode, "interest": interest, "vat_on_costs": vat,
                                                "vat_percent": str(vat_pct), "consumer_interest": consumer_interest,
                                                "wik_extra_days": int(extra)}, user, "Cost settings saved.")

    for title, key, table, kind in (
            ("Statutory commercial interest rates (art. 6:119a BW)", reminder_settings.RATES_KEY, cfg.costs.rates,
             costing.COMMERCIAL),
            ("Statutory interest rates for consumers (art. 6:119 BW)", reminder_settings.CONSUMER_RATES_KEY,
             cfg.costs.consumer_rates, costing.CONSUMER)):
        _rate_table(title, key, table, kind, user)

    st.subheader("Engine")
    with st.form("reminder_engine"):
        c1, c2, c3, c4 = st.columns(4)
        fresh = c1.number_input("Stop when the last import is older than (days)", min_value=1, max_value=90,
                                value=cfg.freshness_days)
        tolerance = c2.number_input("Ignore open amounts below", min_value=0.0, max_value=1000.0, step=1.0,
                                    value=cfg.tolerance_cents / 100)
        ahead = c3.number_input("Propose this many days ahead", min_value=0, max_value=14,
                                value=cfg.lookahead_days)
        grace = c4.number_input("Grace after a promised date (days)", min_value=0, max_value=30, value=cfg.grace_days)
        c5, c6 = st.columns(2)
        review = c5.number_input("A run creating more messages than this only proposes them", min_value=1,
                                 max_value=100_000, value=cfg.review_above,
                                 help="So that a new ledger or a big import is looked at before anything goes out.")
        cap = c6.selectbox("Invoices first seen long past due enter at most at", tracks.TEMPLATES,
                           index=tracks.TEMPLATES.index(cfg.catch_up_cap),
                           help="Final notice and hand-over stay a person's decision; a consumer gets the 14-day "
                                "letter before any step with costs.")
        if st.form_submit_button("Save engine settings"):
            _save(reminder_settings.ENGINE_KEY, {"freshness_days": int(fresh), "tolerance_cents": round(tolerance * 100),
                                                 "lookahead_days": int(ahead), "review_above": int(review),
                                                 "catch_up_cap": cap}, user, "Engine settings saved.")
            if int(grace) != cfg.grace_days:
                _save(reminder_settings.GRACE_KEY, int(grace), user, "Grace period saved.")
