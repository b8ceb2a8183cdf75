"""Calling service-task handlers, live or from the record.

Live: call the registered handler with a frozen context; the outcome (result and effects, or the
error with its retry decision) is what gets recorded. Replay: hand back the recorded outcome for the
same task, so a replay never calls a handler.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from engine.handler import Effects, HandlerContext, HandlerError, HandlerRegistry, freeze

log = logging.getLogger("weibao.handlers")


@dataclass
class Outcome:
    ok: bool
    result: dict[str, Any] = field(default_factory=dict)
    effects: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""
    retryable: bool = False
    retry_delay: float | None = None


class LiveInvoker:
    def __init__(self, registry: HandlerRegistry) -> None:
        self.registry = registry

    def call(self, ctx: HandlerContext) -> Outcome:
        fn = self.registry.get(ctx.topic)
        if fn is None:
            return Outcome(False, error=f"no handler for topic {ctx.topic!r}", retryable=False)
        try:
            result = fn(ctx) or {}
        except HandlerError as exc:
            delay = exc.retry_delay.total_seconds() if exc.retry_delay is not None else None
            return Outcome(False, error=exc.message, retryable=exc.retryable, retry_delay=delay)
        except Exception as exc:  # an unexpected bug in a handler is retried like a transient fault
            log.exception(
                "handler %s failed",
                ctx.topic,
                extra={"instance_id": ctx.instance_id, "element_id": ctx.element_id},
            )
            return Outcome(False, error=f"{type(exc).__name__}: {exc}", retryable=True)
        if not isinstance(result, dict):
            return Outcome(
                False,
                error=f"handler {ctx.topic!r} returned {type(result).__name__}, not a dict",
                retryable=False,
            )
        return Outcome(True, result=dict(result), effects=list(ctx.effects.items))


class ReplayInvoker:
    """Outcomes recorded for each task id, in the order they happened."""

    def __init__(self) -> None:
        self.recorded: dict[str, deque[Outcome]] = {}
        # The calendar years the recorded operation had no data for, and the clocks it re-targeted
        # when data came: outside facts, like handler outcomes (engine.sla.provisional).
        self.provisional_years: frozenset[int] = frozenset()
        self.retargeted: frozenset[str] = frozenset()
        self.ended_as_met: frozenset[str] = frozenset()

    def add(self, task_id: str, outcome: Outcome) -> None:
        self.recorded.setdefault(task_id, deque()).append(outcome)

    def call(self, ctx: HandlerContext) -> Outcome:
        raise NotImplementedError  # replaced by call_for_task

    def call_for_task(self, task_id: str) -> Outcome | None:
        queue = self.recorded.get(task_id)
        return queue.popleft() if queue else None


def new_effects(seed: str) -> Effects:
    return Effects(seed=seed)


__all__ = ["Outcome", "LiveInvoker", "ReplayInvoker", "new_effects", "freeze"]
