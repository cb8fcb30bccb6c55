"""debtor: the postal address, for reminder steps that go out as a letter

Revision ID: 0005_debtor_address
Revises: 0004_invoice_date_index
"""
from alembic import op
import sqlalchemy as sa


revision = '0005_debtor_address'
down_revision = '0004_invoice_date_index'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('debtor', schema=None) as batch_op:
        batch_op.add_column(sa.Column('address', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('debtor', schema=None) as batch_op:
        batch_op.drop_column('address')
