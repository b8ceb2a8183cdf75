"""What replay reports when a history does not replay: the first event that differs, a different
number of events, a different state digest, or a definition that is not the one the instance began on."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from engine.audit.replay import Replayer
from engine.audit.verify import rehash
from engine.errors import EngineError, NotFound
from engine.store.models import EventRow, Instance

from .engine_support import ENGINEER, deploy, events, the_task


@pytest.fixture
def done(engine_service, clock):
    """A finished rework instance: started, worked on twice, completed."""
    deploy(engine_service, "rework.bpmn")
    iid = engine_service.runtime.start("rework", {"summary": "端口故障"}, "alice")
    for ok in (False, True):
        clock.advance(timedelta(minutes=10))
        engine_service.runtime.complete(the_task(engine_service, iid, "Work"), {"ok": ok}, ENGINEER)
    return engine_service, iid


def replay(svc, iid, upto=None):
    return Replayer(svc.store, svc.definitions, svc.runtime.sla, svc.settings).replay(iid, upto)


def _rewrite(svc, iid, change):
    """Apply `change` to the stored events, then re-chain them as a careful forger would."""
    with svc.store.write() as s:
        rows = list(s.scalars(select(EventRow).where(EventRow.instance_id == iid).order_by(EventRow.seq)))
        rows = change(s, rows)
        rehash(iid, rows)
        s.execute(update(Instance).where(Instance.id == iid).values(head_hash=rows[-1].hash))


def test_an_honest_history_replays_to_its_state(done):
    svc, iid = done
    result = replay(svc, iid)
    assert (result.verified, result.events, result.divergence) == (True, len(events(svc, iid)), None)
    assert result.state["open_tasks"] == [] and result.state["data"]["ok"] is True


def test_the_first_different_event_is_named(done):
    svc, iid = done

    def retype(s, rows):
        created = [r for r in rows if r.type == "task_created"][1]
        created.type = "timer_fired"
        return rows

    _rewrite(svc, iid, retype)
    forged = next(e for e in events(svc, iid) if e.type == "timer_fired")
    assert replay(svc, iid).divergence == {
        "seq": forged.seq, "element_id": "Work", "expected": "timer_fired", "actual": "task_created",
        "reason": "the engine produced a different event"}


def test_an_event_cut_from_an_operation_is_a_different_count(done):
    svc, iid = done

    def cut(s, rows):
        s.delete(rows[-1])  # instance_completed
        s.flush()
        return rows[:-1]

    _rewrite(svc, iid, cut)
    rows = events(svc, iid)
    group = [r for r in rows if r.op == rows[-1].op]
    assert replay(svc, iid).divergence == {
        "seq": rows[-1].seq, "element_id": rows[-1].element_id, "expected": len(group),
        "actual": len(group) + 1, "reason": "the engine produced a different number of events"}


def test_an_event_added_to_an_operation_is_a_different_count(done):
    svc, iid = done

    def add(s, rows):
        last = rows[-1]
        extra = EventRow(instance_id=iid, seq=last.seq + 1, op=last.op, type="task_created", at=last.at,
                         actor="system", element_id="Extra", task_id=None, data={}, digest=last.digest,
                         prev_hash="", hash="")
        s.add(extra)
        return [*rows, extra]

    _rewrite(svc, iid, add)
    rows = events(svc, iid)
    group = [r for r in rows if r.op == rows[-1].op]
    assert replay(svc, iid).divergence == {
        "seq": rows[-1].seq, "element_id": "Extra", "expected": len(group), "actual": len(group) - 1,
        "reason": "the engine produced a different number of events"}


def test_a_different_state_digest_is_named(done):
    svc, iid = done
    real = {}

    def redigest(s, rows):
        last_op = [r for r in rows if r.op == rows[-1].op]
        real["digest"] = last_op[0].digest
        for r in last_op:
            r.digest = "0" * 64
        return rows

    _rewrite(svc, iid, redigest)
    rows = events(svc, iid)
    first = next(r for r in rows if r.op == rows[-1].op)
    assert replay(svc, iid).divergence == {
        "seq": first.seq, "element_id": first.element_id, "expected": "0" * 64, "actual": real["digest"],
        "reason": "the state digest differs"}


def test_replay_up_to_a_seq_stops_at_the_end_of_its_operation(done):
    svc, iid = done
    rows = events(svc, iid)
    second_op = sorted({r.op for r in rows})[1]
    result = replay(svc, iid, upto=second_op)
    group = [r for r in rows if r.op == second_op]
    assert (result.verified, result.events) == (True, group[-1].seq)
    assert [t["element_id"] for t in result.state["open_tasks"]] == ["Work"]
    assert result.state["data"]["ok"] is False


def test_an_unknown_instance_is_not_found(done):
    svc, _ = done
    with pytest.raises(NotFound, match="no instance 00000000-0000-4000-8000-000000000009"):
        replay(svc, "00000000-0000-4000-8000-000000000009")


def test_the_replayed_open_tasks_are_the_stored_ones(done):
    """What the audit slider shows at event N: each open task by its real id, element and name."""
    svc, iid = done
    rows = events(svc, iid)
    second_op = sorted({r.op for r in rows})[1]
    created = next(r for r in rows if r.op == second_op and r.type == "task_created")
    state = replay(svc, iid, upto=second_op).state
    assert state["open_tasks"] == [{"id": created.task_id, "element_id": "Work", "name": "处理"}]


def test_a_history_that_does_not_begin_with_its_start_is_refused_naming_the_instance(done):
    svc, iid = done

    def restart_later(s, rows):
        rows[0].type = "task_claimed"  # the start event, relabelled; its content hash stays
        return rows

    _rewrite(svc, iid, restart_later)
    with pytest.raises(EngineError) as refused:
        replay(svc, iid)
    assert (refused.value.message, refused.value.instance_id) == (
        "history does not begin with instance_started", iid)
