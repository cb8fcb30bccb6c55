"""the team mailbox and the Today worklist: inbound mail with attachments, handed-over items, a debtor's
owner and the addresses that bounced

Revision ID: 0008_mailbox
Revises: 0007_bank
"""
from alembic import op
import sqlalchemy as sa


revision = '0008_mailbox'
down_revision = '0007_bank'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('debtor', schema=None) as batch_op:
        batch_op.add_column(sa.Column('owner', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('email_bouncing', sa.Text(), nullable=True))
    op.create_table(
        'inbound_mail',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=1000), nullable=False),
        sa.Column('message_id', sa.String(length=998), nullable=True),
        sa.Column('kind', sa.String(length=12), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('from_name', sa.String(length=255), nullable=False),
        sa.Column('from_address', sa.String(length=255), nullable=False),
        sa.Column('subject', sa.Text(), nullable=False),
        sa.Column('sent_at', sa.DateTime(), nullable=True),
        sa.Column('received_at', sa.DateTime(), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('link', sa.String(length=12), nullable=False),
        sa.Column('debtor_id', sa.Integer(), nullable=True),
        sa.Column('answers_message_id', sa.Integer(), nullable=True),
        sa.Column('note_id', sa.Integer(), nullable=True),
        sa.Column('return_date', sa.Date(), nullable=True),
        sa.Column('bounce_recipient', sa.String(length=255), nullable=True),
        sa.Column('bounce_status', sa.String(length=20), nullable=True),
        sa.Column('bounce_diagnostic', sa.Text(), nullable=True),
        sa.Column('paused_until', sa.Date(), nullable=True),
        sa.Column('pause_before', sa.JSON(), nullable=True),
        sa.Column('handled_at', sa.DateTime(), nullable=True),
        sa.Column('handled_by', sa.String(length=100), nullable=True),
        sa.Column('is_demo', sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(['debtor_id'], ['debtor.id'], name=op.f('fk_inbound_mail_debtor_id_debtor')),
        sa.ForeignKeyConstraint(['answers_message_id'], ['message.id'],
                                name=op.f('fk_inbound_mail_answers_message_id_message')),
        sa.ForeignKeyConstraint(['note_id'], ['note.id'], name=op.f('fk_inbound_mail_note_id_note')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_inbound_mail')),
        sa.UniqueConstraint('key', name=op.f('uq_inbound_mail_key')),
    )
    op.create_index(op.f('ix_inbound_mail_message_id'), 'inbound_mail', ['message_id'])
    op.create_index(op.f('ix_inbound_mail_debtor_id'), 'inbound_mail', ['debtor_id'])
    op.create_index(op.f('ix_inbound_mail_answers_message_id'), 'inbound_mail', ['answers_message_id'])
    op.create_table(
        'mail_attachment',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('mail_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('content_type', sa.String(length=255), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(['mail_id'], ['inbound_mail.id'], ondelete='CASCADE',
                                name=op.f('fk_mail_attachment_mail_id_inbound_mail')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_attachment')),
    )
    op.create_index(op.f('ix_mail_attachment_mail_id'), 'mail_attachment', ['mail_id'])
    op.create_table(
        'work_handoff',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('item_key', sa.String(length=100), nullable=False),
        sa.Column('debtor_id', sa.Integer(), nullable=True),
        sa.Column('from_user', sa.String(length=100), nullable=False),
        sa.Column('to_user', sa.String(length=100), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['debtor_id'], ['debtor.id'], ondelete='CASCADE',
                                name=op.f('fk_work_handoff_debtor_id_debtor')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_work_handoff')),
    )
    op.create_index(op.f('ix_work_handoff_item_key'), 'work_handoff', ['item_key'])
    op.create_index(op.f('ix_work_handoff_debtor_id'), 'work_handoff', ['debtor_id'])


def downgrade() -> None:
    op.drop_index(op.f('ix_work_handoff_debtor_id'), table_name='work_handoff')
    op.drop_index(op.f('ix_work_handoff_item_key'), table_name='work_handoff')
    op.drop_table('work_handoff')
    op.drop_index(op.f('ix_mail_attachment_mail_id'), table_name='mail_attachment')
    op.drop_table('mail_attachment')
    op.drop_index(op.f('ix_inbound_mail_answers_message_id'), table_name='inbound_mail')
    op.drop_index(op.f('ix_inbound_mail_debtor_id'), table_name='inbound_mail')
    op.drop_index(op.f('ix_inbound_mail_message_id'), table_name='inbound_mail')
    op.drop_table('inbound_mail')
    with op.batch_alter_table('debtor', schema=None) as batch_op:
        batch_op.drop_column('email_bouncing')
        batch_op.drop_column('owner')
