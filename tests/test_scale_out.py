"""Several processes on one PostgreSQL: two `weibao serve` (one with two worker processes) and one
`weibao worker`. Every due timer fires exactly once and none is missed, while the same task completions
are sent to both servers at once: exactly one of each pair is applied, the other is a clean 409."""

from __future__ import annotations

import json
import os
import random
import subprocess
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from engine.audit.verify import verify_all
from engine.store.migrate import create_all, drop_all
from engine.store.models import EventRow, OpenTask, PendingTimer
from engine.store.users import add_user

from .conftest import ROOT, make_service
from .engine_support import TEST_HANDLERS, deploy
from .test_e2e_serve import _read_startup, weibao_command

INSTANCES = 1000
RACED = 200  # one-task instances whose task both servers are asked to complete
WAIT_SECONDS = 300


def _counts(svc: Any) -> tuple[dict[str, int], int]:
    with svc.store.read() as s:
        fired = s.execute(
            select(EventRow.instance_id, func.count())
            .where(EventRow.type == "timer_fired")
            .group_by(EventRow.instance_id)
        ).all()
        escalations = s.scalar(
            select(func.count()).select_from(OpenTask).where(OpenTask.element_id == "Escalate")
        )
    return dict(fired), escalations or 0


def _complete(base: str, token: str, task_id: str) -> int:
    request = urllib.request.Request(
        f"{base}/tasks/{task_id}/complete",
        data=json.dumps({"data": {"done": True}}).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def _processes(env: dict[str, str], tmp_path: Path) -> tuple[list[subprocess.Popen[str]], list[str]]:
    commands = [["serve", "--port", "0", "--workers", "2"], ["serve", "--port", "0"], ["worker"]]
    procs: list[subprocess.Popen[str]] = []
    bases: list[str] = []
    try:
        for n, command in enumerate(commands):
            log = open(tmp_path / f"process{n}.log", "w")
            out = subprocess.PIPE if command[0] == "serve" else log
            # -v: the worker says it is running in an info line, which the quiet default leaves out
            proc = subprocess.Popen([*weibao_command(), "-v", *command], env=env, stdout=out, stderr=log,
                                    text=True)
            procs.append(proc)
            if command[0] == "serve":
                bases.append(_read_startup(proc)[0])
            else:
                _wait_for_line(proc, tmp_path / f"process{n}.log", "worker firing timers")
    except BaseException:
        # Left running, they would fire other tests' timers on the shared database by the real clock.
        for proc in procs:
            proc.kill()
            proc.wait(timeout=60)
        raise
    return procs, bases


def _wait_for_line(proc: subprocess.Popen[str], log: Path, line: str) -> None:
    """Until the process says it is running: a SIGTERM before it handles signals would kill it."""
    deadline = time.monotonic() + 60
    while line not in log.read_text() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)  # polling another process's log, not waiting for simulated time
    assert line in log.read_text(), log.read_text()[-3000:]


def _race(bases: list[str], token: str, task_ids: list[str]) -> dict[str, list[int]]:
    """Each task is sent to every server; the requests of all tasks run shuffled on eight threads."""
    jobs = [(task_id, base) for task_id in task_ids for base in bases]
    random.Random(7).shuffle(jobs)
    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda job: _complete(job[1], token, job[0]), jobs))
    outcome: dict[str, list[int]] = {t: [] for t in task_ids}
    for (task_id, _), code in zip(jobs, codes, strict=True):
        outcome[task_id].append(code)
    return outcome


def _prepare(svc: Any) -> tuple[set[str], list[str], str]:
    drop_all(svc.store)
    create_all(svc.store)
    deploy(svc, "rework.bpmn")
    svc.runtime.deploy([("one_task.bpmn", (ROOT / "bench" / "data" / "one_task.bpmn").read_bytes())])
    # Started months ago on the simulated clock: for the processes' real clock every 2-hour timer is due.
    timed = {svc.runtime.start("rework", {"summary": f"#{n}"}, "desk") for n in range(INSTANCES)}
    raced = [svc.runtime.start("one_task", {}, "desk") for _ in range(RACED)]
    with svc.store.read() as s:
        task_ids = list(s.scalars(select(OpenTask.id).where(OpenTask.instance_id.in_(raced))))
    return timed, task_ids, add_user(svc.store, svc.clock, "desk", groups=["service_desk"])


def test_servers_and_a_worker_fire_each_timer_once_and_apply_each_completion_once(pg_url, clock, tmp_path):
    svc = make_service(pg_url, clock, handlers=TEST_HANDLERS)
    timed, task_ids, token = _prepare(svc)
    env = {
        **os.environ,
        "WEIBAO_DATABASE_URL": pg_url,
        "WEIBAO_PROCESSES_DIR": str(tmp_path),
        "WEIBAO_TIMER_INTERVAL": "0.5",
        "PYTHONUNBUFFERED": "1",
    }
    procs, bases = _processes(env, tmp_path)
    try:
        outcome = _race(bases, token, task_ids)
        deadline = time.monotonic() + WAIT_SECONDS
        while len(_counts(svc)[0]) < INSTANCES and time.monotonic() < deadline:
            time.sleep(0.5)  # polling what other processes write, not waiting for simulated time
    finally:
        for proc in procs:
            proc.terminate()
        codes = [p.wait(timeout=60) for p in procs]
    # Every writer has exited, so these counts are final: a duplicate that would come late is in them,
    # and no timer of these instances is left pending that could fire again.
    fired, escalations = _counts(svc)
    with svc.store.read() as s:
        left = s.scalar(select(func.count()).select_from(PendingTimer).where(PendingTimer.kind == "timer"))
    logs = "\n".join((tmp_path / f"process{n}.log").read_text()[-3000:] for n in range(len(procs)))
    assert set(fired) == timed, f"missed {len(timed - set(fired))}\n{logs}"
    assert set(fired.values()) == {1}, "a timer fired twice"
    assert left == 0, "a timer is still pending"
    assert escalations == INSTANCES
    assert all(sorted(c) == [200, 409] for c in outcome.values()), [
        c for c in outcome.values() if 200 not in c
    ]
    with svc.store.read() as s:
        completed = s.execute(
            select(EventRow.task_id, func.count())
            .where(EventRow.type == "task_completed", EventRow.task_id.in_(task_ids))
            .group_by(EventRow.task_id)
        ).all()
    assert dict(completed) == {t: 1 for t in task_ids}
    assert codes == [0, 0, 0], logs
    audit = verify_all(svc.store, svc.settings)  # three writers, and every instance's chain is whole
    assert (audit["instances"], audit["verified"], audit["failed"]) == (INSTANCES + RACED,) * 2 + ([],), audit
    svc.close()
