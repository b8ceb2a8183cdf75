"""The simulation clock, incidents and retries, the outbox, and the SLA report."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from datetime import timedelta

import pytest

from engine.clock import ManualClock

from .test_api_helpers import ApiHarness, assert_error, flaky_until, shown


@pytest.fixture
def api(sqlite_url: str, clock: ManualClock) -> Iterator[ApiHarness]:
    harness = ApiHarness(sqlite_url, clock)
    yield harness
    harness.close()


def fail_record(api: ApiHarness, note: str) -> str:
    """Starts an instance whose echo service task fails with the given note; returns the instance id."""
    instance = api.start()
    task = api.work_task(instance)
    api.post(f"/tasks/{task['id']}/complete", "duty_engineer", json={"data": {"ok": True, "note": note}})
    return str(instance["id"])


def test_clock_reads_and_sets(api: ApiHarness) -> None:
    assert api.get("/clock", "duty_engineer").json == {"now": shown(api.clock.now())}
    target = api.clock.now() + timedelta(days=2)
    moved = api.post("/clock", "admin", json={"set": target.astimezone().isoformat()})
    assert moved.status_code == 200 and api.clock.now() == target
    assert moved.json["now"] == shown(target)


def test_clock_refuses_bad_moves(api: ApiHarness) -> None:
    earlier = (api.clock.now() - timedelta(seconds=1)).isoformat()
    backwards = api.post("/clock", "admin", json={"set": earlier})
    assert "set" in assert_error(backwards, 422, "invalid_input")["fields"]
    for body in ({}, {"advance": "PT1H", "set": api.clock.now().isoformat()}, {"advance": "three hours"},
                 {"advance": "P99999Y"}, {"set": "2026-09-30T17:00:00"}):
        assert_error(api.post("/clock", "admin", json=body), 422, "invalid_input")
    assert_error(api.post("/clock", "duty_engineer", json={"advance": "PT1H"}), 403, "forbidden")
    assert_error(api.post("/clock", "auditor", json={"advance": "PT1H"}), 403)
    assert_error(api.post("/clock", None, json={"advance": "PT1H"}), 401)


def test_a_duration_that_moves_nothing_is_refused_and_the_clock_stays(api: ApiHarness) -> None:
    before = api.clock.now()
    for empty in ("P", "PT"):
        refused = api.post("/clock", "admin", json={"advance": empty})
        assert "advance" in assert_error(refused, 422, "invalid_input")["fields"]
    assert api.clock.now() == before


def test_clock_routes_do_not_exist_on_a_system_clock(sqlite_url: str, clock: ManualClock) -> None:
    harness = ApiHarness(sqlite_url, clock, manual_clock=False)
    try:
        assert_error(harness.get("/clock"), 404, "not_found")
        assert_error(harness.post("/clock", json={"advance": "PT1H"}), 404)
        assert "/api/v1/clock" not in harness.get("/openapi.json", None).json["paths"]
    finally:
        harness.close()


def test_failed_service_task_opens_an_incident(api: ApiHarness) -> None:
    instance_id = fail_record(api, "fail")
    listed = api.get("/incidents", "technical_lead").json
    assert listed["total"] == 1
    incident = listed["items"][0]
    assert (incident["instance_id"], incident["element_id"]) == (instance_id, "Record")
    assert incident["topic"] == "echo"
    assert incident["status"] == "open" and incident["resolved_at"] is None
    assert api.get("/incidents?status=resolved").json["total"] == 0
    assert api.get(f"/incidents?instance={instance_id}").json["total"] == 1
    assert_error(api.get("/incidents", "acme"), 403)
    assert_error(api.get("/incidents?status=sleeping"), 422)


def test_retry_runs_the_task_again(api: ApiHarness) -> None:
    instance_id = fail_record(api, "flaky")
    incident = api.get("/incidents").json["items"][0]
    assert_error(api.post(f"/incidents/{incident['id']}/retry", "duty_engineer"), 403, "forbidden")
    api.clock.set(flaky_until(api.start_time))
    retried = api.post(f"/incidents/{incident['id']}/retry", "process_owner")
    assert retried.status_code == 200
    assert retried.json["status"] == "resolved" and retried.json["resolved_at"] == shown(api.clock.now())
    assert api.get(f"/instances/{instance_id}").json["status"] == "completed"
    assert_error(api.post(f"/incidents/{incident['id']}/retry", "admin"), 409, "conflict")
    assert_error(api.post("/incidents/999999/retry", "admin"), 404)


def test_retry_that_fails_again_opens_a_new_incident(api: ApiHarness) -> None:
    fail_record(api, "fail")
    first = api.get("/incidents").json["items"][0]
    assert api.post(f"/incidents/{first['id']}/retry", "admin").json["status"] == "resolved"
    still_open = api.get("/incidents?status=open").json["items"]
    assert len(still_open) == 1 and still_open[0]["id"] != first["id"]


def test_outbox_lists_notifications(api: ApiHarness) -> None:
    instance_id = fail_record(api, "notify")
    fail_record(api, "plain")
    messages = api.get("/outbox", "project_manager").json
    assert messages["total"] == 1
    message = messages["items"][0]
    assert (message["instance_id"], message["channel"], message["recipient"]) == (instance_id,
                                                                                  "sms", "senior_engineer")
    assert instance_id in message["body"] and message["status"] == "pending"
    assert api.get(f"/outbox?instance={instance_id}").json["total"] == 1
    assert api.get("/outbox?instance=other").json["total"] == 0
    assert_error(api.get("/outbox", "acme"), 403)


def test_sla_report_input_and_permissions(api: ApiHarness) -> None:
    start = api.clock.now()
    period = {"from": start.isoformat(), "to": (start + timedelta(days=1)).isoformat()}
    assert_error(api.get("/reports/sla", "acme", query_string=period), 403)
    assert "from" in assert_error(api.get("/reports/sla", query_string={"to": period["to"]}), 422)["fields"]
    reversed_period = {"from": period["to"], "to": period["from"]}
    assert "to" in assert_error(api.get("/reports/sla", query_string=reversed_period), 422)["fields"]
    assert_error(api.get("/reports/sla", query_string={**period, "format": "pdf"}), 422)


def test_sla_report_json_and_csv(api: ApiHarness) -> None:
    start = api.clock.now()
    period = {"from": start.isoformat(), "to": (start + timedelta(days=1)).isoformat()}
    as_json = api.get("/reports/sla", "auditor", query_string=period)
    assert as_json.status_code == 200 and as_json.json["total"] == len(as_json.json["items"])
    as_csv = api.get("/reports/sla", "auditor", query_string={**period, "format": "csv"})
    assert as_csv.status_code == 200 and as_csv.mimetype == "text/csv"


def test_sla_report_without_its_module_is_501(api: ApiHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "engine.sla.report", None)  # makes the import fail
    start = api.clock.now()
    period = {"from": start.isoformat(), "to": (start + timedelta(days=1)).isoformat()}
    assert_error(api.get("/reports/sla", "auditor", query_string=period), 501, "not_available")


def test_every_route_answers_a_wrong_method_with_405_and_allow(api: ApiHarness) -> None:
    allowed: dict[str, set[str]] = {}
    for rule in api.app.url_map.iter_rules():
        allowed.setdefault(rule.rule, set()).update(rule.methods or ())
    checked = 0
    for path, methods in allowed.items():
        wrong = next(m for m in ("PATCH", "PUT", "DELETE", "POST", "GET") if m not in methods)
        url = re.sub(r"<[^>]*>", "1", path)
        response = api.client.open(url, method=wrong, headers=api.headers("admin"))
        assert response.status_code == 405, (wrong, url)
        assert set(response.headers["Allow"].split(", ")) == methods, url
        assert response.json["error"]["code"] == "method_not_allowed"
        checked += 1
    assert checked >= 20


def test_an_sms_nobody_can_send_is_an_incident_the_process_owner_retries(api: ApiHarness) -> None:
    from datetime import UTC, datetime

    from engine.outbox import Deliverer
    from engine.store.models import OutboxMessage

    instance_id = api.start()["id"]
    with api.service.store.write() as s:
        s.add(OutboxMessage(instance_id=instance_id, element_id="Task_sms", channel="sms",
                            recipient="13800000000", subject="故障", body="交换机宕机", status="pending",
                            created_at=datetime(2026, 3, 2, tzinfo=UTC), attempts=0))
    deliverer = Deliverer(api.service.store, api.clock, api.service.settings)  # no SMS gateway set
    assert deliverer.deliver_due() == 0
    (incident,) = api.get(f"/incidents?instance={instance_id}", "technical_lead").json["items"]
    assert (incident["topic"], incident["element_id"], incident["task_id"]) == ("outbox", "Task_sms", "")
    assert "SMS gateway" in incident["message"] and incident["outbox_id"] is not None
    assert_error(api.post(f"/incidents/{incident['id']}/retry", "duty_engineer"), 403, "forbidden")
    retried = api.post(f"/incidents/{incident['id']}/retry", "process_owner")
    assert retried.status_code == 200 and retried.json["status"] == "resolved"
    (message,) = api.get(f"/outbox?instance={instance_id}").json["items"]
    assert message["status"] == "pending"
    assert_error(api.post(f"/incidents/{incident['id']}/retry", "admin"), 409, "conflict")
