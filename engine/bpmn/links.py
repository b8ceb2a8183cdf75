"""Link events, as BPMN defines them: a throw link and the catch link of the same name in the same
process (or subprocess) are one sequence flow drawn as two events, used to continue a long diagram
elsewhere on the page. SpiffWorkflow does not join them, so the parser is given the flow they stand for:
the throw event gets an outgoing flow to its catch event, and both pass the token on as plain events.
The stored files and the element model keep the link events as drawn.
"""

from __future__ import annotations

import copy
from typing import Any

from lxml import etree

from engine.bpmn.model import BPMN, NS

SCOPES = ("process", "subProcess", "transaction", "adHocSubProcess")


def q(tag: str) -> str:
    """A BPMN element's qualified tag name."""
    return f"{{{BPMN}}}{tag}"


def _links(scope: Any, kind: str) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    for event in scope.iterfind(f"bpmn:{kind}", NS):
        definition = event.find("bpmn:linkEventDefinition", NS)
        if definition is not None:
            found.setdefault(definition.get("name") or "", []).append(event)
    return found


def unmatched(root: Any) -> list[tuple[str, str]]:
    """(element id, message) for each link event without its partner in its scope."""
    problems: list[tuple[str, str]] = []
    for scope in [s for tag in SCOPES for s in root.iter(q(tag))]:
        throws, catches = _links(scope, "intermediateThrowEvent"), _links(scope, "intermediateCatchEvent")
        for name, events in throws.items():
            if len(catches.get(name, [])) != 1:
                what = "no" if name not in catches else "more than one"
                message = f"link {name!r} has {what} catch link event of that name in its (sub)process"
                problems.extend((e.get("id", ""), message) for e in events)
        for name, events in catches.items():
            if name not in throws:
                problems.extend((e.get("id", ""), f"catch link {name!r} has no throw link event of that name")
                                for e in events)
    return problems


def joined(root: Any) -> Any:
    """A copy of `root` in which each throw link flows into its catch link."""
    if root.find(".//bpmn:linkEventDefinition", NS) is None:
        return root
    root = copy.deepcopy(root)
    for scope in [s for tag in SCOPES for s in root.iter(q(tag))]:
        catches = _links(scope, "intermediateCatchEvent")
        for name, throws in _links(scope, "intermediateThrowEvent").items():
            if len(catches.get(name, [])) == 1:
                for throw in throws:
                    _join(scope, throw, catches[name][0])
        for events in catches.values():
            for catch in events:
                catch.tag = q("intermediateThrowEvent")  # a none event passes the token on
                catch.remove(catch.find("bpmn:linkEventDefinition", NS))
    return root


def _join(scope: Any, throw: Any, catch: Any) -> None:
    flow_id = f"{throw.get('id')}__link"
    throw.remove(throw.find("bpmn:linkEventDefinition", NS))
    etree.SubElement(throw, q("outgoing")).text = flow_id
    etree.SubElement(catch, q("incoming")).text = flow_id
    etree.SubElement(scope, q("sequenceFlow"), id=flow_id, sourceRef=throw.get("id"),
                     targetRef=catch.get("id"))
