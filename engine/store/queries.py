"""Read-side queries behind the API: plain dicts out of the store, paginated, never an HTTP concept.

`Scope` carries who is looking: a customer sees only their own instances (and their tasks); everybody
else the whole store. Rows outside the scope are reported as unknown, so their existence does not leak.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from lxml import etree
from sqlalchemy import Row, bindparam, func, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from engine.errors import NotFound
from engine.store.chain import EventLike, event_view
from engine.store.models import (
    DefinitionFile,
    EventRow,
    IncidentRow,
    Instance,
    OpenTask,
    OutboxMessage,
    ProcessHead,
    ProcessVersion,
    Record,
)
from engine.store.paging import Page, Scope, paged
from engine.store.prepared import Prepared
from engine.store.worklist import TASK_COLUMNS, task_dict


class ClockReader(Protocol):
    """The SLA clocks of an instance as the API shows them; `data` is the instance's stored data."""

    def clocks_for(self, conn: Connection, instance_id: str,
                   data: dict[str, Any]) -> list[dict[str, Any]]: ...


BPMN_PROCESS = "{http://www.omg.org/spec/BPMN/20100524/MODEL}process"


# ----------------------------------------------------------------- processes
def version_dict(row: ProcessVersion) -> dict[str, Any]:
    return {"key": row.process_key, "name": row.name, "version": row.version,
            "content_hash": row.content_hash, "deployed_at": row.deployed_at, "deployed_by": row.deployed_by,
            "suspended": row.suspended_at is not None}


def processes(session: Session, page: Page) -> tuple[list[dict[str, Any]], int]:
    """Each deployed process with its current version (the one new instances start on)."""
    query = select(ProcessVersion).join(ProcessHead, ProcessHead.version_id == ProcessVersion.id) \
        .order_by(ProcessVersion.process_key)
    rows, total = paged(session, query, page)
    return [version_dict(r[0]) for r in rows], total


def versions(session: Session, key: str, page: Page) -> tuple[list[dict[str, Any]], int]:
    query = select(ProcessVersion).where(ProcessVersion.process_key == key) \
        .order_by(ProcessVersion.version.desc())
    rows, total = paged(session, query, page)
    if total == 0:
        raise NotFound(f"no deployed process {key!r}")
    return [version_dict(r[0]) for r in rows], total


def diagram(session: Session, key: str, version: int | None) -> tuple[str, bytes]:
    """The BPMN file that defines the process, as deployed in that version (the current by default)."""
    query = select(ProcessVersion).where(ProcessVersion.process_key == key)
    query = query.where(ProcessVersion.version == version) if version is not None else \
        query.join(ProcessHead, ProcessHead.version_id == ProcessVersion.id)
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
def _instance_dict(row: Instance | Row[Any], version: int) -> dict[str, Any]:
    return {"id": row.id, "process": row.process_key, "version": version, "status": row.status,
            "business_key": row.business_key, "parent_instance_id": row.parent_instance_id,
            "started_by": row.started_by, "created_at": row.created_at, "updated_at": row.updated_at,
            "ended_at": row.ended_at}


def _instances_query(scope: Scope) -> Any:  # Any: Select's generic form differs between SQLAlchemy releases
    return select(Instance, ProcessVersion.version) \
        .join(ProcessVersion, Instance.version_id == ProcessVersion.id).where(scope.instances())


KIND_FORMATS = ("markdown", "html")  # renderings a document record may carry besides its data
DERIVED_FORMATS = {"pdf": "html"}  # made on request from a stored rendering (the PDF from the HTML)


def documents(session: Session, scope: Scope, instance_id: str) -> list[dict[str, Any]]:
    """The records the case's steps wrote (fault report, spare-part request, vendor case…), oldest first."""
    visible_instance(session, scope, instance_id)
    rows = session.scalars(select(Record).where(Record.instance_id == instance_id)
                           .order_by(Record.created_at, Record.id))
    return [_document(r) for r in rows]


def document(session: Session, scope: Scope, document_id: str) -> dict[str, Any]:
    row = session.get(Record, document_id)
    if row is None:
        raise NotFound(f"no document {document_id}")
    case = visible_instance(session, scope, row.instance_id)  # another customer's is unknown, not forbidden
    return {**_document(row), "business_key": case.business_key,
            "data": {k: v for k, v in row.data.items() if k not in KIND_FORMATS},
            **{k: row.data[k] for k in KIND_FORMATS if isinstance(row.data.get(k), str)}}


def _document(row: Record) -> dict[str, Any]:
    stored = [k for k in KIND_FORMATS if isinstance(row.data.get(k), str)]
    derived = [k for k, source in DERIVED_FORMATS.items() if source in stored]
    return {"id": row.id, "kind": row.kind, "instance_id": row.instance_id, "created_at": row.created_at,
            "formats": ["json", *stored, *derived]}


def linked(session: Session, scope: Scope, instance_id: str, parent_id: str | None) -> list[dict[str, Any]]:
    """The cases linked to this one that the scope may see: the one that started it (a fault for its
    incident) and those it started."""
    query = _instances_query(scope).where(
        (Instance.parent_instance_id == instance_id) | (Instance.id == (parent_id or ""))
    ).order_by(Instance.created_at, Instance.id)
    return [{**_instance_dict(r[0], r[1]), "relation": "parent" if r[0].id == parent_id else "child"}
            for r in session.execute(query)]


def instances(session: Session, scope: Scope, page: Page, *, process: str | None = None,
              status: str | None = None, business_key: str | None = None,
              q: str | None = None) -> tuple[list[dict[str, Any]], int]:
    """`q` finds the text anywhere in the business key or the summary, ignoring case."""
    query = _instances_query(scope)
    for column, value in ((Instance.process_key, process), (Instance.status, status),
                          (Instance.business_key, business_key)):
        if value is not None:
            query = query.where(column == value)
    if q:
        needle, summary = q.lower(), Instance.data["summary"].as_string()
        query = query.where(or_(func.lower(Instance.business_key).contains(needle, autoescape=True),
                                func.lower(summary).contains(needle, autoescape=True)))
    rows, total = paged(session, query.order_by(Instance.created_at.desc(), Instance.id), page)
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
_TASKS_OF = select(*TASK_COLUMNS).where(OpenTask.instance_id == bindparam("id")) \
    .order_by(OpenTask.created_at, OpenTask.id)


_DETAIL_FAST, _TASKS_OF_FAST = Prepared(_DETAIL), Prepared(_TASKS_OF)


def instance(conn: Connection, scope: Scope, instance_id: str,
             sla: ClockReader | None = None) -> dict[str, Any]:
    if scope.customer is None:
        row = _DETAIL_FAST.first(conn, {"id": instance_id})
    else:
        row = conn.execute(_DETAIL.where(scope.instances()), {"id": instance_id}).first()
    if row is None:
        raise NotFound(f"no instance {instance_id}", instance_id=instance_id)
    out = _instance_dict(row, row.version)
    # Keys with a leading underscore are the engine's bookkeeping (SLA records, message buffers);
    # the clocks are reported under "sla", and the rest is not the business's data.
    data = row.data or {}
    out["data"] = {k: v for k, v in data.items() if not k.startswith("_")}
    out["open_tasks"] = [task_dict(t) for t in _TASKS_OF_FAST.rows(conn, {"id": instance_id})]
    out["sla"] = _clocks(conn, sla, instance_id, data)
    return out


def _clocks(conn: Connection, sla: ClockReader | None, instance_id: str,
            data: dict[str, Any]) -> list[dict[str, Any]]:
    return [] if sla is None else list(sla.clocks_for(conn, instance_id, data))


# ----------------------------------------------------------------- audit
def history_views(session: Session | None, instance_id: str,
                  pending: Sequence[EventLike]) -> list[dict[str, Any]]:
    """The stored history followed by the events an operation has not written yet (what a handler
    sees); an operation with no session (replay) has only its own."""
    rows: list[EventRow] = [] if session is None else list(session.scalars(
        select(EventRow).where(EventRow.instance_id == instance_id).order_by(EventRow.seq)).all())
    return [event_view(r, r.seq) for r in rows] + [event_view(ev, None) for ev in pending]


def history(session: Session, instance_id: str, page: Page) -> tuple[list[dict[str, Any]], int]:
    query = select(EventRow).where(EventRow.instance_id == instance_id).order_by(EventRow.seq)
    rows, total = paged(session, query, page)
    return [{**event_view(r, r.seq), "prev_hash": r.prev_hash, "hash": r.hash} for (r,) in rows], total


# ----------------------------------------------------------------- incidents and outbox
def incident_dict(row: IncidentRow) -> dict[str, Any]:
    return {"id": row.id, "instance_id": row.instance_id, "task_id": row.task_id,
            "element_id": row.element_id, "topic": row.topic, "message": row.message,
            "attempts": row.attempts, "status": row.status, "created_at": row.created_at,
            "resolved_at": row.resolved_at, "outbox_id": row.outbox_id}


def incidents(session: Session, page: Page, *, status: str | None = None,
              instance_id: str | None = None) -> tuple[list[dict[str, Any]], int]:
    query = select(IncidentRow).order_by(IncidentRow.created_at.desc(), IncidentRow.id.desc())
    if status is not None:
        query = query.where(IncidentRow.status == status)
    if instance_id is not None:
        query = query.where(IncidentRow.instance_id == instance_id)
    rows, total = paged(session, query, page)
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
    rows, total = paged(session, query, page)
    return [{"id": m.id, "instance_id": m.instance_id, "element_id": m.element_id, "channel": m.channel,
             "recipient": m.recipient, "subject": m.subject, "body": m.body, "status": m.status,
             "created_at": m.created_at} for (m,) in rows], total
