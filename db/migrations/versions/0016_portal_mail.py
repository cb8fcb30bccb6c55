"""portal mails (the link confirming a new reminder address, the answer to a rejected dispute) as rows
the sender claims before and records after their SMTP conversation, like reminders

Revision ID: 0016_portal_mail
Revises: 0014_scale
"""
from alembic import op
import sqlalchemy as sa


revision = '0016_portal_mail'
down_revision = "0015_debtor_touched"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'portal_mail',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('debtor_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('change_id', sa.Integer(), nullable=True),
        sa.Column('recipients', sa.Text(), nullable=False),
        sa.Column('subject', sa.Text(), nullable=False),
        sa.Column('body_text', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('smtp_message_id', sa.String(length=255), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('created_by', sa.String(length=100), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('claimed_at', sa.DateTime(), nullable=True),
        sa.Column('sent_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['change_id'], ['portal_address_change.id'], ondelete='CASCADE',
                                name=op.f('fk_portal_mail_change_id_portal_address_change')),
        sa.ForeignKeyConstraint(['debtor_id'], ['debtor.id'], ondelete='CASCADE',
                                name=op.f('fk_portal_mail_debtor_id_debtor')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_portal_mail')),
    )
    with op.batch_alter_table('portal_mail', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_portal_mail_debtor_id'), ['debtor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_portal_mail_status'), ['status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('portal_mail', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_portal_mail_status'))
        batch_op.drop_index(batch_op.f('ix_portal_mail_debtor_id'))
    op.drop_table('portal_mail')
