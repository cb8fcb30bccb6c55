"""Reminder texts edited in Settings: checked, versioned, in force for new messages, back to default."""

import pytest
from sqlalchemy import select

from db.models import AuditEvent
from emails import render
from receivables.services import texts
from receivables.services.errors import ServiceError

SUBJECT = "Herinnering factuur {{ invoices[0].number }}"
BODY = "Wij zien uw betaling van {{ total_cents|money }} graag tegemoet, {{ debtor.name }}."


def test_an_edited_text_is_in_force_for_its_step_tone_and_language_only(uow):
    with uow() as u:
        version = texts.save(u, "reminder", "friendly", "nl", SUBJECT, BODY, actor="alice")
    with uow() as u:
        force = texts.in_force(u.session)
        assert list(force) == [("reminder", "friendly", "nl")]
        current = texts.editable(u, "reminder", "friendly", "nl")
        assert (current.subject, current.body, current.edited) == (SUBJECT, BODY, True)
        assert [v.id for v in current.versions] == [version]
        assert not texts.editable(u, "reminder", "strict", "nl").edited
    ctx = texts.sample_context("reminder", "friendly", "nl")
    out = render.render_message(ctx, force)
    assert out.subject == "Herinnering factuur 2026-0042"
    assert "Wij zien uw betaling van € 3.025,00 graag tegemoet, Bakker B.V." in out.text
    other = render.render_message({**ctx, "tone": "strict"}, force)
    assert other.subject != out.subject  # the strict tone keeps the shipped words


def test_the_shipped_text_of_a_tone_is_what_the_editor_starts_from(uow):
    with uow() as u:
        current = texts.editable(u, "demand", "strict", "nl")
    assert not current.edited and "tone ==" not in current.body + current.subject
    assert "sommeren" in current.body and '{% include "nl/_costs.j2" %}' in current.body


@pytest.mark.parametrize(("subject", "body", "message"), [
    ("", BODY, "needs a subject and a body"),
    (SUBJECT, "Betaal {{ debtor.iban }} nu", "the text cannot be used"),
    (SUBJECT, "Betaal {% if %} nu", "the text cannot be used"),
    (SUBJECT, "{{ ''.__class__.__mro__ }}", "the text cannot be used"),
])
def test_a_text_that_cannot_be_rendered_is_refused_and_nothing_is_saved(uow, subject, body, message):
    with uow() as u, pytest.raises(ServiceError, match=message):
        texts.save(u, "reminder", "standard", "nl", subject, body, actor="alice")
    with uow() as u:
        assert texts.in_force(u.session) == {}


def test_a_demand_without_its_legal_costs_paragraph_is_refused(uow):
    with uow() as u, pytest.raises(ServiceError, match="_costs.j2"):
        texts.save(u, "demand", "standard", "nl", "Aanmaning", "Betaal nu.", actor="alice")


def test_history_and_the_way_back(uow):
    with uow() as u:
        first = texts.save(u, "reminder", "standard", "en", "First {{ debtor.name }}", BODY, actor="alice")
        texts.save(u, "reminder", "standard", "en", "Second {{ debtor.name }}", BODY, actor="bob")
        texts.restore_version(u, first, actor="carol")
        assert texts.editable(u, "reminder", "standard", "en").subject == "First {{ debtor.name }}"
        texts.restore_default(u, "reminder", "standard", "en", actor="dave")
    with uow() as u:
        current = texts.editable(u, "reminder", "standard", "en")
        assert not current.edited and [v.created_by for v in current.versions] == ["dave", "carol", "bob", "alice"]
        assert texts.in_force(u.session) == {}
        actions = u.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["text.edit", "text.edit", "text.edit", "text.default"]


def test_an_unknown_step_tone_or_language_is_named(uow):
    with uow() as u:
        for args, word in [(("nope", "standard", "nl"), "no reminder text nope"),
                           (("reminder", "grumpy", "nl"), "tone must be one of"),
                           (("reminder", "standard", "de"), "language must be one of")]:
            with pytest.raises(ServiceError, match=word):
                texts.editable(u, *args)


def test_a_text_edited_in_settings_is_used_for_the_next_reminders_and_not_for_those_already_written(uow):
    from datetime import date

    from db.models import Message
    from receivables.services import demo, reminders

    anchor = date(2026, 6, 30)
    with uow() as u:
        demo.load_demo(u, seed=11, anchor=anchor)
    with uow() as u:
        reminders.generate(u, today=anchor, actor="alice")
        before = {m.id: m.subject for m in u.session.scalars(select(Message))}
    assert before
    for template in render.template_names():
        for tone in ("friendly", "standard", "strict"):
            with uow() as u:
                shipped = texts.editable(u, template, tone, "nl")
                texts.save(u, template, tone, "nl", "EIGEN: " + shipped.subject, shipped.body, actor="alice")
    with uow() as u:
        reminders.generate(u, today=date(2026, 7, 7), actor="alice")
        messages = dict(u.session.execute(select(Message.id, Message.subject).where(Message.language == "nl")).all())
    kept = [i for i in messages if i in before and messages[i] == before[i]]
    assert kept  # words already written stay, unless the message is written again because its invoices changed
    new = [s for i, s in messages.items() if i not in before]
    assert new and all(s.startswith("EIGEN: ") for s in new)
