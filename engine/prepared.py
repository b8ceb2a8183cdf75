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
    names: tuple[str, ...]  # in the order a positional driver wants them
    positional: bool
    defaults: Params
    binds: tuple[tuple[str, Callable[[Any], Any]], ...]  # parameters that need converting
    row: Any  # namedtuple type of a result row, or None for DML
    results: tuple[Callable[[Any], Any] | None, ...]
    error: type[Exception]


def _row_type(names: list[str]) -> Any:
    return namedtuple("Row", names)  # type: ignore[misc]


class Prepared:
    """One Core statement; `column_keys` names the columns of an INSERT or UPDATE given as parameters."""

    def __init__(self, statement: Any, column_keys: Sequence[str] | None = None) -> None:
        self.statement = statement
        self.column_keys = list(column_keys) if column_keys is not None else None
        self._plans: dict[str, _Plan] = {}

    def _plan(self, dialect: Dialect) -> _Plan:
        plan = self._plans.get(dialect.name)
        if plan is None:
            plan = self._plans[dialect.name] = self._compile(dialect)
        return plan

    def _compile(self, dialect: Dialect) -> _Plan:
        compiled: Any = self.statement.compile(dialect=dialect, column_keys=self.column_keys)
        binds = compiled.binds
        if any(b.expanding for b in binds.values()):
            raise ValueError("IN lists with expanding parameters cannot be prepared")
        names = tuple(compiled.positiontup) if dialect.positional else tuple(binds)
        defaults = {k: b.value for k, b in binds.items() if b.value is not None and b.callable is None}
        converters = []
        for key, bind in binds.items():
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                converters.append((key, process))
        row: Any = None
        results: tuple[Callable[[Any], Any] | None, ...] = ()
        if getattr(self.statement, "is_select", False):
            columns = list(self.statement.selected_columns)
            row = _row_type([c.key for c in columns])
            results = tuple(c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns)
        return _Plan(compiled.string, names, bool(dialect.positional), defaults, tuple(converters), row,
                     results, dialect.loaded_dbapi.Error)

    @staticmethod
    def _args(plan: _Plan, params: Params) -> Any:
        values = {**plan.defaults, **params} if plan.defaults else dict(params)
        for key, process in plan.binds:
            if key in values:
                values[key] = process(values[key])
        return tuple(values[n] for n in plan.names) if plan.positional else values

    def _cursor(self, conn: Connection, plan: _Plan, params: Params | list[Params]) -> Any:
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        many = isinstance(params, list)
        args = [self._args(plan, p) for p in params] if isinstance(params, list) else self._args(plan, params)
        try:
            if many:
                cursor.executemany(plan.sql, args)
            else:
                cursor.execute(plan.sql, args)
        except plan.error as exc:
            cursor.close()
            raise DBAPIError.instance(plan.sql, args, exc, plan.error, dialect=conn.dialect) from exc
        return cursor

    def run(self, conn: Connection, params: Params | list[Params]) -> int:
        """Run DML, once or for each parameter set; the number of rows it matched."""
        if isinstance(params, list) and not params:
            return 0
        cursor = self._cursor(conn, self._plan(conn.dialect), params)
        count = int(cursor.rowcount)
        cursor.close()
        return count

    def rows(self, conn: Connection, params: Params | None = None) -> list[Any]:
        plan = self._plan(conn.dialect)
        cursor = self._cursor(conn, plan, params or {})
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
