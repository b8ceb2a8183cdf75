"""Diagrams nobody here wrote (tests/data/corpus: the BPMN MIWG reference models, CC BY 3.0;
SpiffWorkflow's own test diagrams, LGPL-3.0; the Camunda 7 examples, Apache-2.0): each one either runs
to its end, driven as its users would work it, and replays; or is refused at deploy with every problem
naming an element of the file; or deploys and stops at an engine error naming an element (it needs
data its own tests supply). None fails with a traceback or an unnamed error. Which is which is
`tests/data/corpus/expected.toml`; the README prints the counts per source."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.errors import DefinitionInvalid
from engine.store.models import Instance

from .corpus_driver import drive
from .scenario_support import Flow

CORPUS = Path(__file__).resolve().parent / "data" / "corpus"
EXPECTED = tomllib.loads((CORPUS / "expected.toml").read_text())


def _adopted(name: str) -> bytes:
    """As a process owner adopting a model drawn for another tool would: its pools made executable,
    and a user task that names nobody to do it offered to the service desk."""
    content = (CORPUS / name).read_bytes().replace(b'isExecutable="false"', b'isExecutable="true"')
    return UNASSIGNED.sub(_offered, content)


UNASSIGNED = re.compile(rb"<((?:[A-Za-z_][\w.-]*:)?userTask)\b([^>]*)>")


def _offered(match: re.Match[bytes]) -> bytes:
    attributes = match.group(2)
    if b"candidateGroups=" in attributes or b"assignee=" in attributes:
        return match.group(0)
    closing = b"/" if attributes.endswith(b"/") else b""
    attributes = attributes[:-1] if closing else attributes
    # declared on the task itself: many of these files do not declare the Camunda namespace
    offered = b' xmlns:wbc="http://camunda.org/schema/1.0/bpmn" wbc:candidateGroups="service_desk"'
    return b"<" + match.group(1) + attributes + offered + closing + b">"


def test_every_corpus_file_has_an_expected_class() -> None:
    files = sorted(str(p.relative_to(CORPUS)) for p in CORPUS.glob("*/*.bpmn"))
    assert files == sorted(EXPECTED) and len(files) >= 100
    assert {e["class"] for e in EXPECTED.values()} == {"runs", "refused", "stops"}
    assert {name.split("/")[0] for name in files} == {"miwg", "spiff", "camunda"}


@pytest.mark.parametrize("name", sorted(n for n, e in EXPECTED.items() if e["class"] == "refused"))
def test_a_refused_diagram_names_its_elements(engine_service, clock, name: str) -> None:
    content = _adopted(name)
    with pytest.raises(DefinitionInvalid) as refused:
        engine_service.runtime.deploy([(Path(name).name, content)])
    ids = {m.decode() for m in re.findall(rb'\bid="([^"]+)"', content)}
    named = [e["element_id"] for e in refused.value.errors]
    assert all(n in ids for n in named), named  # an element of this file, never None
    assert all(e["message"] and "Traceback" not in e["message"] for e in refused.value.errors)
    assert sorted(set(named)) == EXPECTED[name]["elements"]


@pytest.mark.parametrize("name", sorted(n for n, e in EXPECTED.items() if e["class"] == "runs"))
def test_an_accepted_diagram_runs_to_its_end_and_replays(engine_service, clock, name: str) -> None:
    engine_service.runtime.deploy([(Path(name).name, _adopted(name))])
    for process in EXPECTED[name]["processes"]:
        outcome = drive(engine_service, clock, process)
        assert (outcome.status, outcome.error) == ("completed", None), outcome
    with engine_service.store.read() as s:
        rows = list(s.execute(select(Instance.id, Instance.status, Instance.parent_instance_id)))
    # the listed processes, and the instances their call activities started, all ended
    assert len([r for r in rows if r.parent_instance_id is None]) == len(EXPECTED[name]["processes"])
    assert {r.status for r in rows} == {"completed"}
    assert all(Flow(engine_service, r.id).replays() for r in rows)


@pytest.mark.parametrize("name", sorted(n for n, e in EXPECTED.items() if e["class"] == "stops"))
def test_a_diagram_that_stops_names_the_element(engine_service, clock, name: str) -> None:
    content = _adopted(name)
    engine_service.runtime.deploy([(Path(name).name, content)])
    ids = {m.decode() for m in re.findall(rb'\bid="([^"]+)"', content)}
    outcome = drive(engine_service, clock, EXPECTED[name]["process"])
    assert outcome.error is not None and "Traceback" not in outcome.error, outcome
    assert outcome.element == EXPECTED[name]["element"] and outcome.element in ids, outcome
