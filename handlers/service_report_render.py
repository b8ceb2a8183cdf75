"""The period report's content and its Markdown and HTML: the faults with levels and root causes, the
SLA outcomes per clock, inspections planned versus done, open problems, spare-part movements and the
fault trend, drawn as an inline SVG bar chart so the PDF made from the HTML shows it."""

from __future__ import annotations

import html
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from .documents import shown
from .report import TZ

# The clocks' names as the console shows them (api/console/labels.py CLOCKS; a test keeps them equal):
# handlers import only the handler contract.
CLOCKS = {"response": "响应", "workaround": "临时解决", "resolution": "修复",
          "escalation_tier2": "升级至二级支持", "escalation_tier3": "升级至三级支持",
          "escalation_tier4": "升级至四级支持", "remote_response": "远程响应", "onsite_arrival": "到场",
          "spare_part": "备件到场", "spare_part_shipping": "备件发出",
          "escalation_field_engineer": "升级至现场工程师", "escalation_emergency_team": "升级至应急小组",
          "escalation_customer_manager": "升级至客户经理", "escalation_general_manager": "升级至总经理",
          "report": "故障报告", "callback": "回访", "writeup": "书面总结",
          "emergency_notify_manager": "应急：通知项目经理", "emergency_team": "应急：组建抢修小组",
          "emergency_expert_remote": "应急：专家远程支持", "emergency_expert_group": "应急：组建专家组",
          "emergency_response": "应急响应", "emergency_onsite_arrival": "应急到场",
          "emergency_locate": "应急：故障定位", "emergency_resolve": "应急：故障解决",
          "emergency_plan": "应急：业务恢复", "complaint_first_reply": "投诉首次答复",
          "complaint_resolution": "投诉处理完毕", "inspection_notice": "巡检通知", "loaner": "提供备用机",
          "monthly_summary": "月度服务总结", "failed_part_return": "故障件返还",
          "repaired_part_return": "修复件返回", "repaired_part_return_abroad": "修复件返回（国外维修）",
          "spare_part_loan": "借用备件归还", "spare_part_loan_total": "借用备件累计期限",
          "development_reply": "二次开发需求书面回复", "training_notice": "现场培训提前协商",
          "risk_assessment": "信息系统风险评估", "spare_part_sale_shipping": "销售备件发货",
          "part_discontinuation_notice": "备件停产提前半年书面通知",
          "step_limit": "步骤时限（通报组长）", "step_limit_2": "步骤时限（通报项目经理）",
          "step_limit_3": "步骤时限（通报项目总负责）",
          "email_reply": "邮件回复", "call_answer": "热线接通", "lookup_reply": "查阅资料后回复",
          "sudden_fault_response": "突发故障响应"}
STATUS = {"running": "处理中", "completed": "已完成", "cancelled": "已取消"}
SPARE_KINDS = {"spare_part_request": "备件申请", "replacement_machine": "备机替换", "vendor_case": "原厂支持"}
FAULT_HEAD = ("工单号", "故障摘要", "级别", "根本原因", "申报时间", "状态")
SLA_HEAD = ("时限", "达标", "超时", "未完成即结束", "进行中")


def _buckets(kind: str, start: datetime, end: datetime) -> list[tuple[datetime, datetime, str]]:
    """Weeks (from Monday) of a month, months of a quarter, clipped to the period."""
    start, end = start.astimezone(TZ), end.astimezone(TZ)
    out: list[tuple[datetime, datetime, str]] = []
    if kind == "quarterly":
        month = start
        while month < end:
            following = month.replace(year=month.year + month.month // 12, month=month.month % 12 + 1)
            out.append((month, min(following, end), f"{month.month}月"))
            month = following
        return out
    week = start - timedelta(days=start.weekday())
    while week < end:
        following = week + timedelta(days=7)
        out.append((max(week, start), min(following, end), f"{max(week, start):%m-%d}起"))
        week = following
    return out


def trend(kind: str, start: datetime, end: datetime, faults: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for low, high, label in _buckets(kind, start, end):
        inside = [f for f in faults if low <= datetime.fromisoformat(f["started_at"]) < high]
        out.append({"label": label, "from": low.isoformat(), "count": len(inside)})
    return out


def report_fields(data: Mapping[str, Any], facts: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    start, end = (datetime.fromisoformat(str(data[k])) for k in ("period_start", "period_end"))
    kind = str(data.get("report_kind") or "monthly")
    inspections = list(facts["inspections"])
    return {
        "title": f"{data.get('report_title', '服务报告')}：{data.get('contract_name', '')} "
                 f"{data.get('period_label', '')}",
        "kind": kind, "contract": data.get("contract"), "customer": data.get("customer"),
        "period": {"label": data.get("period_label"), "start": start.isoformat(), "end": end.isoformat()},
        "faults": list(facts["faults"]), "sla": list(facts["sla"]),
        "open_problems": list(facts["open_problems"]),
        "inspections": {"planned": len(inspections), "done": sum(1 for i in inspections if i["done"]),
                        "items": inspections},
        "spare_parts": list(facts["spare_parts"]), "stock_movements": list(facts["stock_movements"]),
        "trend": trend(kind, start, end, facts["faults"]),
        "counts": {"faults": len(facts["faults"]), "open_problems": len(facts["open_problems"])},
        "revision_notes": str(data.get("revision_notes") or ""), "written_at": shown(now.isoformat()),
    }


def _fault_row(f: Mapping[str, Any]) -> list[str]:
    return [f["business_key"] or f["instance_id"][:8], f["summary"] or "—", f["level"] or "—",
            f["root_cause"] or "—", shown(f["started_at"]), STATUS.get(f["status"], f["status"])]


def _clock(key: str) -> str:
    base, at, step = key.partition("@")  # a step's own limit names the step: `step_limit@Task_x`
    return CLOCKS.get(base, base) + (f"：{step}" if at else "") if base in CLOCKS else key


def _tables(f: Mapping[str, Any]) -> list[tuple[str, tuple[str, ...], list[list[str]]]]:
    """(heading, columns, rows) of every table, shared by the Markdown and the HTML."""
    sla = [[_clock(s["clock"]), *(str(s[k]) for k in ("met", "breached", "ended", "open"))] for s in f["sla"]]
    ins = f["inspections"]
    inspections = [[i["planned_date"] or "—", i["site"] or "—", "已完成" if i["done"] else "未完成"]
                   for i in ins["items"]]
    parts = [[SPARE_KINDS.get(p["kind"], p["kind"]), p["id"],
              str(p["data"].get("part") or p["data"].get("part_type") or "—"), shown(p["at"])]
             for p in f["spare_parts"]]
    return [
        (f"故障记录（共 {len(f['faults'])} 起）", FAULT_HEAD, [_fault_row(x) for x in f["faults"]]),
        ("SLA 达标情况（按时限）", SLA_HEAD, sla),
        (f"巡检执行（计划 {ins['planned']} 次，完成 {ins['done']} 次）", ("巡检日期", "地点", "完成情况"),
         inspections),
        (f"遗留问题（共 {len(f['open_problems'])} 项）", FAULT_HEAD,
         [_fault_row(x) for x in f["open_problems"]]),
        ("备件更换及库存变动", ("类别", "单号", "备件", "时间"), parts),
    ]


def _rows_md(columns: tuple[str, ...], rows: list[list[str]]) -> list[str]:
    if not rows:
        return ["无。"]
    return ["| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns)] + \
        ["| " + " | ".join(cell.replace("|", "/") for cell in row) + " |" for row in rows]


def _period(f: Mapping[str, Any]) -> str:
    # The period is [start, end): a person reads its first and last day.
    last = datetime.fromisoformat(f["period"]["end"]) - timedelta(days=1)
    return f"{f['period']['label']}（{f['period']['start'][:10]} 至 {last:%Y-%m-%d}）"


def to_markdown(f: Mapping[str, Any]) -> str:
    lines = [f"# {f['title']}", "", f"- 合同：{f['contract']}", f"- 客户：{f['customer']}",
             f"- 统计期间：{_period(f)}"]
    for heading, columns, rows in _tables(f):
        lines += ["", f"## {heading}", "", *_rows_md(columns, rows)]
    lines += ["", "## 故障趋势", "", *(f"- {t['label']}：{t['count']} 起" for t in f["trend"])]
    if f["revision_notes"]:
        lines += ["", "## 修改说明", "", f["revision_notes"]]
    return "\n".join(lines) + f"\n\n生成时间：{f['written_at']}（北京时间）\n"


def trend_svg(points: list[Mapping[str, Any]]) -> str:
    """Bars of the fault count per week or month, with the counts and labels as SVG text."""
    width, height, base = 480, 170, 140
    peak = max([p["count"] for p in points] + [1])
    step = width / max(len(points), 1)
    bars = []
    for i, p in enumerate(points):
        h = round(100 * p["count"] / peak)
        x = round(i * step + step * 0.2)
        bars.append(f'<rect x="{x}" y="{base - h}" width="{round(step * 0.6)}" height="{h}" fill="#4a78b0"/>'
                    f'<text x="{round(x + step * 0.3)}" y="{base - h - 4}" text-anchor="middle">'
                    f'{p["count"]}</text>'
                    f'<text x="{round(x + step * 0.3)}" y="{base + 16}" text-anchor="middle">'
                    f'{html.escape(p["label"])}</text>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="trend" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" font-family="Noto Sans CJK SC, sans-serif" font-size="11" '
            f'role="img" aria-label="故障趋势">'
            f'<line x1="0" y1="{base}" x2="{width}" y2="{base}" stroke="#333"/>'
            f'{"".join(bars)}</svg>')


def _table_html(columns: tuple[str, ...], rows: list[list[str]]) -> str:
    e = html.escape
    if not rows:
        return "<p>无。</p>"
    head = "".join(f"<th>{e(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="grid"><tr>{head}</tr>{body}</table>'


def to_html(f: Mapping[str, Any]) -> str:
    e = html.escape
    period = _period(f)
    head = "".join(f"<tr><th>{e(k)}</th><td>{e(str(v))}</td></tr>"
                   for k, v in (("合同", f["contract"]), ("客户", f["customer"]), ("统计期间", period)))
    tables = "".join(f"<h2>{e(h)}</h2>{_table_html(c, r)}" for h, c, r in _tables(f))
    notes = f"<h2>修改说明</h2><p>{e(f['revision_notes'])}</p>" if f["revision_notes"] else ""
    return (f'<!doctype html><html lang="zh"><meta charset="utf-8"><title>{e(f["title"])}</title>'
            f"<style>table.grid th {{ width: auto; }}</style>"
            f"<h1>{e(f['title'])}</h1><table>{head}</table>{tables}"
            f"<h2>故障趋势</h2>{trend_svg(f['trend'])}{notes}"
            f"<p class=\"written\">生成时间：{e(f['written_at'])}（北京时间）</p></html>")
