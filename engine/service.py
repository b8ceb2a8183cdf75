"""Wiring: one object holding the store, definitions, runtime and scheduler for a process.

The API, the CLI and the tests build a `Service`; nothing here knows about HTTP.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.audit.checkpointer import Checkpointer
from engine.bpmn.definitions import Definitions
from engine.clock import Clock, SystemClock
from engine.handler import HandlerRegistry
from engine.outbox import Deliverer
from engine.runtime.facade import Runtime
from engine.runtime.scheduler import Scheduler
from engine.settings import Settings
from engine.sla.engine import SlaEngine
from engine.sla.hooks import SlaHooks
from engine.store.migrate import create_all
from engine.store.sessions import Store
from engine.store.users import TokenCache

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
    tokens: TokenCache  # who a bearer token belongs to
    checkpointer: Checkpointer  # signed checkpoints of the chain heads (idle without a key)
    settings: Settings = field(default_factory=Settings)
    scheduler: Scheduler | None = None

    def deploy_processes(self, directory: str | Path | None = None) -> list[Any]:
        directory = Path(directory or self.settings.processes_dir or DEFAULT_PROCESSES)
        if not any(directory.glob("*.bpmn")) and not any(directory.glob("*.dmn")):
            return []
        return self.runtime.deploy_directory(directory, actor="system")

    def start_scheduler(self, interval: float | None = None, deliver_outbox: bool | None = None) -> Scheduler:
        """Timers always; outbox delivery when asked (the `worker` command, or settings); checkpoints
        when a signing key and a witness are configured."""
        deliver = bool(self.settings.deliver_outbox) if deliver_outbox is None else deliver_outbox
        deliverer = Deliverer(self.store, self.clock, self.settings) if deliver else None
        every = interval or self.settings.timer_interval
        checkpoints = self.checkpointer if self.checkpointer.enabled else None
        self.scheduler = Scheduler(self.runtime, every, deliverer, checkpoints)
        self.scheduler.start()
        return self.scheduler

    def close(self) -> None:
        if self.scheduler is not None:
            self.scheduler.stop()
        self.store.dispose()


def build_service(
    database_url: str | None = None,
    *,
    clock: Clock | None = None,
    handlers: Iterable[Callable[..., Any]],
    settings: Settings | Mapping[str, object] | None = None,
    sla: SlaHooks | None = None,
    create_schema: bool = True,
) -> Service:
    clock = clock or SystemClock()
    config = Settings.of(settings)
    store = Store(database_url or default_database_url())
    if create_schema:
        create_all(store)
    registry = HandlerRegistry(handlers)
    sla = SlaEngine(clock, config.sla_warning_ratio) if sla is None else sla
    definitions = Definitions(store, registry.topics(), clock, functions=set(sla.script_functions(None)),
                              data_problem=lambda topic: registry.data_problem(topic, config.for_handlers()))
    runtime = Runtime(store, definitions, registry, clock, config, sla=sla)
    tokens = TokenCache(store, config.token_cache_seconds)
    return Service(store, definitions, runtime, clock, tokens, Checkpointer(store, clock, config), config)
