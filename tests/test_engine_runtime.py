"""Runtime operations through the store: forms, long rework loops, events, messages, handlers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from engine.actor import Actor
from engine.errors import Conflict, Forbidden, InvalidInput, NotFound
from engine.store.chain import verify_chain
from engine.store.models import IncidentRow, Instance

from .engine_support import (
    DESK,
    ENGINEER,
    FLAKY_PLAN,
    SENIOR,
    deploy,
    events,
    instance,
    open_tasks,
    the_task,
    types,
)


@pytest.fixture
def rework(engine_service):
    deploy(engine_service, "rework.bpmn")
    return engine_service


def test_start_form_is_validated_and_unknown_keys_refused(rework):
    with pytest.raises(InvalidInput) as info:
        rework.runtime.start("rework", {"level": "P9", "colour": "red"}, "alice")
    assert set(info.value.details["fields"]) == {"summary", "level", "colour"}
    iid = rework.runtime.start("rework", {"summary": "printer down", "level": "P1"}, "alice")
    assert instance(rework, iid).data["summary"] == "printer down"


def test_bad_completion_changes_nothing(rework):
    iid = rework.runtime.start("rework", {"summary": "s"}, "alice")
    task_id = the_task(rework, iid, "Work")
    before = (types(rework, iid), instance(rework, iid).lock_version)
    with pytest.raises(InvalidInput) as info:
        rework.runtime.complete(task_id, {"ok": "yes", "extra": 1}, ENGINEER)
    assert set(info.value.details["fields"]) == {"ok", "extra"}
    assert info.value.element_id == "Work"
    with pytest.raises(Forbidden):
        rework.runtime.complete(task_id, {"ok": True}, DESK)
    assert (types(rework, iid), instance(rework, iid).lock_version) == before
    assert the_task(rework, iid, "Work") == task_id


def test_completing_twice_is_a_conflict(rework):
    iid = rework.runtime.start("rework", {"summary": "s"}, "alice")
    task_id = the_task(rework, iid, "Work")
    rework.runtime.complete(task_id, {"ok": True}, ENGINEER)
    with pytest.raises(Conflict):
        rework.runtime.complete(task_id, {"ok": True}, ENGINEER)
    assert types(rework, iid).count("task_completed") == 1


def test_claim_gives_the_task_to_one_person(rework):
    iid = rework.runtime.start("rework", {"summary": "s"}, "alice")
    task_id = the_task(rework, iid, "Work")
    rework.runtime.claim(task_id, ENGINEER)
    other = ENGINEER.__class__("eve", frozenset({"duty_engineer"}))
    with pytest.raises((Conflict, Forbidden)):
        rework.runtime.claim(task_id, other)
    with pytest.raises((Conflict, Forbidden)):
        rework.runtime.complete(task_id, {"ok": True}, other)
    assert open_tasks(rework, iid, "Work")[0].assignee == "bob"
    rework.runtime.unclaim(task_id, ENGINEER)
    rework.runtime.complete(task_id, {"ok": True}, other)
    assert "task_unclaimed" in types(rework, iid)


def test_a_300_iteration_rework_loop_runs_to_its_real_end(rework):
    iid = rework.runtime.start("rework", {"summary": "loop"}, "alice")
    for turn in range(300):
        rework.runtime.complete(
            the_task(rework, iid, "Work"), {"ok": turn == 299, "note": str(turn)}, ENGINEER
        )
    row = instance(rework, iid)
    assert row.status == "completed"
    assert types(rework, iid).count("task_completed") == 300
    assert types(rework, iid).count("service_task_completed") == 300
    assert row.data["echoed"] == "299"
    assert len(row.state["tasks"]) < 10, "state must not grow with the loop"


def test_spiffworkflow_default_depth_would_lose_the_ready_task():
    """The trap the runtime avoids: with SpiffWorkflow's default depth, a long chain hides live tasks."""
    from SpiffWorkflow.util.task import TaskIterator

    from engine.bpmn import patches as spiff_patches

    assert TaskIterator.__init__.__defaults__[1] > 10**6, "engine.spiff must lift the depth limit"
    assert spiff_patches._installed
    assert BpmnWorkflow is not None and TaskState.READY == 16


def test_events_are_sequenced_chained_and_timed_by_the_clock(rework, clock):
    iid = rework.runtime.start("rework", {"summary": "s"}, "alice")
    clock.advance(timedelta(minutes=7))
    rework.runtime.complete(the_task(rework, iid, "Work"), {"ok": True, "note": "n"}, ENGINEER)
    rows = events(rework, iid)
    assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
    assert rows[0].type == "instance_started" and rows[-1].type == "instance_completed"
    done = next(r for r in rows if r.type == "task_completed")
    assert done.actor == "bob" and done.data["data"] == {"ok": True, "note": "n"} and done.at == clock.now()
    service_row = next(r for r in rows if r.type == "service_task_completed")
    assert service_row.data["topic"] == "echo" and service_row.data["result"]["echoed"] == "n"
    assert verify_chain(iid, rows) == (True, None)


def test_message_correlation_by_business_key(engine_service):
    deploy(engine_service, "signals.bpmn")
    iid = engine_service.runtime.start("await_reply", {}, "alice", business_key="T-1")
    with pytest.raises(Conflict):
        engine_service.runtime.correlate("other_message", business_key="T-1")
    engine_service.runtime.correlate("customer_reply", business_key="T-1", data={"answer": "yes"})
    assert the_task(engine_service, iid, "Review")
    assert instance(engine_service, iid).data["answer"] == "yes"
    assert "message_correlated" in types(engine_service, iid)


def test_retryable_handler_error_backs_off_then_succeeds(engine_service, clock):
    deploy(engine_service, "signals.bpmn")
    FLAKY_PLAN.extend(["retry", "retry"])
    iid = engine_service.runtime.start("await_reply", {}, "alice", business_key="T-2")
    assert types(engine_service, iid).count("service_task_failed") == 1
    clock.advance(timedelta(minutes=4))
    assert engine_service.runtime.fire_due_timers() == 0
    clock.advance(timedelta(minutes=2))
    assert engine_service.runtime.fire_due_timers() == 1
    clock.advance(timedelta(minutes=6))
    engine_service.runtime.fire_due_timers()
    assert types(engine_service, iid).count("service_task_failed") == 2
    assert types(engine_service, iid).count("service_task_completed") == 1
    engine_service.runtime.correlate("customer_reply", business_key="T-2")


def test_non_retryable_error_opens_an_incident_that_can_be_retried(engine_service):
    deploy(engine_service, "signals.bpmn")
    FLAKY_PLAN.append("fatal")
    iid = engine_service.runtime.start("await_reply", {}, "alice", business_key="T-3")
    with engine_service.store.read() as s:
        incident = s.query(IncidentRow).filter_by(instance_id=iid).one()
    assert incident.status == "open" and incident.element_id == "Call"
    assert engine_service.runtime.fire_due_timers() == 0  # an incident waits for a person
    engine_service.runtime.retry_incident(incident.id, "admin")
    assert types(engine_service, iid)[-2:] == ["incident_resolved", "service_task_completed"]
    with pytest.raises(Conflict):
        engine_service.runtime.retry_incident(incident.id, "admin")


def test_exhausted_retries_open_an_incident(engine_service, clock):
    deploy(engine_service, "signals.bpmn")
    FLAKY_PLAN.extend(["bug"] * 5)
    iid = engine_service.runtime.start("await_reply", {}, "alice")
    for _ in range(6):
        clock.advance(timedelta(hours=2))
        engine_service.runtime.fire_due_timers()
    assert types(engine_service, iid).count("service_task_failed") == 5
    assert types(engine_service, iid).count("incident_opened") == 1


def test_senior_cannot_complete_the_engineers_task(rework):
    iid = rework.runtime.start("rework", {"summary": "s"}, "alice")
    with pytest.raises(Forbidden):
        rework.runtime.complete(the_task(rework, iid, "Work"), {"ok": True}, SENIOR)


def test_the_engine_refuses_unseen_and_held_tasks_before_anything_is_written(rework):
    """The engine answers these itself, inside the operation: nothing is written on a refusal."""
    iid = rework.runtime.start("rework", {"summary": "s"}, "alice")
    task_id = the_task(rework, iid, "Work")
    colleague = Actor("carl", frozenset({"duty_engineer"}))
    stranger = Actor("eve", frozenset({"customer"}))
    rework.runtime.claim(task_id, ENGINEER)
    before = (types(rework, iid), instance(rework, iid).lock_version)

    with pytest.raises(NotFound, match=f"no task {task_id}"):  # another customer's instance: unknown
        rework.runtime.complete(task_id, {"ok": True}, stranger)
    for act in (rework.runtime.claim, rework.runtime.unclaim):
        with pytest.raises(Conflict) as held:
            act(task_id, colleague)
        assert held.value.details == {"assignee": "bob"} and held.value.element_id == "Work"
    with pytest.raises(Conflict) as held:
        rework.runtime.complete(task_id, {"ok": True}, colleague)
    assert held.value.details == {"assignee": "bob"}
    with pytest.raises(Forbidden):
        rework.runtime.unclaim(task_id, SENIOR)
    assert (types(rework, iid), instance(rework, iid).lock_version) == before

    assert rework.runtime.complete(task_id, {"ok": True}, ENGINEER) == iid
    with pytest.raises(Conflict, match="already completed"):
        rework.runtime.complete(task_id, {"ok": True}, ENGINEER)
    with pytest.raises(NotFound, match="no task nope"):
        rework.runtime.complete("nope", {"ok": True}, ENGINEER)


def test_start_then_reads_the_new_instance_in_its_transaction(rework):
    read = rework.runtime.start_then(
        lambda conn, new_id: (new_id, conn.in_transaction(), _status(conn, new_id)),
        "rework", {"summary": "s"}, "alice",
    )
    new_id, in_transaction, status = read
    assert in_transaction and status == "running"
    assert instance(rework, new_id).status == "running"

    def broken(conn, new_id):
        raise RuntimeError("read failed")

    with pytest.raises(RuntimeError):
        rework.runtime.start_then(broken, "rework", {"summary": "s"}, "alice", instance_id=_ID)
    with rework.store.read() as session:
        assert session.get(Instance, _ID) is None  # the start went with the failed read


_ID = "00000000-0000-4000-8000-000000000001"


def _status(conn, instance_id):
    return conn.execute(select(Instance.status).where(Instance.id == instance_id)).scalar_one()
