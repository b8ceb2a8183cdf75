"""Verifying the stored history against the newest signed checkpoint in the witness file.

The chain alone shows an event changed without its hashes recomputed. The checkpoint shows the rest:
each instance's newest leaf (in the signed Merkle root) vouches for every event hash a checkpoint saw,
so a rewritten-and-rehashed event, events cut off the end and a removed instance are named by sequence
number; an instance older than the checkpoint but missing from it was put in afterwards.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.orm import Session

from engine.audit import checkpoints as cp
from engine.settings import Settings
from engine.store import checkpoints as rows
from engine.store.chain import GENESIS


@dataclass
class Anchor:
    """The newest trusted checkpoint and, per instance, the leaf the database holds for it."""

    line: dict[str, Any] | None = None
    leaves: dict[str, tuple[int, str, int, str]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def number(self) -> int:
        return int(self.line["checkpoint"]["number"]) if self.line else 0

    @property
    def at(self) -> datetime | None:
        return datetime.fromisoformat(self.line["checkpoint"]["at"]) if self.line else None

    def summary(self) -> dict[str, Any] | None:
        if self.line is None:
            return None
        head = self.line["checkpoint"]
        return {"number": head["number"], "at": head["at"], "hash": self.line["hash"],
                "instances": head["instances"]}


def load_anchor(session: Session, settings: Settings) -> Anchor | None:
    """None when no witness is configured: the chains are then all there is to check."""
    if not settings.witness_file:
        return None
    key_path = cp.public_key_path(settings)
    try:
        public = cp.load_public_key(key_path) if key_path else None
    except (OSError, ValueError) as exc:
        return Anchor(problems=[f"public key {key_path} unreadable: {exc}"])
    if public is None:
        return Anchor(problems=["no public key configured to check the witness with"])
    witness = cp.read_witness(settings.witness_file, public)
    anchor = Anchor(witness.last, problems=list(witness.problems))
    stored = rows.latest(session)
    if stored is not None and stored.number > anchor.number:
        anchor.problems.append(f"the database has checkpoint {stored.number}, the witness only up to "
                               f"{anchor.number}")
    if anchor.line is not None:
        anchor.leaves = rows.leaf_set(session, anchor.number)
        signed = anchor.line["checkpoint"]
        root = cp.merkle_root([anchor.leaves[iid][3] for iid in sorted(anchor.leaves)])
        if root != signed["root"] or len(anchor.leaves) != signed["instances"]:
            anchor.problems.append(f"the leaves stored for checkpoint {anchor.number} do not match its "
                                   "signed Merkle root")
    return anchor


def vouched_hashes(instance_id: str, history: Sequence[Any]) -> tuple[list[str], str]:
    """The event hashes the leaves of one instance vouch for, in order, and the newest leaf hash;
    raises ValueError where a stored leaf was altered."""
    hashes: list[str] = []
    prev_leaf = GENESIS
    for leaf in history:
        expected = cp.leaf_hash(instance_id, leaf.last_seq, leaf.head_hash, leaf.prev_leaf, list(leaf.hashes))
        if (leaf.prev_leaf != prev_leaf or expected != leaf.leaf_hash or not leaf.hashes
                or leaf.last_seq != len(hashes) + len(leaf.hashes) or leaf.head_hash != leaf.hashes[-1]):
            raise ValueError(f"stored leaf of checkpoint {leaf.number} altered")
        hashes += leaf.hashes
        prev_leaf = leaf.leaf_hash
    return hashes, prev_leaf


def first_difference(vouched: list[str], events: Sequence[Any]) -> int | None:
    """The first seq whose event is missing or not the one the checkpoint saw."""
    for seq, expected in enumerate(vouched, start=1):
        if seq > len(events) or events[seq - 1].hash != expected:
            return seq
    return None


def check_instance(session: Session, anchor: Anchor, instance_id: str, events: Sequence[Any],
                   created_at: datetime | None) -> tuple[int | None, list[str]]:
    """(first differing seq, problems) of one instance against the anchor."""
    if anchor.line is None:
        return None, []
    leaf = anchor.leaves.get(instance_id)
    if leaf is None:
        started = min([t for t in (created_at, events[0].at if events else None) if t is not None],
                      default=None)
        at = anchor.at
        if started is not None and at is not None and started < at:
            return 1, [f"instance older than checkpoint {anchor.number} but not in it: inserted"]
        return None, []
    if created_at is None:
        return 1, [f"instance in checkpoint {anchor.number} but not in the database: deleted"]
    try:
        vouched, newest = vouched_hashes(instance_id, rows.leaves_of(session, instance_id, anchor.number))
    except ValueError as exc:
        return None, [str(exc)]
    if newest != leaf[3]:
        return None, [f"stored leaves do not lead to the leaf of checkpoint {anchor.number}"]
    bad = first_difference(vouched, events)
    if bad is None:
        return None, []
    what = "missing" if bad > len(events) else "differs from"
    return bad, [f"event {bad} {what} what checkpoint {anchor.number} covers (up to seq {len(vouched)})"]


def bundle_section(session: Session, anchor: Anchor | None, instance_id: str) -> dict[str, Any] | None:
    """What an offline verifier with the public key needs: the signed checkpoint, the instance's
    leaves and the Merkle path from its newest leaf to the signed root."""
    if anchor is None or anchor.line is None or instance_id not in anchor.leaves:
        return None
    order = sorted(anchor.leaves)
    proof = cp.merkle_proof([anchor.leaves[iid][3] for iid in order], order.index(instance_id))
    history = [{"number": r.number, "last_seq": r.last_seq, "head_hash": r.head_hash,
                "prev_leaf": r.prev_leaf, "hashes": list(r.hashes), "leaf_hash": r.leaf_hash}
               for r in rows.leaves_of(session, instance_id, anchor.number)]
    return {"witness": anchor.line, "leaves": history, "proof": proof}


@dataclass
class _Leaf:
    number: int
    last_seq: int
    head_hash: str
    prev_leaf: str
    hashes: list[str]
    leaf_hash: str


def check_bundle_section(public: Ed25519PublicKey, instance_id: str, section: dict[str, Any],
                         events: Sequence[Any]) -> tuple[int | None, list[str]]:
    """Offline: the signature, the leaves up the Merkle path to the signed root, then the events."""
    line = section["witness"]
    head = line["checkpoint"]
    if cp.header_hash(head) != line["hash"] or not cp.signature_ok(public, head, line["signature"]):
        return None, ["the checkpoint's signature does not verify with the public key"]
    try:
        vouched, newest = vouched_hashes(instance_id, [_Leaf(**leaf) for leaf in section["leaves"]])
    except (ValueError, TypeError) as exc:
        return None, [str(exc)]
    if cp.root_from_proof(newest, section["proof"]) != head["root"]:
        return None, ["the instance's leaf is not under the checkpoint's signed root"]
    bad = first_difference(vouched, events)
    return bad, ([] if bad is None else
                 [f"event {bad} missing or differs from what checkpoint {head['number']} covers"])
