"""Two operations on one instance at once: exactly one wins, the other gets a clear conflict."""

from __future__ import annotations

import threading

from engine.errors import Conflict

from .engine_support import ENGINEER, deploy, the_task, types


def race(n, action):
    barrier = threading.Barrier(n)
    outcomes: list[object] = [None] * n

    def run(i):
        barrier.wait()
        try:
            outcomes[i] = action(i)
        except Exception as exc:  # collected and asserted below
            outcomes[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return outcomes


def test_concurrent_completions_of_one_task(engine_service):
    deploy(engine_service, "rework.bpmn")
    for attempt in range(3):
        iid = engine_service.runtime.start("rework", {"summary": f"race {attempt}"}, "alice")
        task_id = the_task(engine_service, iid, "Work")
        def complete(i, task_id=task_id):
            return engine_service.runtime.complete(task_id, {"ok": True, "note": str(i)}, ENGINEER)

        outcomes = race(4, complete)
        winners = [o for o in outcomes if o == iid]
        losers = [o for o in outcomes if isinstance(o, Conflict)]
        assert len(winners) == 1 and len(losers) == 3, outcomes
        assert types(engine_service, iid).count("task_completed") == 1


def test_concurrent_claims_and_completion_lose_no_update(engine_service):
    deploy(engine_service, "rework.bpmn")
    iid = engine_service.runtime.start("rework", {"summary": "claims"}, "alice")
    task_id = the_task(engine_service, iid, "Work")

    def act(i):
        if i == 0:
            return engine_service.runtime.complete(task_id, {"ok": False}, ENGINEER)
        return engine_service.runtime.claim(task_id, ENGINEER)

    race(3, act)
    history = types(engine_service, iid)
    # Whatever the order, every change that was acknowledged is in the history exactly once.
    assert history.count("task_completed") == 1
    assert history.count("task_created") == 2
