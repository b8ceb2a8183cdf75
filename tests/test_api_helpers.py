"""Support for the API tests: a service on a manual clock behind the Flask test client, with users.

Each API test module builds its fixture from `ApiHarness`; the module holds no tests itself.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from api import create_app
from api.compose import product_service
from engine.clock import ManualClock
from engine.handler import HandlerError, handler
from engine.store.users import GROUPS, ROLES, add_user
from handlers import ALL_HANDLERS

DATA = Path(__file__).resolve().parent / "data"
REWORK = DATA / "bpmn" / "rework.bpmn"
# Extra people beyond one per group and role: a colleague and two customers.
EXTRA_USERS = {"dave": (["duty_engineer"], []), "acme": (["customer"], []), "globex": (["customer"], [])}
# Waits for a message, then offers a task to the service desk; its start form names the customer.
MESSAGE_BPMN = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Defs_confirm" targetNamespace="t">
  <bpmn:message id="Msg_confirmed" name="customer_confirmed"/>
  <bpmn:process id="confirm" name="Confirm" isExecutable="true">
    <bpmn:startEvent id="Begin">
      <bpmn:extensionElements><camunda:formData>
        <camunda:formField id="customer" label="Customer" type="string"/>
      </camunda:formData></bpmn:extensionElements>
      <bpmn:outgoing>c1</bpmn:outgoing>
    </bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="WaitConfirm" name="Customer confirms">
      <bpmn:extensionElements><camunda:formData>
        <camunda:formField id="rating" label="Rating" type="long"/>
      </camunda:formData></bpmn:extensionElements>
      <bpmn:incoming>c1</bpmn:incoming><bpmn:outgoing>c2</bpmn:outgoing>
      <bpmn:messageEventDefinition messageRef="Msg_confirmed"/>
    </bpmn:intermediateCatchEvent>
    <bpmn:userTask id="Close" name="Close" camunda:candidateGroups="service_desk">
      <bpmn:incoming>c2</bpmn:incoming><bpmn:outgoing>c3</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="Finish"><bpmn:incoming>c3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="c1" sourceRef="Begin" targetRef="WaitConfirm"/>
    <bpmn:sequenceFlow id="c2" sourceRef="WaitConfirm" targetRef="Close"/>
    <bpmn:sequenceFlow id="c3" sourceRef="Close" targetRef="Finish"/>
  </bpmn:process>
</bpmn:definitions>"""
# A user task that nobody may work on: refused at deploy, with its element id.
BROKEN = b"""<?xml version="1.0"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="broken" isExecutable="true">
    <bpmn:startEvent id="s"/><bpmn:userTask id="Nobody"/>
    <bpmn:sequenceFlow id="f" sourceRef="s" targetRef="Nobody"/>
  </bpmn:process>
</bpmn:definitions>"""


def flaky_until(start: datetime) -> datetime:
    """When the `flaky` note stops failing: a day after the harness clock started."""
    return start + timedelta(days=1)


def make_echo(recovers_at: datetime) -> Any:
    @handler("echo")
    def echo(ctx: Any) -> dict[str, Any]:
        note = ctx.data.get("note", "")
        if note == "fail" or (note == "flaky" and ctx.now < recovers_at):
            raise HandlerError(f"echo refused the note {note!r}", retryable=False)
        if note == "notify":
            ctx.effects.notify("sms", "senior_engineer", "echo", f"note from {ctx.instance_id}")
        return {"echoed": note}

    return echo


BEIJING = timezone(timedelta(hours=8))


def shown(moment: datetime) -> str:
    """A moment as answers show it: in the default zone, +08:00 (the store keeps UTC)."""
    return moment.astimezone(BEIJING).isoformat()


class ApiHarness:
    def __init__(self, url: str, clock: ManualClock, *, manual_clock: bool = True, sla: Any = None,
                 settings: dict[str, Any] | None = None, product_handlers: bool = False) -> None:
        self.clock = clock
        self.start_time = clock.now()
        # `product_handlers`: the product's handlers too, for the shipped diagrams
        handlers = [make_echo(flaky_until(self.start_time)), *(ALL_HANDLERS if product_handlers else ())]
        self.service = product_service(url, clock=clock, handlers=handlers, sla=sla, settings=settings)
        self.app = create_app({"WEIBAO_SERVICE": self.service, "WEIBAO_MANUAL_CLOCK": manual_clock,
                               "TESTING": True})
        self.client = self.app.test_client()
        self.tokens: dict[str, str] = {}
        people = {g: ([g], []) for g in GROUPS} | {r: ([], [r]) for r in ROLES} | EXTRA_USERS
        for name, (groups, roles) in people.items():
            self.tokens[name] = add_user(self.service.store, clock, name, groups, roles)
        self.service.runtime.deploy([(REWORK.name, REWORK.read_bytes()), ("confirm.bpmn", MESSAGE_BPMN)],
                                    "setup")

    def close(self) -> None:
        self.service.close()

    def headers(self, user: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}"} if user else {}

    def call(self, method: str, path: str, user: str | None, **kwargs: Any) -> Any:
        return self.client.open("/api/v1" + path, method=method, headers=self.headers(user), **kwargs)

    def get(self, path: str, user: str | None = "admin", **kwargs: Any) -> Any:
        return self.call("GET", path, user, **kwargs)

    def post(self, path: str, user: str | None = "admin", **kwargs: Any) -> Any:
        return self.call("POST", path, user, **kwargs)

    def start(self, user: str = "service_desk", data: dict[str, Any] | None = None,
              business_key: str | None = None) -> dict[str, Any]:
        body = {"process": "rework", "data": data or {"summary": "disk full", "level": "P2"},
                "business_key": business_key}
        response = self.post("/instances", user, json=body)
        assert response.status_code == 201, response.json
        return response.json  # type: ignore[no-any-return]

    def work_task(self, instance: dict[str, Any]) -> dict[str, Any]:
        return next(t for t in instance["open_tasks"] if t["element_id"] == "Work")


def assert_error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    """Every failure has the one error shape; returns its details."""
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.json["error"]
    assert set(error) == {"code", "message", "details"}
    assert isinstance(error["message"], str) and error["message"]
    if code is not None:
        assert error["code"] == code
    return error["details"]  # type: ignore[no-any-return]
