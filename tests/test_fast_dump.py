"""The hot routes' response bodies: the plain readers write exactly what marshmallow writes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import marshmallow as ma
import pytest

from api.dumping import FastDump, reader
from api.schemas import InstanceSchema, SlaClockSchema, TaskSchema
from api.tasks import TaskPage, TaskResultSchema

AT = datetime(2026, 11, 22, 8, 30, 15, 123456, tzinfo=UTC)


def _task(**over: Any) -> dict[str, Any]:
    task = {"id": "t1", "instance_id": "i1", "process": "fault_repair", "element_id": "diagnose",
            "name": "故障诊断", "candidate_groups": ["duty_engineer"], "assignee": None, "created_at": AT,
            "due_at": AT + timedelta(hours=4),
            "form": [{"id": "level", "label": "故障等级", "type": "enum", "required": True,
                      "enum": ["一级", "二级"]}]}
    return {**task, **over}


def _clock(**over: Any) -> dict[str, Any]:
    clock = {"clock": "response", "state": "running", "started_at": AT.isoformat(), "due_at": None,
             "stopped_at": None, "paused_seconds": 0, "level": "一级", "target": "PT30M",
             "remaining_seconds": 1799}
    return {**clock, **over}


def _instance(**over: Any) -> dict[str, Any]:
    inst = {"id": "i1", "process": "fault_repair", "version": 3, "status": "running", "business_key": None,
            "parent_instance_id": None, "started_by": "desk", "created_at": AT, "updated_at": AT,
            "ended_at": None, "data": {"customer": "甲方", "nested": {"n": [1, 2.5, None]}},
            "open_tasks": [_task(), _task(id="t2", assignee="li", form=[])], "sla": [_clock()]}
    return {**inst, **over}


BODIES = [
    (InstanceSchema, _instance()),
    (InstanceSchema, _instance(open_tasks=[], sla=[], ended_at=AT.astimezone(timezone(timedelta(hours=8))))),
    (InstanceSchema, {k: v for k, v in _instance().items() if k != "parent_instance_id"}),
    (TaskPage, {"items": [_task(), _task(id="t3", due_at=None)], "total": 2}),
    (TaskResultSchema, {"instance_id": "i1", "task": None}),
    (TaskResultSchema, {"instance_id": "i1", "task": _task(assignee="wang")}),
    (SlaClockSchema, _clock(due_at=(AT + timedelta(minutes=30)).isoformat(), paused_seconds=12.5)),
    (TaskSchema, _task(candidate_groups=[], extra_key_not_in_schema=1)),
]


@pytest.mark.parametrize(("schema", "body"), BODIES)
def test_plain_reader_writes_what_marshmallow_writes(schema: type[ma.Schema], body: dict[str, Any]) -> None:
    expected = ma.Schema.dump(schema(), body)
    assert reader(schema)(body) == expected
    assert schema().dump(body) == expected


def test_many_and_narrowed_schemas() -> None:
    tasks = [_task(), _task(id="t9")]
    assert TaskSchema(many=True).dump(tasks) == ma.Schema.dump(TaskSchema(many=True), tasks)
    narrowed = TaskSchema(only=("id", "due_at"))
    assert narrowed.dump(_task()) == {"id": "t1", "due_at": (AT + timedelta(hours=4)).isoformat()}


class Hooked(FastDump):
    name = ma.fields.String()

    @ma.post_dump
    def shout(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        return {k: v.upper() for k, v in data.items()}


class Odd(FastDump):
    when = ma.fields.DateTime(format="%Y")
    many = ma.fields.Integer(dump_default=7)


def test_what_the_reader_does_not_know_goes_to_marshmallow() -> None:
    assert Hooked().dump({"name": "li"}) == {"name": "LI"}
    assert Odd().dump({"when": AT}) == {"when": "2026", "many": 7}

    class Row:
        id, instance_id = "t1", "i1"

    assert TaskResultSchema().dump(Row()) == {"instance_id": "i1"}
