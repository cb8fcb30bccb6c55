"""Read queries that return DataFrames (the analytics have theirs in db.analytics_queries)."""

from __future__ import annotations

from datetime import date

import pandas as pd
from sqlalchemy import text
from sqlalchemy.orm import Session


def audit_events(session: Session, *, actor: str | None = None, action: str | None = None,
                 since: date | None = None, until: date | None = None, limit: int = 1000) -> pd.DataFrame:
    """The audit trail, newest first, filtered by actor, action and a period."""
    where, params = [], {"limit": limit}
    if actor:
        where.append("actor = :actor")
        params["actor"] = actor
    if action:
        where.append("action = :action")
        params["action"] = action
    if since:
        where.append("at >= :since")
        params["since"] = since
    if until:
        where.append("at < :until")
        params["until"] = until
    sql = "SELECT id, at, actor, action, entity, entity_id, before, after FROM audit_event"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY at DESC, id DESC LIMIT :limit"
    return pd.read_sql_query(text(sql), session.connection(), params=params)
