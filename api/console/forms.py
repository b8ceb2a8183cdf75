"""Forms from the diagram's `camunda:formData`, as HTML fields and back to typed data.

The browser sends text; it is turned into the field's type where it reads as one, and sent to the
engine as typed otherwise, so the engine's own validation decides and its message is shown at the
field (`outage_minutes: abc` is refused by the engine as "must be a number", not by the console).
"""

from __future__ import annotations

import re
from typing import Any

from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

_INTEGER = re.compile(r"^[+-]?\d+$")
_NUMBER = re.compile(r"^[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?$")


def _typed(kind: str, raw: str) -> Any:
    if kind == "long":
        text = raw.strip()
        if _INTEGER.match(text):
            return int(text)
        return float(text) if _NUMBER.match(text) else raw
    if kind == "boolean":
        return {"true": True, "false": False}.get(raw, raw)
    return raw


def data_from(form: list[dict[str, Any]], posted: MultiDict[str, str]) -> dict[str, Any]:
    """An empty field is left out: the engine then says whether it was required."""
    data: dict[str, Any] = {}
    for field in form:
        raw = posted.get(field["id"], "")
        if raw != "":
            data[field["id"]] = _typed(field["type"], raw)
    return data


def shown_values(form: list[dict[str, Any]], current: dict[str, Any],
                 posted: MultiDict[str, str] | None = None) -> dict[str, str]:
    """What each field shows: what was just posted, else the case's value, else the diagram's default."""
    values: dict[str, str] = {}
    for field in form:
        name = field["id"]
        if posted is not None:
            values[name] = posted.get(name, "")
        elif current.get(name) is not None:
            value = current[name]
            values[name] = ("true" if value else "false") if isinstance(value, bool) else str(value)
        else:
            values[name] = field.get("default") or ""
    return values


_AT_MOST = re.compile(r"^must be at most (\d+) characters$")
_NOT_BEFORE = re.compile(r"^must not be before (.+)$")


def field_message(field: dict[str, Any], message: str) -> str:
    """The engine's message about a field, shown under the field's own label: the label it starts with
    is dropped and the rest said in the page's language where the console knows the phrase."""
    label = f"{field.get('label') or field['id']} "
    rest = message[len(label):] if message.startswith(label) else message
    if rest.startswith("must be one of "):
        return _("must be one of the listed values")
    longest = _AT_MOST.match(rest)
    if longest:
        return _("must be at most %(n)s characters", n=longest.group(1))
    earliest = _NOT_BEFORE.match(rest)
    if earliest:
        return _("must not be before %(field)s", field=earliest.group(1))
    return _(rest)


def field_messages(form: list[dict[str, Any]], errors: dict[str, str]) -> dict[str, str]:
    by_id = {f["id"]: f for f in form}
    return {name: field_message(by_id[name], text) if name in by_id else text
            for name, text in errors.items()}
