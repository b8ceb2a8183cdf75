"""Cost of seed 004's step clocks: one completion that enters the next user task, on a case that has
been through 30 steps, for a contract with the step limit (`integration`: a clock per step) and one
without (`network_om`), in this release and in another one (REV, run from a git worktree of it); and
the same completion at the first step of a new integration case, for what 30 steps behind it add.

Each round runs in a fresh process per release, alternating, so that the machine's ups and downs fall
on both alike; it prints, over the rounds, the median of each round's median and of its fastest
completion (on a shared machine the fastest is the steadier figure). Asserts nothing.
Usage: python -m bench.step_clocks [REV] [rounds]
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REWORK = ROOT / "tests" / "data" / "bpmn" / "rework.bpmn"
TABLE = ROOT / "processes" / "sla_targets.dmn"
STEPS, SAMPLES = 30, 30
KINDS = ("steps", "plain", "network_om", "fresh")
MARKER = ('<bpmn:extensionElements><camunda:properties><camunda:property name="sla.step_limit" '
          'value="step_limit"/></camunda:properties></bpmn:extensionElements>')
CONTRACT_FIELD = '<camunda:formField id="contract" label="合同" type="string"/>'


def _process() -> bytes:
    """rework.bpmn (a user task, a service task, a gateway back) as a process of steps."""
    text = REWORK.read_text(encoding="utf-8")
    head = text.index(">", text.index('<bpmn:process id="rework"')) + 1
    text = text[:head] + MARKER + text[head:]
    form = text.index("<camunda:formData>") + len("<camunda:formData>")
    return (text[:form] + CONTRACT_FIELD + text[form:]).encode()


def measure() -> dict[str, float]:
    """Per case kind, the median and the fastest ms of a completion after STEPS steps, in the release
    on sys.path: `steps` (integration, a clock per step), `plain` (integration, a process without
    `sla.step_limit`), `network_om` (no step-limit rows), `fresh` (the first step of a new steps case)."""
    from sqlalchemy import select

    from engine.actor import Actor
    from engine.clock import ManualClock
    from engine.handler import handler
    from engine.service import build_service
    from engine.store.models import OpenTask

    @handler("echo")
    def echo(ctx):  # type: ignore[no-untyped-def]
        return {"echoed": ctx.data.get("note", "")}

    engineer = Actor("bench", frozenset({"duty_engineer"}))
    url = f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
    service = build_service(url, clock=ManualClock(datetime(2026, 3, 2, 1, tzinfo=UTC)), handlers=[echo])
    plain = _process().decode().replace(MARKER, "").replace('"rework"', '"plain"')
    service.runtime.deploy([("rework.bpmn", _process()), ("plain.bpmn", plain.encode()),
                            ("sla_targets.dmn", TABLE.read_bytes())])

    def step(iid: str) -> float:
        with service.store.read() as s:
            task = s.scalars(select(OpenTask.id).where(OpenTask.instance_id == iid,
                                                       OpenTask.element_id == "Work")).one()
        t0 = time.perf_counter()
        service.runtime.complete(task, {"ok": False, "note": "again"}, engineer)
        return time.perf_counter() - t0

    def new(process: str, contract: str) -> str:
        return str(service.runtime.start(process, {"summary": "s", "contract": contract}, "b"))

    cases = {"steps": new("rework", "integration"), "plain": new("plain", "integration"),
             "network_om": new("rework", "network_om")}
    for iid in cases.values():
        for _ in range(STEPS):
            step(iid)
    times: dict[str, list[float]] = {c: [] for c in (*cases, "fresh")}
    for _ in range(SAMPLES):  # alternating, so that the machine's ups and downs fall on all alike
        for kind, iid in cases.items():
            times[kind].append(step(iid))
        times["fresh"].append(step(new("rework", "integration")))
    service.close()
    return {**{k: statistics.median(t) * 1000 for k, t in times.items()},
            **{f"{k}_min": min(t) * 1000 for k, t in times.items()}}


def _run(pythonpath: str | None) -> dict[str, float]:
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    out = subprocess.run([sys.executable, str(Path(__file__)), "--measure"], env=env, check=True,
                         capture_output=True, text=True, cwd=ROOT).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def main() -> None:
    rev = sys.argv[1] if len(sys.argv) > 1 else "HEAD~1"
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    with tempfile.TemporaryDirectory() as tmp:
        other = Path(tmp) / "other"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(other), rev],
                       check=True, capture_output=True)
        try:
            runs: dict[str, list[dict[str, float]]] = {"this": [], rev: []}
            for _ in range(rounds):
                runs["this"].append(_run(str(ROOT)))
                runs[rev].append(_run(str(other)))
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(other)],
                           capture_output=True)
    for how, suffix in (("median", ""), ("fastest", "_min")):
        got = {label: {k: statistics.median(r[k + suffix] for r in rs) for k in KINDS}
               for label, rs in runs.items()}
        mine, theirs = got["this"], got[rev]
        pairs = (f"{k} {mine[k]:.2f} / {rev} {theirs[k]:.2f} ({mine[k] / theirs[k]:.2f}x)" for k in KINDS)
        print(f"{how} completion after {STEPS} steps, ms (median of {rounds} alternating rounds, SQLite): "
              + ", ".join(pairs) + f"; this release: steps/plain {mine['steps'] / mine['plain']:.2f}x, "
              f"after {STEPS} steps/first step {mine['steps'] / mine['fresh']:.2f}x")

if __name__ == "__main__":
    if sys.argv[1:] == ["--measure"]:
        print(json.dumps(measure()))
    else:
        main()
