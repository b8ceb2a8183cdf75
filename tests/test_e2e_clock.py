"""End to end: a simulation database keeps its clock across restarts of `weibao serve`, refuses to be
rewound or served on the real clock, and `serve` on SQLite delivers its outbox itself."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from .conftest import ROOT, START
from .test_e2e_serve import Server, _read_startup, weibao_command

FAULT = {"process": "fault_repair", "business_key": "INC-7",
         "data": {"summary": "Core switch down", "channel": "hotline", "contract": "network_om",
                  "level": "P2", "customer": "customer", "site_distance_km": 30}}


@pytest.fixture
def gateway() -> Iterator[tuple[str, list[Any]]]:
    """An SMS gateway that accepts everything and keeps what it got."""
    received: list[Any] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server API
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/sms", received
    server.shutdown()


def _env(work: Path, gateway_url: str) -> dict[str, str]:
    return {**os.environ, "WEIBAO_DATABASE_URL": f"sqlite:///{work / 'weibao.sqlite3'}",
            "WEIBAO_PROCESSES_DIR": str(ROOT / "processes"), "WEIBAO_SMS_GATEWAY_URL": gateway_url,
            "WEIBAO_TIMER_INTERVAL": "0.2", "PYTHONUNBUFFERED": "1"}


def _serving(work: Path, env: dict[str, str], *args: str) -> tuple[subprocess.Popen[str], Server]:
    command = [*weibao_command(), "serve", "--port", "0", "--demo", *args]
    process = subprocess.Popen(command, cwd=work, env=env, stdout=subprocess.PIPE,
                               stderr=open(work / "serve.log", "a"), text=True)
    base, tokens = _read_startup(process)
    return process, Server(base, tokens, work)


def _stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    assert process.wait(timeout=30) == 0


def _refused(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([*weibao_command(), *args], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    return done.stderr


def test_a_simulation_survives_restarts_and_cannot_be_rewound(tmp_path: Path, gateway) -> None:
    gateway_url, received = gateway
    env = _env(tmp_path, gateway_url)
    process, server = _serving(tmp_path, env, "--clock", "manual", "--clock-start", START.isoformat())
    try:
        status, fault = server.call("POST", "/instances", "service_desk", FAULT)
        assert status == 201, fault
        status, moved = server.call("POST", "/clock", "process_owner", {"advance": "P1D"})
        assert status == 200 and moved["fired"] >= 1
        # serve on SQLite delivers the notifications itself; nothing else may run on the file.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            outbox = server.call("GET", f"/outbox?instance={fault['id']}", "admin")[1]["items"]
            if outbox and all(m["status"] != "pending" for m in outbox):
                break
            time.sleep(0.2)  # waiting for the server's scheduler, not for simulated time
        assert outbox and {m["status"] for m in outbox} == {"sent"}, outbox
        assert len(received) == len([m for m in outbox if m["channel"] == "sms"])
    finally:
        _stop(process)

    moved_to = datetime.fromisoformat(moved["now"])
    process, server = _serving(tmp_path, env, "--clock", "manual")  # no start: resume
    try:
        assert datetime.fromisoformat(server.call("GET", "/clock", "duty_engineer")[1]["now"]) == moved_to
    finally:
        _stop(process)

    rewound = _refused(env, "serve", "--port", "0", "--clock", "manual", "--clock-start", START.isoformat())
    assert "before the last recorded event" in rewound
    assert "runs on the simulation clock" in _refused(env, "serve", "--port", "0")
    assert "weibao worker --clock manual" in _refused(env, "worker")
    shown = subprocess.run([*weibao_command(), "clock", "show"], env=env, capture_output=True, text=True,
                           timeout=120)
    assert shown.stdout.startswith("mode simulation\tsimulated ")
    simulated = datetime.fromisoformat(shown.stdout.split("simulated ")[1].split("\t")[0])
    assert simulated == moved_to  # the same instant, whatever zone each side writes it in
    last_event = datetime.fromisoformat(shown.stdout.split("last event ")[1].strip())
    assert moved_to - timedelta(days=1) < last_event <= moved_to  # timers fired during the move
