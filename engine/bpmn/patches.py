"""The places where SpiffWorkflow 3.2 reaches outside the engine or our conventions, routed back in.

* Timers call `datetime.now(timezone.utc)` in `bpmn/specs/event_definitions/timer.py`; there is no hook.
* `Task` stamps `time.time()` and draws `uuid4()` ids; replay needs both to be reproducible.
* `TaskIterator` silently stops at `max_depth=1000`; a long rework loop then looks finished.
* `do_engine_steps` runs every READY engine task; one whose code broke a sandbox bound holds an open
  incident (`weibao_incident` in its internal data) and must wait for the retry instead. A waiting
  timer whose firing failed with nobody to tell holds one too, and does not fire until the retry.
* A parallel join decides from every task of its gateway in the tree, the branches it cancelled
  included; compaction drops those, and a join of three or more branches completed in separate
  operations then waited for ever. The waiting join now remembers which inputs arrived.
* A multi-instance task over a collection that is missing or not a list failed with a bare
  `TypeError` (a traceback); Camunda 7 fails naming the expression, and so does this engine.
* Starting an event subprocess by its event wired it into the spec's start task, and the spec is
  shared by every case of the version: each later case then began it too and never ended.

`install()` is idempotent and is called by `engine.spiff` on import, so no engine code path can run
an unpatched SpiffWorkflow.
"""

from __future__ import annotations

import contextlib
import contextvars
import sys
import uuid
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime

from SpiffWorkflow import task as spiff_task
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs import control as spiff_control
from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timer
from SpiffWorkflow.bpmn.specs.mixins import multiinstance_task as multiinstance
from SpiffWorkflow.bpmn.specs.mixins import parallel_gateway as parallel
from SpiffWorkflow.bpmn.util import task as bpmn_task_util
from SpiffWorkflow.camunda.specs.event_definitions import MessageEventDefinition as camunda_message
from SpiffWorkflow.util import task as task_util
from SpiffWorkflow.util.task import TaskState

from engine.clock import current_clock


class _ClockDatetimeMeta(type):
    def __instancecheck__(cls, obj: object) -> bool:
        return isinstance(obj, datetime)


class ClockDatetime(datetime, metaclass=_ClockDatetimeMeta):
    """`datetime` as seen by SpiffWorkflow's timer module: `now()` asks the engine clock."""

    @classmethod
    def now(cls, tz=None):  # type: ignore[no-untyped-def, override]
        moment = current_clock().now()
        return moment.astimezone(tz) if tz is not None else moment


class _ClockTime:
    """Stands in for the `time` module inside `SpiffWorkflow.task` (only `time()` is used there)."""

    @staticmethod
    def time() -> float:
        return current_clock().now().timestamp()


class TaskIdSource:
    """Deterministic task ids: uuid5(instance namespace, counter). The counter is part of the state."""

    def __init__(self, namespace: uuid.UUID, counter: int = 0) -> None:
        self.namespace = namespace
        self.counter = counter

    def next(self) -> uuid.UUID:
        self.counter += 1
        return uuid.uuid5(self.namespace, str(self.counter))


_ids: contextvars.ContextVar[TaskIdSource | None] = contextvars.ContextVar("weibao_task_ids", default=None)


def _next_task_id() -> uuid.UUID:
    source = _ids.get()
    return source.next() if source is not None else uuid.uuid4()


@contextlib.contextmanager
def use_task_ids(source: TaskIdSource) -> Iterator[TaskIdSource]:
    token = _ids.set(source)
    try:
        yield source
    finally:
        _ids.reset(token)


def _deepen(init):  # type: ignore[no-untyped-def]
    """Replace the default max_depth (positional index 2 after self, task) with no limit."""
    defaults = list(init.__defaults__)
    # (end_at_spec, max_depth, depth_first, ...) are the leading defaults in both iterators
    defaults[1] = sys.maxsize
    init.__defaults__ = tuple(defaults)


INCIDENT = "weibao_incident"  # internal-data flag of a task whose incident is open
MERGE_PAYLOAD = "__weibao_merge__"


def _merge_message_payload(original):  # type: ignore[no-untyped-def]
    """A correlated message's payload joins the token data instead of sitting under one variable."""

    def update_task_data(self, my_task):  # type: ignore[no-untyped-def]
        event_data = my_task.internal_data.get(self.name) or {}
        if event_data.get("result_var") == MERGE_PAYLOAD:
            my_task.data.update(event_data.get("payload") or {})
        else:
            original(self, my_task)

    return update_task_data


def _do_engine_steps(self, will_complete_task=None, did_complete_task=None):  # type: ignore[no-untyped-def]
    """SpiffWorkflow 3.2's BpmnWorkflow._do_engine_steps, skipping tasks that hold an incident."""

    def update_workflow(wf):  # type: ignore[no-untyped-def]
        count = 0
        for task in wf.get_tasks(state=TaskState.READY):
            if task.task_spec.manual or task.internal_data.get(INCIDENT):
                continue
            if will_complete_task is not None:
                will_complete_task(task)
            task.run()
            count += 1
            if did_complete_task is not None:
                did_complete_task(task)
        return count

    active = self.get_active_subprocesses()
    for subprocess in sorted(active, key=lambda v: v.depth, reverse=True):
        count = None
        while count is None or count > 0:
            count = update_workflow(subprocess)
        if subprocess.parent_task_id is not None:
            task = self.get_task_from_id(subprocess.parent_task_id)
            task.task_spec._update(task)
    count = update_workflow(self)
    return count > 0 or len(self.get_active_subprocesses()) > len(active)


def _held_until_retry(original):  # type: ignore[no-untyped-def]
    """A timer holding an open incident has not fired, whatever the time: the retry fires it."""

    def check(self, my_task):  # type: ignore[no-untyped-def]
        return False if my_task.internal_data.get(INCIDENT) else original(self, my_task)

    return check


def _collection_checked(original):  # type: ignore[no-untyped-def]
    """The collection a multi-instance task runs over must be a list (or a map) when it starts."""

    def update(self, my_task):  # type: ignore[no-untyped-def]
        if self.data_input is not None:
            value = self.data_input.get(my_task)
            if isinstance(value, str) or not isinstance(value, (Sequence, Mapping)):
                what = "missing" if value is None else f"a {type(value).__name__}, not a list"
                name = self.data_input.bpmn_id
                self.raise_data_exception(
                    f"the collection {name!r} of multi-instance task {self.bpmn_id} is {what}", my_task)
        return original(self, my_task)

    return update


ARRIVED = "weibao_join_arrived"  # on a waiting parallel join: the inputs whose token arrived


def _join_remembers(original):  # type: ignore[no-untyped-def]
    """A join task that replaces waiting ones (SpiffWorkflow cancels them) takes over what they knew."""

    def update(self, my_task):  # type: ignore[no-untyped-def]
        arrived = set(my_task.internal_data.get(ARRIVED, ()))
        for other in my_task.workflow.tasks.values():
            if other.task_spec == self and other is not my_task and other.state is TaskState.WAITING:
                arrived.update(other.internal_data.get(ARRIVED, ()))
                if other.parent is not None and other.parent.state == TaskState.COMPLETED:
                    arrived.add(other.parent.task_spec.name)
        if arrived:
            my_task.internal_data[ARRIVED] = sorted(arrived)
        return original(self, my_task)

    return update


def _parallel_threshold(self, my_task):  # type: ignore[no-untyped-def]
    """SpiffWorkflow 3.2's ParallelGateway check, with the inputs the dropped branches brought counted
    as arrived (rewritten rather than wrapped: the spec is shared between threads, so its inputs are
    not to be changed even for a moment)."""
    waiting_inputs = {spec for spec in self.inputs if spec.name not in my_task.internal_data.get(ARRIVED, ())}

    def remove_ancestor(task):  # type: ignore[no-untyped-def]
        if task.task_spec in waiting_inputs:
            waiting_inputs.remove(task.task_spec)
        elif task.parent is not None:
            remove_ancestor(task.parent)

    for task in my_task.workflow.get_tasks(spec_name=self.name):
        if task.is_descendant_of(my_task):
            remove_ancestor(task)  # a join inside a loop, first time round
        elif my_task.is_descendant_of(task):
            continue  # a later time round: the earlier ones' parents do not count
        elif task.parent.state == TaskState.COMPLETED and task.parent.task_spec in waiting_inputs:
            waiting_inputs.remove(task.parent.task_spec)
    return len(waiting_inputs) == 0


def _trigger_wf(self, my_task, spec_name):  # type: ignore[no-untyped-def]
    """SpiffWorkflow 3.2's BpmnStartTask.trigger_wf without changing the spec. It connected the start
    task to the event subprocess the first time one started; on the cached spec every later case's
    start task then began the subprocess as well, waiting for an event nothing sends, and its end
    join never completed. The subprocess leads to the end from the parse on (`_leads_to_end`)."""
    child = my_task._add_child(self._wf_spec.task_specs[spec_name], TaskState.FUTURE)
    child.triggered = True
    child.task_spec._update(child)
    return child.id


def _leads_to_end(original):  # type: ignore[no-untyped-def]
    """An event subprocess started by its event is wired once parsed as trigger_wf wired it at its first
    start, but for the start task's outputs (from which every case would start it): it has the start
    task as input (a task spec with none refuses to become ready) and leads to the end, so that when
    it completes the end join is asked again."""

    def connect_or_add_trigger(self, task_spec, sp_spec):  # type: ignore[no-untyped-def]
        original(self, task_spec, sp_spec)
        if self not in task_spec.inputs:
            task_spec._connect_notify(self)
        if self._wf_spec.end not in task_spec.outputs:
            task_spec.connect(self._wf_spec.end)

    return connect_or_add_trigger


_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    spiff_timer.datetime = ClockDatetime  # type: ignore[misc]
    spiff_task.time = _ClockTime  # type: ignore[assignment]
    spiff_task.uuid4 = _next_task_id  # type: ignore[assignment]
    camunda_message.update_task_data = _merge_message_payload(camunda_message.update_task_data)
    _deepen(task_util.TaskIterator.__init__)
    _deepen(bpmn_task_util.BpmnTaskIterator.__init__)
    BpmnWorkflow._do_engine_steps = _do_engine_steps  # type: ignore[method-assign]
    start = spiff_control.BpmnStartTask
    start.connect_or_add_trigger = _leads_to_end(start.connect_or_add_trigger)  # type: ignore[method-assign]
    start.trigger_wf = _trigger_wf  # type: ignore[method-assign]
    parallel.ParallelGateway._update_hook = _join_remembers(  # type: ignore[method-assign]
        parallel.ParallelGateway._update_hook)
    parallel.ParallelGateway._check_threshold_unstructured = _parallel_threshold  # type: ignore[method-assign]
    for mi in (multiinstance.ParallelMultiInstanceTask, multiinstance.SequentialMultiInstanceTask):
        mi._update_hook = _collection_checked(mi._update_hook)  # type: ignore[method-assign]
    for definition, method in ((spiff_timer.TimeDateEventDefinition, "has_fired"),
                               (spiff_timer.DurationTimerEventDefinition, "has_fired"),
                               (spiff_timer.CycleTimerEventDefinition, "cycle_complete")):
        setattr(definition, method, _held_until_retry(getattr(definition, method)))
    _installed = True
