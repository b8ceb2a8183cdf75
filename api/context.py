"""What the app carries for its views: the engine service, whether the clock may be moved, the zone
that times are shown in."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import tzinfo

from flask import current_app, has_app_context

from engine.service import Service


@dataclass
class Weibao:
    service: Service
    manual_clock: bool = False
    zone: tzinfo = field(init=False)  # the settings' `timezone`, parsed once

    def __post_init__(self) -> None:
        self.zone = self.service.settings.zone()


def weibao() -> Weibao:
    return current_app.extensions["weibao"]  # type: ignore[no-any-return]


def shown_zone() -> tzinfo | None:
    """The zone answers show times in; None outside an app (a schema dumped on its own)."""
    if not has_app_context():
        return None
    state = current_app.extensions.get("weibao")
    return state.zone if state is not None else None
