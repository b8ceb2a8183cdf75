"""SQLAlchemy 2.0 models (users and tokens are in `store.users`; sessions in `store.sessions`).

The instance row holds a compacted SpiffWorkflow state (only what is still needed to go on), so a
step costs the same on a young and an old instance; the history lives in the append-only event table.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Stored as UTC without offset (SQLite keeps none), always read back timezone-aware."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, datetime: UTCDateTime()}


class DefinitionFile(Base):
    """Content-addressed diagram files; a version names the files it was built from."""

    __tablename__ = "definition_files"
    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(8))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]


class FileHead(Base):
    """The newest deployed content of each file name: what a new deploy is combined with."""

    __tablename__ = "file_heads"
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    hash: Mapped[str] = mapped_column(ForeignKey("definition_files.hash"))
    updated_at: Mapped[datetime]


class ProcessVersion(Base):
    __tablename__ = "process_versions"
    __table_args__ = (
        UniqueConstraint("process_key", "version"),
        UniqueConstraint("process_key", "content_hash"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_key: Mapped[str] = mapped_column(String(128), index=True)
    version: Mapped[int]
    name: Mapped[str] = mapped_column(String(255))
    content_hash: Mapped[str] = mapped_column(String(64))
    files: Mapped[list[Any]]
    start_timer: Mapped[str | None] = mapped_column(Text)
    deployed_at: Mapped[datetime]
    deployed_by: Mapped[str] = mapped_column(String(128))
    # A suspended version starts no new instance; those already running on it go on.
    suspended_at: Mapped[datetime | None]
    suspended_by: Mapped[str | None] = mapped_column(String(128))


class ProcessHead(Base):
    """The version new instances of a process start on: the newest deployed one, or the one a process
    owner activated (a rollback). The row exists from a process's first deploy on."""

    __tablename__ = "process_heads"
    process_key: Mapped[str] = mapped_column(String(128), primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("process_versions.id"))
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(128))


class ProcessChange(Base):
    """Append-only record of what happened to a process's versions: deployed, activated, suspended,
    resumed, by whom and when. Instance histories are chained per instance; this is the process's."""

    __tablename__ = "process_changes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_key: Mapped[str] = mapped_column(String(128), index=True)
    version: Mapped[int]
    action: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime]
    previous: Mapped[int | None]  # the version that was current before, for deploys and activations


class Instance(Base):
    __tablename__ = "instances"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    process_key: Mapped[str] = mapped_column(String(128), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("process_versions.id"))
    status: Mapped[str] = mapped_column(String(16), index=True)
    business_key: Mapped[str | None] = mapped_column(String(255), index=True)
    parent_instance_id: Mapped[str | None] = mapped_column(String(36), index=True)
    started_by: Mapped[str] = mapped_column(String(128))
    data: Mapped[dict[str, Any]]
    state: Mapped[dict[str, Any]]
    task_id_counter: Mapped[int] = mapped_column(Integer, default=0)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    head_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    lock_version: Mapped[int] = mapped_column(Integer, nullable=False)
    __mapper_args__ = {"version_id_col": lock_version}


class OpenTask(Base):
    """Index of open user tasks, refreshed by every operation; never the source of truth."""

    __tablename__ = "open_tasks"
    __table_args__ = (Index("ix_open_tasks_worklist", "assignee", "created_at", "id"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("instances.id"), index=True)
    process_key: Mapped[str] = mapped_column(String(128), index=True)
    element_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    candidate_groups: Mapped[list[Any]]
    assignee: Mapped[str | None] = mapped_column(String(128), index=True)
    form: Mapped[list[Any]]
    created_at: Mapped[datetime]
    due_at: Mapped[datetime | None]


class TaskGroup(Base):
    """One row per (open task, candidate group) so "my tasks" is an indexed lookup."""

    __tablename__ = "open_task_groups"
    task_id: Mapped[str] = mapped_column(ForeignKey("open_tasks.id", ondelete="CASCADE"), primary_key=True)
    group: Mapped[str] = mapped_column(String(128), primary_key=True, index=True)


class PendingTimer(Base):
    """Everything that must happen at a time: BPMN timers, handler retries, SLA deadlines, scheduled
    starts (no instance). The scheduler reads only this table to find what is due."""

    __tablename__ = "pending_timers"
    __table_args__ = (Index("ix_pending_timers_due", "due_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    instance_id: Mapped[str | None] = mapped_column(String(36), index=True)
    process_key: Mapped[str | None] = mapped_column(String(128))
    task_id: Mapped[str | None] = mapped_column(String(36))
    element_id: Mapped[str] = mapped_column(String(255))
    due_at: Mapped[datetime]


class EventRow(Base):
    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("instance_id", "seq"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[str] = mapped_column(String(36), index=True)
    seq: Mapped[int]
    op: Mapped[int]  # seq of the first event of the operation that wrote this one
    type: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime]
    actor: Mapped[str | None] = mapped_column(String(128))
    element_id: Mapped[str | None] = mapped_column(String(255))
    task_id: Mapped[str | None] = mapped_column(String(36))
    data: Mapped[dict[str, Any]]
    digest: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class IncidentRow(Base):
    __tablename__ = "incidents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[str] = mapped_column(String(36), index=True)
    task_id: Mapped[str] = mapped_column(String(36))
    element_id: Mapped[str] = mapped_column(String(255))
    topic: Mapped[str] = mapped_column(String(128))
    message: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    # set when the incident holds an outbox message whose delivery failed for good, not a task
    outbox_id: Mapped[int | None] = mapped_column(Integer, default=None)


class OutboxMessage(Base):
    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[str] = mapped_column(String(36), index=True)
    element_id: Mapped[str] = mapped_column(String(255))
    channel: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]


class Record(Base):
    """Business records created by handlers (spare-part requests, vendor cases, reports…)."""

    __tablename__ = "records"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    instance_id: Mapped[str] = mapped_column(String(36), index=True)
    data: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


class SlaClockRow(Base):
    """Queryable copy of each instance's SLA clocks for reports; the truth is in the instance state."""

    __tablename__ = "sla_clocks"
    instance_id: Mapped[str] = mapped_column(ForeignKey("instances.id"), primary_key=True)
    clock: Mapped[str] = mapped_column(String(64), primary_key=True)
    process_key: Mapped[str] = mapped_column(String(128), index=True)
    contract: Mapped[str | None] = mapped_column(String(64), index=True)
    level: Mapped[str | None] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(index=True)
    due_at: Mapped[datetime | None]
    stopped_at: Mapped[datetime | None]
    paused_seconds: Mapped[float] = mapped_column(Float)
    business_seconds: Mapped[float | None] = mapped_column(Float)
    breached_at: Mapped[datetime | None]
    # Counted Monday-Friday on a year without holiday data (engine.sla.provisional).
    provisional: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


# People who use the service (engine.store.users): names, groups, roles, token hashes.
class User(Base):
    __tablename__ = "users"
    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    groups: Mapped[list[Any]]
    roles: Mapped[list[Any]]
    created_at: Mapped[datetime]
    disabled_at: Mapped[datetime | None]
    password_hash: Mapped[str | None] = mapped_column(String(255))  # argon2; see store/passwords.py


class ApiToken(Base):
    __tablename__ = "api_tokens"
    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_name: Mapped[str] = mapped_column(ForeignKey("users.name", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


# Plain tables for the hot paths that skip the ORM's unit of work (persist, indexes).
TABLES = Base.metadata.tables
