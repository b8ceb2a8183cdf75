"""Watch the parsed specs a service shares between its cases: each is written out with the spec
serializer when it is parsed, and must read the same when the scenario is over. A case that changed
its version's spec would change every later case of that version (see tests/test_shared_spec.py)."""

from __future__ import annotations

import json
from typing import Any

from engine.bpmn.spiff import make_full_serializer
from engine.bpmn.versions import LoadedVersion
from engine.service import Service

_registry = make_full_serializer().registry


def specs_text(spec: Any, subprocess_specs: dict[str, Any]) -> str:
    """A spec and its subprocess specs as the spec serializer writes them (as text at once: the
    serializer's dicts share the spec's own lists)."""
    subs = {name: _registry.convert(sub) for name, sub in sorted(subprocess_specs.items())}
    return json.dumps([_registry.convert(spec), subs], sort_keys=True, default=str)


def spec_text(loaded: LoadedVersion) -> str:
    return specs_text(loaded.spec, loaded.subprocess_specs)


class SpecGuard:
    def __init__(self, svc: Service) -> None:
        self.parsed: list[tuple[LoadedVersion, str]] = []
        parse = svc.definitions._parse

        def watched(*args: Any) -> LoadedVersion:
            loaded = parse(*args)
            self.parsed.append((loaded, spec_text(loaded)))
            return loaded

        svc.definitions._parse = watched  # type: ignore[method-assign, assignment]

    def changed(self) -> list[str]:
        """`process v<n>` of every parsed version whose spec is no longer as parsed."""
        return [f"{loaded.process_key} v{loaded.version}" for loaded, text in self.parsed
                if spec_text(loaded) != text]
