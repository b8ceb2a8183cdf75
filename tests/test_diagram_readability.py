"""The shipped diagrams stay readable in the modeler (issue: BPMN coverage, "diagrams stay readable").

Checked on the diagram interchange of every `processes/*.bpmn`, as bpmn-js draws it:
* no sequence flow runs through a flow-node shape of its plane other than its source and target (the
  containers it runs inside, such as its subprocess, excepted);
* a flow that starts or ends on a gateway does so on a vertex of the diamond, not on a corner of its
  bounding box (bpmn-js draws the diamond, so a bounding-box corner leaves the line in the air);
* no name needs more than two lines: bpmn-js wraps a task's name inside the shape (5 px padding each
  side) and an external label (events, gateways, flows) at 90 px; at the default 12 px font a Chinese
  character is about 12 px wide and a Latin one about 7 px.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from lxml import etree

from .test_diagrams import (
    BPMN,
    BPMN_FILES,
    CONTAINERS,
    GATEWAYS,
    NS,
    TASKS,
    ancestors,
    bounds,
    collapsed,
    edges_by_element,
    flow_nodes,
    localname,
    parse,
    plane_of,
    shapes_by_element,
)

EXTERNAL_LABEL_WIDTH = 90.0
TASK_PADDING = 5.0
MAX_LINES = 2
# A line may graze a shape's outline where it turns next to it; only a real crossing counts.
INSET = 2.0

Box = tuple[float, float, float, float]
Point = tuple[float, float]


def text_width(text: str) -> float:
    return sum(12.0 if ord(ch) > 0x2E80 else 7.0 for ch in text)


def lines_needed(text: str, width: float) -> int:
    """Lines bpmn-js needs for `text` in a box `width` wide: whole characters per line, no hyphens."""
    lines, used = 1, 0.0
    for ch in text:
        w = text_width(ch)
        if used + w > width:
            lines, used = lines + 1, 0.0
        used += w
    return lines


def segment_crosses(p: Point, q: Point, box: Box) -> bool:
    """Whether the segment p-q enters the interior of `box` (shrunk by INSET): Liang-Barsky clipping."""
    x1, y1, x2, y2 = box[0] + INSET, box[1] + INSET, box[2] - INSET, box[3] - INSET
    if x1 >= x2 or y1 >= y2:
        return False
    dx, dy = q[0] - p[0], q[1] - p[1]
    t0, t1 = 0.0, 1.0
    for edge_p, edge_q in ((-dx, p[0] - x1), (dx, x2 - p[0]), (-dy, p[1] - y1), (dy, y2 - p[1])):
        if edge_p == 0:
            if edge_q < 0:
                return False
            continue
        t = edge_q / edge_p
        if edge_p < 0:
            t0 = max(t0, t)
        else:
            t1 = min(t1, t)
        if t0 > t1:
            return False
    return t1 - t0 > 1e-9


def waypoints(edge: etree._Element) -> list[Point]:
    return [(float(w.get("x")), float(w.get("y"))) for w in edge.findall("di:waypoint", NS)]


@pytest.mark.parametrize("path", BPMN_FILES, ids=lambda p: p.name)
def test_no_flow_runs_through_a_shape(path: Path) -> None:
    root = parse(path).getroot()
    shapes, edges = shapes_by_element(root), edges_by_element(root)
    nodes = {n.get("id"): n for n in flow_nodes(root)}
    planes = plane_of(root)
    problems = []
    for flow in root.iter(f"{{{BPMN}}}sequenceFlow"):
        pts = waypoints(edges[flow.get("id")])
        ends = {flow.get("sourceRef"), flow.get("targetRef")}
        around = set(ancestors(flow))
        for node_id, node in nodes.items():
            if node_id in ends or node_id in around or planes[node_id] != planes[flow.get("id")]:
                continue
            if localname(node) in CONTAINERS and node_id in set().union(*(ancestors(nodes[e]) for e in ends)):
                continue
            box = bounds(shapes[node_id])
            if any(segment_crosses(a, b, box) for a, b in zip(pts, pts[1:], strict=False)):
                problems.append(f"{flow.get('id')} runs through {node_id}")
    assert not problems, "\n".join(problems)


def on_diamond(point: Point, box: Box) -> bool:
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    hw, hh = (box[2] - box[0]) / 2, (box[3] - box[1]) / 2
    return math.isclose(abs(point[0] - cx) / hw + abs(point[1] - cy) / hh, 1.0, abs_tol=0.08)


@pytest.mark.parametrize("path", BPMN_FILES, ids=lambda p: p.name)
def test_flows_meet_gateways_on_the_diamond(path: Path) -> None:
    root = parse(path).getroot()
    shapes, edges = shapes_by_element(root), edges_by_element(root)
    gateways = {n.get("id") for n in flow_nodes(root) if localname(n) in GATEWAYS}
    problems = []
    for flow in root.iter(f"{{{BPMN}}}sequenceFlow"):
        pts = waypoints(edges[flow.get("id")])
        for end, point in ((flow.get("sourceRef"), pts[0]), (flow.get("targetRef"), pts[-1])):
            if end in gateways and not on_diamond(point, bounds(shapes[end])):
                problems.append(f"{flow.get('id')} meets {end} off its diamond at {point}")
    assert not problems, "\n".join(problems)


def label_width(el: etree._Element, shapes: dict[str, etree._Element], folded: set[str]) -> float:
    if (localname(el) in TASKS or el.get("id") in folded) and el.get("id") in shapes:
        x1, _, x2, _ = bounds(shapes[el.get("id")])
        return x2 - x1 - 2 * TASK_PADDING
    return EXTERNAL_LABEL_WIDTH


@pytest.mark.parametrize("path", BPMN_FILES, ids=lambda p: p.name)
def test_names_fit_on_two_lines(path: Path) -> None:
    root = parse(path).getroot()
    shapes, folded = shapes_by_element(root), collapsed(root)
    named = [*flow_nodes(root), *root.iter(f"{{{BPMN}}}sequenceFlow")]
    problems = []
    for el in named:
        name = el.get("name") or ""
        if not name or (localname(el) in CONTAINERS and el.get("id") not in folded):
            continue  # an expanded subprocess writes its name across its top edge
        lines = lines_needed(name, label_width(el, shapes, folded))
        if lines > MAX_LINES:
            problems.append(f"{el.get('id')} {name!r} needs {lines} lines")
    assert not problems, "\n".join(problems)


def test_the_checks_catch_what_they_claim() -> None:
    box = (100.0, 100.0, 200.0, 180.0)
    assert segment_crosses((50, 140), (250, 140), box)
    assert not segment_crosses((50, 90), (250, 90), box)
    assert not segment_crosses((50, 100), (250, 100), box)  # along the outline
    assert segment_crosses((150, 50), (150, 120), box)
    diamond = (0.0, 0.0, 50.0, 50.0)
    assert on_diamond((25, 0), diamond) and on_diamond((50, 25), diamond)
    assert not on_diamond((50, 50), diamond)
    assert lines_needed("客户书面同意远程登录", 90) == 2
    assert lines_needed("一" * 16, 90) == 3
