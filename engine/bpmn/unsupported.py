"""What a modeler can draw that this engine does not run: refused at deploy, each with the element and
what to draw instead, rather than accepted and then stuck or failing at run time."""

from __future__ import annotations

from typing import Any

from engine.bpmn import for_parser, links
from engine.bpmn.model import NS, C
from engine.bpmn.spiff import strip_wrapper

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
# SpiffWorkflow waits for every trigger, but lists the event as waiting for each of them still after one
# arrived, so a second delivery of the same one is taken and changes nothing; Camunda 7 has no such event.
PARALLEL_MULTIPLE = ("parallel multiple events are not supported (Camunda 7 has none); draw one catch event "
                     "per trigger on parallel branches joined by a parallel gateway")

ELEMENTS = {
    "complexGateway": "complex gateways are not supported; use an inclusive gateway with conditions on "
    "its flows",
    "adHocSubProcess": "ad-hoc subprocesses are not supported; use an embedded subprocess, or parallel "
    "tasks between a parallel split and join",
    "intermediateThrowEvent/bpmn:messageEventDefinition": "a message throw event needs an implementation in "
    "Camunda 7 too; send the message from a service task's handler (topic notify or webhook)",
    "endEvent/bpmn:messageEventDefinition": "a message end event needs an implementation in Camunda 7 too; "
    "send the message from a service task's handler before a plain end event",
}


def problems(root: Any) -> list[tuple[str | None, str]]:
    """(element id, message) for each element of the file the engine cannot run."""
    found: list[tuple[str | None, str]] = list(links.unmatched(root))
    for kind, reason in EVENTS.items():
        found.extend((d.getparent().get("id"), reason) for d in root.iterfind(f".//bpmn:{kind}", NS))
    for path, reason in ELEMENTS.items():
        for node in root.iterfind(f".//bpmn:{path}", NS):
            found.append(((node if "/" not in path else node.getparent()).get("id"), reason))
    for node, flows in for_parser.splitting(root):
        if for_parser.conditional(flows):
            found.append((node.get("id"), "conditional flows straight out of an activity or event are not "
                          "supported; draw an inclusive or exclusive gateway after it"))
    for loop in root.iterfind(".//bpmn:multiInstanceLoopCharacteristics", NS):
        collection = loop.get(f"{C}collection")
        if collection is not None and not _variable(collection):
            found.append((loop.getparent().get("id"), f"camunda:collection {collection!r} must name a "
                          "variable holding the list, e.g. ${sites}"))
    found.extend((p.get("id"), CORRELATION) for p in root.iterfind(".//bpmn:correlationProperty", NS))
    found.extend((e.get("id"), PARALLEL_MULTIPLE) for e in root.iterfind(".//*[@parallelMultiple='true']"))
    return found


def unparseable(root: Any) -> bool:
    """SpiffWorkflow's parser fails with a bare KeyError on a business rule task without its
    decision reference; the model check names the task instead."""
    tasks = root.iterfind(".//bpmn:businessRuleTask", NS)
    return any(t.get(f"{C}decisionRef") is None for t in tasks)


def _variable(text: str) -> str | None:
    """The variable a `camunda:collection` names (`${sites}` or `sites`), or None for other code."""
    name = strip_wrapper(text)
    return name if name.isidentifier() else None
