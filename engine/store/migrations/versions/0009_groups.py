"""Groups as data: groups admins added, and the candidate groups each deployed process uses.

A process deployed before this revision records its groups at its next deploy (`serve` redeploys
processes/ at every start).

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "groups",
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "group_uses",
        sa.Column("group", sa.String(length=128), nullable=False),
        sa.Column("process_key", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("group", "process_key"),
    )


def downgrade() -> None:
    op.drop_table("group_uses")
    op.drop_table("groups")
