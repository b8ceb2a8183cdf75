"""Every start-cycle form the Camunda Modeler writes: the 5-field crontab line, Camunda's 6- and 7-field
Quartz lines (seconds first, `?`, `MON-FRI`, Sunday = 1, `L`, `6L`, `6#3`), and ISO 8601 `R[n]/period`
counted from the deploy. A week of simulated time creates exactly the instances the schedule names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from engine.bpmn.timers import next_due, start_timer_problem
from engine.errors import DefinitionInvalid
from engine.store.models import Instance

from .conftest import START
from .test_deploy_checks import timer_bpmn

MONDAY_0900 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 09:00 in Beijing
assert START == MONDAY_0900


def _bj(day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour - 8, minute, tzinfo=UTC)


@pytest.mark.parametrize(("line", "first"), [
    ("0 0 9 * * ?", _bj(3)),  # Quartz: every day at 09:00:00
    ("0 0 9 ? * 1", _bj(8)),  # Quartz weekday 1 is Sunday
    ("0 0 9 ? * 6L", _bj(27)),  # the last Friday of March 2026
    ("0 0 9 ? * 6#3", _bj(20)),  # the third Friday
    ("0 30 8 L * ?", _bj(31, 8, 30)),  # the last day of the month
    ("0 0 9 * * ? 2027", datetime(2027, 1, 1, 1, 0, tzinfo=UTC)),  # 7th field: the year
    ("0 9 * * 0", _bj(8)),  # crontab weekday 0 is Sunday
])
def test_quartz_and_crontab_lines_are_read_as_camunda_and_cron_do(line: str, first: datetime) -> None:
    assert start_timer_problem(f"timeCycle:{line}") is None
    assert next_due(f"timeCycle:{line}", MONDAY_0900, MONDAY_0900) == first


@pytest.mark.parametrize(("line", "says"), [
    ("0 0 9 15W * ?", "nearest-weekday"),
    ("0 0 9 ? * 8", "weekday 8 is out of range"),
    ("0 9 * *", "5 fields"),
    ("R3/PT0S", "moves nothing"),
    # SpiffArena writes literals as quoted Python strings; the Camunda form has none.
    ('"R3/PT10M"', "write the literal without quotes, as the Camunda Modeler does: R3/PT10M"),
    ("'0 9 * * 1-5'", "without quotes, as the Camunda Modeler does: 0 9 * * 1-5"),
])
def test_cycles_the_engine_cannot_schedule_are_named(line: str, says: str) -> None:
    assert says in (start_timer_problem(f"timeCycle:{line}") or "")


def _week(svc, clock) -> list[datetime]:
    """Seven days and ten minutes on the simulation clock, a scheduler tick every ten minutes (a tick
    fires what was due strictly before it)."""
    for _ in range(7 * 24 * 6 + 1):
        clock.advance(timedelta(minutes=10))
        svc.runtime.fire_due_timers()
    with svc.store.read() as s:
        rows = s.scalars(select(Instance).where(Instance.process_key == "tick")).all()
        return sorted(datetime.fromisoformat(r.data["scheduled_at"]) for r in rows)


@pytest.mark.parametrize("line", ["0 9 * * 1-5", "0 0 9 ? * MON-FRI", "0 0 9 ? * 2-6 *"])
def test_a_working_day_cycle_over_a_week_starts_five_instances(engine_service, clock, line: str) -> None:
    engine_service.runtime.deploy([("tick.bpmn", timer_bpmn("timeCycle", line))])
    assert _week(engine_service, clock) == [_bj(d) for d in (3, 4, 5, 6, 9)]  # Tue–Fri, then Monday


def test_a_period_without_a_start_counts_from_the_deploy(engine_service, clock) -> None:
    engine_service.runtime.deploy([("tick.bpmn", timer_bpmn("timeCycle", "R3/PT10H"))])
    assert _week(engine_service, clock) == [MONDAY_0900 + timedelta(hours=10 * n) for n in (1, 2, 3)]


def test_a_refused_cycle_stores_nothing(engine_service, clock) -> None:
    with pytest.raises(DefinitionInvalid) as refused:
        engine_service.runtime.deploy([("tick.bpmn", timer_bpmn("timeCycle", "0 0 9 15W * ?"))])
    assert refused.value.errors[0]["element_id"] == "TickStart"
    with engine_service.store.read() as s:
        assert s.scalars(select(Instance)).all() == []


def test_a_version_and_its_start_timer_are_stored_together_or_not_at_all(engine_service, clock,
                                                                       monkeypatch) -> None:
    from engine.runtime import schedules

    from .test_deploy_checks import _stored

    def broken(session, planned) -> None:
        raise RuntimeError("the disk filled up while arming")

    monkeypatch.setattr(schedules, "arm", broken)
    with pytest.raises(RuntimeError):
        engine_service.runtime.deploy([("tick.bpmn", timer_bpmn("timeCycle", "0 0 9 ? * MON-FRI"))])
    assert _stored(engine_service) == (0, 0, 0)  # no version, no file, no timer: a re-deploy starts anew
    monkeypatch.undo()
    engine_service.runtime.deploy([("tick.bpmn", timer_bpmn("timeCycle", "0 0 9 ? * MON-FRI"))])
    assert _stored(engine_service) == (1, 1, 1)
