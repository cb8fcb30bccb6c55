"""Which pages a role sees. A page appears once its file exists."""

from __future__ import annotations

from pathlib import Path

from db.user_file import role_at_least

ROOT = Path(__file__).resolve().parent.parent

# file, title, icon, least role
PAGES = [
    ("pages/ageing.py", "Ageing", ":material/stacked_bar_chart:", "viewer"),
    ("pages/trends.py", "DSO & trends", ":material/trending_up:", "viewer"),
    ("pages/dossier.py", "Debtor dossier", ":material/folder_shared:", "viewer"),
    ("pages/queue.py", "Reminder queue", ":material/outgoing_mail:", "viewer"),
    ("pages/import.py", "Import", ":material/upload_file:", "collector"),
    ("pages/sender.py", "Sender", ":material/send:", "admin"),
    ("pages/settings.py", "Settings", ":material/settings:", "admin"),
]


def pages_for(role: str) -> list[tuple[str, str, str]]:
    return [(f, t, i) for f, t, i, least in PAGES if role_at_least(role, least) and (ROOT / f).is_file()]


def all_pages() -> list[tuple[str, str, str]]:
    return [(f, t, i) for f, t, i, _ in PAGES if (ROOT / f).is_file()]
