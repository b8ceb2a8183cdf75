"""SIGKILL in the middle of completions and timer firings: after a restart every acknowledged
completion is there once, nothing is applied twice, overdue timers fire once, and the chains verify."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

from sqlalchemy import func, select

from engine.audit.verify import verify_all
from engine.store.models import EventRow, PendingTimer

from .conftest import ROOT, make_service
from .test_e2e_serve import _read_startup, weibao_command

BENCH = ROOT / "bench" / "data"
TIMERS = 60
ACKED_BEFORE_KILL = 40  # the kill lands while completions are flowing, after this many were acknowledged
WAIT_SECONDS = 120


def _call(base: str, token: str, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        f"{base}{path}",
        data=data,
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read() or b"{}")


def _start(url: str, processes: Path, log: Path) -> tuple[subprocess.Popen[str], str, str]:
    env = {
        **os.environ,
        "WEIBAO_DATABASE_URL": url,
        "WEIBAO_PROCESSES_DIR": str(processes),
        "WEIBAO_TIMER_INTERVAL": "0.2",
        "PYTHONUNBUFFERED": "1",
    }
    proc = subprocess.Popen(
        [*weibao_command(), "serve", "--port", "0", "--demo", "--threads", "4"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=open(log, "a"),
        text=True,
    )
    base, tokens = _read_startup(proc)
    return proc, base, tokens["service_desk"]


def _load(base: str, token: str, stop: threading.Event, acked: list[str]) -> None:
    while not stop.is_set():
        try:
            _, inst = _call(base, token, "POST", "/instances", {"process": "one_task", "data": {}})
            _, tasks = _call(base, token, "GET", f"/tasks?instance={inst['id']}")
            task_id = tasks["items"][0]["id"]
            status, _ = _call(base, token, "POST", f"/tasks/{task_id}/complete", {"data": {"done": True}})
            if status == 200:
                acked.append(task_id)
        except (urllib.error.URLError, ConnectionError, OSError, KeyError, IndexError):
            return  # the server is gone


def test_sigkill_loses_and_duplicates_nothing(db_url, clock, tmp_path):
    processes = tmp_path / "processes"
    processes.mkdir()
    for name in ("one_task.bpmn", "wait_until.bpmn"):
        shutil.copy(BENCH / name, processes / name)
    svc = make_service(db_url, clock, handlers=[])
    svc.deploy_processes(processes)
    # Timers already due for the real clock, so the server fires them while the load runs.
    due = [
        svc.runtime.start("wait_until", {"due_at": clock.now().isoformat()}, "desk") for _ in range(TIMERS)
    ]
    svc.close()

    log = tmp_path / "serve.log"
    proc, base, token = _start(db_url, processes, log)
    stop, acked = threading.Event(), []
    clients = [threading.Thread(target=_load, args=(base, token, stop, acked)) for _ in range(4)]
    for c in clients:
        c.start()
    deadline = time.monotonic() + WAIT_SECONDS
    while len(acked) < ACKED_BEFORE_KILL and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)  # polling the load another process serves, not waiting for simulated time
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    stop.set()
    for c in clients:
        c.join(30)
    assert acked, log.read_text()[-3000:]

    proc, base, token = _start(db_url, processes, log)  # restart: overdue timers fire at start-up
    svc = make_service(db_url, clock, handlers=[])
    try:
        deadline = time.monotonic() + WAIT_SECONDS
        while not set(_fired(svc)) >= set(due) and time.monotonic() < deadline:
            time.sleep(0.2)  # polling what another process writes, not waiting for simulated time
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    # The server has exited: nothing can be written any more, so these counts are final and a
    # duplicate that would have come late is in them.
    fired = _fired(svc)
    with svc.store.read() as s:
        completed = Counter(s.scalars(select(EventRow.task_id).where(EventRow.type == "task_completed")))
        left = s.scalar(
            select(func.count()).select_from(PendingTimer).where(PendingTimer.instance_id.in_(due))
        )
    assert all(completed[t] == 1 for t in acked), "an acknowledged completion is missing"
    assert set(completed.values()) == {1}, "a completion was applied twice"
    assert set(fired) >= set(due) and set(fired.values()) == {1}
    assert left == 0, "a timer is still pending, so it could fire again"
    assert verify_all(svc.store)["failed"] == []
    svc.close()


def _fired(svc) -> Counter[str]:
    with svc.store.read() as s:
        return Counter(s.scalars(select(EventRow.instance_id).where(EventRow.type == "timer_fired")))
