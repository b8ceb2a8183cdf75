"""Inspection rounds from the contracts' plans (processes/inspection.bpmn, 定期巡检流程) and the month-end
list of inspection reports not returned (processes/inspection_report_check.bpmn, 巡检报告月末清查).

`inspection_plan` runs first in every inspection. Started by the month-end timer (the 25th, seed 001
§5.2 step 3: 上月末制定下月定期巡检安排表), it opens one inspection per round of the coming month that
the plans (data/inspection_plans.json) and the working calendar give, each with its own clocks,
customer notice and report; in an inspection it opened, or one started by hand, it names the
contract's re-confirmation lead. `inspection_unreturned` lists to the technical director, at the
month's end, the month's rounds whose visit day has passed and whose report the service desk has not
received (seed 001 §5.2 steps 15-17).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from engine.handler import HandlerContext, HandlerError, handler

from .inspection_plan import ContractPlan, PlanError, load_plans
from .inspection_rounds import Round, rounds
from .report import TZ

DEFAULT_RECONFIRM_DAYS = 3  # seed 001 l.13 §5.2 step 4 (前 3 天); §4.2.4 says 2, see the README


def _plans(ctx: HandlerContext) -> dict[str, ContractPlan]:
    try:
        return load_plans(ctx.settings.get("inspection_plans_file"))
    except PlanError as exc:
        raise HandlerError(str(exc), retryable=False) from exc


def _next_month(moment: datetime) -> tuple[int, int]:
    local = moment.astimezone(TZ)
    return (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)


def round_data(plan: ContractPlan, found: Round) -> dict[str, Any]:
    data = {"customer": plan.customer, "contract": plan.code, "site": found.site.name, "kind": found.kind,
            "planned_date": found.planned.isoformat()}
    return {**data, "holiday": found.holiday} if found.holiday else data


def _dispatch(ctx: HandlerContext) -> dict[str, Any]:
    if ctx.facts is None:
        raise HandlerError("inspection_plan: the engine gave no calendar", retryable=False)
    scheduled = ctx.data.get("scheduled_at")
    year, month = _next_month(datetime.fromisoformat(scheduled) if scheduled else ctx.now)
    opened, provisional = [], []
    for code, plan in sorted(_plans(ctx).items()):
        try:
            days = ctx.facts.working_days(plan.calendar)
        except ValueError as exc:  # InvalidInput: a calendar the engine does not know
            raise HandlerError(f"inspection plan {code}.calendar: {exc}", retryable=False) from exc
        for found in rounds(plan, year, month, days):
            ctx.effects.start_process(ctx.process_key, round_data(plan, found), found.key)
            opened.append(found.key)
            if found.provisional:
                provisional.append(found.key)
    return {"dispatcher": True, "plan_month": f"{year}-{month:02d}", "rounds_opened": opened,
            "rounds_provisional": provisional}


def check_plans(settings: Mapping[str, Any]) -> None:
    """At deploy: the plans file must load whole (PlanError, a ValueError, names contract and field)."""
    load_plans(settings.get("inspection_plans_file"))


@handler("inspection_plan", reads_period=True, checks_data=check_plans)
def inspection_plan(ctx: HandlerContext) -> dict[str, Any]:
    if ctx.data.get("contract"):  # a round this step opened, or one started by hand
        plan = _plans(ctx).get(str(ctx.data["contract"]))
        days = plan.reconfirm_days_before if plan else DEFAULT_RECONFIRM_DAYS
        return {"dispatcher": False, "reconfirm_days_before": days}
    return _dispatch(ctx)


def _unreturned(items: list[dict[str, Any]], today: date) -> list[dict[str, Any]]:
    return [i for i in items if not i.get("report_returned") and i["planned_date"][:10] <= today.isoformat()]


@handler("inspection_unreturned", reads_period=True, checks_data=check_plans)
def inspection_unreturned(ctx: HandlerContext) -> dict[str, Any]:
    if ctx.facts is None:
        raise HandlerError("inspection_unreturned: the engine gave no period facts", retryable=False)
    scheduled = ctx.data.get("scheduled_at")
    local = (datetime.fromisoformat(scheduled) if scheduled else ctx.now).astimezone(TZ)
    start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (start + timedelta(days=32)).replace(day=1)
    listed = []
    for code in sorted(_plans(ctx)):
        for item in _unreturned(ctx.facts.period(code, start, end)["inspections"], local.date()):
            listed.append({"contract": code, "business_key": item.get("business_key"),
                           "site": item["site"], "planned_date": item["planned_date"][:10],
                           "instance_id": item["instance_id"]})
    if listed:
        lines = [f"{i['planned_date']} {i['site']}（{i['contract']}，{i['business_key']}）"
                 for i in listed]
        ctx.effects.notify("email", str(ctx.properties.get("to") or "technical_director"),
                           f"{start:%Y年%m月}未返回的巡检报告（{len(listed)} 份）", "\n".join(lines))
    return {"report_month": f"{start:%Y-%m}", "unreturned_reports": listed, "unreturned_count": len(listed)}
