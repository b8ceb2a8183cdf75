"""The hooks the runtime calls for SLA clocks; `NoSla` is the engine without any."""

from __future__ import annotations

from datetime import datetime
from typing import Any


class NoSla:
    def attach(self, op: Any, row: Any) -> None:
        return None

    def on_enter(self, op: Any, task: Any) -> None:
        return None

    def on_complete(self, op: Any, task: Any) -> None:
        return None

    def after_steps(self, op: Any) -> None:
        return None

    def on_finish(self, op: Any) -> None:
        return None

    def task_due(self, task: Any) -> datetime | None:
        return None

    def pending_timers(self, op: Any) -> list[tuple[str, str, str | None, datetime]]:
        return []

    def fire(self, op: Any, element_id: str) -> None:
        return None

    def script_functions(self) -> dict[str, Any]:
        return {}
