"""`document`: a customer document written from the case's data and history, laid out by the service
task's `camunda:properties`, so each diagram declares its own report without code of its own: the
repair service report the customer signs (维修服务报告, seed 001 l.13 §3.2.1 steps 14–15), the incident
special report (专题报告, §4.4.5) and the system inspection report (系统维护巡检报告, §5.2 steps 10–12).

Properties, read in diagram order:
* `kind`, `title`, `prefix`: the record's kind, its Chinese title, its id prefix (e.g. RS);
  `heading`: the data field appended to the title;
* `row.<field>` = label: a table row with that data field; `row.<element>.<field>`: the field as that
  step submitted it last (the case's data may have been overwritten since, or never received it);
* `done.<element>` = label: a table row with who finished that step last and when (Beijing time);
* `section.<field>` (or `section.<element>.<field>`) = label: a headed paragraph with that field;
* `values` = `id=名称,…`: the Chinese names of enum values shown in rows;
* `signature` = element: the customer's confirmation step; its last completion is the signature —
  who confirmed, when, whether they signed (or why not), their satisfaction and comment."""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, uuid5

from engine.handler import HandlerContext, HandlerError, handler

from .report import TZ

SATISFACTION = {"very_satisfied": "非常满意", "satisfied": "满意", "neutral": "一般",
                "dissatisfied": "不满意"}
SIGNATURE_ROWS = (("signer", "签字人"), ("signed_at", "签字时间"), ("signed", "签字确认"),
                  ("no_signature_reason", "未签字原因"), ("satisfaction", "满意度"), ("comment", "客户意见"))


def shown(value: Any, names: dict[str, str] | None = None) -> str:
    """A value as a person reads it: 是/否, Beijing time, enum names, lists joined with 、."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list):
        return "、".join(shown(v, names) for v in value) or "—"
    if isinstance(value, datetime):
        return value.astimezone(TZ).strftime("%Y-%m-%d %H:%M")
    text = str(value)
    if len(text) > 16 and text[10:11] in ("T", " ") and text[:4].isdigit():
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return text
        # Only an instant is moved to Beijing; a wall-clock time without an offset is shown as given.
        return moment.astimezone(TZ).strftime("%Y-%m-%d %H:%M") if moment.tzinfo else text
    return (names or {}).get(text, text)


def _last_completion(history: list[dict[str, Any]], element: str) -> dict[str, Any] | None:
    done = [e for e in history if e["type"] == "task_completed" and e["element_id"] == element]
    return done[-1] if done else None


def signature(history: list[dict[str, Any]], element: str | None) -> dict[str, Any] | None:
    """The customer's confirmation as the document records it; None while nobody has confirmed."""
    event = _last_completion(history, element) if element else None
    if event is None:
        return None
    data = (event.get("data") or {}).get("data") or {}  # task_completed carries the submitted form
    return {"element_id": element, "signer": event["actor"], "signed_at": shown(event["at"]),
            "signed": bool(data.get("signed")),
            "no_signature_reason": str(data.get("no_signature_reason") or ""),
            "satisfaction": SATISFACTION.get(str(data.get("satisfaction") or ""), ""),
            "comment": str(data.get("customer_comment") or "")}


def _value(ctx: HandlerContext, history: list[dict[str, Any]], key: str) -> Any:
    element, _, field = key.rpartition(".")
    if not element:
        return ctx.data.get(field)
    event = _last_completion(history, element)
    return ((event.get("data") or {}).get("data") or {}).get(field) if event else None


def _names(spec: str | None) -> dict[str, str]:
    pairs = (p.split("=", 1) for p in (spec or "").split(",") if "=" in p)
    return {k.strip(): v.strip() for k, v in pairs}


def document_fields(ctx: HandlerContext) -> dict[str, Any]:
    """The document's content: title, rows and sections in diagram order, and the signature."""
    history = ctx.history()
    props = ctx.properties
    names = _names(props.get("values"))
    started = next((e["at"] for e in history if e["type"] == "instance_started"), None)
    rows: list[list[str]] = [["立案时间", shown(started)]]
    sections: list[list[str]] = []
    for name, label in props.items():
        kind, _, key = name.partition(".")
        if kind == "row":
            rows.append([label, shown(_value(ctx, history, key), names)])
        elif kind == "done":
            event = _last_completion(history, key)
            rows.append([label, f"{event['actor']}（{shown(event['at'])}）" if event else "—"])
        elif kind == "section":
            sections.append([label, shown(_value(ctx, history, key), names)])
    heading = ctx.data.get(props.get("heading", "")) if props.get("heading") else None
    title = props.get("title", "服务报告") + (f"：{heading}" if heading else "")
    return {"title": title, "rows": rows, "sections": sections,
            "signature": signature(history, props.get("signature")), "written_at": shown(ctx.now.isoformat())}


def _signature_rows(sig: dict[str, Any] | None) -> list[tuple[str, str]]:
    if sig is None:
        return [("签字确认", "尚未签字")]
    values = {**sig, "signed": "已签字确认" if sig["signed"] else "未签字"}
    return [(label, shown(values[key])) for key, label in SIGNATURE_ROWS
            if values[key] or key in ("signer", "signed_at", "signed")]


def to_markdown(f: dict[str, Any]) -> str:
    lines = [f"# {f['title']}", ""] + [f"- {label}：{value}" for label, value in f["rows"]]
    for label, text in f["sections"]:
        lines += ["", f"## {label}", "", text]
    signed = [f"- {label}：{value}" for label, value in _signature_rows(f["signature"])]
    lines += ["", "## 客户签字", "", *signed]
    return "\n".join(lines) + f"\n\n生成时间：{f['written_at']}（北京时间）\n"


def to_html(f: dict[str, Any]) -> str:
    e = html.escape
    rows = "".join(f"<tr><th>{e(label)}</th><td>{e(value)}</td></tr>" for label, value in f["rows"])
    sections = "".join(f"<h2>{e(label)}</h2><p>{e(text)}</p>" for label, text in f["sections"])
    signed = "".join(f"<tr><th>{e(label)}</th><td>{e(value)}</td></tr>"
                     for label, value in _signature_rows(f["signature"]))
    return (f'<!doctype html><html lang="zh"><meta charset="utf-8"><title>{e(f["title"])}</title>'
            f"<h1>{e(f['title'])}</h1><table>{rows}</table>{sections}"
            f'<div class="signature"><h2>客户签字</h2><table>{signed}</table></div>'
            f"<p class=\"written\">生成时间：{e(f['written_at'])}（北京时间）</p></html>")


@handler("document", requires=("kind",))
def document(ctx: HandlerContext) -> dict[str, Any]:
    kind = ctx.properties.get("kind")
    if not kind:
        raise HandlerError(f"{ctx.element_id}: a document task needs the property kind", retryable=False)
    fields = document_fields(ctx)
    # Derived from instance and step, so a retried or replayed call names the same document.
    suffix = uuid5(NAMESPACE_URL, f"{ctx.effects.seed}:{kind}").hex[:10].upper()
    record_id = f"{ctx.properties.get('prefix', 'DOC')}-{suffix}"
    ctx.effects.record(record_id, kind, {"fields": fields, "markdown": to_markdown(fields),
                                         "html": to_html(fields)})
    return {f"{kind}_id": record_id}
