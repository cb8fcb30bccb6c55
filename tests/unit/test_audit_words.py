import pytest

from ui.audit_log import change_text


@pytest.mark.parametrize(("before", "after", "words"), [
    ({"role": "viewer"}, {"role": "admin"}, "role: viewer → admin"),
    (None, {"role": "collector"}, "role: collector"),
    ({"email": "a@b.nl", "language": "nl"}, {"email": "c@d.nl", "language": "nl"}, "email: a@b.nl → c@d.nl"),
    ({"subject": "Old"}, None, "subject: Old → –"),
    ({"value": None}, {"value": {"iban": "NL91ABNA0417164300"}}, 'value: – → {"iban": "NL91ABNA0417164300"}'),
    (None, None, ""),
    ("x", "y", "value: x → y"),
])
def test_a_change_reads_as_field_before_and_after(before, after, words):
    assert change_text(before, after) == words
