"""The data an instance starts with, by how it was started."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from engine.bpmn import forms
from engine.bpmn.model import ProcessModel


def start_data(model: ProcessModel, process_key: str, data: dict[str, Any], scheduled_at: datetime | None,
               by_event: bool, now: datetime | None = None) -> dict[str, Any]:
    if scheduled_at is not None:
        # A start timer has nobody to fill the start form; the first task collects the details.
        return {"scheduled_at": scheduled_at.isoformat()}
    if by_event:
        return {}  # the message or signal brings the data, checked against its declared payload
    if model.start_form:
        return forms.validate(model.start_form, data, where=f"start of {process_key}", now=now)
    return forms.validate_free(data, where=f"start of {process_key}")
