"""The dependency rule for the entry scripts, which import-linter cannot see (it analyses packages, and
desk.py and app.py are single files): like the pages, they reach the core through ui and the services."""

import ast

import pytest

from tests.conftest import ROOT

OURS = ("receivables", "db", "emails", "ui", "pages")
ALLOWED = ("ui", "receivables.services")


def imported_modules(path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module or ""


def allowed(module: str) -> bool:
    return any(module == a or module.startswith(a + ".") for a in ALLOWED)


@pytest.mark.parametrize("script", sorted(p.name for p in ROOT.glob("*.py")))
def test_an_entry_script_imports_only_ui_and_the_services(script):
    ours = [m for m in imported_modules(ROOT / script) if m.split(".")[0] in OURS]
    assert ours, f"{script} imports nothing of ours: is it still an entry script?"
    assert [m for m in ours if not allowed(m)] == []
