"""analytics: daily ledger sums kept by triggers, indexes for ageing as of a past date

Revision ID: 0002_analytics
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy import text


revision = '0002_analytics'
down_revision = '0001'
branch_labels = None
depends_on = None

TRIGGERS = (
    ("trg_ledger_day_invoice_insert", "invoice"), ("trg_ledger_day_invoice_update", "invoice"),
    ("trg_ledger_day_invoice_delete", "invoice"), ("trg_ledger_day_change_insert", "invoice_change"),
    ("trg_ledger_day_change_update", "invoice_change"), ("trg_ledger_day_change_delete", "invoice_change"),
)


def upgrade() -> None:
    op.create_table('ledger_day',
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('sales_cents', sa.BigInteger(), nullable=False),
    sa.Column('change_cents', sa.BigInteger(), nullable=False),
    sa.Column('overdue_cents', sa.BigInteger(), nullable=False),
    sa.Column('overdue_change_cents', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('currency', 'day', name=op.f('pk_ledger_day'))
    )
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.create_index('ix_invoice_settled_ageing',
                              ['settled_date', 'invoice_date', 'due_date', 'currency', 'debtor_id', 'open_cents'],
                              unique=False)
    with op.batch_alter_table('invoice_change', schema=None) as batch_op:
        batch_op.create_index('ix_invoice_change_invoice_delta', ['invoice_id', 'change_date', 'delta_cents'],
                              unique=False)
    _install_ledger_day(op.get_bind())


def downgrade() -> None:
    bind = op.get_bind()
    for name, table in TRIGGERS:
        if bind.dialect.name == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    if bind.dialect.name == "postgresql":
        for fn in ("ledger_day_invoice()", "ledger_day_change()",
                   "ledger_day_invoice_rows(integer, varchar, date, date, bigint, integer, boolean)",
                   "ledger_day_add(varchar, date, bigint, bigint, bigint, bigint)"):
            op.execute(f"DROP FUNCTION IF EXISTS {fn}")
    with op.batch_alter_table('invoice_change', schema=None) as batch_op:
        batch_op.drop_index('ix_invoice_change_invoice_delta')
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.drop_index('ix_invoice_settled_ageing')
    op.drop_table('ledger_day')


# --- A frozen copy of the daily sums' triggers and rebuild (db/analytics_queries.py as of this revision):
# the application may change its copy; what this migration does stays the same. ---------------------

_UPSERT = ("ON CONFLICT (currency, day) DO UPDATE SET "
           "sales_cents = ledger_day.sales_cents + excluded.sales_cents, "
           "change_cents = ledger_day.change_cents + excluded.change_cents, "
           "overdue_cents = ledger_day.overdue_cents + excluded.overdue_cents, "
           "overdue_change_cents = ledger_day.overdue_change_cents + excluded.overdue_change_cents")
_COLS = "ledger_day (currency, day, sales_cents, change_cents, overdue_cents, overdue_change_cents)"


def _install_ledger_day(conn) -> None:
    """(Re)create the triggers and rebuild the daily sums from the ledger."""
    dialect = conn.dialect.name
    for name, table in TRIGGERS:
        if dialect == "postgresql":
            conn.execute(text(f"DROP TRIGGER IF EXISTS {name} ON {table}"))
        else:
            conn.execute(text(f"DROP TRIGGER IF EXISTS {name}"))
    for ddl in (_pg_triggers() if dialect == "postgresql" else _sqlite_triggers()):
        conn.exec_driver_sql(ddl)
    conn.execute(text("DELETE FROM ledger_day"))
    conn.execute(text(f"INSERT INTO {_COLS} SELECT currency, day, SUM(s), SUM(c), SUM(o), SUM(oc) "
                      f"FROM ({_contributions_sql(dialect)}) x GROUP BY currency, day"))


def _sqlite_overdue_from(inv: str) -> str:
    return f"max(date({inv}.due_date, '+1 day'), {inv}.invoice_date)"


def _sqlite_invoice_rows(inv: str, sign: str) -> str:
    od = _sqlite_overdue_from(inv)
    return f"""
  INSERT INTO {_COLS} VALUES ({inv}.currency, {inv}.invoice_date, {sign}{inv}.amount_cents, 0, 0, 0) {_UPSERT};
  INSERT INTO {_COLS} VALUES ({inv}.currency, {od}, 0, 0, {sign}{inv}.amount_cents, 0) {_UPSERT};
  INSERT INTO {_COLS} SELECT {inv}.currency, max(c.change_date, {inv}.invoice_date), 0, {sign}c.delta_cents, 0, 0
    FROM invoice_change c WHERE c.invoice_id = {inv}.id {_UPSERT};
  INSERT INTO {_COLS} SELECT {inv}.currency, max(c.change_date, {od}), 0, 0, 0, {sign}c.delta_cents
    FROM invoice_change c WHERE c.invoice_id = {inv}.id {_UPSERT};"""


def _sqlite_change_rows(ch: str, sign: str) -> str:
    od = _sqlite_overdue_from("i")
    return f"""
  INSERT INTO {_COLS} SELECT i.currency, max({ch}.change_date, i.invoice_date), 0, {sign}{ch}.delta_cents, 0, 0
    FROM invoice i WHERE i.id = {ch}.invoice_id {_UPSERT};
  INSERT INTO {_COLS} SELECT i.currency, max({ch}.change_date, {od}), 0, 0, 0, {sign}{ch}.delta_cents
    FROM invoice i WHERE i.id = {ch}.invoice_id {_UPSERT};"""


def _sqlite_triggers() -> list[str]:
    def inv_amount(inv: str, sign: str) -> str:
        od = _sqlite_overdue_from(inv)
        return f"""
  INSERT INTO {_COLS} VALUES ({inv}.currency, {inv}.invoice_date, {sign}{inv}.amount_cents, 0, 0, 0) {_UPSERT};
  INSERT INTO {_COLS} VALUES ({inv}.currency, {od}, 0, 0, {sign}{inv}.amount_cents, 0) {_UPSERT};"""

    changed = ("OLD.currency IS NOT NEW.currency OR OLD.invoice_date IS NOT NEW.invoice_date "
               "OR OLD.due_date IS NOT NEW.due_date OR OLD.amount_cents IS NOT NEW.amount_cents "
               "OR OLD.id IS NOT NEW.id")
    ch_changed = ("OLD.invoice_id IS NOT NEW.invoice_id OR OLD.change_date IS NOT NEW.change_date "
                  "OR OLD.delta_cents IS NOT NEW.delta_cents")
    return [
        f"CREATE TRIGGER trg_ledger_day_invoice_insert AFTER INSERT ON invoice BEGIN{inv_amount('NEW', '')}\nEND",
        f"CREATE TRIGGER trg_ledger_day_invoice_update AFTER UPDATE ON invoice WHEN {changed} BEGIN"
        f"{_sqlite_invoice_rows('OLD', '-')}{_sqlite_invoice_rows('NEW', '')}\nEND",
        f"CREATE TRIGGER trg_ledger_day_invoice_delete BEFORE DELETE ON invoice BEGIN"
        f"{_sqlite_invoice_rows('OLD', '-')}\nEND",
        f"CREATE TRIGGER trg_ledger_day_change_insert AFTER INSERT ON invoice_change BEGIN"
        f"{_sqlite_change_rows('NEW', '')}\nEND",
        f"CREATE TRIGGER trg_ledger_day_change_update AFTER UPDATE ON invoice_change WHEN {ch_changed} BEGIN"
        f"{_sqlite_change_rows('OLD', '-')}{_sqlite_change_rows('NEW', '')}\nEND",
        f"CREATE TRIGGER trg_ledger_day_change_delete AFTER DELETE ON invoice_change BEGIN"
        f"{_sqlite_change_rows('OLD', '-')}\nEND",
    ]


def _pg_triggers() -> list[str]:
    add = f"""
CREATE OR REPLACE FUNCTION ledger_day_add(cur varchar, d date, s bigint, c bigint, o bigint, oc bigint)
RETURNS void LANGUAGE sql AS $$
  INSERT INTO {_COLS} VALUES (cur, d, s, c, o, oc) {_UPSERT}
$$"""
    inv_rows = """
CREATE OR REPLACE FUNCTION ledger_day_invoice_rows(inv_id integer, cur varchar, inv_date date, due date,
                                                   amount bigint, sign integer, with_changes boolean)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  od date := GREATEST(due + 1, inv_date);
  r record;
BEGIN
  PERFORM ledger_day_add(cur, inv_date, sign * amount, 0, 0, 0);
  PERFORM ledger_day_add(cur, od, 0, 0, sign * amount, 0);
  IF with_changes THEN
    FOR r IN SELECT change_date, delta_cents FROM invoice_change WHERE invoice_id = inv_id LOOP
      PERFORM ledger_day_add(cur, GREATEST(r.change_date, inv_date), 0, sign * r.delta_cents, 0, 0);
      PERFORM ledger_day_add(cur, GREATEST(r.change_date, od), 0, 0, 0, sign * r.delta_cents);
    END LOOP;
  END IF;
END $$"""
    inv_trigger = """
CREATE OR REPLACE FUNCTION ledger_day_invoice() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    PERFORM ledger_day_invoice_rows(OLD.id, OLD.currency, OLD.invoice_date, OLD.due_date, OLD.amount_cents, -1, true);
  END IF;
  IF TG_OP = 'UPDATE' THEN
    PERFORM ledger_day_invoice_rows(NEW.id, NEW.currency, NEW.invoice_date, NEW.due_date, NEW.amount_cents, 1, true);
  ELSIF TG_OP = 'INSERT' THEN
    PERFORM ledger_day_invoice_rows(NEW.id, NEW.currency, NEW.invoice_date, NEW.due_date, NEW.amount_cents, 1, false);
  END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END $$"""
    ch_trigger = """
CREATE OR REPLACE FUNCTION ledger_day_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  i record;
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    SELECT currency, invoice_date, GREATEST(due_date + 1, invoice_date) AS od INTO i FROM invoice WHERE id = OLD.invoice_id;
    IF FOUND THEN
      PERFORM ledger_day_add(i.currency, GREATEST(OLD.change_date, i.invoice_date), 0, -OLD.delta_cents, 0, 0);
      PERFORM ledger_day_add(i.currency, GREATEST(OLD.change_date, i.od), 0, 0, 0, -OLD.delta_cents);
    END IF;
  END IF;
  IF TG_OP IN ('UPDATE', 'INSERT') THEN
    SELECT currency, invoice_date, GREATEST(due_date + 1, invoice_date) AS od INTO i FROM invoice WHERE id = NEW.invoice_id;
    IF FOUND THEN
      PERFORM ledger_day_add(i.currency, GREATEST(NEW.change_date, i.invoice_date), 0, NEW.delta_cents, 0, 0);
      PERFORM ledger_day_add(i.currency, GREATEST(NEW.change_date, i.od), 0, 0, 0, NEW.delta_cents);
    END IF;
  END IF;
  RETURN NULL;
END $$"""
    changed = ("OLD.currency IS DISTINCT FROM NEW.currency OR OLD.invoice_date IS DISTINCT FROM NEW.invoice_date "
               "OR OLD.due_date IS DISTINCT FROM NEW.due_date OR OLD.amount_cents IS DISTINCT FROM NEW.amount_cents "
               "OR OLD.id IS DISTINCT FROM NEW.id")
    ch_changed = ("OLD.invoice_id IS DISTINCT FROM NEW.invoice_id OR OLD.change_date IS DISTINCT FROM NEW.change_date "
                  "OR OLD.delta_cents IS DISTINCT FROM NEW.delta_cents")
    return [
        add, inv_rows, inv_trigger, ch_trigger,
        "CREATE TRIGGER trg_ledger_day_invoice_insert AFTER INSERT ON invoice "
        "FOR EACH ROW EXECUTE FUNCTION ledger_day_invoice()",
        f"CREATE TRIGGER trg_ledger_day_invoice_update AFTER UPDATE ON invoice FOR EACH ROW "
        f"WHEN ({changed}) EXECUTE FUNCTION ledger_day_invoice()",
        "CREATE TRIGGER trg_ledger_day_invoice_delete BEFORE DELETE ON invoice "
        "FOR EACH ROW EXECUTE FUNCTION ledger_day_invoice()",
        "CREATE TRIGGER trg_ledger_day_change_insert AFTER INSERT ON invoice_change "
        "FOR EACH ROW EXECUTE FUNCTION ledger_day_change()",
        f"CREATE TRIGGER trg_ledger_day_change_update AFTER UPDATE ON invoice_change FOR EACH ROW "
        f"WHEN ({ch_changed}) EXECUTE FUNCTION ledger_day_change()",
        "CREATE TRIGGER trg_ledger_day_change_delete AFTER DELETE ON invoice_change "
        "FOR EACH ROW EXECUTE FUNCTION ledger_day_change()",
    ]


def _contributions_sql(dialect: str, extra: str = "") -> str:
    """Every invoice and change as rows (currency, day, s, c, o, oc) of the four daily sums; `extra`
    adds invoice columns in front (e.g. 'i.debtor_id, ')."""
    if dialect == "postgresql":
        od, later = "GREATEST(i.due_date + 1, i.invoice_date)", "GREATEST"
    else:
        od, later = _sqlite_overdue_from("i"), "max"
    return f"""
  SELECT {extra}i.currency, i.invoice_date AS day, i.amount_cents AS s, 0 AS c, 0 AS o, 0 AS oc FROM invoice i
  UNION ALL SELECT {extra}i.currency, {od}, 0, 0, i.amount_cents, 0 FROM invoice i
  UNION ALL SELECT {extra}i.currency, {later}(c.change_date, i.invoice_date), 0, c.delta_cents, 0, 0
    FROM invoice_change c JOIN invoice i ON i.id = c.invoice_id
  UNION ALL SELECT {extra}i.currency, {later}(c.change_date, {od}), 0, 0, 0, c.delta_cents
    FROM invoice_change c JOIN invoice i ON i.id = c.invoice_id"""
