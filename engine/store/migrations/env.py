"""Alembic environment: the engine's metadata, the connection handed over by `engine.migrate`."""

from alembic import context

from engine.store import checkpoints, clock_state, users  # noqa: F401 - registers their tables
from engine.store.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through engine.migrate, which supplies the connection")
context.configure(
    connection=connection, target_metadata=Base.metadata, render_as_batch=True, compare_type=True
)
with context.begin_transaction():
    context.run_migrations()
