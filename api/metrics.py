"""`/metrics` in the Prometheus text format: work in flight, timers, SLA breaches, incidents, outbox
backlog and request latency. No token: scrapers run inside the operator's network."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from typing import Any

from flask import Blueprint, Flask, Response, g, request
from sqlalchemy import func, select

from engine.store.models import IncidentRow, Instance, OpenTask, OutboxMessage, PendingTimer

from .context import weibao

blp = Blueprint("metrics", __name__)
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Latency:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * (len(BUCKETS) + 1))
        self.sums: dict[tuple[str, str], float] = defaultdict(float)

    def observe(self, key: tuple[str, str], seconds: float) -> None:
        with self.lock:
            counts = self.counts[key]
            for i, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    counts[i] += 1
            counts[-1] += 1
            self.sums[key] += seconds

    def lines(self) -> list[str]:
        name = "weibao_http_request_duration_seconds"
        out = [f"# HELP {name} Request latency by route.", f"# TYPE {name} histogram"]
        with self.lock:
            for (method, route), counts in sorted(self.counts.items()):
                labels = f'method="{method}",route="{route}"'
                out += [
                    f'{name}_bucket{{{labels},le="{b}"}} {c}' for b, c in zip(BUCKETS, counts, strict=False)
                ]
                out += [
                    f'{name}_bucket{{{labels},le="+Inf"}} {counts[-1]}',
                    f"{name}_sum{{{labels}}} {self.sums[(method, route)]:.6f}",
                    f"{name}_count{{{labels}}} {counts[-1]}",
                ]
        return out


def install(app: Flask) -> None:
    latency = Latency()
    app.extensions["weibao_latency"] = latency

    @app.before_request
    def _start() -> None:
        g.weibao_started = time.perf_counter()

    @app.after_request
    def _stop(response: Any) -> Any:
        started = g.get("weibao_started")
        if started is not None and request.url_rule is not None:
            latency.observe((request.method, request.url_rule.rule), time.perf_counter() - started)
        return response

    app.register_blueprint(blp)


def _gauge(
    name: str, help_text: str, rows: list[tuple[Any, ...]] | int, label: str | None = None
) -> list[str]:
    out = [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
    if isinstance(rows, int):
        return out + [f"{name} {rows}"]
    return out + [f'{name}{{{label}="{key}"}} {value}' for key, value in rows]


def _store_lines(session: Any, now: Any) -> list[str]:
    count = func.count()
    due = session.scalar(select(count).select_from(PendingTimer).where(PendingTimer.due_at < now)) or 0
    oldest = session.scalar(select(func.min(PendingTimer.due_at)).where(PendingTimer.due_at < now))
    lag = (now - oldest).total_seconds() if oldest is not None else 0.0
    return [
        *_gauge(
            "weibao_instances_open",
            "Running instances by process.",
            session.execute(
                select(Instance.process_key, count)
                .where(Instance.status == "running")
                .group_by(Instance.process_key)
            ).all(),
            "process",
        ),
        *_gauge(
            "weibao_tasks_open",
            "Open user tasks by process.",
            session.execute(select(OpenTask.process_key, count).group_by(OpenTask.process_key)).all(),
            "process",
        ),
        *_gauge(
            "weibao_timers_pending",
            "Timers, retries and SLA deadlines waiting.",
            session.scalar(select(count).select_from(PendingTimer)) or 0,
        ),
        *_gauge("weibao_timers_due", "Of those, already due and not yet fired.", due),
        "# HELP weibao_timer_lag_seconds Age of the oldest due timer.",
        "# TYPE weibao_timer_lag_seconds gauge",
        f"weibao_timer_lag_seconds {lag:.3f}",
        *_gauge(
            "weibao_incidents_open",
            "Open incidents (handler failures waiting for a person).",
            session.scalar(select(count).select_from(IncidentRow).where(IncidentRow.status == "open")) or 0,
        ),
        *_gauge(
            "weibao_outbox_messages",
            "Outbox messages by status.",
            session.execute(select(OutboxMessage.status, count).group_by(OutboxMessage.status)).all(),
            "status",
        ),
    ]


def _sla_lines(session: Any) -> list[str]:
    from engine.store.models import SlaClockRow

    rows = session.execute(
        select(SlaClockRow.process_key, func.count())
        .where(SlaClockRow.state == "breached")
        .group_by(SlaClockRow.process_key)
    ).all()
    return _gauge("weibao_sla_breaches", "SLA clocks breached, by process.", rows, "process")


@blp.route("/metrics")
def metrics() -> Response:
    service = weibao().service
    with service.store.read() as session:
        lines = _store_lines(session, service.clock.now()) + _sla_lines(session)
    from flask import current_app

    lines += current_app.extensions["weibao_latency"].lines()
    return Response("\n".join(lines) + "\n", mimetype="text/plain; version=0.0.4")
