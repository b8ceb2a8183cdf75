"""Health, authentication, the OpenAPI document, error shapes, and the process resources."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest

from engine.clock import ManualClock

from .test_api_helpers import BROKEN, REWORK, ApiHarness, assert_error, shown


@pytest.fixture
def api(sqlite_url: str, clock: ManualClock) -> Iterator[ApiHarness]:
    harness = ApiHarness(sqlite_url, clock)
    yield harness
    harness.close()


def upload(*files: tuple[str, bytes]) -> dict:
    return {"data": {"files": [(io.BytesIO(content), name) for name, content in files]},
            "content_type": "multipart/form-data"}


def test_health_needs_no_token_and_reports_parts(api: ApiHarness) -> None:
    response = api.get("/health", user=None)
    assert response.status_code == 200
    assert response.json["status"] == "ok"
    assert response.json["database"] == "ok"
    assert response.json["scheduler"] == "disabled"  # the test app starts no scheduler
    assert response.json["now"] == shown(api.clock.now())


def test_health_degrades_when_the_scheduler_stopped(api: ApiHarness) -> None:
    api.service.start_scheduler(interval=3600)
    assert api.get("/health", user=None).json["scheduler"] == "running"
    api.service.scheduler.stop()
    response = api.get("/health", user=None)
    assert response.status_code == 503
    assert response.json["status"] == "degraded"


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer wb_not-a-token", "Basic dXNlcjpwdw=="])
def test_missing_or_bad_token_is_401(api: ApiHarness, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    response = api.client.get("/api/v1/processes", headers=headers)
    assert_error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_openapi_document_and_docs_page(api: ApiHarness) -> None:
    spec = api.get("/openapi.json", user=None).json
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/tasks/{task_id}/complete" in spec["paths"]
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert spec["paths"]["/api/v1/health"]["get"]["security"] == []
    page = api.get("/docs", user=None)
    assert page.status_code == 200 and page.mimetype == "text/html"
    for path in spec["paths"]:
        assert path in page.get_data(as_text=True)


def test_create_app_builds_its_own_service(sqlite_url: str) -> None:
    from api import create_app
    from api.compose import product_service
    app = create_app({"WEIBAO_DATABASE_URL": sqlite_url, "WEIBAO_MANUAL_CLOCK": True})
    client = app.test_client()
    health = client.get("/api/v1/health").json
    assert (health["status"], health["clock"]) == ("ok", "manual")
    assert_error(client.get("/api/v1/clock"), 401)  # the route exists, it wants a token
    app.extensions["weibao"].service.close()
    system_clock = product_service(sqlite_url)
    try:
        with pytest.raises(ValueError, match="ManualClock"):
            create_app({"WEIBAO_SERVICE": system_clock, "WEIBAO_MANUAL_CLOCK": True})
    finally:
        system_clock.close()


def test_unknown_route_and_wrong_method_use_the_error_shape(api: ApiHarness) -> None:
    assert_error(api.get("/nowhere"), 404, "not_found")
    assert_error(api.call("DELETE", "/processes", "admin"), 405)


def test_malformed_json_is_invalid_input(api: ApiHarness) -> None:
    response = api.post("/instances", data="{not json", content_type="application/json")
    assert "_request" in assert_error(response, 422, "invalid_input")["fields"]


def test_process_list_versions_and_xml(api: ApiHarness) -> None:
    listed = api.get("/processes", user="duty_engineer").json
    assert [i["key"] for i in listed["items"]] == ["confirm", "rework"]  # the harness deployed both
    item = listed["items"][1]
    assert (item["key"], item["version"], item["deployed_by"]) == ("rework", 1, "setup")
    assert item["deployed_at"] == shown(api.clock.now())  # Beijing time, the default zone
    detail = api.get("/processes/rework", user="service_desk").json
    assert {k: detail[k] for k in item} == item
    assert [(f["id"], f["required"], f["enum"]) for f in detail["start_form"]] == [
        ("summary", True, []), ("level", False, ["P1", "P2"])]
    assert_error(api.get("/processes/missing"), 404, "not_found")
    versions = api.get("/processes/rework/versions", user="duty_engineer").json
    assert [v["version"] for v in versions["items"]] == [1]
    xml = api.get("/processes/rework/xml", user="duty_engineer")
    assert xml.status_code == 200 and xml.mimetype == "application/xml"
    assert xml.data == REWORK.read_bytes()
    assert api.get("/processes/rework/xml?version=1").data == REWORK.read_bytes()
    assert_error(api.get("/processes/rework/xml?version=9"), 404, "not_found")
    assert_error(api.get("/processes/missing/versions"), 404)
    assert_error(api.get("/processes/rework/xml?version=abc"), 422, "invalid_input")


def test_deploy_new_version_then_same_content(api: ApiHarness) -> None:
    changed = REWORK.read_bytes().replace('name="返工测试"'.encode(), b'name="rework v2"')
    assert changed != REWORK.read_bytes()
    created = api.post("/processes", "process_owner", **upload(("rework.bpmn", changed)))
    assert created.status_code == 201
    entry = created.json["items"][0]
    assert (entry["process"], entry["version"], entry["created"]) == ("rework", 2, True)
    newest = {i["key"]: i for i in api.get("/processes").json["items"]}["rework"]
    assert entry["content_hash"] == newest["content_hash"]
    again = api.post("/processes", "process_owner", **upload(("rework.bpmn", changed)))
    assert again.status_code == 200
    assert again.json["items"][0]["created"] is False
    assert newest["name"] == "rework v2"
    assert [v["version"] for v in api.get("/processes/rework/versions").json["items"]] == [2, 1]


def test_deploy_refuses_invalid_diagrams_with_element_errors(api: ApiHarness) -> None:
    response = api.post("/processes", "process_owner", **upload(("broken.bpmn", BROKEN)))
    details = assert_error(response, 422, "definition_invalid")
    assert any(e["file"] == "broken.bpmn" and e["element_id"] == "Nobody" for e in details["errors"])
    assert set(details["errors"][0]) == {"file", "element_id", "message"}


def test_deploy_input_and_permission_errors(api: ApiHarness) -> None:
    assert_error(api.post("/processes", "duty_engineer", **upload(("rework.bpmn", REWORK.read_bytes()))), 403,
                 "forbidden")
    assert_error(api.post("/processes", "auditor", **upload(("rework.bpmn", REWORK.read_bytes()))), 403)
    details = assert_error(api.post("/processes", "process_owner", **upload(("notes.txt", b"hello"))), 422)
    assert "files" in details["fields"]
    details = assert_error(api.post("/processes", "process_owner", json={"files": []}), 422, "invalid_input")
    assert "files" in details["fields"]
    xml_error = assert_error(api.post("/processes", "admin", **upload(("bad.bpmn", b"<not-closed"))), 422)
    assert xml_error["errors"][0]["file"] == "bad.bpmn"


def test_pagination_parameters_are_validated(api: ApiHarness) -> None:
    total = api.get("/processes").json["total"]
    assert len(api.get("/processes?page=1&per_page=1").json["items"]) == 1
    assert api.get(f"/processes?page={total + 1}&per_page=1").json == {"items": [], "total": total}
    for query in ("page=0", "per_page=0", "per_page=100000", "page=x"):
        details = assert_error(api.get(f"/processes?{query}"), 422, "invalid_input")
        assert query.split("=")[0] in details["fields"]


def test_answers_are_utf8_text_without_escapes(api: ApiHarness) -> None:
    created = api.post("/instances", "service_desk", json={
        "process": "rework", "data": {"summary": "核心路由器宕机", "level": "P2"}})
    assert created.status_code == 201
    assert "核心路由器宕机".encode() in created.data and b"\\u" not in created.data
    assert created.mimetype == "application/json"


def test_times_are_shown_in_the_configured_zone(sqlite_url: str, clock: ManualClock) -> None:
    from api import create_app
    from api.compose import product_service

    for zone, suffix in (("UTC", "T01:00:00+00:00"), ("Asia/Shanghai", "T09:00:00+08:00"),
                         ("-05:00", "T20:00:00-05:00")):
        service = product_service(sqlite_url, clock=clock, handlers=[], settings={"timezone": zone})
        try:
            now = create_app({"WEIBAO_SERVICE": service}).test_client().get("/api/v1/health").json["now"]
        finally:
            service.close()
        assert now.endswith(suffix), (zone, now)
