"""The SLA report page: compliance per month, contract, level and clock as a chart and a table, the
cases behind each line, and the CSV the API gives.

The chart is SVG drawn here on the server (no script, no CDN): one bar per line of the report, split
into met, breached, ended and open, each bar a link to its cases.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, Response, render_template, request
from flask_babel import gettext as _

from engine import InvalidInput, casework, policy, queries
from engine.sla.report import outcome, sla_report, to_csv

from ..context import weibao
from . import tasklist
from .i18n import zone
from .session import actor

OUTCOMES = ("met", "breached", "ended", "open")
KEYS = ("process", "contract", "level", "clock")
MONTHS_SHOWN = 3  # by default: this month and the two before


def _month(text: str, field: str) -> datetime:
    try:
        return datetime.strptime(text, "%Y-%m").replace(tzinfo=zone())
    except ValueError as exc:
        raise InvalidInput(f"{field}: a month such as 2026-03",
                           details={"fields": {field: "YYYY-MM"}}) from exc


def _shift(month: datetime, months: int) -> datetime:
    index = month.year * 12 + month.month - 1 + months
    return month.replace(year=index // 12, month=index % 12 + 1, day=1, hour=0, minute=0, second=0,
                         microsecond=0)


def period() -> tuple[str, str, datetime, datetime]:
    """`from` and `to` are months, both included, or `month` alone; by default the last MONTHS_SHOWN
    months."""
    this = _shift(weibao().service.clock.now().astimezone(zone()), 0)
    month = request.args.get("month")  # one line of the report: that month alone
    first = month or request.args.get("from") or _shift(this, 1 - MONTHS_SHOWN).strftime("%Y-%m")
    last = month or request.args.get("to") or this.strftime("%Y-%m")
    start, end = _month(first, "from"), _shift(_month(last, "to"), 1)
    if end <= start:
        raise InvalidInput("to: must not be before from", details={"fields": {"to": "before from"}})
    return first, last, start, end


def _rows(start: datetime, end: datetime) -> list[dict[str, Any]]:
    process, contract = request.args.get("process") or None, request.args.get("contract") or None
    with weibao().service.store.read() as session:
        return sla_report(session, start, end, process, contract)


def bars(rows: list[dict[str, Any]], width: float = 100.0) -> list[dict[str, Any]]:
    """Each report line as segments of a bar `width` wide, in the order of OUTCOMES."""
    out = []
    for row in rows:
        x, segments = 0.0, []
        for kind in OUTCOMES:
            share = width * row[kind] / row["count"] if row["count"] else 0.0
            if share:
                segments.append({"kind": kind, "x": round(x, 2), "width": round(share, 2), "n": row[kind]})
            x += share
        out.append({**row, "segments": segments})
    return out


def report_page() -> str:
    policy.require_staff(actor())
    first, last, start, end = period()
    rows = bars(_rows(start, end))
    processes = _processes()
    return render_template("reports.html", rows=rows, first=first, last=last, processes=processes,
                           process=request.args.get("process", ""), contract=request.args.get("contract", ""),
                           outcomes=OUTCOMES, contracts=dict(tasklist.choices(processes)["contract"]))


def _processes() -> list[dict[str, Any]]:
    with weibao().service.store.read() as session:
        return queries.processes(session, queries.Page(1, 100))[0]


def report_csv() -> Response:
    policy.require_staff(actor())
    _first, _last, start, end = period()
    return Response(to_csv(_rows(start, end)), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="sla-report.csv"'})


def report_cases() -> str:
    """The clocks behind one line (or one outcome of it), each with its case."""
    policy.require_staff(actor())
    first, last, start, end = period()
    where = {k: request.args.get(k) for k in KEYS if k in request.args}
    wanted = request.args.get("outcome") or None
    with weibao().service.store.snapshot() as conn:
        found = casework.report_clocks(conn, start, end, **where)
    items = [dict(c, outcome=outcome(c["state"], c["due_at"], c["stopped_at"])) for c in found]
    items = [c for c in items if wanted is None or c["outcome"] == wanted]
    return render_template("report_cases.html", items=items, first=first, last=last, where=where,
                           outcome=wanted, title=_("Cases behind the report"),
                           contracts=dict(tasklist.choices(_processes())["contract"]))


def add_routes(blp: Blueprint) -> None:
    blp.add_url_rule("/reports", "reports", report_page)
    blp.add_url_rule("/reports/sla.csv", "report_csv", report_csv)
    blp.add_url_rule("/reports/cases", "report_cases", report_cases)
