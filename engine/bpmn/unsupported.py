"""What a modeler can draw that this engine does not run: refused at deploy, each with the element and
what to draw instead, rather than accepted and then stuck or failing at run time."""

from __future__ import annotations

from typing import Any

from engine.bpmn import links
from engine.bpmn.model import NS

EVENTS = {
    "compensateEventDefinition": "compensation events are not supported (the engine cannot undo a completed "
    "step); model the undoing step as a task on the path that needs it",
    "conditionalEventDefinition": "conditional events are not supported (nothing re-evaluates a condition "
    "when data changes); use an exclusive gateway, or a message the data's owner sends",
}
# SpiffWorkflow would evaluate a property's retrieval expression against each message's payload, which a
# payload without it turns into a failure; Camunda correlates by business key, and so does this engine.
CORRELATION = ("correlation properties are not supported: a message goes to the instance its business key "
               "or instance id names (POST /messages); remove it")


def problems(root: Any) -> list[tuple[str | None, str]]:
    """(element id, message) for each element of the file the engine cannot run."""
    found: list[tuple[str | None, str]] = list(links.unmatched(root))
    for kind, reason in EVENTS.items():
        found.extend((d.getparent().get("id"), reason) for d in root.iterfind(f".//bpmn:{kind}", NS))
    found.extend((p.get("id"), CORRELATION) for p in root.iterfind(".//bpmn:correlationProperty", NS))
    return found
