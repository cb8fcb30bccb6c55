"""The audit trail: every change by a person, with what it was before and after."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd

from db import queries
from db.models import AuditEvent
from db.uow import UnitOfWork


def record_audit(session, actor: str, action: str, entity: str, entity_id=None,
                 before: dict | None = None, after: dict | None = None) -> None:
    session.add(AuditEvent(actor=actor, action=action, entity=entity,
                           entity_id=None if entity_id is None else str(entity_id),
                           before=_jsonable(before), after=_jsonable(after)))


def _jsonable(value):
    if value is None:
        return None
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def audit_log(uow: UnitOfWork, **filters) -> pd.DataFrame:
    return queries.audit_events(uow.session, **filters)
