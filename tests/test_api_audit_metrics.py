"""Replay and chain verification over HTTP, and the Prometheus metrics."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from engine.clock import ManualClock
from engine.store.models import EventRow

from .test_api_helpers import ApiHarness, assert_error


@pytest.fixture
def api(sqlite_url: str, clock: ManualClock) -> Iterator[ApiHarness]:
    harness = ApiHarness(sqlite_url, clock)
    yield harness
    harness.close()


def _worked(api: ApiHarness) -> str:
    instance = api.start()
    task = api.work_task(instance)
    api.clock.advance(timedelta(minutes=20))
    done = api.post(
        f"/tasks/{task['id']}/complete", "duty_engineer", json={"data": {"ok": False, "note": "n"}}
    )
    assert done.status_code == 200, done.json
    return str(instance["id"])


def test_replay_verifies_and_shows_the_past(api: ApiHarness) -> None:
    iid = _worked(api)
    whole = api.get(f"/instances/{iid}/replay", "auditor").json
    assert whole["verified"] is True and whole["divergence"] is None and whole["events"] > 3
    history = api.get(f"/instances/{iid}/history", "auditor").json["items"]
    started = history[0]["seq"]
    past = api.get(f"/instances/{iid}/replay?upto={started}", "auditor").json
    assert [t["element_id"] for t in past["state"]["open_tasks"]] == ["Work"]
    assert "note" not in past["state"]["data"]
    assert_error(api.get(f"/instances/{iid}/replay?upto=0", "auditor"), 422)
    assert_error(api.get(f"/instances/{iid}/replay", "acme"), 404)


def test_audit_verify_summarises_and_names_the_broken_instance(api: ApiHarness) -> None:
    good, bad = _worked(api), _worked(api)
    assert api.get("/audit/verify", "auditor").json == {"instances": 2, "verified": 2, "failed": [],
                                                        "checkpoint": None, "problems": []}
    with api.service.store.write() as s:
        row = s.scalars(select(EventRow).where(EventRow.instance_id == bad, EventRow.seq == 2)).one()
        row.actor = "mallory"
    summary = api.get("/audit/verify", "auditor").json
    assert summary["failed"] == [{"instance_id": bad, "first_bad_seq": 2}] and summary["verified"] == 1
    assert api.get(f"/instances/{good}/verify", "auditor").json["verified"] is True
    assert_error(api.get("/audit/verify", "duty_engineer"), 403)


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The exposition parsed as a scraper would: (name, labels) -> value."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_metrics_report_work_timers_and_latency(api: ApiHarness) -> None:
    _worked(api)
    api.clock.advance(timedelta(hours=3))  # the 2-hour timers are now overdue and not yet fired
    response = api.client.get("/metrics")
    assert response.mimetype == "text/plain"
    samples = _samples(response.get_data(as_text=True))
    assert samples[("weibao_instances_open", (("process", "rework"),))] == 1
    assert samples[("weibao_tasks_open", (("process", "rework"),))] == 1
    assert samples[("weibao_timers_due", ())] == 1
    # due 2 h after the 20-minute completion, read 3 h after it
    assert samples[("weibao_timer_lag_seconds", ())] == pytest.approx(3600)
    completed = (("method", "POST"), ("route", "/api/v1/tasks/<task_id>/complete"))
    assert samples[("weibao_http_request_duration_seconds_count", completed)] == 1
