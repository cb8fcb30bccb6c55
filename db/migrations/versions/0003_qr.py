"""message: the EPC QR image drawn when the message is rendered or approved, and the text it encodes

Revision ID: 0003_qr
Revises: 0002_analytics
"""
from alembic import op
import sqlalchemy as sa


revision = '0003_qr'
down_revision = '0002_analytics'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('qr_payload', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('qr_png', sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.drop_column('qr_png')
        batch_op.drop_column('qr_payload')
