"""A running case never changes the parsed spec it shares with every other case of its version
(engine/bpmn/definitions.py caches one per version). SpiffWorkflow 3.2 starts an event subprocess
by wiring it into the process's start task; on the shared spec every later case then started that
subprocess too and, its message never coming, could not end (engine/bpmn/patches.py)."""

from __future__ import annotations

from engine.service import Service

from .scenario_support import DUTY, FAULT, bj, close_fault, start, tick, triage
from .spec_guard import spec_text


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
