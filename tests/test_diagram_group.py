"""lint/diagram_group.py: a run of steps becomes an embedded subprocess only when it has one way in and
one way out, and every element keeps its id, its flows and its drawing (on the subprocess's plane)."""

from __future__ import annotations

import sys
import zipfile

import pytest
from lxml import etree

from .conftest import ROOT
from .test_diagrams import BPMN, BPMNDI

sys.path.insert(0, str(ROOT / "lint"))
from diagram_group import group_process  # noqa: E402
from diagram_group_di import group_di  # noqa: E402


def _load(name: str) -> etree._Element:
    return etree.parse(str(ROOT / "processes" / name)).getroot()


def _flat(bundle: str, name: str) -> etree._Element:
    """A definition from before the grouping, as a saved history pins it."""
    with zipfile.ZipFile(ROOT / "tests" / "data" / "histories" / bundle) as z:
        return etree.fromstring(z.read(f"definitions/{name}"))


def _flows(root: etree._Element) -> dict[str, tuple[str, str]]:
    return {f.get("id"): (f.get("sourceRef"), f.get("targetRef"))
            for f in root.iter(f"{{{BPMN}}}sequenceFlow")}


def test_a_run_with_two_ways_out_is_refused() -> None:
    root = _flat("fault_repair_onsite.zip", "fault_repair.bpmn")
    # solved remotely, or on to on-site support
    with pytest.raises(AssertionError, match="must leave once"):
        group_process(root, "SubProcess_x", "测试", "SubProcess_remote", "Gateway_remote_solved")


def test_a_run_entered_in_its_middle_is_refused() -> None:
    root = _flat("fault_repair_onsite.zip", "fault_repair.bpmn")
    with pytest.raises(AssertionError, match="enter the group elsewhere"):  # the plan loops back to it
        group_process(root, "SubProcess_x", "测试", "Task_draft_solution", "Gateway_customer_agrees")


def test_grouping_keeps_ids_and_draws_the_steps_on_their_own_plane() -> None:
    root = _load("fault_repair.bpmn")
    before = _flows(root)
    group_process(root, "SubProcess_visit", "上门", "Task_prepare_visit", "Task_arrive_onsite")
    group_di(root, "SubProcess_visit")
    sub = root.find(f".//{{{BPMN}}}subProcess[@id='SubProcess_visit']")
    assert sub is not None
    inner = [el.get("id") for el in sub if el.get("id")]
    assert inner[:3] == ["StartEvent_visit", "Flow_visit_start", "Task_prepare_visit"]
    after = _flows(root)
    assert after.pop("Flow_visit_start") == ("StartEvent_visit", "Task_prepare_visit")
    assert after.pop("Flow_visit_to_onsite") == ("SubProcess_visit", "SubProcess_onsite")
    assert after["Flow_part_to_prepare_visit"] == ("SubProcess_part", "SubProcess_visit")
    assert after["Flow_arrive_onsite_to_onsite"] == ("Task_arrive_onsite", "EndEvent_visit")
    changed = {k for k in before if before[k] != after[k]}
    assert changed == {"Flow_part_to_prepare_visit", "Flow_arrive_onsite_to_onsite"}
    plane = root.find(f"{{{BPMNDI}}}BPMNDiagram/{{{BPMNDI}}}BPMNPlane[@bpmnElement='SubProcess_visit']")
    assert plane is not None
    assert {di.get("bpmnElement") for di in plane} == {
        "StartEvent_visit", "Flow_visit_start", "Task_prepare_visit", "Flow_prepare_visit_to_arrive_onsite",
        "Task_arrive_onsite", "Flow_arrive_onsite_to_onsite", "EndEvent_visit"}
    main = root.find(f"{{{BPMNDI}}}BPMNDiagram/{{{BPMNDI}}}BPMNPlane")
    assert main is not None
    shape = main.find(f"{{{BPMNDI}}}BPMNShape[@bpmnElement='SubProcess_visit']")
    assert shape is not None and shape.get("isExpanded") == "false"
    assert main.find(f"{{{BPMNDI}}}BPMNEdge[@bpmnElement='Flow_visit_to_onsite']") is not None
