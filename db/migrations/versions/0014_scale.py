"""data_version: one number every committed write raises, so that the caches of every app server (and
the pages after a write by the command line or cron) know when to read again; a small index of the
write-offs, which payment behaviour looks up for every paid invoice; the debtor index of invoices with
their date (a debtor's first invoice date from the index) and a small index of disputed invoices; the
ageing index with the amount last, so that payment behaviour reads the paid invoices from it alone

Revision ID: 0014_scale
Revises: 0008_mailbox
"""
from alembic import op
import sqlalchemy as sa


revision = '0014_scale'
down_revision = '0013_portal'
branch_labels = None
depends_on = None

AGEING = ['settled_date', 'invoice_date', 'debtor_id', 'due_date', 'open_cents', 'currency']


def upgrade() -> None:
    table = op.create_table(
        'data_version',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('version', sa.BigInteger(), nullable=False),
        sa.Column('changed_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_data_version')),
    )
    op.bulk_insert(table, [{'id': 1, 'version': 1, 'changed_at': None}])
    op.create_index('ix_invoice_change_write_off', 'invoice_change', ['invoice_id'],
                    sqlite_where=sa.text("kind = 'write_off'"), postgresql_where=sa.text("kind = 'write_off'"))
    op.drop_index('ix_invoice_debtor_id', table_name='invoice')
    op.create_index('ix_invoice_debtor_invoice_date', 'invoice', ['debtor_id', 'invoice_date'])
    op.create_index('ix_invoice_disputed', 'invoice', ['debtor_id'], sqlite_where=sa.text('disputed = 1'),
                    postgresql_where=sa.text('disputed'))
    op.drop_index('ix_invoice_settled_ageing', table_name='invoice')
    op.create_index('ix_invoice_settled_ageing', 'invoice', AGEING + ['amount_cents'])


def downgrade() -> None:
    op.drop_index('ix_invoice_settled_ageing', table_name='invoice')
    op.create_index('ix_invoice_settled_ageing', 'invoice', AGEING)
    op.drop_index('ix_invoice_disputed', table_name='invoice')
    op.drop_index('ix_invoice_debtor_invoice_date', table_name='invoice')
    op.create_index('ix_invoice_debtor_id', 'invoice', ['debtor_id'])
    op.drop_index('ix_invoice_change_write_off', table_name='invoice_change')
    op.drop_table('data_version')
