"""The diagram interchange side of `diagram_group.py`: a grouped subprocess's shapes move onto its own
plane, with its start and end events drawn, and the collapsed shape takes FIRST's place on the main
plane, the flows into and out of the group meeting it."""

from __future__ import annotations

from copy import deepcopy

from diagram_tidy import BPMN, BPMNDI, DC, DI, PLANE_ORIGIN, TASK_H, TASK_W, _box, _num, _shift_content, _xywh
from lxml import etree

EVENT = 36.0
LABEL_WRAP = 90.0  # bpmn-js wraps an external label at 90 px
STEP = 60.0  # from the inner start event's right side to FIRST, and from LAST to the end event


def _q(tag: str) -> str:
    return f"{{{BPMN}}}{tag}"


def group_di(root: etree._Element, sub_id: str) -> None:
    """Moves the group's shapes onto the subprocess's plane and draws it collapsed where FIRST was."""
    sub = root.find(f".//{{{BPMN}}}subProcess[@id='{sub_id}']")
    assert sub is not None
    main = root.find(f"{{{BPMNDI}}}BPMNDiagram/{{{BPMNDI}}}BPMNPlane")
    assert main is not None
    start, end = sub.find(_q("startEvent")), sub.find(_q("endEvent"))
    assert start is not None and end is not None
    into = _target_flow(sub, start)
    out = sub.find(f"{_q('sequenceFlow')}[@targetRef='{end.get('id')}']")
    leave = root.find(f".//{_q('sequenceFlow')}[@sourceRef='{sub_id}']")
    assert out is not None and leave is not None
    out_edge = _edge_of(main, out.get("id") or "")
    leave_edge = deepcopy(out_edge)
    leave_edge.set("id", f"{leave.get('id')}_di")
    leave_edge.set("bpmnElement", leave.get("id") or "")
    for label in leave_edge.findall(f"{{{BPMNDI}}}BPMNLabel"):
        leave_edge.remove(label)
    main.append(leave_edge)
    inner = {el.get("id") for el in sub.iter() if el is not sub and el.get("id")}
    diagram = etree.SubElement(root, f"{{{BPMNDI}}}BPMNDiagram", id=f"BPMNDiagram_{sub_id}")
    plane = etree.SubElement(diagram, f"{{{BPMNDI}}}BPMNPlane", id=f"BPMNPlane_{sub_id}", bpmnElement=sub_id)
    for el in list(main):
        if el.get("bpmnElement") in inner:
            plane.append(el)
    fx, fy, _, fh = _xywh(_box(_shape(plane, into.get("targetRef") or "")))
    lx, ly, lw, lh = _xywh(_box(_shape(plane, out.get("sourceRef") or "")))
    sx, sy = fx - STEP - EVENT, fy + fh / 2 - EVENT / 2
    ex, ey = lx + lw + STEP, ly + lh / 2 - EVENT / 2
    _event_shape(plane, start, sx, sy)
    _event_shape(plane, end, ex, ey)
    _edge(plane, into, [(sx + EVENT, sy + EVENT / 2), (fx, sy + EVENT / 2)])
    for point in out_edge.findall(f"{{{DI}}}waypoint"):
        out_edge.remove(point)
    out_edge.insert(0, etree.Element(f"{{{DI}}}waypoint", x=_num(lx + lw), y=_num(ey + EVENT / 2)))
    out_edge.insert(1, etree.Element(f"{{{DI}}}waypoint", x=_num(ex), y=_num(ey + EVENT / 2)))
    label = out_edge.find(f"{{{BPMNDI}}}BPMNLabel/{{{DC}}}Bounds")
    if label is not None:  # above the short last segment
        label.set("x", _num(lx + lw + 4))
        label.set("y", _num(ey + EVENT / 2 - 4 - float(label.get("height") or 0)))
    shapes = list(plane.iter(f"{{{BPMNDI}}}BPMNShape"))
    left = min(_xywh(_box(s))[0] for s in shapes)
    top = min(_xywh(_box(s))[1] for s in shapes)
    _shift_content(plane, PLANE_ORIGIN[0] - left, PLANE_ORIGIN[1] - top)
    _outer_shape(main, sub, leave_edge, (fx, fy + fh / 2 - TASK_H / 2), ly + lh / 2)


def _outer_shape(main: etree._Element, sub: etree._Element, leave_edge: etree._Element,
                 at: tuple[float, float], old_exit_y: float) -> None:
    x, y = at
    sub_id = sub.get("id") or ""
    shape = etree.SubElement(main, f"{{{BPMNDI}}}BPMNShape", id=f"{sub_id}_di", bpmnElement=sub_id,
                             isExpanded="false")
    etree.SubElement(shape, f"{{{DC}}}Bounds", x=_num(x), y=_num(y), width=_num(TASK_W), height=_num(TASK_H))
    cy = y + TASK_H / 2
    for ref in sub.findall(_q("incoming")):
        points = _edge_of(main, ref.text or "").findall(f"{{{DI}}}waypoint")
        end, near = points[-1], points[-2]
        if near.get("x") == end.get("x"):  # arrives from above or below: keep the direction
            end.set("x", _num(x + TASK_W / 2))
            near.set("x", _num(x + TASK_W / 2))
            end.set("y", _num(y if float(near.get("y") or 0) < y else y + TASK_H))
        else:
            near.set("y", _num(cy))
            end.set("x", _num(x))
            end.set("y", _num(cy))
    _leave_route(leave_edge, (x, y), old_exit_y)


def join_di(root: etree._Element, sub_id: str, gw_id: str, flow_id: str, entries: list[str]) -> None:
    main = root.find(f"{{{BPMNDI}}}BPMNDiagram/{{{BPMNDI}}}BPMNPlane")
    assert main is not None
    box = _box(_shape(main, sub_id))
    x, y, w, h = _xywh(box)
    cy, gw, shift = y + h / 2, 50.0, 50.0 + 36.0
    shape = etree.SubElement(main, f"{{{BPMNDI}}}BPMNShape", id=f"{gw_id}_di", bpmnElement=gw_id,
                             isMarkerVisible="true")
    etree.SubElement(shape, f"{{{DC}}}Bounds", x=_num(x), y=_num(cy - gw / 2),
                     width=_num(gw), height=_num(gw))
    label = etree.SubElement(shape, f"{{{BPMNDI}}}BPMNLabel")
    wide = min(12.0 * len(_node_name(root, gw_id)), LABEL_WRAP)
    etree.SubElement(label, f"{{{DC}}}Bounds", x=_num(x + gw / 2 - wide / 2), y=_num(cy - gw / 2 - 18),
                     width=_num(wide), height="14")
    for flow_ref in entries:
        points = _edge_of(main, flow_ref).findall(f"{{{DI}}}waypoint")
        end, near = points[-1], points[-2]
        if near.get("x") == end.get("x"):  # from above or below: onto the diamond's top or bottom
            end.set("x", _num(x + gw / 2))
            near.set("x", _num(x + gw / 2))
            end.set("y", _num(cy - gw / 2 if float(near.get("y") or 0) < cy else cy + gw / 2))
    box.set("x", _num(x + shift))
    join = root.find(f".//{_q('sequenceFlow')}[@id='{flow_id}']")
    assert join is not None
    _edge(main, join, [(x + gw, cy), (x + shift, cy)])
    leave = root.find(f".//{_q('sequenceFlow')}[@sourceRef='{sub_id}']")
    assert leave is not None
    points = _edge_of(main, leave.get("id") or "").findall(f"{{{DI}}}waypoint")
    if points[0].get("x") == points[1].get("x"):
        for point in points[:2]:
            point.set("x", _num(float(point.get("x") or 0) + shift))
    else:
        points[0].set("x", _num(x + shift + w))


def _node_name(root: etree._Element, el_id: str) -> str:
    found = root.find(f".//*[@id='{el_id}']")
    return (found.get("name") or "") if found is not None else ""


def _leave_route(edge: etree._Element, at: tuple[float, float], old_exit_y: float) -> None:
    """The leaving flow's old route, now from the collapsed shape at `at`."""
    x, y = at
    cy = y + TASK_H / 2
    points = edge.findall(f"{{{DI}}}waypoint")
    first, second = points[0], points[1]
    if first.get("x") == second.get("x"):  # left LAST from above or below: keep the direction
        first.set("x", _num(x + TASK_W / 2))
        second.set("x", _num(x + TASK_W / 2))
        first.set("y", _num(y if float(second.get("y") or 0) < y else y + TASK_H))
        return
    if float(first.get("y") or 0) != cy and len(points) == 2:  # a bend down to the old row
        mid = (x + TASK_W + float(second.get("x") or 0)) / 2
        edge.insert(edge.index(second), etree.Element(f"{{{DI}}}waypoint", x=_num(mid), y=_num(cy)))
        edge.insert(edge.index(second), etree.Element(f"{{{DI}}}waypoint", x=_num(mid), y=_num(old_exit_y)))
    elif len(points) > 2:
        second.set("y", _num(cy))
    first.set("x", _num(x + TASK_W))
    first.set("y", _num(cy))


def _target_flow(sub: etree._Element, node: etree._Element) -> etree._Element:
    found = sub.find(f"{_q('sequenceFlow')}[@sourceRef='{node.get('id')}']")
    assert found is not None
    return found


def _shape(plane: etree._Element, el_id: str) -> etree._Element:
    found = plane.find(f"{{{BPMNDI}}}BPMNShape[@bpmnElement='{el_id}']")
    assert found is not None, el_id
    return found


def _edge_of(plane: etree._Element, el_id: str) -> etree._Element:
    found = plane.find(f"{{{BPMNDI}}}BPMNEdge[@bpmnElement='{el_id}']")
    assert found is not None, el_id
    return found


def _event_shape(plane: etree._Element, event: etree._Element, x: float, y: float) -> None:
    el_id = event.get("id") or ""
    shape = etree.SubElement(plane, f"{{{BPMNDI}}}BPMNShape", id=f"{el_id}_di", bpmnElement=el_id)
    etree.SubElement(shape, f"{{{DC}}}Bounds", x=_num(x), y=_num(y), width=_num(EVENT), height=_num(EVENT))
    wide = 12.0 * len(event.get("name") or "")  # a Chinese character at the 11 px label font
    width, height = min(wide, LABEL_WRAP), 14.0 if wide <= LABEL_WRAP else 28.0
    label = etree.SubElement(shape, f"{{{BPMNDI}}}BPMNLabel")
    etree.SubElement(label, f"{{{DC}}}Bounds", x=_num(x + EVENT / 2 - width / 2), y=_num(y + EVENT + 4),
                     width=_num(width), height=_num(height))


def _edge(plane: etree._Element, flow: etree._Element, points: list[tuple[float, float]]) -> None:
    edge = etree.SubElement(plane, f"{{{BPMNDI}}}BPMNEdge", id=f"{flow.get('id')}_di",
                            bpmnElement=flow.get("id") or "")
    _waypoints(edge, points)


def _waypoints(edge: etree._Element, points: list[tuple[float, float]]) -> None:
    for x, y in points:
        etree.SubElement(edge, f"{{{DI}}}waypoint", x=_num(x), y=_num(y))


