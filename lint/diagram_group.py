"""Groups a run of steps with one way in and one way out into a collapsed embedded subprocess.

Unlike `diagram_tidy.py` this changes the process: the steps from `FIRST` to `LAST` (everything
reachable from `FIRST` without leaving through `LAST`) move into a new `bpmn:subProcess` with a start
event before `FIRST` and an end event after `LAST`. Every element keeps its id; the flows into `FIRST`
from outside now enter the subprocess, the one flow out of `LAST` keeps its id and condition and ends
at the inner end event, and a new flow leaves the subprocess for where it went. The moved nodes keep
their lanes (a lane is a role, which the task tests check), the subprocess and its events join
`FIRST`'s; their shapes move onto the subprocess's own plane, as `diagram_tidy.collapse` draws one.

    cd lint && python diagram_group.py ../processes/fault_repair.bpmn \
        SubProcess_close,结案归档,Task_fill_report,Task_archive

(one SUB_ID,NAME,FIRST,LAST per group, applied in order; then every plane is compacted as by
`diagram_tidy.py`, and each new plane's empty rows are narrowed too).
"""

from __future__ import annotations

import argparse
from copy import deepcopy
from pathlib import Path

from diagram_tidy import (
    BPMN,
    BPMNDI,
    DC,
    DI,
    PLANE_ORIGIN,
    TASK_H,
    TASK_W,
    _box,
    _num,
    _shift_content,
    _xywh,
    compact,
    compact_lane_rows,
    compact_rows,
)
from lxml import etree

EVENT = 36.0
LABEL_WRAP = 90.0  # bpmn-js wraps an external label at 90 px
STEP = 60.0  # from the inner start event's right side to FIRST, and from LAST to the end event


def _q(tag: str) -> str:
    return f"{{{BPMN}}}{tag}"


def members(process: etree._Element, first: str, last: str) -> set[str]:
    flows = list(process.findall(_q("sequenceFlow")))
    attached = {b.get("attachedToRef"): b.get("id") for b in process.findall(_q("boundaryEvent"))}
    found, todo = set(), [first]
    while todo:
        node = todo.pop()
        if node in found:
            continue
        found.add(node)
        if node in attached:
            todo.append(attached[node])
        if node != last:
            todo += [f.get("targetRef") for f in flows if f.get("sourceRef") == node]
    return found


def _check(process: etree._Element, inside: set[str], first: str, last: str) -> etree._Element:
    flows = process.findall(_q("sequenceFlow"))
    entering = [f for f in flows if f.get("targetRef") in inside and f.get("sourceRef") not in inside]
    leaving = [f for f in flows if f.get("sourceRef") in inside and f.get("targetRef") not in inside]
    wrong_in = [f.get("id") for f in entering if f.get("targetRef") != first]
    assert not wrong_in and entering, f"flows enter the group elsewhere than {first}: {wrong_in}"
    assert len(leaving) == 1 and leaving[0].get("sourceRef") == last, \
        f"the group must leave once, from {last}: {[f.get('id') for f in leaving]}"
    return leaving[0]


def _node(process: etree._Element, node_id: str) -> etree._Element:
    found = process.find(f"*[@id='{node_id}']")
    assert found is not None, node_id
    return found


def _set_ref(node: etree._Element, kind: str, old: str | None, new: str) -> None:
    for ref in node.findall(_q(kind)):
        if ref.text == old:
            ref.text = new
            return
    etree.SubElement(node, _q(kind)).text = new
    _order_refs(node)


def _order_refs(node: etree._Element) -> None:
    """incoming, then outgoing, right after documentation and extensionElements, as the schema orders."""
    refs = node.findall(_q("incoming")) + node.findall(_q("outgoing"))
    for ref in refs:
        node.remove(ref)
    at = len([c for c in node if etree.QName(c).localname in ("documentation", "extensionElements")])
    for i, ref in enumerate(refs):
        node.insert(at + i, ref)


def _flow(parent: etree._Element, flow_id: str, source: str, target: str,
          at: int | None = None) -> etree._Element:
    flow = etree.Element(_q("sequenceFlow"), id=flow_id, sourceRef=source, targetRef=target)
    if at is None:
        parent.append(flow)
    else:
        parent.insert(at, flow)
    return flow


def group_process(root: etree._Element, sub_id: str, name: str, first: str, last: str) -> None:
    first_el = root.find(f".//{{{BPMN}}}process/*[@id='{first}']")
    assert first_el is not None, first
    process = first_el.getparent()
    inside = members(process, first, last)
    out = _check(process, inside, first, last)
    stem = sub_id.removeprefix("SubProcess_")
    start_id, end_id = f"StartEvent_{stem}", f"EndEvent_{stem}"
    sub = etree.Element(_q("subProcess"), id=sub_id, name=name)
    process.insert(list(process).index(first_el), sub)
    etree.SubElement(sub, _q("startEvent"), id=start_id, name=f"{name}开始")
    for el in list(process):
        if el.get("id") in inside:
            sub.append(el)
    end = etree.SubElement(sub, _q("endEvent"), id=end_id, name=f"{name}完成")
    outer_target = out.get("targetRef") or ""
    entering = set()
    for flow in process.findall(_q("sequenceFlow")):
        if flow.get("targetRef") == first and flow.get("sourceRef") not in inside:
            entering.add(flow.get("id"))
            flow.set("targetRef", sub_id)
            etree.SubElement(sub, _q("incoming")).text = flow.get("id")
        elif flow.get("sourceRef") in inside and flow.get("targetRef") in inside:
            sub.append(flow)
    _flow(sub, f"Flow_{stem}_start", start_id, first, at=1)
    _set_ref(_node(sub, start_id), "outgoing", None, f"Flow_{stem}_start")
    incoming_first = _node(sub, first)
    for ref in incoming_first.findall(_q("incoming")):
        if ref.text in entering:
            incoming_first.remove(ref)
    _set_ref(incoming_first, "incoming", None, f"Flow_{stem}_start")
    sub.append(out)
    out.set("targetRef", end_id)
    _set_ref(end, "incoming", None, out.get("id") or "")
    leave = f"Flow_{stem}_to_{outer_target.split('_', 1)[-1]}"
    _flow(process, leave, sub_id, outer_target, at=list(process).index(sub) + 1)
    etree.SubElement(sub, _q("outgoing")).text = leave
    _set_ref(_node(process, outer_target), "incoming", out.get("id"), leave)
    _order_refs(sub)
    _move_lanes(process, inside, sub_id, first)


def _move_lanes(process: etree._Element, inside: set[str], sub_id: str, first: str) -> None:
    """The subprocess joins FIRST's lane; the steps keep theirs (their role), as in SubProcess_remote,
    and the inner start and end events join the subprocess's lane."""
    del inside
    stem = sub_id.removeprefix("SubProcess_")
    for lane in process.iter(_q("lane")):
        refs = lane.findall(_q("flowNodeRef"))
        for ref in refs:
            if ref.text == first:
                at = lane.index(ref)
                for i, added in enumerate((sub_id, f"StartEvent_{stem}", f"EndEvent_{stem}")):
                    new = etree.Element(_q("flowNodeRef"))
                    new.text = added
                    lane.insert(at + i, new)


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


def join_entries(root: etree._Element, sub_id: str) -> None:
    """A subprocess entered by several flows gets an exclusive merge before it (bpmnlint's fake-join):
    the flows end at `Gateway_<stem>_join`, drawn where the subprocess was, which moves right."""
    sub = root.find(f".//{{{BPMN}}}subProcess[@id='{sub_id}']")
    assert sub is not None
    refs = sub.findall(_q("incoming"))
    if len(refs) < 2:
        return
    process = sub.getparent()
    stem = sub_id.removeprefix("SubProcess_")
    gw_id, flow_id = f"Gateway_{stem}_join", f"Flow_{stem}_join"
    gateway = etree.Element(_q("exclusiveGateway"), id=gw_id, name=f"进入{sub.get('name')}")
    process.insert(process.index(sub), gateway)
    for ref in refs:
        flow = _node(process, ref.text or "")
        flow.set("targetRef", gw_id)
        etree.SubElement(gateway, _q("incoming")).text = ref.text
        sub.remove(ref)
    etree.SubElement(gateway, _q("outgoing")).text = flow_id
    _flow(process, flow_id, gw_id, sub_id, at=process.index(sub))
    sub.insert(0, etree.Element(_q("incoming")))
    sub[0].text = flow_id
    _order_refs(sub)
    for lane in process.iter(_q("lane")):
        for ref in lane.findall(_q("flowNodeRef")):
            if ref.text == sub_id:
                lane.insert(lane.index(ref), etree.Element(_q("flowNodeRef")))
                lane[lane.index(ref) - 1].text = gw_id
    _join_di(root, sub_id, gw_id, flow_id, [ref.text or "" for ref in refs])


def _join_di(root: etree._Element, sub_id: str, gw_id: str, flow_id: str, entries: list[str]) -> None:
    main = root.find(f"{{{BPMNDI}}}BPMNDiagram/{{{BPMNDI}}}BPMNPlane")
    assert main is not None
    box = _box(_shape(main, sub_id))
    x, y, w, h = _xywh(box)
    cy, gw, shift = y + h / 2, 50.0, 50.0 + 36.0
    shape = etree.SubElement(main, f"{{{BPMNDI}}}BPMNShape", id=f"{gw_id}_di", bpmnElement=gw_id,
                             isMarkerVisible="true")
    etree.SubElement(shape, f"{{{DC}}}Bounds", x=_num(x), y=_num(cy - gw / 2), width=_num(gw), height=_num(gw))
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", type=Path)
    parser.add_argument("groups", nargs="*", metavar="SUB_ID,NAME,FIRST,LAST")
    parser.add_argument("--rows", action="store_true", help="also narrow the main plane's empty rows")
    args = parser.parse_args()
    tree = etree.parse(str(args.path))
    root = tree.getroot()
    for spec in args.groups:
        sub_id, name, first, last = spec.split(",")
        group_process(root, sub_id, name, first, last)
        group_di(root, sub_id)
        join_entries(root, sub_id)
        plane = root.find(f"{{{BPMNDI}}}BPMNDiagram/{{{BPMNDI}}}BPMNPlane[@bpmnElement='{sub_id}']")
        assert plane is not None
        compact_rows(plane)
    for plane in root.iter(f"{{{BPMNDI}}}BPMNPlane"):
        compact(plane)
    if args.rows:
        main_plane = root.find(f"{{{BPMNDI}}}BPMNDiagram/{{{BPMNDI}}}BPMNPlane")
        assert main_plane is not None
        compact_lane_rows(main_plane)
    etree.indent(tree, space="  ")
    tree.write(str(args.path), xml_declaration=True, encoding="UTF-8")


if __name__ == "__main__":
    main()
