"""the debtor's portal: a link generation per debtor (revokes links), request counts for the rate limit,
reminder addresses waiting for confirmation

Revision ID: 0013_portal
Revises: 0012_digests
"""
from alembic import op
import sqlalchemy as sa


revision = '0013_portal'
down_revision = '0012_digests'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('debtor', schema=None) as batch_op:
        batch_op.add_column(sa.Column('portal_generation', sa.Integer(), nullable=False, server_default='0'))
    op.create_table(
        'portal_hit',
        sa.Column('key', sa.String(length=100), nullable=False),
        sa.Column('window_start', sa.DateTime(), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_portal_hit')),
    )
    op.create_table(
        'portal_address_change',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('debtor_id', sa.Integer(), nullable=False),
        sa.Column('address', sa.String(length=255), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('sent_at', sa.DateTime(), nullable=True),
        sa.Column('confirmed_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['debtor_id'], ['debtor.id'], ondelete='CASCADE',
                                name=op.f('fk_portal_address_change_debtor_id_debtor')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_portal_address_change')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_portal_address_change_token_hash')),
    )
    with op.batch_alter_table('portal_address_change', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_portal_address_change_debtor_id'), ['debtor_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('portal_address_change', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_portal_address_change_debtor_id'))
    op.drop_table('portal_address_change')
    op.drop_table('portal_hit')
    with op.batch_alter_table('debtor', schema=None) as batch_op:
        batch_op.drop_column('portal_generation')
