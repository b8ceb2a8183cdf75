"""Response bodies of the busiest routes without marshmallow's per-field machinery.

A schema that mixes in `FastDump` is read once into plain functions, one per field, for the field types
the API's responses use. The schema stays the single description of a body (and of the OpenAPI
document); anything the reader does not know (another field type, a dump default, dump hooks, an object
that is not a dict) is dumped by marshmallow itself, so the output never differs.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import marshmallow as ma

from .context import shown_zone

Convert = Callable[[Any], Any]


class _Unknown(Exception):
    """A field or value the reader does not handle: marshmallow dumps this body."""


def _string(value: Any) -> Any:
    return value if isinstance(value, str) else str(value)


def in_shown_zone(value: datetime) -> datetime:
    """The store keeps UTC; answers give the same moment in the configured zone (default +08:00)."""
    zone = shown_zone()
    return value.astimezone(zone) if zone is not None and value.tzinfo is not None else value


def _timestamp(value: Any) -> Any:
    return in_shown_zone(datetime.fromisoformat(value) if isinstance(value, str) else value).isoformat()


_PLAIN: dict[type, Convert] = {
    ma.fields.String: _string,
    ma.fields.Integer: int,
    ma.fields.Float: float,
    ma.fields.Boolean: bool,
}


def _nullable(convert: Convert) -> Convert:
    return lambda value: None if value is None else convert(value)


def _field(field: ma.fields.Field) -> Convert:
    kind = type(field)
    if kind in _PLAIN:
        return _nullable(_PLAIN[kind])
    if isinstance(field, ma.fields.DateTime) and field.format in (None, "iso"):
        return _nullable(_timestamp)
    if kind in (ma.fields.Dict, ma.fields.Raw) and not getattr(field, "key_field", None) \
            and not getattr(field, "value_field", None):
        return lambda value: value
    if isinstance(field, ma.fields.Nested) and isinstance(field.nested, type):
        nested = reader(field.nested, many=bool(field.many))
        return _nullable(nested)
    if kind is ma.fields.List:
        inner = _field(field.inner)  # type: ignore[attr-defined]
        return _nullable(lambda values: [inner(v) for v in values])
    raise _Unknown(kind.__name__)


_READERS: dict[tuple[type, bool], Convert | None] = {}


def reader(schema: type[ma.Schema], many: bool = False) -> Convert:
    """Plain functions equivalent to `schema().dump`; raises _Unknown for what they cannot do."""
    key = (schema, many)
    if key not in _READERS:
        try:
            _READERS[key] = _read(schema, many)
        except _Unknown:
            _READERS[key] = None  # a schema is read once, also when marshmallow has to dump it
    made = _READERS[key]
    if made is None:
        raise _Unknown(schema.__name__)
    return made


def _read(schema: type[ma.Schema], many: bool) -> Convert:
    instance = schema()
    if instance._hooks.get("pre_dump") or instance._hooks.get("post_dump"):
        raise _Unknown("dump hooks")
    plan = []
    for name, field in instance.dump_fields.items():
        if field.dump_default is not ma.missing:
            raise _Unknown("dump default")
        plan.append((field.data_key or name, field.attribute or name, _field(field)))

    def one(obj: Any) -> dict[str, Any]:
        if not isinstance(obj, dict):
            raise _Unknown(type(obj).__name__)
        return {key: convert(obj[attr]) for key, attr, convert in plan if attr in obj}

    return (lambda objs: [one(o) for o in objs]) if many else one


class FastDump(ma.Schema):
    """A schema whose `dump` takes the plain functions when it can."""

    def dump(self, obj: Any, *, many: bool | None = None) -> Any:
        # The readers are built for the schema as declared, not for an instance narrowed by options.
        if not (self.only or self.exclude or self.load_only):
            try:
                return reader(type(self), bool(self.many if many is None else many))(obj)
            except _Unknown:
                pass
        return super().dump(obj, many=many)
