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
from pathlib import Path

from diagram_group_di import group_di, join_di
from diagram_tidy import BPMN, BPMNDI, compact, compact_lane_rows, compact_rows
from lxml import etree


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
    join_di(root, sub_id, gw_id, flow_id, [ref.text or "" for ref in refs])


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
