"""Settings kept in the database, each change audited."""

from __future__ import annotations

from db.models import Setting
from receivables.services.audit import record_audit


def get_setting(session, key: str, default=None):
    row = session.get(Setting, key)
    return default if row is None else row.value


def put_setting(session, key: str, value, actor: str) -> None:
    row = session.get(Setting, key)
    before = None if row is None else row.value
    if row is None:
        session.add(Setting(key=key, value=value, updated_by=actor))
    else:
        row.value = value
        row.updated_by = actor
    if actor != "system":
        record_audit(session, actor, "setting.change", "setting", key, {"value": before}, {"value": value})
