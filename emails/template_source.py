"""The source of a step's text for one tone, as a person edits it: the shipped templates hold the three
tones in one file (`{% if tone == "friendly" %}…{% elif tone == "strict" %}…{% else %}…{% endif %}`);
an edited text is one tone's words only, with the same fields and filters."""

from __future__ import annotations

import re

TONES = ("friendly", "standard", "strict")
_TAG = re.compile(r"{%-?\s*(if|elif|else|endif|block|endblock)\b(.*?)-?%}", re.S)
_TONE_TEST = re.compile(r"""^\s*tone\s*==\s*["'](\w+)["']\s*$""")


def for_tone(source: str, tone: str) -> str:
    """The source with every `if` on the tone alone resolved for `tone` (other `if`s stay as they are)."""
    out: list[str] = []
    pos = 0
    # a stack of frames: (is_tone_if, keeping_current_branch, a branch was taken)
    stack: list[list] = []

    def emitting() -> bool:
        return all(frame[1] for frame in stack if frame[0])

    for m in _TAG.finditer(source):
        kind, rest = m.group(1), m.group(2)
        if emitting():
            out.append(source[pos:m.start()])
        pos = m.end()
        if kind == "if":
            t = _TONE_TEST.match(rest)
            if t:
                take = t.group(1) == tone
                stack.append([True, take, take])
                continue
            stack.append([False, True, True])
        elif kind in ("elif", "else") and stack and stack[-1][0]:
            frame = stack[-1]
            if kind == "elif":
                t = _TONE_TEST.match(rest)
                take = (not frame[2]) and bool(t) and t.group(1) == tone
            else:
                take = not frame[2]
            frame[1] = take
            frame[2] = frame[2] or take
            continue
        elif kind == "endif" and stack:
            frame = stack.pop()
            if frame[0]:
                continue
        if emitting():
            out.append(m.group(0))
    if emitting():
        out.append(source[pos:])
    return "".join(out)


def blocks(source: str) -> dict[str, str]:
    """The `subject` and `body` blocks of a template source, trimmed."""
    found = {}
    for name in ("subject", "body"):
        m = re.search(r"{%-?\s*block\s+" + name + r"\s*-?%}(.*?){%-?\s*endblock\s*-?%}", source, re.S)
        found[name] = m.group(1).strip("\n") if m else ""
    return found


def assemble(subject: str, body: str) -> str:
    """A template source from an edited subject and body."""
    return "{% block subject %}\n" + subject.strip() + "\n{% endblock %}\n{% block body %}\n" + body.strip("\n") \
        + "\n{% endblock %}\n"
