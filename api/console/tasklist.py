"""The tasklist: the caller's tasks and their groups', nearest SLA deadline first, with filters.

The list is one work-list query sorted by the case's deadline in SQL (`worklist.TaskFilter`), and the
open clocks of every listed case come from one more query, whatever the number of cases.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import render_template, request
from flask_babel import lazy_gettext as _l

from engine import casework, queries, worklist

from ..context import weibao
from .session import actor

LIST_LIMIT = 500  # one large page: people scan it by deadline, the filters narrow it
# Due filter: the value in the query string → how far ahead of now the case's deadline may lie.
DUE_WINDOWS = {"overdue": timedelta(0), "1h": timedelta(hours=1), "4h": timedelta(hours=4),
               "24h": timedelta(hours=24)}
DUE_NAMES = {"overdue": _l("Overdue"), "1h": _l("Due within 1 hour"), "4h": _l("Due within 4 hours"),
             "24h": _l("Due within 24 hours")}
FILTERS = ("process", "contract", "level", "assignee", "due")


def _chosen() -> dict[str, str]:
    return {name: request.args.get(name, "").strip()[:128] for name in FILTERS}


def _filter(chosen: dict[str, str], now: datetime) -> worklist.TaskFilter:
    window = DUE_WINDOWS.get(chosen["due"])
    return worklist.TaskFilter(process=chosen["process"] or None, contract=chosen["contract"] or None,
                               level=chosen["level"] or None, assignee=chosen["assignee"] or None,
                               due_before=now + window if window is not None else None, sort="due")


def choices(processes: list[dict[str, Any]]) -> dict[str, list[tuple[str, str]]]:
    """Contract and level values with their labels, from the start forms of the deployed processes."""
    definitions = weibao().service.definitions
    found: dict[str, dict[str, str]] = {"contract": {}, "level": {}}
    with weibao().service.store.read() as session:
        for process in processes:
            loaded = definitions.load(session, definitions.current(session, process["key"]).id)
            for field in loaded.model.start_form:
                for value in field.enum if field.id in found else []:
                    found[field.id].setdefault(value, field.enum_labels.get(value) or value)
    return {name: sorted(values.items()) for name, values in found.items()}


def _with_deadlines(items: list[dict[str, Any]], clocks: dict[str, list[dict[str, Any]]],
                    now: datetime) -> list[dict[str, Any]]:
    for task in items:
        open_ones = clocks.get(task["instance_id"]) or []
        nearest = open_ones[0] if open_ones else None
        task["deadline"] = nearest
        task["seconds_left"] = (nearest["due_at"] - now).total_seconds() if nearest else None
    return items


def tasklist() -> str:
    service, who, chosen = weibao().service, actor(), _chosen()
    now = service.clock.now()
    with service.store.snapshot() as conn:
        items, total = worklist.tasks(conn, who, queries.Page(1, LIST_LIMIT), _filter(chosen, now))
        clocks = casework.open_clocks(conn, {t["instance_id"] for t in items})
        people = casework.staff_names(conn)
    with service.store.read() as session:
        processes, _count = queries.processes(session, queries.Page(1, 100))
    return render_template("tasklist.html", tasks=_with_deadlines(items, clocks, now), total=total,
                           processes=processes, chosen=chosen, choices=choices(processes),
                           people=people, due_names=DUE_NAMES)
