"""invoice: drop the index on invoice_date

Every query that filters on invoice_date asks for nearly the whole ledger (`invoice_date <= :as_of`);
with the index SQLite's planner walked it and looked up each row in the table, slower than reading the
table, and a first import spent a sixth of its time building it.

Revision ID: 0004_invoice_date_index
Revises: 0003_qr
"""
from alembic import op


revision = '0004_invoice_date_index'
down_revision = '0003_qr'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.drop_index('ix_invoice_invoice_date')


def downgrade() -> None:
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.create_index('ix_invoice_invoice_date', ['invoice_date'], unique=False)
