"""Signed checkpoints of the chain heads and their leaves (the event hashes each one vouched for).

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_checkpoints",
        sa.Column("number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("instances", sa.Integer(), nullable=False),
        sa.Column("root", sa.String(length=64), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.Column("made_by", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("number"),
    )
    op.create_table(
        "audit_checkpoint_leaves",
        sa.Column("number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("instance_id", sa.String(length=36), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.Column("prev_leaf", sa.String(length=64), nullable=False),
        sa.Column("hashes", sa.JSON(), nullable=False),
        sa.Column("leaf_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("number", "instance_id"),
    )
    op.create_index("ix_audit_checkpoint_leaves_instance_id", "audit_checkpoint_leaves", ["instance_id"])


def downgrade() -> None:
    op.drop_index("ix_audit_checkpoint_leaves_instance_id", table_name="audit_checkpoint_leaves")
    op.drop_table("audit_checkpoint_leaves")
    op.drop_table("audit_checkpoints")
