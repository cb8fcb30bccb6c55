"""The audit log as a person reads it: who, when (to the second, on the team's clock), what in words,
which record, and the change as "field: before → after". Called from the Settings page."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pandas as pd
import streamlit as st

from receivables.domain import messages, phrases, plans
from receivables.domain.phrases import Phrase
from receivables.services import audit
from ui import i18n, state
from ui.i18n import N_, _
from ui.nav import ROLE_NAMES
from ui.phrases import said

ACTIONS = {
    "call.log": N_("call logged"), "debtor.block": N_("reminders blocked"), "debtor.unblock": N_("block lifted"),
    "debtor.contact": N_("contact details changed"), "demo.load": N_("demo data loaded"),
    "demo.remove": N_("demo data removed"), "import.apply": N_("import applied"),
    "import.confirm": N_("import confirmed"), "import.undo": N_("import undone"),
    "invoice.dispute": N_("invoice disputed"), "invoice.resolve_dispute": N_("dispute resolved"),
    "message.approve": N_("reminder approved"), "message.edit": N_("reminder text edited"),
    "message.note": N_("note on a reminder"), "message.rerender": N_("reminder rewritten"),
    "note.add": N_("note added"), "prescription.interrupt": N_("prescription interrupted"),
    "promise.add": N_("promise to pay recorded"), "reminders.generate": N_("reminders proposed"),
    "reply.record": N_("reply filed"), "send.batch": N_("reminders sent"),
    "send.confirm_resend": N_("resend confirmed"), "send.confirm_sent": N_("delivery confirmed"),
    "send.mark_sent": N_("marked as sent"), "send.recover": N_("interrupted send recovered"),
    "send.test": N_("test e-mail sent"), "setting.change": N_("setting changed"),
    "text.default": N_("reminder text back to the shipped one"), "text.edit": N_("reminder text changed"),
    "user.add": N_("user added"), "user.reset_password": N_("password reset"), "user.set_role": N_("role changed"),
    "user.disable": N_("user disabled"), "user.enable": N_("user enabled"), "user.remove": N_("user removed"),
    "user.set_email": N_("e-mail address changed"), "user.set_language": N_("language changed"),
    "user.change_password": N_("own password changed"), "user.logout": N_("logged out"),
    "user.import": N_("users imported from the users file"),
    "login.failed": N_("failed login"), "login.throttled": N_("login locked"),
    "invoice.reject_dispute": N_("dispute rejected"), "portal.visit": N_("portal opened by the debtor"),
    "portal.refused": N_("portal link refused"), "portal.dispute": N_("disputed in the portal"),
    "portal.promise": N_("promise made in the portal"), "portal.paid": N_("payment reported in the portal"),
    "portal.plan": N_("payment plan proposed in the portal"),
    "portal.address_requested": N_("new address asked for in the portal"),
    "portal.address_mailed": N_("address confirmation mailed"), "portal.statement": N_("statement downloaded"),
    "portal.revoke": N_("portal links revoked"), "portal.link": N_("portal link made"),
    "portal.dispute_rejected_mailed": N_("debtor told why a dispute was rejected"),
    "debtor.owner": N_("debtor's owner changed"), "today.hand_over": N_("work item handed over"),
    "digest.send": N_("daily digest sent"),
    "message.postpone": N_("reminder postponed"), "message.unpostpone": N_("postponement lifted"),
    "message.block": N_("reminder blocked"), "message.unapprove": N_("approval withdrawn"),
    "message.called": N_("call made"), "message.bounced": N_("reminder bounced"),
    "promise.kept": N_("promise to pay kept"), "promise.broken": N_("promise to pay broken"),
    "mail.reply": N_("reply read from the mailbox"), "mail.auto_reply": N_("automatic reply read from the mailbox"),
    "mail.bounce": N_("bounce read from the mailbox"), "mail.unassigned": N_("mail not matched to a debtor"),
    "mail.assign": N_("mail assigned to a debtor"), "mail.set_aside": N_("mail set aside"),
    "mail.handle": N_("mail handled"), "debtor.bounce": N_("debtor's e-mail address bounced"),
    "bank.import": N_("bank statement imported"), "bank.undo": N_("bank statement import undone"),
    "bank.rematch": N_("bank lines matched again"), "bank.confirm": N_("bank match confirmed"),
    "bank.assign": N_("bank payment assigned by hand"), "bank.reject": N_("bank match suggestion rejected"),
    "bank.not_ours": N_("bank payment marked as not ours"),
    "bank.keep_payments": N_("bank payments kept when an import still showed the invoices open"),
    "bank.case_resolved": N_("difference between bank and ledger resolved"),
    "plan.create": N_("payment plan made"), "plan.propose": N_("payment plan proposed"),
    "plan.accept": N_("payment plan accepted"), "plan.reject": N_("payment plan rejected"),
    "plan.one_more_chance": N_("payment plan given one more chance"),
    "plan.back_on_track": N_("payment plan ended: back on the reminder track"),
    "plan.proposed": N_("payment plan back to proposed"), "plan.active": N_("payment plan running again"),
    "plan.broken": N_("payment plan broken"), "plan.rejected": N_("payment plan rejected"),
    "plan.paid": N_("payment plan paid"), "plan.ended": N_("payment plan ended"),
    "portal.mail_not_sent": N_("portal mail not sent"), "portal.mail_confirm_sent": N_("portal mail confirmed sent"),
    "portal.mail_confirm_resend": N_("portal mail to be sent again"),
}
ENTITIES = {"debtor": N_("debtor"), "invoice": N_("invoice"), "message": N_("reminder"), "user": N_("user"),
            "setting": N_("setting"), "import_batch": N_("import"), "note": N_("note"), "text": N_("text"),
            "portal": N_("portal"), "bank_line": N_("bank line"), "smtp": N_("mail server"),
            "inbound_mail": N_("incoming mail"), "digest": N_("daily digest"), "worklist": N_("work item"),
            "payment_plan": N_("payment plan"), "bank_ledger_case": N_("difference between bank and ledger"),
            "portal_mail": N_("portal mail")}
# the fields a change names, as its reader calls them; a field not listed here shows its own name
FIELDS = {
    "address": N_("address"), "allocations": N_("allocations"), "amount_cents": N_("amount"),
    "as_of": N_("as of"), "attachments": N_("attachments"), "attempts": N_("attempts"), "batch_id": N_("import"),
    "blocked": N_("blocked"), "body_text": N_("text"), "bounced": N_("bounced"), "cancelled": N_("cancelled"),
    "contact_person": N_("contact person"), "costs_cents": N_("collection costs"), "currency": N_("currency"),
    "date": N_("date"), "deadline": N_("deadline"), "debtor": N_("debtor"), "debtor_id": N_("debtor"),
    "debtors": N_("debtors"), "detail": N_("detail"), "disabled": N_("disabled"), "disputed": N_("disputed"),
    "edited": N_("edited by hand"), "email": N_("e-mail address"), "email_bouncing": N_("e-mail address bounces"),
    "error": N_("problem"), "file": N_("file"), "file_name": N_("file name"), "interest_cents": N_("interest"),
    "invoice_id": N_("invoice"), "invoice_ids": N_("invoices"), "invoices": N_("invoices"), "kind": N_("kind"),
    "language": N_("language"), "last_error": N_("last problem"), "link": N_("link"), "mail_id": N_("mail"),
    "message_id": N_("reminder"), "messages": N_("reminders"), "name": N_("name"), "note": N_("note"),
    "number": N_("number"), "open_cents": N_("open amount"), "outcome": N_("outcome"), "owner": N_("owner"),
    "paid_cents": N_("paid"), "paid_on": N_("paid on"), "paused_until": N_("paused until"), "phone": N_("phone"),
    "plan_id": N_("payment plan"), "planned_date": N_("planned for"), "postponed_until": N_("postponed until"),
    "promise_date": N_("promised for"), "reason": N_("reason"), "role": N_("role"), "sent_at": N_("sent at"),
    "sent_on": N_("sent on"), "status": N_("status"), "subject": N_("subject"), "terms": N_("terms"),
    "text": N_("text"), "until": N_("until"), "value": N_("value"), "version": N_("version"),
}


# the values of a field that are words of ours, per kind of thing changed: worded like the field's name
VALUES = {"message": {"status": messages.STATUS_LABELS}, "payment_plan": {"status": plans.STATUS_LABELS},
          "user": {"role": ROLE_NAMES}}


def _value(v, labels: dict | None = None) -> str:
    if v is None or v == "":
        return "–"
    if labels and isinstance(v, str) and v in labels:
        return _(labels[v])
    if isinstance(v, str) and isinstance(words := phrases.load(v), Phrase):  # words the core kept, e.g. a problem
        return said(words)
    if isinstance(v, (dict, list)):
        text = json.dumps(v, ensure_ascii=False, default=str)
        return text if len(text) <= 80 else text[:77] + "…"
    return str(v)


def change_text(before, after, entity: str | None = None) -> str:
    """The change in words: `role: viewer → admin; e-mail address: – → a@b.nl`, each field by its name in
    the reader's language (FIELDS), and the values that are words of ours (a reminder's status, a user's
    role: VALUES, by the kind of thing changed) likewise; keys present on one side only are shown as
    added or removed."""
    before = before if isinstance(before, dict) else ({} if before is None else {"value": before})
    after = after if isinstance(after, dict) else ({} if after is None else {"value": after})
    values = VALUES.get(entity or "", {})
    parts = []
    for key in list(dict.fromkeys([*before, *after])):
        old, new = before.get(key), after.get(key)
        field = _(FIELDS[key]) if key in FIELDS else key
        labels = values.get(key)
        if key in before and key in after:
            if old != new:
                parts.append(f"{field}: {_value(old, labels)} → {_value(new, labels)}")
        elif key in after:
            parts.append(f"{field}: {_value(new, labels)}")
        else:
            parts.append(f"{field}: {_value(old, labels)} → –")
    return "; ".join(parts)


def _parsed(v):
    if isinstance(v, str):
        try:
            return json.loads(v)
        except ValueError:
            return v
    return v


def readable(log: pd.DataFrame) -> pd.DataFrame:
    """The audit frame (id, at, actor, action, entity, entity_id, before, after) in words."""
    rows = []
    for r in log.to_dict("records"):
        entity = _(ENTITIES[r["entity"]]) if r.get("entity") in ENTITIES else (r.get("entity") or "")
        rows.append({
            _("When"): i18n.moment(pd.Timestamp(r["at"]).to_pydatetime()),
            _("Who"): r["actor"],
            _("What"): _(ACTIONS[r["action"]]) if r["action"] in ACTIONS else r["action"],
            _("Concerning"): f"{entity} {r['entity_id'] or ''}".strip(),
            _("What changed"): change_text(_parsed(r.get("before")), _parsed(r.get("after")), r.get("entity")),
        })
    return pd.DataFrame(rows, columns=[_("When"), _("Who"), _("What"), _("Concerning"), _("What changed")])


def render() -> None:
    c1, c2, c3, c4 = st.columns(4)
    actor = c1.text_input(_("Who"), key="audit_who")
    labels = {a: _(words) for a, words in ACTIONS.items()}  # worded in this run (see settings_texts)
    action = c2.selectbox(_("What"), sorted(labels, key=labels.get), index=None, format_func=labels.get,
                          placeholder=_("everything"), key="audit_what")
    since = c3.date_input(_("From"), value=date.today() - timedelta(days=30), format="DD-MM-YYYY",
                          min_value=state.earliest_date(), key="audit_from")
    until = c4.date_input(_("Until"), value=date.today(), format="DD-MM-YYYY", min_value=state.earliest_date(),
                          key="audit_to")
    with state.uow() as uow:
        log = audit.audit_log(uow, actor=actor.strip() or None, action=action, since=since,
                              until=until + timedelta(days=1))
    st.caption(i18n.n_("{n} event, newest first", "{n} events, newest first", len(log)))
    st.dataframe(readable(log), hide_index=True, width="stretch",
                 column_config={_("What changed"): st.column_config.TextColumn(width="large")})
