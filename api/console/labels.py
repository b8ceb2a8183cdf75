"""What people read instead of ids: one table of the SLA clocks (Chinese, English), and the event types
of a history. A clock without a row is shown by its id, and tests/test_console_work.py fails when a
shipped diagram starts a clock that has none."""

from __future__ import annotations

from .i18n import locale

# The clocks the shipped diagrams start (README "SLA clocks, event by event"): id → (中文, English).
CLOCKS: dict[str, tuple[str, str]] = {
    "response": ("响应", "Response"),
    "workaround": ("临时解决", "Workaround"),
    "resolution": ("修复", "Resolution"),
    "escalation_tier2": ("升级至二级支持", "Escalation to tier 2"),
    "escalation_tier3": ("升级至三级支持", "Escalation to tier 3"),
    "escalation_tier4": ("升级至四级支持", "Escalation to tier 4"),
    "remote_response": ("远程响应", "Remote response"),
    "onsite_arrival": ("到场", "On-site arrival"),
    "spare_part": ("备件到场", "Spare part on site"),
    "spare_part_shipping": ("备件发出", "Spare part shipped"),
    "escalation_field_engineer": ("升级至现场工程师", "Escalation to a field engineer"),
    "escalation_emergency_team": ("升级至应急小组", "Escalation to the emergency team"),
    "escalation_customer_manager": ("升级至客户经理", "Escalation to the customer manager"),
    "escalation_general_manager": ("升级至总经理", "Escalation to the general manager"),
    "report": ("故障报告", "Fault report"),
    "callback": ("回访", "Callback"),
    "writeup": ("书面总结", "Write-up"),
    "emergency_notify_manager": ("应急：通知项目经理", "Emergency: project manager told"),
    "emergency_team": ("应急：组建抢修小组", "Emergency: repair team formed"),
    "emergency_expert_remote": ("应急：专家远程支持", "Emergency: expert remote support"),
    "emergency_expert_group": ("应急：组建专家组", "Emergency: expert group formed"),
    "emergency_response": ("应急响应", "Emergency response"),
    "emergency_onsite_arrival": ("应急到场", "Emergency on-site arrival"),
    "emergency_locate": ("应急：故障定位", "Emergency: fault located"),
    "emergency_resolve": ("应急：故障解决", "Emergency: fault resolved"),
    "emergency_plan": ("应急：业务恢复", "Emergency: business restored"),
    "complaint_first_reply": ("投诉首次答复", "Complaint: first reply"),
    "complaint_resolution": ("投诉处理完毕", "Complaint: resolved"),
    "inspection_notice": ("巡检通知", "Inspection notice"),
}


def clock_label(clock: str | None) -> str:
    if not clock:
        return ""
    names = CLOCKS.get(clock)
    if names is None:
        return clock
    return names[0] if locale() == "zh" else names[1]
