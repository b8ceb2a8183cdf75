"""Wiring: one object holding the store, definitions, runtime and scheduler for a process.

The API, the CLI and the tests build a `Service`; nothing here knows about HTTP.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.bpmn.definitions import Definitions
from engine.clock import Clock, SystemClock
from engine.handler import HandlerRegistry
from engine.runtime.facade import Runtime
from engine.store.models import Store

log = logging.getLogger("weibao")

DEFAULT_PROCESSES = Path(__file__).resolve().parent.parent / "processes"


def default_database_url() -> str:
    return os.environ.get("WEIBAO_DATABASE_URL") or "sqlite:///weibao.sqlite3"


@dataclass
class Service:
    store: Store
    definitions: Definitions
    runtime: Runtime
    clock: Clock
    settings: dict[str, Any] = field(default_factory=dict)
    scheduler: Any = None
    tokens: Any = None  # users.TokenCache: who a bearer token belongs to

    def deploy_processes(self, directory: str | Path | None = None) -> list[Any]:
        directory = Path(directory or self.settings.get("processes_dir") or DEFAULT_PROCESSES)
        if not any(directory.glob("*.bpmn")) and not any(directory.glob("*.dmn")):
            return []
        return self.runtime.deploy_directory(directory, actor="system")

    def start_scheduler(self, interval: float | None = None, deliver_outbox: bool | None = None) -> None:
        """Timers always; outbox delivery when asked (the `worker` command, or settings)."""
        from engine.outbox import Deliverer
        from engine.runtime.scheduler import Scheduler

        deliver = self.settings.get("deliver_outbox", False) if deliver_outbox is None else deliver_outbox
        deliverer = Deliverer(self.store, self.clock, self.settings) if deliver else None
        every = interval or self.settings.get("timer_interval", 1.0)
        self.scheduler = Scheduler(self.runtime, every, deliverer)
        self.scheduler.start()

    def close(self) -> None:
        if self.scheduler is not None:
            self.scheduler.stop()
        self.store.dispose()


def build_service(
    database_url: str | None = None,
    *,
    clock: Clock | None = None,
    handlers: Iterable[Callable[..., Any]],
    settings: dict[str, Any] | None = None,
    sla: Any = None,
    create_schema: bool = True,
) -> Service:
    clock = clock or SystemClock()
    settings = dict(settings or {})
    store = Store(database_url or default_database_url())
    if create_schema:
        store.create_all()
    registry = HandlerRegistry(handlers)
    if sla is None:
        from engine.sla.engine import SlaEngine

        sla = SlaEngine(clock, settings)
    definitions = Definitions(store, registry.topics(), clock, functions=set(sla.script_functions()))
    runtime = Runtime(store, definitions, registry, clock, settings, sla=sla)
    from engine.store.users import TokenCache

    tokens = TokenCache(store, float(settings.get("token_cache_seconds", 5.0)))
    return Service(store, definitions, runtime, clock, settings, tokens=tokens)
