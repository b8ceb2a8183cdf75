"""Cost of one task completion on a fresh instance versus one that has been through 300 rework loops.

Prints figures; asserts nothing (targets: the old instance within 2x of the fresh one).
Usage: python -m bench.step_cost [database-url]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from engine.actor import Actor
from engine.clock import ManualClock
from engine.handler import handler
from engine.service import build_service
from engine.store.models import Instance, OpenTask

REWORK = Path(__file__).resolve().parent.parent / "tests" / "data" / "bpmn" / "rework.bpmn"
ENGINEER = Actor("bench", frozenset({"duty_engineer"}))
SAMPLES = 60


@handler("echo")
def echo(ctx):  # type: ignore[no-untyped-def]
    return {"echoed": ctx.data.get("note", "")}


def work_task(service, iid: str) -> str:  # type: ignore[no-untyped-def]
    with service.store.read() as s:
        return s.scalars(
            select(OpenTask.id).where(OpenTask.instance_id == iid, OpenTask.element_id == "Work")
        ).one()


def timed_steps(service, iid: str, n: int) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for i in range(n):
        task = work_task(service, iid)
        t0 = time.perf_counter()
        service.runtime.complete(task, {"ok": False, "note": f"step {i}"}, ENGINEER)
        out.append(time.perf_counter() - t0)
    return out


def main(url: str | None = None) -> None:
    url = url or f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
    service = build_service(url, clock=ManualClock(datetime(2026, 3, 2, 1, tzinfo=UTC)), handlers=[echo])
    service.runtime.deploy([("rework.bpmn", REWORK.read_bytes())])
    old = service.runtime.start("rework", {"summary": "old"}, "b")
    timed_steps(service, old, 300)
    fresh: list[float] = []
    aged: list[float] = []
    for _ in range(SAMPLES):  # alternating, so that the machine's ups and downs fall on both alike
        fresh += timed_steps(service, service.runtime.start("rework", {"summary": "fresh"}, "b"), 1)
        aged += timed_steps(service, old, 1)
    with service.store.read() as s:
        row = s.get(Instance, old)
        state_tasks, events = len(row.state["tasks"]), row.last_seq
    f_ms, a_ms = statistics.median(fresh) * 1000, statistics.median(aged) * 1000
    print(f"database: {service.store.engine.dialect.name}")
    print(f"fresh instance, median of {SAMPLES} completions: {f_ms:.2f} ms")
    print(f"after 300 rework loops ({events} events, {state_tasks} tasks kept in state): {a_ms:.2f} ms")
    print(f"ratio aged/fresh: {a_ms / f_ms:.2f} (target <= 2.0)")
    service.close()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
