"""Signed checkpoints: the Ed25519 key, the Merkle tree over the chain heads, the witness file.

The key and the witness are files outside the database: whoever can rewrite tables and recompute the
hash chains cannot make a signature, nor take back a line already handed to the witness.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import threading
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from engine.clock import iso
from engine.errors import InvalidInput
from engine.outbox import signature as hmac_signature
from engine.settings import Settings
from engine.store.chain import GENESIS, canonical

log = logging.getLogger("weibao.audit")
FORMAT = "weibao-checkpoint/1"


# ----------------------------------------------------------------------------- keys
def public_key_path(settings: Settings) -> Path | None:
    if settings.audit_public_key_file:
        return Path(settings.audit_public_key_file)
    return Path(settings.audit_key_file + ".pub") if settings.audit_key_file else None


def keygen(private_path: str | Path) -> tuple[Path, Path, bool]:
    """Writes a new key pair unless the private key exists; (private, public, created)."""
    private, public = Path(private_path), Path(f"{private_path}.pub")
    if private.exists():
        return private, public, False
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    public.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo))
    return private, public, True


def load_private_key(settings: Settings) -> Ed25519PrivateKey:
    if not settings.audit_key_file:
        raise InvalidInput("no signing key configured (WEIBAO_AUDIT_KEY_FILE)",
                           details={"fields": {"audit_key_file": "not set"}})
    try:
        key = serialization.load_pem_private_key(Path(settings.audit_key_file).read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"cannot read the signing key {settings.audit_key_file}: {exc}",
                           details={"fields": {"audit_key_file": "unreadable"}}) from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidInput("the signing key is not an Ed25519 key",
                           details={"fields": {"audit_key_file": "not Ed25519"}})
    return key


def load_public_key(path: str | Path) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(Path(path).read_bytes())
    if not isinstance(key, Ed25519PublicKey):
        raise InvalidInput("the public key is not an Ed25519 key",
                           details={"fields": {"public_key": str(path)}})
    return key


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


# ----------------------------------------------------------------------------- signed header
def header(number: int, at: datetime, instances: int, root: str, prev: str, key: str) -> dict[str, Any]:
    return {"format": FORMAT, "number": number, "at": iso(at), "instances": instances, "root": root,
            "prev_hash": prev, "key_id": key}


def header_hash(head: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(head).encode()).hexdigest()


def sign(key: Ed25519PrivateKey, head: dict[str, Any]) -> str:
    return base64.b64encode(key.sign(canonical(head).encode())).decode()


def signature_ok(public: Ed25519PublicKey, head: dict[str, Any], signature: str) -> bool:
    try:
        public.verify(base64.b64decode(signature, validate=True), canonical(head).encode())
        return True
    except (InvalidSignature, ValueError):
        return False


# ----------------------------------------------------------------------------- Merkle tree
def leaf_hash(instance_id: str, last_seq: int, head_hash: str, prev_leaf: str, hashes: list[str]) -> str:
    """A leaf commits to the instance's event hashes added since its previous leaf, and to that leaf:
    the newest leaf vouches for every event hash any checkpoint saw."""
    segment = hashlib.sha256(",".join(hashes).encode()).hexdigest()
    body = canonical([instance_id, last_seq, head_hash, prev_leaf, segment])
    return hashlib.sha256(b"\x00" + body.encode()).hexdigest()


def _node(left: str, right: str) -> str:
    return hashlib.sha256(b"\x01" + bytes.fromhex(left) + bytes.fromhex(right)).hexdigest()


def merkle_root(leaves: list[str]) -> str:
    """Leaves in instance-id order; an odd node at the end of a level moves up unpaired."""
    if not leaves:
        return hashlib.sha256(b"").hexdigest()
    level = list(leaves)
    while len(level) > 1:
        level = [_node(level[i], level[i + 1]) if i + 1 < len(level) else level[i]
                 for i in range(0, len(level), 2)]
    return level[0]


def merkle_proof(leaves: list[str], index: int) -> list[list[str]]:
    """The siblings from the leaf up: ["L"|"R", hash] says on which side the sibling sits."""
    proof: list[list[str]] = []
    level = list(leaves)
    while len(level) > 1:
        sibling = index ^ 1
        if sibling < len(level):
            proof.append(["L" if sibling < index else "R", level[sibling]])
        level = [_node(level[i], level[i + 1]) if i + 1 < len(level) else level[i]
                 for i in range(0, len(level), 2)]
        index //= 2
    return proof


def root_from_proof(leaf: str, proof: list[list[str]]) -> str:
    node = leaf
    for side, sibling in proof:
        node = _node(sibling, node) if side == "L" else _node(node, sibling)
    return node


# ----------------------------------------------------------------------------- witness
def witness_line(head: dict[str, Any], signature: str) -> dict[str, Any]:
    return {"checkpoint": head, "hash": header_hash(head), "signature": signature}


def append_witness(path: str | Path, line: dict[str, Any]) -> None:
    """Appends and syncs before the database commits: a checkpoint the witness lacks never exists."""
    text = (json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, text)
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass
class Witness:
    lines: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def last(self) -> dict[str, Any] | None:
        return self.lines[-1] if self.lines else None


def check_line(public: Ed25519PublicKey, line: dict[str, Any], prev: dict[str, Any] | None) -> str | None:
    """What is wrong with one witness line after `prev`, or None."""
    head = line.get("checkpoint") or {}
    if header_hash(head) != line.get("hash"):
        return "hash does not match the checkpoint"
    if not signature_ok(public, head, str(line.get("signature", ""))):
        return "signature does not verify with the public key"
    expected = (prev["checkpoint"]["number"] + 1, prev["hash"]) if prev else (1, GENESIS)
    if (head.get("number"), head.get("prev_hash")) != expected:
        return "does not chain to the previous checkpoint"
    return None


def read_witness(path: str | Path, public: Ed25519PublicKey) -> Witness:
    """Every line checked: signed, and chained to the line before it; the checks stop at the first bad
    line, so `last` is the newest checkpoint that can be trusted."""
    witness = Witness()
    if not Path(path).exists():
        return witness
    for number, text in enumerate(Path(path).read_text().splitlines(), start=1):
        try:
            line = json.loads(text)
            problem = check_line(public, line, witness.last)
        except (ValueError, TypeError, KeyError, AttributeError):
            problem = "not a checkpoint"
        if problem:
            witness.problems.append(f"witness line {number}: {problem}")
            break
        witness.lines.append(line)
    return witness


def post_witness(url: str, line: dict[str, Any], secret: str,
                 outcome: Callable[[str | None], None] | None = None) -> threading.Thread:
    """Off the write path: a slow or dead receiver delays nothing. Nobody waits for the post, so its
    result goes to `outcome` (None when delivered, else the error) to be shown, not only logged."""
    body = json.dumps(line, ensure_ascii=False, sort_keys=True).encode()
    number = line["checkpoint"]["number"]

    def send() -> None:
        request = urllib.request.Request(url, data=body, method="POST", headers={
            "Content-Type": "application/json", "X-Weibao-Signature": hmac_signature(secret, body),
            "Idempotency-Key": line["hash"]})
        try:
            urllib.request.urlopen(request, timeout=10).close()  # noqa: S310 - the configured witness
        except OSError as exc:
            log.exception("checkpoint %s not delivered to the witness URL", number)
            if outcome is not None:
                outcome(f"checkpoint {number} not delivered to the witness URL: {exc}")
            return
        if outcome is not None:
            outcome(None)

    thread = threading.Thread(target=send, name="weibao-witness", daemon=True)
    thread.start()
    return thread
