"""End to end: one `weibao serve` per port and per SQLite file; a second one is refused, not started.

Before, a second server on a busy port shared it with the first (granian binds with SO_REUSEPORT),
requests alternated between the two, and its `--demo` replaced the first one's tokens.
"""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

from api import exclusive

from .conftest import ROOT, START
from .test_e2e_serve import Server, _read_startup, weibao_command


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _env(database: Path) -> dict[str, str]:
    return {**os.environ, "WEIBAO_DATABASE_URL": f"sqlite:///{database}",
            "WEIBAO_PROCESSES_DIR": str(ROOT / "processes"), "PYTHONUNBUFFERED": "1"}


def _serve(*args: str) -> list[str]:
    return [*weibao_command(), "serve", "--demo", "--clock", "manual", "--clock-start", START.isoformat(),
            *args]


def test_a_second_serve_on_the_same_port_or_file_is_refused(tmp_path: Path) -> None:
    port = _free_port()
    first_db = tmp_path / "first.sqlite3"
    with open(tmp_path / "first.log", "w") as log:
        first = subprocess.Popen(_serve("--port", str(port)), cwd=tmp_path, env=_env(first_db),
                                 stdout=subprocess.PIPE, stderr=log, text=True)
        try:
            base, tokens = _read_startup(first)
            server = Server(base, tokens, tmp_path)

            other_db = tmp_path / "other.sqlite3"
            same_port = subprocess.run(_serve("--port", str(port)), cwd=tmp_path, env=_env(other_db),
                                       capture_output=True, text=True, timeout=120)
            assert same_port.returncode == 1
            assert f"port {port} on 127.0.0.1 is in use" in same_port.stderr
            assert "export WB_" not in same_port.stdout  # refused before creating anything
            assert not other_db.exists()

            same_file = subprocess.run(_serve("--port", "0"), cwd=tmp_path, env=_env(first_db),
                                       capture_output=True, text=True, timeout=120)
            assert same_file.returncode == 1
            assert f"{first_db} is in use by weibao process {first.pid}" in same_file.stderr
            assert "export WB_" not in same_file.stdout

            worker = subprocess.run([*weibao_command(), "worker"], env=_env(first_db), capture_output=True,
                                    text=True, timeout=120)
            assert worker.returncode == 1 and "is in use by weibao process" in worker.stderr

            # The first server still answers alone, and its demo tokens were not replaced.
            status, health = server.call("GET", "/health")
            assert status == 200 and health["clock"] == "manual"
            assert server.call("GET", "/processes", "duty_engineer")[0] == 200
        finally:
            first.terminate()
            assert first.wait(timeout=30) == 0

    # Once the first server has ended, the file is free again: the lock ended with the process.
    lock = exclusive.lock_database(f"sqlite:///{first_db}")
    assert lock is not None
    lock.close()
