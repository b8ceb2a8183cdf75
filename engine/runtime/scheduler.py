"""APScheduler job that fires due timers in the serving (or worker) process."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Protocol

from apscheduler.schedulers.background import BackgroundScheduler

from engine.clock import Clock

log = logging.getLogger("weibao.scheduler")


class Fires(Protocol):
    clock: Clock

    def fire_due_timers(self, limit: int = 500) -> int: ...


class Delivers(Protocol):
    def deliver_due(self, limit: int = 50) -> int: ...


class Checkpoints(Protocol):
    def run_due(self) -> dict[str, object] | None: ...


class Scheduler:
    def __init__(self, runtime: Fires, interval: float = 1.0, deliverer: Delivers | None = None,
                 checkpointer: Checkpoints | None = None) -> None:
        self.runtime = runtime
        self.interval = interval
        self.deliverer = deliverer
        self.checkpointer = checkpointer  # its run_due records its own failures for /health
        self._scheduler = BackgroundScheduler(daemon=True)
        self.last_run: datetime | None = None

    def tick(self) -> int:
        fired = 0
        # Drain in batches so a backlog after downtime is worked off in one tick; bounded so a
        # timer that keeps failing cannot hold the thread.
        for _ in range(200):
            batch = self.runtime.fire_due_timers(limit=500)
            fired += batch
            if batch == 0:
                break
        self.last_run = self.runtime.clock.now()
        return fired

    def _safe_tick(self) -> None:
        try:
            self.tick()
        except Exception:  # the scheduler thread must survive a bad tick
            log.exception("timer tick failed")

    def _safe_deliver(self) -> None:
        try:
            if self.deliverer is not None:
                self.deliverer.deliver_due()
        except Exception:  # delivery problems are recorded per message; the thread must go on
            log.exception("outbox delivery failed")

    def checkpoint_tick(self) -> dict[str, object] | None:
        """A checkpoint when the interval since the last one has passed on the service's clock."""
        return self.checkpointer.run_due() if self.checkpointer is not None else None

    def start(self) -> None:
        # Timers that came due while the service was down fire now, once, before the first interval.
        self._safe_tick()
        self._scheduler.add_job(
            self._safe_tick,
            "interval",
            seconds=self.interval,
            id="weibao-timers",
            max_instances=1,
            coalesce=True,
        )
        if self.deliverer is not None:
            self._scheduler.add_job(
                self._safe_deliver,
                "interval",
                seconds=self.interval,
                id="weibao-outbox",
                max_instances=1,
                coalesce=True,
            )
        if self.checkpointer is not None:
            # Checked at the timer interval, made at the checkpoint interval: a manual clock moved
            # past it is honoured at the next check.
            self._scheduler.add_job(self.checkpoint_tick, "interval", seconds=self.interval,
                                    id="weibao-checkpoints", max_instances=1, coalesce=True)
        self._scheduler.start()

    def stop(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    @property
    def running(self) -> bool:
        return bool(self._scheduler.running)
