"""`/metrics` in the Prometheus text format: work in flight, timers, SLA breaches, incidents, outbox
backlog and request latency. No token: scrapers run inside the operator's network.

The store's figures are read at scrape time by a collector; request latency is a histogram kept in
this process. Each app has its own registry, so two apps in one process (tests) do not share counts.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from engine import Gauges, read_gauges

from .context import weibao

blp = Blueprint("metrics", __name__)
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


def _one(name: str, help_text: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, help_text, value=value)


def _by(name: str, help_text: str, rows: list[tuple[str, int]], label: str) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, help_text, labels=[label])
    for key, count in rows:
        family.add_metric([key], count)
    return family


def families(g: Gauges) -> list[GaugeMetricFamily]:
    return [
        _by("weibao_instances_open", "Running instances by process.", g.instances_open, "process"),
        _by("weibao_tasks_open", "Open user tasks by process.", g.tasks_open, "process"),
        _one("weibao_timers_pending", "Timers, retries and SLA deadlines waiting.", g.timers_pending),
        _one("weibao_timers_due", "Of those, already due and not yet fired.", g.timers_due),
        _one("weibao_timer_lag_seconds", "Age of the oldest due timer.", g.timer_lag_seconds),
        _one("weibao_incidents_open", "Open incidents (handler failures waiting for a person).",
             g.incidents_open),
        _by("weibao_outbox_messages", "Outbox messages by status.", g.outbox_messages, "status"),
        _by("weibao_sla_breaches", "SLA clocks breached, by process.", g.sla_breaches, "process"),
    ]


class StoreCollector(Collector):
    """Reads the store's gauges at each scrape, inside the app (it needs the service)."""

    def collect(self) -> Iterator[Metric]:
        service = weibao().service
        with service.store.read() as session:
            yield from families(read_gauges(session, service.clock.now()))


def install(app: Flask) -> None:
    registry = CollectorRegistry(auto_describe=False)
    latency = Histogram("weibao_http_request_duration_seconds", "Request latency by route.",
                        ["method", "route"], buckets=BUCKETS, registry=registry)
    registry.register(StoreCollector())
    app.extensions["weibao_metrics"] = registry

    @app.before_request
    def _start() -> None:
        g.weibao_started = time.perf_counter()

    @app.after_request
    def _stop(response: Any) -> Any:
        started = g.get("weibao_started")
        if started is not None and request.url_rule is not None:
            latency.labels(request.method, request.url_rule.rule).observe(time.perf_counter() - started)
        return response

    app.register_blueprint(blp)


@blp.route("/metrics")
def metrics() -> Response:
    return Response(generate_latest(current_app.extensions["weibao_metrics"]), mimetype=CONTENT_TYPE_LATEST)
