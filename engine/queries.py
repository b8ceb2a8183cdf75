"""Read-side queries behind the API: plain dicts out of the store, paginated, never an HTTP concept.

`Scope` carries who is looking: a customer sees only their own instances (and their tasks); everybody
else the whole store. Rows outside the scope are reported as unknown, so their existence does not leak.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from lxml import etree
from sqlalchemy import ColumnElement, and_, bindparam, func, or_, select, union_all
from sqlalchemy.orm import Session

from .actor import Actor
from .errors import NotFound
from .events import verify_chain
from .store import (
    DefinitionFile,
    EventRow,
    IncidentRow,
    Instance,
    OpenTask,
    OutboxMessage,
    ProcessVersion,
    TaskGroup,
)

BPMN_PROCESS = "{http://www.omg.org/spec/BPMN/20100524/MODEL}process"


@dataclass(frozen=True)
class Scope:
    """`customer`: the name whose instances alone are visible, or None for everything."""

    customer: str | None = None

    @classmethod
    def of(cls, actor: Actor) -> Scope:
        restricted = "customer" in actor.groups and not actor.roles
        return cls(customer=actor.name if restricted else None)

    def instances(self) -> ColumnElement[bool]:
        if self.customer is None:
            return Instance.id.is_not(None)
        named = Instance.data["customer"].as_string() == self.customer
        return or_(Instance.started_by == self.customer, named)


@dataclass(frozen=True)
class Page:
    page: int = 1
    per_page: int = 50


def _paged(session: Session, query: Any, page: Page) -> tuple[list[Any], int]:
    rows = list(session.execute(query.limit(page.per_page).offset((page.page - 1) * page.per_page)).all())
    total = _known_total(rows, page)
    if total is None:
        total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    return rows, total


def _known_total(rows: list[Any], page: Page) -> int | None:
    """The last page tells the total without counting."""
    offset = (page.page - 1) * page.per_page
    if 0 < len(rows) < page.per_page or (not rows and offset == 0):
        return offset + len(rows)
    return None


# ----------------------------------------------------------------- processes
def version_dict(row: ProcessVersion) -> dict[str, Any]:
    return {"key": row.process_key, "name": row.name, "version": row.version,
            "content_hash": row.content_hash, "deployed_at": row.deployed_at, "deployed_by": row.deployed_by}


def processes(session: Session, page: Page) -> tuple[list[dict[str, Any]], int]:
    newest = select(ProcessVersion.process_key, func.max(ProcessVersion.version).label("v")) \
        .group_by(ProcessVersion.process_key).subquery()
    query = select(ProcessVersion).join(newest, and_(ProcessVersion.process_key == newest.c.process_key,
                                                     ProcessVersion.version == newest.c.v)) \
        .order_by(ProcessVersion.process_key)
    rows, total = _paged(session, query, page)
    return [version_dict(r[0]) for r in rows], total


def versions(session: Session, key: str, page: Page) -> tuple[list[dict[str, Any]], int]:
    query = select(ProcessVersion).where(ProcessVersion.process_key == key) \
        .order_by(ProcessVersion.version.desc())
    rows, total = _paged(session, query, page)
    if total == 0:
        raise NotFound(f"no deployed process {key!r}")
    return [version_dict(r[0]) for r in rows], total


def diagram(session: Session, key: str, version: int | None) -> tuple[str, bytes]:
    """The BPMN file that defines the process, as deployed in that version (the newest by default)."""
    query = select(ProcessVersion).where(ProcessVersion.process_key == key)
    query = query.where(ProcessVersion.version == version) if version is not None else \
        query.order_by(ProcessVersion.version.desc()).limit(1)
    row = session.scalar(query)
    if row is None:
        raise NotFound(f"no deployed process {key!r}" + (f" version {version}" if version else ""))
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    for entry in row.files:
        stored = session.get(DefinitionFile, entry["hash"])
        if stored is None or stored.kind != "bpmn":
            continue
        root = etree.fromstring(stored.content, parser)
        if any(p.get("id") == key for p in root.iter(BPMN_PROCESS)):
            return stored.name, stored.content
    raise NotFound(f"the diagram of {key!r} v{row.version} is not stored")


# ----------------------------------------------------------------- instances
def _instance_dict(row: Any, version: int) -> dict[str, Any]:
    return {"id": row.id, "process": row.process_key, "version": version, "status": row.status,
            "business_key": row.business_key, "parent_instance_id": row.parent_instance_id,
            "started_by": row.started_by, "created_at": row.created_at, "updated_at": row.updated_at,
            "ended_at": row.ended_at}


def _instances_query(scope: Scope) -> Any:  # Select's generic form differs between SQLAlchemy releases
    return select(Instance, ProcessVersion.version) \
        .join(ProcessVersion, Instance.version_id == ProcessVersion.id).where(scope.instances())


def instances(session: Session, scope: Scope, page: Page, *, process: str | None = None,
              status: str | None = None, business_key: str | None = None) -> tuple[list[dict[str, Any]], int]:
    query = _instances_query(scope)
    for column, value in ((Instance.process_key, process), (Instance.status, status),
                          (Instance.business_key, business_key)):
        if value is not None:
            query = query.where(column == value)
    rows, total = _paged(session, query.order_by(Instance.created_at.desc(), Instance.id), page)
    return [_instance_dict(row, version) for row, version in rows], total


def visible_instance(session: Session, scope: Scope, instance_id: str) -> Instance:
    row = session.scalar(select(Instance).where(Instance.id == instance_id, scope.instances()))
    if row is None:
        raise NotFound(f"no instance {instance_id}", instance_id=instance_id)
    return row


_DETAIL_COLUMNS = (Instance.id, Instance.process_key, Instance.status, Instance.business_key,
                   Instance.parent_instance_id, Instance.started_by, Instance.created_at, Instance.updated_at,
                   Instance.ended_at, Instance.data, ProcessVersion.version)
_DETAIL = select(*_DETAIL_COLUMNS).join(ProcessVersion, Instance.version_id == ProcessVersion.id) \
    .where(Instance.id == bindparam("id"))
_TASK_COLUMNS = tuple(OpenTask.__table__.c)
_TASKS_OF = select(*_TASK_COLUMNS).where(OpenTask.instance_id == bindparam("id")) \
    .order_by(OpenTask.created_at, OpenTask.id)


def instance(session: Session, scope: Scope, instance_id: str, sla: Any = None) -> dict[str, Any]:
    query = _DETAIL if scope.customer is None else _DETAIL.where(scope.instances())
    conn = session.connection()
    row = conn.execute(query, {"id": instance_id}).first()
    if row is None:
        raise NotFound(f"no instance {instance_id}", instance_id=instance_id)
    out = _instance_dict(row, row.version)
    # Keys with a leading underscore are the engine's bookkeeping (SLA records, message buffers);
    # the clocks are reported under "sla", and the rest is not the business's data.
    data = row.data or {}
    out["data"] = {k: v for k, v in data.items() if not k.startswith("_")}
    out["open_tasks"] = [task_dict(t) for t in conn.execute(_TASKS_OF, {"id": instance_id})]
    out["sla"] = _clocks(session, sla, instance_id, data)
    return out


def _clocks(session: Session, sla: Any, instance_id: str, data: dict[str, Any]) -> list[dict[str, Any]]:
    """From the data already read when the SLA engine can; an engine may also look them up itself."""
    if (from_data := getattr(sla, "clocks_from_data", None)) is not None:
        return list(from_data(data))
    if (clocks_for := getattr(sla, "clocks_for", None)) is not None:
        return list(clocks_for(session, instance_id))
    return []


# ----------------------------------------------------------------- tasks
def task_dict(row: Any) -> dict[str, Any]:
    return {"id": row.id, "instance_id": row.instance_id, "process": row.process_key,
            "element_id": row.element_id, "name": row.name, "candidate_groups": list(row.candidate_groups),
            "assignee": row.assignee,
            "created_at": row.created_at, "due_at": row.due_at, "form": list(row.form)}


def _sees_all(actor: Actor) -> bool:
    return actor.is_admin or "auditor" in actor.roles


@functools.lru_cache(maxsize=64)
def _task_branch(kind: str, customer: bool, by_instance: bool, by_process: bool) -> Any:
    """Open tasks of one kind, "all", "mine" (assigned to :me) or "offered" (unassigned, offered to one of
    :groups), built once per shape: parameters carry the values."""
    query = select(*_TASK_COLUMNS)
    if customer:
        named = Instance.data["customer"].as_string() == bindparam("customer")
        query = query.join(Instance, Instance.id == OpenTask.instance_id) \
            .where(or_(Instance.started_by == bindparam("customer"), named))
    if kind == "mine":
        query = query.where(OpenTask.assignee == bindparam("me"))
    elif kind == "offered":
        groups = select(TaskGroup.task_id).where(TaskGroup.group.in_(bindparam("groups", expanding=True)))
        query = query.where(OpenTask.assignee.is_(None), OpenTask.id.in_(groups))
    if by_instance:
        query = query.where(OpenTask.instance_id == bindparam("instance"))
    if by_process:
        query = query.where(OpenTask.process_key == bindparam("process"))
    return query


def _in_order(query: Any) -> Any:
    return query.order_by(OpenTask.created_at, OpenTask.id)


@functools.lru_cache(maxsize=64)
def _task_page(kinds: tuple[str, ...], *shape: bool) -> tuple[Any, list[Any]]:
    """A page of tasks and the counts that make its total. Each kind is read in index order and cut at
    the end of the page before the kinds are merged: the cost follows the page, not the open tasks."""
    branches = [_task_branch(kind, *shape) for kind in kinds]
    counts = [select(func.count()).select_from(b.subquery()) for b in branches]
    if len(branches) == 1:
        page = _in_order(branches[0])
    else:
        cut = [select(*_in_order(b).limit(bindparam("upto")).subquery().c) for b in branches]
        merged = union_all(*cut).subquery()
        page = select(*merged.c).order_by(merged.c.created_at, merged.c.id)
    return page.limit(bindparam("per_page")).offset(bindparam("offset")), counts


def tasks(session: Session, actor: Actor, page: Page, *, instance_id: str | None = None,
          process: str | None = None) -> tuple[list[dict[str, Any]], int]:
    customer = Scope.of(actor).customer
    kinds = ("all",) if _sees_all(actor) else ("mine", "offered") if actor.groups else ("mine",)
    query, counts = _task_page(kinds, customer is not None, instance_id is not None, process is not None)
    offset = (page.page - 1) * page.per_page
    params = {"customer": customer, "me": actor.name, "groups": sorted(actor.groups), "instance": instance_id,
              "process": process, "per_page": page.per_page, "offset": offset, "upto": offset + page.per_page}
    conn = session.connection()
    rows = list(conn.execute(query, params))
    total = _known_total(rows, page)
    if total is None:
        total = sum(conn.execute(count, params).scalar() or 0 for count in counts)
    return [task_dict(r) for r in rows], total


_OPEN_TASK = select(*_TASK_COLUMNS).where(OpenTask.id == bindparam("id"))


def open_task(session: Session, actor: Actor, task_id: str) -> Any:
    """The open task if the actor may know of it; None when it is not open (the engine tells why)."""
    conn = session.connection()
    row = conn.execute(_OPEN_TASK, {"id": task_id}).first()
    scope = Scope.of(actor)
    if row is None or scope.customer is None:
        return row
    visible = select(Instance.id).where(Instance.id == row.instance_id, scope.instances())
    if conn.execute(visible).first() is None:
        raise NotFound(f"no task {task_id}")
    return row


def visible_task(session: Session, actor: Actor, task_id: str) -> dict[str, Any]:
    row = open_task(session, actor, task_id)
    offered = row is not None and bool(actor.groups.intersection(row.candidate_groups))
    if row is None or not (_sees_all(actor) or row.assignee == actor.name or offered):
        raise NotFound(f"no open task {task_id}")
    return task_dict(row)


# ----------------------------------------------------------------- audit
def history(session: Session, instance_id: str, page: Page) -> tuple[list[dict[str, Any]], int]:
    query = select(EventRow).where(EventRow.instance_id == instance_id).order_by(EventRow.seq)
    rows, total = _paged(session, query, page)
    return [{"seq": r.seq, "type": r.type, "at": r.at, "actor": r.actor, "element_id": r.element_id,
             "task_id": r.task_id, "data": r.data, "prev_hash": r.prev_hash, "hash": r.hash}
            for (r,) in rows], total


def verify(session: Session, instance_id: str) -> dict[str, Any]:
    rows = session.scalars(select(EventRow).where(EventRow.instance_id == instance_id)
                           .order_by(EventRow.seq)).all()
    ok, first_bad = verify_chain(instance_id, list(rows))
    return {"verified": ok, "first_bad_seq": first_bad, "events": len(rows)}


# ----------------------------------------------------------------- incidents and outbox
def incident_dict(row: IncidentRow) -> dict[str, Any]:
    return {"id": row.id, "instance_id": row.instance_id, "task_id": row.task_id,
            "element_id": row.element_id, "topic": row.topic, "message": row.message,
            "attempts": row.attempts, "status": row.status, "created_at": row.created_at,
            "resolved_at": row.resolved_at}


def incidents(session: Session, page: Page, *, status: str | None = None,
              instance_id: str | None = None) -> tuple[list[dict[str, Any]], int]:
    query = select(IncidentRow).order_by(IncidentRow.created_at.desc(), IncidentRow.id.desc())
    if status is not None:
        query = query.where(IncidentRow.status == status)
    if instance_id is not None:
        query = query.where(IncidentRow.instance_id == instance_id)
    rows, total = _paged(session, query, page)
    return [incident_dict(r[0]) for r in rows], total


def incident(session: Session, incident_id: int) -> dict[str, Any]:
    row = session.get(IncidentRow, incident_id)
    if row is None:
        raise NotFound(f"no incident {incident_id}")
    return incident_dict(row)


def outbox(session: Session, page: Page, *,
           instance_id: str | None = None) -> tuple[list[dict[str, Any]], int]:
    query = select(OutboxMessage).order_by(OutboxMessage.created_at, OutboxMessage.id)
    if instance_id is not None:
        query = query.where(OutboxMessage.instance_id == instance_id)
    rows, total = _paged(session, query, page)
    return [{"id": m.id, "instance_id": m.instance_id, "element_id": m.element_id, "channel": m.channel,
             "recipient": m.recipient, "subject": m.subject, "body": m.body, "status": m.status,
             "created_at": m.created_at} for (m,) in rows], total
