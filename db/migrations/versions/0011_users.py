"""the users in the database (they were in a YAML file on one server's disk): role, language, disabled,
last login and the key that every login of the user carries

Revision ID: 0011_users
Revises: 0008_mailbox
"""
from alembic import op
import sqlalchemy as sa


revision = '0011_users'
down_revision = '0009_payment_plans'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'user_account',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('username', sa.String(length=50), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('email', sa.String(length=255), nullable=False),
        sa.Column('role', sa.String(length=20), nullable=False),
        sa.Column('password_hash', sa.String(length=100), nullable=False),
        sa.Column('language', sa.String(length=5), nullable=True),
        sa.Column('disabled', sa.Boolean(), nullable=False),
        sa.Column('last_login_at', sa.DateTime(), nullable=True),
        sa.Column('session_key', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_user_account')),
        sa.UniqueConstraint('username', name=op.f('uq_user_account_username')),
    )


def downgrade() -> None:
    op.drop_table('user_account')
