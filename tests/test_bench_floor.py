"""The floor app the HTTP benchmark compares with must do the same flow, or its figure means nothing.
It runs as the benchmark runs it: its own granian process, away from the engine's SpiffWorkflow
patches that this test process has loaded."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bench.http_throughput import CALLS, Client, _flow, _serve_floor


def test_floor_app_runs_the_benchmark_flow_to_the_end(tmp_path: Path) -> None:
    proc, base = _serve_floor(tmp_path)
    try:
        client = Client(base, "")
        times: dict[str, list[float]] = {c: [] for c in CALLS}
        _flow(client, times)
        _flow(client, times)
        assert [len(v) for v in times.values()] == [2, 2, 2, 2]
        started = client.call("POST", "/instances", {"process": "one_task", "data": {}})
        instance_id = started["id"]
        tasks = client.call("GET", f"/tasks?instance={instance_id}")
        assert tasks["total"] == 1
        done = client.call("POST", f"/tasks/{tasks['items'][0]['id']}/complete", {"data": {"done": True}})
        assert done == {"instance_id": instance_id, "status": "completed", "next_tasks": [], "incidents": []}
        assert client.call("GET", f"/instances/{instance_id}")["status"] == "completed"
        assert client.call("GET", f"/tasks?instance={instance_id}")["total"] == 0
    finally:
        proc.terminate()
        proc.wait(timeout=30)

    # One commit per step, in WAL mode like the service's store: every finished state is on disk.
    with sqlite3.connect(tmp_path / "floor.sqlite3") as check:
        assert check.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        rows = check.execute("SELECT status, state FROM wf").fetchall()
    assert [status for status, _ in rows] == ["completed"] * 3
    assert all('"done": true' in state for _, state in rows)
