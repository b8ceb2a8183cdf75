"""End to end: the real `weibao serve` process, driven over HTTP the way the README walkthrough does.

The server runs on a free loopback port, a temporary SQLite file and the simulation clock, with the
demo users and the shipped processes/. Tasks are found by their element ids in fault_repair.bpmn.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from .conftest import ROOT, START

STARTUP_SECONDS = 60


class Server:
    def __init__(self, base: str, tokens: dict[str, str], work: Path) -> None:
        self.base, self.tokens, self.work = base, tokens, work

    def call(self, method: str, path: str, user: str | None = None, body: Any = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if user:
            request.add_header("Authorization", f"Bearer {self.tokens[user]}")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")


def weibao_command() -> list[str]:
    script = Path(sys.executable).with_name("weibao")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from api.cli import main; sys.exit(main())"]


def _read_startup(process: subprocess.Popen[str]) -> tuple[str, dict[str, str]]:
    """Token lines, then the listening line; stdout carries nothing else."""
    tokens: dict[str, str] = {}
    deadline = time.monotonic() + STARTUP_SECONDS
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            raise AssertionError(f"weibao serve exited early with {process.wait()}")
        if line.startswith("export WB_"):
            name, _, token = line.removeprefix("export WB_").strip().partition("=")
            tokens[name.lower()] = token
        elif line.startswith("Weibao listening on "):
            return line.split()[3], tokens
    raise AssertionError("weibao serve did not start in time")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    work = tmp_path_factory.mktemp("e2e")
    env = {**os.environ, "WEIBAO_DATABASE_URL": f"sqlite:///{work / 'weibao.sqlite3'}",
           "WEIBAO_PROCESSES_DIR": str(ROOT / "processes"), "PYTHONUNBUFFERED": "1"}
    command = [*weibao_command(), "serve", "--port", "0", "--demo", "--clock", "manual",
               "--clock-start", START.isoformat(), "--tokens-file", str(work / "demo.env")]
    with open(work / "stderr.log", "w") as log:
        process = subprocess.Popen(command, cwd=work, env=env, stdout=subprocess.PIPE, stderr=log, text=True)
        try:
            base, tokens = _read_startup(process)
            yield Server(base, tokens, work)
        finally:
            process.terminate()
            assert process.wait(timeout=30) == 0  # SIGTERM is a clean shutdown


def test_demo_tokens_are_printed_and_written(server: Server) -> None:
    from engine.store.users import GROUPS, ROLES

    assert set(GROUPS) | set(ROLES) <= set(server.tokens)
    written = (server.work / "demo.env").read_text().split()
    expected = [f"WB_{name.upper()}={token}" for name, token in server.tokens.items()]
    assert [word for word in written if word.startswith("WB_")] == expected
    assert (server.work / "demo.env").stat().st_mode & 0o077 == 0
    status, health = server.call("GET", "/health")
    assert status == 200 and health["scheduler"] == "running" and health["clock"] == "manual"
    assert datetime.fromisoformat(health["now"]) >= START  # the simulation clock starts where it was told
    assert server.call("GET", "/processes")[0] == 401
    status, processes = server.call("GET", "/processes", "duty_engineer")
    assert "fault_repair" in [p["key"] for p in processes["items"]]


def open_tasks(server: Server, user: str, instance_id: str) -> dict[str, dict[str, Any]]:
    status, tasks = server.call("GET", f"/tasks?instance={instance_id}", user)
    assert status == 200
    return {t["element_id"]: t for t in tasks["items"]}


def test_readme_walkthrough(server: Server) -> None:
    # 1-2. The service desk reports a P2 fault for the demo customer; the response clock runs.
    status, fault = server.call("POST", "/instances", "service_desk", {
        "process": "fault_repair", "business_key": "INC-1001",
        "data": {"summary": "Core switch down", "channel": "hotline", "contract": "network_om", "level": "P2",
                 "customer": "customer", "site_distance_km": 30}})
    assert status == 201, fault
    clocks = {c["clock"]: c for c in fault["sla"]}
    assert clocks["response"]["state"] == "running"

    # 3. The service desk records the impact and confirms the level.
    impact = open_tasks(server, "service_desk", fault["id"])["Task_record_impact"]
    status, _ = server.call("POST", f"/tasks/{impact['id']}/complete", "service_desk", {"data": {
        "business_impact": "partial", "outage_minutes": 30, "affected_percent": 40, "safety_hazard": False}})
    assert status == 200
    level = open_tasks(server, "service_desk", fault["id"])["Task_confirm_level"]
    confirmed = {"data": {"level": "P2"}}
    status, _ = server.call("POST", f"/tasks/{level['id']}/complete", "service_desk", confirmed)
    assert status == 200

    # 4. The roster gave the phone diagnosis to the engineer on shift; a colleague cannot take it.
    diagnosis = open_tasks(server, "duty_engineer", fault["id"])["Task_phone_diagnosis"]
    assert diagnosis["assignee"] == "duty_engineer"
    status, refused = server.call("POST", f"/tasks/{diagnosis['id']}/claim", "duty_engineer2")
    assert status == 409 and refused["error"]["details"]["assignee"] == "duty_engineer"

    # 5. Two hours without a fix: moving the simulation clock escalates to the senior engineers.
    status, moved = server.call("POST", "/clock", "process_owner", {"advance": "PT2H1M"})
    assert status == 200 and moved["fired"] >= 1
    # network_om's tier-2 rung (seed 001 line 13 §1.1.2 第1条) hands the senior engineers a task
    assert "Task_handle_rung" in open_tasks(server, "senior_engineer", fault["id"])
    status, outbox = server.call("GET", f"/outbox?instance={fault['id']}", "admin")
    assert "senior_engineer" in [m["recipient"] for m in outbox["items"]]
    status, fault = server.call("GET", f"/instances/{fault['id']}", "service_desk")
    assert {c["clock"]: c["state"] for c in fault["sla"]}["response"] == "breached"

    # 6. The auditor reads the history and checks its hash chain; changing anything is refused.
    status, history = server.call("GET", f"/instances/{fault['id']}/history", "auditor")
    types = [e["type"] for e in history["items"]]
    assert types[0] == "instance_started" and "sla_escalated" in types and "sla_breached" in types
    status, verified = server.call("GET", f"/instances/{fault['id']}/verify", "auditor")
    assert verified == {"verified": True, "first_bad_seq": None, "events": history["total"],
                        "checkpoint": None, "problems": []}  # no witness configured: the chain alone
    status, refused = server.call("POST", f"/instances/{fault['id']}/cancel", "auditor", {"reason": "x"})
    assert status == 403 and refused["error"]["code"] == "forbidden"

    # The SLA report of the day counts the breached response clock.
    day = {"from": START.isoformat(), "to": (START + timedelta(days=1)).isoformat()}
    period = urllib.parse.urlencode(day)
    status, report = server.call("GET", f"/reports/sla?{period}&process=fault_repair", "auditor")
    assert status == 200
    rows = [r for r in report["items"] if r["clock"] == "response"]
    assert [(r["contract"], r["breached"]) for r in rows] == [("network_om", 1)]

    # The customer sees their own fault.
    status, mine = server.call("GET", "/instances", "customer")
    assert [i["id"] for i in mine["items"]] == [fault["id"]]
