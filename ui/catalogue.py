"""Keeps the translation catalogues in step with the code.

    python -m ui.catalogue update PART FILE...   extract the strings of FILEs into locale/*/LC_MESSAGES/PART.po
    python -m ui.catalogue fill PART LANG FILE   set translations from a JSON object {"English": "Nederlands"}
                                                 (a plural: its singular as key, a list of the forms as value)
    python -m ui.catalogue check                 list every string without a Dutch or English translation

English is the source language: a new string gets itself as its English translation; its Dutch one is
left empty (and `check` fails) until someone writes it."""

from __future__ import annotations

import json
import sys
import warnings
from collections.abc import Iterable
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALE_DIR = ROOT / "locale"
LANGUAGES = ("nl", "en")
KEYWORDS = {"_": None, "n_": (1, 2), "N_": None, "ServiceError": None}
SOURCES = ("desk.py", "app.py", "portal.py", "pages", "ui", "receivables", "db", "emails")


def source_files() -> list[Path]:
    out = []
    for name in SOURCES:
        path = ROOT / name
        out += [path] if path.is_file() else sorted(path.rglob("*.py")) if path.is_dir() else []
    return [p for p in out if "migrations" not in p.parts]


def extract(files: Iterable[Path]) -> dict[str | tuple[str, str], list[tuple[str, int]]]:
    """msgid (or (singular, plural)) -> where it is used."""
    found: dict = {}
    for path in files:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            results = extract_from_file("python", str(path), keywords=KEYWORDS)
        for w in caught:  # an f-string in _() or ServiceError() cannot be looked up in a catalogue
            found.setdefault(f"<untranslatable: {w.message}>", []).append((str(path), 0))
        for lineno, message, _comments, _context in results:
            if not message or (isinstance(message, tuple) and not message[0]):
                continue
            found.setdefault(message, []).append((str(Path(path).resolve().relative_to(ROOT)), lineno))
    return found


def po_path(lang: str, part: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{part}.po"


def read(path: Path, lang: str) -> Catalog:
    if not path.exists():
        return Catalog(locale=lang, domain="messages", project="Debtor Desk")
    with path.open("rb") as fh:
        return read_po(fh, locale=lang)


def update(part: str, files: list[Path]) -> None:
    found = extract(files)
    for lang in LANGUAGES:
        path = po_path(lang, part)
        old = read(path, lang)
        new = Catalog(locale=lang, domain="messages", project="Debtor Desk")
        for msgid, where in found.items():
            key = msgid[0] if isinstance(msgid, tuple) else msgid
            before = old.get(key)
            string = before.string if before is not None else None
            if lang == "en" and not string:
                string = msgid
            new.add(msgid, string, locations=where, flags=("python-brace-format",) if "{" in key else ())
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as fh:
            write_po(fh, new, width=110, sort_output=True, omit_header=True)


def fill(part: str, lang: str, translations: dict[str, str]) -> list[str]:
    """Set the translations given; returns the message ids given that the part does not use."""
    path = po_path(lang, part)
    cat = read(path, lang)
    unknown = []
    for msgid, string in translations.items():
        message = cat.get(msgid)
        if message is None:
            unknown.append(msgid)
            continue
        message.string = tuple(string) if isinstance(string, list) else string  # a list: the plural forms
        message.flags.discard("fuzzy")
    with path.open("wb") as fh:
        write_po(fh, cat, width=110, sort_output=True, omit_header=True)
    return unknown


def missing(files: list[Path] | None = None) -> dict[str, list[str]]:
    """Per language, the strings used in the code (or in `files`) that have no translation."""
    found = extract(source_files() if files is None else files)
    have = {lang: set() for lang in LANGUAGES}
    for lang in LANGUAGES:
        for po in (LOCALE_DIR / lang / "LC_MESSAGES").glob("*.po"):
            for m in read(po, lang):
                complete = all(m.string) if isinstance(m.string, tuple) else bool(m.string)
                if m.id and complete and not m.fuzzy:
                    have[lang].add(m.id if isinstance(m.id, str) else m.id[0])
    out = {}
    for lang in LANGUAGES:
        out[lang] = sorted({(k[0] if isinstance(k, tuple) else k) for k in found} - have[lang])
    return out


def main(argv: list[str]) -> int:
    if argv[:1] == ["update"] and len(argv) >= 3:
        update(argv[1], [Path(a) for a in argv[2:]])
        return 0
    if argv[:1] == ["fill"] and len(argv) == 4:
        for msgid in fill(argv[1], argv[2], json.loads(Path(argv[3]).read_text(encoding="utf-8"))):
            print(f"not used in {argv[1]}: {msgid!r}", file=sys.stderr)
        return 0
    if argv[:1] == ["check"]:
        gaps = missing()
        for lang, ids in gaps.items():
            for msgid in ids:
                print(f"{lang}: no translation for {msgid!r}")
        return 1 if any(gaps.values()) else 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
