"""The floor over HTTP: the benchmark's four calls served by the least that this stack needs.

Flask routes on the same granian server and client as `weibao serve`, running plain SpiffWorkflow and
one SQLite commit per step (WAL, synchronous=NORMAL, as Weibao's store). No tokens, no audit chain,
no task index beyond one column, no SLA, no form checks, no response schemas. What Weibao spends
above this is what its features cost; what this spends is the part no implementation on Flask,
SpiffWorkflow and SQLite avoids on this machine.

Run by `bench.http_throughput` as `granian --interface wsgi --factory bench.floor_app:make`.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import uuid
from pathlib import Path
from typing import Any

from flask import Flask, request
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.camunda.parser import CamundaParser
from SpiffWorkflow.camunda.serializer import DEFAULT_CONFIG
from SpiffWorkflow.util.task import TaskState

BPMN = Path(__file__).resolve().parent / "data" / "one_task.bpmn"
SCHEMA = "CREATE TABLE IF NOT EXISTS wf (id TEXT PRIMARY KEY, task_id TEXT, status TEXT, state TEXT)"


class FloorFlow:
    def __init__(self, path: str) -> None:
        parser = CamundaParser()
        parser.add_bpmn_file(str(BPMN))
        self.spec = parser.get_spec("one_task")
        self.serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(DEFAULT_CONFIG))
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute(SCHEMA)
        self.lock = threading.Lock()  # one connection, one writer: as Weibao's store on SQLite

    def _save(self, sql: str, args: tuple[Any, ...]) -> None:
        self.db.execute("BEGIN IMMEDIATE")
        self.db.execute(sql, args)
        self.db.execute("COMMIT")

    def start(self) -> dict[str, Any]:
        wf = BpmnWorkflow(self.spec)
        wf.do_engine_steps()
        task = wf.get_next_task(state=TaskState.READY, manual=True)
        new_id, task_id = str(uuid.uuid4()), str(task.id)
        with self.lock:
            self._save("INSERT INTO wf VALUES (?, ?, 'running', ?)",
                       (new_id, task_id, self.serializer.serialize_json(wf)))
        return {"id": new_id, "status": "running", "open_tasks": [{"id": task_id}]}

    def tasks(self, instance_id: str) -> dict[str, Any]:
        with self.lock:
            row = self.db.execute("SELECT task_id FROM wf WHERE id = ?", (instance_id,)).fetchone()
        items = [{"id": row[0], "instance_id": instance_id}] if row and row[0] else []
        return {"items": items, "total": len(items)}

    def complete(self, task_id: str, data: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            row = self.db.execute("SELECT id, state FROM wf WHERE task_id = ?", (task_id,)).fetchone()
            wf = self.serializer.deserialize_json(row[1])
            task = wf.get_task_from_id(uuid.UUID(task_id))
            task.data.update(data)
            task.run()
            wf.do_engine_steps()
            status = "completed" if wf.is_completed() else "running"
            self._save("UPDATE wf SET task_id = NULL, status = ?, state = ? WHERE id = ?",
                       (status, self.serializer.serialize_json(wf), row[0]))
        # The service's answer: what comes next in the case (this flow has one task, so nothing).
        return {"instance_id": row[0], "status": status, "next_tasks": [], "incidents": []}

    def instance(self, instance_id: str) -> dict[str, Any]:
        with self.lock:
            row = self.db.execute("SELECT status FROM wf WHERE id = ?", (instance_id,)).fetchone()
        return {"id": instance_id, "status": row[0]}


def make() -> Flask:
    flow = FloorFlow(os.environ["WEIBAO_FLOOR_DB"])
    app = Flask("weibao_floor")

    @app.post("/api/v1/instances")
    def start() -> Any:
        request.get_json()  # read as any service reads its input; an unread body breaks keep-alive
        return flow.start(), 201

    @app.get("/api/v1/tasks")
    def tasks() -> Any:
        return flow.tasks(request.args["instance"])

    @app.post("/api/v1/tasks/<task_id>/complete")
    def complete(task_id: str) -> Any:
        return flow.complete(task_id, (request.get_json() or {}).get("data", {}))

    @app.get("/api/v1/instances/<instance_id>")
    def instance(instance_id: str) -> Any:
        return flow.instance(instance_id)

    app.json.sort_keys = False  # type: ignore[attr-defined]  # as the service's app
    return app
