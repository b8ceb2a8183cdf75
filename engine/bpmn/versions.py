"""A deployed version as the runtime uses it (parsed), and what a deploy answers for each process."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.bpmn.model import Element, ProcessModel


@dataclass
class LoadedVersion:
    id: int
    process_key: str
    version: int
    content_hash: str
    spec: Any
    subprocess_specs: dict[str, Any]
    model: ProcessModel
    models: dict[str, ProcessModel]
    parser: Any

    def models_element(self, element_id: str) -> Element:
        if element_id in self.model.elements:
            return self.model.elements[element_id]
        for model in self.models.values():
            if element_id in model.elements:
                return model.elements[element_id]
        return Element(id=element_id, kind="", name=element_id)

    def decision(self, decision_id: str) -> Any | None:
        if decision_id not in self.parser.dmn_parsers:
            return None
        return self.parser.get_engine(decision_id, None)


@dataclass
class DeployResult:
    process_key: str
    version_id: int
    version: int
    content_hash: str
    created: bool
    start_timer: str | None = None
    start_element: str | None = None
    deployed_at: Any = None
    previous: int | None = None  # the version that was current before this deploy made this one current
    current: int = 0  # the version new instances start on after the deploy
    moved_from: str | None = None  # the file that defined the process before, when it moved to a new one
    warnings: list[dict[str, str | None]] = field(default_factory=list)  # {file, element_id, message}
