"""The functions compiled diagram code calls instead of Python's own: bounds on steps, time and size.

A run (one expression or one script) has a `Budget`: steps (loop turns, function calls, items
consumed by builtins), a deadline, and the characters and items it may build. Growth is checked
before the value is built where the size is known in advance (`'x' * 10**9` never allocates), and
charged after for copies bounded by their input. A broken budget stays broken: every later step
raises again, so `except Exception` in a script cannot swallow it.
"""

from __future__ import annotations

import operator
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime, timedelta
from typing import Any

from engine.bpmn.sandbox_policy import DENIED_ATTRIBUTE

MAX_STEPS = 100_000
MAX_SECONDS = 2.0
MAX_SIZE = 1_000_000  # characters of one string, items of one collection, size of a run's result
MAX_BUILT = 5_000_000  # characters and items one run may build in all
MAX_INT_BITS = 16_384


class LimitExceeded(Exception):
    """Diagram code broke a bound (steps, time or size); the message says which."""


class Budget:
    __slots__ = ("steps", "built", "deadline", "broken")

    def __init__(self) -> None:
        self.steps = MAX_STEPS
        self.built = MAX_BUILT
        self.deadline = time.monotonic() + MAX_SECONDS
        self.broken: str | None = None

    def fail(self, why: str) -> None:
        self.broken = why
        raise LimitExceeded(why)

    def step(self, n: int = 1) -> None:
        if self.broken:
            raise LimitExceeded(self.broken)
        self.steps -= n
        if self.steps < 0:
            self.fail(f"more than {MAX_STEPS} steps")
        if time.monotonic() > self.deadline:
            self.fail(f"ran longer than {MAX_SECONDS} s")

    def charge(self, size: int) -> None:
        if self.broken:
            raise LimitExceeded(self.broken)
        if size > MAX_SIZE:
            self.fail(f"a value of more than {MAX_SIZE} characters or items")
        self.built -= size
        if self.built < 0:
            self.fail(f"built more than {MAX_BUILT} characters or items")


_local = threading.local()


def current() -> Budget:
    budget: Budget | None = getattr(_local, "budget", None)
    if budget is None:
        raise LimitExceeded("diagram code runs only inside a sandbox run")
    return budget


def swap(budget: Budget | None) -> Budget | None:
    """Make `budget` the thread's current one and return the previous (nested runs: sla_due → DMN)."""
    previous = getattr(_local, "budget", None)
    _local.budget = budget
    return previous


def measure(value: Any, limit: int = MAX_SIZE) -> int:
    """Characters and items reachable from `value`, counted until `limit` is passed (bounded cost,
    cycles included)."""
    total, stack = 0, [value]
    while stack and total <= limit:
        item = stack.pop()
        if isinstance(item, (str, bytes)):
            total += len(item)
        elif isinstance(item, int):
            total += item.bit_length() // 3 + 1
        elif isinstance(item, dict):
            total += len(item)
            if total <= limit:
                stack.extend(item.keys())
                stack.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            total += len(item)
            if total <= limit:
                stack.extend(item)
        else:
            total += 1
    return total


SIZED = (str, bytes, list, tuple, dict, set, frozenset)


def guarded_iter(ob: Iterable[Any]) -> Iterator[Any]:
    budget = current()
    for item in ob:
        budget.step()
        yield item


def step() -> None:
    current().step()


def _int_bits(op: str, a: int, b: int) -> int:
    if op == "*":
        return a.bit_length() + b.bit_length()
    if op == "<<":
        return a.bit_length() + max(b, 0)
    return abs(b) * a.bit_length() if op == "**" and abs(a) > 1 and b > 0 else 0


def _check_growth(op: str, a: Any, b: Any) -> None:
    if op == "%" and isinstance(a, (str, bytes)):
        raise TypeError("%-formatting is not available; use an f-string")
    if isinstance(a, int) and isinstance(b, int):
        if _int_bits(op, a, b) > MAX_INT_BITS:
            current().fail(f"a number of more than {MAX_INT_BITS} bits")
    elif op == "+" and isinstance(a, SIZED) and isinstance(b, SIZED):
        current().charge(len(a) + len(b))
    elif op == "*":
        seq, n = (a, b) if isinstance(b, int) else (b, a)
        if isinstance(seq, SIZED) and isinstance(n, int):
            current().charge(len(seq) * max(n, 0))


_BINOPS: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add, "*": operator.mul, "**": operator.pow, "<<": operator.lshift, "%": operator.mod,
}
_INPLACE: dict[str, Callable[[Any, Any], Any]] = {
    "+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv,
    "//=": operator.ifloordiv, "%=": operator.imod, "**=": operator.ipow, "<<=": operator.ilshift,
    ">>=": operator.irshift, "|=": operator.ior, "&=": operator.iand, "^=": operator.ixor,
}


def binop(op: str, a: Any, b: Any) -> Any:
    _check_growth(op, a, b)
    return _BINOPS[op](a, b)


def inplacevar(op: str, a: Any, b: Any) -> Any:
    _check_growth(op[:-1], a, b)
    if op in ("|=",) and isinstance(a, SIZED) and isinstance(b, SIZED):
        current().charge(len(a) + len(b))
    return _INPLACE[op](a, b)


def items(value: Any) -> Any:
    """What `*value` or `**value` unpacks: charged like a copy."""
    if isinstance(value, SIZED):
        current().step(len(value))
        return value
    return guarded_iter(value)


def sized(value: Any) -> Any:
    """An f-string value: its text is about as long as what it reaches."""
    current().charge(measure(value))
    return value


def getitem(ob: Any, key: Any) -> Any:
    value = ob[key]
    if isinstance(key, slice) and isinstance(value, SIZED):
        current().charge(len(value))
    return value


def write(ob: Any) -> Any:
    if isinstance(ob, (dict, list, set)):
        return ob
    raise TypeError(f"a {type(ob).__name__} cannot be changed")


ATTRIBUTE_TYPES = (str, bytes, int, float, list, tuple, dict, set, frozenset, date, timedelta)
CLASSES = (date, datetime, timedelta)
HOST_CLOCK = frozenset({"today", "now", "utcnow", "fromtimestamp", "utcfromtimestamp"})
# Growth the size of an argument decides, with no cheap way to know it first: `(1).to_bytes(10**9)`.
UNSIZED_GROWTH = frozenset({"to_bytes", "translate", "maketrans"})


def getattr_(ob: Any, name: str, *default: Any) -> Any:
    if name.startswith("_") or DENIED_ATTRIBUTE.search(name) or name in HOST_CLOCK | UNSIZED_GROWTH:
        raise AttributeError(f"attribute {name!r} is not allowed")
    if not (isinstance(ob, ATTRIBUTE_TYPES) or any(ob is c for c in CLASSES)):
        raise AttributeError(f"attributes of {type(ob).__name__} are not available")
    value = getattr(ob, name, *default)
    return _method(ob, name, value) if callable(value) else value


def _growth(ob: Any, name: str, args: tuple[Any, ...]) -> int:
    """Size of what a growing method is about to build, known before it runs."""
    if name in ("ljust", "rjust", "center", "zfill") and args and isinstance(args[0], int):
        return max(args[0], len(ob))
    if name == "expandtabs":
        return len(ob) + ob.count("\t" if isinstance(ob, str) else b"\t") * (args[0] if args else 8)
    if name == "replace" and len(args) >= 2:
        count = len(ob) + 1 if not args[0] else ob.count(args[0])
        return len(ob) + count * max(0, len(args[1]) - len(args[0]))
    if name in ("extend", "update") and args and isinstance(args[0], SIZED):
        current().step(len(args[0]))
        return len(ob) + len(args[0])
    return 0


def _method(ob: Any, name: str, method: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        budget = current()
        if name == "join":
            parts = list(guarded_iter(args[0])) if args else []
            budget.charge(sum(len(p) for p in parts if isinstance(p, (str, bytes))) + len(ob) * len(parts))
            return method(parts)
        if name in ("extend", "update") and args and not isinstance(args[0], SIZED):
            args = (list(guarded_iter(args[0])), *args[1:])
        budget.charge(_growth(ob, name, args))
        result = method(*args, **kwargs)
        if isinstance(result, SIZED) and result is not ob:
            budget.charge(len(result))
        return result

    return call
