"""Structured log lines carry the instance and element they are about."""

from __future__ import annotations

import json
import logging

from engine.logs import JsonFormatter

from .engine_support import ENGINEER, deploy, the_task


def test_operation_log_lines_name_instance_and_element(engine_service, caplog):
    deploy(engine_service, "rework.bpmn")
    iid = engine_service.runtime.start("rework", {"summary": "s"}, "alice")
    with caplog.at_level(logging.INFO, logger="weibao.runtime"):
        engine_service.runtime.complete(the_task(engine_service, iid, "Work"), {"ok": True}, ENGINEER)
    (record,) = [r for r in caplog.records if r.name == "weibao.runtime"]
    line = json.loads(JsonFormatter().format(record))
    assert line["instance_id"] == iid and line["element_id"] == "Work" and line["process_key"] == "rework"
    assert line["event_types"][0] == "task_completed" and line["level"] == "info"
