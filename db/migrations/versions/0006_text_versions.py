"""text_version: reminder texts edited in Settings, versioned

Revision ID: 0006_text_versions
Revises: 0005_debtor_address
"""
from alembic import op
import sqlalchemy as sa


revision = '0006_text_versions'
down_revision = '0005_debtor_address'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'text_version',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('template', sa.String(length=50), nullable=False),
        sa.Column('tone', sa.String(length=20), nullable=False),
        sa.Column('language', sa.String(length=5), nullable=False),
        sa.Column('subject', sa.Text(), nullable=True),
        sa.Column('body', sa.Text(), nullable=True),
        sa.Column('created_by', sa.String(length=100), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_text_version')),
    )
    op.create_index('ix_text_version_key', 'text_version', ['template', 'tone', 'language', 'id'])


def downgrade() -> None:
    op.drop_index('ix_text_version_key', table_name='text_version')
    op.drop_table('text_version')
