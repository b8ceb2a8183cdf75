"""Index costs at 1,000 and 100,000 waiting instances: the timer poll and `GET /tasks`' query.

Rows are bulk-inserted straight into the instance, open-task and pending-timer tables (the costs
measured are those of the indexes, not of creating instances). Target: within 2x from 1k to 100k.
Usage: python -m bench.scale [database-url-prefix]
"""

from __future__ import annotations

import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select

from engine.actor import Actor
from engine.clock import ManualClock
from engine.runtime.timers import due
from engine.service import build_service
from engine.store.models import Instance, OpenTask, PendingTimer, ProcessVersion, TaskGroup
from engine.store.paging import Page
from engine.store.worklist import tasks

NOW = datetime(2026, 3, 2, 1, tzinfo=UTC)
GROUPS = ["duty_engineer", "senior_engineer", "service_desk", "technical_lead", "customer", "vendor"]
PEOPLE = [f"eng{i}" for i in range(200)]


def fill(service, n: int) -> None:  # type: ignore[no-untyped-def]
    service.runtime.deploy([("one_task.bpmn", open("bench/data/one_task.bpmn", "rb").read())])
    with service.store.write() as s:
        version_id = s.scalar(select(ProcessVersion.id))
        ids = [str(uuid.uuid4()) for _ in range(n)]
        s.execute(
            insert(Instance),
            [
                dict(
                    id=i,
                    process_key="one_task",
                    version_id=version_id,
                    status="running",
                    business_key=None,
                    parent_instance_id=None,
                    started_by="bench",
                    data={},
                    state={},
                    task_id_counter=0,
                    last_seq=0,
                    head_hash="0" * 64,
                    created_at=NOW,
                    updated_at=NOW,
                    ended_at=None,
                    lock_version=1,
                )
                for i in ids
            ],
        )
        s.execute(
            insert(OpenTask),
            [
                dict(
                    id=i,
                    instance_id=i,
                    process_key="one_task",
                    element_id="Handle",
                    name="处理",
                    candidate_groups=[GROUPS[k % len(GROUPS)]],
                    assignee=PEOPLE[k % len(PEOPLE)],
                    form=[],
                    created_at=NOW + timedelta(seconds=k),
                    due_at=None,
                )
                for k, i in enumerate(ids)
            ],
        )
        s.execute(
            insert(TaskGroup), [dict(task_id=i, group=GROUPS[k % len(GROUPS)]) for k, i in enumerate(ids)]
        )
        s.execute(
            insert(PendingTimer),
            [
                dict(
                    kind="timer",
                    instance_id=i,
                    process_key=None,
                    task_id=i,
                    element_id="Wait",
                    due_at=NOW + timedelta(hours=1, seconds=k),
                )
                for k, i in enumerate(ids)
            ],
        )


def sample(fn) -> float:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1000


def probes(n: int):  # type: ignore[no-untyped-def]
    """A store with `n` waiting instances and the three calls measured on it."""
    service = build_service(
        f"sqlite:///{tempfile.mkdtemp()}/scale.sqlite3", clock=ManualClock(NOW), handlers=[]
    )
    fill(service, n)
    service.clock.set(NOW + timedelta(hours=1, seconds=5))  # a handful of timers due
    mine = Actor("eng7", frozenset())  # assigned tasks only
    group = Actor("eng7", frozenset({"duty_engineer"}))

    def list_tasks(actor: Actor) -> None:
        with service.store.snapshot() as s:
            tasks(s, actor, Page(page=1, per_page=20))

    return service, [lambda: due(service.store, service.clock.now(), 500), lambda: list_tasks(mine),
                     lambda: list_tasks(group)]


def main(repeat: int = 300) -> None:
    (small, small_calls), (large, large_calls) = probes(1_000), probes(100_000)
    # Samples of both sizes alternate, so that the machine's ups and downs fall on both alike.
    samples: list[list[list[float]]] = [[[], []] for _ in small_calls]
    for _ in range(repeat):
        for k, (a, b) in enumerate(zip(small_calls, large_calls, strict=True)):
            samples[k][0].append(sample(a))
            samples[k][1].append(sample(b))
    labels = ("timer poll", "GET /tasks, own tasks", "GET /tasks, a group's tasks")
    for label, (a, b) in zip(labels, samples, strict=True):
        ma, mb = statistics.median(a), statistics.median(b)
        print(f"{label:28} 1k: {ma:7.2f} ms   100k: {mb:7.2f} ms   ratio {mb / ma:5.2f} (target <= 2)")
    small.close()
    large.close()


if __name__ == "__main__":
    main()
