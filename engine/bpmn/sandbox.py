"""Where every expression and script of a diagram or decision table runs.

SpiffWorkflow hands each script task, gateway condition, timer expression, multi-instance
expression and DMN input, entry and output to its script engine's environment; `SandboxEnvironment`
runs them as RestrictedPython code compiled under `sandbox_policy` (cached per text), with the
builtins below, the functions the engine offers (`sla_due`, `business_due`, …) and a fresh
`Budget`. A script works on a copy of the task data that replaces the original only when the
script finishes within its bounds, so a broken bound leaves the data as it was.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from typing import Any

from RestrictedPython.Guards import guarded_iter_unpack_sequence, guarded_unpack_sequence
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from engine.bpmn import sandbox_guards as g
from engine.bpmn.sandbox_policy import compile_code


def _consuming(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A builtin that walks an iterable in C: each item it takes counts as a step."""

    def call(*args: Any, **kwargs: Any) -> Any:
        result = fn(*_counted(fn, args), **kwargs)
        if isinstance(result, g.SIZED):
            g.current().charge(len(result))
        return result

    call.__name__ = fn.__name__
    return call


def _counted(fn: Callable[..., Any], args: tuple[Any, ...]) -> tuple[Any, ...]:
    if not args or len(args) > 1 or isinstance(args[0], (int, float)):
        return args  # max(a, b) compares its arguments, it walks nothing
    if isinstance(args[0], dict):
        g.current().step(len(args[0]))
        return args
    return (g.guarded_iter(args[0]), *args[1:])


def _range(*args: int) -> range:
    r = range(*args)
    if len(r) > g.MAX_SIZE:
        g.current().fail(f"a range of more than {g.MAX_SIZE} items")
    return r


def _text(fn: Callable[[Any], str]) -> Callable[..., str]:
    def call(value: Any = "") -> str:
        g.current().charge(g.measure(value))
        return fn(value)

    call.__name__ = fn.__name__
    return call


def _sum(values: Iterable[Any], start: int | float = 0) -> Any:
    if not isinstance(start, (int, float)):
        raise TypeError("sum() adds numbers only")
    return sum(g.guarded_iter(values), start)


# enumerate, map, filter, reversed and zip are lazy: what consumes them counts their items.
_PLAIN = (abs, bool, divmod, enumerate, filter, float, int, len, map, reversed, round, zip)
_CONSUMING = (all, any, dict, frozenset, list, max, min, set, sorted, tuple)
_ERRORS = (ArithmeticError, AttributeError, Exception, IndexError, KeyError, LookupError,
           NameError, TypeError, ValueError, ZeroDivisionError)

_TYPES: dict[Any, Any] = {}


def _isinstance(value: Any, kinds: Any) -> bool:
    """isinstance that accepts the counting stand-ins of list, dict, str, … for their types."""
    if isinstance(kinds, tuple):
        return isinstance(value, tuple(_TYPES[k] if k in _TYPES else k for k in kinds))
    return isinstance(value, _TYPES[kinds] if kinds in _TYPES else kinds)


SAFE_BUILTINS: dict[str, Any] = {
    **{fn.__name__: fn for fn in _PLAIN},
    **{fn.__name__: _consuming(fn) for fn in _CONSUMING},
    **{cls.__name__: cls for cls in _ERRORS},
    "None": None, "True": True, "False": False,
    "range": _range, "str": _text(str), "repr": _text(repr), "sum": _sum,
    "date": date, "datetime": datetime, "timedelta": timedelta, "isinstance": _isinstance,
}
_TYPES.update({v: k for k, v in ((t, SAFE_BUILTINS[t.__name__]) for t in (*_CONSUMING, str, range))
               if isinstance(k, type)})

GUARDS: dict[str, Any] = {
    "__builtins__": SAFE_BUILTINS,
    "_getattr_": g.getattr_,
    "_getitem_": g.getitem,
    "_getiter_": g.guarded_iter,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_write_": g.write,
    "_inplacevar_": g.inplacevar,
    "_apply_": lambda f, *a, **kw: f(*a, **kw),
    "_step_": g.step,
    "_binop_": g.binop,
    "_items_": g.items,
    "_sized_": g.sized,
}

# Names a diagram may call without defining them; the engine's functions come on top.
SANDBOX_FUNCTIONS = frozenset(k for k, v in SAFE_BUILTINS.items() if callable(v))


class _Run:
    """One bounded run on this thread; the budget of an enclosing run comes back afterwards."""

    def __enter__(self) -> g.Budget:
        self.budget = g.Budget()
        self.previous = g.swap(self.budget)
        return self.budget

    def __exit__(self, *exc: object) -> None:
        g.swap(self.previous)


def _check_result(budget: g.Budget, value: Any) -> None:
    if budget.broken:  # swallowed inside the code (a `finally: return`), still broken
        raise g.LimitExceeded(budget.broken)
    if g.measure(value) > g.MAX_SIZE:
        raise g.LimitExceeded(f"a result of more than {g.MAX_SIZE} characters or items")


class SandboxEnvironment(BasePythonScriptEngineEnvironment):
    """`globals` are the engine's functions; task data and the external context come on top."""

    def _scope(self, data: dict[str, Any], external: dict[str, Any] | None) -> dict[str, Any]:
        return {**self.globals, **(external or {}), **data, **GUARDS}

    def evaluate(self, expression, context, external_context=None):  # type: ignore[no-untyped-def]
        code = compile_code(expression, "eval")
        scope = self._scope(context, external_context)
        with _Run() as budget:
            result = eval(code, scope)
            _check_result(budget, result)
        return result

    def execute(self, script, context, external_context=None):  # type: ignore[no-untyped-def]
        overwritten = set(self.globals).intersection(context)
        if overwritten:
            raise ValueError(f"task data overwrites engine function(s) {sorted(overwritten)}; rename them")
        code = compile_code(script, "exec")
        injected = {**self.globals, **(external_context or {}), **GUARDS}
        before = copy.deepcopy(context)
        scope = self._scope(before, external_context)
        with _Run() as budget:
            exec(code, scope)
            data = {k: v for k, v in scope.items()
                    if not callable(v) and (k not in injected or k in context)}
            # only what the script set: data it was given is not its to answer for
            _check_result(budget, [v for k, v in data.items() if k not in before or v is not before[k]])
        context.clear()
        context.update(data)
        return True
