"""Schema migrations with Alembic.

A new database is created from the models and stamped at the newest revision; a database that has a
revision is upgraded; one with tables but no revision predates migrations and is the first schema.
Several processes may start at once on PostgreSQL: an advisory lock lets one of them do the work.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import inspect, text

from engine.store import checkpoints, clock_state, stock, users  # noqa: F401 - registers their tables
from engine.store.models import Base
from engine.store.sessions import Store

SCRIPTS = Path(__file__).resolve().parent / "migrations"
FIRST = "0001"


def config_for(connection: object) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(SCRIPTS))
    cfg.attributes["connection"] = connection
    return cfg


def migrate(store: Store, target: str = "head") -> None:
    with store.engine.begin() as conn:
        if not store.is_sqlite:
            conn.execute(text("SELECT pg_advisory_xact_lock(72207)"))
        tables = set(inspect(conn).get_table_names())
        cfg = config_for(conn)
        if not tables - {"alembic_version"}:
            Base.metadata.create_all(conn)
            command.stamp(cfg, "head")
            return
        if "alembic_version" not in tables:
            command.stamp(cfg, FIRST)
        command.upgrade(cfg, target)


def create_all(store: Store) -> None:
    """Create or upgrade the schema to the newest migration."""
    migrate(store)


def drop_all(store: Store) -> None:
    Base.metadata.drop_all(store.engine)


def upgrade_to(store: Store, revision: str) -> None:
    """Run the migrations from nothing up to `revision` (tests build old schemas this way)."""
    with store.engine.begin() as conn:
        command.upgrade(config_for(conn), revision)


def ensure_schema(store: Store) -> None:
    """The user tables, for a store whose schema was created before this module was imported. An empty
    database gets the whole schema, stamped, so that a later migration does not create them again."""
    if not inspect(store.engine).get_table_names():
        migrate(store)
        return
    Base.metadata.create_all(store.engine, tables=[Base.metadata.tables[name] for name in
                                                   ("users", "api_tokens", "groups", "group_uses")])
