"""End to end: `weibao worker` fires timers that came due while no process was running."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

from sqlalchemy import select

from api.compose import product_service
from engine.actor import Actor
from engine.clock import ManualClock
from engine.store.models import OpenTask

from .conftest import ROOT, START
from .test_e2e_serve import weibao_command

# A small diagram of its own (four-hour repair timer escalating by SMS) keeps this test independent of
# how the shipped processes evolve.
STANDIN = Path(__file__).resolve().parent / "data" / "e2e" / "fault_repair.bpmn"
WAIT_SECONDS = 60


def _escalated(url: str) -> list[str]:
    service = product_service(url)
    try:
        with service.store.read() as session:
            query = select(OpenTask.element_id).where(OpenTask.element_id == "Escalation")
            return list(session.scalars(query))
    finally:
        service.close()


def test_worker_fires_overdue_timers(tmp_path: Path) -> None:
    processes = tmp_path / "processes"
    processes.mkdir()
    shutil.copy(STANDIN, processes / STANDIN.name)
    shutil.copy(ROOT / "processes" / "sla_targets.dmn", processes / "sla_targets.dmn")
    url = f"sqlite:///{tmp_path / 'weibao.sqlite3'}"
    # Months ago on a simulated clock: the repair's four-hour timer is long overdue for the real clock.
    service = product_service(url, clock=ManualClock(START), settings={"processes_dir": str(processes)})
    try:
        service.deploy_processes()
        engineer = Actor("li", frozenset({"duty_engineer"}))
        data = {"summary": "UPS alarm", "contract": "network_om", "level": "P3"}
        instance = service.runtime.start("fault_repair", data, engineer, "INC-9")
        with service.store.read() as session:
            task_id = session.scalar(select(OpenTask.id).where(OpenTask.instance_id == instance))
        service.runtime.complete(task_id, {"first_answer": "looking"}, engineer)
    finally:
        service.close()
    assert _escalated(url) == []

    env = {**os.environ, "WEIBAO_DATABASE_URL": url, "WEIBAO_PROCESSES_DIR": str(processes)}
    with open(tmp_path / "worker.log", "w") as log:
        worker = subprocess.Popen([*weibao_command(), "worker"], env=env, stdout=log, stderr=log)
        try:
            deadline = time.monotonic() + WAIT_SECONDS
            while not _escalated(url) and time.monotonic() < deadline and worker.poll() is None:
                time.sleep(0.2)  # waiting for another process, not for simulated time
            assert _escalated(url) == ["Escalation"], (tmp_path / "worker.log").read_text()
        finally:
            worker.terminate()
            assert worker.wait(timeout=30) == 0
