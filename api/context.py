"""What the app carries for its views: the engine service and whether the clock may be moved."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from engine.service import Service


@dataclass
class Weibao:
    service: Service
    manual_clock: bool = False


def weibao() -> Weibao:
    return current_app.extensions["weibao"]  # type: ignore[no-any-return]
