from pathlib import Path

import pytest

from emails.template_source import assemble, blocks, for_tone

SOURCE = ('{% block subject %}{% if tone == "friendly" %}Hi{% elif tone == "strict" %}Notice{% else %}Reminder'
          '{% endif %}: {% if many %}{{ n }} invoices{% else %}invoice {{ number }}{% endif %}{% endblock %}'
          '{% block body %}A{% if tone == "strict" %} firm{% endif %} text.{% endblock %}')


@pytest.mark.parametrize(("tone", "subject", "body"), [
    ("friendly", "Hi: {% if many %}{{ n }} invoices{% else %}invoice {{ number }}{% endif %}", "A text."),
    ("strict", "Notice: {% if many %}{{ n }} invoices{% else %}invoice {{ number }}{% endif %}", "A firm text."),
    ("standard", "Reminder: {% if many %}{{ n }} invoices{% else %}invoice {{ number }}{% endif %}", "A text."),
])
def test_one_tone_is_cut_from_the_three_in_a_file(tone, subject, body):
    assert blocks(for_tone(SOURCE, tone)) == {"subject": subject, "body": body}


def test_an_assembled_text_has_the_blocks_it_was_made_of():
    assert blocks(assemble("Subject {{ x }}", "Body\n\nmore")) == {"subject": "Subject {{ x }}", "body": "Body\n\nmore"}


@pytest.mark.parametrize("path", sorted((Path(__file__).resolve().parents[2] / "emails" / "templates").glob("*/[!_]*.j2")))
@pytest.mark.parametrize("tone", ["friendly", "standard", "strict"])
def test_no_step_template_keeps_a_tone_test_once_cut(path, tone):
    assert "tone ==" not in for_tone(path.read_text(encoding="utf-8"), tone)
