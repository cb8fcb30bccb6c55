"""Which pages a role sees. A page appears once its file exists."""

from __future__ import annotations

from pathlib import Path

from db.user_file import role_at_least
from ui import i18n
from ui.i18n import N_

ROOT = Path(__file__).resolve().parent.parent

# file, title, icon, least role
PAGES = [
    ("pages/today.py", N_("Today"), ":material/today:", "collector"),
    ("pages/ageing.py", N_("Ageing"), ":material/stacked_bar_chart:", "viewer"),
    ("pages/trends.py", N_("DSO & trends"), ":material/trending_up:", "viewer"),
    ("pages/dossier.py", N_("Debtor dossier"), ":material/folder_shared:", "viewer"),
    ("pages/queue.py", N_("Reminder queue"), ":material/outgoing_mail:", "viewer"),
    ("pages/import.py", N_("Import"), ":material/upload_file:", "collector"),
    ("pages/bank.py", N_("Bank"), ":material/account_balance:", "collector"),
    ("pages/sender.py", N_("Sender"), ":material/send:", "admin"),
    ("pages/settings.py", N_("Settings"), ":material/settings:", "admin"),
    ("pages/account.py", N_("My account"), ":material/account_circle:", "viewer"),
]


# the role names as the sidebar shows them
ROLE_NAMES = {"viewer": N_("viewer"), "collector": N_("collector"), "admin": N_("admin")}


def pages_for(role: str, lang: str | None = None) -> list[tuple[str, str, str]]:
    lang = lang or i18n.current()
    return [(f, i18n.translate(t, lang), i) for f, t, i, least in PAGES
            if role_at_least(role, least) and (ROOT / f).is_file()]


def all_pages(lang: str | None = None) -> list[tuple[str, str, str]]:
    lang = lang or i18n.current()
    return [(f, i18n.translate(t, lang), i) for f, t, i, _least in PAGES if (ROOT / f).is_file()]
