"""Three worker processes on one PostgreSQL: every due timer fires exactly once, none is missed."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from sqlalchemy import func, select

from engine.store import EventRow, OpenTask

from .conftest import make_service
from .engine_support import TEST_HANDLERS, deploy
from .test_e2e_serve import weibao_command

INSTANCES = 1000
WORKERS = 3
WAIT_SECONDS = 300


def _counts(svc):
    with svc.store.read() as s:
        fired = s.execute(
            select(EventRow.instance_id, func.count())
            .where(EventRow.type == "timer_fired")
            .group_by(EventRow.instance_id)
        ).all()
        escalations = s.scalar(
            select(func.count()).select_from(OpenTask).where(OpenTask.element_id == "Escalate")
        )
    return dict(fired), escalations


def test_three_workers_fire_each_timer_once(pg_url, clock, tmp_path: Path):
    svc = make_service(pg_url, clock, handlers=TEST_HANDLERS)
    svc.store.drop_all()
    svc.store.create_all()
    deploy(svc, "rework.bpmn")
    # Started months ago on the simulated clock: for the workers' real clock every 2-hour timer is due.
    ids = {svc.runtime.start("rework", {"summary": f"#{n}"}, "desk") for n in range(INSTANCES)}
    env = {
        **os.environ,
        "WEIBAO_DATABASE_URL": pg_url,
        "WEIBAO_PROCESSES_DIR": str(tmp_path),
        "WEIBAO_TIMER_INTERVAL": "0.5",
    }
    logs = [open(tmp_path / f"worker{n}.log", "w") for n in range(WORKERS)]
    workers = [
        subprocess.Popen([*weibao_command(), "worker"], env=env, stdout=log, stderr=log) for log in logs
    ]
    try:
        deadline = time.monotonic() + WAIT_SECONDS
        fired, escalations = _counts(svc)
        while len(fired) < INSTANCES and time.monotonic() < deadline:
            time.sleep(0.5)  # waiting for other processes, not for simulated time
            fired, escalations = _counts(svc)
        time.sleep(2)  # a late duplicate would land now
        fired, escalations = _counts(svc)
    finally:
        for worker in workers:
            worker.terminate()
        codes = [w.wait(timeout=60) for w in workers]
        for log in logs:
            log.close()
    worker_logs = "\n".join((tmp_path / f"worker{n}.log").read_text()[-2000:] for n in range(WORKERS))
    assert set(fired) == ids, f"missed {len(ids - set(fired))}\n{worker_logs}"
    assert set(fired.values()) == {1}, "a timer fired twice"
    assert escalations == INSTANCES
    assert codes == [0] * WORKERS, "\n".join(
        (tmp_path / f"worker{n}.log").read_text()[-6000:] for n in range(WORKERS) if codes[n]
    )
    svc.close()
