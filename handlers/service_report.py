"""Period reports of a contract: the monthly service summary (月度服务报告, seed 001 l.13 §2.3.4.2, §4.4.2)
and the quarterly system-operation analysis (季度运行分析, seed 003 l.95 §1.3.2, seed 000 l.62).

`service_report_plan` runs first in every instance of processes/service_report.bpmn. Started by the
monthly timer at a month's end, it opens one report instance per contract and period that the
contract data (data/service_reports.json) promises: the month's summary, and at a quarter's end the
quarter's analysis. In a report it opened it does nothing. `service_report` writes the document from
the period's facts, which the engine hands it (`reads_period`): only the contract's own cases.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import NAMESPACE_URL, uuid5

from engine.handler import HandlerContext, HandlerError, handler

from .report import TZ
from .service_report_render import report_fields, to_html, to_markdown

DEFAULT_CONTRACTS = Path(__file__).resolve().parent / "data" / "service_reports.json"
KINDS = {"monthly": ("月度服务报告", "MS"), "quarterly": ("季度运行分析", "QA")}


def load_contracts(path: object = None) -> dict[str, dict[str, Any]]:
    path = Path(str(path or os.environ.get("WEIBAO_SERVICE_REPORTS") or DEFAULT_CONTRACTS))
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise HandlerError(f"service report contracts {path} cannot be read: {exc}", retryable=False) from exc
    return {k: v for k, v in loaded.items() if not k.startswith("_")}


def month_start(moment: datetime) -> datetime:
    """The start (Beijing midnight) of the month `moment` falls in."""
    local = moment.astimezone(TZ)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def months_before(start: datetime, months: int) -> datetime:
    index = start.year * 12 + start.month - 1 - months
    return start.replace(year=index // 12, month=index % 12 + 1)


def period_of(kind: str, end: datetime) -> tuple[datetime, datetime, str]:
    """[start, end) and the label of the period of `kind` that ends at `end` (a month's start)."""
    start = months_before(end, 3 if kind == "quarterly" else 1)
    if kind == "quarterly":
        return start, end, f"{start.year}年第{(start.month - 1) // 3 + 1}季度"
    return start, end, f"{start.year}年{start.month}月"


def due_kinds(contract: dict[str, Any], end: datetime) -> list[str]:
    kinds = ["monthly"] if contract.get("monthly") else []
    if contract.get("quarterly") and end.month in (1, 4, 7, 10):
        kinds.append("quarterly")
    return kinds


def report_data(code: str, contract: dict[str, Any], kind: str, end: datetime) -> tuple[dict[str, Any], str]:
    start, end, label = period_of(kind, end)
    title, prefix = KINDS[kind]
    key = f"{prefix}-{code}-{start:%Y-%m}"
    return {"contract": code, "contract_name": str(contract.get("name") or code),
            "customer": str(contract["customer"]), "report_kind": kind, "report_title": title,
            "period_start": start.isoformat(), "period_end": end.isoformat(), "period_label": label}, key


@handler("service_report_plan")
def service_report_plan(ctx: HandlerContext) -> dict[str, Any]:
    if ctx.data.get("report_kind"):
        return {"dispatcher": False}  # a report this step opened: its period is already named
    scheduled = ctx.data.get("scheduled_at")
    end = month_start(datetime.fromisoformat(scheduled) if scheduled else ctx.now)
    opened = []
    for code, contract in sorted(load_contracts(ctx.settings.get("service_reports_file")).items()):
        for kind in due_kinds(contract, end):
            data, key = report_data(code, contract, kind, end)
            ctx.effects.start_process(ctx.process_key, data, key)
            opened.append(key)
    return {"dispatcher": True, "reports_opened": opened}


@handler("service_report", reads_period=True)
def service_report(ctx: HandlerContext) -> dict[str, Any]:
    if ctx.facts is None:
        raise HandlerError("service_report: the engine gave no period facts", retryable=False)
    try:
        start = datetime.fromisoformat(str(ctx.data["period_start"]))
        end = datetime.fromisoformat(str(ctx.data["period_end"]))
        contract = str(ctx.data["contract"])
    except (KeyError, ValueError) as exc:
        raise HandlerError(f"service_report: the period is not named ({exc})", retryable=False) from exc
    facts = ctx.facts.period(contract, start, end)
    fields = report_fields(ctx.data, facts, ctx.now)
    # Derived from instance and step, so a retried call names the same document; a send-back writes
    # the report again at a new step, which is a new draft with its own id.
    prefix = KINDS.get(str(ctx.data.get("report_kind")), ("", "SR"))[1]
    record_id = f"{prefix}-{uuid5(NAMESPACE_URL, ctx.effects.seed).hex[:10].upper()}"
    ctx.effects.record(record_id, "service_report", {"fields": fields, "markdown": to_markdown(fields),
                                                     "html": to_html(fields)})
    counts = fields["counts"]
    return {"service_report_id": record_id, "report_faults": counts["faults"],
            "report_open_problems": counts["open_problems"]}
