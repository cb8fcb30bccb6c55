"""Read queries that return DataFrames. Amounts stay integer cents."""

from __future__ import annotations

from datetime import date

import pandas as pd
from sqlalchemy import text
from sqlalchemy.orm import Session

OPEN_ITEMS_SQL = """
SELECT i.id AS invoice_id, i.number, d.id AS debtor_id, d.code AS debtor_code, d.name AS debtor_name,
       d.segment, d.account_manager, i.currency, i.invoice_date, i.due_date, i.amount_cents,
       i.open_cents - COALESCE(later.delta, 0) AS open_cents, i.disputed
FROM invoice i
JOIN debtor d ON d.id = i.debtor_id
LEFT JOIN (
    SELECT invoice_id, SUM(delta_cents) AS delta FROM invoice_change
    WHERE change_date > :as_of GROUP BY invoice_id
) later ON later.invoice_id = i.id
WHERE i.invoice_date <= :as_of AND i.open_cents - COALESCE(later.delta, 0) <> 0
"""


def _dates(frame: pd.DataFrame, *cols: str) -> pd.DataFrame:
    for c in cols:
        if c in frame:
            frame[c] = pd.to_datetime(frame[c]).dt.date
    return frame


def open_items_as_of(session: Session, as_of: date) -> pd.DataFrame:
    """Every invoice and credit note with a non-zero open amount on `as_of`, reconstructed from the
    dated changes: today's open amount minus the changes dated after `as_of`."""
    conn = session.connection()
    frame = pd.read_sql_query(text(OPEN_ITEMS_SQL), conn, params={"as_of": as_of})
    frame = _dates(frame, "invoice_date", "due_date")
    for c in ("amount_cents", "open_cents"):
        frame[c] = frame[c].astype("int64")
    frame["disputed"] = frame["disputed"].astype(bool)
    return frame


def audit_events(session: Session, *, actor: str | None = None, action: str | None = None,
                 since: date | None = None, until: date | None = None, limit: int = 1000) -> pd.DataFrame:
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
