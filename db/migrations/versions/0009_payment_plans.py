"""payment plans: a plan per debtor, the invoices it covers and its terms

Revision ID: 0009_payment_plans
Revises: 0008_mailbox
"""
import sqlalchemy as sa
from alembic import op

revision = '0009_payment_plans'
down_revision = '0008_mailbox'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'payment_plan',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('debtor_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('source', sa.String(length=10), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('interval', sa.String(length=10), nullable=False),
        sa.Column('principal_cents', sa.BigInteger(), nullable=False),
        sa.Column('interest_cents', sa.BigInteger(), nullable=False),
        sa.Column('costs_cents', sa.BigInteger(), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('chance_on', sa.Date(), nullable=True),
        sa.Column('broken_on', sa.Date(), nullable=True),
        sa.Column('created_by', sa.String(length=100), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('decided_by', sa.String(length=100), nullable=True),
        sa.Column('decided_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['debtor_id'], ['debtor.id'], name=op.f('fk_payment_plan_debtor_id_debtor')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_plan')),
    )
    op.create_index(op.f('ix_payment_plan_debtor_id'), 'payment_plan', ['debtor_id'])
    op.create_index(op.f('ix_payment_plan_status'), 'payment_plan', ['status'])
    op.create_table(
        'payment_plan_invoice',
        sa.Column('plan_id', sa.Integer(), nullable=False),
        sa.Column('invoice_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['plan_id'], ['payment_plan.id'], ondelete='CASCADE',
                                name=op.f('fk_payment_plan_invoice_plan_id_payment_plan')),
        sa.ForeignKeyConstraint(['invoice_id'], ['invoice.id'], ondelete='CASCADE',
                                name=op.f('fk_payment_plan_invoice_invoice_id_invoice')),
        sa.PrimaryKeyConstraint('plan_id', 'invoice_id', name=op.f('pk_payment_plan_invoice')),
    )
    op.create_index(op.f('ix_payment_plan_invoice_invoice_id'), 'payment_plan_invoice', ['invoice_id'])
    op.create_table(
        'payment_plan_term',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('plan_id', sa.Integer(), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('due_date', sa.Date(), nullable=False),
        sa.Column('amount_cents', sa.BigInteger(), nullable=False),
        sa.Column('paid_cents', sa.BigInteger(), nullable=False),
        sa.Column('paid_on', sa.Date(), nullable=True),
        sa.Column('state', sa.String(length=10), nullable=False),
        sa.Column('notice_message_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['plan_id'], ['payment_plan.id'], ondelete='CASCADE',
                                name=op.f('fk_payment_plan_term_plan_id_payment_plan')),
        sa.ForeignKeyConstraint(['notice_message_id'], ['message.id'], ondelete='SET NULL',
                                name=op.f('fk_payment_plan_term_notice_message_id_message')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_plan_term')),
        sa.UniqueConstraint('plan_id', 'seq', name='uq_payment_plan_term_plan_seq'),
    )
    op.create_index(op.f('ix_payment_plan_term_plan_id'), 'payment_plan_term', ['plan_id'])


def downgrade() -> None:
    op.drop_index(op.f('ix_payment_plan_term_plan_id'), table_name='payment_plan_term')
    op.drop_table('payment_plan_term')
    op.drop_index(op.f('ix_payment_plan_invoice_invoice_id'), table_name='payment_plan_invoice')
    op.drop_table('payment_plan_invoice')
    op.drop_index(op.f('ix_payment_plan_status'), table_name='payment_plan')
    op.drop_index(op.f('ix_payment_plan_debtor_id'), table_name='payment_plan')
    op.drop_table('payment_plan')
