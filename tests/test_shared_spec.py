"""A running case never changes the parsed spec it shares with every other case of its version
(engine/bpmn/definitions.py caches one per version). SpiffWorkflow 3.2 starts an event subprocess
by wiring it into the process's start task; on the shared spec every later case then started that
subprocess too and, its message never coming, could not end (engine/bpmn/patches.py)."""

from __future__ import annotations

from SpiffWorkflow.bpmn import BpmnEvent, BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import SignalEventDefinition
from SpiffWorkflow.util.task import TaskState

from engine.actor import Actor
from engine.bpmn.spiff import WeibaoParser
from engine.clock import use_clock
from engine.service import Service

from .scenario_support import DUTY, FAULT, bj, close_fault, start, tick, triage
from .spec_guard import spec_text, specs_text


def shared_specs(svc: Service) -> dict[int, str]:
    return {version: spec_text(loaded) for version, loaded in svc.definitions._cache.items()}


def test_a_fault_ends_after_another_faults_rung_task(svc, clock):
    first = start(svc, "fault_repair", {**FAULT, "level": "P4"}, business_key="F-1")
    triage(first, "none", "P4")
    before = shared_specs(svc)
    # seed 001 l.13 §1.1.2 第3条: tier 4 after one working day, a `task` rung of network_om's ladder
    tick(svc, clock, at=bj("2026-03-03 09:01"))
    assert "Task_handle_rung" in first.open()
    assert shared_specs(svc) == before

    second = start(svc, "fault_repair", {**FAULT, "level": "P4"}, business_key="F-2")
    triage(second, "none", "P4")
    second.do("Task_phone_diagnosis", DUTY, diagnosis="VLAN 配置错误", solved=True)
    close_fault(second)
    assert second.open() == []
    assert second.instance().status == "completed"
    assert second.replays()

    for rung in [t for t in first.tasks() if t.element_id == "Task_handle_rung"]:
        group = rung.candidate_groups[0]
        svc.runtime.complete(rung.id, {"rung_response": "已介入"}, Actor(group, frozenset({group})))
    first.do("Task_phone_diagnosis", DUTY, diagnosis="VLAN 配置错误", solved=True)
    close_fault(first)  # the rung's subprocess leads its own case to the end
    assert first.instance().status == "completed" and first.replays()


EVENT_SUBPROCESS = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:signal id="Signal_help" name="help" />
  <bpmn:process id="main" isExecutable="true">
    <bpmn:startEvent id="Start_main" />
    <bpmn:sequenceFlow id="f1" sourceRef="Start_main" targetRef="Task_work" />
    <bpmn:userTask id="Task_work" />
    <bpmn:sequenceFlow id="f2" sourceRef="Task_work" targetRef="End_main" />
    <bpmn:endEvent id="End_main" />
    <bpmn:subProcess id="SubProcess_help" triggeredByEvent="true">
      <bpmn:startEvent id="Start_help" isInterrupting="false">
        <bpmn:signalEventDefinition signalRef="Signal_help" />
      </bpmn:startEvent>
      <bpmn:sequenceFlow id="f3" sourceRef="Start_help" targetRef="Task_help" />
      <bpmn:userTask id="Task_help" />
      <bpmn:sequenceFlow id="f4" sourceRef="Task_help" targetRef="End_help" />
      <bpmn:endEvent id="End_help" />
    </bpmn:subProcess>
  </bpmn:process>
</bpmn:definitions>"""


def _complete_user_tasks(wf: BpmnWorkflow) -> None:
    while ready := wf.get_tasks(state=TaskState.READY, manual=True):
        ready[0].run()
        wf.do_engine_steps()


def test_a_signal_to_one_case_leaves_the_next_case_of_the_spec_alone(clock):
    with use_clock(clock):  # SpiffWorkflow stamps its tasks with the engine's time
        _signal_then_next_case()


def _signal_then_next_case() -> None:
    parser = WeibaoParser()
    parser.add_bpmn_str(EVENT_SUBPROCESS)
    spec, subs = parser.get_spec("main"), parser.get_subprocess_specs("main")
    before = specs_text(spec, subs)
    first = BpmnWorkflow(spec, subs)
    first.do_engine_steps()
    first.send_event(BpmnEvent(SignalEventDefinition("help")))
    first.do_engine_steps()
    assert [t.task_spec.name for t in first.get_tasks(state=TaskState.READY)] == ["Task_work", "Task_help"]
    assert specs_text(spec, subs) == before

    second = BpmnWorkflow(spec, subs)
    second.do_engine_steps()
    _complete_user_tasks(second)
    assert second.completed and second.subprocesses == {}
    _complete_user_tasks(first)  # the subprocess still leads the first case to its end
    assert first.completed
