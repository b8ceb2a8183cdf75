"""Step clocks in the engine (seed 004 lines 709-711, engine/sla/steps.py): a step cancelled by a
boundary event ends its clock without a breach, a migrated or re-levelled case keeps its step clocks,
and every history replays."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.actor import Actor
from engine.errors import DefinitionInvalid

from .conftest import ROOT
from .scenario_support import DESK, FAULT, IMPACT, SECOND, T0, start, tick
from .test_migration_move import _v2

OWNER = Actor("po", frozenset(), frozenset({"process_owner"}))
INTEGRATION = {**FAULT, "contract": "integration", "level": "P3"}
DAY = timedelta(days=1)

# A process whose user tasks are steps: the first is cancelled by an interrupting two-hour timer.
BOUNDARY = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Defs_steps" targetNamespace="http://weibao.cn/t">
  <bpmn:process id="step_cases" name="步骤测试" isExecutable="true">
    <bpmn:extensionElements><camunda:properties>
      <camunda:property name="sla.step_limit" value="step_limit"/>
    </camunda:properties></bpmn:extensionElements>
    <bpmn:startEvent id="StartEvent_1" name="开始"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="Task_wait" name="等待处理" camunda:candidateGroups="service_desk">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:boundaryEvent id="Boundary_late" name="两小时未处理" attachedToRef="Task_wait">
      <bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDuration>PT2H</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:userTask id="Task_takeover" name="接手处理" camunda:candidateGroups="service_desk">
      <bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="EndEvent_1" name="结束"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="EndEvent_2" name="结束"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="StartEvent_1" targetRef="Task_wait"/>
    <bpmn:sequenceFlow id="f2" sourceRef="Task_wait" targetRef="EndEvent_1"/>
    <bpmn:sequenceFlow id="f3" sourceRef="Boundary_late" targetRef="Task_takeover"/>
    <bpmn:sequenceFlow id="f4" sourceRef="Task_takeover" targetRef="EndEvent_2"/>
  </bpmn:process>
</bpmn:definitions>
"""


def test_a_step_cancelled_by_a_boundary_event_ends_without_a_breach(svc, clock) -> None:
    svc.runtime.deploy([("step_cases.bpmn", BOUNDARY.encode()),
                        ("sla_targets.dmn", (ROOT / "processes" / "sla_targets.dmn").read_bytes())])
    f = start(svc, "step_cases", {"contract": "integration", "level": "P3", "customer": "辽宁XX"})
    assert f.clock("step_limit@Task_wait")["due_at"] == T0 + DAY  # seed 004 lines 709-711: one day
    tick(svc, clock, at=T0 + timedelta(hours=2) + SECOND)
    assert f.open() == ["Task_takeover"]
    states = f.states()
    assert states["step_limit@Task_wait"] == "ended"  # the step was taken away, not left undone
    assert states["step_limit@Task_takeover"] == "running"
    assert f.sla_event("sla_stopped", "step_limit@Task_wait").data["reason"] == "step_cancelled"
    tick(svc, clock, at=T0 + 2 * DAY)
    escalated = [e.data["clock"] for e in f.events() if e.type == "sla_escalated"]
    assert escalated == ["step_limit@Task_takeover"]  # its own day from 2 h: told at 26 h
    assert f.replays()


def test_a_migrated_case_keeps_its_step_clocks(svc, clock) -> None:
    f = start(svc, "fault_repair", INTEGRATION)
    before = f.clock("step_limit@Task_record_impact")
    svc.runtime.deploy([("fault_repair.bpmn", _v2())])
    clock.advance(timedelta(hours=1))
    result = svc.runtime.migrations.migrate("fault_repair", 1, 2, OWNER)
    assert result.moved == [f.id]
    assert f.clock("step_limit@Task_record_impact")["due_at"] == before["due_at"]
    f.do("Task_record_impact", DESK, business_impact="partial", **IMPACT)
    assert f.states()["step_limit@Task_record_impact"] == "met"
    # v2's new step is a step of the case too (seed 004 lines 709-711), with its own day
    assert f.clock("step_limit@Task_check_contact")["due_at"] == T0 + timedelta(hours=1) + DAY
    tick(svc, clock, at=T0 + timedelta(hours=1) + DAY + SECOND)
    told = f.sla_event("sla_escalated", "step_limit@Task_check_contact").data["group"]
    assert told == "support_group_leader"
    assert f.replays()


def test_a_re_level_keeps_the_open_steps_limit(svc, clock) -> None:
    f = start(svc, "fault_repair", INTEGRATION)
    f.do("Task_record_impact", DESK, business_impact="partial", **IMPACT)
    f.do("Task_confirm_level", DESK, level="P2")  # P3 reported, P2 confirmed: the case's clocks move
    assert any(e.type == "sla_relevelled" for e in f.events())
    assert not [c for c in f.skipped() if "@" in c]  # every level of 004 has the step limit
    opened = [k for k, state in f.states().items() if "@" in k and state == "running"]
    assert opened and all(f.clock(k)["due_at"] == T0 + DAY for k in opened)
    assert f.replays()


def test_a_step_limit_naming_two_clocks_is_refused_at_deploy(svc) -> None:
    bad = BOUNDARY.replace('value="step_limit"', 'value="step_limit, other"').encode()
    with pytest.raises(DefinitionInvalid) as refused:
        svc.runtime.deploy([("step_cases.bpmn", bad)])
    (error,) = refused.value.errors
    assert (error["file"], error["element_id"]) == ("step_cases.bpmn", "step_cases")
    assert "sla.step_limit" in error["message"]


def test_a_long_element_id_still_fits_the_reports_key(svc, clock) -> None:
    long_id = "Task_" + "very_long_element_id_" * 4  # 89 characters; the table keeps 64 of a key
    svc.runtime.deploy([("step_cases.bpmn", BOUNDARY.replace("Task_wait", long_id).encode()),
                        ("sla_targets.dmn", (ROOT / "processes" / "sla_targets.dmn").read_bytes())])
    f = start(svc, "step_cases", {"contract": "integration", "level": "P3", "customer": "辽宁XX"})
    (key,) = [k for k in f.states() if k.startswith("step_limit@")]
    assert len(key) <= 64 - len("_3") - len("#999") and f.clock(key)["step"] == long_id
    tick(svc, clock, at=T0 + timedelta(hours=2) + SECOND)  # cancelled by the boundary: ended, row kept
    assert f.clock_row(key).state == "ended"
    assert f.replays()
