"""Redraws the diagram interchange of shipped diagrams so each plane fits one screen; the process
semantics (ids, flows, conditions, extension elements) are left untouched.

Two moves, both DI only:
* `collapse`: an expanded embedded subprocess becomes a 100x80 shape on the main plane
  (`isExpanded="false"`) and its content moves, translated, into its own `bpmndi:BPMNDiagram` whose
  plane names the subprocess: how Camunda Modeler 5 stores a collapsed subprocess and what bpmn-js
  drills down into. The x range the subprocess took on the main plane is scaled into the new width.
* `compact`: every vertical corridor of a plane that no shape or label occupies is narrowed to
  `GAP`. The x map is monotone and moves shapes and labels rigidly, so a horizontal or vertical
  segment that missed a shape still misses it and a flow still meets a gateway on its diamond.
* `compact_rows` / `compact_lane_rows`: the same for empty horizontal corridors, on a subprocess's
  plane (no lanes) or on a main plane whose lane edges move with the map (`diagram_group.py --rows`).

    python lint/diagram_tidy.py processes/fault_repair.bpmn --collapse SubProcess_remote SubProcess_onsite
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from lxml import etree

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"
GAP = 36.0
ROW_GAP = 30.0  # rows of a main plane: lanes hold their own margin
LANE_MARGIN = 20.0
POOL_MARGIN = 50.0
TASK_W, TASK_H = 100.0, 80.0
# Where a subprocess's top-left corner lands on its own plane.
PLANE_ORIGIN = (160.0, 80.0)

XMap = Callable[[float], float]


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:.1f}"


def _box(shape: etree._Element) -> etree._Element:
    found = shape.find(f"{{{DC}}}Bounds")
    assert found is not None
    return found


def _xywh(bounds: etree._Element) -> tuple[float, float, float, float]:
    return tuple(float(bounds.get(k) or 0) for k in ("x", "y", "width", "height"))  # type: ignore[return-value]


def _shift_content(plane: etree._Element, dx: float, dy: float) -> None:
    for bounds in plane.iter(f"{{{DC}}}Bounds"):
        bounds.set("x", _num(float(bounds.get("x") or 0) + dx))
        bounds.set("y", _num(float(bounds.get("y") or 0) + dy))
    for point in plane.iter(f"{{{DI}}}waypoint"):
        point.set("x", _num(float(point.get("x") or 0) + dx))
        point.set("y", _num(float(point.get("y") or 0) + dy))


def _piecewise(stops: list[tuple[float, float]]) -> XMap:
    """The monotone map through (old, new) `stops`, linear between them, shifted beyond the ends."""
    def xmap(x: float) -> float:
        if x <= stops[0][0]:
            return x + stops[0][1] - stops[0][0]
        for (a, fa), (b, fb) in zip(stops, stops[1:], strict=False):
            if x <= b:
                return fa + (x - a) * (fb - fa) / (b - a) if b > a else fb
        return x + stops[-1][1] - stops[-1][0]
    return xmap


def _occupied(plane: etree._Element) -> list[tuple[float, float]]:
    """The x ranges of flow-node shapes and labels (pools and lanes span the plane and do not count)."""
    spans = []
    for shape in plane.iter(f"{{{BPMNDI}}}BPMNShape"):
        if shape.get("isHorizontal") is not None:
            continue  # participant or lane
        x, _, w, _ = _xywh(_box(shape))
        spans.append((x, x + w))
    for label in plane.iter(f"{{{BPMNDI}}}BPMNLabel"):
        bounds = label.find(f"{{{DC}}}Bounds")
        if bounds is not None:
            x, _, w, _ = _xywh(bounds)
            spans.append((x, x + w))
    return sorted(spans)


def compact(plane: etree._Element, gap: float = GAP) -> None:
    spans = _occupied(plane)
    stops: list[tuple[float, float]] = []
    shift = 0.0
    end = spans[0][1]
    for start, stop in spans[1:]:
        if start - end > gap:
            stops += [(end, end - shift), (start, end - shift + gap)]
            shift += start - end - gap
        end = max(end, stop)
    lanes = [s for s in plane.iter(f"{{{BPMNDI}}}BPMNShape") if s.get("isHorizontal") is not None]
    if stops:
        _move_x_except(plane, _piecewise(stops), {id(s) for s in lanes})
    right = max(stop for _, stop in _occupied(plane)) + POOL_MARGIN
    for shape in lanes:
        # pools and lanes keep their left edge and end a margin after the last shape
        _box(shape).set("width", _num(right - _xywh(_box(shape))[0]))


def _move_x_except(plane: etree._Element, xmap: XMap, skip: set[int]) -> None:
    for el in plane.iter(f"{{{BPMNDI}}}BPMNShape", f"{{{BPMNDI}}}BPMNEdge"):
        if id(el) in skip:
            continue
        for bounds in el.iter(f"{{{DC}}}Bounds"):
            bounds.set("x", _num(xmap(_xywh(bounds)[0])))
    for point in plane.iter(f"{{{DI}}}waypoint"):
        point.set("x", _num(xmap(float(point.get("x") or 0))))


def _descendant_ids(sub: etree._Element) -> set[str]:
    return {el.get("id") or "" for el in sub.iter()
            if el is not sub and isinstance(el.tag, str) and el.get("id")}


def _reroute_ends(plane: etree._Element, sub: etree._Element, box: tuple[float, float, float, float]) -> None:
    """Flows into and out of the collapsed shape meet it at the middle of its left and right sides."""
    root = sub.getroottree().getroot()
    x, y, w, h = box
    cy = y + h / 2
    for flow in root.iter(f"{{{BPMN}}}sequenceFlow"):
        edge = plane.find(f"{{{BPMNDI}}}BPMNEdge[@bpmnElement='{flow.get('id')}']")
        if edge is None:
            continue
        points = edge.findall(f"{{{DI}}}waypoint")
        for end, ref, ex in ((-1, "targetRef", x), (0, "sourceRef", x + w)):
            if flow.get(ref) != sub.get("id"):
                continue
            near = points[-2] if end == -1 else points[1]
            if near.get("y") == points[end].get("y") and len(points) > 2:
                near.set("y", _num(cy))
            points[end].set("x", _num(ex))
            points[end].set("y", _num(cy))


def collapse(root: etree._Element, sub_id: str, row_y: float) -> None:
    """Draws subprocess `sub_id` collapsed with its top at `row_y` and its content on its own plane."""
    sub = root.find(f".//{{{BPMN}}}subProcess[@id='{sub_id}']")
    assert sub is not None, sub_id
    main = root.find(f"{{{BPMNDI}}}BPMNDiagram/{{{BPMNDI}}}BPMNPlane")
    assert main is not None
    shape = main.find(f"{{{BPMNDI}}}BPMNShape[@bpmnElement='{sub_id}']")
    assert shape is not None
    sx, sy, sw, _ = _xywh(_box(shape))
    inner = _descendant_ids(sub)
    diagram = etree.SubElement(root, f"{{{BPMNDI}}}BPMNDiagram", id=f"BPMNDiagram_{sub_id}")
    plane = etree.SubElement(diagram, f"{{{BPMNDI}}}BPMNPlane", id=f"BPMNPlane_{sub_id}", bpmnElement=sub_id)
    for el in list(main):
        if el.get("bpmnElement") in inner:
            plane.append(el)
    _shift_content(plane, PLANE_ORIGIN[0] - sx, PLANE_ORIGIN[1] - sy)
    crowded = [s.get("bpmnElement") for s in main.iter(f"{{{BPMNDI}}}BPMNShape")
               if s is not shape and s.get("isHorizontal") is None
               and sx < _xywh(_box(s))[0] + _xywh(_box(s))[2] and _xywh(_box(s))[0] < sx + sw]
    assert not crowded, f"{sub_id} shares its x range with {crowded}"
    shape.set("isExpanded", "false")
    box = _box(shape)
    box.set("y", _num(row_y))
    box.set("width", _num(TASK_W))
    box.set("height", _num(TASK_H))
    _move_x_except(main, _piecewise([(sx, sx), (sx + sw, sx + TASK_W)]), {id(shape)})
    _reroute_ends(main, sub, (sx, row_y, TASK_W, TASK_H))


def _transpose(plane: etree._Element) -> None:
    for bounds in plane.iter(f"{{{DC}}}Bounds"):
        x, y, w, h = (bounds.get(k) for k in ("x", "y", "width", "height"))
        bounds.set("x", y or "0")
        bounds.set("y", x or "0")
        bounds.set("width", h or "0")
        bounds.set("height", w or "0")
    for point in plane.iter(f"{{{DI}}}waypoint"):
        x, y = point.get("x"), point.get("y")
        point.set("x", y or "0")
        point.set("y", x or "0")


def compact_rows(plane: etree._Element) -> None:
    """Narrows the empty horizontal corridors of a plane without lanes: the rows the lanes had kept
    apart on the main plane."""
    _transpose(plane)
    compact(plane)
    _transpose(plane)


def _lane_spans(plane: etree._Element) -> list[tuple[float, float]]:
    """What a pool keeps of its rows: a margin each side of every lane edge, and the height of each
    lane's vertical name (12 px a character) around its middle. The pool's own name has the whole
    pool beside it."""
    root = plane.getroottree().getroot()
    names = {el.get("id"): el.get("name") or "" for el in root.iter(f"{{{BPMN}}}lane")}
    spans = []
    for shape in plane.iter(f"{{{BPMNDI}}}BPMNShape"):
        if shape.get("isHorizontal") is None:
            continue
        _, y, _, h = _xywh(_box(shape))
        spans += [(y - LANE_MARGIN, y + LANE_MARGIN), (y + h - LANE_MARGIN, y + h + LANE_MARGIN)]
        name = names.get(shape.get("bpmnElement"))
        if name is None:
            continue
        need = 12.0 * len(name) + 2 * LANE_MARGIN
        spans.append((y + h / 2 - need / 2, y + h / 2 + need / 2))
    return spans


def compact_lane_rows(plane: etree._Element) -> None:
    """Narrows the empty rows of a plane with lanes to ROW_GAP; lane edges move with the map, so a
    lane keeps what it holds, LANE_MARGIN clear of each edge."""
    lane_spans = _lane_spans(plane)
    _transpose(plane)
    spans = sorted(_occupied(plane) + lane_spans)
    stops: list[tuple[float, float]] = []
    shift, end = 0.0, spans[0][1]
    for start, stop in spans[1:]:
        if start - end > ROW_GAP:
            stops += [(end, end - shift), (start, end - shift + ROW_GAP)]
            shift += start - end - ROW_GAP
        end = max(end, stop)
    ymap = _piecewise(stops) if stops else (lambda v: v)
    lanes = [sh for sh in plane.iter(f"{{{BPMNDI}}}BPMNShape") if sh.get("isHorizontal") is not None]
    _move_x_except(plane, ymap, {id(sh) for sh in lanes})
    for shape in lanes:
        box = _box(shape)
        x, _, w, _ = _xywh(box)
        box.set("x", _num(ymap(x)))
        box.set("width", _num(ymap(x + w) - ymap(x)))
    _transpose(plane)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", type=Path)
    parser.add_argument("--collapse", nargs="*", default=[], metavar="SUBPROCESS[@Y]",
                        help="subprocess id, optionally @ the y of its collapsed shape's top")
    args = parser.parse_args()
    tree = etree.parse(str(args.path))
    root = tree.getroot()
    for spec in args.collapse:
        sub_id, _, y = spec.partition("@")
        collapse(root, sub_id, float(y) if y else 0.0)
    for plane in root.iter(f"{{{BPMNDI}}}BPMNPlane"):
        compact(plane)
    etree.indent(tree, space="  ")
    tree.write(str(args.path), xml_declaration=True, encoding="UTF-8")


if __name__ == "__main__":
    main()
