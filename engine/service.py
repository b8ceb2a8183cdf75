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

from .clock import Clock, SystemClock
from .definitions import Definitions
from .handler import HandlerRegistry
from .runtime import Runtime
from .store import Store

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
        from .outbox import Deliverer
        from .scheduler import Scheduler

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
    handlers: Iterable[Callable[..., Any]] | None = None,
    settings: dict[str, Any] | None = None,
    sla: Any = None,
    create_schema: bool = True,
) -> Service:
    if handlers is None:
        from handlers import ALL_HANDLERS  # the explicit list shipped with the product

        handlers = ALL_HANDLERS
    clock = clock or SystemClock()
    settings = dict(settings or {})
    store = Store(database_url or default_database_url())
    if create_schema:
        store.create_all()
    registry = HandlerRegistry(handlers)
    definitions = Definitions(store, registry.topics(), clock)
    if sla is None:
        from .sla import SlaEngine

        sla = SlaEngine(clock, settings)
    runtime = Runtime(store, definitions, registry, clock, settings, sla=sla)
    from .users import TokenCache

    tokens = TokenCache(store, float(settings.get("token_cache_seconds", 5.0)))
    return Service(store, definitions, runtime, clock, settings, tokens=tokens)
