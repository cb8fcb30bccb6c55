"""debtor_touched: per committed write the debtors it touched, so that the reminder tracks of the ageing
page are worked out again for those debtors only

Revision ID: 0015_debtor_touched
Revises: 0014_scale
"""
from alembic import op
import sqlalchemy as sa


revision = '0015_debtor_touched'
down_revision = '0014_scale'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'debtor_touched',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('version', sa.BigInteger(), nullable=False),
        sa.Column('debtor_id', sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_debtor_touched')),
    )
    op.create_index('ix_debtor_touched_version', 'debtor_touched', ['version'])


def downgrade() -> None:
    op.drop_index('ix_debtor_touched_version', table_name='debtor_touched')
    op.drop_table('debtor_touched')
