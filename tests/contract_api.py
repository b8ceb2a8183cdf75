"""One case per contract over the HTTP API on the simulation clock (`POST /clock`): the shipped diagrams
and sla_targets.dmn, one user per group named after it, and readers for what a person sees: the
instance's clocks, each group's tasklist, the outbox and the history.

`at(moment)` moves the clock the way a process owner does, and every timer due before it fires before
the answer; a deadline is checked at the minute before it (nothing yet) and the minute after it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from api import create_app
from api.compose import product_service
from engine.store.users import add_user

from .conftest import ROOT
from .spec_guard import SpecGuard

MINUTE = timedelta(minutes=1)
GROUPS = ("service_desk", "duty_engineer", "senior_engineer", "expert_group", "technical_lead",
          "technical_director", "general_manager", "customer_manager", "customer", "spare_parts_keeper",
          "project_manager", "vendor", "department_director", "development_team", "risk_assessment_team",
          "regional_office")
# The groups a rung of any contract names (sla_targets.dmn rung_group), and the ladder clocks.
RUNG_GROUPS = ("senior_engineer", "expert_group", "technical_director", "general_manager",
               "customer_manager", "duty_engineer", "spare_parts_keeper", "department_director")
IMPACT = {"outage_minutes": 30, "affected_percent": 10, "safety_hazard": False}


def fault(contract: str, level: str, **extra: Any) -> dict[str, Any]:
    return {"summary": "核心设备故障", "channel": "hotline", "contract": contract, "level": level,
            "customer": "customer", **extra}


class ContractApi:
    def __init__(self, url: str, clock: Any) -> None:
        self.service = product_service(url, clock=clock)
        self.service.deploy_processes(ROOT / "processes")
        self.guard = SpecGuard(self.service)
        self.client = create_app({"WEIBAO_SERVICE": self.service, "WEIBAO_MANUAL_CLOCK": True,
                                  "TESTING": True}).test_client()
        self.tokens = {g: add_user(self.service.store, clock, g, [g], []) for g in GROUPS}
        self.tokens["staff"] = add_user(self.service.store, clock, "staff", [], ["admin"])

    def close(self) -> None:
        self.service.close()
        assert self.guard.changed() == [], "a case changed the spec its version shares"

    # ----------------------------------------------------------------- HTTP
    def call(self, method: str, path: str, user: str = "staff", body: Any = None) -> Any:
        response = self.client.open("/api/v1" + path, method=method, json=body,
                                    headers={"Authorization": f"Bearer {self.tokens[user]}"})
        assert response.status_code < 300, (method, path, response.status_code, response.json)
        return response.json

    def start(self, process: str, data: dict[str, Any], key: str) -> str:
        return str(self.call("POST", "/instances", "service_desk",
                             {"process": process, "data": data, "business_key": key})["id"])

    def at(self, moment: datetime) -> int:
        return int(self.call("POST", "/clock", "staff", {"set": moment.isoformat()})["fired"])

    # ----------------------------------------------------------------- reading
    def tasks(self, user: str, instance: str) -> list[dict[str, Any]]:
        return list(self.call("GET", f"/tasks?instance={instance}&per_page=100", user)["items"])

    def task(self, user: str, instance: str, element: str) -> dict[str, Any]:
        rows = [t for t in self.tasks(user, instance) if t["element_id"] == element]
        assert len(rows) == 1, (user, element, [t["element_id"] for t in self.tasks(user, instance)])
        return rows[0]

    def do(self, user: str, instance: str, element: str, **data: Any) -> None:
        task = self.task(user, instance, element)
        self.call("POST", f"/tasks/{task['id']}/complete", user, {"data": data})

    def clocks(self, instance: str) -> dict[str, dict[str, Any]]:
        return {c["clock"]: c for c in self.call("GET", f"/instances/{instance}")["sla"]}

    def due(self, instance: str, clock: str) -> datetime:
        return datetime.fromisoformat(self.clocks(instance)[clock]["due_at"])

    def state(self, instance: str, clock: str) -> str:
        return str(self.clocks(instance)[clock]["state"])

    def history(self, instance: str) -> list[dict[str, Any]]:
        return list(self.call("GET", f"/instances/{instance}/history?per_page=1000")["items"])

    def escalated(self, instance: str) -> list[tuple[str, str]]:
        """(clock, group) of every rung that fired in the instance, in order."""
        return [(e["data"]["clock"], e["data"]["group"]) for e in self.history(instance)
                if e["type"] == "sla_escalated"]

    def rung_messages(self, instance: str) -> list[tuple[str, str]]:
        items = self.call("GET", f"/outbox?instance={instance}&per_page=100")["items"]
        return [(m["element_id"].removeprefix("sla:breach:"), m["recipient"]) for m in items
                if m["element_id"].startswith("sla:breach:")]

    def rung_tasks(self, instance: str) -> dict[str, list[str]]:
        """Each rung group's open escalation tasks, as its own tasklist shows them."""
        return {g: [t["id"] for t in self.tasks(g, instance) if t["element_id"] == "Task_handle_rung"]
                for g in RUNG_GROUPS}

    def rung_task_groups(self, instance: str) -> list[str]:
        return sorted(g for g, ids in self.rung_tasks(instance).items() for _ in ids)

    # ----------------------------------------------------------------- fault repair steps
    def triage(self, instance: str, impact: str, level: str) -> None:
        self.do("service_desk", instance, "Task_record_impact", business_impact=impact, **IMPACT)
        self.do("service_desk", instance, "Task_confirm_level", level=level)

    def phone_fails(self, instance: str) -> None:
        """Phone diagnosis does not solve it and the customer refuses remote login: on-site support."""
        self.do("duty_engineer", instance, "Task_phone_diagnosis", diagnosis="端口无光", solved=False)
        self.do("customer", instance, "Task_customer_consent", customer_consents=False)
