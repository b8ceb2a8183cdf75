"""JSON request bodies read strictly: what the database or a later response could not hold is refused.

Python's `json` accepts `NaN` and `Infinity` (not JSON; SQLite's JSON functions then fail on the stored
data for every later reader), numbers of any length, lone surrogates (which no UTF-8 database column
holds) and nesting as deep as the stack allows. Each of these is a 422 naming the field, before any
view runs, so nothing stored changes.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import flask
import flask_smorest
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request

from engine.errors import InvalidInput

MAX_DEPTH = 32
# Digits of a JSON number: a 64-bit integer has 19, a float in full precision about 25.
MAX_NUMBER_TEXT = 40
MAX_INT = 2**63 - 1
# Any one string in a body; form fields have their own, smaller limits (engine.bpmn.forms).
MAX_STRING = 100_000


@dataclass(frozen=True)
class _Refused:
    """Stands in for a value the parser cannot accept, so the walk below can name its field."""

    reason: str


def _constant(name: str) -> _Refused:
    return _Refused(f"{name} is not a JSON number")


def _integer(text: str) -> int | _Refused:
    if len(text) > MAX_NUMBER_TEXT:
        return _Refused(f"numbers have at most {MAX_NUMBER_TEXT} characters")
    value = int(text)
    if abs(value) > MAX_INT:
        return _Refused("integers must fit in 64 bits")
    return value


def _float(text: str) -> float | _Refused:
    if len(text) > MAX_NUMBER_TEXT:
        return _Refused(f"numbers have at most {MAX_NUMBER_TEXT} characters")
    value = float(text)
    if not math.isfinite(value):
        return _Refused("number out of range")
    return value


def _string_problem(text: str) -> str | None:
    if len(text) > MAX_STRING:
        return f"longer than {MAX_STRING} characters"
    if "\x00" in text:
        return "must not contain NUL characters"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone surrogate (not valid Unicode)"
    return None


def _name(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def _problems(document: Any) -> dict[str, str]:
    """Walks without recursion: depth is what is being checked."""
    found: dict[str, str] = {}
    todo: list[tuple[str, int, Any]] = [("", 0, document)]
    while todo and len(found) < 20:
        path, depth, value = todo.pop()
        if depth > MAX_DEPTH:
            found[path or "_request"] = f"nested deeper than {MAX_DEPTH} levels"
        elif isinstance(value, _Refused):
            found[path or "_request"] = value.reason
        elif isinstance(value, str):
            problem = _string_problem(value)
            if problem:
                found[path or "_request"] = problem
        elif isinstance(value, dict):
            for key, item in value.items():
                problem = _string_problem(key)
                if problem:
                    found[_name(path, "_keys")] = f"a key {problem}"
                todo.append((_name(path, key if not problem else "_keys"), depth + 1, item))
        elif isinstance(value, list):
            todo.extend((_name(path, i), depth + 1, item) for i, item in enumerate(value))
    return found


def loads(text: str | bytes) -> Any:
    """Raises InvalidInput (422) naming each refused field; malformed JSON stays a JSONDecodeError."""
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    try:
        document = json.loads(text, parse_constant=_constant, parse_int=_integer, parse_float=_float)
    except RecursionError as exc:
        fields = {"_request": f"nested deeper than {MAX_DEPTH} levels"}
        raise InvalidInput("the JSON body is nested too deeply", details={"fields": fields}) from exc
    problems = _problems(document)
    if problems:
        raise InvalidInput("the JSON body holds values that cannot be stored", details={"fields": problems})
    return document


class StrictParser(FlaskParser):
    """The webargs parser of every blueprint, with the loader above."""

    def _raw_load_json(self, req: flask.Request) -> Any:
        if not is_json_request(req):
            return core.missing
        return loads(req.get_data(cache=True))  # webargs answers a UnicodeDecodeError as bad JSON


class Blueprint(flask_smorest.Blueprint):  # type: ignore[misc]
    ARGUMENTS_PARSER = StrictParser()
