"""Values from data (a debtor's name, a subject, a payer, a text from a mail) inside Markdown: shown as the
text they are, never as a link, an image, a heading or emphasis. Every page and ui helper that puts a data
value into st.markdown, a caption, a message box or a widget label passes it through `md()`."""

from __future__ import annotations

import re

# Every character Markdown gives a meaning, except "." ("B.V." reads as it is): the start of a numbered
# list ("1. ") is escaped on its own below.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-!|<>~$:&=\"'])")
_NUMBERED = re.compile(r"(?m)^(\s*\d+)\.")
# What GitHub-flavoured Markdown turns into a link by itself (http://…, www.…): broken by a zero-width space.
_AUTOLINK = re.compile(r"(?i)(:/|www\.)")


def md(value) -> str:
    """`value` as text inside Markdown: every Markdown character escaped, no link made of it by itself."""
    text = _AUTOLINK.sub(lambda m: m.group(0)[:-1] + "\u200b" + m.group(0)[-1], str("" if value is None else value))
    text = _MD_SPECIAL.sub(r"\\\1", text)
    return _NUMBERED.sub(r"\1\\.", text)
