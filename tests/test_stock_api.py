"""The stock API: who reads and who moves, bad input named by field, never negative (also when two
issues of the last part race)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from .contract_api import ContractApi

PART, STORE = "PSU-750W", "大连备件库"


@pytest.fixture
def api(tmp_path: Any, clock: Any) -> Iterator[ContractApi]:
    # a database file, not memory, so that two threads' transactions meet in it
    harness = ContractApi(f"sqlite:///{tmp_path / 'stock.sqlite3'}", clock)
    yield harness
    harness.close()


def move(api: ContractApi, user: str, body: dict[str, Any]) -> Any:
    return api.client.post("/api/v1/stock/movements", json=body,
                           headers={"Authorization": f"Bearer {api.tokens[user]}"})


def movement(kind: str, quantity: Any = 1, **extra: Any) -> dict[str, Any]:
    return {"part_type": PART, "location": STORE, "kind": kind, "quantity": quantity, **extra}


def test_the_keeper_moves_stock_and_staff_read_it(api: ContractApi) -> None:
    answer = move(api, "spare_parts_keeper", movement("receive", 3, reason="到货"))
    assert answer.status_code == 201 and answer.json["balance"] == 3 and answer.json["kind"] == "receive"
    assert move(api, "spare_parts_keeper", movement("write_off")).json["balance"] == 2
    assert move(api, "spare_parts_keeper", movement("issue")).json["balance"] == 1
    assert move(api, "spare_parts_keeper", movement("return")).json["balance"] == 2
    listed = api.call("GET", f"/stock?location={STORE}", "service_desk")
    assert [(i["part_type"], i["quantity"]) for i in listed["items"]] == [(PART, 2)]
    assert [m["kind"] for m in listed["movements"]] == ["return", "issue", "write_off", "receive"]
    assert api.call("GET", "/stock?type=OTHER", "duty_engineer")["items"] == []


@pytest.mark.parametrize("user", ["duty_engineer", "service_desk", "customer"])
def test_only_keepers_and_admins_move_stock(api: ContractApi, user: str) -> None:
    assert move(api, user, movement("receive")).status_code == 403
    assert move(api, "staff", movement("receive")).status_code == 201  # an admin


def test_customers_do_not_read_the_stock(api: ContractApi) -> None:
    answer = api.client.get("/api/v1/stock", headers={"Authorization": f"Bearer {api.tokens['customer']}"})
    assert answer.status_code == 403


@pytest.mark.parametrize(("body", "field"), [
    (movement("borrow"), "kind"),
    (movement("receive", 0), "quantity"),
    (movement("receive", "2"), "quantity"),
    (movement("receive", 1.5), "quantity"),
    ({"location": STORE, "kind": "receive", "quantity": 1}, "part_type"),
    (movement("receive", location=""), "location"),
    (movement("receive", part_type="x" * 65), "part_type"),
    (movement("receive", colour="red"), "colour"),
])
def test_bad_input_is_422_naming_the_field(api: ContractApi, body: dict[str, Any], field: str) -> None:
    answer = move(api, "spare_parts_keeper", body)
    assert answer.status_code == 422, answer.json
    assert field in answer.json["error"]["details"]["fields"]
    assert api.call("GET", "/stock")["items"] == []


def test_a_movement_that_would_go_negative_is_409_and_writes_nothing(api: ContractApi) -> None:
    move(api, "spare_parts_keeper", movement("receive", 1))
    answer = move(api, "spare_parts_keeper", movement("issue", 2))
    assert answer.status_code == 409 and "negative" in answer.json["error"]["message"]
    assert move(api, "spare_parts_keeper", movement("write_off", 1, part_type="UNKNOWN")).status_code == 409
    stock = api.call("GET", "/stock")
    assert [i["quantity"] for i in stock["items"]] == [1] and len(stock["movements"]) == 1
    assert api.call("GET", "/instances?process=stock_adjustment")["total"] == 1


@pytest.fixture
def on_both(db_url: str, clock: Any) -> Iterator[ContractApi]:
    """SQLite serialises writers; PostgreSQL lets the two transactions run side by side."""
    harness = ContractApi(db_url, clock)
    yield harness
    harness.close()


def test_two_issues_of_the_last_part_at_once_leave_the_stock_at_zero(on_both: ContractApi) -> None:
    api = on_both
    move(api, "spare_parts_keeper", movement("receive", 1))
    barrier, codes = threading.Barrier(2), []

    def issue() -> None:
        client = api.client.application.test_client()
        barrier.wait(timeout=10)
        codes.append(client.post("/api/v1/stock/movements", json=movement("issue"),
                                 headers={"Authorization": f"Bearer {api.tokens['spare_parts_keeper']}"})
                     .status_code)

    threads = [threading.Thread(target=issue) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(codes) == [201, 409]
    assert [i["quantity"] for i in api.call("GET", "/stock")["items"]] == [0]


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)  # SQLite has one writer at a time
def test_a_count_a_limit_depends_on_waits_for_the_case_that_counted_first(db_url: str, clock: Any) -> None:
    # Two 003 cases asking for the 10th spare service of the year at once (seed 003 l.21: 10次/年) must
    # not both see it free: the second count waits for the first case's record to be committed.
    from datetime import UTC, datetime

    from sqlalchemy import text

    from engine.store.models import Record
    from engine.store.sessions import Store
    from engine.store.stock import lookup

    from .conftest import make_service

    svc = make_service(db_url, clock)  # migrates the database
    store = Store(db_url)
    args = {"kind": "spare_service", "since": "2026-01-01T00:00:00+08:00",
            "match": {"contract": "monitoring"}}
    second: list[int | None] = []
    try:
        with store.write() as first:
            assert lookup(first, "count_records", args) == 0
            first.add(Record(id="SS-RACE-1", kind="spare_service", instance_id="i-1",
                             data={"contract": "monitoring"}, created_at=datetime.now(UTC)))
            first.flush()

            def count() -> None:
                with store.write() as other:
                    second.append(lookup(other, "count_records", args))

            thread = threading.Thread(target=count)
            thread.start()
            waiting = poll(lambda: store_waits_on_a_lock(store, text))
            thread_done_early = not thread.is_alive()
        thread.join(timeout=30)
        assert waiting and not thread_done_early
        assert second == [1]
    finally:
        store.dispose()
        svc.close()


def poll(condition: Any, seconds: float = 10.0) -> bool:
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)  # polling another transaction's lock wait, not waiting for simulated time
    return False


def store_waits_on_a_lock(store: Any, text: Any) -> bool:
    with store.engine.connect() as conn:
        return bool(conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND state = 'active'"
        )).scalar())
