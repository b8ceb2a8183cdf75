"""Schemas shared by several resources: text, pagination, tasks, SLA clocks, instances."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import marshmallow as ma
from marshmallow import validate

from .dumping import FastDump, in_shown_zone

MAX_TEXT = 1000
MAX_PAGE = 1_000_000


def _no_nul(value: str) -> None:
    # PostgreSQL refuses NUL in text; refusing it here keeps both databases answering alike.
    if "\x00" in value:
        raise ma.ValidationError("must not contain NUL characters")


class Text(ma.fields.String):
    def __init__(self, max_length: int = MAX_TEXT, **kwargs: Any) -> None:
        validators = [validate.Length(max=max_length), _no_nul, *kwargs.pop("validate", [])]
        super().__init__(validate=validators, **kwargs)


class Timestamp(ma.fields.AwareDateTime):
    """ISO 8601 with offset, in the configured zone when dumped; also accepts the ISO strings some engine
    views keep (SLA records)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("metadata", {})
        kwargs["metadata"].setdefault("description", "ISO 8601 with offset")
        super().__init__(format="iso", **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        moment = super()._deserialize(value, attr, data, **kwargs)
        try:
            moment.astimezone(UTC)  # the store and every comparison work in UTC
        except OverflowError as exc:
            raise ma.ValidationError("is outside the supported range of dates") from exc
        return moment

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if isinstance(value, datetime):
            value = in_shown_zone(value)
        return super()._serialize(value, attr, obj, **kwargs)


class PageArgs(ma.Schema):
    page = ma.fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE))
    per_page = ma.fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


def page_of(item: type[ma.Schema], name: str) -> type[ma.Schema]:
    """A collection response: `{"items": [...], "total": N}`."""
    return FastDump.from_dict({
        "items": ma.fields.List(ma.fields.Nested(item), required=True),
        "total": ma.fields.Integer(required=True, metadata={"description": "items over all pages"}),
    }, name=name)


class FormFieldSchema(FastDump):
    id = ma.fields.String(required=True)
    label = ma.fields.String(required=True)
    type = ma.fields.String(required=True, metadata={"description": "string, long, boolean, date or enum"})
    required = ma.fields.Boolean(required=True)
    enum = ma.fields.List(ma.fields.String(), required=True,
                          metadata={"description": "allowed values (enum)"})
    max_length = ma.fields.Integer(allow_none=True, metadata={
        "description": "most characters a text may have; null: the service's default"})
    not_before = ma.fields.String(allow_none=True, metadata={
        "description": "date fields: the field this moment may not precede (a call's answer, its arrival)"})
    not_in_future = ma.fields.Boolean(metadata={"description": "date fields: a moment after now is refused"})
    with_time = ma.fields.Boolean(metadata={"description": "date fields: a date and a time (Beijing time "
                                                           "when no offset is given)"})


class TaskSchema(FastDump):
    id = ma.fields.String(required=True)
    instance_id = ma.fields.String(required=True)
    process = ma.fields.String(required=True)
    element_id = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    candidate_groups = ma.fields.List(ma.fields.String(), required=True)
    assignee = ma.fields.String(allow_none=True, required=True)
    created_at = Timestamp(required=True)
    due_at = Timestamp(allow_none=True, required=True)
    form = ma.fields.List(ma.fields.Nested(FormFieldSchema), required=True)


class SlaClockSchema(FastDump):
    clock = ma.fields.String(required=True)
    state = ma.fields.String(required=True, metadata={
        "description": "running, paused, met, breached, ended, or handed_over (to handed_over_to)"})
    started_at = Timestamp(allow_none=True)
    due_at = Timestamp(allow_none=True)
    stopped_at = Timestamp(allow_none=True)
    paused_seconds = ma.fields.Float(allow_none=True)
    level = ma.fields.String(allow_none=True)
    target = ma.fields.String(allow_none=True, metadata={"description": "ISO 8601 duration of the target"})
    remaining_seconds = ma.fields.Float(allow_none=True, metadata={"description": "business time left"})
    calendar = ma.fields.String(allow_none=True, metadata={"description": "the calendar it counts on"})
    provisional = ma.fields.Boolean(metadata={
        "description": "true when a year the clock spans had no holiday data and counted "
                       "Monday-Friday; re-targeted at its next operation once the data is added"})
    provisional_years = ma.fields.List(ma.fields.Integer(), metadata={"description": "those years"})
    handed_over_to = ma.fields.String(allow_none=True, metadata={
        "description": "the linked instance the case, and this clock, went on in"})
    received_from = ma.fields.String(allow_none=True, metadata={
        "description": "the instance that handed this clock over with the case"})
    step = ma.fields.String(allow_none=True, metadata={
        "description": "a step's own limit (seed 004 l.709-711): the user task's element id"})
    step_name = ma.fields.String(allow_none=True, metadata={"description": "that step's name"})


class InstanceSummarySchema(FastDump):
    id = ma.fields.String(required=True)
    process = ma.fields.String(required=True)
    version = ma.fields.Integer(required=True)
    status = ma.fields.String(required=True,
                              metadata={"description": "running, completed, cancelled or failed"})
    business_key = ma.fields.String(allow_none=True, required=True)
    parent_instance_id = ma.fields.String(allow_none=True)
    started_by = ma.fields.String(required=True)
    created_at = Timestamp(required=True)
    updated_at = Timestamp(required=True)
    ended_at = Timestamp(allow_none=True, required=True)


class InstanceSchema(InstanceSummarySchema):
    data = ma.fields.Dict(required=True)
    open_tasks = ma.fields.List(ma.fields.Nested(TaskSchema), required=True)
    sla = ma.fields.List(ma.fields.Nested(SlaClockSchema), required=True)
