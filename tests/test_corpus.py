"""Diagrams nobody here wrote (tests/data/corpus: the BPMN MIWG reference models, CC BY 3.0): each one
either runs to its end, driven as its users would work it, and replays; or is refused at deploy with
every problem naming an element of the file, none as a traceback or an unnamed error. Which is which
is `tests/data/corpus/expected.toml`; the README prints the counts."""

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
    """As a process owner adopting a model drawn for interchange would: its pools made executable."""
    return (CORPUS / name).read_bytes().replace(b'isExecutable="false"', b'isExecutable="true"')


def test_every_corpus_file_has_an_expected_class() -> None:
    files = sorted(str(p.relative_to(CORPUS)) for p in CORPUS.glob("*/*.bpmn"))
    assert files == sorted(EXPECTED) and len(files) >= 20
    assert {e["class"] for e in EXPECTED.values()} == {"runs", "refused"}


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
        ids = list(s.scalars(select(Instance.id)))
    assert len(ids) == len(EXPECTED[name]["processes"])
    assert all(Flow(engine_service, i).replays() for i in ids)
