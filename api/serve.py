"""`weibao serve` and `weibao worker`: build the service, deploy processes/, run the scheduler."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from datetime import datetime
from typing import Any

from engine.clock import ManualClock, SystemClock
from engine.errors import DefinitionInvalid
from engine.service import Service, build_service

from . import demo
from .app import create_app

log = logging.getLogger("weibao")


def settings_from_env() -> dict[str, Any]:
    settings: dict[str, Any] = {}
    if os.environ.get("WEIBAO_PROCESSES_DIR"):
        settings["processes_dir"] = os.environ["WEIBAO_PROCESSES_DIR"]
    for key in ("timer_interval", "token_cache_seconds"):
        if os.environ.get(f"WEIBAO_{key.upper()}"):
            settings[key] = float(os.environ[f"WEIBAO_{key.upper()}"])
    for key in OUTBOX_ENV:
        value = os.environ.get(f"WEIBAO_{key.upper()}")
        if value:
            settings[key] = int(value) if key == "smtp_port" else value
    if os.environ.get("WEIBAO_DELIVER_OUTBOX"):
        settings["deliver_outbox"] = os.environ["WEIBAO_DELIVER_OUTBOX"] not in ("0", "false", "no")
    return settings


# Outbox delivery settings, each read from WEIBAO_<NAME> (e.g. WEIBAO_SMTP_HOST).
OUTBOX_ENV = ("smtp_host", "smtp_port", "smtp_tls", "smtp_user", "smtp_password", "smtp_from", "mail_domain",
              "webhook_secret", "sms_gateway_url")


def _manual_clock(start: str | None) -> ManualClock:
    if not start:
        # Rehearsals start from the real present so that working calendars and dates look familiar.
        return ManualClock(SystemClock().now().replace(microsecond=0))
    moment = datetime.fromisoformat(start)
    if moment.tzinfo is None:
        raise SystemExit("--clock-start needs an offset, e.g. 2026-09-30T09:00:00+08:00")
    return ManualClock(moment)


def _stop_on_sigterm() -> None:
    def stop(signum: int, frame: Any) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)


def _prepare(args: argparse.Namespace, manual: bool) -> Service:
    clock = _manual_clock(getattr(args, "clock_start", None)) if manual else None
    service = build_service(clock=clock, settings=settings_from_env())
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
    lines = demo.export_lines(demo.create_demo_users(service.store, service.clock))
    print("# Demo users, one per group and role; paste these lines into the shell you use curl from:")
    print("\n".join(lines), flush=True)
    if tokens_file:
        demo.write_tokens_file(tokens_file, lines)
        print(f"# (also written to {tokens_file})", flush=True)


def serve(args: argparse.Namespace) -> int:
    from waitress import create_server

    manual = args.clock == "manual"
    service = _prepare(args, manual)
    try:
        app = create_app({"WEIBAO_SERVICE": service, "WEIBAO_MANUAL_CLOCK": manual})
        if args.demo:
            _print_demo_tokens(service, args.tokens_file)
        try:
            server: Any = create_server(app, host=args.host, port=args.port, threads=args.threads)
        except OSError as exc:
            print(f"weibao: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
            return 1
        service.start_scheduler()
        _stop_on_sigterm()
        # The last line on standard output: scripts wait for it, and it names the port when --port 0.
        print(f"Weibao listening on http://{args.host}:{server.effective_port}/api/v1 "
              f"(docs: /api/v1/docs, clock: {args.clock})", flush=True)
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        service.close()
    return 0


def worker(args: argparse.Namespace) -> int:
    service = _prepare(args, manual=False)
    stopped = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopped.set())
    try:
        # The worker is where notifications leave the building (serve only when asked to).
        service.start_scheduler(deliver_outbox=service.settings.get("deliver_outbox", True))
        log.info("worker firing timers and delivering the outbox every %ss", service.scheduler.interval)
        stopped.wait()
    finally:
        service.close()
    return 0
