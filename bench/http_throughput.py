"""Throughput over HTTP: start a one-user-task process, list the task, complete it, read the instance.

Runs the real `weibao serve` on loopback, with 1 and 8 concurrent clients, on SQLite and (when the
machine has PostgreSQL binaries) PostgreSQL. Prints instances/s and p50/p95 per call, and the ratio to
the floor: the same flow done in-process with plain SpiffWorkflow and one SQLite commit per step. On
SQLite it also prints the floor over HTTP (bench/floor_app.py): the same four calls served by plain
Flask, SpiffWorkflow and SQLite on the same server and client, without any of Weibao's features.
On PostgreSQL it then prints the throughput of one `serve` against two on the same database, the
clients split between them (scale-out as it is run: `tests/test_scale_out.py` checks its correctness).
Usage: python -m bench.http_throughput [seconds-per-run]
"""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

from bench.floor import Floor

HERE = Path(__file__).resolve().parent
CALLS = ("start", "list", "complete", "read")
SLICES = 10


def _serve(url: str, workdir: Path, extra: tuple[str, ...] = (), env_extra: dict[str, str] | None = None,
           demo: bool = True) -> tuple[subprocess.Popen[str], str, str]:
    """`demo`: create the demo users and print their tokens; a second server on the same database
    leaves them as the first made them."""
    processes = workdir / "processes"
    processes.mkdir(exist_ok=True)
    (processes / "one_task.bpmn").write_bytes((HERE / "data" / "one_task.bpmn").read_bytes())
    env = {
        **os.environ,
        "WEIBAO_DATABASE_URL": url,
        "WEIBAO_PROCESSES_DIR": str(processes),
        "WEIBAO_LOG_FORMAT": "text",
        **(env_extra or {}),
    }
    cmd = [str(Path(sys.executable).with_name("weibao")), "serve", *(["--demo"] if demo else []),
           "--port", "0", "--threads", "8", *extra]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    token, base = "", ""
    assert proc.stdout is not None
    for line in proc.stdout:
        if m := re.match(r"export WB_SERVICE_DESK=(\S+)", line.strip()):
            token = m.group(1).strip("'\"")
        if m := re.search(r"listening on (http://[^/\s]+)", line):
            base = m.group(1)
            break
    return proc, base, token


class Client:
    """One client: a persistent (keep-alive) connection, as any HTTP client library keeps."""

    def __init__(self, base: str, token: str) -> None:
        parts = urllib.parse.urlsplit(base)
        self.conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        data = json.dumps(body).encode() if body is not None else None
        self.conn.request(method, "/api/v1" + path, body=data, headers=self.headers)
        response = self.conn.getresponse()
        payload = response.read()
        if response.status >= 300:
            raise RuntimeError(f"{method} {path}: {response.status} {payload[:200]!r}")
        return json.loads(payload or b"{}")


def _flow(client: Client, times: dict[str, list[float]]) -> None:
    def timed(name: str, *args: object) -> dict:
        t0 = time.perf_counter()
        out = client.call(*args)  # type: ignore[arg-type]
        times[name].append(time.perf_counter() - t0)
        return out

    inst = timed("start", "POST", "/instances", {"process": "one_task", "data": {}})
    tasks = timed("list", "GET", f"/tasks?instance={inst['id']}")
    timed("complete", "POST", f"/tasks/{tasks['items'][0]['id']}/complete", {"data": {"done": True}})
    timed("read", "GET", f"/instances/{inst['id']}")


def run(base: str | list[str], token: str, clients: int, seconds: float,
        times: dict[str, list[float]]) -> tuple[int, float]:
    """Flows done by `clients` concurrent clients in about `seconds`, and the seconds they took; with
    several servers the clients are spread over them in turn."""
    done = [0] * clients
    stop = time.monotonic() + seconds
    bases = [base] if isinstance(base, str) else base

    def client(i: int) -> None:
        connection = Client(bases[i % len(bases)], token)
        while time.monotonic() < stop:
            _flow(connection, times)
            done[i] += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(done), time.perf_counter() - t0


def _serve_floor(workdir: Path) -> tuple[subprocess.Popen[str], str]:
    """The floor app (bench/floor_app.py) on the same server, with the same worker and thread counts."""
    port = _free_port()
    env = {**os.environ, "WEIBAO_FLOOR_DB": str(workdir / "floor.sqlite3"),
           "PYTHONPATH": os.pathsep.join(filter(None, (str(HERE.parent), os.environ.get("PYTHONPATH"))))}
    cmd = [str(Path(sys.executable).with_name("granian")), "--interface", "wsgi", "--factory", "--host",
           "127.0.0.1", "--port", str(port), "--workers", "1", "--blocking-threads", "8",
           "--log-level", "error", "bench.floor_app:make"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
    for _ in range(600):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("the floor app did not start")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def interleaved(base: str, token: str, clients: int, seconds: float, floor: Floor,
                http_floor: str | None) -> tuple[float, float, float | None, dict[str, list[float]]]:
    """The flow, the floor and the floor over HTTP in alternating slices, so that all see the same
    machine: this machine's speed changes by 2x or more within minutes, which made a floor measured
    once meaningless."""
    times: dict[str, list[float]] = {c: [] for c in CALLS}
    done = {"flow": [0, 0.0], "floor": [0, 0.0], "http": [0, 0.0]}

    def add(key: str, count: int, elapsed: float) -> None:
        done[key][0] += count
        done[key][1] += elapsed

    for _ in range(SLICES):
        add("flow", *run(base, token, clients, seconds / SLICES, times))
        add("floor", *floor.run(seconds / SLICES))
        if http_floor is not None:
            add("http", *run(http_floor, "", clients, seconds / SLICES, {c: [] for c in CALLS}))
    rates = {k: n / s if s else None for k, (n, s) in done.items()}
    return rates["flow"] or 0.0, rates["floor"] or 0.0, rates["http"], times


def _line(label: str, clients: int, rate: float, floor_rate: float, http_rate: float | None,
          times: dict[str, list[float]]) -> str:
    calls = "  ".join(
        f"{c} p50 {statistics.median(v) * 1000:.1f}/p95 {statistics.quantiles(v, n=20)[18] * 1000:.1f} ms"
        for c, v in times.items()
    )
    over_http = f", floor over HTTP {http_rate:5.1f} ({rate / http_rate:.2f} of it)" if http_rate else ""
    return (f"{label:10} {clients} client(s): {rate:6.1f} instances/s, floor {floor_rate:5.1f} "
            f"({rate / floor_rate:.2f} of floor){over_http}  {calls}")


def report(label: str, url: str, seconds: float, floor: Floor) -> None:
    with tempfile.TemporaryDirectory() as workdir:
        proc, base, token = _serve(url, Path(workdir))
        floor_proc, http_floor = _serve_floor(Path(workdir)) if label == "sqlite" else (None, None)
        try:
            for target, key in ((base, token), (http_floor, "")):
                if target is not None:
                    warm = Client(target, key)
                    for _ in range(20):
                        _flow(warm, {c: [] for c in CALLS})
            for clients in (1, 8):
                print(_line(label, clients, *interleaved(base, token, clients, seconds, floor, http_floor)))
        finally:
            for p in (proc, floor_proc):
                if p is not None:
                    p.terminate()
                    p.wait(timeout=30)


def scale_out(url: str, seconds: float) -> None:
    """One server against two on one PostgreSQL, 8 clients, alternating in slices like `interleaved`."""
    with tempfile.TemporaryDirectory() as workdir:
        first, base, token = _serve(url, Path(workdir))
        second, other, _ = _serve(url, Path(workdir), demo=False)
        try:
            for target in (base, other):
                for _ in range(20):
                    _flow(Client(target, token), {c: [] for c in CALLS})
            done = {1: [0, 0.0], 2: [0, 0.0]}
            for _ in range(SLICES):
                for servers, bases in ((1, [base]), (2, [base, other])):
                    count, elapsed = run(bases, token, 8, seconds / SLICES, {c: [] for c in CALLS})
                    done[servers][0] += count
                    done[servers][1] += elapsed
            one, two = (n / s for n, s in done.values())
            print(f"postgresql 8 clients: 1 serve {one:6.1f} instances/s, 2 serve {two:6.1f} instances/s "
                  f"({two / one:.2f}x; {os.cpu_count()} CPUs shared by servers, clients and PostgreSQL)")
        finally:
            for p in (first, second):
                p.terminate()
                p.wait(timeout=30)


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
    floor = Floor()
    print("floor: plain SpiffWorkflow, one SQLite commit per step, in-process; measured in slices between "
          "the slices of each run")
    with tempfile.TemporaryDirectory() as tmp:
        report("sqlite", f"sqlite:///{tmp}/bench.sqlite3", seconds, floor)
    sys.path.insert(0, str(HERE.parent))
    from tests.pgserver import PgServer

    server = PgServer()
    if not server.available:
        print("postgresql: skipped (no PostgreSQL binaries)")
        return
    url = server.start()
    try:
        report("postgresql", url, seconds, floor)
        scale_out(url, seconds)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
