"""SLA clocks (placeholder until the SLA engine lands)."""

from __future__ import annotations

from typing import Any

from .sla_base import NoSla


class SlaEngine(NoSla):
    def __init__(self, clock: Any, settings: dict[str, Any]) -> None:
        self.clock = clock
        self.settings = settings
