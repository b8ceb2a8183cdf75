"""Timers through the index: boundary timers by clock alone, restarts, scheduled starts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from engine.store.models import Instance, PendingTimer

from .conftest import make_service
from .engine_support import DATA, ENGINEER, TEST_HANDLERS, deploy, events, the_task, types


def test_boundary_timer_fires_by_moving_the_clock(engine_service, clock):
    deploy(engine_service, "rework.bpmn")
    iid = engine_service.runtime.start("rework", {"summary": "slow"}, "alice")
    with engine_service.store.read() as s:
        timer = s.scalars(select(PendingTimer).where(PendingTimer.instance_id == iid)).one()
    assert timer.element_id == "Late" and timer.due_at == clock.now() + timedelta(hours=2)

    clock.advance(timedelta(hours=2))
    assert engine_service.runtime.fire_due_timers() == 0, "due, not yet past"
    clock.advance(timedelta(seconds=1))
    assert engine_service.runtime.fire_due_timers() == 1
    fired = [e for e in events(engine_service, iid) if e.type == "timer_fired"]
    assert len(fired) == 1 and fired[0].element_id == "Late"
    assert fired[0].data["due_at"] == timer.due_at.isoformat()
    assert the_task(engine_service, iid, "Escalate")
    assert the_task(engine_service, iid, "Work"), "the timer is non-interrupting"
    assert engine_service.runtime.fire_due_timers() == 0


def test_timers_due_while_down_fire_once_at_start_up(db_url, clock):
    first = make_service(db_url, clock, handlers=TEST_HANDLERS)
    deploy(first, "rework.bpmn")
    iid = first.runtime.start("rework", {"summary": "weekend"}, "alice")
    first.close()

    clock.advance(timedelta(hours=5))  # the service is down while the timer comes due
    second = make_service(db_url, clock, handlers=TEST_HANDLERS)
    second.start_scheduler(interval=3600)
    try:
        assert types(second, iid).count("timer_fired") == 1
        second.scheduler.tick()
        assert types(second, iid).count("timer_fired") == 1
    finally:
        second.close()


def test_each_loop_turn_rearms_its_own_timer(engine_service, clock):
    deploy(engine_service, "rework.bpmn")
    iid = engine_service.runtime.start("rework", {"summary": "s"}, "alice")
    clock.advance(timedelta(hours=1))
    engine_service.runtime.complete(the_task(engine_service, iid, "Work"), {"ok": False}, ENGINEER)
    with engine_service.store.read() as s:
        dues = s.scalars(select(PendingTimer.due_at).where(PendingTimer.instance_id == iid)).all()
    assert dues == [clock.now() + timedelta(hours=2)]


def test_timer_start_event_starts_instances_on_schedule(engine_service, clock):
    deploy(engine_service, "signals.bpmn")
    with engine_service.store.read() as s:
        (due,) = s.scalars(select(PendingTimer.due_at).where(PendingTimer.kind == "start")).all()
    assert due == datetime(2026, 3, 25, 1, 0, tzinfo=UTC)  # 09:00 Beijing on the 25th

    clock.set(datetime(2026, 3, 25, 1, 0, 0, tzinfo=UTC))
    assert engine_service.runtime.fire_due_timers() == 0
    clock.set(datetime(2026, 3, 25, 1, 0, 1, tzinfo=UTC))
    engine_service.runtime.fire_due_timers()
    clock.set(datetime(2026, 4, 25, 1, 0, 1, tzinfo=UTC))
    engine_service.runtime.fire_due_timers()
    engine_service.runtime.fire_due_timers()
    with engine_service.store.read() as s:
        started = s.scalars(
            select(Instance).where(Instance.process_key == "monthly").order_by(Instance.created_at)
        ).all()
        (next_due,) = s.scalars(select(PendingTimer.due_at).where(PendingTimer.kind == "start")).all()
    assert [r.data["scheduled_at"][:10] for r in started] == ["2026-03-25", "2026-04-25"]
    assert next_due == datetime(2026, 5, 25, 1, 0, tzinfo=UTC)


def _start_due(service) -> list[datetime]:
    with service.store.read() as s:
        return list(s.scalars(select(PendingTimer.due_at).where(PendingTimer.kind == "start")))


def test_a_start_timer_follows_the_current_version_and_skips_while_suspended(engine_service, clock):
    from engine.actor import Actor

    owner = Actor("olga", roles=frozenset({"process_owner"}))
    deploy(engine_service, "signals.bpmn")
    v2 = (DATA / "signals.bpmn").read_bytes().replace(b"R/2026-03-25T09:00", b"R/2026-03-10T09:00")
    engine_service.runtime.deploy([("signals.bpmn", v2)])
    assert _start_due(engine_service) == [datetime(2026, 3, 10, 1, 0, tzinfo=UTC)]
    versions = engine_service.runtime.versions
    assert versions.activate("monthly", 1, owner).previous == 2
    assert _start_due(engine_service) == [datetime(2026, 3, 25, 1, 0, tzinfo=UTC)]

    versions.suspend("monthly", 1, owner)
    clock.set(datetime(2026, 3, 25, 1, 0, 1, tzinfo=UTC))
    engine_service.runtime.fire_due_timers()
    assert _start_due(engine_service) == [datetime(2026, 4, 25, 1, 0, tzinfo=UTC)]  # skipped, still scheduled
    versions.resume("monthly", 1, owner)
    clock.set(datetime(2026, 4, 25, 1, 0, 1, tzinfo=UTC))
    engine_service.runtime.fire_due_timers()
    with engine_service.store.read() as s:
        started = s.scalars(select(Instance.data).where(Instance.process_key == "monthly")).all()
    assert [d["scheduled_at"][:10] for d in started] == ["2026-04-25"]
