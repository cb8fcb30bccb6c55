"""PostgreSQL: the daily sums follow inserted and deleted invoice changes once a statement (summed per
currency and day from the statement's transition table) instead of once a row: a bank statement booking
thousands of payments of one day upserted that day's row thousands of times in one transaction, each
upsert slower than the last. SQLite keeps its row triggers (it updates a row in place).

Revision ID: 0017_ledger_day_per_statement
Revises: 0016_portal_mail
"""
from alembic import op


revision = "0017_ledger_day_per_statement"
down_revision = "0016_portal_mail"
branch_labels = None
depends_on = None

_UPSERT = ("ON CONFLICT (currency, day) DO UPDATE SET "
           "sales_cents = ledger_day.sales_cents + excluded.sales_cents, "
           "change_cents = ledger_day.change_cents + excluded.change_cents, "
           "overdue_cents = ledger_day.overdue_cents + excluded.overdue_cents, "
           "overdue_change_cents = ledger_day.overdue_change_cents + excluded.overdue_change_cents")
_FUNCTION = f"""
CREATE OR REPLACE FUNCTION ledger_day_changes() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  sign integer := TG_ARGV[0]::integer;
BEGIN
  INSERT INTO ledger_day (currency, day, sales_cents, change_cents, overdue_cents, overdue_change_cents)
  SELECT currency, day, 0, SUM(c), 0, SUM(oc) FROM (
    SELECT i.currency, GREATEST(m.change_date, i.invoice_date) AS day, sign * m.delta_cents AS c, 0 AS oc
      FROM moved m JOIN invoice i ON i.id = m.invoice_id
    UNION ALL
    SELECT i.currency, GREATEST(m.change_date, i.due_date + 1, i.invoice_date), 0, sign * m.delta_cents
      FROM moved m JOIN invoice i ON i.id = m.invoice_id) x
  GROUP BY currency, day
  {_UPSERT};
  RETURN NULL;
END $$"""


def _installed(conn, name: str) -> bool:
    return conn.exec_driver_sql(
        "SELECT 1 FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE t.tgname = %(name)s "
        "AND c.relname = 'invoice_change' AND c.relnamespace = to_regnamespace(current_schema())::oid",
        {"name": name}).first() is not None


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        return
    conn.exec_driver_sql(_FUNCTION)
    for name, event, table in (("trg_ledger_day_change_insert", "INSERT", "NEW TABLE AS moved"),
                               ("trg_ledger_day_change_delete", "DELETE", "OLD TABLE AS moved")):
        if not _installed(conn, name):  # dropped by a bulk load that did not finish: start-up puts all back
            continue
        conn.exec_driver_sql(f"DROP TRIGGER {name} ON invoice_change")
        sign = "1" if event == "INSERT" else "-1"
        conn.exec_driver_sql(f"CREATE TRIGGER {name} AFTER {event} ON invoice_change REFERENCING {table} "
                             f"FOR EACH STATEMENT EXECUTE FUNCTION ledger_day_changes('{sign}')")


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        return
    for name, event in (("trg_ledger_day_change_insert", "INSERT"), ("trg_ledger_day_change_delete", "DELETE")):
        if _installed(conn, name):
            conn.exec_driver_sql(f"DROP TRIGGER {name} ON invoice_change")
            conn.exec_driver_sql(f"CREATE TRIGGER {name} AFTER {event} ON invoice_change "
                                 "FOR EACH ROW EXECUTE FUNCTION ledger_day_change()")
    conn.exec_driver_sql("DROP FUNCTION IF EXISTS ledger_day_changes()")
