"""Every plane of the shipped diagrams fits one screen, and each element is drawn on the right plane.

A diagram has a main plane (its collaboration) and one plane per collapsed subprocess (a BPMNShape
with `isExpanded="false"`), named by the subprocess, which bpmn-js drills down into. Checked here:
* the scale at which bpmn-js fits a plane into a 1920x1080 window (`canvas.zoom("fit-viewport")`:
  the window over the bounding box of everything drawn, at most 1) is no lower than the plane's floor
  (`bench/diagram_shots.py` renders each plane and prints the scale the browser chose);
* every flow node and sequence flow is drawn once, on the plane of the nearest collapsed subprocess
  holding it, or on the main plane; a collapsed subprocess has a plane of its own;
* an external label (events, gateways, flows) has bounds wide and tall enough for its name at two
  lines of bpmn-js's 11 px label font, wrapped at 90 px.
The flow-through-shape, diamond and two-line checks are in test_diagram_readability.py, per plane.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from .test_diagram_readability import EXTERNAL_LABEL_WIDTH, MAX_LINES, lines_needed, text_width
from .test_diagrams import (
    BPMN,
    BPMN_FILES,
    BPMNDI,
    CONNECTIONS,
    CONTAINERS,
    NS,
    TASKS,
    collapsed,
    flow_nodes,
    localname,
    parse,
)

SCREEN = (1920.0, 1080.0)
TARGET_SCALE = 0.6
# Every plane has TARGET_SCALE: a main plane whose longest path had more steps than one screen holds at
# a readable size had runs of its steps grouped into collapsed subprocesses (lint/diagram_group.py).
FLOORS: dict[tuple[str, str], float] = {}
LINE_HEIGHT = 14.0  # bpmn-js's external label: 11 px font, about 1.2 line height, rounded down by Camunda
# Camunda measures with the real font, this estimate counts 12 px a Chinese character: allow the gap.
WIDTH_SLACK = 0.9

Box = tuple[float, float, float, float]


def drawn_box(plane: etree._Element) -> Box:
    xs, ys = [], []
    for b in plane.iter("{http://www.omg.org/spec/DD/20100524/DC}Bounds"):
        x, y, w, h = (float(b.get(k)) for k in ("x", "y", "width", "height"))
        xs += [x, x + w]
        ys += [y, y + h]
    for p in plane.iter("{http://www.omg.org/spec/DD/20100524/DI}waypoint"):
        xs.append(float(p.get("x")))
        ys.append(float(p.get("y")))
    return min(xs), min(ys), max(xs), max(ys)


def fit_scale(box: Box, screen: tuple[float, float] = SCREEN) -> float:
    width, height = box[2] - box[0], box[3] - box[1]
    return min(1.0, screen[0] / width, screen[1] / height)


def planes(root: etree._Element) -> list[etree._Element]:
    return list(root.iter(f"{{{BPMNDI}}}BPMNPlane"))


@pytest.mark.parametrize("path", BPMN_FILES, ids=lambda p: p.name)
def test_every_plane_fits_one_screen(path: Path) -> None:
    root = parse(path).getroot()
    problems = []
    for plane in planes(root):
        floor = FLOORS.get((path.stem, plane.get("bpmnElement")), TARGET_SCALE)
        box = drawn_box(plane)
        scale = fit_scale(box)
        if scale < floor:
            problems.append(f"{plane.get('bpmnElement')} is {box[2] - box[0]:.0f}x{box[3] - box[1]:.0f}: "
                            f"fits {SCREEN[0]:.0f}x{SCREEN[1]:.0f} at {scale:.2f} < {floor}")
    assert not problems, "\n".join(problems)


def expected_plane(el: etree._Element, main: str, folded: set[str]) -> str:
    parent = el.getparent()
    while parent is not None and localname(parent) != "process":
        if localname(parent) in CONTAINERS and parent.get("id") in folded:
            return parent.get("id")
        parent = parent.getparent()
    return main


@pytest.mark.parametrize("path", BPMN_FILES, ids=lambda p: p.name)
def test_each_element_is_drawn_once_on_its_plane(path: Path) -> None:
    root = parse(path).getroot()
    main = root.find("bpmn:collaboration", NS).get("id")
    folded = collapsed(root)
    drawn: dict[str, list[str]] = {}
    for plane in planes(root):
        for di in plane:
            drawn.setdefault(di.get("bpmnElement"), []).append(plane.get("bpmnElement"))
    shown = {p.get("bpmnElement") for p in planes(root)}
    assert shown == {main} | folded, "one plane per collapsed subprocess"
    problems = []
    for el in [*flow_nodes(root), *root.iter(*(f"{{{BPMN}}}{c}" for c in CONNECTIONS))]:
        want = expected_plane(el, main, folded)
        if drawn.get(el.get("id")) != [want]:
            problems.append(f"{el.get('id')} drawn on {drawn.get(el.get('id'))}, expected [{want}]")
    assert not problems, "\n".join(problems)


def label_problem(name: str, bounds: etree._Element) -> str | None:
    width, height = float(bounds.get("width")), float(bounds.get("height"))
    lines = lines_needed(name, EXTERNAL_LABEL_WIDTH)
    if lines > MAX_LINES:
        return f"needs {lines} lines"
    need_width = min(text_width(name), EXTERNAL_LABEL_WIDTH) * WIDTH_SLACK
    if width < need_width or height < lines * LINE_HEIGHT:
        return f"label {width:.0f}x{height:.0f} is smaller than {need_width:.0f}x{lines * LINE_HEIGHT:.0f}"
    return None


@pytest.mark.parametrize("path", BPMN_FILES, ids=lambda p: p.name)
def test_external_labels_are_big_enough_for_their_names(path: Path) -> None:
    root = parse(path).getroot()
    named = {el.get("id"): el for el in root.iter(f"{{{BPMN}}}*") if el.get("id") and el.get("name")
             and localname(el) not in (*TASKS, *CONTAINERS, "participant", "lane", "process")}
    problems = []
    for di in root.iter(f"{{{BPMNDI}}}BPMNShape", f"{{{BPMNDI}}}BPMNEdge"):
        el = named.get(di.get("bpmnElement"))
        if el is None:
            continue
        bounds = di.find("bpmndi:BPMNLabel/dc:Bounds", NS)
        problem = "has no label bounds" if bounds is None else label_problem(el.get("name"), bounds)
        if problem:
            problems.append(f"{el.get('id')} {el.get('name')!r} {problem}")
    assert not problems, "\n".join(problems)


def test_the_checks_catch_what_they_claim() -> None:
    assert fit_scale((0, 0, 3200, 1000)) == pytest.approx(0.6)
    assert fit_scale((0, 0, 100, 100)) == 1.0
    assert fit_scale((0, 0, 1000, 2160)) == pytest.approx(0.5)
    label = etree.fromstring('<b width="84" height="28"/>')
    assert label_problem("有异议，协商修改", label) is None
    assert label_problem("有异议，协商修改" * 2, label) == "needs 3 lines"
    assert label_problem("客户同意？", etree.fromstring('<b width="30" height="14"/>'))
    assert label_problem("有异议，协商修改", etree.fromstring('<b width="84" height="14"/>'))
