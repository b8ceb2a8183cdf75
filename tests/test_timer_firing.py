"""The scheduler's firing loop on its own (engine/runtime/timers.py): what is due, in which order and
grouping, what a concurrent change or a failure does, and what a fired timer records."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest

from engine.errors import Conflict, EngineError
from engine.runtime import timers
from engine.store.models import PendingTimer

from .engine_support import deploy, events


def _row(kind: str, instance: str | None, process: str | None, due: Any,
         task: str | None = "t") -> PendingTimer:
    return PendingTimer(kind=kind, instance_id=instance, process_key=process, task_id=task,
                        element_id="E", due_at=due)


def test_due_is_strictly_before_now_in_order_grouped_and_limited(engine_service, clock) -> None:
    now = clock.now()
    rows = [_row("timer", "i-b", "p", now - timedelta(minutes=1)),
            _row("timer", "i-a", "p", now - timedelta(minutes=3)),
            _row("retry", "i-b", "p", now - timedelta(minutes=2)),
            _row("start", None, "daily", now - timedelta(minutes=4), task=None),
            _row("timer", "i-c", "p", now)]  # due exactly now: not yet (SpiffWorkflow fires at due < now)
    with engine_service.store.write() as s:
        s.add_all(rows)
    found = timers.due(engine_service.store, now, 10)
    assert [(key, [r.kind for r in group]) for key, group in found] == [
        ("start:daily", ["start"]), ("i-a", ["timer"]), ("i-b", ["retry", "timer"])]
    assert [key for key, _ in timers.due(engine_service.store, now, 2)] == ["start:daily", "i-a"]


def test_fire_all_counts_what_it_acted_on_and_skips_a_concurrent_change(caplog) -> None:
    calls: list[str] = []

    def instance(key: str) -> None:
        calls.append(key)
        if key == "busy":
            raise Conflict("changed meanwhile")

    work = [("a", []), ("busy", []), ("start:daily", [_row("start", None, "daily", None)])]
    with caplog.at_level(logging.INFO, logger="weibao.scheduler"):
        fired = timers.fire_all(work, instance, lambda row: calls.append(f"start {row.process_key}"),
                                lambda *_: pytest.fail("a conflict is not a failure"))
    assert (fired, calls) == (2, ["a", "busy", "start daily"])
    assert "timer for busy skipped" in caplog.text


def test_a_failure_is_handed_to_the_recorder_and_only_a_start_is_just_logged(caplog) -> None:
    recorded: list[tuple[str, str]] = []
    start_row = _row("start", None, "daily", None)

    def boom(_: object) -> None:
        raise EngineError("script broke", element_id="Compute")

    work = [("i-1", [_row("timer", "i-1", "p", None)]), ("start:daily", [start_row])]
    with caplog.at_level(logging.ERROR, logger="weibao.scheduler"):
        fired = timers.fire_all(work, boom, boom, lambda key, rows, exc: recorded.append((key, exc.message)))
    assert fired == 0 and recorded == [("i-1", "script broke")]
    (logged,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert logged.getMessage() == "timer for start:daily failed: script broke"
    assert (logged.instance_id, logged.element_id) == ("start:daily", "Compute")  # type: ignore[attr-defined]


def test_when_even_the_record_fails_the_second_error_is_logged(caplog) -> None:
    def boom(_: object) -> None:
        raise EngineError("first")

    def recorder(*_: object) -> None:
        raise EngineError("could not record", element_id="X")

    with caplog.at_level(logging.ERROR, logger="weibao.scheduler"):
        timers.fire_all([("i-1", [])], boom, boom, recorder)
    assert [r.getMessage() for r in caplog.records] == ["timer for i-1 failed: could not record"]


def test_a_fired_timer_records_when_it_was_due_and_when_it_fired(engine_service, clock) -> None:
    deploy(engine_service, "rework.bpmn")
    iid = engine_service.runtime.start("rework", {"summary": "s"}, "alice")  # Work waits, 2 h boundary
    with engine_service.store.read() as s:
        (row,) = [r for r in s.query(PendingTimer).filter_by(instance_id=iid, kind="timer")]
    clock.set(row.due_at + timedelta(minutes=7))
    assert engine_service.runtime.fire_due_timers() == 1
    (fired,) = [e for e in events(engine_service, iid) if e.type == "timer_fired"]
    assert (fired.actor, fired.element_id, fired.task_id) == ("system", row.element_id, row.task_id)
    assert fired.data == {"due_at": row.due_at.isoformat(), "fired_at": clock.now().isoformat()}
