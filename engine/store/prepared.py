"""Statements of the hot paths, compiled once per dialect and run on the driver's cursor.

A Core `execute` spends most of its time outside the database: cache keys, execution contexts, result
metadata, events. The few statements every step runs (the instance row, events, work-list rows) are
written once as Core statements and planned here: the SQL text the dialect compiles, the order of the
parameters, and the type processors SQLAlchemy would apply (UTC datetimes, JSON). They run inside the
connection's transaction and raise the same `sqlalchemy.exc` errors a Core statement would.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError

Params = dict[str, Any]


@dataclass(frozen=True)
class _Plan:
    sql: str
    slots: tuple[tuple[str, str, int | None], ...]  # driver's name, parameter, position in an IN list
    positional: bool
    defaults: Params
    binds: tuple[tuple[str, Callable[[Any], Any]], ...]  # parameters that need converting
    row: Any  # namedtuple type of a result row, or None for DML
    results: tuple[Callable[[Any], Any] | None, ...]
    error: type[Exception]


def _row_type(names: list[str]) -> Any:
    return namedtuple("Row", [n or "_" for n in names], rename=True)  # type: ignore[misc]


class Prepared:
    """One Core statement; `column_keys` names the columns of an INSERT or UPDATE given as parameters.
    An IN list (`bindparam(..., expanding=True)`) is planned once per length."""

    def __init__(self, statement: Any, column_keys: Sequence[str] | None = None) -> None:
        self.statement = statement
        self.column_keys = list(column_keys) if column_keys is not None else None
        # SQLAlchemy's own list of a statement's parameters (private, stable through 2.1, see pyproject)
        self._lists = tuple(sorted(b.key for b in statement._get_embedded_bindparams() if b.expanding))
        self._plans: dict[tuple[Any, ...], _Plan] = {}

    def _plan(self, dialect: Dialect, params: Params) -> _Plan:
        key = (dialect.name, *(len(params[name]) for name in self._lists))
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = self._compile(dialect, params)
        return plan

    def _compile(self, dialect: Dialect, params: Params) -> _Plan:
        compiled: Any = self.statement.compile(dialect=dialect, column_keys=self.column_keys)
        binds = compiled.binds
        sql, names, lists = compiled.string, list(compiled.positiontup or binds), {}
        if self._lists:
            expanded = compiled.construct_expanded_state({**dict.fromkeys(binds), **params})
            sql, names = expanded.statement, list(expanded.positiontup or expanded.parameters)
            lists = expanded.parameter_expansion
        where: dict[str, tuple[str, int | None]] = {name: (name, None) for name in names}
        for key, parts in lists.items():
            where.update({part: (key, i) for i, part in enumerate(parts)})
        defaults = {k: b.value for k, b in binds.items() if b.value is not None and b.callable is None}
        converters = []
        for key, bind in binds.items():
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                converters.append((key, _each(process) if bind.expanding else process))
        row: Any = None
        results: tuple[Callable[[Any], Any] | None, ...] = ()
        if getattr(self.statement, "is_select", False):
            columns = list(self.statement.selected_columns)
            row = _row_type([c.key for c in columns])
            results = tuple(c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns)
        slots = tuple((name, *where[name]) for name in names)
        return _Plan(sql, slots, bool(dialect.positional), defaults, tuple(converters), row, results,
                     dialect.loaded_dbapi.Error)

    @staticmethod
    def _args(plan: _Plan, params: Params) -> Any:
        values = {**plan.defaults, **params} if plan.defaults else dict(params)
        for key, process in plan.binds:
            if key in values:
                values[key] = process(values[key])
        slots = ((name, values[key] if i is None else values[key][i]) for name, key, i in plan.slots)
        return tuple(v for _, v in slots) if plan.positional else dict(slots)

    def _cursor(self, conn: Connection, plan: _Plan, params: Params | list[Params]) -> Any:
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        args: Any = None
        try:
            if isinstance(params, list):
                args = [self._args(plan, p) for p in params]
                cursor.executemany(plan.sql, args)
            else:
                args = self._args(plan, params)
                cursor.execute(plan.sql, args)
        except plan.error as exc:
            cursor.close()
            raise DBAPIError.instance(plan.sql, args, exc, plan.error, dialect=conn.dialect) from exc
        return cursor

    def run(self, conn: Connection, params: Params | list[Params]) -> int:
        """Run DML, once or for each parameter set; the number of rows it matched."""
        if isinstance(params, list) and not params:
            return 0
        first = params[0] if isinstance(params, list) else params
        cursor = self._cursor(conn, self._plan(conn.dialect, first), params)
        count = int(cursor.rowcount)
        cursor.close()
        return count

    def rows(self, conn: Connection, params: Params | None = None) -> list[Any]:
        params = params or {}
        plan = self._plan(conn.dialect, params)
        cursor = self._cursor(conn, plan, params)
        fetched = cursor.fetchall()
        cursor.close()
        make, results = plan.row._make, plan.results
        if not any(results):
            return [make(r) for r in fetched]
        return [make([v if p is None or v is None else p(v) for p, v in zip(results, r, strict=True)])
                for r in fetched]

    def first(self, conn: Connection, params: Params | None = None) -> Any:
        found = self.rows(conn, params)
        return found[0] if found else None

    def scalar(self, conn: Connection, params: Params | None = None) -> Any:
        found = self.first(conn, params)
        return found[0] if found is not None else None


def _each(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda values: [process(v) for v in values]
