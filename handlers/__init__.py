"""Service-task handlers, one module per concern, each function registered by topic.

`ALL_HANDLERS` is the explicit list the engine is given; a topic not in it is refused at deploy.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

ALL_HANDLERS: list[Callable[..., Any]] = []
