"""Admins add users over the API (POST /users → 201 + Location, the first token shown once) and read
them; bad names or unknown groups are 422 naming the field, a taken name 409, others 403."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from engine.clock import ManualClock

from .test_api_helpers import ApiHarness, assert_error


@pytest.fixture
def api(db_url: str, clock: ManualClock) -> Iterator[ApiHarness]:
    harness = ApiHarness(db_url, clock)
    yield harness
    harness.close()


def test_an_admin_adds_a_user_whose_token_works_at_once(api: ApiHarness) -> None:
    created = api.post("/users", "admin", json={"name": "li.wei", "groups": ["duty_engineer"]})
    assert created.status_code == 201 and created.headers["Location"] == "/api/v1/users/li.wei"
    assert (created.json["name"], created.json["groups"], created.json["roles"]) == (
        "li.wei", ["duty_engineer"], [])
    token = created.json["token"]
    mine = api.client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"})
    assert mine.status_code == 200
    assert api.get("/users/li.wei", "admin").json == {"name": "li.wei", "groups": ["duty_engineer"],
                                                       "roles": []}
    assert_error(api.post("/users", "admin", json={"name": "li.wei"}), 409)


def test_bad_users_are_refused_by_field_and_only_admins_may_add(api: ApiHarness) -> None:
    details = assert_error(api.post("/users", "admin", json={"name": "bad name", "groups": ["nobody_here"]}),
                           422)
    assert set(details["fields"]) == {"name", "groups"}
    assert_error(api.post("/users", "process_owner", json={"name": "x"}), 403)
    assert_error(api.get("/users/admin", "auditor"), 403)
    assert_error(api.get("/users/nobody", "admin"), 404)
