"""Open tasks indexed by (assignee, created_at, id): a person's work list is read in order from the index
instead of being collected and sorted, so a page costs the same with a thousand open tasks or a million.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_open_tasks_worklist", "open_tasks", ["assignee", "created_at", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_open_tasks_worklist", table_name="open_tasks")
