"""Tamper evidence and export: verify hash chains, write and check self-contained bundles."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from engine.errors import NotFound
from engine.store.chain import GENESIS, chain_hash, event_payload, verify_chain
from engine.store.models import DefinitionFile, EventRow, Instance, ProcessVersion
from engine.store.sessions import Store


def verify_instance(store: Store, instance_id: str) -> dict[str, Any]:
    with store.read() as session:
        if session.get(Instance, instance_id) is None:
            raise NotFound(f"no instance {instance_id}", instance_id=instance_id)
        rows = list(
            session.scalars(
                select(EventRow).where(EventRow.instance_id == instance_id).order_by(EventRow.seq)
            ).all()
        )
        head = session.get(Instance, instance_id)
        ok, bad = verify_chain(instance_id, rows)
        if ok and head is not None and rows and head.head_hash != rows[-1].hash:
            ok, bad = False, rows[-1].seq + 1  # events cut off the end
    return {"verified": ok, "first_bad_seq": bad, "events": len(rows)}


def verify_all(store: Store) -> dict[str, Any]:
    with store.read() as session:
        ids = session.scalars(select(Instance.id).order_by(Instance.created_at)).all()
    failed = []
    for iid in ids:
        result = verify_instance(store, iid)
        if not result["verified"]:
            failed.append({"instance_id": iid, "first_bad_seq": result["first_bad_seq"]})
    return {"instances": len(ids), "verified": len(ids) - len(failed), "failed": failed}


def event_dict(row: EventRow) -> dict[str, Any]:
    return {
        "seq": row.seq,
        "op": row.op,
        "type": row.type,
        "at": row.at.isoformat(),
        "actor": row.actor,
        "element_id": row.element_id,
        "task_id": row.task_id,
        "data": row.data,
        "digest": row.digest,
        "prev_hash": row.prev_hash,
        "hash": row.hash,
    }


def export_bundle(store: Store, instance_id: str) -> bytes:
    with store.read() as session:
        inst = session.get(Instance, instance_id)
        if inst is None:
            raise NotFound(f"no instance {instance_id}", instance_id=instance_id)
        version = session.get(ProcessVersion, inst.version_id)
        assert version is not None
        rows = session.scalars(
            select(EventRow).where(EventRow.instance_id == instance_id).order_by(EventRow.seq)
        ).all()
        files = {f["name"]: session.get(DefinitionFile, f["hash"]) for f in version.files}
        manifest = {
            "format": "weibao-audit-bundle/1",
            "instance_id": instance_id,
            "process": inst.process_key,
            "business_key": inst.business_key,
            "version": version.version,
            "content_hash": version.content_hash,
            "files": version.files,
            "events": len(rows),
            "head_hash": rows[-1].hash if rows else GENESIS,
            "status": inst.status,
        }
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True))
            zf.writestr(
                "events.jsonl",
                "".join(json.dumps(event_dict(r), ensure_ascii=False, sort_keys=True) + "\n" for r in rows),
            )
            for name, stored in files.items():
                zf.writestr(f"definitions/{name}", stored.content if stored is not None else b"")
    return buffer.getvalue()


@dataclass
class BundleEvent:
    seq: int
    op: int
    type: str
    at: datetime
    actor: str | None
    element_id: str | None
    task_id: str | None
    data: dict[str, Any]
    digest: str
    prev_hash: str
    hash: str

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BundleEvent:
        return cls(**{**d, "at": datetime.fromisoformat(d["at"])})


def read_bundle(data: bytes) -> tuple[dict[str, Any], list[BundleEvent], dict[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        events = [
            BundleEvent.from_dict(json.loads(line))
            for line in zf.read("events.jsonl").decode().splitlines()
            if line
        ]
        files = {n.split("/", 1)[1]: zf.read(n) for n in zf.namelist() if n.startswith("definitions/")}
    return manifest, events, files


def _head(events: list[Any]) -> str:
    return str(events[-1].hash) if events else GENESIS


def verify_bundle(path_or_bytes: str | Path | bytes) -> dict[str, Any]:
    """Offline check: the chain, the head hash in the manifest, and the definition files' hashes."""
    data = path_or_bytes if isinstance(path_or_bytes, bytes) else Path(path_or_bytes).read_bytes()
    manifest, events, files = read_bundle(data)
    iid = manifest["instance_id"]
    ok, bad = verify_chain(iid, events)
    problems = []
    if not ok:
        problems.append(f"event chain broken at seq {bad}")
    elif _head(events) != manifest["head_hash"] or len(events) != manifest["events"]:
        ok, bad = False, len(events) + 1
        problems.append("events missing at the end (head hash differs from the manifest)")
    for f in manifest["files"]:
        content = files.get(f["name"])
        if content is None or hashlib.sha256(content).hexdigest() != f["hash"]:
            problems.append(f"definition file {f['name']} altered or missing")
    names = "\n".join(f"{f['name']}:{f['hash']}" for f in manifest["files"])
    if hashlib.sha256(names.encode()).hexdigest() != manifest["content_hash"]:
        problems.append("definition version hash does not match its files")
    return {"verified": not problems, "first_bad_seq": bad, "events": len(events), "problems": problems}


def rehash(instance_id: str, events: list[Any]) -> None:
    """Recompute a chain in place (used by tests to build well-formed but altered histories)."""
    prev = GENESIS
    for ev in events:
        ev.prev_hash = prev
        ev.hash = chain_hash(prev, event_payload(instance_id, ev.seq, ev.op, ev, ev.digest))
        prev = ev.hash
