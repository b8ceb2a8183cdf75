"""Scenario tests of the seed processes (processes/*.bpmn, *.dmn) through the real engine.

A service with the product handlers and the seed processes deployed, the people of the seed roles as
actors (non-admin: the engine checks their candidate groups and the assignee), and readers for what
each step leaves in the store: events, open tasks, SLA clocks, pending timers, outbox, records and
linked instances. Figures come from ../shared/seeds/00N_*.txt through processes/sla_targets.dmn.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from engine.actor import Actor
from engine.audit.replay import Replayer, ReplayResult
from engine.clock import ManualClock
from engine.service import Service
from engine.sla.report import clocks_for
from engine.store.models import EventRow, Instance, OpenTask, OutboxMessage, PendingTimer, Record, SlaClockRow

from .conftest import ROOT, START, make_service
from .spec_guard import SpecGuard

BJ = ZoneInfo("Asia/Shanghai")
T0 = START  # Monday 2 March 2026, 09:00 Beijing: a working day, the day shift of `duty_engineer`
SECOND = timedelta(seconds=1)


def bj(text: str) -> datetime:
    """A Beijing wall-clock time, e.g. bj("2026-03-02 21:00")."""
    return datetime.fromisoformat(text).replace(tzinfo=BJ)


def product_service(url: str, clock: ManualClock) -> Iterator[Service]:
    svc = make_service(url, clock)  # handlers=None: the product's ALL_HANDLERS
    svc.deploy_processes(ROOT / "processes")
    guard = SpecGuard(svc)
    yield svc
    svc.close()
    assert guard.changed() == [], "a case changed the spec its version shares"


def _actor(name: str, group: str) -> Actor:
    return Actor(name, frozenset({group}))


# The roles of seed 001 §2.1 / DIGEST "Roles"; duty engineers are named as in handlers/data/roster.json.
DESK = _actor("dora", "service_desk")
DUTY = _actor("duty_engineer", "duty_engineer")
DUTY2 = _actor("duty_engineer2", "duty_engineer")
SENIOR = _actor("senior_engineer", "senior_engineer")
LEAD = _actor("lei", "technical_lead")
DIRECTOR = _actor("zhou", "technical_director")
# A customer sees (and works on) only the instances named for them: `Flow.do` acts as the user named
# in the instance's `customer` field.
CUSTOMER = _actor("customer", "customer")
KEEPER = _actor("kuguan", "spare_parts_keeper")
EXPERT = _actor("zhuanjia", "expert_group")
VENDOR = _actor("changshang", "vendor")
PM = _actor("xiangmu", "project_manager")
DEPT = _actor("zongjian", "department_director")
GM = _actor("zongjingli", "general_manager")

FAULT = {"summary": "核心交换机端口故障", "channel": "hotline", "customer": "辽宁XX",
         "contract": "network_om"}
IMPACT = {"outage_minutes": 30, "affected_percent": 10, "safety_hazard": False}
REPORT = {"symptom": "端口闪断", "impact": "部分业务中断", "handling": "更换光模块",
          "root_cause": "光模块老化", "solution": "更换", "prevention": "定期巡检光功率"}
SITE = {"customer": "辽宁XX", "contract": "network_om", "site": "沈阳机房", "kind": "monthly"}
CHECKS = dict.fromkeys(
    ["check_physical_state", "check_power_cabling", "check_network_modules", "check_ports",
     "check_routing_table", "check_cpu", "check_memory", "check_protocols", "check_hardware_diagnostics",
     "check_error_logs", "check_room_temperature", "check_room_humidity", "check_room_power"], "normal")
PLAN = {"plan_method": "切换备用链路", "plan_steps": "1. 切换 2. 更换", "plan_effect": "恢复业务",
        "plan_fallback": "回切", "plan_people": "专家组"}


class Flow:
    """One instance driven through the runtime; every step is a store transaction."""

    def __init__(self, svc: Service, instance_id: str) -> None:
        self.svc, self.id = svc, instance_id

    def _all(self, model: Any, *where: Any) -> list[Any]:
        with self.svc.store.read() as s:
            return list(s.scalars(select(model).where(model.instance_id == self.id, *where)).all())

    # ----------------------------------------------------------------- tasks
    def tasks(self) -> list[OpenTask]:
        return sorted(self._all(OpenTask), key=lambda t: (t.created_at, t.element_id))

    def open(self) -> list[str]:
        return sorted(t.element_id for t in self.tasks())

    def task(self, element: str) -> OpenTask:
        rows = [t for t in self.tasks() if t.element_id == element]
        assert len(rows) == 1, f"expected one open {element}, open: {self.open()}"
        return rows[0]

    def do(self, element: str, actor: Actor, **data: Any) -> OpenTask:
        """Complete the one open task `element` as `actor`, who must be entitled to it."""
        row = self.task(element)
        if actor is CUSTOMER:
            actor = Actor(str(self.instance().data["customer"]), CUSTOMER.groups)
        assert actor.groups & set(row.candidate_groups), (element, row.candidate_groups, actor)
        assert row.assignee in (None, actor.name), (element, row.assignee, actor.name)
        self.svc.runtime.complete(row.id, data, actor)
        return row

    # ----------------------------------------------------------------- history
    def events(self, since: int = 0) -> list[EventRow]:
        return sorted(self._all(EventRow, EventRow.seq > since), key=lambda e: e.seq)

    def mark(self) -> int:
        return self.instance().last_seq

    def trail(self, since: int = 0, *kinds: str) -> list[tuple[str, str | None]]:
        """(type, element or clock) of the events after `since`, optionally only some types."""
        return [(e.type, e.data.get("clock", e.element_id) if e.type.startswith("sla_") else e.element_id)
                for e in self.events(since) if not kinds or e.type in kinds]

    def completed(self) -> list[str]:
        return [e.element_id or "" for e in self.events() if e.type == "task_completed"]

    def replay(self) -> ReplayResult:
        """Rebuild the instance from its history alone (deterministic replay, engine/replay.py)."""
        svc = self.svc
        return Replayer(svc.store, svc.definitions, svc.runtime.sla, svc.settings).replay(self.id)

    def replays(self) -> bool:
        result = self.replay()
        assert result.verified, result.divergence
        return True

    def instance(self) -> Instance:
        with self.svc.store.read() as s:
            row = s.get(Instance, self.id)
            assert row is not None
            return row

    # ----------------------------------------------------------------- SLA, timers, effects
    def clock(self, name: str) -> dict[str, Any]:
        with self.svc.store.read() as s:
            views = clocks_for(s, self.id, self.svc.clock.now())
        return next(v for v in views if v["clock"] == name)

    def states(self) -> dict[str, str]:
        with self.svc.store.read() as s:
            return {v["clock"]: v["state"] for v in clocks_for(s, self.id, self.svc.clock.now())}

    def skipped(self) -> list[str]:
        return sorted(e.data["clock"] for e in self.events() if e.type == "sla_skipped")

    def clock_row(self, name: str) -> SlaClockRow:
        with self.svc.store.read() as s:
            row = s.get(SlaClockRow, (self.id, name))
            assert row is not None
            return row

    def sla_event(self, kind: str, clock: str) -> EventRow:
        (row,) = [e for e in self.events() if e.type == kind and e.data.get("clock") == clock]
        return row

    def pending(self) -> dict[str, datetime]:
        return {t.element_id: t.due_at for t in self._all(PendingTimer)}

    def outbox(self) -> list[tuple[str, str]]:
        return [(m.channel, m.recipient) for m in self.messages()]

    def messages(self) -> list[OutboxMessage]:
        return sorted(self._all(OutboxMessage), key=lambda m: m.id)

    def records(self) -> dict[str, Record]:
        return {r.kind: r for r in self._all(Record)}

    def children(self) -> list[Instance]:
        with self.svc.store.read() as s:
            return list(s.scalars(select(Instance).where(Instance.parent_instance_id == self.id)).all())


def start(svc: Service, process: str, data: dict[str, Any], **kw: Any) -> Flow:
    return Flow(svc, svc.runtime.start(process, data, "dora", **kw))


def tick(svc: Service, clock: ManualClock, delta: timedelta | None = None, at: datetime | None = None) -> int:
    """Move the manual clock, then let the scheduler fire what is due (strictly before now)."""
    if at is not None:
        clock.set(at)
    if delta is not None:
        clock.advance(delta)
    return svc.runtime.fire_due_timers()


# ----------------------------------------------------------------- fault repair building blocks


# What the plan's spare part needs (spare_part.bpmn's start form), and the stock it is issued from.
PART = {"part_type": "板卡", "location": "沈阳备件库", "unit_serial": "SN-UNIT-1", "loan": False}


def stock_in(svc: Service, quantity: int = 1) -> None:
    start(svc, "stock_adjustment", {"part_type": PART["part_type"], "location": PART["location"],
                                    "movement_kind": "receive", "quantity": quantity, "reason": "入库"})


def part_on_site(f: Flow, serial: str = "SN-1") -> None:
    """The called spare_part process's two people steps, in the fault's own instance."""
    f.do("Task_issue_part", KEEPER, spare_part_serial=serial)
    f.do("Task_part_on_site", DUTY, part_replaced=True)


def triage(f: Flow, impact: str, level: str) -> None:
    f.do("Task_record_impact", DESK, business_impact=impact, **IMPACT)
    f.do("Task_confirm_level", DESK, level=level)


def to_onsite(f: Flow, clock: ManualClock, engineer: Actor = DUTY) -> None:
    """Phone diagnosis fails, the customer refuses remote login, the plan is approved, the engineer
    arrives (seed 001 §2.1 steps 3–5)."""
    f.do("Task_phone_diagnosis", engineer, diagnosis="端口无光", solved=False)
    f.do("Task_customer_consent", CUSTOMER, customer_consents=False)
    f.do("Task_draft_solution", LEAD, solution_plan="更换光模块", needs_spare_part=False, loan=False)
    f.do("Task_director_approve", DIRECTOR, approved=True)
    f.do("Task_customer_approve_plan", CUSTOMER, customer_agrees=True)
    f.do("Task_prepare_visit", DESK, visit_time="2026-03-02")
    clock.advance(timedelta(minutes=30))
    f.do("Task_arrive_onsite", engineer, service_request_signed=True)


def close_fault(f: Flow, engineer: Actor = DUTY) -> None:
    """Report, customer signature, callback and write-up, director review, archive (001 §2.1 8–9)."""
    f.do("Task_fill_report", engineer, **REPORT)
    f.do("Task_customer_sign_report", CUSTOMER, signed=True)
    f.do("Task_callback", DESK, satisfied=True)
    f.do("Task_writeup", engineer, writeup="维修过程")
    f.do("Task_director_review", DIRECTOR, approved=True)
    f.do("Task_archive", DESK, archive_ref="A-1")
