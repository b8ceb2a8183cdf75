"""What the engine reads from a diagram beyond SpiffWorkflow's spec: names, lanes, forms, candidate
groups, assignees, topics, `camunda:properties`, scheduled starts. Read once per definition version."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from lxml import etree

from engine.bpmn.forms import FormField, payload_fields

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
NS = {"bpmn": BPMN, "camunda": CAMUNDA}
C = f"{{{CAMUNDA}}}"

FLOW_NODES = (
    "userTask",
    "serviceTask",
    "scriptTask",
    "businessRuleTask",
    "task",
    "manualTask",
    "sendTask",
    "receiveTask",
    "callActivity",
    "subProcess",
    "startEvent",
    "endEvent",
    "intermediateCatchEvent",
    "intermediateThrowEvent",
    "boundaryEvent",
    "exclusiveGateway",
    "parallelGateway",
    "inclusiveGateway",
    "eventBasedGateway",
    "transaction",
)


@dataclass
class Element:
    id: str
    kind: str
    name: str
    properties: dict[str, str] = field(default_factory=dict)
    form: list[FormField] = field(default_factory=list)
    payload: list[FormField] = field(default_factory=list)
    candidate_groups: list[str] = field(default_factory=list)
    # `${name}` entries of candidateGroups: the group is the task's data `name` (an escalation's group)
    group_variables: list[str] = field(default_factory=list)
    assignee: str | None = None
    topic: str | None = None
    decision_ref: str | None = None
    called_element: str | None = None
    lane: str | None = None
    line: int | None = None
    timer: tuple[str, str] | None = None  # (timeDate|timeDuration|timeCycle, its text)


@dataclass
class ProcessModel:
    id: str
    name: str
    elements: dict[str, Element]
    start_element: str | None
    start_timer: str | None
    # `camunda:properties` of the process itself: `sla.step_limit` (engine.sla.steps)
    properties: dict[str, str] = field(default_factory=dict)

    @property
    def start_form(self) -> list[FormField]:
        if self.start_element is None:
            return []
        return self.elements[self.start_element].form

    def sla_clock_names(self) -> set[str]:
        names: set[str] = set()
        for el in self.elements.values():
            for key in ("sla.start", "sla.start_on_complete", "sla.stop", "sla.pause", "sla.hand_over",
                        "sla.stop_on_claim", "sla.restart"):
                names.update(split_names(el.properties.get(key)))
            for key in ("sla.stop_if", "sla.notify", "sla.due_before", "sla.start_if", "sla.start_from",
                        "sla.stop_at"):
                names.update(clock for clock, _ in split_pairs(el.properties.get(key)))
        names.update(split_names(self.properties.get("sla.step_limit")))
        return names


def split_names(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def split_pairs(value: str | None) -> list[tuple[str, str]]:
    """`sla.stop_if`: `clock=field, ...`, a clock stopped only when the completion gave the field.
    An entry without `=` comes back with an empty field, for the deploy check to name."""
    pairs = []
    for part in split_names(value):
        clock, _, field = part.partition("=")
        pairs.append((clock.strip(), field.strip()))
    return pairs


def _max_length(config: str | None) -> int | None:
    """A malformed `maxlength` is kept as -1 so that validation can refuse the diagram."""
    if config is None:
        return None
    text = config.strip()
    return int(text) if text.isdigit() and int(text) > 0 else -1


def _form(node: etree._Element) -> list[FormField]:
    fields = []
    for f in node.iterfind("bpmn:extensionElements/camunda:formData/camunda:formField", NS):
        constraints = {c.get("name"): c.get("config")
                       for c in f.iterfind("camunda:validation/camunda:constraint", NS)}
        values = list(f.iterfind("camunda:value", NS))
        fields.append(
            FormField(
                id=f.get("id", ""),
                label=f.get("label") or f.get("id", ""),
                type=f.get("type") or "string",
                required="required" in constraints,
                enum=[v.get("id", "") for v in values],
                enum_labels={v.get("id", ""): v.get("name") or "" for v in values},
                default=f.get("defaultValue"),
                max_length=_max_length(constraints.get("maxlength", None)),
                not_before=constraints.get("not_before"),
                not_in_future="not_in_future" in constraints,
                with_time=any(p.get("id") == "time" and p.get("value") == "true"
                              for p in f.iterfind("camunda:properties/camunda:property", NS)),
            )
        )
    return fields


def _properties(node: etree._Element) -> dict[str, str]:
    path = "bpmn:extensionElements/camunda:properties/camunda:property"
    return {p.get("name", ""): p.get("value", "") for p in node.iterfind(path, NS)}


def _timer(node: etree._Element) -> tuple[str, str] | None:
    for child in node.iterfind("bpmn:timerEventDefinition/*", NS):
        if isinstance(child.tag, str):
            return etree.QName(child).localname, (child.text or "").strip()
    return None


def groups_for(element: Element, data: Mapping[str, object]) -> list[str]:
    """A task's candidate groups: those the diagram names, and those its `${name}` entries read."""
    named = [data.get(var) for var in element.group_variables]
    return list(element.candidate_groups) + [str(g) for g in named if g]


def _split_groups(groups: str | None) -> list[str]:
    return [g.strip() for g in (groups or "").split(",") if g.strip()]


def _is_variable(group: str) -> bool:
    return group.startswith("${") and group.endswith("}")


def _element(node: etree._Element, lanes: dict[str, str]) -> Element:
    kind = etree.QName(node).localname
    groups = node.get(f"{C}candidateGroups")
    properties, form = _properties(node), _form(node)
    return Element(
        id=node.get("id", ""),
        kind=kind,
        name=node.get("name") or node.get("id", ""),
        properties=properties,
        form=form,
        # A catch event may declare its message payload as a form (XML) or as properties (Modeler).
        payload=form or payload_fields(properties),
        candidate_groups=[g for g in _split_groups(groups) if not _is_variable(g)],
        group_variables=[g[2:-1].strip() for g in _split_groups(groups) if _is_variable(g)],
        assignee=node.get(f"{C}assignee"),
        topic=node.get(f"{C}topic"),
        decision_ref=node.get(f"{C}decisionRef"),
        called_element=node.get("calledElement"),
        lane=lanes.get(node.get("id", "")),
        line=node.sourceline,
        timer=_timer(node),
    )


def read_process(process: etree._Element) -> ProcessModel:
    lanes = {
        ref.text.strip(): lane.get("name") or lane.get("id", "")
        for lane in process.iterfind(".//bpmn:lane", NS)
        for ref in lane.iterfind("bpmn:flowNodeRef", NS)
        if ref.text
    }
    elements: dict[str, Element] = {}
    for kind in FLOW_NODES:
        for node in process.iterfind(f".//bpmn:{kind}", NS):
            elements[node.get("id", "")] = _element(node, lanes)
    starts = process.findall("bpmn:startEvent", NS)
    start = starts[0] if starts else None
    timer = None
    if start is not None:
        for tag in ("timeCycle", "timeDate", "timeDuration"):
            found = start.find(f"bpmn:timerEventDefinition/bpmn:{tag}", NS)
            if found is not None and found.text:
                timer = f"{tag}:{found.text.strip()}"
    return ProcessModel(
        id=process.get("id", ""),
        name=process.get("name") or process.get("id", ""),
        elements=elements,
        start_element=start.get("id") if start is not None else None,
        start_timer=timer,
        properties=_properties(process),
    )


def read_models(root: etree._Element) -> dict[str, ProcessModel]:
    """The executable processes: a pool marked `isExecutable="false"` (a customer drawn as a black box)
    documents the collaboration and is not built, as in Camunda."""
    return {p.get("id", ""): read_process(p) for p in root.iterfind("bpmn:process", NS)
            if p.get("isExecutable", "true").strip().lower() != "false"}
