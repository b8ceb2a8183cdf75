"""Cost of seed 004's step clocks: one completion that enters the next user task, on a case that has
been through 30 steps, for a contract with the step limit (`integration`: a clock per step) and one
without (`network_om`), in this release and in another one (REV, run from a git worktree of it).

Each round runs in a fresh process per release, alternating, so that the machine's ups and downs fall
on both alike; the figure is the median over all rounds. Asserts nothing.
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
    """Median ms of a completion after STEPS steps, per contract, in the release on sys.path."""
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
    service.runtime.deploy([("rework.bpmn", _process()), ("sla_targets.dmn", TABLE.read_bytes())])

    def step(iid: str) -> float:
        with service.store.read() as s:
            task = s.scalars(select(OpenTask.id).where(OpenTask.instance_id == iid,
                                                       OpenTask.element_id == "Work")).one()
        t0 = time.perf_counter()
        service.runtime.complete(task, {"ok": False, "note": "again"}, engineer)
        return time.perf_counter() - t0

    cases = {c: service.runtime.start("rework", {"summary": "s", "contract": c}, "b")
             for c in ("integration", "network_om")}
    for iid in cases.values():
        for _ in range(STEPS):
            step(iid)
    times: dict[str, list[float]] = {c: [] for c in cases}
    for _ in range(SAMPLES):
        for contract, iid in cases.items():
            times[contract].append(step(iid))
    service.close()
    return {c: statistics.median(t) * 1000 for c, t in times.items()}


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
    med = {label: {c: statistics.median(r[c] for r in rs) for c in rs[0]} for label, rs in runs.items()}
    for label, figures in med.items():
        print(f"{label}: completion after {STEPS} steps, integration {figures['integration']:.2f} ms, "
              f"network_om {figures['network_om']:.2f} ms")
    mine, theirs = med["this"], med[rev]
    ratio = {c: mine[c] / theirs[c] for c in mine}
    print(f"this/{rev}: integration (a clock per step) {ratio['integration']:.2f}x, network_om "
          f"{ratio['network_om']:.2f}x; this release integration/network_om "
          f"{mine['integration'] / mine['network_om']:.2f}x ({rounds} alternating rounds, SQLite)")

if __name__ == "__main__":
    if sys.argv[1:] == ["--measure"]:
        print(json.dumps(measure()))
    else:
        main()
