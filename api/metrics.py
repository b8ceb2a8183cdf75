"""`/metrics` in the Prometheus text format: work in flight, timers, SLA breaches, incidents, outbox
backlog and request latency. No token: scrapers run inside the operator's network."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from typing import Any

from flask import Blueprint, Flask, Response, g, request

from engine import Gauges, read_gauges

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
    name: str, help_text: str, rows: list[tuple[str, int]] | int, label: str | None = None
) -> list[str]:
    out = [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
    if isinstance(rows, int):
        return out + [f"{name} {rows}"]
    return out + [f'{name}{{{label}="{key}"}} {value}' for key, value in rows]


def _store_lines(g: Gauges) -> list[str]:
    return [
        *_gauge("weibao_instances_open", "Running instances by process.", g.instances_open, "process"),
        *_gauge("weibao_tasks_open", "Open user tasks by process.", g.tasks_open, "process"),
        *_gauge("weibao_timers_pending", "Timers, retries and SLA deadlines waiting.", g.timers_pending),
        *_gauge("weibao_timers_due", "Of those, already due and not yet fired.", g.timers_due),
        "# HELP weibao_timer_lag_seconds Age of the oldest due timer.",
        "# TYPE weibao_timer_lag_seconds gauge",
        f"weibao_timer_lag_seconds {g.timer_lag_seconds:.3f}",
        *_gauge("weibao_incidents_open", "Open incidents (handler failures waiting for a person).",
                g.incidents_open),
        *_gauge("weibao_outbox_messages", "Outbox messages by status.", g.outbox_messages, "status"),
        *_gauge("weibao_sla_breaches", "SLA clocks breached, by process.", g.sla_breaches, "process"),
    ]


@blp.route("/metrics")
def metrics() -> Response:
    service = weibao().service
    with service.store.read() as session:
        lines = _store_lines(read_gauges(session, service.clock.now()))
    from flask import current_app

    lines += current_app.extensions["weibao_latency"].lines()
    return Response("\n".join(lines) + "\n", mimetype="text/plain; version=0.0.4")
