"""What people read instead of ids: one table of the SLA clocks (Chinese, English), and one of the event
types of a history. A clock or event without a row is shown by its id; tests/test_console_work.py fails
when a shipped diagram starts a clock that has none, tests/test_console_labels.py when the engine
writes an event type that has none."""

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
    "failed_part_return": ("故障件返还", "Failed part returned"),
    "repaired_part_return": ("修复件返回", "Repaired part back"),
    "repaired_part_return_abroad": ("修复件返回（国外维修）", "Repaired part back (repaired abroad)"),
    "spare_part_loan": ("借用备件归还", "Loaned part returned"),
    "spare_part_loan_total": ("借用备件累计期限", "Loan with its extension"),
    "development_reply": ("二次开发需求书面回复", "Second-development reply"),
    "training_notice": ("现场培训提前协商", "On-site training agreed ahead"),
    "risk_assessment": ("信息系统风险评估", "Risk assessment"),
    "spare_part_sale_shipping": ("销售备件发货", "Sold spare part shipped"),
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
    "loaner": ("提供备用机", "Loaner unit"),
    "monthly_summary": ("月度服务总结", "Monthly service summary"),
    "part_discontinuation_notice": ("备件停产提前半年书面通知", "Notice before a spare part is discontinued"),
    # a step's own limit, per user task and level (seed 004 lines 709-711): `step_limit@Task_x`
    "step_limit": ("步骤时限（通报组长）", "Step limit (group leader told)"),
    "step_limit_2": ("步骤时限（通报项目经理）", "Step limit (project manager told)"),
    "step_limit_3": ("步骤时限（通报项目总负责）", "Step limit (project director told)"),
    "email_reply": ("邮件回复", "E-mail reply"),
    "call_answer": ("热线接通", "Hotline call answered"),
    "lookup_reply": ("查阅资料后回复", "Reply after a look-up"),
    "sudden_fault_response": ("突发故障响应", "Sudden fault response"),
}


# Every event type the engine writes: id → (中文, English); tests/test_console_labels.py reads the engine's
# sources for them and fails when one has no row.
EVENTS: dict[str, tuple[str, str]] = {
    "instance_started": ("实例启动", "Started"),
    "instance_completed": ("实例完成", "Completed"),
    "instance_cancelled": ("实例取消", "Cancelled"),
    "instance_migrated": ("迁移到新版本", "Migrated to another version"),
    "task_created": ("任务创建", "Task created"),
    "task_claimed": ("任务认领", "Task claimed"),
    "task_unclaimed": ("任务退回", "Task given back"),
    "task_reassigned": ("任务转派", "Task reassigned"),
    "task_completed": ("任务完成", "Task completed"),
    "service_task_completed": ("自动步骤完成", "Automatic step done"),
    "service_task_failed": ("自动步骤失败", "Automatic step failed"),
    "service_task_retried": ("自动步骤重试", "Automatic step retried"),
    "message_correlated": ("收到消息", "Message received"),
    "signal_received": ("收到信号", "Signal received"),
    "signal_failed": ("信号处理失败", "Signal step failed"),
    "timer_fired": ("定时器触发", "Timer fired"),
    "timer_failed": ("定时步骤失败", "Timed step failed"),
    "incident_opened": ("异常待处理", "Incident opened"),
    "incident_resolved": ("异常已处理", "Incident resolved"),
    "sla_started": ("SLA 计时开始", "SLA clock started"),
    "sla_met": ("SLA 达成", "SLA met"),
    "sla_stopped": ("SLA 计时结束", "SLA clock stopped"),
    "sla_warning": ("SLA 预警", "SLA warning"),
    "sla_breached": ("SLA 超时", "SLA breached"),
    "sla_paused": ("SLA 暂停", "SLA paused"),
    "sla_resumed": ("SLA 恢复计时", "SLA resumed"),
    "sla_restarted": ("SLA 重新计时", "SLA restarted"),
    "sla_skipped": ("SLA 不适用", "SLA not applicable"),
    "sla_retargeted": ("SLA 时限重算", "SLA due time recomputed"),
    "sla_relevelled": ("SLA 随等级调整", "SLA follows the new level"),
    "sla_escalated": ("SLA 逐级上报", "SLA escalated"),
    "sla_handed_over": ("SLA 移交", "SLA handed over"),
    "sla_received": ("SLA 接收", "SLA received"),
    "sla_calendar_provisional": ("日历暂定（缺年份数据）", "Calendar provisional (year missing)"),
}


# The documents the shipped handlers write (handlers/records.py, handlers/report.py,
# handlers/service_report.py, and the kinds the diagrams name for handlers/documents.py).
DOCUMENTS: dict[str, tuple[str, str]] = {
    "fault_report": ("故障处理报告", "Fault report"),
    "repair_service_report": ("维修服务报告", "Repair service report"),
    "incident_special_report": ("重大故障专题报告", "Incident special report"),
    "inspection_report": ("系统维护巡检报告", "Inspection report"),
    "spare_part_request": ("备件申请", "Spare-part request"),
    "vendor_case": ("厂商工单", "Vendor case"),
    "replacement_machine": ("备用机", "Replacement machine"),
    "service_report": ("月度服务报告/季度运行分析", "Monthly service summary / quarterly analysis"),
}


def document_label(kind: str | None) -> str:
    names = DOCUMENTS.get(kind or "")
    if names is None:
        return kind or ""
    return names[0] if locale() == "zh" else names[1]


def event_label(kind: str | None) -> str:
    if not kind:
        return ""
    names = EVENTS.get(kind)
    if names is None:
        return kind
    return names[0] if locale() == "zh" else names[1]


def clock_label(clock: str | None) -> str:
    if not clock:
        return ""
    base, at, step = clock.partition("@")  # a step clock names its step after the clock
    names = CLOCKS.get(base)
    if names is None:
        return clock
    return (names[0] if locale() == "zh" else names[1]) + (f" · {step}" if at else "")
