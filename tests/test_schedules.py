"""Start schedules (engine/runtime/schedules.py, engine/bpmn/timers.py) and repeating timers inside an
instance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from engine.bpmn.timers import next_due
from engine.store.models import Instance, PendingTimer

from .engine_support import DATA, deploy, events, the_task

BJ_0900 = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)  # 10 March 2026, 09:00 in Beijing
DEPLOYED = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)


# ----------------------------------------------------------------- next_due, no database


def test_a_time_date_is_due_once_and_never_after_its_own_time():
    text = "timeDate: 2026-03-10T09:00:00+08:00"
    assert next_due(text, BJ_0900 - SECOND, DEPLOYED) == BJ_0900
    assert next_due(text, BJ_0900, DEPLOYED) is None
    assert next_due(text, BJ_0900 + SECOND, DEPLOYED) is None


def test_a_time_duration_counts_from_the_deployment():
    assert next_due("timeDuration:P1M", DEPLOYED, DEPLOYED) == datetime(2026, 4, 2, 1, 0, tzinfo=UTC)
    assert next_due("timeDuration:PT1H", DEPLOYED + timedelta(hours=1), DEPLOYED) is None


def test_a_bounded_cycle_stops_after_its_count():
    text = "timeCycle:R2/2026-03-10T09:00:00+08:00/P1D"
    assert next_due(text, DEPLOYED, DEPLOYED) == BJ_0900
    assert next_due(text, BJ_0900, DEPLOYED) == BJ_0900 + timedelta(days=1)
    assert next_due(text, BJ_0900 + timedelta(days=1), DEPLOYED) is None


def test_an_unbounded_cycle_keeps_going_by_calendar_month():
    text = "timeCycle:R/2026-01-31T09:00:00+08:00/P1M"
    after = datetime(2026, 6, 1, tzinfo=UTC)
    # Month steps are counted from the cycle's start, so February's clamp does not shorten later months.
    assert next_due(text, after, DEPLOYED) == datetime(2026, 6, 30, 1, 0, tzinfo=UTC)


def test_a_cron_start_is_read_in_beijing_time_with_crontab_weekdays():
    monday = DEPLOYED  # 2 March 2026, 09:00 Beijing
    assert next_due("timeCycle:0 9 * * 1", monday - SECOND, DEPLOYED) == monday
    # strictly after: the instant a start fired at is never its next due time
    assert next_due("timeCycle:0 9 * * 1", monday, DEPLOYED) == monday + timedelta(days=7)
    assert next_due("timeCycle:0 9 * * 0", monday, DEPLOYED) == monday + timedelta(days=6)
    assert next_due("timeCycle:0 9 * * 7", monday, DEPLOYED) == monday + timedelta(days=6)
    assert next_due("timeCycle:0 9 * * 1-5", monday, DEPLOYED) == monday + timedelta(days=1)
    assert next_due("timeCycle:30 8 1 * *", monday, DEPLOYED) == datetime(2026, 4, 1, 0, 30, tzinfo=UTC)


def test_a_cycle_without_a_start_counts_from_the_deploy_and_a_bare_period_is_refused():
    # Camunda reads R3/PT1H as three times an hour apart, the first an hour after the deploy
    assert next_due("timeCycle:R3/PT1H", DEPLOYED, DEPLOYED) == DEPLOYED + timedelta(hours=1)
    assert next_due("timeCycle:R3/PT1H", DEPLOYED + timedelta(hours=3), DEPLOYED) is None
    with pytest.raises(ValueError, match="R\\[n\\]/start/period or R\\[n\\]/period"):
        next_due("timeCycle:R3", DEPLOYED, DEPLOYED)


# ----------------------------------------------------------------- through the runtime


def start_timers(svc) -> list[datetime]:
    with svc.store.read() as s:
        return list(s.scalars(select(PendingTimer.due_at).where(PendingTimer.kind == "start")))


def started(svc, process) -> list[Instance]:
    with svc.store.read() as s:
        return list(s.scalars(select(Instance).where(Instance.process_key == process)))


def test_a_time_date_start_starts_one_instance_and_is_not_rearmed(engine_service, clock):
    deploy(engine_service, "once.bpmn")
    assert start_timers(engine_service) == [BJ_0900]
    with engine_service.store.read() as s:
        (row,) = s.scalars(select(PendingTimer).where(PendingTimer.kind == "start"))
    assert (row.element_id, row.process_key, row.instance_id) == ("OnceStart", "once", None)
    clock.set(BJ_0900)
    assert engine_service.runtime.fire_due_timers() == 0
    clock.set(BJ_0900 + SECOND)
    assert engine_service.runtime.fire_due_timers() == 1
    assert start_timers(engine_service) == []
    clock.advance(timedelta(days=30))
    assert engine_service.runtime.fire_due_timers() == 0
    (row,) = started(engine_service, "once")
    assert (row.started_by, datetime.fromisoformat(row.data["scheduled_at"])) == ("system", BJ_0900)


def test_deploying_another_process_leaves_a_start_timer_alone(engine_service, clock):
    deploy(engine_service, "once.bpmn")
    clock.set(BJ_0900 + SECOND)
    deploy(engine_service, "signals.bpmn")  # another process: the once timer is left as it was
    assert sorted(start_timers(engine_service)) == [BJ_0900, datetime(2026, 3, 25, 1, 0, tzinfo=UTC)]


def test_an_unbounded_boundary_cycle_is_indexed_and_fires_each_hour(engine_service, clock):
    deploy(engine_service, "reminders.bpmn")
    iid = engine_service.runtime.start("reminders", {}, "dora")
    with engine_service.store.read() as s:
        (timer,) = s.scalars(select(PendingTimer).where(PendingTimer.instance_id == iid))
    hour = clock.now() + timedelta(hours=1)
    assert (timer.kind, timer.element_id, timer.due_at) == ("timer", "Hourly", hour)
    for _ in range(2):
        clock.advance(timedelta(hours=1, seconds=1))
        assert engine_service.runtime.fire_due_timers() == 1
    assert [e.element_id for e in events(engine_service, iid) if e.type == "timer_fired"] == ["Hourly"] * 2
    assert the_task(engine_service, iid, "Work")


def test_a_cycle_of_zero_repetitions_never_starts():
    assert next_due("timeCycle:R0/2026-03-10T09:00:00+08:00/P1D", DEPLOYED, DEPLOYED) is None


def test_a_time_duration_start_fires_once_after_the_deployment(engine_service, clock):
    date = "<bpmn:timeDate>2026-03-10T09:00:00+08:00</bpmn:timeDate>"
    text = (DATA / "once.bpmn").read_text().replace(date, "<bpmn:timeDuration>PT1H</bpmn:timeDuration>")
    engine_service.runtime.deploy([("once.bpmn", text.encode())])
    assert start_timers(engine_service) == [clock.now() + timedelta(hours=1)]
    clock.advance(timedelta(hours=1, seconds=1))
    assert engine_service.runtime.fire_due_timers() == 1
    assert start_timers(engine_service) == [] and len(started(engine_service, "once")) == 1
