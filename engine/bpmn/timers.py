"""Reading SpiffWorkflow's timer deadlines (stored as ISO strings in the task's internal data)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition


def _parse(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def timer_due(task: Any) -> datetime | None:
    definition = getattr(task.task_spec, "event_definition", None)
    if not isinstance(definition, TimerEventDefinition):
        return None
    value = task.internal_data.get("event_value")
    if value is None:
        return None
    if isinstance(value, dict):
        return _parse(value["next"]) if value.get("cycles", 0) != 0 else None
    text = str(value)
    if text.upper().startswith("P"):
        return None  # an unevaluated duration; SpiffWorkflow turns it into a date on first refresh
    return _parse(text)
