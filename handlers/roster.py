"""`duty_roster`: who is on duty now, from a 7x24 rota file; the first-line task is assigned to them.

The rota rotates a list of people in fixed shifts from an epoch, with dated overrides (swaps, leave).
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from engine.handler import HandlerContext, HandlerError, handler

DEFAULT_ROSTER = Path(__file__).resolve().parent / "data" / "roster.json"


def load_roster(path: str | Path | None = None) -> dict[str, Any]:
    path = Path(path or os.environ.get("WEIBAO_ROSTER") or DEFAULT_ROSTER)
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        raise HandlerError(f"duty roster {path} cannot be read: {exc}", retryable=False) from exc


def on_duty(roster: dict[str, Any], group: str, now: datetime) -> str:
    rota = roster.get("groups", {}).get(group)
    if not rota or not rota.get("rotation"):
        raise HandlerError(f"duty roster has no rotation for group {group!r}", retryable=False)
    for override in rota.get("overrides", []):
        if datetime.fromisoformat(override["from"]) <= now < datetime.fromisoformat(override["to"]):
            return str(override["user"])
    epoch = datetime.fromisoformat(rota["epoch"])
    shift_seconds = float(rota.get("shift_hours", 12)) * 3600
    index = int((now - epoch).total_seconds() // shift_seconds) % len(rota["rotation"])
    return str(rota["rotation"][index])


@handler("duty_roster")
def duty_roster(ctx: HandlerContext) -> dict[str, Any]:
    group = ctx.properties.get("group", "duty_engineer")
    roster = load_roster(ctx.settings.get("roster_file"))
    target = ctx.properties.get("variable", group)
    return {target: on_duty(roster, group, ctx.now)}
