"""The write path on its own (engine/runtime/persist.py, engine/store/write.py): the instance row and its
optimistic version, the chained events, incidents, and the open-task and pending-timer indexes."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select, update

from engine.errors import Conflict, NotFound
from engine.runtime.persist import assignee_of
from engine.store.chain import GENESIS
from engine.store.models import IncidentRow, Instance, PendingTimer, TaskGroup
from engine.store.write import InstanceRecord, row_for_update, write_row

from .engine_support import ENGINEER, FLAKY_PLAN, SENIOR, deploy, events, instance, open_tasks, the_task


@pytest.fixture
def rework(engine_service):
    deploy(engine_service, "rework.bpmn")
    return engine_service, engine_service.runtime.start("rework", {"summary": "端口故障"}, "alice")


# ----------------------------------------------------------------- the instance row


def test_a_new_record_is_at_the_genesis_of_its_chain(clock):
    data = {"summary": "s"}
    row = InstanceRecord.new("i-1", "rework", 7, "BK", None, "alice", data, clock.now())
    assert (row.status, row.last_seq, row.head_hash, row.lock_version) == ("running", 0, GENESIS, 0)
    assert (row.created_at, row.updated_at, row.ended_at, row.state) == (clock.now(), clock.now(), None, {})
    data["summary"] = "changed"
    assert row.data == {"summary": "s"}


def test_a_stale_row_is_a_conflict_and_only_operation_fields_change(rework, clock):
    svc, iid = rework
    before = instance(svc, iid)
    with svc.store.write() as s:
        first = row_for_update(s, svc.store, iid)
        stale = row_for_update(s, svc.store, iid)
        first.started_by, first.status, first.last_seq = "mallory", "completed", first.last_seq + 5
        write_row(s, first)
        with pytest.raises(Conflict, match="changed by another operation"):
            write_row(s, stale)
    after = instance(svc, iid)
    assert (after.started_by, after.status, after.last_seq) == ("alice", "completed", before.last_seq + 5)
    assert after.lock_version == before.lock_version + 1


def test_no_row_is_not_found(rework):
    svc, _ = rework
    with svc.store.write() as s, pytest.raises(NotFound):
        row_for_update(s, svc.store, "00000000-0000-4000-8000-00000000dead")


# ----------------------------------------------------------------- events and incidents


def test_each_operation_chains_its_events_and_numbers_them_from_its_first(rework, clock):
    svc, iid = rework
    clock.advance(timedelta(minutes=5))
    svc.runtime.complete(the_task(svc, iid, "Work"), {"ok": False}, ENGINEER)
    rows = events(svc, iid)
    assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
    assert [r.prev_hash for r in rows] == [GENESIS] + [r.hash for r in rows[:-1]]
    second = [r for r in rows if r.at == clock.now()]
    assert {r.op for r in second} == {second[0].seq} and second[0].type == "task_completed"
    assert len({r.digest for r in second}) == 1
    row = instance(svc, iid)
    assert (row.last_seq, row.head_hash, row.updated_at) == (rows[-1].seq, rows[-1].hash, clock.now())


def test_an_opened_incident_gets_its_row(engine_service, clock):
    deploy(engine_service, "signals.bpmn")
    FLAKY_PLAN[:] = ["fatal"]
    iid = engine_service.runtime.start("await_reply", {}, "alice", business_key="T-1")
    (opened,) = [e for e in events(engine_service, iid) if e.type == "incident_opened"]
    with engine_service.store.read() as s:
        (row,) = s.scalars(select(IncidentRow).where(IncidentRow.instance_id == iid))
    assert (row.task_id, row.element_id, row.topic, row.status) == (opened.task_id, "Call", "flaky", "open")
    assert row.message == opened.data["message"] and row.attempts == opened.data["attempts"] == 1
    assert row.created_at == clock.now() and row.resolved_at is None


def test_a_completed_instance_records_its_end(rework, clock):
    svc, iid = rework
    clock.advance(timedelta(minutes=1))
    svc.runtime.complete(the_task(svc, iid, "Work"), {"ok": True, "note": "完成"}, ENGINEER)
    row = instance(svc, iid)
    assert (row.status, row.ended_at) == ("completed", clock.now())
    assert row.data["note"] == "完成" and events(svc, iid)[-1].type == "instance_completed"
    assert open_tasks(svc, iid) == [] and _timers(svc, iid) == []


# ----------------------------------------------------------------- the indexes


def _timers(svc, iid):
    with svc.store.read() as s:
        return list(s.scalars(select(PendingTimer).where(PendingTimer.instance_id == iid)))


def _groups(svc, task_id):
    with svc.store.read() as s:
        return list(s.scalars(select(TaskGroup.group).where(TaskGroup.task_id == task_id)))


def test_the_open_task_row_follows_claims_and_completion(rework, clock):
    svc, iid = rework
    (row,) = open_tasks(svc, iid)
    assert (row.element_id, row.name, row.assignee) == ("Work", "处理", None)
    assert row.candidate_groups == ["duty_engineer"]
    assert [f["id"] for f in row.form] == ["ok", "note"] and _groups(svc, row.id) == ["duty_engineer"]
    svc.runtime.claim(row.id, ENGINEER)
    assert open_tasks(svc, iid)[0].assignee == "bob"
    svc.runtime.unclaim(row.id, ENGINEER)
    assert open_tasks(svc, iid)[0].assignee is None
    svc.runtime.complete(row.id, {"ok": False}, ENGINEER)
    (again,) = open_tasks(svc, iid)
    assert again.id != row.id and again.element_id == "Work" and _groups(svc, row.id) == []


def test_a_step_that_leaves_the_timers_alone_does_not_rewrite_them(rework, clock):
    svc, iid = rework
    # A mark in a column the comparison ignores survives only if the row is left in place.
    with svc.store.write() as s:
        s.execute(update(PendingTimer).where(PendingTimer.instance_id == iid).values(process_key="mark"))
    (timer,) = _timers(svc, iid)
    svc.runtime.claim(the_task(svc, iid, "Work"), ENGINEER)
    assert [(t.process_key, t.due_at) for t in _timers(svc, iid)] == [("mark", timer.due_at)]
    clock.advance(timedelta(hours=1))
    svc.runtime.complete(the_task(svc, iid, "Work"), {"ok": False}, ENGINEER)
    (rearmed,) = _timers(svc, iid)
    assert rearmed.due_at == clock.now() + timedelta(hours=2)
    assert (rearmed.kind, rearmed.element_id, rearmed.process_key) == ("timer", "Late", None)


def test_two_open_tasks_each_get_their_row(rework, clock):
    svc, iid = rework
    clock.advance(timedelta(hours=2, seconds=1))
    svc.runtime.fire_due_timers()
    assert sorted(t.element_id for t in open_tasks(svc, iid)) == ["Escalate", "Work"]
    assert _groups(svc, the_task(svc, iid, "Escalate")) == ["senior_engineer"]
    svc.runtime.complete(the_task(svc, iid, "Escalate"), {}, SENIOR)
    assert [t.element_id for t in open_tasks(svc, iid)] == ["Work"]


def _task(data=None, claimed=None):
    return SimpleNamespace(data=data or {}, internal_data={"weibao_assignee": claimed} if claimed else {})


def test_assignee_of_a_claim_a_literal_and_an_expression():
    by_expression = SimpleNamespace(assignee="${engineer}")
    assert assignee_of(_task({"engineer": "duty_engineer2"}), by_expression) == "duty_engineer2"
    assert assignee_of(_task({"engineer": ""}), by_expression) is None
    assert assignee_of(_task(), by_expression) is None
    assert assignee_of(_task({"engineer": "a"}, claimed="b"), by_expression) == "b"
    assert assignee_of(_task(), SimpleNamespace(assignee="lei")) == "lei"
    assert assignee_of(_task(), SimpleNamespace(assignee=None)) is None


def test_the_instance_row_is_read_back_whole(rework):
    svc, iid = rework
    with svc.store.write() as s:
        record = row_for_update(s, svc.store, iid)
        stored = s.get(Instance, iid)
        assert record.values() == {c: getattr(stored, c) for c in record.values()}
