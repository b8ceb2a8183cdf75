"""Checks on the process diagrams in processes/: schema, diagram interchange, layout, conventions, parsing.

Every `processes/*.bpmn` must:
* validate against the BPMN 2.0 XSD shipped with SpiffWorkflow (Camunda attributes live in another
  namespace and pass through the schema's anyAttribute / extensionElements);
* carry complete DI: a BPMNShape for every participant, lane and flow node (boundary events and the
  inner nodes of subprocesses included), a BPMNEdge with at least two waypoints for every sequence flow,
  message flow and association, starting on its source and ending on its target;
* be laid out cleanly: no two flow-node shapes overlap (a boundary event sits on its host's border; a
  subprocess contains its inner nodes), every flow-node shape lies inside its lane;
* follow the modelling conventions: ASCII ids, a Chinese name on every flow node, a default flow on every
  diverging exclusive/inclusive gateway, candidate groups or an assignee on every user task, exactly one
  top-level start event, `${...}` conditions, known SLA clock names;
* parse with SpiffWorkflow's Camunda parser together with `processes/*.dmn`.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import SpiffWorkflow
from lxml import etree

ROOT = Path(__file__).resolve().parent.parent
PROCESSES = ROOT / "processes"
BPMN_FILES = sorted(PROCESSES.glob("*.bpmn"))
DMN_FILES = sorted(PROCESSES.glob("*.dmn"))
SCHEMA_DIR = Path(SpiffWorkflow.__file__).resolve().parent / "bpmn" / "parser" / "schema"
DMN_SCHEMA_DIR = Path(SpiffWorkflow.__file__).resolve().parent / "dmn" / "parser" / "schema"

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"
CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
NS = {"bpmn": BPMN, "bpmndi": BPMNDI, "dc": DC, "di": DI, "camunda": CAMUNDA}

TASKS = ("task", "userTask", "serviceTask", "scriptTask", "businessRuleTask", "sendTask", "receiveTask",
         "manualTask", "callActivity")
EVENTS = ("startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent")
GATEWAYS = ("exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway", "complexGateway")
CONTAINERS = ("subProcess", "transaction", "adHocSubProcess")
FLOW_NODES = TASKS + EVENTS + GATEWAYS + CONTAINERS
CONNECTIONS = ("sequenceFlow", "messageFlow", "association")

ASCII_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
CJK = re.compile(r"[\u4e00-\u9fff]")
PROCESS_KEYS = {"fault_repair", "incident", "inspection", "complaint"}
SLA_CLOCKS = {
    "response", "remote_response", "workaround", "onsite_arrival", "resolution", "report", "callback",
    "spare_part", "complaint_first_reply", "complaint_resolution", "inspection_notice",
    "emergency_notify_manager", "emergency_team", "emergency_expert_remote", "emergency_expert_group",
    "emergency_locate", "emergency_resolve", "escalation_tier2", "escalation_tier3", "escalation_tier4",
}
FORM_TYPES = {"string", "long", "boolean", "date", "enum"}
TOLERANCE = 1.0


def localname(el: etree._Element) -> str:
    return etree.QName(el).localname


def parse(path: Path) -> etree._ElementTree:
    return etree.parse(str(path))


def flow_nodes(root: etree._Element) -> list[etree._Element]:
    return [el for el in root.iter(f"{{{BPMN}}}*") if localname(el) in FLOW_NODES]


def bounds(shape: etree._Element) -> tuple[float, float, float, float]:
    b = shape.find("dc:Bounds", NS)
    x, y, w, h = (float(b.get(k)) for k in ("x", "y", "width", "height"))
    return x, y, x + w, y + h


def shapes_by_element(root: etree._Element) -> dict[str, etree._Element]:
    return {s.get("bpmnElement"): s for s in root.iter(f"{{{BPMNDI}}}BPMNShape")}


def edges_by_element(root: etree._Element) -> dict[str, etree._Element]:
    return {e.get("bpmnElement"): e for e in root.iter(f"{{{BPMNDI}}}BPMNEdge")}


def plane_of(root: etree._Element) -> dict[str, str]:
    """For each drawn element, the element its plane shows: the collaboration for the main plane, a
    collapsed subprocess for the plane bpmn-js drills down into."""
    return {el.get("bpmnElement"): plane.get("bpmnElement")
            for plane in root.iter(f"{{{BPMNDI}}}BPMNPlane") for el in plane if el.get("bpmnElement")}


def collapsed(root: etree._Element) -> set[str]:
    return {s.get("bpmnElement") for s in root.iter(f"{{{BPMNDI}}}BPMNShape")
            if s.get("isExpanded") == "false"}


def overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def inside(inner, outer, tol: float = TOLERANCE) -> bool:
    return (inner[0] >= outer[0] - tol and inner[1] >= outer[1] - tol
            and inner[2] <= outer[2] + tol and inner[3] <= outer[3] + tol)


def ancestors(el: etree._Element) -> list[str]:
    """Ids of the subprocesses that contain `el`."""
    out = []
    parent = el.getparent()
    while parent is not None and localname(parent) != "process":
        if localname(parent) in CONTAINERS:
            out.append(parent.get("id"))
        parent = parent.getparent()
    return out


def lane_of(root: etree._Element) -> dict[str, str]:
    return {ref.text.strip(): lane.get("id")
            for lane in root.iter(f"{{{BPMN}}}lane")
            for ref in lane.findall("bpmn:flowNodeRef", NS) if ref.text}


@pytest.fixture(scope="module")
def bpmn_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMA_DIR / "BPMN20.xsd")))


def test_the_expected_diagrams_exist() -> None:
    names = {p.stem for p in BPMN_FILES}
    assert PROCESS_KEYS <= names
    assert (PROCESSES / "fault_level.dmn").exists()


# --------------------------------------------------------------------------- schema
@pytest.mark.parametrize("path", BPMN_FILES, ids=lambda p: p.name)
def test_bpmn_validates_against_the_xsd(path: Path, bpmn_schema: etree.XMLSchema) -> None:
    doc = parse(path)
    assert bpmn_schema.validate(doc), "\n".join(str(e) for e in bpmn_schema.error_log)


@pytest.mark.parametrize("path", DMN_FILES, ids=lambda p: p.name)
def test_dmn_validates_against_dmn13_and_has_dmndi(path: Path) -> None:
    schema = etree.XMLSchema(etree.parse(str(DMN_SCHEMA_DIR / "DMN13.xsd")))
    doc = parse(path)
    assert schema.validate(doc), "\n".join(str(e) for e in schema.error_log)
    root = doc.getroot()
    assert etree.QName(root).namespace == "https://www.omg.org/spec/DMN/20191111/MODEL/"
    dmn = {"dmn": etree.QName(root).namespace, "dmndi": "https://www.omg.org/spec/DMN/20191111/DMNDI/"}
    shaped = {s.get("dmnElementRef") for s in root.iterfind(".//dmndi:DMNShape", dmn)}
    for el in root.iterfind("dmn:decision", dmn):
        assert el.get("id") in shaped
    for el in root.iterfind("dmn:inputData", dmn):
        assert el.get("id") in shaped


def test_fault_level_decision_suggests_p1_to_p4() -> None:
    root = parse(PROCESSES / "fault_level.dmn").getroot()
    dmn = {"dmn": etree.QName(root).namespace}
    decision = root.find("dmn:decision[@id='fault_level']", dmn)
    assert decision is not None
    outputs = [o.get("name") for o in decision.iterfind(".//dmn:output", dmn)]
    assert outputs == ["suggested_level"]
    entries = decision.iterfind(".//dmn:outputEntry", dmn)
    results = {e.findtext("dmn:text", namespaces=dmn).strip('"') for e in entries}
    assert results == {"P1", "P2", "P3", "P4"}


@pytest.mark.parametrize(("impact", "outage", "affected", "safety", "expected"), [
    ("none", 0, 0, True, "P1"),          # hazard to personal safety (003 level 1)
    ("total", 5, 1, False, "P1"),        # system down, business lost (000/004 P1)
    ("partial", 300, 40, False, "P1"),   # > 4 h and > 30 % of users (001 major)
    ("partial", 300, 10, False, "P2"),   # part of the business limited
    ("degraded", 0, 0, False, "P3"),     # system still runs
    ("none", 0, 0, False, "P4"),         # information or help, no impact
])
def test_fault_level_rules(impact: str, outage: int, affected: int, safety: bool, expected: str) -> None:
    from types import SimpleNamespace

    from SpiffWorkflow.camunda.parser import CamundaParser

    from engine.bpmn.spiff import WeibaoScriptEngine

    parser = CamundaParser()
    parser.add_dmn_file(str(PROCESSES / "fault_level.dmn"))
    engine = parser.get_engine("fault_level", None)
    data = {"business_impact": impact, "outage_minutes": outage, "affected_percent": affected,
            "safety_hazard": safety}
    task = SimpleNamespace(data=data, workflow=SimpleNamespace(script_engine=WeibaoScriptEngine()))
    assert engine.result(task) == {"suggested_level": expected}


# --------------------------------------------------------------------------- DI completeness
@pytest.mark.parametrize("path", BPMN_FILES, ids=lambda p: p.name)
def test_every_element_has_di(path: Path) -> None:
    root = parse(path).getroot()
    shapes = shapes_by_element(root)
    edges = edges_by_element(root)
    missing = []
    for el in root.iter(f"{{{BPMN}}}participant", f"{{{BPMN}}}lane"):
        if el.get("id") not in shapes:
            missing.append(el.get("id"))
    for el in flow_nodes(root):
        if el.get("id") not in shapes:
            missing.append(el.get("id"))
    assert not missing, f"no BPMNShape for {missing}"
    for el in root.iter(*(f"{{{BPMN}}}{c}" for c in CONNECTIONS)):
        edge = edges.get(el.get("id"))
        assert edge is not None, f"no BPMNEdge for {el.get('id')}"
        assert len(edge.findall("di:waypoint", NS)) >= 2, f"{el.get('id')} has fewer than 2 waypoints"
    for shape in shapes.values():
        assert shape.find("dc:Bounds", NS) is not None


@pytest.mark.parametrize("path", BPMN_FILES, ids=lambda p: p.name)
def test_edges_start_on_their_source_and_end_on_their_target(path: Path) -> None:
    root = parse(path).getroot()
    shapes = shapes_by_element(root)
    edges = edges_by_element(root)
    for flow in root.iter(f"{{{BPMN}}}sequenceFlow"):
        waypoints = edges[flow.get("id")].findall("di:waypoint", NS)
        pts = [(float(w.get("x")), float(w.get("y"))) for w in waypoints]
        src, tgt = bounds(shapes[flow.get("sourceRef")]), bounds(shapes[flow.get("targetRef")])
        assert inside((*pts[0], *pts[0]), src), f"{flow.get('id')} does not start on {flow.get('sourceRef')}"
        assert inside((*pts[-1], *pts[-1]), tgt), f"{flow.get('id')} does not end on {flow.get('targetRef')}"


# --------------------------------------------------------------------------- layout
@pytest.mark.parametrize("path", BPMN_FILES, ids=lambda p: p.name)
def test_flow_node_shapes_do_not_overlap(path: Path) -> None:
    root = parse(path).getroot()
    shapes = shapes_by_element(root)
    nodes = flow_nodes(root)
    planes = plane_of(root)
    info = {n.get("id"): (n, bounds(shapes[n.get("id")]), set(ancestors(n))) for n in nodes}
    problems = []
    ids = list(info)
    for i, a in enumerate(ids):
        el_a, box_a, anc_a = info[a]
        for b in ids[i + 1:]:
            el_b, box_b, anc_b = info[b]
            if planes[a] != planes[b]:
                continue  # a collapsed subprocess and its content are drawn on different planes
            if el_a.get("attachedToRef") == b or el_b.get("attachedToRef") == a:
                continue  # checked below: a boundary event sits on its host's border
            if a in anc_b:
                if not inside(box_b, box_a):
                    problems.append(f"{b} sticks out of its subprocess {a}")
                continue
            if b in anc_a:
                if not inside(box_a, box_b):
                    problems.append(f"{a} sticks out of its subprocess {b}")
                continue
            if overlap(box_a, box_b):
                problems.append(f"{a} overlaps {b}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", BPMN_FILES, ids=lambda p: p.name)
def test_boundary_events_sit_on_their_host_border(path: Path) -> None:
    root = parse(path).getroot()
    shapes = shapes_by_element(root)
    for ev in root.iter(f"{{{BPMN}}}boundaryEvent"):
        x1, y1, x2, y2 = bounds(shapes[ev.get("id")])
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        hx1, hy1, hx2, hy2 = bounds(shapes[ev.get("attachedToRef")])
        on_horizontal = (abs(cy - hy1) <= TOLERANCE or abs(cy - hy2) <= TOLERANCE) and hx1 <= cx <= hx2
        on_vertical = (abs(cx - hx1) <= TOLERANCE or abs(cx - hx2) <= TOLERANCE) and hy1 <= cy <= hy2
        host = ev.get("attachedToRef")
        assert on_horizontal or on_vertical, f"{ev.get('id')} is not on the border of {host}"


@pytest.mark.parametrize("path", BPMN_FILES, ids=lambda p: p.name)
def test_flow_nodes_lie_inside_their_lane(path: Path) -> None:
    """A node lies inside the lane that references it. An expanded subprocess belongs, as in bpmn-js,
    to the lane holding its centre and may span the lanes of its inner nodes; a collapsed one lies in its
    lane like a task, and its content, drawn on the subprocess's own plane, has no lanes drawn."""
    root = parse(path).getroot()
    shapes = shapes_by_element(root)
    planes, folded = plane_of(root), collapsed(root)
    main = root.find("bpmn:collaboration", NS).get("id")
    lanes = lane_of(root)
    lane_box = {lane.get("id"): bounds(shapes[lane.get("id")]) for lane in root.iter(f"{{{BPMN}}}lane")}
    if not lane_box:
        pytest.skip("no lanes")
    problems = []
    for node in flow_nodes(root):
        nid = node.get("id")
        lane = lanes.get(nid)
        if lane is None:
            problems.append(f"{nid} is in no lane")
            continue
        if planes[nid] != main:
            continue
        box = bounds(shapes[nid])
        if localname(node) in CONTAINERS and nid not in folded:
            spanned = [lane_box[lane]] + [lane_box[lanes[d.get("id")]] for d in flow_nodes(node)
                                          if d is not node and d.get("id") in lanes]
            band = (min(b[0] for b in spanned), min(b[1] for b in spanned),
                    max(b[2] for b in spanned), max(b[3] for b in spanned))
            cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
            if not inside(box, band) or not inside((cx, cy, cx, cy), lane_box[lane]):
                problems.append(f"{nid} is not inside the lanes of its content")
        elif not inside(box, lane_box[lane]):
            problems.append(f"{nid} lies outside its lane {lane}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", BPMN_FILES, ids=lambda p: p.name)
def test_lanes_stack_inside_one_pool(path: Path) -> None:
    root = parse(path).getroot()
    shapes = shapes_by_element(root)
    participants = root.findall("bpmn:collaboration/bpmn:participant", NS)
    assert len(participants) == 1
    pool = bounds(shapes[participants[0].get("id")])
    boxes = sorted(bounds(shapes[lane.get("id")]) for lane in root.iter(f"{{{BPMN}}}lane"))
    boxes.sort(key=lambda b: b[1])
    for box in boxes:
        assert inside(box, pool)
    for upper, lower in zip(boxes, boxes[1:], strict=False):
        assert abs(upper[3] - lower[1]) <= TOLERANCE, "lanes must be stacked without gaps"


# --------------------------------------------------------------------------- conventions
@pytest.mark.parametrize("path", BPMN_FILES, ids=lambda p: p.name)
def test_definitions_header_and_process(path: Path) -> None:
    root = parse(path).getroot()
    assert root.get("exporter") == "Camunda Modeler"
    assert root.get("exporterVersion", "").startswith("5.")
    assert root.get("targetNamespace") == "http://weibao.cn/bpmn"
    processes = root.findall("bpmn:process", NS)
    assert len(processes) == 1
    process = processes[0]
    assert process.get("id") == path.stem
    assert process.get("isExecutable") == "true"
    assert CJK.search(process.get("name", ""))
    participant = root.find("bpmn:collaboration/bpmn:participant", NS)
    assert participant.get("processRef") == process.get("id")
    starts = process.findall("bpmn:startEvent", NS)
    assert len(starts) == 1, "exactly one start event per process"


@pytest.mark.parametrize("path", BPMN_FILES, ids=lambda p: p.name)
def test_ids_are_ascii_and_names_are_chinese(path: Path) -> None:
    root = parse(path).getroot()
    bad_ids = [el.get("id") for el in root.iter() if isinstance(el.tag, str) and el.get("id") is not None
               and not ASCII_ID.match(el.get("id"))]
    assert not bad_ids, f"non-ASCII or malformed ids: {bad_ids}"
    unnamed = [n.get("id") for n in flow_nodes(root) if not CJK.search(n.get("name") or "")]
    assert not unnamed, f"flow nodes without a Chinese name: {unnamed}"
    for lane in root.iter(f"{{{BPMN}}}lane"):
        assert CJK.search(lane.get("name") or ""), lane.get("id")
    for field in root.iter(f"{{{CAMUNDA}}}formField"):
        assert ASCII_ID.match(field.get("id", "")), field.get("id")
        assert CJK.search(field.get("label") or ""), field.get("id")
        assert field.get("type") in FORM_TYPES, field.get("id")


@pytest.mark.parametrize("path", BPMN_FILES, ids=lambda p: p.name)
def test_diverging_gateways_have_a_default_flow(path: Path) -> None:
    root = parse(path).getroot()
    flows = {f.get("id"): f for f in root.iter(f"{{{BPMN}}}sequenceFlow")}
    for kind in ("exclusiveGateway", "inclusiveGateway"):
        for gw in root.iter(f"{{{BPMN}}}{kind}"):
            outgoing = [f for f in flows.values() if f.get("sourceRef") == gw.get("id")]
            if len(outgoing) > 1:
                default = gw.get("default")
                assert default, f"{gw.get('id')} has no default flow"
                assert flows[default].get("sourceRef") == gw.get("id")
                for f in outgoing:
                    cond = f.findtext("bpmn:conditionExpression", namespaces=NS)
                    if f.get("id") == default:
                        assert cond is None, f"default flow {f.get('id')} must not carry a condition"
                    else:
                        text = (cond or "").strip()
                        assert text.startswith("${") and text.endswith("}"), f.get("id")


@pytest.mark.parametrize("path", BPMN_FILES, ids=lambda p: p.name)
def test_user_tasks_have_candidate_groups_or_assignee(path: Path) -> None:
    root = parse(path).getroot()
    lanes = lane_of(root)
    for task in root.iter(f"{{{BPMN}}}userTask"):
        groups = task.get(f"{{{CAMUNDA}}}candidateGroups")
        assert groups or task.get(f"{{{CAMUNDA}}}assignee"), task.get("id")
        first = (groups or "").split(",")[0].strip()
        if first.startswith("${"):
            # a group read from the data (an escalation's group, named by its sla_targets row) has the
            # escalation lane
            assert lanes[task.get("id")] == "Lane_sla_escalation", task.get("id")
        elif groups:
            # the lane is the role: the first candidate group names it
            assert lanes[task.get("id")] == f"Lane_{first}", task.get("id")


@pytest.mark.parametrize("path", BPMN_FILES, ids=lambda p: p.name)
def test_service_tasks_timers_and_sla_properties(path: Path) -> None:
    root = parse(path).getroot()
    for task in root.iter(f"{{{BPMN}}}serviceTask"):
        assert task.get(f"{{{CAMUNDA}}}type") == "external", task.get("id")
        assert task.get(f"{{{CAMUNDA}}}topic"), task.get("id")
    for timer in root.iter(f"{{{BPMN}}}timerEventDefinition"):
        exprs = [c for c in timer if isinstance(c.tag, str)]
        assert len(exprs) == 1 and (exprs[0].text or "").strip(), "a timer needs exactly one expression"
    known = SLA_CLOCKS | sla_table_clocks()
    for prop in root.iter(f"{{{CAMUNDA}}}property"):
        if prop.get("name", "").startswith("sla."):
            assert prop.get("name") in ("sla.start", "sla.start_on_complete", "sla.stop", "sla.pause",
                                        "sla.hand_over", "sla.stop_on_claim", "sla.stop_if", "sla.notify",
                                        "sla.due_before", "sla.restart", "sla.step_limit", "sla.start_if",
                                        "sla.start_from", "sla.stop_at")
            names = {n.split("=")[0].strip() for n in prop.get("value", "").split(",") if n.strip()}
            assert names and names <= known, names - known
    refs = {m.get("id") for m in root.iter(f"{{{BPMN}}}message")}
    for med in root.iter(f"{{{BPMN}}}messageEventDefinition"):
        assert med.get("messageRef") in refs


def startable_clocks() -> set[str]:
    """Clock names some shipped diagram starts (on entering an element or on completing it)."""
    names = set()
    for path in BPMN_FILES:
        for prop in parse(path).getroot().iter(f"{{{CAMUNDA}}}property"):
            if prop.get("name") in ("sla.start", "sla.start_on_complete"):
                names.update(n.strip() for n in prop.get("value", "").split(",") if n.strip())
            if prop.get("name") == "sla.step_limit":  # every user task; the levels above, `<name>_2`, ...
                ladder = re.compile(re.escape(prop.get("value", "").strip()) + r"(_[1-9][0-9]*)?")
                names.update(n for n in sla_table_clocks() if ladder.fullmatch(n))
    return names


def test_every_deadline_type_in_the_table_is_armed_by_a_process() -> None:
    # A row no process can start is a promise the product only seems to keep: arm it or remove it.
    table = sla_table_clocks()
    assert table, "sla_targets.dmn names no clocks"
    assert not table - startable_clocks(), sorted(table - startable_clocks())


def sla_table_clocks() -> set[str]:
    """Clock names that have targets in processes/sla_targets.dmn (the `clock` input column)."""
    path = PROCESSES / "sla_targets.dmn"
    if not path.exists():
        return set()
    root = parse(path).getroot()
    dmn = {"dmn": etree.QName(root).namespace}
    inputs = [i.findtext("dmn:inputExpression/dmn:text", namespaces=dmn)
              for i in root.iterfind(".//dmn:input", dmn)]
    if "clock" not in inputs:
        return set()
    column = inputs.index("clock")
    names = set()
    for rule in root.iterfind(".//dmn:rule", dmn):
        entries = rule.findall("dmn:inputEntry", dmn)
        text = (entries[column].findtext("dmn:text", namespaces=dmn) or "").strip()
        names.update(re.findall(r'"([a-z0-9_]+)"', text))
    return names


# --------------------------------------------------------------------------- SpiffWorkflow
def _parser():
    from SpiffWorkflow.camunda.parser import CamundaParser

    return CamundaParser()


@pytest.mark.parametrize("path", BPMN_FILES, ids=lambda p: p.name)
def test_spiffworkflow_camunda_parser_builds_the_spec(path: Path) -> None:
    parser = _parser()
    for other in BPMN_FILES:  # the fault's call activity resolves spare_part from its own file
        parser.add_bpmn_file(str(other))
    for dmn in DMN_FILES:
        parser.add_dmn_file(str(dmn))
    process_id = parse(path).getroot().find("bpmn:process", NS).get("id")
    spec = parser.get_spec(process_id)
    parser.get_subprocess_specs(process_id)
    bpmn_ids = {ts.bpmn_id for ts in spec.task_specs.values() if ts.bpmn_id}
    top_level = {n.get("id") for n in parse(path).getroot().find("bpmn:process", NS)
                 if isinstance(n.tag, str) and localname(n) in FLOW_NODES}
    assert top_level <= bpmn_ids
