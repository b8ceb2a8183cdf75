"""Deployed definitions: immutable versions keyed by content hash, and a cache of parsed specs.

A version of a process is the set of files it needs (its own BPMN, the DMN tables it consults, the
processes it calls, the SLA table when it declares clocks). Its hash covers all of them, so editing
`sla_targets.dmn` creates new versions of the processes that use it, while running instances stay
on the files they started with.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from engine.bpmn import lifecycle
from engine.bpmn.model import ProcessModel
from engine.bpmn.spiff import normalize_timers, settle_multi_instance
from engine.bpmn.topics import Topics
from engine.bpmn.validation import Checked, Source, check
from engine.bpmn.versions import DeployResult, LoadedVersion
from engine.clock import Clock
from engine.errors import DefinitionInvalid, EngineError, NotFound
from engine.store.models import DefinitionFile, FileHead, ProcessVersion
from engine.store.sessions import Store

SLA_DECISION = "sla_targets"
__all__ = ["Definitions", "DeployResult", "LoadedVersion", "sha256"]  # the last three are re-exported


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class AfterDeploy(Protocol):
    def prepare(self, models: dict[str, ProcessModel], now: datetime) -> Any: ...
    def apply(self, session: Session, results: list[DeployResult], prepared: Any) -> None: ...


@dataclass
class Combined:
    checked: Checked
    new_names: set[str]
    moved: dict[str, str]  # process id -> the file name that defined it before


def _closure(pid: str, checked: Checked) -> set[str]:
    """File names a process needs: its own, called processes (transitively), decisions, SLA table."""
    files: set[str] = set()
    todo, seen = [pid], set()
    while todo:
        current = todo.pop()
        if current in seen or current not in checked.models:
            continue
        seen.add(current)
        model = checked.models[current]
        files.add(checked.model_file[current])
        for el in model.elements.values():
            if el.decision_ref and el.decision_ref in checked.decision_file:
                files.add(checked.decision_file[el.decision_ref])
            if el.called_element:
                todo.append(el.called_element)
        if model.sla_clock_names() and SLA_DECISION in checked.decision_file:
            files.add(checked.decision_file[SLA_DECISION])
    return files


class Definitions:
    def __init__(
        self, store: Store, topics: Topics, clock: Clock, functions: set[str] | None = None,
        data_problem: Callable[[str], str | None] | None = None,
    ) -> None:
        self.store = store
        self.topics = topics
        # What is wrong with the data a topic's handler reads (HandlerRegistry.data_problem), or None.
        self.data_problem = data_problem or (lambda topic: None)
        self.functions = set(functions or ())  # the engine's functions diagram code may call
        self.clock = clock
        self._cache: dict[int, LoadedVersion] = {}
        self._lock = threading.Lock()

    def validate(self, files: list[tuple[str, bytes]]) -> list[dict[str, Any]]:
        with self.store.read() as session:
            return self._combine(session, files).checked.errors

    def candidate_groups(self, files: list[tuple[str, bytes]]) -> list[tuple[str, str, str]]:
        """(file, element_id, group) for every candidate group the files' user tasks name."""
        checked = check([Source(Path(n).name, c) for n, c in files], self.topics, strict_ids=set())
        return [(checked.model_file[pid], el.id, group) for pid, model in checked.models.items()
                for el in model.elements.values() for group in el.candidate_groups]

    def _data_errors(self, combined: Combined) -> list[dict[str, Any]]:
        """The deployed files' service tasks whose handler's data files are wrong, one error per topic."""
        errors, seen = [], set()
        for pid, model in combined.checked.models.items():
            file = combined.checked.model_file.get(pid, "")
            for el in model.elements.values():
                if file not in combined.new_names or not el.topic or el.topic in seen:
                    continue
                seen.add(el.topic)
                problem = self.data_problem(el.topic)
                if problem:
                    errors.append({"file": file, "element_id": el.id, "message": problem})
        return errors

    @staticmethod
    def _heads(session: Session) -> dict[str, str]:
        return {head.name: head.hash for head in session.scalars(select(FileHead))}

    def _combine(self, session: Session, files: list[tuple[str, bytes]]) -> Combined:
        new = {Path(name).name: content for name, content in files}
        heads = session.scalars(select(FileHead)).all()
        sources = [Source(name, content) for name, content in new.items()]
        redefined = {pid: name for name, content in new.items() if name.endswith(".bpmn")
                     for pid in lifecycle.process_ids(content)}
        moved: dict[str, str] = {}
        for head in heads:
            if head.name not in new:
                row = session.get(DefinitionFile, head.hash)
                if row is None:
                    continue
                old_ids = lifecycle.process_ids(row.content) if row.kind == "bpmn" else set()
                if old_ids and old_ids <= set(redefined):
                    # The process moved to a new file: its next version comes from there.
                    moved.update({pid: head.name for pid in old_ids})
                    continue
                sources.append(Source(row.name, row.content))
        # Only processes in the new files must be flawless; older ones were checked when deployed.
        probe = check([s for s in sources if s.name in new], self.topics, strict_ids=set())
        strict = set(probe.models) if not probe.errors else None
        checked = check(sources, self.topics, strict_ids=strict, fresh=set(new), functions=self.functions)
        return Combined(checked, set(new), moved)

    def deploy(self, files: list[tuple[str, bytes]], actor: str = "system",
               then: AfterDeploy | None = None) -> list[DeployResult]:
        """`then` prepares outside the write transaction and applies inside it (the runtime arms the
        start timers so): the versions and their timers are stored together or not at all."""
        if not files:
            raise DefinitionInvalid([{"file": None, "element_id": None, "message": "no files given"}])
        # Parsing every diagram takes long; it is done before the write transaction, and only redone
        # inside it when another deploy changed the files in between.
        with self.store.read() as session:
            heads = self._heads(session)
            combined = self._combine(session, files)
        if combined.checked.errors:
            raise DefinitionInvalid(combined.checked.errors)
        data_errors = self._data_errors(combined)
        if data_errors:
            raise DefinitionInvalid(data_errors)
        now = self.clock.now()
        prepared = then.prepare(combined.checked.models, now) if then is not None else None
        with self.store.write() as session:
            if self._heads(session) != heads:
                combined = self._combine(session, files)
                if combined.checked.errors:
                    raise DefinitionInvalid(combined.checked.errors)
                prepared = then.prepare(combined.checked.models, now) if then is not None else None
            results = self._write(session, combined, actor, now)
            if then is not None:
                then.apply(session, results, prepared)
            return results

    def _write(self, session: Session, combined: Combined, actor: str, now: datetime) -> list[DeployResult]:
        checked = combined.checked
        for src in checked.sources:
            self._store_file(session, src, now)
        for old_name in set(combined.moved.values()):
            session.execute(delete(FileHead).where(FileHead.name == old_name))
        results = []
        for pid, model in checked.models.items():
            needed = _closure(pid, checked)
            if needed & combined.new_names:
                result = self._version(session, pid, model, needed, checked, actor, now)
                result.moved_from = combined.moved.get(pid)
                result.warnings = lifecycle.note_groups(session, model, checked.model_file[pid])
                results.append(result)
        currents = lifecycle.current_versions(session, {r.process_key for r in results})
        for result in results:
            result.current = currents.get(result.process_key, result.version)
        return results

    def _store_file(self, session: Session, src: Source, now: Any) -> None:
        digest = sha256(src.content)
        if session.get(DefinitionFile, digest) is None:
            session.add(
                DefinitionFile(hash=digest, name=src.name, kind=src.kind, content=src.content, created_at=now)
            )
        head = session.get(FileHead, src.name)
        if head is None:
            session.add(FileHead(name=src.name, hash=digest, updated_at=now))
        elif head.hash != digest:
            head.hash, head.updated_at = digest, now

    def _version(
        self,
        session: Session,
        pid: str,
        model: ProcessModel,
        needed: set[str],
        checked: Checked,
        actor: str,
        now: Any,
    ) -> DeployResult:
        by_name = {s.name: sha256(s.content) for s in checked.sources}
        files = [{"name": n, "hash": by_name[n]} for n in sorted(needed)]
        content_hash = sha256("\n".join(f"{f['name']}:{f['hash']}" for f in files).encode())
        existing = session.scalar(
            select(ProcessVersion).where(
                ProcessVersion.process_key == pid, ProcessVersion.content_hash == content_hash
            )
        )
        if existing is not None:
            return DeployResult(pid, existing.id, existing.version, content_hash, False)
        latest = (
            session.scalar(select(func.max(ProcessVersion.version)).where(ProcessVersion.process_key == pid))
            or 0
        )
        row = ProcessVersion(
            process_key=pid,
            version=latest + 1,
            name=model.name,
            content_hash=content_hash,
            files=files,
            start_timer=model.start_timer,
            deployed_at=now,
            deployed_by=actor,
        )
        session.add(row)
        session.flush()
        previous = lifecycle.make_current(session, row, actor, now, "deployed")
        return DeployResult(pid, row.id, row.version, content_hash, True,
                            model.start_timer, model.start_element, now, previous=previous)

    def current(self, session: Session, process_key: str) -> ProcessVersion:
        """The version new instances start on (the newest, unless a process owner activated another)."""
        return lifecycle.current(session, process_key)

    def startable_id(self, session: Session, process_key: str, version: int | None = None) -> int:
        return lifecycle.startable_id(session, process_key, version)

    def load(self, session: Session, version_id: int, verify: bool = False) -> LoadedVersion:
        """Parsed spec of a version; `verify` re-hashes the stored files (replay does)."""
        if not verify:
            with self._lock:
                cached = self._cache.get(version_id)
            if cached is not None:
                return cached
        row = session.get(ProcessVersion, version_id)
        if row is None:
            raise NotFound(f"no definition version {version_id}")
        loaded = self._parse(session, row, verify)
        with self._lock:
            self._cache[version_id] = loaded
        return loaded

    def _parse(self, session: Session, row: ProcessVersion, verify: bool) -> LoadedVersion:
        sources = []
        for f in row.files:
            stored = session.get(DefinitionFile, f["hash"])
            if stored is None or (verify and sha256(stored.content) != f["hash"]):
                raise EngineError(
                    f"definition file {f['name']} of {row.process_key} v{row.version} is missing or altered",
                    details={"version_id": row.id},
                )
            sources.append(Source(stored.name, stored.content))
        if verify:
            names = "\n".join(f"{f['name']}:{f['hash']}" for f in row.files)
            if sha256(names.encode()) != row.content_hash:
                raise EngineError(
                    f"definition version {row.process_key} v{row.version} was altered",
                    details={"version_id": row.id},
                )
        checked = check(sources, self.topics, strict_ids=set(), unique_decisions=False)
        if checked.errors or checked.parser is None:
            raise DefinitionInvalid(checked.errors)
        spec = checked.parser.get_spec(row.process_key)
        subs = checked.parser.get_subprocess_specs(row.process_key)
        for s in [spec, *subs.values()]:
            normalize_timers(s)
            settle_multi_instance(s)
        return LoadedVersion(
            row.id,
            row.process_key,
            row.version,
            row.content_hash,
            spec,
            subs,
            checked.models[row.process_key],
            checked.models,
            checked.parser,
        )
