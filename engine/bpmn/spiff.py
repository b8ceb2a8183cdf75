"""SpiffWorkflow configured for Weibao: Camunda 7 flavour plus external service tasks.

The Camunda flavour of SpiffWorkflow has no service task. Weibao's service tasks are Camunda
"external" tasks (`camunda:type="external" camunda:topic="…"`): SpiffWorkflow treats them as manual
(it never runs them itself), and the runtime calls the handler registered for the topic, records the
result, then completes the task. That keeps handler calls out of SpiffWorkflow's step loop, where a
retry or an incident could not be expressed.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.parser.BpmnParser import full_tag
from SpiffWorkflow.bpmn.parser.event_parsers import (
    CANCEL_EVENT_XPATH,
    ERROR_EVENT_XPATH,
    ESCALATION_EVENT_XPATH,
    MESSAGE_EVENT_XPATH,
    SIGNAL_EVENT_XPATH,
    TERMINATION_EVENT_XPATH,
    StartEventParser,
)
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.serializer.helpers.spec import TaskSpecConverter
from SpiffWorkflow.bpmn.specs.data_spec import TaskDataReference
from SpiffWorkflow.bpmn.specs.defaults import EndEvent, NoneTask, StartEvent
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import SignalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.simple import NoneEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.bpmn_spec_mixin import BpmnSpecMixin
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import ThrowingEvent
from SpiffWorkflow.camunda.parser import CamundaParser
from SpiffWorkflow.camunda.parser.event_parsers import CamundaEndEventParser, CamundaEventDefinitionParser
from SpiffWorkflow.camunda.parser.task_spec import CAMUNDA_MODEL_NS, CamundaTaskParser
from SpiffWorkflow.camunda.serializer import DEFAULT_CONFIG as CAMUNDA_CONFIG
from SpiffWorkflow.camunda.specs.multiinstance_task import ParallelMultiInstanceTask as CamundaParallelMI
from SpiffWorkflow.camunda.specs.multiinstance_task import SequentialMultiInstanceTask as CamundaSequentialMI

from engine.bpmn import patches as spiff_patches
from engine.bpmn.sandbox import SandboxEnvironment
from engine.bpmn.sandbox_guards import LimitExceeded
from engine.bpmn.sandbox_policy import compile_code

spiff_patches.install()

CAMUNDA_NS = CAMUNDA_MODEL_NS


class ExternalServiceTask(BpmnSpecMixin):
    """A `bpmn:serviceTask` with `camunda:type="external"`; run by the runtime, not by SpiffWorkflow."""

    def __init__(self, wf_spec, bpmn_id, topic: str, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.topic = topic
        self.manual = True

    def _run_hook(self, my_task):  # type: ignore[no-untyped-def]
        # The handler already ran and its result is in the task data; nothing is left to do here.
        return True


class ExternalServiceTaskParser(CamundaTaskParser):
    def create_task(self):  # type: ignore[no-untyped-def]
        topic = self.node.get(f"{{{CAMUNDA_NS}}}topic")
        kind = self.node.get(f"{{{CAMUNDA_NS}}}type")
        if kind != "external" or not topic:
            what = "a send task" if self.node.tag.endswith("sendTask") else "a service task"
            self.raise_validation_exception(
                f'{what} needs camunda:type="external" and a camunda:topic (the handler that does its work)'
            )
        return self.spec_class(self.spec, self.bpmn_id, topic=topic, **self.bpmn_attributes)


class ExternalServiceTaskConverter(TaskSpecConverter):
    def to_dict(self, spec):  # type: ignore[no-untyped-def]
        dct = self.get_default_attributes(spec)
        dct["topic"] = spec.topic
        return dct

    def from_dict(self, dct):  # type: ignore[no-untyped-def]
        return self.task_spec_from_dict(dct)


class ScheduledStartEventParser(CamundaEventDefinitionParser, StartEventParser):
    """A timer start event starts a new instance per due time (the scheduler does that), so inside
    the instance it behaves as a plain start event; the timer expression is kept for the scheduler."""

    def create_task(self):  # type: ignore[no-untyped-def]
        timers = self.xpath(".//bpmn:timerEventDefinition")
        if not timers:
            return StartEventParser.create_task(self)
        task = self._create_task(NoneEventDefinition(description="Timer start"))
        self.spec.start.connect(task)
        return task


class SignalEndEventParser(CamundaEndEventParser):
    """SpiffWorkflow 3.2's end event parser leaves out signal definitions, so a signal end event ran as
    a plain end event and its signal was silently never thrown; here it is parsed with them."""

    def create_task(self):  # type: ignore[no-untyped-def]
        task = self._create_task(self.get_event_definition([
            MESSAGE_EVENT_XPATH, CANCEL_EVENT_XPATH, ERROR_EVENT_XPATH, ESCALATION_EVENT_XPATH,
            SIGNAL_EVENT_XPATH, TERMINATION_EVENT_XPATH]))
        task.connect(self.spec.end)
        return task


class PassThroughTask(NoneTask):
    """`bpmn:task` and `bpmn:manualTask` complete when they are reached, as in Camunda 7: nothing in
    the engine does them, and waiting for nobody would leave the instance running with no open task."""

    def __init__(self, wf_spec, bpmn_id, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.manual = False


class WeibaoParser(CamundaParser):
    OVERRIDE_PARSER_CLASSES = {
        **CamundaParser.OVERRIDE_PARSER_CLASSES,
        full_tag("task"): (CamundaTaskParser, PassThroughTask),
        full_tag("manualTask"): (CamundaTaskParser, PassThroughTask),
        full_tag("serviceTask"): (ExternalServiceTaskParser, ExternalServiceTask),
        # Camunda 7 runs a send task as it runs a service task: by its implementation, a handler here.
        full_tag("sendTask"): (ExternalServiceTaskParser, ExternalServiceTask),
        full_tag("startEvent"): (ScheduledStartEventParser, StartEvent),
        full_tag("endEvent"): (SignalEndEventParser, EndEvent),
    }


_ISO_LITERAL = re.compile(
    r"^(R\d*/.+|P(?=\d|T\d)(\d+(\.\d+)?[YMWD])*(T(\d+(\.\d+)?[HMS])+)?"
    r"|\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?)$"
)


def strip_wrapper(expression: str) -> str:
    """Camunda writes expressions as `${expr}` (or `#{expr}`, which Camunda 7 evaluates the same way);
    inside is Python here."""
    text = expression.strip()
    if text[:2] in ("${", "#{") and text.endswith("}"):
        return text[2:-1].strip()
    return text


def normalize_expression(expression: str | None) -> str | None:
    """Timer fields hold either `${expr}` or a bare ISO 8601 literal, as the Camunda Modeler writes."""
    if expression is None:
        return None
    text = expression.strip()
    if _ISO_LITERAL.match(text):
        return repr(text)
    return strip_wrapper(text)


def normalize_timers(spec: Any) -> None:
    """Rewrite timer expressions of every task spec in place, once per parsed definition; an
    event-based gateway waits on copies of its events' definitions, which are rewritten too."""
    for task_spec in spec.task_specs.values():
        for definition in event_definitions(getattr(task_spec, "event_definition", None)):
            if isinstance(definition, TimerEventDefinition):
                definition.expression = normalize_expression(definition.expression)


def settle_multi_instance(spec: Any) -> None:
    """SpiffWorkflow 3.2's Camunda multi-instance task sets its input collection and item on the spec
    each time one starts (`camunda/specs/multiinstance_task.py` `update_task_spec`), changing the spec
    every case of the version shares. Set here once, before it is shared, they are already what that
    writes. (A `loopCardinality` that yields a collection still rewrites the spec there.)"""
    for task_spec in spec.task_specs.values():
        if (isinstance(task_spec, (CamundaParallelMI, CamundaSequentialMI)) and task_spec.cardinality is None
                and task_spec.data_input is None and task_spec.output_item is not None):
            task_spec.data_input = TaskDataReference(task_spec.data_output.bpmn_id)
            task_spec.input_item = TaskDataReference(task_spec.output_item.bpmn_id)


def event_definitions(definition: Any) -> list[Any]:
    """The definitions an event (or an event-based gateway) waits on."""
    if isinstance(definition, MultipleEventDefinition):
        return list(definition.event_definitions)
    return [] if definition is None else [definition]


def thrown_signals(task: Any) -> list[str]:
    """The signals a finished throw or end event threw."""
    if not isinstance(task.task_spec, ThrowingEvent):
        return []
    return [d.name for d in event_definitions(getattr(task.task_spec, "event_definition", None))
            if isinstance(d, SignalEventDefinition)]


class SandboxLimitError(WorkflowTaskException):
    """Diagram code broke a bound of the sandbox at run time; the runtime opens an incident."""


class WeibaoScriptEngine(PythonScriptEngine):
    """Expressions and scripts in the sandbox; `${…}` wrappers accepted; engine functions in scope."""

    def __init__(self, functions: dict[str, Any] | None = None) -> None:
        super().__init__(environment=SandboxEnvironment(dict(functions or {})))

    def validate(self, expression):  # type: ignore[no-untyped-def]
        compile_code(strip_wrapper(expression), "eval")

    def evaluate(self, task, expression, external_context=None):  # type: ignore[no-untyped-def]
        try:
            return super().evaluate(task, strip_wrapper(expression), external_context)
        except WorkflowTaskException as exc:
            raise _limit_error(exc, task) from exc

    def execute(self, task, script, external_context=None):  # type: ignore[no-untyped-def]
        try:
            return super().execute(task, script, external_context)
        except WorkflowTaskException as exc:
            raise _limit_error(exc, task) from exc


def _limit_error(exc: WorkflowTaskException, task: Any) -> WorkflowTaskException:
    cause = exc.__context__
    while cause is not None and not isinstance(cause, LimitExceeded):
        cause = cause.__context__
    if cause is None:
        return exc
    return SandboxLimitError(f"sandbox limit: {cause}", task=task, exception=cause)


class StateConverter(BpmnWorkflowConverter):
    """Serialises the running state only; the spec comes from the pinned definition version.

    Storing the spec with every instance would copy the whole diagram into each state row and
    re-parse it on every load.
    """

    def to_dict(self, workflow):  # type: ignore[no-untyped-def]
        dct = super(BpmnWorkflowConverter, self).to_dict(workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct, spec=None, subprocess_specs=None):  # type: ignore[no-untyped-def]
        from uuid import UUID

        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def make_serializer() -> BpmnWorkflowSerializer:
    config = dict(CAMUNDA_CONFIG)
    config[ExternalServiceTask] = ExternalServiceTaskConverter
    config[PassThroughTask] = CAMUNDA_CONFIG[NoneTask]
    config[BpmnWorkflow] = StateConverter
    return _with_dates(BpmnWorkflowSerializer.configure(config))


def make_full_serializer() -> BpmnWorkflowSerializer:
    """Spec included: for exports that must stand alone."""
    config = dict(CAMUNDA_CONFIG)
    config[ExternalServiceTask] = ExternalServiceTaskConverter
    config[PassThroughTask] = CAMUNDA_CONFIG[NoneTask]
    return _with_dates(BpmnWorkflowSerializer.configure(config))


def _with_dates(registry: Any) -> BpmnWorkflowSerializer:
    # SpiffWorkflow's registry knows datetime but not date: a script's `date.today() + timedelta(…)`
    # left in the data made the state unstorable (a 500). Its converters match the exact class.
    registry.register(date, lambda v: {"value": v.isoformat()}, lambda v: date.fromisoformat(v["value"]))
    return BpmnWorkflowSerializer(registry)
