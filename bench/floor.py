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


class Floor:
    """The floor flow, ready to run in slices between the slices of the flow it is compared with."""

    def __init__(self) -> None:
        parser = CamundaParser()
        parser.add_bpmn_file(str(BPMN))
        self.spec = parser.get_spec("one_task")
        self.serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(DEFAULT_CONFIG))
        self.db = sqlite3.connect(Path(tempfile.mkdtemp()) / "floor.sqlite3")
        self.db.execute("CREATE TABLE wf (id INTEGER PRIMARY KEY, state TEXT)")

    def one(self) -> None:
        wf = BpmnWorkflow(self.spec)
        wf.do_engine_steps()
        cur = self.db.execute("INSERT INTO wf (state) VALUES (?)", (self.serializer.serialize_json(wf),))
        self.db.commit()
        task = wf.get_next_task(state=TaskState.READY, manual=True)
        task.data["done"] = True
        task.run()
        wf.do_engine_steps()
        state = self.serializer.serialize_json(wf)
        self.db.execute("UPDATE wf SET state = ? WHERE id = ?", (state, cur.lastrowid))
        self.db.commit()

    def run(self, seconds: float) -> tuple[int, float]:
        """Instances done and the seconds they took."""
        count, stop, t0 = 0, time.monotonic() + seconds, time.perf_counter()
        while time.monotonic() < stop:
            self.one()
            count += 1
        return count, time.perf_counter() - t0

