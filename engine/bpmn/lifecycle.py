"""Which version of a process new instances start on, which versions are suspended, who changed it.

A deploy that creates a version makes it current; a deploy of content already deployed changes
nothing (so restarting `serve`, which redeploys processes/, never undoes a rollback). A process owner
activates any version (a rollback or a roll forward) and suspends or resumes one. Every change is a
row in `process_changes`, with the actor, the time and the version that was current before.
"""

from __future__ import annotations

from datetime import datetime

from lxml import etree
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from engine.bpmn.model import ProcessModel
from engine.errors import Conflict, NotFound
from engine.store import groups
from engine.store.models import ProcessChange, ProcessHead, ProcessVersion
from engine.store.prepared import Prepared

BPMN_PROCESS = "{http://www.omg.org/spec/BPMN/20100524/MODEL}process"

_CURRENT = Prepared(
    select(ProcessVersion.id, ProcessVersion.version, ProcessVersion.suspended_at)
    .join(ProcessHead, ProcessHead.version_id == ProcessVersion.id)
    .where(ProcessHead.process_key == bindparam("key"))
)
_NAMED = Prepared(
    select(ProcessVersion.id, ProcessVersion.version, ProcessVersion.suspended_at)
    .where(ProcessVersion.process_key == bindparam("key"), ProcessVersion.version == bindparam("version"))
)


def process_ids(content: bytes) -> set[str]:
    """The process ids a BPMN file defines; none for a file that does not parse (validation says why)."""
    try:
        root = etree.fromstring(content, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError:
        return set()
    return {p.get("id") for p in root.iter(BPMN_PROCESS) if p.get("id")}


def startable_id(session: Session, key: str, version: int | None = None) -> int:
    """The version a new instance starts on: the named one or the current one, unless suspended."""
    params = {"key": key} if version is None else {"key": key, "version": version}
    found = (_CURRENT if version is None else _NAMED).first(session.connection(), params)
    if found is None:
        raise NotFound(f"no deployed process {key!r}" + ("" if version is None else f" version {version}"))
    if found.suspended_at is not None:
        raise Conflict(f"{key} v{found.version} is suspended: it starts no new instances "
                       f"(resume it, or activate another version)", details={"version": found.version})
    return int(found.id)


def current(session: Session, key: str) -> ProcessVersion:
    row = session.scalar(select(ProcessVersion).join(ProcessHead, ProcessHead.version_id == ProcessVersion.id)
                         .where(ProcessHead.process_key == key))
    if row is None:
        raise NotFound(f"no deployed process {key!r}")
    return row


def current_versions(session: Session, keys: set[str]) -> dict[str, int]:
    query = select(ProcessHead.process_key, ProcessVersion.version) \
        .join(ProcessVersion, ProcessHead.version_id == ProcessVersion.id) \
        .where(ProcessHead.process_key.in_(keys))
    return {key: int(version) for key, version in session.execute(query)}


def version_row(session: Session, key: str, version: int) -> ProcessVersion:
    row = session.scalar(select(ProcessVersion).where(ProcessVersion.process_key == key,
                                                      ProcessVersion.version == version))
    if row is None:
        raise NotFound(f"no deployed process {key!r} version {version}")
    return row


def make_current(session: Session, row: ProcessVersion, actor: str, now: datetime, action: str) -> int | None:
    """Point the process at `row`, record it, and return the version that was current before."""
    head = session.get(ProcessHead, row.process_key, with_for_update=True)
    before: int | None = None
    if head is None:
        session.add(ProcessHead(process_key=row.process_key, version_id=row.id, updated_at=now,
                                updated_by=actor))
    else:
        previous = session.get(ProcessVersion, head.version_id)
        before = previous.version if previous is not None else None
        head.version_id, head.updated_at, head.updated_by = row.id, now, actor
    record(session, row, action, actor, now, before)
    return before


def note_groups(session: Session, model: ProcessModel, file: str) -> list[dict[str, str | None]]:
    """Record the candidate groups the process uses (so they are known groups) and warn, as
    `{file, element_id, message}`, about each group no user belongs to: its tasks would wait unseen."""
    used = {el.id: el.candidate_groups for el in model.elements.values() if el.candidate_groups}
    named = {g for gs in used.values() for g in gs}
    groups.record_uses(session, model.id, named)
    empty = set(groups.without_members(session, named))
    return [{"file": file, "element_id": element_id, "message": f"no user is in candidate group {group!r}"}
            for element_id, gs in sorted(used.items()) for group in gs if group in empty]


def record(session: Session, row: ProcessVersion, action: str, actor: str, now: datetime,
           previous: int | None = None) -> None:
    session.add(ProcessChange(process_key=row.process_key, version=row.version, action=action, actor=actor,
                              at=now, previous=previous))
