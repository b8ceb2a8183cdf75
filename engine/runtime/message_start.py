"""Which instance a message is for, or which process it starts.

As in Camunda, a message goes to the running instance that waits for it (found by instance id or
business key); when none does, the current version of the process whose start event catches that
message is started by it. A message name may start one process only: two would be ambiguous.
"""

from __future__ import annotations

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.actor import Actor
from engine.bpmn.definitions import Definitions, LoadedVersion
from engine.bpmn.spiff import event_definitions
from engine.errors import Conflict, InvalidInput, NotFound
from engine.runtime import commands
from engine.store.models import ProcessHead, ProcessVersion


def starts_on(loaded: LoadedVersion, message: str) -> bool:
    start = loaded.model.start_element
    spec = loaded.spec.task_specs.get(start) if start else None
    return any(isinstance(d, MessageEventDefinition) and d.name == message
               for d in event_definitions(getattr(spec, "event_definition", None)))


def started_by(definitions: Definitions, session: Session, message: str) -> list[int]:
    """The current, not suspended, versions whose start event catches `message`."""
    current = ProcessHead.version_id == ProcessVersion.id
    rows = session.execute(select(ProcessVersion.id).join(ProcessHead, current)
                           .where(ProcessVersion.suspended_at.is_(None))).scalars()
    return [vid for vid in rows if starts_on(definitions.load(session, vid), message)]


def find(definitions: Definitions, session: Session, actor: Actor, message: str, business_key: str | None,
         instance_id: str | None) -> tuple[str | None, int]:
    """(the instance to deliver to, None) or (None, the version id to start)."""
    try:
        return commands.find_instance(session, actor, message, business_key, instance_id), 0
    except (NotFound, InvalidInput) as exc:
        if instance_id:
            raise
        starts = started_by(definitions, session, message)
        if not starts:
            raise exc
    if len(starts) > 1:
        raise Conflict(f"message {message!r} starts {len(starts)} processes; a message may start one only")
    return None, starts[0]
