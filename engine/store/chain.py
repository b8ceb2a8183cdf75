"""Append-only, hash-chained event log: one chain per instance."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from engine.clock import iso

GENESIS = "0" * 64


def canonical(obj: object) -> str:
    """JSON with sorted keys and no spaces; the form every hash and digest is taken over."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)



@dataclass
class NewEvent:
    type: str
    at: datetime
    actor: str | None = None
    element_id: str | None = None
    task_id: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


def event_payload(instance_id: str, seq: int, op: int, ev: EventLike, digest: str) -> dict[str, Any]:
    """What the hash covers: everything an auditor reads, times in one fixed format."""
    return {
        "instance_id": instance_id,
        "seq": seq,
        "op": op,
        "type": ev.type,
        "at": iso(ev.at),
        "actor": ev.actor,
        "element_id": ev.element_id,
        "task_id": ev.task_id,
        "data": ev.data,
        "digest": digest,
    }


def chain_hash(prev_hash: str, payload: dict[str, Any]) -> str:
    return hashlib.sha256((prev_hash + canonical(payload)).encode()).hexdigest()


def verify_chain(instance_id: str, rows: list[Any]) -> tuple[bool, int | None]:
    """Recompute the chain; the first sequence number whose event or link is wrong, or None."""
    prev = GENESIS
    for expected_seq, row in enumerate(rows, start=1):
        payload = event_payload(instance_id, row.seq, row.op, row, row.digest)
        if row.seq != expected_seq or row.prev_hash != prev or chain_hash(prev, payload) != row.hash:
            return False, expected_seq if row.seq != expected_seq else row.seq
        prev = row.hash
    return True, None


class EventLike(Protocol):
    """A stored event row or an event an operation has not written yet."""

    type: str
    at: datetime
    actor: str | None
    element_id: str | None
    task_id: str | None
    data: dict[str, Any]


def event_view(ev: EventLike, seq: int | None) -> dict[str, Any]:
    """The event as the history shows it: to people, to handlers, in the API."""
    return {"seq": seq, "type": ev.type, "at": ev.at, "actor": ev.actor, "element_id": ev.element_id,
            "task_id": ev.task_id, "data": ev.data}
