"""analytics: daily ledger sums kept by triggers, indexes for ageing as of a past date

Revision ID: 0002_analytics
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa


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
    from db.analytics_queries import install_ledger_day
    install_ledger_day(op.get_bind())


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
