"""`fault_report`: the 故障处理报告 of seed 001 §2.2.6, generated from the instance history and data,
stored as a record with Markdown and HTML renderings."""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, uuid5
from zoneinfo import ZoneInfo

from engine.handler import HandlerContext, handler

TZ = ZoneInfo("Asia/Shanghai")
TEXT_FIELDS = (
    ("symptom", "故障现象"),
    ("impact", "业务影响"),
    ("handling", "处理过程"),
    ("root_cause", "故障原因"),
    ("solution", "解决方案"),
    ("prevention", "预防建议"),
)


def _local(value: Any) -> str:
    if not value:
        return "—"
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.astimezone(TZ).strftime("%Y-%m-%d %H:%M")


def _completions(history: list[dict[str, Any]], element: str | None) -> list[Any]:
    wanted = {e.strip() for e in (element or "").split(",") if e.strip()}
    return [e["at"] for e in history if e["type"] == "task_completed" and e["element_id"] in wanted]


def _first_completion(history: list[dict[str, Any]], element: str | None) -> Any:
    done = _completions(history, element)
    return done[0] if done else None


def _last_completion(history: list[dict[str, Any]], element: str | None) -> Any:
    """A repair retried after a failed plan was finished by its last attempt."""
    done = _completions(history, element)
    return done[-1] if done else None


ENGINEER_GROUPS = {"duty_engineer", "senior_engineer", "expert_group", "vendor", "technical_lead"}


def _engineers(history: list[dict[str, Any]]) -> list[str]:
    """Who completed steps offered to engineering groups (not the desk, the customer or managers)."""
    groups = {
        e["element_id"]: set(e["data"].get("candidate_groups") or [])
        for e in history
        if e["type"] == "task_created"
    }
    return sorted(
        {
            e["actor"]
            for e in history
            if e["type"] == "task_completed"
            and e["actor"] != "system"
            and groups.get(e["element_id"], set()) & ENGINEER_GROUPS
        }
    )


def report_fields(ctx: HandlerContext) -> dict[str, Any]:
    history = ctx.history()
    props = ctx.properties
    started = next((e["at"] for e in history if e["type"] == "instance_started"), None)
    customer = ctx.data.get("customer")
    engineers = _engineers(history)
    fields = {
        "report_time": _local(started),
        "remote_support_time": _local(_first_completion(history, props.get("remote_element"))),
        "onsite_time": _local(_first_completion(history, props.get("onsite_element"))),
        "repair_time": _local(_last_completion(history, props.get("repair_element")) or ctx.now),
        "engineers": engineers,
        "summary": ctx.data.get("summary", ""),
        "customer": customer or "",
        "level": ctx.data.get("level", ""),
    }
    fields.update({key: str(ctx.data.get(key) or "—") for key, _ in TEXT_FIELDS})
    return fields


HEADINGS = (
    ("report_time", "报修时间"),
    ("remote_support_time", "远程支持时间"),
    ("onsite_time", "到达现场时间"),
    ("repair_time", "修复时间"),
)


def to_markdown(f: dict[str, Any]) -> str:
    lines = [f"# 故障处理报告：{f['summary']}", "", f"- 客户：{f['customer']}", f"- 故障等级：{f['level']}"]
    lines += [f"- {label}：{f[key]}" for key, label in HEADINGS]
    lines.append(f"- 处理工程师：{'、'.join(f['engineers']) or '—'}")
    for key, label in TEXT_FIELDS:
        lines += ["", f"## {label}", "", f[key]]
    return "\n".join(lines) + "\n"


def to_html(f: dict[str, Any]) -> str:
    e = html.escape
    rows = "".join(f"<tr><th>{e(label)}</th><td>{e(str(f[key]))}</td></tr>" for key, label in HEADINGS)
    rows += f"<tr><th>处理工程师</th><td>{e('、'.join(f['engineers']) or '—')}</td></tr>"
    sections = "".join(f"<h2>{e(label)}</h2><p>{e(f[key])}</p>" for key, label in TEXT_FIELDS)
    return (
        f'<!doctype html><html lang="zh"><meta charset="utf-8"><title>故障处理报告</title>'
        f"<h1>故障处理报告：{e(f['summary'])}</h1><p>客户：{e(f['customer'])}；故障等级：{e(f['level'])}</p>"
        f"<table>{rows}</table>{sections}</html>"
    )


@handler("fault_report")
def fault_report(ctx: HandlerContext) -> dict[str, Any]:
    fields = report_fields(ctx)
    report_id = "FR-" + uuid5(NAMESPACE_URL, f"{ctx.effects.seed}:fault_report").hex[:10].upper()
    ctx.effects.record(
        report_id,
        "fault_report",
        {"fields": fields, "markdown": to_markdown(fields), "html": to_html(fields)},
    )
    return {"fault_report_id": report_id}
