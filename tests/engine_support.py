"""Handlers and helpers shared by the engine tests."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from engine.actor import Actor
from engine.handler import HandlerError, handler
from engine.service import Service
from engine.store.models import EventRow, Instance, OpenTask

DATA = Path(__file__).resolve().parent / "data" / "bpmn"

ENGINEER = Actor("bob", frozenset({"duty_engineer"}))
SENIOR = Actor("sam", frozenset({"senior_engineer"}))
DESK = Actor("dora", frozenset({"service_desk"}))

# How the `flaky` handler should behave next: a list of outcomes consumed in order.
FLAKY_PLAN: list[Any] = []


@handler("echo")
def echo(ctx: Any) -> dict[str, Any]:
    return {"echoed": ctx.data.get("note", ""), "label": ctx.properties.get("label")}


@handler("flaky")
def flaky(ctx: Any) -> dict[str, Any]:
    step = FLAKY_PLAN.pop(0) if FLAKY_PLAN else "ok"
    if step == "retry":
        raise HandlerError("gateway timeout", retryable=True, retry_delay=timedelta(minutes=5))
    if step == "fatal":
        raise HandlerError("customer system rejected the call", retryable=False)
    if step == "bug":
        raise ValueError("unexpected")
    return {"called_at": ctx.now.isoformat()}


TEST_HANDLERS = [echo, flaky]


def deploy(service: Service, *names: str) -> list[Any]:
    return service.runtime.deploy([(n, (DATA / n).read_bytes()) for n in names])


def open_tasks(service: Service, instance_id: str, element_id: str | None = None) -> list[OpenTask]:
    with service.store.read() as s:
        rows = s.scalars(select(OpenTask).where(OpenTask.instance_id == instance_id)).all()
    return [r for r in rows if element_id is None or r.element_id == element_id]


def the_task(service: Service, instance_id: str, element_id: str) -> str:
    rows = open_tasks(service, instance_id, element_id)
    assert len(rows) == 1, f"expected one open {element_id}, got {[r.element_id for r in rows]}"
    return rows[0].id


def events(service: Service, instance_id: str) -> list[EventRow]:
    with service.store.read() as s:
        return list(
            s.scalars(
                select(EventRow).where(EventRow.instance_id == instance_id).order_by(EventRow.seq)
            ).all()
        )


def types(service: Service, instance_id: str) -> list[str]:
    return [e.type for e in events(service, instance_id)]


def instance(service: Service, instance_id: str) -> Instance:
    with service.store.read() as s:
        row = s.get(Instance, instance_id)
        assert row is not None
        return row
