"""Instance migration (issue: process owners): running fault-repair instances move to a version that
adds a step after the one they wait on, keep their data, task ids, claims and SLA clocks, verify on
replay, and go back with a revert; a version without the step they wait on is refused per instance."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.actor import Actor
from engine.errors import Forbidden

from .conftest import ROOT
from .scenario_support import DESK, FAULT, Flow, start, tick

OWNER = Actor("po", frozenset(), frozenset({"process_owner"}))
SHIPPED = (ROOT / "processes" / "fault_repair.bpmn").read_bytes()
# v2: a service-desk check between recording the impact and the level suggestion.
CHECK = ('<bpmn:userTask id="Task_check_contact" name="核实报障联系人" '
         'camunda:candidateGroups="service_desk">'
         '<bpmn:incoming>Flow_record_impact_to_suggest_level</bpmn:incoming>'
         '<bpmn:outgoing>Flow_check_contact_to_suggest_level</bpmn:outgoing></bpmn:userTask>'
         '<bpmn:sequenceFlow id="Flow_check_contact_to_suggest_level" sourceRef="Task_check_contact" '
         'targetRef="Task_suggest_level"/>')


def _v2() -> bytes:
    text = SHIPPED.decode()
    text = text.replace('sourceRef="Task_record_impact" targetRef="Task_suggest_level"',
                        'sourceRef="Task_record_impact" targetRef="Task_check_contact"')
    suggest = text.index('<bpmn:businessRuleTask id="Task_suggest_level"')
    text = text[:suggest] + CHECK + text[suggest:]
    end = text.index("</bpmn:incoming>", suggest + len(CHECK))
    start_in = text.rindex("<bpmn:incoming>", 0, end)
    text = text[:start_in] + "<bpmn:incoming>Flow_check_contact_to_suggest_level" + text[end:]
    return text.encode()


def _v3() -> bytes:
    """The step the instances wait on is gone (renamed)."""
    return SHIPPED.replace(b"Task_record_impact", b"Task_record_scope")


def test_a_move_keeps_the_case_and_routes_it_through_the_new_step(svc, clock) -> None:
    flows = [start(svc, "fault_repair", {**FAULT, "level": "P3"}) for _ in range(3)]
    svc.runtime.claim(flows[0].task("Task_record_impact").id, DESK)
    before = {f.id: (f.task("Task_record_impact").id, f.instance().data, f.clock("response")["due_at"])
              for f in flows}
    svc.runtime.deploy([("fault_repair.bpmn", _v2())])
    clock.advance(timedelta(minutes=5))

    plan = svc.runtime.versions.migration_plan("fault_repair", 1, 2, OWNER)
    assert [m["movable"] for m in plan] == [True] * 3
    result = svc.runtime.migrations.migrate("fault_repair", 1, 2, OWNER)
    assert (sorted(result.moved), result.refused) == (sorted(before), [])

    for f in flows:
        task_id, data, due = before[f.id]
        assert f.task("Task_record_impact").id == task_id  # the same open task, still claimed by dora
        assert f.instance().data == data and f.clock("response")["due_at"] == due
        moved = f.events()[-1]
        assert (moved.type, moved.data["from_version"], moved.data["to_version"],
                moved.data["migration_id"]) == ("instance_migrated", 1, 2, result.migration_id)
    assert flows[0].task("Task_record_impact").assignee == "dora"
    f = flows[1]
    f.do("Task_record_impact", DESK, business_impact="partial", outage_minutes=30, affected_percent=10,
         safety_hazard=False)
    assert f.open() == ["Task_check_contact"]  # v2's new step, then on as before
    f.do("Task_check_contact", DESK)
    assert "Task_confirm_level" in f.open()
    tick(svc, clock, timedelta(minutes=1))
    assert all(fl.replays() for fl in flows)


def test_revert_puts_back_what_the_migration_moved(svc, clock) -> None:
    f = start(svc, "fault_repair", {**FAULT, "level": "P3"})
    other = start(svc, "fault_repair", {**FAULT, "level": "P3"})
    svc.runtime.deploy([("fault_repair.bpmn", _v2())])
    moved = svc.runtime.migrations.migrate("fault_repair", 1, 2, OWNER, instance_id=f.id)
    assert moved.moved == [f.id] and other.instance().version_id != f.instance().version_id
    back = svc.runtime.migrations.revert("fault_repair", moved.migration_id, OWNER)
    assert (back.moved, back.reverts) == ([f.id], moved.migration_id)
    assert (back.from_version, back.to_version) == (2, 1)
    assert f.instance().version_id == other.instance().version_id
    assert f.events()[-1].data["reverts"] == moved.migration_id
    f.do("Task_record_impact", DESK, business_impact="partial", outage_minutes=30, affected_percent=10,
         safety_hazard=False)
    assert "Task_check_contact" not in f.open() and "Task_confirm_level" in f.open()
    assert f.replays()


def test_a_version_without_the_waiting_step_is_refused_per_instance(svc, clock) -> None:
    f = start(svc, "fault_repair", {**FAULT, "level": "P3"})
    svc.runtime.deploy([("fault_repair.bpmn", _v3())])
    before, version_id = f.mark(), f.instance().version_id
    result = svc.runtime.migrations.migrate("fault_repair", 1, 2, OWNER)
    assert result.moved == []
    (refused,) = result.refused
    assert refused["instance_id"] == f.id and refused["blocking"] == ["Task_record_impact"]
    assert "Task_record_impact (登记故障影响范围)" in refused["reasons"][0]
    assert (f.mark(), f.instance().version_id) == (before, version_id)  # nothing written, still on v1


def test_only_process_owners_migrate(svc, clock) -> None:
    start(svc, "fault_repair", {**FAULT, "level": "P3"})
    svc.runtime.deploy([("fault_repair.bpmn", _v2())])
    with pytest.raises(Forbidden):
        svc.runtime.migrations.migrate("fault_repair", 1, 2, DESK)


__all__ = ["Flow"]


def test_an_exported_bundle_of_a_moved_instance_carries_both_versions(svc, clock) -> None:
    import io
    import zipfile

    from engine.audit.bundle import replay_bundle
    from engine.audit.verify import export_bundle, verify_bundle

    f = start(svc, "fault_repair", {**FAULT, "level": "P3"})
    svc.runtime.deploy([("fault_repair.bpmn", _v2())])
    svc.runtime.migrations.migrate("fault_repair", 1, 2, OWNER)
    f.do("Task_record_impact", DESK, business_impact="partial", outage_minutes=30, affected_percent=10,
         safety_hazard=False)
    bundle = export_bundle(svc.store, f.id, svc.settings)
    assert verify_bundle(bundle)["verified"] is True
    replayed = replay_bundle(bundle, settings=svc.settings)
    assert replayed.verified, replayed.divergence

    # the v1 diagram inside the bundle, edited: its hash no longer matches
    source, edited = zipfile.ZipFile(io.BytesIO(bundle)), io.BytesIO()
    with zipfile.ZipFile(edited, "w") as out:
        for name in source.namelist():
            content = source.read(name)
            if name.endswith("/fault_repair.bpmn") and name.count("/") == 2:
                content = content.replace("登记故障影响范围".encode(), "登记影响".encode())
            out.writestr(name, content)
    found = verify_bundle(edited.getvalue())
    assert not found["verified"]
    assert "definition file fault_repair.bpmn altered or missing" in found["problems"]


def test_an_instance_inside_a_subprocess_with_a_waiting_timer_moves(svc, clock) -> None:
    from .scenario_support import CUSTOMER, DUTY, triage

    f = start(svc, "fault_repair", {**FAULT, "level": "P3"})
    triage(f, "partial", "P3")
    assert f.open() == ["Task_phone_diagnosis"]  # inside the remote-support subprocess
    timers, tasks = f.pending(), [(t.id, t.element_id, t.assignee) for t in f.tasks()]
    assert timers  # an escalation timer and SLA deadlines wait
    svc.runtime.deploy([("fault_repair.bpmn", _v2())])
    clock.advance(timedelta(minutes=10))
    assert svc.runtime.migrations.migrate("fault_repair", 1, 2, OWNER).moved == [f.id]
    assert f.pending() == timers  # the waiting timers keep their due times, nothing restarts
    assert [(t.id, t.element_id, t.assignee) for t in f.tasks()] == tasks
    f.do("Task_phone_diagnosis", DUTY, diagnosis="端口无光", solved=False)
    assert f.open() == ["Task_customer_consent"]
    f.do("Task_customer_consent", CUSTOMER, customer_consents=False)
    assert "Task_draft_solution" in f.open()
    assert f.replays()
