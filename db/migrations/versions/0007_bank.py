"""bank statements: the statements read, their lines, allocations to invoices, learned payer accounts,
and invoices a later export still shows open after the bank paid them

Revision ID: 0007_bank
Revises: 0006_text_versions
"""
from alembic import op
import sqlalchemy as sa


revision = '0007_bank'
down_revision = '0006_text_versions'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('bank_statement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('account', sa.String(length=34), nullable=False),
    sa.Column('format', sa.String(length=20), nullable=False),
    sa.Column('statement_ref', sa.String(length=100), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('opening_balance_cents', sa.BigInteger(), nullable=True),
    sa.Column('opening_date', sa.Date(), nullable=True),
    sa.Column('closing_balance_cents', sa.BigInteger(), nullable=True),
    sa.Column('closing_date', sa.Date(), nullable=True),
    sa.Column('line_count', sa.Integer(), nullable=False),
    sa.Column('duplicate_count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['import_batch.id'], name=op.f('fk_bank_statement_batch_id_import_batch')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bank_statement'))
    )
    with op.batch_alter_table('bank_statement', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bank_statement_batch_id'), ['batch_id'], unique=False)

    op.create_table('bank_ledger_case',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('import_batch_id', sa.Integer(), nullable=False),
    sa.Column('kept_cents', sa.BigInteger(), nullable=False),
    sa.Column('file_open_cents', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('resolved_by', sa.String(length=100), nullable=True),
    sa.Column('resolved_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['import_batch_id'], ['import_batch.id'], name=op.f('fk_bank_ledger_case_import_batch_id_import_batch')),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoice.id'], name=op.f('fk_bank_ledger_case_invoice_id_invoice'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bank_ledger_case'))
    )
    with op.batch_alter_table('bank_ledger_case', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bank_ledger_case_import_batch_id'), ['import_batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bank_ledger_case_invoice_id'), ['invoice_id'], unique=False)

    op.create_table('bank_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('statement_id', sa.Integer(), nullable=False),
    sa.Column('dedupe_key', sa.String(length=32), nullable=False),
    sa.Column('account', sa.String(length=34), nullable=False),
    sa.Column('booking_date', sa.Date(), nullable=False),
    sa.Column('value_date', sa.Date(), nullable=True),
    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('counterparty_name', sa.String(length=255), nullable=False),
    sa.Column('counterparty_iban', sa.String(length=34), nullable=False),
    sa.Column('remittance', sa.Text(), nullable=False),
    sa.Column('structured_reference', sa.String(length=64), nullable=False),
    sa.Column('end_to_end_id', sa.String(length=100), nullable=False),
    sa.Column('entry_reference', sa.String(length=100), nullable=True),
    sa.Column('bank_code', sa.String(length=50), nullable=False),
    sa.Column('reversal', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('confidence', sa.Double(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('evidence', sa.String(length=20), nullable=False),
    sa.Column('debtor_id', sa.Integer(), nullable=True),
    sa.Column('overpaid_cents', sa.BigInteger(), nullable=False),
    sa.Column('charges_cents', sa.BigInteger(), nullable=False),
    sa.Column('decided_by', sa.String(length=100), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['import_batch.id'], name=op.f('fk_bank_line_batch_id_import_batch')),
    sa.ForeignKeyConstraint(['debtor_id'], ['debtor.id'], name=op.f('fk_bank_line_debtor_id_debtor'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['statement_id'], ['bank_statement.id'], name=op.f('fk_bank_line_statement_id_bank_statement')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bank_line')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_bank_line_dedupe_key'))
    )
    with op.batch_alter_table('bank_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bank_line_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bank_line_counterparty_iban'), ['counterparty_iban'], unique=False)
        batch_op.create_index(batch_op.f('ix_bank_line_debtor_id'), ['debtor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bank_line_statement_id'), ['statement_id'], unique=False)
        batch_op.create_index('ix_bank_line_status', ['status', 'booking_date'], unique=False)

    op.create_table('bank_allocation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('line_id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('cents', sa.BigInteger(), nullable=False),
    sa.Column('charges_cents', sa.BigInteger(), nullable=False),
    sa.Column('applied', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoice.id'], name=op.f('fk_bank_allocation_invoice_id_invoice'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['line_id'], ['bank_line.id'], name=op.f('fk_bank_allocation_line_id_bank_line'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bank_allocation'))
    )
    with op.batch_alter_table('bank_allocation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bank_allocation_invoice_id'), ['invoice_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bank_allocation_line_id'), ['line_id'], unique=False)

    op.create_table('bank_payer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('iban', sa.String(length=34), nullable=False),
    sa.Column('debtor_id', sa.Integer(), nullable=False),
    sa.Column('line_id', sa.Integer(), nullable=True),
    sa.Column('learned_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['debtor_id'], ['debtor.id'], name=op.f('fk_bank_payer_debtor_id_debtor'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['line_id'], ['bank_line.id'], name=op.f('fk_bank_payer_line_id_bank_line'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bank_payer')),
    sa.UniqueConstraint('iban', name=op.f('uq_bank_payer_iban'))
    )
    with op.batch_alter_table('bank_payer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bank_payer_debtor_id'), ['debtor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bank_payer_line_id'), ['line_id'], unique=False)


    op.create_table('bank_invoice_key',
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=64), nullable=False),
    sa.Column('number_key', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoice.id'], name=op.f('fk_bank_invoice_key_invoice_id_invoice'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('invoice_id', name=op.f('pk_bank_invoice_key'))
    )
    with op.batch_alter_table('bank_invoice_key', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bank_invoice_key_number_key'), ['number_key'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('bank_invoice_key', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bank_invoice_key_number_key'))

    op.drop_table('bank_invoice_key')
    with op.batch_alter_table('bank_payer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bank_payer_line_id'))
        batch_op.drop_index(batch_op.f('ix_bank_payer_debtor_id'))

    op.drop_table('bank_payer')
    with op.batch_alter_table('bank_allocation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bank_allocation_line_id'))
        batch_op.drop_index(batch_op.f('ix_bank_allocation_invoice_id'))

    op.drop_table('bank_allocation')
    with op.batch_alter_table('bank_line', schema=None) as batch_op:
        batch_op.drop_index('ix_bank_line_status')
        batch_op.drop_index(batch_op.f('ix_bank_line_statement_id'))
        batch_op.drop_index(batch_op.f('ix_bank_line_debtor_id'))
        batch_op.drop_index(batch_op.f('ix_bank_line_counterparty_iban'))
        batch_op.drop_index(batch_op.f('ix_bank_line_batch_id'))

    op.drop_table('bank_line')
    with op.batch_alter_table('bank_ledger_case', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bank_ledger_case_invoice_id'))
        batch_op.drop_index(batch_op.f('ix_bank_ledger_case_import_batch_id'))

    op.drop_table('bank_ledger_case')
    with op.batch_alter_table('bank_statement', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bank_statement_batch_id'))

    op.drop_table('bank_statement')
