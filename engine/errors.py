"""One exception hierarchy for everything the engine refuses or fails at.

Every error can name the instance and the BPMN element it concerns, so that the API and the logs
can point a process owner at the exact place in the diagram.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any


def backoff(attempt: int, base: float = 30.0, cap: float = 3600.0) -> timedelta:
    """How long to wait before attempt `attempt + 1` of something that failed and may be retried."""
    return timedelta(seconds=min(cap, base * (2 ** max(0, attempt - 1))))


class EngineError(Exception):
    """`retryable` is the error's own retry decision: whether doing the same again may succeed."""

    code = "engine_error"
    retryable = False

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
    retryable = True


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


class RetryableError(EngineError):
    """A failure outside the engine (a handler's system, a mail server) that carries its retry decision."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool = True,
        retry_delay: timedelta | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message, details=details)
        self.retryable = retryable
        self.retry_delay = retry_delay


class HandlerError(RetryableError):
    """Raised by a service-task handler; retried with backoff unless `retryable=False`."""

    code = "handler_error"


class DeliveryError(RetryableError):
    """An outbox message could not be delivered."""

    code = "delivery_error"
