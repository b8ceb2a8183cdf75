"""Making checkpoints: on demand, and at an interval from the scheduler (which only calls `run_due`).

A checkpoint only extends what the previous one vouched for: an instance whose stored events no longer
lead from its previous leaf (rewritten, cut back) keeps its old leaf and is named in `refused`, so a
forgery is never sealed by the next checkpoint.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.orm import Session

from engine.audit import checkpoints as cp
from engine.clock import Clock
from engine.errors import Conflict, NotFound
from engine.settings import Settings
from engine.store import checkpoints as rows
from engine.store.chain import GENESIS, chain_hash, event_payload
from engine.store.sessions import Store

log = logging.getLogger("weibao.audit")
# A checkpoint is dated this much before its read: an instance started just before the read but not yet
# committed is then younger than the checkpoint, not taken for one inserted behind its back.
SETTLING = timedelta(seconds=60)


@dataclass
class _Plan:
    after: int  # the newest stored checkpoint the leaves were computed against
    leaves: dict[str, str]  # instance id -> leaf hash, every instance the checkpoint covers
    new: list[rows.CheckpointLeaf]
    refused: list[str]
    at: datetime


def _extend(session: Session, iid: str, old: tuple[int, str, int, str] | None,
            head: str) -> rows.CheckpointLeaf | None:
    """The next leaf of an instance, or None when its events do not lead on from the previous leaf."""
    start, prev = (old[0], old[1]) if old else (0, GENESIS)
    found = rows.events_after(session, iid, max(start, 1))
    if old is not None:
        if not found or found[0].seq != start or found[0].hash != prev:
            return None
        found = found[1:]
    for seq, row in enumerate(found, start=start + 1):
        payload = event_payload(iid, row.seq, row.op, row, row.digest)
        if row.seq != seq or row.prev_hash != prev or chain_hash(prev, payload) != row.hash:
            return None
        prev = row.hash
    if not found or prev != head:
        return None
    prev_leaf = old[3] if old else GENESIS
    hashes = [r.hash for r in found]
    return rows.CheckpointLeaf(number=0, instance_id=iid, last_seq=found[-1].seq, head_hash=prev,
                               prev_leaf=prev_leaf, hashes=hashes,
                               leaf_hash=cp.leaf_hash(iid, found[-1].seq, prev, prev_leaf, hashes))


def plan(session: Session, at: datetime) -> _Plan:
    last = rows.latest(session)
    after = last.number if last else 0
    previous = rows.leaf_set(session, after)
    result = _Plan(after, {iid: v[3] for iid, v in previous.items()}, [], [], at)
    for iid, (last_seq, head, _created) in sorted(rows.heads(session).items()):
        old = previous.get(iid)
        if (old is None and last_seq == 0) or (old is not None and (old[0], old[1]) == (last_seq, head)):
            continue
        leaf = _extend(session, iid, old, head)
        if leaf is None:
            result.refused.append(iid)
        else:
            result.leaves[iid] = leaf.leaf_hash
            result.new.append(leaf)
    return result


class Checkpointer:
    def __init__(self, store: Store, clock: Clock, settings: Settings) -> None:
        self.store = store
        self.clock = clock
        self.settings = settings
        self.last_error: str | None = None
        self.failed_at: datetime | None = None
        self.delivery: threading.Thread | None = None  # posting the newest checkpoint to the witness URL
        self.witness_error: str | None = None  # the last post to the witness URL failed; kept till one lands

    @property
    def enabled(self) -> bool:
        return bool(self.settings.audit_key_file and self.settings.witness_file)

    def make(self, actor: str = "system") -> dict[str, Any]:
        """Sign the heads of every instance, hand the checkpoint to the witness, then commit."""
        key = cp.load_private_key(self.settings)
        witness_path = self.settings.witness_file
        if not witness_path:
            raise Conflict("no witness file configured (WEIBAO_WITNESS_FILE)")
        at = self.clock.now() - SETTLING  # before the read: what it saw had started by then
        with self.store.read() as session:
            todo = plan(session, at)
        with self.store.write() as session:
            rows.lock(session)
            line = self._write(session, key, witness_path, todo, actor)
        if self.settings.witness_url:
            self.delivery = cp.post_witness(self.settings.witness_url, line, self.settings.webhook_secret,
                                            self._witness_posted)
        log.info("checkpoint %s: %s instances", line["checkpoint"]["number"], len(todo.leaves))
        return {**line["checkpoint"], "hash": line["hash"], "signature": line["signature"],
                "made_by": actor, "refused": todo.refused}

    def _write(self, session: Session, key: Ed25519PrivateKey, witness_path: str, todo: _Plan,
               actor: str) -> dict[str, Any]:
        last = rows.latest(session)
        if (last.number if last else 0) != todo.after:
            raise Conflict("another checkpoint was made meanwhile; try again")
        witness = cp.read_witness(witness_path, key.public_key())
        if witness.problems:
            raise Conflict("the witness file is damaged: " + "; ".join(witness.problems))
        prev = witness.last
        number = prev["checkpoint"]["number"] + 1 if prev else 1
        if todo.after >= number:
            raise Conflict(f"the database has checkpoint {todo.after}, the witness file does not")
        at = todo.at
        root = cp.merkle_root([todo.leaves[iid] for iid in sorted(todo.leaves)])
        head = cp.header(number, at, len(todo.leaves), root, prev["hash"] if prev else GENESIS,
                         cp.key_id(key.public_key()))
        line = cp.witness_line(head, cp.sign(key, head))
        for leaf in todo.new:
            leaf.number = number
        rows.store_checkpoint(session, rows.CheckpointRow(
            number=number, at=at, instances=len(todo.leaves), root=root, prev_hash=head["prev_hash"],
            hash=line["hash"], key_id=head["key_id"], signature=line["signature"], made_by=actor), todo.new)
        cp.append_witness(witness_path, line)
        return line

    def _witness_posted(self, error: str | None) -> None:
        self.witness_error = error

    def due(self) -> bool:
        with self.store.read() as session:
            last = rows.latest(session)
        interval = timedelta(seconds=self.settings.checkpoint_interval)
        return last is None or last.at + SETTLING + interval <= self.clock.now()

    def run_due(self) -> dict[str, Any] | None:
        """The scheduler's job: a failure is kept for /health rather than only logged."""
        if not self.enabled:
            return None
        try:
            made = self.make() if self.due() else None
        except Exception as exc:  # every failure must show, whatever its kind
            self.last_error, self.failed_at = f"{type(exc).__name__}: {exc}", self.clock.now()
            log.exception("automatic checkpoint failed")
            return None
        if made is not None:
            self.last_error = self.failed_at = None
        return made

    def state(self) -> str:
        if not self.enabled:
            return "disabled"
        return "failing" if self.last_error or self.witness_error else "ok"


def listing(store: Store, page: int, per_page: int) -> tuple[list[dict[str, Any]], int]:
    """The stored copies, newest first (the witness file is the authority, see `anchored`)."""
    with store.read() as session:
        return rows.listing(session, (page - 1) * per_page, per_page)


def stored(store: Store, number: int) -> dict[str, Any]:
    with store.read() as session:
        row = rows.get(session, number)
        if row is None:
            raise NotFound(f"no checkpoint {number}")
        return rows.checkpoint_dict(row)
