"""Token lifetimes and revocation, users that can be disabled.

Tokens issued before this revision get the default lifetime from the moment of the upgrade: they keep
working for a month, long enough to hand out new ones, instead of forever.

Revision ID: 0004
Revises: 0003
"""

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

GRACE = timedelta(days=30)


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("disabled_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("revoked_at", sa.DateTime(), nullable=True))
    until = (datetime.now(UTC) + GRACE).replace(tzinfo=None)  # stored as UTC without offset
    op.execute(sa.text("UPDATE api_tokens SET expires_at = :until").bindparams(until=until))


def downgrade() -> None:
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_column("revoked_at")
        batch_op.drop_column("expires_at")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("disabled_at")
