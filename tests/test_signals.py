"""Signals across instances, as Camunda 7 broadcasts them (README "BPMN conformance"): a signal thrown
by an instance or through POST /signals reaches every waiting catch and boundary signal event of every
running instance, once, and starts every process whose current version has a signal start event of
that name; each receiver records it in its own chain, which verifies and replays."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from engine.actor import Actor
from engine.clock import ManualClock

from .test_api_helpers import ApiHarness, assert_error

HEAD = ('<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions '
        'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="D_{key}" targetNamespace="t">'
        '<bpmn:signal id="Sig_power" name="power_restored"/><bpmn:process id="{key}" isExecutable="true">')
TAIL = "</bpmn:process></bpmn:definitions>"
SIGNAL = '<bpmn:signalEventDefinition signalRef="Sig_power"/>'
BEGIN = '<bpmn:startEvent id="Begin"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>'
NOTE = ('<bpmn:extensionElements><camunda:properties><camunda:property name="payload.note" '
        'value="string, maxlength=20"/></camunda:properties></bpmn:extensionElements>')


def _task(tid: str, incoming: str, outgoing: str) -> str:
    return (f'<bpmn:userTask id="{tid}" camunda:candidateGroups="service_desk"><bpmn:incoming>{incoming}'
            f'</bpmn:incoming><bpmn:outgoing>{outgoing}</bpmn:outgoing></bpmn:userTask>')


def _flows(*pairs: tuple[str, str]) -> str:
    return "".join(f'<bpmn:sequenceFlow id="f{i}" sourceRef="{a}" targetRef="{b}"/>'
                   for i, (a, b) in enumerate(pairs, 1))


def _diagram(key: str, body: str) -> bytes:
    return (HEAD.format(key=key) + body + TAIL).encode()


# Waits at an intermediate signal catch event, then offers Check; `after` runs between them.
def _waiter(key: str = "waiter", after: str = "") -> bytes:
    middle = (f'<bpmn:scriptTask id="Calc" scriptFormat="python"><bpmn:incoming>f2</bpmn:incoming>'
              f'<bpmn:outgoing>f3</bpmn:outgoing><bpmn:script>{after}</bpmn:script></bpmn:scriptTask>'
              if after else "")
    flows = [("Begin", "Wait"), ("Wait", "Calc"), ("Calc", "Check")] if after else [("Begin", "Wait"),
                                                                                     ("Wait", "Check")]
    out = len(flows)
    wait = (f'<bpmn:intermediateCatchEvent id="Wait">{NOTE}<bpmn:incoming>f1</bpmn:incoming>'
            f'<bpmn:outgoing>f2</bpmn:outgoing>{SIGNAL}</bpmn:intermediateCatchEvent>')
    return _diagram(key, BEGIN + wait + middle + _task("Check", f"f{out}", f"f{out + 1}")
                    + f'<bpmn:endEvent id="Finish"><bpmn:incoming>f{out + 1}</bpmn:incoming></bpmn:endEvent>'
                    + _flows(*flows, ("Check", "Finish")))


# Work is interrupted by a boundary signal event, which leads to Restart.
GUARDED = _diagram("guarded", BEGIN + _task("Work", "f1", "f2")
                   + '<bpmn:endEvent id="Done"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>'
                   f'<bpmn:boundaryEvent id="Cut" attachedToRef="Work">{NOTE}'
                   f'<bpmn:outgoing>f3</bpmn:outgoing>{SIGNAL}</bpmn:boundaryEvent>'
                   + _task("Restart", "f3", "f4")
                   + '<bpmn:endEvent id="Finish"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>'
                   + _flows(("Begin", "Work"), ("Work", "Done"), ("Cut", "Restart"), ("Restart", "Finish")))
# A signal start event: each signal starts one instance, which offers Inspect.
STARTER = _diagram("starter", f'<bpmn:startEvent id="Begin">{NOTE}<bpmn:outgoing>f1</bpmn:outgoing>{SIGNAL}'
                   '</bpmn:startEvent>' + _task("Inspect", "f1", "f2")
                   + '<bpmn:endEvent id="Finish"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>'
                   + _flows(("Begin", "Inspect"), ("Inspect", "Finish")))
# Fix, then a signal end event.
THROWER = _diagram("thrower", BEGIN + _task("Fix", "f1", "f2")
                   + f'<bpmn:endEvent id="Restored"><bpmn:incoming>f2</bpmn:incoming>{SIGNAL}</bpmn:endEvent>'
                   + _flows(("Begin", "Fix"), ("Fix", "Restored")))


@pytest.fixture
def api(db_url: str, clock: ManualClock) -> Iterator[ApiHarness]:
    harness = ApiHarness(db_url, clock)
    yield harness
    harness.close()


def _deploy(api: ApiHarness, **files: bytes) -> None:
    api.service.runtime.deploy([(f"{k}.bpmn", v) for k, v in files.items()], "setup")


def _start(api: ApiHarness, key: str, data: dict[str, Any] | None = None) -> str:
    response = api.post("/instances", "service_desk", json={"process": key, "data": data or {}})
    assert response.status_code == 201, response.json
    return str(response.json["id"])


def _open(api: ApiHarness, iid: str) -> list[str]:
    return [t["element_id"] for t in api.get(f"/instances/{iid}").json["open_tasks"]]


def _history(api: ApiHarness, iid: str) -> list[dict[str, Any]]:
    return list(api.get(f"/instances/{iid}/history", "auditor").json["items"])


def _sound(api: ApiHarness, iid: str) -> bool:
    verified = api.get(f"/instances/{iid}/verify", "auditor").json["verified"]
    replayed = api.get(f"/instances/{iid}/replay", "auditor").json
    assert "verified" in replayed, replayed
    return bool(verified and replayed["verified"])


def _signal(api: ApiHarness, data: dict[str, Any] | None = None, name: str = "power_restored",
            user: str = "service_desk") -> Any:
    return api.post("/signals", user, json={"name": name, "data": data or {}})


def test_two_waiting_instances_both_continue_once_and_one_not_waiting_is_untouched(api, clock) -> None:
    _deploy(api, waiter=_waiter(), guarded=GUARDED)
    first, second, boundary = _start(api, "waiter"), _start(api, "waiter"), _start(api, "guarded")
    clock.advance(timedelta(hours=1))
    answer = _signal(api, {"note": "市电恢复"})
    assert answer.status_code == 200, answer.json
    assert answer.json["reached"] == 3 and set(answer.json["instances"]) == {first, second, boundary}
    assert answer.json["started"] == [] and answer.json["incidents"] == []
    assert _open(api, first) == _open(api, second) == ["Check"] and _open(api, boundary) == ["Restart"]
    assert api.get(f"/instances/{first}").json["data"]["note"] == "市电恢复"
    received = [e for e in _history(api, first) if e["type"] == "signal_received"]
    assert len(received) == 1 and received[0]["element_id"] == "Wait"
    assert received[0]["data"]["thrower"] == {"actor": "service_desk"}

    untouched = {iid: len(_history(api, iid)) for iid in (first, second, boundary)}
    again = _signal(api, {"note": "第二次"})  # nobody waits any more: each subscription caught it once
    assert again.status_code == 200 and again.json["reached"] == 0
    assert {iid: len(_history(api, iid)) for iid in untouched} == untouched
    assert api.get(f"/instances/{first}").json["data"]["note"] == "市电恢复"
    assert all(_sound(api, iid) for iid in untouched)


def test_a_signal_start_event_starts_one_instance_per_signal(api, clock) -> None:
    _deploy(api, starter=STARTER)
    one = _signal(api, {"note": "一号楼"})
    two = _signal(api, {"note": "二号楼"})
    assert one.status_code == two.status_code == 201, one.json
    started = [*one.json["started"], *two.json["started"]]
    assert len(started) == 2 and len(set(started)) == 2 and one.json["reached"] == 0
    notes = [api.get(f"/instances/{iid}").json["data"]["note"] for iid in started]
    assert notes == ["一号楼", "二号楼"] and all(_open(api, iid) == ["Inspect"] for iid in started)
    assert all(_sound(api, iid) for iid in started)


def test_a_signal_end_event_in_one_instance_continues_another(api, clock) -> None:
    _deploy(api, waiter=_waiter(), thrower=THROWER)
    waiting = _start(api, "waiter")
    thrower = _start(api, "thrower", {"note": "机房已恢复", "other": "不传"})
    task = api.get(f"/instances/{thrower}").json["open_tasks"][0]
    clock.advance(timedelta(minutes=30))
    assert api.post(f"/tasks/{task['id']}/complete", "service_desk", json={"data": {}}).status_code == 200
    assert api.get(f"/instances/{thrower}").json["status"] == "completed"
    assert _open(api, waiting) == ["Check"]
    data = api.get(f"/instances/{waiting}").json["data"]
    assert data["note"] == "机房已恢复" and "other" not in data  # the receiver takes what it declares
    received = next(e for e in _history(api, waiting) if e["type"] == "signal_received")
    assert received["data"]["thrower"] == {"instance_id": thrower, "process": "thrower",
                                           "element_id": "Restored"}
    assert _sound(api, waiting) and _sound(api, thrower)


def test_a_failing_receiver_opens_an_incident_and_the_thrower_goes_on(api, clock) -> None:
    _deploy(api, waiter=_waiter(after="share = 1 / len(note)"), thrower=THROWER)
    waiting = _start(api, "waiter")
    thrower = _start(api, "thrower", {"note": ""})  # the receiver's script divides by its length
    task = api.get(f"/instances/{thrower}").json["open_tasks"][0]
    assert api.post(f"/tasks/{task['id']}/complete", "service_desk", json={"data": {}}).status_code == 200
    assert api.get(f"/instances/{thrower}").json["status"] == "completed"
    types = [e["type"] for e in _history(api, waiting)]
    assert types[-2:] == ["signal_failed", "incident_opened"] and "signal_received" not in types
    incidents = api.get("/incidents", "service_desk").json["items"]
    assert [(i["instance_id"], i["element_id"]) for i in incidents] == [(waiting, "Wait")]
    before = len(_history(api, waiting))
    retried = api.post(f"/incidents/{incidents[0]['id']}/retry", "admin")
    assert retried.status_code >= 400 and len(_history(api, waiting)) == before  # fails again: unchanged
    assert _signal(api, {"note": "abc"}).json["reached"] == 0  # held: it waits for its retry
    assert _sound(api, waiting) and _sound(api, thrower)


def test_a_bad_payload_is_refused_naming_the_field_and_nothing_is_delivered(api, clock) -> None:
    _deploy(api, waiter=_waiter())
    waiting = _start(api, "waiter")
    before = len(_history(api, waiting))
    long = assert_error(_signal(api, {"note": "长" * 21}), 422, "invalid_input")
    assert set(long["fields"]) == {"note"} and long["element_id"] == "Wait"
    unknown = assert_error(_signal(api, {"colour": "red"}), 422)
    assert set(unknown["fields"]) == {"colour"}
    assert len(_history(api, waiting)) == before and _open(api, waiting) == []


def test_a_signal_nobody_waits_for_reaches_nobody(api, clock) -> None:
    _deploy(api, waiter=_waiter())
    answer = _signal(api, name="nobody_listens")
    assert answer.status_code == 200 and answer.json == {"reached": 0, "instances": [], "started": [],
                                                         "incidents": []}


@pytest.mark.parametrize(("user", "words"), [("acme", "customer"), ("auditor", "auditor")])
def test_customers_and_auditors_may_not_throw_a_signal(api, clock, user: str, words: str) -> None:
    _deploy(api, waiter=_waiter())
    waiting = _start(api, "waiter")
    assert_error(_signal(api, user=user), 403)
    assert words in _signal(api, user=user).json["error"]["message"]
    assert _open(api, waiting) == []


def test_a_held_signal_is_delivered_once_by_the_retry_after_the_diagram_is_fixed(api, clock) -> None:
    _deploy(api, waiter=_waiter(after="share = 1 / len(note)"), thrower=THROWER)
    waiting = _start(api, "waiter")
    thrower = _start(api, "thrower", {"note": ""})
    task = api.get(f"/instances/{thrower}").json["open_tasks"][0]
    assert api.post(f"/tasks/{task['id']}/complete", "service_desk", json={"data": {}}).status_code == 200
    incident = api.get("/incidents", "service_desk").json["items"][0]
    # the process owner fixes the script in a new version and moves the held instance onto it
    _deploy(api, waiter=_waiter(after="share = 1 / max(len(note), 1)"))
    moved = api.service.runtime.migrations.migrate("waiter", 1, 2, Actor("po", roles=frozenset({"admin"})))
    assert moved.moved == [waiting], moved
    clock.advance(timedelta(minutes=5))
    assert api.post(f"/incidents/{incident['id']}/retry", "admin").status_code in (200, 204)
    assert _open(api, waiting) == ["Check"] and api.get(f"/instances/{waiting}").json["data"]["share"] == 1
    received = [e for e in _history(api, waiting) if e["type"] == "signal_received"]
    assert len(received) == 1 and received[0]["data"]["thrower"]["instance_id"] == thrower
    assert _signal(api, {"note": "再来"}).json["reached"] == 0  # caught once; it waits no more
    assert _sound(api, waiting)
