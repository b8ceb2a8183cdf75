"""Camunda `formData` fields: parsed from the diagram, validated before anything changes."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from engine.errors import InvalidInput

TYPES = ("string", "long", "boolean", "date", "enum")
# Text a person types into a form; a field may allow more (or less) with a `maxlength` constraint.
DEFAULT_MAX_LENGTH = 10_000
# A time typed without an offset is a person's, in Beijing time (the console's datetime-local field).
PEOPLES_ZONE = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class FormField:
    id: str
    label: str
    type: str
    required: bool = False
    enum: list[str] = field(default_factory=list)
    enum_labels: dict[str, str] = field(default_factory=dict)
    default: str | None = None
    max_length: int | None = None
    # Date fields that are moments of the case (a call's arrival and answer): `not_before` names the
    # field this one may not precede, `not_in_future` refuses a time after now, `with_time` asks the
    # console for a date and a time.
    not_before: str | None = None
    not_in_future: bool = False
    with_time: bool = False

    @property
    def length_limit(self) -> int:
        return self.max_length if self.max_length is not None else DEFAULT_MAX_LENGTH

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _check_value(f: FormField, value: Any) -> str | None:
    if value is None:
        return "is required" if f.required else None
    if f.type in ("string",) and not isinstance(value, str):
        return "must be a string"
    if f.type == "string" and f.required and not value.strip():
        return "is required"
    if isinstance(value, str) and len(value) > f.length_limit:
        return f"must be at most {f.length_limit} characters"
    if f.type == "long" and (isinstance(value, bool) or not isinstance(value, int | float)):
        return "must be a number"
    if f.type == "boolean" and not isinstance(value, bool):
        return "must be true or false"
    if f.type == "enum" and value not in f.enum:
        return f"must be one of {', '.join(f.enum)}"
    if f.type == "date":
        return _check_date(value)
    return None


def _check_date(value: Any) -> str | None:
    if not isinstance(value, str):
        return "must be an ISO 8601 date"
    try:
        if "T" in value:
            moment = datetime.fromisoformat(value)
            if moment.tzinfo is not None:
                moment.astimezone(UTC)  # 0001-01-01T00:00+14:00 has no UTC time; the SLA clocks need one
        else:
            date.fromisoformat(value)
    except (ValueError, OverflowError):
        return "must be an ISO 8601 date"
    return None


def moment_of(value: str) -> datetime:
    """A valid date field's value as an aware moment: a date is its day's start, in Beijing time."""
    moment = datetime.fromisoformat(value) if "T" in value else datetime.fromisoformat(f"{value}T00:00")
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=PEOPLES_ZONE)


def _order_problems(fields: list[FormField], data: dict[str, Any], now: datetime | None) -> dict[str, str]:
    """A moment after now, or before the moment it follows: refused naming the field."""
    by_id, errors = {f.id: f for f in fields}, {}
    for f in fields:
        value = data.get(f.id)
        if f.type != "date" or not isinstance(value, str) or _check_date(value):
            continue
        if f.not_in_future and now is not None and moment_of(value) > now:
            errors[f.id] = f"{f.label} must not be in the future"
        first = by_id.get(f.not_before or "")
        earlier = data.get(first.id) if first is not None else None
        if first is not None and isinstance(earlier, str) and not _check_date(earlier) \
                and moment_of(value) < moment_of(earlier):
            errors[f.id] = f"{f.label} must not be before {first.label}"
    return errors


def validate(
    fields: list[FormField], data: Any, *, where: str, allow_unknown: bool = False,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Returns the cleaned data or raises InvalidInput with one message per field."""
    if not isinstance(data, dict):
        raise InvalidInput(
            f"{where}: data must be an object", details={"fields": {"data": "must be an object"}}
        )
    errors: dict[str, str] = {}
    known = {f.id for f in fields}
    for key in data:
        if key not in known and not allow_unknown:
            errors[key] = "is not a field of this form"
    for f in fields:
        problem = _check_value(f, data.get(f.id))
        if problem:
            errors[f.id] = f"{f.label or f.id} {problem}" if problem != "is required" else "is required"
    errors = {**_order_problems(fields, data, now), **errors}
    if errors:
        raise InvalidInput(f"{where}: invalid form data", details={"fields": errors})
    cleaned = dict(data)
    for f in fields:
        if f.type == "long" and isinstance(cleaned.get(f.id), float) and cleaned[f.id].is_integer():
            cleaned[f.id] = int(cleaned[f.id])
    return cleaned


# The engine keeps its own state in instance data under these names (the SLA clocks under `_sla`,
# the customer who may see the instance under `customer`); input from outside never sets them.
RESERVED_KEYS = frozenset({"customer"})


def is_reserved(key: str) -> bool:
    return key in RESERVED_KEYS or key.startswith("_")


def field_problems(f: FormField, fields: list[FormField]) -> list[str]:
    """What a deploy refuses in a field's moment constraints."""
    dates = [g.id for g in fields if g.type == "date" and g.id != f.id]
    problems = []
    if (f.not_before is not None or f.not_in_future or f.with_time) and f.type != "date":
        problems.append(f"form field {f.id!r}: not_before, not_in_future and time need a date field")
    if f.not_before is not None and f.not_before not in dates:
        problems.append(f"form field {f.id!r}: not_before names another date field of the form "
                        f"({sorted(dates) or 'none'})")
    return problems


def validate_message(fields: list[FormField], data: Any, *, where: str) -> dict[str, Any]:
    """A message's data against the payload its catch event declares; no declaration takes no data."""
    if isinstance(data, dict):
        reserved = {key: "is reserved for the engine; a message cannot set it" for key in data
                    if is_reserved(key)}
        if reserved:
            raise InvalidInput(f"{where}: reserved keys in the payload", details={"fields": reserved})
    return validate(fields, data, where=where)


def validate_free(data: Any, *, where: str) -> dict[str, Any]:
    """Start data of a process without a start form: any keys but the engine's own."""
    if not isinstance(data, dict):
        return validate([], data, where=where)
    reserved = {key: "is reserved for the engine" for key in data if key.startswith("_")}
    if reserved:
        raise InvalidInput(f"{where}: reserved keys in the data", details={"fields": reserved})
    return data


def payload_fields(properties: dict[str, str]) -> list[FormField]:
    """A message catch event's payload from `camunda:properties`, which Camunda Modeler edits on any
    element: `payload.answer` = `string, required, maxlength=200`, `payload.choice` = `enum:同意|拒绝`."""
    fields = []
    for name, spec in properties.items():
        if name.startswith("payload.") and name[len("payload."):]:
            fields.append(_payload_field(name[len("payload."):], spec))
    return fields


def _payload_field(field_id: str, spec: str) -> FormField:
    parts = [p.strip() for p in spec.split(",") if p.strip()]
    kind, _, values = (parts[0] if parts else "string").partition(":")
    required, max_length = False, None
    for option in parts[1:]:
        key, _, value = option.partition("=")
        if key == "required" and not value:
            required = True
        elif key == "maxlength":
            max_length = int(value) if value.isdigit() and int(value) > 0 else -1
        else:
            kind = f"{kind} (unknown option {option!r})"
    enum = [v.strip() for v in values.split("|") if v.strip()] if kind == "enum" else []
    return FormField(field_id, field_id, kind, required, enum, {v: v for v in enum}, None, max_length)
