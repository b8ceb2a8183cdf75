"""Scenario runs whose histories are saved under tests/data/histories and replayed on every run.

`python -m tests.histories` regenerates the bundles (only when a change to the engine is meant to
change what it records; the replay test then proves old histories still replay).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from engine.audit import export_bundle
from engine.clock import ManualClock
from engine.service import Service

from .conftest import START, make_service
from .engine_support import ENGINEER, FLAKY_PLAN, SENIOR, TEST_HANDLERS, deploy, the_task

HISTORIES = Path(__file__).resolve().parent / "data" / "histories"


def rework_with_escalation(svc: Service, clock: ManualClock) -> str:
    deploy(svc, "rework.bpmn")
    iid = svc.runtime.start(
        "rework", {"summary": "交换机端口故障"}, "alice", instance_id="00000000-0000-4000-8000-000000000001"
    )
    for turn in range(3):
        clock.advance(timedelta(minutes=30))
        svc.runtime.complete(the_task(svc, iid, "Work"), {"ok": False, "note": f"第{turn}次"}, ENGINEER)
    clock.advance(timedelta(hours=3))
    svc.runtime.fire_due_timers()
    escalate = the_task(svc, iid, "Escalate")
    svc.runtime.claim(escalate, SENIOR)
    svc.runtime.complete(escalate, {}, SENIOR)
    svc.runtime.complete(the_task(svc, iid, "Work"), {"ok": True, "note": "完成"}, ENGINEER)
    return iid


def message_with_retry(svc: Service, clock: ManualClock) -> str:
    deploy(svc, "signals.bpmn")
    FLAKY_PLAN[:] = ["retry", "fatal"]
    iid = svc.runtime.start(
        "await_reply", {}, "alice", business_key="T-9", instance_id="00000000-0000-4000-8000-000000000002"
    )
    clock.advance(timedelta(minutes=6))
    svc.runtime.fire_due_timers()
    with svc.store.read() as s:
        from engine.store import IncidentRow

        incident = s.query(IncidentRow).filter_by(instance_id=iid).one().id
    svc.runtime.retry_incident(incident, "admin")
    svc.runtime.correlate("customer_reply", business_key="T-9", data={"answer": "同意"})
    return iid


SCENARIOS: dict[str, Callable[[Service, ManualClock], str]] = {
    "rework_with_escalation": rework_with_escalation,
    "message_with_retry": message_with_retry,
}


def run(name: str, url: str) -> tuple[Service, str]:
    clock = ManualClock(START)
    svc = make_service(url, clock, handlers=TEST_HANDLERS)
    return svc, SCENARIOS[name](svc, clock)


def main() -> None:
    import tempfile

    HISTORIES.mkdir(parents=True, exist_ok=True)
    for name in SCENARIOS:
        svc, iid = run(name, f"sqlite:///{tempfile.mkdtemp()}/h.sqlite3")
        (HISTORIES / f"{name}.zip").write_bytes(export_bundle(svc.store, iid))
        svc.close()
        print("saved", name)


if __name__ == "__main__":
    main()
