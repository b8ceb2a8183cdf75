"""Diagram code in the sandbox: the attacks of issue 14 refused at deploy, bounds broken at run time
opening an incident, and the expressions the shipped processes use still working."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from lxml import etree

from engine.audit.replay import Replayer
from engine.bpmn import expressions
from engine.bpmn.sandbox import SANDBOX_FUNCTIONS
from engine.bpmn.sandbox_policy import check_code
from engine.bpmn.spiff import SandboxLimitError, WeibaoScriptEngine
from engine.clock import ManualClock
from engine.errors import DefinitionInvalid, ScriptError

from .conftest import ROOT, make_service
from .engine_support import ENGINEER, events, instance, the_task
from .test_api_helpers import ApiHarness, assert_error

SANDBOX = Path(__file__).resolve().parent / "data" / "sandbox"

# (files deployed together, the file and element the refusal must name, the process it would start)
ATTACKS = {
    "script_task": (["script.bpmn"], "script.bpmn", "Attack", "attack_script"),
    "gateway_condition": (["condition.bpmn"], "condition.bpmn", "c_attack", "attack_condition"),
    "timer_duration": (["timer.bpmn"], "timer.bpmn", "Wait", "attack_timer"),
    "dmn_input_expression": (["decide_input.bpmn", "input.dmn"], "input.dmn", "Input_level", "decide_input"),
    "dmn_input_entry": (["decide_entry.bpmn", "entry.dmn"], "entry.dmn", "Entry_attack", "decide_entry"),
}


def files(names: list[str], target: Path) -> list[tuple[str, bytes]]:
    """The test diagrams with @FILE@ pointing at `target`, the file an escape would create."""
    return [(n, (SANDBOX / n).read_bytes().replace(b"@FILE@", str(target).encode())) for n in names]


def upload(pairs: list[tuple[str, bytes]]) -> dict[str, Any]:
    return {"data": {"files": [(io.BytesIO(content), name) for name, content in pairs]},
            "content_type": "multipart/form-data"}


@pytest.fixture
def api(sqlite_url: str, clock: ManualClock) -> Iterator[ApiHarness]:
    harness = ApiHarness(sqlite_url, clock)
    yield harness
    harness.close()


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_code_execution_is_refused_at_deploy(api: ApiHarness, tmp_path: Path, attack: str) -> None:
    names, bad_file, element, process = ATTACKS[attack]
    target = tmp_path / "pwned"
    response = api.post("/processes", "process_owner", **upload(files(names, target)))
    details = assert_error(response, 422, "definition_invalid")
    hits = [e for e in details["errors"] if (e["file"], e["element_id"]) == (bad_file, element)]
    assert hits, details["errors"]
    assert "__import__" in hits[0]["message"]
    assert_error(api.post("/instances", "service_desk", json={"process": process, "data": {"level": "P1"}}),
                 422, "invalid_input")  # never deployed
    assert not target.exists()


def test_the_subclasses_escape_is_refused(clock: ManualClock, sqlite_url: str) -> None:
    svc = make_service(sqlite_url, clock)
    try:
        with pytest.raises(DefinitionInvalid) as refused:
            svc.runtime.deploy(files(["escape.bpmn"], Path("unused")))
        error = refused.value.errors[0]
        assert (error["file"], error["element_id"]) == ("escape.bpmn", "Escape")
        assert "__class__" in error["message"]
    finally:
        svc.close()


@pytest.mark.parametrize(
    ("condition", "words"),
    [
        ("customer_consents === True", "syntax error"),
        ("open('/etc/passwd').read() != ''", "'open' is not allowed"),
        ("eval('1') == 1", "'eval' is not allowed"),
        ("frobnicate(level) == 1", "unknown function(s): 'frobnicate'"),
        ("level.__class__ is str", "__class__"),
    ],
)
def test_bad_conditions_are_refused_with_file_and_element(
    api: ApiHarness, condition: str, words: str
) -> None:
    text = (SANDBOX / "condition.bpmn").read_text().replace(
        "${__import__('os').system('touch @FILE@') == 0}", "${" + condition + "}")
    details = assert_error(api.post("/processes", "process_owner",
                                    **upload([("condition.bpmn", text.encode())])), 422, "definition_invalid")
    assert details["errors"][0]["file"] == "condition.bpmn"
    assert details["errors"][0]["element_id"] == "c_attack"
    assert words in details["errors"][0]["message"]


@pytest.mark.parametrize(("process", "element", "words"), [
    ("loop_forever", "Spin", "steps"),
    ("huge_string", "Inflate", "characters"),
])
def test_a_broken_bound_opens_an_incident(api: ApiHarness, process: str, element: str, words: str) -> None:
    api.service.runtime.deploy(files(["bounds.bpmn"], Path("unused")))
    started = api.post("/instances", "service_desk", json={"process": process, "data": {"note": "原样"}})
    assert started.status_code == 201, started.json
    instance_id = started.json["id"]
    incidents = api.get(f"/incidents?instance={instance_id}", "technical_lead").json["items"]
    assert [(i["element_id"], i["status"]) for i in incidents] == [(element, "open")]
    assert words in incidents[0]["message"]
    shown = api.get(f"/instances/{instance_id}").json
    assert shown["status"] == "running" and shown["open_tasks"] == []
    assert shown["data"] == {"note": "原样"}
    retried = api.post(f"/incidents/{incidents[0]['id']}/retry", "process_owner")
    assert retried.status_code == 200 and retried.json["status"] == "resolved"
    again = api.get(f"/incidents?instance={instance_id}&status=open").json["items"]
    assert len(again) == 1 and again[0]["id"] != incidents[0]["id"]
    replayed = api.get(f"/instances/{instance_id}/replay", "auditor").json
    assert replayed["verified"] is True, replayed["divergence"]


def test_the_other_branches_go_on_while_the_incident_is_open(clock: ManualClock, sqlite_url: str) -> None:
    svc = make_service(sqlite_url, clock)
    try:
        svc.runtime.deploy(files(["bounds.bpmn"], Path("unused")))
        iid = svc.runtime.start("parallel_spin", {}, "alice")
        svc.runtime.complete(the_task(svc, iid, "Work"), {}, ENGINEER)
        assert the_task(svc, iid, "Review")
        opened = [e for e in events(svc, iid) if e.type == "incident_opened"]
        assert [e.element_id for e in opened] == ["SpinBranch"]  # run once, not again on each step
    finally:
        svc.close()


def test_every_expression_of_the_shipped_processes_compiles() -> None:
    svc = make_service("sqlite://", ManualClock())
    try:
        known = SANDBOX_FUNCTIONS | set(svc.runtime.sla.script_functions())
        results = svc.runtime.deploy_directory(ROOT / "processes")
        assert {r.process_key for r in results} >= {"fault_repair", "incident", "inspection", "complaint"}
    finally:
        svc.close()
    counted = 0
    for path in sorted((ROOT / "processes").glob("*.bpmn")):
        for element_id, text, mode in expressions.bpmn_code(etree.parse(str(path)).getroot()):
            assert check_code(text, mode, known) is None, (path.name, element_id, text)
            counted += 1
    assert counted > 30


def test_a_script_with_functions_and_loops_runs_and_replays(clock: ManualClock, sqlite_url: str) -> None:
    svc = make_service(sqlite_url, clock)
    try:
        svc.runtime.deploy(files(["computes.bpmn"], Path("unused")))
        iid = svc.runtime.start("computes", {"levels": ["P1", "P2", "P4"]}, "alice")
        data = instance(svc, iid).data
        assert (data["scores"], data["total"], data["label"]) == ([3, 2, 1], 6, "3项，合计6")
        # PT9H is one working day (seed 001 §1.1.2 第3条): Monday 09:00 → Tuesday 09:00
        assert data["tier4_due"] == "2026-03-03T09:00:00+08:00"
        result = Replayer(svc.store, svc.definitions, svc.runtime.sla, svc.settings).replay(iid)
        assert result.verified, result.divergence
    finally:
        svc.close()


def test_a_diagram_that_writes_a_file_is_refused_so_replay_cannot_repeat_it(
    clock: ManualClock, sqlite_url: str, tmp_path: Path
) -> None:
    target = tmp_path / "appended.txt"
    svc = make_service(sqlite_url, clock)
    try:
        with pytest.raises(DefinitionInvalid) as refused:
            svc.runtime.deploy(files(["writes_file.bpmn"], target))
        assert refused.value.errors[0]["element_id"] == "Append"
        assert "'open' is not allowed" in refused.value.errors[0]["message"]
    finally:
        svc.close()
    assert not target.exists()


# ----------------------------------------------------------------- the evaluator on its own
def run(code: str, data: dict[str, Any] | None = None, script: bool = False) -> Any:
    engine = WeibaoScriptEngine({"sla_due": lambda name: f"due:{name}"})
    workflow = SimpleNamespace(spec=SimpleNamespace(file="t"), parent_workflow=None)
    workflow.top_workflow = workflow
    task = SimpleNamespace(data=dict(data or {}), workflow=workflow,
                           task_spec=SimpleNamespace(name="t", bpmn_id="t", bpmn_name="t"))
    if script:
        engine.execute(task, code)
        return task.data
    return engine.evaluate(task, code)


def test_expressions_see_data_builtins_and_engine_functions() -> None:
    assert run("${level in ('P1', 'P2')}", {"level": "P2"}) is True
    assert run("sla_due('response')") == "due:response"
    assert run("sorted({x % 3 for x in range(10)})") == [0, 1, 2]
    assert run("(date.fromisoformat(d[:10]) - timedelta(days=3)).isoformat()", {"d": "2026-03-10T09:00"}) \
        == "2026-03-07"
    assert run("isinstance(items, list) and max(items) == 3", {"items": [1, 3]}) is True


@pytest.mark.parametrize("code", [
    "'{0.__class__}'.format(1)",
    "(x for x in [1]).gi_frame",
    "getattr(level, 'upper')",
    "type(level)",
    "__builtins__",
    "[c for c in ().__class__.__mro__]",
])
def test_escapes_are_refused_when_compiled(code: str) -> None:
    assert check_code(code, "eval", SANDBOX_FUNCTIONS) is not None


@pytest.mark.parametrize("code", [
    "date.today()",
    "datetime.now()",
    "(lambda: 1).gi_code",
    "'%s' % level",
    "(1).to_bytes(10**9, 'big')",
    "level.translate({80: 'x' * 10**5})",
])
def test_host_reaching_calls_fail_at_run_time(code: str) -> None:
    with pytest.raises(Exception) as failed:
        run(code, {"level": "P1"})
    assert any(w in str(failed.value.__context__) for w in ("not allowed", "not available", "f-string"))


@pytest.mark.parametrize("code", [
    "'x' * 10**9",
    "[0] * 10**9",
    "10 ** 10 ** 8",
    "1 << 10**9",
    "'-'.join(['a' * 900000] * 10)",
    "str(['a' * 900000] * 10)",
    "f'{level:>100}' * 10**7",
    "'ab'.replace('a', 'a' * 900000).replace('a', 'a' * 900000)",
    "list(range(10**9))",
    "sum(range(10**6))",
    "len(f'{level:>1000}' * 1000 + 'x' * 999999)",
    "[x for x in range(10**5) for y in range(10**5)]",
])
def test_size_and_step_bounds_hold_in_expressions(code: str) -> None:
    with pytest.raises(SandboxLimitError):
        run(code, {"level": "P1"})


@pytest.mark.parametrize("code", [
    "while True:\n    pass",
    "def f(n):\n    return f(n - 1) + f(n - 1) if n else 1\nr = f(60)",
    "s = 'x'\nfor i in range(40):\n    s = s + s",
    "items = [1]\nfor i in range(40):\n    items.extend(items)",
    "n = 0\nwhile True:\n    try:\n        n += 1\n    except Exception:\n        pass",
    "def f():\n    try:\n        while True:\n            pass\n    finally:\n        return 1\nr = f()",
])
def test_a_script_cannot_outrun_or_swallow_its_bounds(code: str) -> None:
    data = {"note": "原样"}
    with pytest.raises(SandboxLimitError):
        run(code, data, script=True)


def test_a_failing_script_leaves_the_data_as_it_was() -> None:
    engine = WeibaoScriptEngine()
    workflow = SimpleNamespace(spec=SimpleNamespace(file="t"), parent_workflow=None)
    workflow.top_workflow = workflow
    task = SimpleNamespace(data={"items": [1], "note": "原样"}, workflow=workflow,
                           task_spec=SimpleNamespace(name="t", bpmn_id="t", bpmn_name="t"))
    with pytest.raises(SandboxLimitError):
        engine.execute(task, "items.append(2)\nnote = 'changed'\nwhile True:\n    pass")
    assert task.data == {"items": [1], "note": "原样"}


def test_a_plain_script_error_still_refuses_the_operation(clock: ManualClock, sqlite_url: str) -> None:
    svc = make_service(sqlite_url, clock)
    try:
        svc.runtime.deploy(files(["computes.bpmn"], Path("unused")))
        with pytest.raises(ScriptError):
            svc.runtime.start("computes", {"levels": 5}, ENGINEER)
    finally:
        svc.close()


def test_lazy_builtins_and_their_consumers() -> None:
    assert run("list(reversed(items))", {"items": [1, 2, 3]}) == [3, 2, 1]
    pairs = run("dict(zip(keys, map(str, items)))", {"keys": ["a", "b"], "items": [1, 2]})
    assert pairs == {"a": "1", "b": "2"}
    assert run("[i for i, x in enumerate(items, 1) if x > 1]", {"items": [1, 2, 3]}) == [2, 3]
    with pytest.raises(SandboxLimitError):
        run("max(map(abs, range(10**6)))")


def test_a_script_answers_for_what_it_sets_not_for_the_data_it_was_given() -> None:
    big = "长" * (1_000_000 + 1)
    assert run("done = True", {"summary": big}, script=True) == {"summary": big, "done": True}
    with pytest.raises(SandboxLimitError):
        run("copy = [summary]", {"summary": big}, script=True)


def test_builtin_names_the_sandbox_lacks_may_name_data_but_not_be_called() -> None:
    assert check_code("type == 'hardware' and id > 3", "eval", SANDBOX_FUNCTIONS) is None
    assert run("type == 'hardware'", {"type": "hardware"}) is True
    assert "unknown function(s): 'type'" in (check_code("type(level)", "eval", SANDBOX_FUNCTIONS) or "")
