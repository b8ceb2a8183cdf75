"""Error, escalation, link and signal events end to end through the engine, each history replayed;
compensation and conditional events refused at deploy with the element named (README conformance)."""

from __future__ import annotations

import pytest

from engine.actor import Actor
from engine.errors import DefinitionInvalid

from .engine_support import DATA
from .scenario_support import Flow

DESK = Actor("dora", frozenset({"service_desk"}))
KEEPER = Actor("kuguan", frozenset({"spare_parts_keeper"}))


def _run(svc, name: str, key: str) -> Flow:
    svc.runtime.deploy([(f"event_{name}.bpmn", (DATA / f"event_{name}.bpmn").read_bytes())])
    return Flow(svc, svc.runtime.start(key, {}, "dora"))


@pytest.mark.parametrize(("name", "key"), [("error", "err"), ("escalation", "esc")])
def test_a_subprocess_end_event_is_caught_by_its_boundary_event(svc, clock, name: str, key: str) -> None:
    thrown = _run(svc, name, key)
    thrown.do("check", DESK, missing=True)  # the subprocess ends at the error (escalation) end event
    assert thrown.open() == ["order"]  # the boundary event's path: the spare-parts keeper orders
    thrown.do("order", KEEPER)
    assert thrown.instance().status == "completed" and thrown.replays()

    normal = Flow(svc, svc.runtime.start(key, {}, "dora"))
    normal.do("check", DESK, missing=False)
    assert normal.open() == [] and normal.instance().status == "completed"
    assert "order" not in normal.completed() and normal.replays()


def test_a_throw_link_continues_at_its_catch_link(svc, clock) -> None:
    f = _run(svc, "link", "lnk")
    assert f.open() == ["t"]  # start → throw link "page2" → catch link "page2" → t
    f.do("t", DESK)
    assert f.instance().status == "completed" and f.replays()


def test_an_unmatched_link_is_refused_naming_both_events(svc, clock) -> None:
    catch = b'<bpmn:linkEventDefinition name="page2"/></bpmn:intermediateCatchEvent>'
    content = (DATA / "event_link.bpmn").read_bytes().replace(catch, catch.replace(b"page2", b"page3"))
    with pytest.raises(DefinitionInvalid) as refused:
        svc.runtime.deploy([("event_link.bpmn", content)])
    assert [e["element_id"] for e in refused.value.errors] == ["go", "land"]


def test_a_signal_thrown_in_one_branch_is_caught_in_the_other(svc, clock) -> None:
    f = _run(svc, "signal", "sig")
    assert f.open() == ["t"]  # the other branch waits for network_restored
    f.do("t", DESK)  # then throws it
    assert f.open() == ["after"]
    f.do("after", DESK)
    assert f.instance().status == "completed" and f.replays()


@pytest.mark.parametrize(("name", "elements", "words"), [
    ("compensation", ["undo", "compensate"], "compensation events are not supported"),
    ("conditional", ["waitc"], "conditional events are not supported"),
])
def test_events_the_engine_cannot_run_are_refused_at_deploy(svc, clock, name: str, elements: list[str],
                                                           words: str) -> None:
    with pytest.raises(DefinitionInvalid) as refused:
        svc.runtime.deploy([(f"event_{name}.bpmn", (DATA / f"event_{name}.bpmn").read_bytes())])
    assert [e["element_id"] for e in refused.value.errors] == elements
    assert all(words in e["message"] for e in refused.value.errors)
