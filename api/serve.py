"""`weibao serve` and `weibao worker`: build the service, deploy processes/, run the scheduler."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import secrets
import signal
import socket
import sys
import threading
import time
from datetime import datetime
from typing import IO, Any

from engine import Settings, clock_state, users
from engine.clock import ManualClock, SystemClock
from engine.errors import DefinitionInvalid
from engine.logs import configure as configure_logging
from engine.service import Service, default_database_url

from . import demo, exclusive, serve_clock
from .app import create_app
from .compose import product_service

log = logging.getLogger("weibao")


def settings_from_env() -> Settings:
    return Settings.from_env(os.environ)


def _prepare(args: argparse.Namespace, command: str) -> Service:
    mode = getattr(args, "clock", None)
    service = product_service(clock=serve_clock.clock_for(command, mode), settings=settings_from_env())
    serve_clock.settle(service, command, mode, getattr(args, "clock_start", None))
    try:
        deployed = service.deploy_processes()
    except DefinitionInvalid as exc:
        for error in exc.errors:
            print(f"{error['file']}: {error['element_id'] or '-'}: {error['message']}", file=sys.stderr)
        service.close()
        raise SystemExit(1) from exc
    for result in deployed:
        log.info("process %s version %s %s", result.process_key, result.version,
                 "deployed" if result.created else "already deployed")
    return service


def _print_demo_tokens(service: Service, tokens_file: str | None) -> None:
    password = demo.new_password()
    lines = demo.export_lines(demo.create_demo_users(service.store, service.clock,
                                                     users.lifetime_of(service.settings), password))
    print("# Demo users, one per group and role; paste these lines into the shell you use curl from:")
    print("\n".join(lines), flush=True)
    print(f"{DEMO_SIGN_IN} {password}", flush=True)
    if tokens_file:
        demo.write_tokens_file(tokens_file, lines)
        print(f"# (also written to {tokens_file})", flush=True)


def serve(args: argparse.Namespace) -> int:
    """Deploys and prints the demo tokens here, then hands the socket to granian, whose worker
    processes (`worker_app`) each run the API and a timer scheduler on the same database."""
    from granian import Granian
    from granian.constants import Interfaces
    from granian.log import LogLevels

    manual = args.clock == "manual"
    workers = _worker_count(args, manual)
    lock = _claim(args.host, args.port)  # before anything is written: a refused server changes nothing
    service = _prepare(args, "serve")
    try:
        if args.demo:
            _print_demo_tokens(service, args.tokens_file)
        # One session key for every worker, or a cookie signed by one would be refused by the next.
        secret = service.settings.secret_key or secrets.token_urlsafe(32)
        os.environ[WORKER_OPTIONS] = json.dumps({
            "clock": args.clock, "clock_start": service.clock.now().isoformat() if manual else None,
            "parent": os.getpid(), "secret": secret, "lock_fd": lock.fileno() if lock else None,
            "verbose": bool(getattr(args, "verbose", False))})
    finally:
        service.close()  # the workers open their own connections: none may cross a fork
    port = args.port or _free_port(args.host)
    server = Granian("api.serve:worker_app", address=args.host, port=port, interface=Interfaces.WSGI,
                     factory=True, workers=workers, blocking_threads=args.threads,
                     log_level=LogLevels.error)  # its advice on thread counts is noise here
    origin = f"http://{'[' + args.host + ']' if ':' in args.host else args.host}:{port}"
    line = (f"Weibao listening on {origin}/api/v1 (console: {origin}/, docs: /api/v1/docs, "
            f"clock: {args.clock}, workers: {workers})")
    server.on_startup(lambda: _announce_from_child(args.host, port, line))
    server.serve()
    return 0


def _claim(host: str, port: int) -> IO[str] | None:
    """The database lock (SQLite), held open until the server ends, after checking the port is free."""
    try:
        if port:
            exclusive.check_port_free(host, port)
        return exclusive.lock_database(default_database_url())
    except exclusive.Refused as exc:
        print(f"weibao serve: {exc}", file=sys.stderr)
        raise SystemExit(1) from exc


def _announce_from_child(host: str, port: int, line: str) -> None:
    # A process, not a thread: granian forks its workers next, and a fork copies the locks another
    # thread holds but not the thread that would release them.
    if os.fork() == 0:
        try:
            _announce(host, port, line)
        finally:
            os._exit(0)


def _announce(host: str, port: int, line: str) -> None:
    """The last line on standard output: scripts wait for it, and it names the port when --port 0. It
    is printed once a connection is accepted, which is when a worker serves."""
    for _ in range(1200):
        try:
            socket.create_connection((host, port), timeout=0.5).close()
        except OSError:
            time.sleep(0.05)
            continue
        print(line, flush=True)
        return
    log.error("no worker accepted connections on %s:%s within a minute", host, port)


WORKER_OPTIONS = "WEIBAO_SERVE_WORKER"
DEMO_SIGN_IN = "# Console sign-in: any demo user above by name (service_desk, auditor, …), password"


def _worker_count(args: argparse.Namespace, manual: bool) -> int:
    workers = max(1, args.workers)
    url = os.environ.get("WEIBAO_DATABASE_URL") or "sqlite"
    if workers > 1 and (manual or url.startswith("sqlite")):
        raise SystemExit("--workers above 1 needs PostgreSQL and the system clock: SQLite has one writer "
                         "process, and a manual clock lives in one process")
    return workers


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def worker_app() -> Any:
    """The WSGI app of one granian worker process: its own service, scheduler and connections."""
    options = json.loads(os.environ.get(WORKER_OPTIONS) or "{}")
    _die_with_parent(options.get("parent"))
    if options.get("lock_fd") is not None:
        # The parent holds the lock; a copy here would keep it for a moment after the parent is killed.
        with contextlib.suppress(OSError):
            os.close(options["lock_fd"])
    configure_logging(verbose=bool(options.get("verbose")))
    manual = options.get("clock") == "manual"
    clock = ManualClock(datetime.fromisoformat(options["clock_start"])) if manual else None
    service = product_service(clock=clock, settings=settings_from_env())
    if clock is not None:
        store = service.store  # every move is saved: a restart resumes the simulation there
        clock.on_move = lambda now: clock_state.save(store, clock_state.SIMULATION, now, SystemClock().now())
    app = create_app({"WEIBAO_SERVICE": service, "WEIBAO_MANUAL_CLOCK": manual,
                      "SECRET_KEY": options.get("secret") or service.settings.secret_key or None})
    # One process serves a SQLite file (the lock), so no worker can deliver next to it: serve does.
    deliver = service.settings.deliver_outbox
    service.start_scheduler(deliver_outbox=service.store.is_sqlite if deliver is None else deliver)
    return app


def _die_with_parent(parent: int | None) -> None:
    """A worker must not outlive `weibao serve`: killed with SIGKILL, the parent cannot stop it, so the
    kernel is asked to (Linux only; elsewhere a killed server may leave its workers running)."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if parent is not None and os.getppid() != parent:
        os._exit(1)  # the parent died before the request above was made


def worker(args: argparse.Namespace) -> int:
    try:
        lock = exclusive.lock_database(default_database_url())  # noqa: F841 - held while the worker runs
    except exclusive.Refused as exc:
        print(f"weibao worker: {exc}", file=sys.stderr)
        return 1
    service = _prepare(args, "worker")
    stopped = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopped.set())
    try:
        # The worker is where notifications leave the building (serve only when asked to).
        scheduler = service.start_scheduler(deliver_outbox=service.settings.deliver_outbox is not False)
        log.info("worker firing timers and delivering the outbox every %ss", scheduler.interval)
        stopped.wait()
    finally:
        service.close()
    return 0
