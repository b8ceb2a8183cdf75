"""The composition root: the engine built with the handlers the product ships.

The engine never imports `handlers`; the API, the CLI and the server hand it this explicit list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from engine import Settings
from engine.clock import Clock
from engine.service import Service, build_service
from handlers import ALL_HANDLERS


def product_service(
    database_url: str | None = None,
    *,
    clock: Clock | None = None,
    settings: Settings | Mapping[str, object] | None = None,
    handlers: Iterable[Callable[..., Any]] | None = None,
    sla: Any = None,
    create_schema: bool = True,
) -> Service:
    return build_service(
        database_url,
        clock=clock,
        handlers=ALL_HANDLERS if handlers is None else handlers,
        settings=Settings.of(settings),
        sla=sla,
        create_schema=create_schema,
    )
