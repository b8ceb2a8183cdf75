"""Tamper evidence and export: verify hash chains, write and check self-contained bundles."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.audit import anchored
from engine.audit.anchored import Anchor
from engine.audit.checkpoints import load_public_key
from engine.errors import NotFound
from engine.settings import Settings
from engine.store.chain import GENESIS, chain_hash, event_payload, verify_chain
from engine.store.checkpoints import events_of
from engine.store.models import DefinitionFile, EventRow, Instance, ProcessVersion
from engine.store.sessions import Store


def _chain(instance_id: str, events: list[Any], head: Instance | None) -> tuple[bool, int | None]:
    ok, bad = verify_chain(instance_id, events)
    if ok and head is not None and events and head.head_hash != events[-1].hash:
        ok, bad = False, events[-1].seq + 1  # events cut off the end
    return ok, bad


PublicKey = Ed25519PublicKey | str | Path  # a key, or the path of its PEM file


def _verdict(anchor: Anchor | None, events: int, bads: list[int | None],
             problems: list[str]) -> dict[str, Any]:
    known = [b for b in bads if b is not None]
    return {"verified": not known and not problems, "first_bad_seq": min(known) if known else None,
            "events": events, "checkpoint": anchor.summary() if anchor else None, "problems": problems}


def _verify_one(session: Session, anchor: Anchor | None, instance_id: str) -> dict[str, Any]:
    head = session.get(Instance, instance_id)
    events = events_of(session, instance_id) if head is not None else []
    ok, bad = _chain(instance_id, events, head)
    problems = [] if ok else [f"event chain broken at seq {bad}"]
    checked, found = (None, []) if anchor is None else anchored.check_instance(
        session, anchor, instance_id, events, head.created_at if head is not None else None)
    return _verdict(anchor, len(events), [bad, checked], problems + found)


def verify_instance(store: Store, instance_id: str, settings: Settings | None = None) -> dict[str, Any]:
    """The chain, and with a witness configured the newest checkpoint it holds (named in the answer)."""
    with store.read() as session:
        anchor = anchored.load_anchor(session, settings or Settings())
        known = anchor is not None and instance_id in anchor.leaves
        if session.get(Instance, instance_id) is None and not known:
            raise NotFound(f"no instance {instance_id}", instance_id=instance_id)
        result = _verify_one(session, anchor, instance_id)
        if anchor is not None:
            result["problems"] = anchor.problems + result["problems"]
            result["verified"] = result["verified"] and not anchor.problems
    return result


def verify_all(store: Store, settings: Settings | None = None) -> dict[str, Any]:
    with store.read() as session:
        anchor = anchored.load_anchor(session, settings or Settings())
        ids = list(session.scalars(select(Instance.id).order_by(Instance.created_at)).all())
        gone = sorted(set(anchor.leaves) - set(ids)) if anchor is not None else []
        failed = []
        for iid in ids + gone:
            result = _verify_one(session, anchor, iid)
            if not result["verified"]:
                entry = {"instance_id": iid, "first_bad_seq": result["first_bad_seq"]}
                failed.append({**entry, "problems": result["problems"]} if anchor is not None else entry)
    missing = set(gone)
    present = len([f for f in failed if f["instance_id"] not in missing])
    return {"instances": len(ids), "verified": len(ids) - present,
            "failed": failed, "checkpoint": anchor.summary() if anchor else None,
            "problems": anchor.problems if anchor else []}


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


def export_bundle(store: Store, instance_id: str, settings: Settings | None = None) -> bytes:
    """With a witness configured the bundle carries the newest checkpoint covering the instance."""
    with store.read() as session:
        anchor = anchored.load_anchor(session, settings or Settings())
        section = anchored.bundle_section(session, anchor, instance_id)
        inst = session.get(Instance, instance_id)
        if inst is None:
            raise NotFound(f"no instance {instance_id}", instance_id=instance_id)
        version = session.get(ProcessVersion, inst.version_id)
        assert version is not None
        rows = session.scalars(
            select(EventRow).where(EventRow.instance_id == instance_id).order_by(EventRow.seq)
        ).all()
        files = {f["name"]: session.get(DefinitionFile, f["hash"]) for f in version.files}
        earlier = _earlier_versions(session, inst.process_key, version.content_hash, rows)
        for v in earlier:  # a migrated instance's history ran on these first
            files.update({f"{v.content_hash}/{f['name']}": session.get(DefinitionFile, f["hash"])
                          for f in v.files})
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
            "earlier_versions": [{"version": v.version, "content_hash": v.content_hash, "files": v.files}
                                 for v in earlier],
        }
        contents = {n: f.content if f is not None else b"" for n, f in files.items()}
        return _zip(manifest, rows, section, contents)


def _zip(manifest: dict[str, Any], rows: Sequence[EventRow], section: dict[str, Any] | None,
         files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True))
        lines = (json.dumps(event_dict(r), ensure_ascii=False, sort_keys=True) + "\n" for r in rows)
        zf.writestr("events.jsonl", "".join(lines))
        if section is not None:
            zf.writestr("checkpoint.json", json.dumps(section, ensure_ascii=False, sort_keys=True))
        for name, content in files.items():
            zf.writestr(f"definitions/{name}", content)
    return buffer.getvalue()


def _earlier_versions(session: Session, key: str, current: str,
                      rows: Sequence[EventRow]) -> list[ProcessVersion]:
    hashes = [r.data.get("content_hash") for r in rows if r.type in ("instance_started", "instance_migrated")]
    wanted = [h for h in dict.fromkeys(hashes) if h and h != current]
    found = session.scalars(select(ProcessVersion).where(ProcessVersion.process_key == key,
                                                         ProcessVersion.content_hash.in_(wanted)))
    return sorted(found, key=lambda v: v.version)


def _file_problems(manifest: dict[str, Any], files: dict[str, bytes]) -> list[str]:
    """Each version's files against their hashes, and each version's hash against its files."""
    problems = []
    versions = [("", manifest)] + [(f"{v['content_hash']}/", v) for v in manifest.get("earlier_versions", [])]
    for prefix, version in versions:
        for f in version["files"]:
            content = files.get(prefix + f["name"])
            if content is None or hashlib.sha256(content).hexdigest() != f["hash"]:
                problems.append(f"definition file {f['name']} altered or missing")
        names = "\n".join(f"{f['name']}:{f['hash']}" for f in version["files"])
        if hashlib.sha256(names.encode()).hexdigest() != version["content_hash"]:
            problems.append("definition version hash does not match its files")
    return problems


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


def _bundle_checkpoint(data: bytes, iid: str, events: list[Any], public_key: PublicKey | None,
                       ) -> tuple[dict[str, Any] | None, int | None, list[str]]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        if "checkpoint.json" not in zf.namelist():
            return None, None, []
        section = json.loads(zf.read("checkpoint.json"))
    line = section["witness"]
    summary = {"number": line["checkpoint"]["number"], "at": line["checkpoint"]["at"], "hash": line["hash"],
               "checked": public_key is not None}
    if public_key is None:
        return summary, None, []
    key = public_key if not isinstance(public_key, str | Path) else load_public_key(public_key)
    bad, problems = anchored.check_bundle_section(key, iid, section, events)
    return summary, bad, problems


def verify_bundle(path_or_bytes: str | Path | bytes, public_key: PublicKey | None = None) -> dict[str, Any]:
    """Offline check: the chain, the head hash in the manifest, the definition files' hashes, and with
    the public key (a path or a key) the signed checkpoint the bundle carries."""
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
    problems.extend(_file_problems(manifest, files))
    summary, anchored_bad, found = _bundle_checkpoint(data, iid, events, public_key)
    known = [b for b in (bad, anchored_bad) if b is not None]
    return {"verified": not problems and not found, "first_bad_seq": min(known) if known else None,
            "events": len(events), "problems": problems + found, "checkpoint": summary}


def rehash(instance_id: str, events: list[Any]) -> None:
    """Recompute a chain in place (used by tests to build well-formed but altered histories)."""
    prev = GENESIS
    for ev in events:
        ev.prev_hash = prev
        ev.hash = chain_hash(prev, event_payload(instance_id, ev.seq, ev.op, ev, ev.digest))
        prev = ev.hash
