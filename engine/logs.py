"""Structured logs: one JSON object per line, with the instance and element a line is about."""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import TextIO

CONTEXT_KEYS = ("instance_id", "element_id", "process_key", "event_types", "topic")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in CONTEXT_KEYS:
            value = getattr(record, key, None)
            if value is not None:
                line[key] = value
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is at the time, so a replaced stream is never written after close."""

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


def configure(fmt: str | None = None, level: int = logging.INFO, verbose: bool = True) -> None:
    """`WEIBAO_LOG_FORMAT=text` for people at a terminal; JSON otherwise, for log collectors.

    Not `verbose`, only warnings and errors get through: a one-shot command's standard error is read by
    a person, who wants the one line that went wrong rather than the schema check before it."""
    fmt = fmt or os.environ.get("WEIBAO_LOG_FORMAT", "json")
    handler = _StderrHandler()
    if fmt == "text":
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    else:
        handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level if verbose else max(level, logging.WARNING))
    # SpiffWorkflow logs every task state change at INFO.
    logging.getLogger("spiff").setLevel(logging.WARNING)
    # A tick that outlasts the interval is skipped and picked up by the next one; not worth a line each.
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
    # Alembic announces its dialect and each revision it checks at INFO, on every start.
    logging.getLogger("alembic").setLevel(logging.INFO if verbose else logging.WARNING)
