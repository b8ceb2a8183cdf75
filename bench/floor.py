"""The floor for the HTTP benchmark: the same one-user-task flow with plain SpiffWorkflow in-process,
serialising the whole workflow and committing to SQLite after each step."""

from __future__ import annotations

import sqlite3
import tempfile
import time
from pathlib import Path

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.camunda.parser import CamundaParser
from SpiffWorkflow.camunda.serializer import DEFAULT_CONFIG
from SpiffWorkflow.util.task import TaskState

BPMN = Path(__file__).resolve().parent / "data" / "one_task.bpmn"


def floor_rate(seconds: float = 5.0) -> float:
    parser = CamundaParser()
    parser.add_bpmn_file(str(BPMN))
    spec = parser.get_spec("one_task")
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(DEFAULT_CONFIG))
    db = sqlite3.connect(Path(tempfile.mkdtemp()) / "floor.sqlite3")
    db.execute("CREATE TABLE wf (id INTEGER PRIMARY KEY, state TEXT)")
    count, stop, t0 = 0, time.monotonic() + seconds, time.perf_counter()
    while time.monotonic() < stop:
        wf = BpmnWorkflow(spec)
        wf.do_engine_steps()
        cur = db.execute("INSERT INTO wf (state) VALUES (?)", (serializer.serialize_json(wf),))
        db.commit()
        task = wf.get_next_task(state=TaskState.READY, manual=True)
        task.data["done"] = True
        task.run()
        wf.do_engine_steps()
        db.execute("UPDATE wf SET state = ? WHERE id = ?", (serializer.serialize_json(wf), cur.lastrowid))
        db.commit()
        count += 1
    return count / (time.perf_counter() - t0)
