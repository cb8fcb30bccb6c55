"""The admin's editor for reminder texts: per step, tone and language, with the fields a text may use,
a preview rendered in the template sandbox, the version history and a way back to the shipped text.
Called from the Settings page's "Texts" tab."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from emails import render
from emails.template_source import TONES
from receivables.services import texts
from receivables.services.errors import ServiceError
from ui import i18n, state
from ui.i18n import N_, _

TONE_NAMES = {"friendly": N_("friendly"), "standard": N_("standard"), "strict": N_("strict")}
STEP_NAMES = {"courtesy": N_("courtesy notice (before the due date)"), "reminder": N_("first reminder"),
              "second_reminder": N_("second reminder"), "demand": N_("demand (aanmaning)"),
              "final_notice": N_("final notice (ingebrekestelling)"), "handover": N_("hand-over to collection"),
              "call": N_("call note")}


def render_editor(user) -> None:
    st.caption(_("Each step has its own words per tone and language. A changed text is used for messages "
                 "written from now on; messages already in the queue keep their words. Every version is kept."))
    c1, c2, c3 = st.columns(3)
    # labels worded now, in this run: a widget may call its format_func again outside the run
    step_labels = {n: _(STEP_NAMES[n]) if n in STEP_NAMES else n for n in render.template_names()}
    tone_labels = {t: _(TONE_NAMES[t]) for t in TONES}
    template = c1.selectbox(_("Step"), list(step_labels), key="text_template", format_func=step_labels.get)
    tone = c2.selectbox(_("Tone"), TONES, index=1, key="text_tone", format_func=tone_labels.get)
    language = c3.selectbox(_("Language"), list(i18n.LANGUAGES), key="text_language",
                            format_func=i18n.LANGUAGES.get)
    try:
        with state.uow() as uow:
            current = texts.editable(uow, template, tone, language)
    except ServiceError as exc:
        st.error(i18n.error(exc))
        return
    st.markdown(_("**In force:** your own text (version {version})", version=current.versions[0].id)
                if current.edited else _("**In force:** the shipped text"))
    key = f"{template}/{tone}/{language}"
    left, right = st.columns(2)
    with left:
        subject = st.text_input(_("Subject"), current.subject, key=f"text_subject_{key}")
        body = st.text_area(_("Text"), current.body, height=360, key=f"text_body_{key}")
        with st.expander(_("Fields you can use")):
            st.dataframe(pd.DataFrame([{_("Field"): "{{ " + f + " }}" if not f.startswith("{%") else f,
                                        _("What it holds"): _(d)} for f, d in render.FIELDS.items()]),
                         hide_index=True, width="stretch")
        b1, b2 = st.columns(2)
        save = b1.button(_("Save text"), type="primary", key=f"text_save_{key}", disabled=not user.can("admin"))
        default = b2.button(_("Back to the shipped text"), key=f"text_default_{key}",
                            disabled=not (current.edited and user.can("admin")))
    with right:
        st.markdown("**" + _("Preview") + "**")
        try:
            shown = texts.check(template, tone, language, subject, body)
        except ServiceError as exc:
            st.error(i18n.error(exc))
            shown = None
        if shown is not None:
            with st.container(border=True, height=520):
                st.text(shown.subject)  # text, never Markdown: a debtor's name is shown as written
                st.divider()
                st.text(shown.text)
    if save:
        try:
            with state.uow(immediate=True) as uow:
                version = texts.save(uow, template, tone, language, subject, body, actor=user.username)
        except ServiceError as exc:
            st.error(i18n.error(exc))
        else:
            state.data_changed()
            st.success(_("Saved as version {version}.", version=version))
    if default:
        with state.uow(immediate=True) as uow:
            texts.restore_default(uow, template, tone, language, actor=user.username)
        state.data_changed()
        st.rerun()
    if current.versions:
        st.markdown("**" + _("History") + "**")
        rows = [{_("Version"): v.id, _("When"): i18n.moment(v.created_at), _("Who"): v.created_by,
                 _("Subject"): v.subject if v.subject is not None else _("(the shipped text)")}
                for v in current.versions]
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
        back = st.selectbox(_("Put an earlier version back"), [v.id for v in current.versions[1:]],
                            key=f"text_back_{key}", index=None, placeholder=_("choose a version"))
        if back is not None and st.button(_("Use this version"), key=f"text_back_go_{key}",
                                          disabled=not user.can("admin")):
            with state.uow(immediate=True) as uow:
                texts.restore_version(uow, back, actor=user.username)
            state.data_changed()
            st.rerun()
