"""digest e-mails: a user's daily Today and an account manager's weekly overview, each sent once

Revision ID: 0012_digests
Revises: 0008_mailbox
"""
from alembic import op
import sqlalchemy as sa


revision = '0012_digests'
down_revision = '0009_payment_plans'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'digest',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=300), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('recipient_name', sa.String(length=255), nullable=False),
        sa.Column('recipients', sa.Text(), nullable=False),
        sa.Column('language', sa.String(length=2), nullable=False),
        sa.Column('subject', sa.Text(), nullable=False),
        sa.Column('body_text', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('smtp_message_id', sa.String(length=255), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('sent_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_digest')),
        sa.UniqueConstraint('key', name=op.f('uq_digest_key')),
    )


def downgrade() -> None:
    op.drop_table('digest')
