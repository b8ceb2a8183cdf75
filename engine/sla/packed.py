"""Stopped step clocks, packed: a case of many steps (engine.sla.steps) would otherwise carry every
stopped record in `_sla`, which each operation loads, walks, serialises, hashes and writes again.

At the start of an operation, the step clocks stopped in earlier ones (whose `sla_clocks` rows the
report already has, written by the operation that stopped them) move out of `_sla` into `_sla_done`:
one compact JSON text per clock with the fields a person reads (the instance's clock list, the SLA
drill-down). Nothing in the engine reads them again; replay packs at the same operations, so it
rebuilds the same state.
"""

from __future__ import annotations

import json
from typing import Any

PACKED = "_sla_done"
FIELDS = ("state", "contract", "level", "target", "calendar", "started_at", "target_seconds", "due_at",
          "stopped_at", "breached_at", "business_seconds", "step", "step_name", "provisional_years")


def pack(data: dict[str, Any]) -> None:
    clocks = data.get("_sla") or {}
    for key in sorted(k for k, c in clocks.items() if "step" in c and c["stopped_at"]):
        record = clocks.pop(key)
        text = json.dumps([key, *(record.get(f) for f in FIELDS)], ensure_ascii=False, separators=(",", ":"))
        data.setdefault(PACKED, []).append(text)


def _record(values: list[Any]) -> dict[str, Any]:
    # a step never pauses (no element pauses it), so its packed record has no pauses to keep
    return {**dict(zip(FIELDS, values, strict=True)), "pauses": [], "paused_at": None, "paused_seconds": 0.0}


def all_records(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every clock record of an instance's data: the `_sla` ones and the packed stopped steps."""
    packed = {values[0]: _record(values[1:]) for values in map(json.loads, data.get(PACKED) or ())}
    return {**packed, **(data.get("_sla") or {})}
