import ast
from pathlib import Path

import pytest

from receivables.domain import phrases
from receivables.domain.phrases import Phrase
from receivables.domain.translation import catalogue, translate
from ui import i18n
from ui.audit_log import ACTIONS, ENTITIES, change_text


@pytest.mark.parametrize(("before", "after", "words"), [
    ({"role": "viewer"}, {"role": "admin"}, "role: viewer → admin"),
    (None, {"role": "collector"}, "role: collector"),
    ({"email": "a@b.nl", "language": "nl"}, {"email": "c@d.nl", "language": "nl"}, "e-mail address: a@b.nl → c@d.nl"),
    ({"mail_id": 7, "link": None}, {"mail_id": 8, "link": "x", "zz_unknown": 1}, "mail: 7 → 8; link: – → x; zz_unknown: 1"),
    ({"subject": "Old"}, None, "subject: Old → –"),
    ({"value": None}, {"value": {"iban": "NL91ABNA0417164300"}}, 'value: – → {"iban": "NL91ABNA0417164300"}'),
    (None, None, ""),
    ("x", "y", "value: x → y"),
])
def test_a_change_reads_as_field_before_and_after(before, after, words, monkeypatch):
    monkeypatch.setattr(i18n, "current", lambda: "en")
    assert change_text(before, after) == words


def test_the_fields_of_a_change_are_named_in_the_readers_language_and_unknown_ones_as_they_are(monkeypatch):
    monkeypatch.setattr(i18n, "current", lambda: "nl")
    assert (change_text({"mail_id": 7, "status": "sent"}, {"mail_id": 8, "status": "failed", "zz_unknown": 1})
            == "mail: 7 → 8; status: sent → failed; zz_unknown: 1")
    assert change_text({"email": "a@b.nl"}, {"email": "c@d.nl"}) == "e-mailadres: a@b.nl → c@d.nl"
    problem = phrases.dump(Phrase("address bounced: {address}: {words}", {"address": "a@b.nl", "words": "550 no"}))
    assert change_text({"status": "proposed"}, {"status": "approved"}, "message") == "status: voorgesteld → goedgekeurd"
    assert change_text({"role": "viewer"}, {"role": "admin"}, "user") == "rol: kijker → beheerder"
    assert change_text({"status": "sent"}, {"status": "zz_new"}, "message") == "status: verzonden → zz_new"
    assert change_text({"last_error": problem}, None) == "laatste probleem: adres onbestelbaar: a@b.nl: 550 no → –"


# --- every action written to the audit log has words ----------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
WRITERS = ("receivables", "db", "ui", "pages", "emails", "app.py", "portal.py")


def _sources():
    for top in WRITERS:
        path = ROOT / top
        for file in ([path] if path.is_file() else sorted(path.rglob("*.py"))):
            yield file.relative_to(ROOT).as_posix(), ast.parse(file.read_text(encoding="utf-8"))


def _called(node: ast.Call) -> str:
    return node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")


def _argument(node: ast.Call, position: int, name: str):
    if len(node.args) > position:
        return node.args[position]
    return next((k.value for k in node.keywords if k.arg == name), None)


def _literals(node) -> list[str] | None:
    """The strings an argument can be when it is written out: a literal, or either literal of an if-else."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        both = (_literals(node.body), _literals(node.orelse))
        return None if None in both else both[0] + both[1]
    return None


def _literal_arguments(function: str, position: int, name: str, in_file: str | None = None) -> list[str]:
    """Every string literal passed to `function` at `position` (or as `name`), anywhere or in one file."""
    found = []
    for file, tree in _sources():
        if in_file and file != in_file:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _called(node) == function:
                found += _literals(_argument(node, position, name)) or []
    return found


def _computed_actions() -> dict[tuple[str, str], list[str]]:
    """The actions a writer computes, by file and the expression it writes, from the code's own lists: a new
    computed action belongs here (the test below fails until it is)."""
    from receivables.domain import messages, plans
    from receivables.domain.replies import ReplyKind
    from receivables.services import portal_mail
    return {
        ("receivables/services/bank.py", "f'bank.{what}'"):
            ["bank." + w for w in _literal_arguments("_decided", 3, "what", "receivables/services/bank.py")],
        ("receivables/services/mailbox.py", "f'mail.{reply.kind}'"): [f"mail.{k}" for k in ReplyKind],
        # a promise's review records only what it found: kept or broken (pending leaves it as it is)
        ("receivables/services/dossier.py", "f'promise.{check.outcome}'"): ["promise.kept", "promise.broken"],
        ("receivables/services/queue.py", "f'message.{action}'"): [f"message.{a}" for a in messages.ACTIONS],
        ("receivables/services/plans.py", "f'plan.{choice}'"): [f"plan.{c}" for c in plans.CHOICES],
        ("receivables/services/plans.py", "f'plan.{status}'"): [f"plan.{s}" for s in plans.STATUSES],
        ("receivables/services/portal_mail.py", "_AUDIT[mail.kind] if outcome == 'sent' else 'portal.mail_not_sent'"):
            [*portal_mail._AUDIT.values(), "portal.mail_not_sent"],
        # the login guard is handed a function that writes what it is called with
        ("ui/auth.py", "action"): _literal_arguments("audit", 0, "action", "receivables/services/login_throttle.py"),
    }


def written_audit_actions() -> tuple[set[str], set[str], list[str]]:
    """The actions and entities the code writes to the audit log, and the writes this test cannot read."""
    actions, entities, unread = set(), set(), []
    computed = _computed_actions()
    for file, tree in _sources():
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and _called(node) == "record_audit"):
                continue
            action, entity = _argument(node, 2, "action"), _argument(node, 3, "entity")
            words = _literals(action)
            if words is None:
                words = computed.get((file, ast.unparse(action)))
            if not words:
                unread.append(f"{file}:{node.lineno} {ast.unparse(action)}")
            actions.update(words or [])
            entities.update(_literals(entity) or [])
    return actions, entities, unread


def test_every_action_written_to_the_audit_log_has_words():
    actions, entities, unread = written_audit_actions()
    assert not unread, f"audit writes whose action this test cannot list; add them to _computed_actions: {unread}"
    assert len(actions) > 60 and "mail.bounce" in actions and "login.failed" in actions  # the reader found them
    assert sorted(actions - set(ACTIONS)) == []
    assert sorted(entities - set(ENTITIES)) == []


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_every_audit_action_reads_in_both_languages(lang):
    """Each language's catalogue words every action and entity ("import" is Dutch too)."""
    words = [*ACTIONS.values(), *ENTITIES.values()]
    translated = catalogue(lang)._catalog  # what the catalogue has a translation for
    assert [w for w in words if not translated.get(w)] == []
    if lang == "nl":
        assert sum(translate(w, "nl") != w for w in words) > len(words) - 3
