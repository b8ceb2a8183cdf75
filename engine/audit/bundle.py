"""Replaying an exported audit bundle with no database: an in-memory store is filled from it."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy.orm import Session

from engine.audit.replay import Replayer, ReplayResult
from engine.audit.verify import read_bundle
from engine.bpmn.definitions import Definitions
from engine.clock import ManualClock
from engine.settings import Settings
from engine.sla.engine import SlaEngine
from engine.sla.hooks import SlaHooks
from engine.store.migrate import create_all
from engine.store.models import DefinitionFile, EventRow, Instance, ProcessVersion
from engine.store.sessions import Store


def replay_bundle(
    data: bytes, sla: SlaHooks | None = None, settings: Settings | None = None, upto: int | None = None
) -> ReplayResult:
    manifest, events, files = read_bundle(data)
    config = settings or Settings()
    store = Store("sqlite://")
    create_all(store)
    with store.write() as session:
        _fill(session, manifest, events, files)
    definitions = Definitions(store, {}, ManualClock())
    try:
        clocks = sla or SlaEngine(ManualClock(), config.sla_warning_ratio)
        replayer = Replayer(store, definitions, clocks, config)
        return replayer.replay(manifest["instance_id"], upto)
    finally:
        store.dispose()


def _fill(session: Session, manifest: dict[str, Any], events: list[Any], files: dict[str, bytes]) -> None:
    """The rows replay reads: the definition files and versions, the instance, its events. The current
    version is id 1; the versions a migrated history ran on before it follow."""
    first = events[0]
    versions = [("", manifest)] + [(f"{v['content_hash']}/", v) for v in manifest.get("earlier_versions", [])]
    stored: set[str] = set()
    for number, (prefix, version) in enumerate(versions, start=1):
        for f in version["files"]:
            content = files.get(prefix + f["name"], b"")
            digest = hashlib.sha256(content).hexdigest()
            if digest not in stored:
                stored.add(digest)
                session.add(DefinitionFile(hash=digest, name=f["name"], kind=f["name"].rsplit(".", 1)[-1],
                                           content=content, created_at=first.at))
        session.add(ProcessVersion(id=number, process_key=manifest["process"], version=version["version"],
                                   name=manifest["process"], content_hash=version["content_hash"],
                                   files=version["files"], start_timer=None, deployed_at=first.at,
                                   deployed_by="bundle"))
    session.flush()
    session.add(Instance(id=manifest["instance_id"], process_key=manifest["process"], version_id=1,
                         status=manifest["status"], business_key=manifest.get("business_key"),
                         parent_instance_id=None, started_by=first.actor or "", data={}, state={},
                         task_id_counter=0, last_seq=len(events), head_hash=manifest["head_hash"],
                         created_at=first.at, updated_at=first.at, ended_at=None, lock_version=1))
    for ev in events:
        session.add(EventRow(instance_id=manifest["instance_id"], seq=ev.seq, op=ev.op, type=ev.type,
                             at=ev.at, actor=ev.actor, element_id=ev.element_id, task_id=ev.task_id,
                             data=ev.data, digest=ev.digest, prev_hash=ev.prev_hash, hash=ev.hash))
