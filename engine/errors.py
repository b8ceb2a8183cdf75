"""One exception hierarchy for everything the engine refuses or fails at.

Every error can name the instance and the BPMN element it concerns, so that the API and the logs
can point a process owner at the exact place in the diagram.
"""

from __future__ import annotations

from typing import Any


class EngineError(Exception):
    code = "engine_error"

    def __init__(
        self,
        message: str,
        *,
        instance_id: str | None = None,
        element_id: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.instance_id = instance_id
        self.element_id = element_id
        self.details = details or {}

    def to_dict(self) -> dict[str, Any]:
        details = dict(self.details)
        if self.instance_id is not None:
            details.setdefault("instance_id", self.instance_id)
        if self.element_id is not None:
            details.setdefault("element_id", self.element_id)
        return {"code": self.code, "message": self.message, "details": details}


class NotFound(EngineError):
    code = "not_found"


class Conflict(EngineError):
    """Another operation changed the instance or the task first."""

    code = "conflict"


class InvalidInput(EngineError):
    """Submitted data does not match a form or a request; `details['fields']` names the fields."""

    code = "invalid_input"


class Forbidden(EngineError):
    code = "forbidden"


class DefinitionInvalid(EngineError):
    """A diagram was refused; `errors` lists `{file, element_id, message}`."""

    code = "definition_invalid"

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        first = errors[0]["message"] if errors else "invalid definition"
        super().__init__(f"{len(errors)} problem(s) in the definition: {first}", details={"errors": errors})
        self.errors = errors


class CalendarDataMissing(EngineError):
    """A date falls in a year for which the working calendar has no holiday data."""

    code = "calendar_data_missing"

    def __init__(self, year: int, calendar: str = "workdays") -> None:
        super().__init__(
            f"no working-calendar data for {year} (calendar {calendar!r}); add the year to the "
            "calendar override file or enable the weekday fallback for the contract",
            details={"year": year, "calendar": calendar},
        )
        self.year = year


class ScriptError(EngineError):
    code = "script_error"
