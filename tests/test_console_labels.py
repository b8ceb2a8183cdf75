"""Every event type the engine writes has a name in both languages of the console (api/console/labels.py):
the engine's sources are read for them, so a new event without a row fails here."""

from __future__ import annotations

import re
from pathlib import Path

from api.console import labels

ENGINE = Path(__file__).resolve().parent.parent / "engine"
# `op.event("kind", …)`, and the two kinds the SLA engine picks at run time
WRITTEN = re.compile(r'\.event\(\s*"([a-z_]+)"|kind = "(sla_[a-z]+)" if .* else "(sla_[a-z]+)"')


def _written() -> set[str]:
    found: set[str] = set()
    for path in ENGINE.rglob("*.py"):
        for match in WRITTEN.finditer(path.read_text(encoding="utf-8")):
            found.update(g for g in match.groups() if g)
    return found


def test_every_event_the_engine_writes_has_a_label() -> None:
    written = _written()
    assert {"instance_started", "task_completed", "instance_migrated", "sla_met", "sla_stopped"} <= written
    assert sorted(written - set(labels.EVENTS)) == []
    assert all(zh and en and zh != en for zh, en in labels.EVENTS.values())
