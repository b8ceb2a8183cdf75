"""Version lifecycle: the current version of each process, suspended versions, the change record.

Each process's current version starts as its newest, which is what new instances used before.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("process_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("suspended_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("suspended_by", sa.String(length=128), nullable=True))
    op.create_table(
        "process_heads",
        sa.Column("process_key", sa.String(length=128), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(["version_id"], ["process_versions.id"]),
        sa.PrimaryKeyConstraint("process_key"),
    )
    op.create_table(
        "process_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("process_key", sa.String(length=128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("previous", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_process_changes_process_key", "process_changes", ["process_key"])
    op.execute(sa.text(
        "INSERT INTO process_heads (process_key, version_id, updated_at, updated_by) "
        "SELECT v.process_key, v.id, v.deployed_at, v.deployed_by FROM process_versions v "
        "WHERE v.version = (SELECT MAX(w.version) FROM process_versions w "
        "WHERE w.process_key = v.process_key)"))


def downgrade() -> None:
    op.drop_index("ix_process_changes_process_key", table_name="process_changes")
    op.drop_table("process_changes")
    op.drop_table("process_heads")
    with op.batch_alter_table("process_versions", schema=None) as batch_op:
        batch_op.drop_column("suspended_by")
        batch_op.drop_column("suspended_at")
