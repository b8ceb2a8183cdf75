"""Checks a set of diagram files and reports `{file, element_id, message}` problems.

Every failure mode of parsing (bad XML, not BPMN, SpiffWorkflow's own validation, anything else it
raises) ends up as such an entry: a diagram from any modeler either loads or is refused this way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.exceptions import SpiffWorkflowException

from engine.bpmn import expressions, for_parser, forms, timers, unsupported
from engine.bpmn.model import NS, Element, ProcessModel, read_models
from engine.bpmn.sla_checks import sla_problems
from engine.bpmn.spiff import WeibaoParser
from engine.bpmn.topics import Topics, topic_problems

BPMN_ROOT = "{http://www.omg.org/spec/BPMN/20100524/MODEL}definitions"
FORM_TYPES = {"string", "long", "boolean", "date", "enum"}

_xsd: BpmnValidator | None = None


def _validator() -> BpmnValidator:
    global _xsd
    if _xsd is None:
        _xsd = BpmnValidator()
    return _xsd


@dataclass
class Source:
    name: str
    content: bytes
    kind: str = ""
    root: Any = None


@dataclass
class Checked:
    sources: list[Source]
    parser: WeibaoParser | None
    models: dict[str, ProcessModel] = field(default_factory=dict)
    model_file: dict[str, str] = field(default_factory=dict)
    decision_file: dict[str, str] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)
    duplicate_decisions: list[dict[str, Any]] = field(default_factory=list)

    def error(self, file: str, element_id: str | None, message: str) -> None:
        self.errors.append({"file": file, "element_id": element_id, "message": message})


def _load_xml(src: Source, checked: Checked) -> None:
    try:
        src.root = etree.fromstring(src.content, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        checked.error(src.name, None, f"not well-formed XML: {exc}")
        return
    tag = src.root.tag if isinstance(src.root.tag, str) else ""
    if tag == BPMN_ROOT:
        src.kind = "bpmn"
    elif tag.endswith("}definitions") and "DMN" in tag.upper():
        src.kind = "dmn"
    else:
        checked.error(src.name, None, f"not a BPMN or DMN document (root element {tag or '?'})")


def _element_at_line(root: Any, line: int | None) -> str | None:
    if not line:
        return None
    best = None
    for node in root.iter():
        if isinstance(node.tag, str) and node.get("id") and (node.sourceline or 0) <= line:
            best = node.get("id")
    return best


def _note_decisions(src: Source, checked: Checked) -> None:
    for decision in src.root.iter("{*}decision"):
        did = decision.get("id", "")
        first = checked.decision_file.setdefault(did, src.name)
        if first != src.name:
            # The parser keeps one table per id: the second would silently replace the first.
            # Sources list the files being deployed first, so `first` is normally the new one.
            checked.duplicate_decisions.append({"file": first, "element_id": did, "message": (
                f"decision id {did!r} is defined in both {first} and {src.name}; "
                "decision ids must be unique across files")})


def _add_to_parser(parser: WeibaoParser, src: Source, checked: Checked) -> None:
    try:
        if src.kind == "bpmn":
            # The model checks run on every diagram that reads as XML, so that one pass names every
            # problem; only a diagram the schema and the parser accept is built.
            for pid, model in read_models(src.root).items():
                checked.models[pid] = model
                checked.model_file[pid] = src.name
            try:
                _validator().validate(src.root, src.name)
            except ValidationException as exc:
                line = exc.line_number if isinstance(exc.line_number, int) else None
                checked.error(src.name, _element_at_line(src.root, line), f"BPMN schema: {exc}")
                return
            if not unsupported.unparseable(src.root):  # reported by the model checks
                parser.add_bpmn_xml(for_parser.prepared(src.root), filename=src.name)
        else:
            parser.add_dmn_xml(src.root, filename=src.name)
            _note_decisions(src, checked)
    except ValidationException as exc:
        checked.error(exc.file_name or src.name, exc.id or None, str(exc))
    except Exception as exc:  # a diagram must never surface as a traceback
        checked.error(src.name, None, f"cannot read the diagram: {exc}")


def _check_spec(parser: WeibaoParser, pid: str, checked: Checked) -> None:
    file = checked.model_file.get(pid, "")
    try:
        parser.get_spec(pid)
        parser.get_subprocess_specs(pid)
    except ValidationException as exc:
        checked.error(exc.file_name or file, exc.id or None, str(exc))
    except SpiffWorkflowException as exc:
        checked.error(file, None, str(exc))
    except Exception as exc:
        checked.error(file, None, f"cannot build the process {pid!r}: {exc}")


def _check_gateways(src: Source, checked: Checked) -> None:
    for kind in ("exclusiveGateway", "inclusiveGateway"):
        for gw in src.root.iterfind(f".//bpmn:{kind}", NS):
            gid = gw.get("id", "")
            outgoing = src.root.findall(f".//bpmn:sequenceFlow[@sourceRef='{gid}']", NS)
            if len(outgoing) > 1 and not gw.get("default"):
                checked.error(src.name, gid, "a diverging gateway needs a default outgoing flow")


PYTHON_FORMATS = {"", "python", "python3", "text/x-python"}


def _check_script_formats(src: Source, checked: Checked) -> None:
    for task in src.root.iterfind(".//bpmn:scriptTask", NS):
        fmt = (task.get("scriptFormat") or "").strip().lower()
        if fmt not in PYTHON_FORMATS:
            checked.error(src.name, task.get("id"), f"script format {fmt!r} is not supported; scripts are "
                          "Python (scriptFormat=\"python\"), run in the sandbox")


def _check_unsupported(src: Source, checked: Checked) -> None:
    for element_id, message in unsupported.problems(src.root):
        checked.error(src.name, element_id, message)


RESERVED_IDS = {"Start", "End", "Root"}  # SpiffWorkflow names its own internal task specs so


def _check_model(model: ProcessModel, file: str, topics: Topics, checked: Checked) -> None:
    for el in model.elements.values():
        if el.id in RESERVED_IDS:
            checked.error(file, el.id, f"the id {el.id!r} is reserved by the engine; rename the element")
        for problem in topic_problems(el, topics):
            checked.error(file, el.id, problem)
        if el.kind == "businessRuleTask" and not el.decision_ref:
            checked.error(file, el.id, "a business rule task names its decision: set camunda:decisionRef "
                          "(Decision reference in the modeler) to a DMN decision id")
        elif el.kind == "businessRuleTask" and el.decision_ref not in checked.decision_file:
            checked.error(file, el.id, f"missing decision {el.decision_ref!r}")
        if el.kind == "callActivity" and el.called_element not in checked.models:
            checked.error(file, el.id, f"called process {el.called_element!r} is not deployed")
        if el.kind == "userTask" and not (el.candidate_groups or el.group_variables or el.assignee):
            checked.error(file, el.id, "a user task needs camunda:candidateGroups or camunda:assignee")
        _check_form(el, file, checked)
        _check_timer(model, el, file, checked)
        _check_sla(el, file, checked)
    if not re.fullmatch(r"[a-z][a-z0-9_]*", model.properties.get("sla.step_limit", "x").strip()):
        checked.error(file, model.id, "sla.step_limit names one clock (its levels: <name>_2, ...)")


def _check_sla(el: Element, file: str, checked: Checked) -> None:
    for problem in sla_problems(el):
        checked.error(file, el.id, problem)


def _check_timer(model: ProcessModel, el: Element, file: str, checked: Checked) -> None:
    if el.timer is None or not el.timer[1]:
        return
    kind, text = el.timer
    if el.id == model.start_element:
        problem = timers.start_timer_problem(f"{kind}:{text}")
    else:
        problem = timers.literal_timer_problem(kind, text)
    if problem:
        checked.error(file, el.id, problem)


def _check_form(el: Element, file: str, checked: Checked) -> None:
    what = "form field" if el.form else "message payload field"
    for f in el.payload:  # the form itself when the element has one
        if f.type not in FORM_TYPES:
            checked.error(file, el.id, f"{what} {f.id!r} has unsupported type {f.type!r}")
        if not f.id:
            checked.error(file, el.id, f"a {what} has no id")
        if f.max_length == -1:
            checked.error(file, el.id, f"{what} {f.id!r}: maxlength needs a positive whole number")
        for problem in forms.field_problems(f, el.payload):
            checked.error(file, el.id, problem)
        if f.id.startswith("_") or (not el.form and forms.is_reserved(f.id)):
            checked.error(file, el.id, f"{what} {f.id!r}: the name is reserved for the engine")


def _check_code(src: Source, parser: WeibaoParser, functions: set[str], checked: Checked) -> None:
    if src.kind == "bpmn":
        codes = expressions.bpmn_code(src.root)
    else:
        tables = [p for p in parser.dmn_parsers.values() if p.filename == src.name]
        codes = (code for table in tables for code in expressions.dmn_code(table))
    try:
        for element_id, message in expressions.problems(codes, functions):
            checked.error(src.name, element_id, message)
    except Exception as exc:  # a decision table SpiffWorkflow cannot read is refused, not a traceback
        checked.error(src.name, None, f"cannot read the code in the diagram: {exc}")


def _check_all_code(
    parser: WeibaoParser, sources: list[Source], functions: set[str], checked: Checked
) -> None:
    for src in sources:
        _check_code(src, parser, functions, checked)


def _compiled(sources: list[Source], strict_ids: set[str] | None, fresh: set[str] | None) -> list[Source]:
    if fresh is not None:
        return [s for s in sources if s.name in fresh]
    return sources if strict_ids is None else []


def check(
    sources: list[Source],
    topics: Topics,
    strict_ids: set[str] | None = None,
    unique_decisions: bool = True,
    *,
    fresh: set[str] | None = None,
    functions: set[str] | None = None,
) -> Checked:
    """Parse and check `sources` together. `strict_ids`: the processes whose problems count (those
    in new files); None means all. `unique_decisions=False` loads versions stored before decision ids
    had to be unique. The code in the files named by `fresh` (all files when it and `strict_ids` are
    None) is compiled under the sandbox's rules; `functions`: the engine's."""
    checked = Checked(sources=sources, parser=None)
    for src in sources:
        _load_xml(src, checked)
    if checked.errors:
        return checked
    parser = WeibaoParser()
    checked.parser = parser
    for src in sources:
        _add_to_parser(parser, src, checked)
    if unique_decisions:
        checked.errors.extend(checked.duplicate_decisions)
    code = _compiled(sources, strict_ids, fresh)
    _check_parsed(parser, topics, strict_ids, checked, code, functions or set())
    return checked


def _check_parsed(parser: WeibaoParser, topics: Topics, strict_ids: set[str] | None,
                  checked: Checked, code: list[Source], functions: set[str]) -> None:
    for src in checked.sources:
        if src.kind == "bpmn":
            _check_gateways(src, checked)
    for src in code:  # the files being deployed: a stored version loads as it was accepted
        if src.kind == "bpmn":
            _check_script_formats(src, checked)
            _check_unsupported(src, checked)
    _check_all_code(parser, code, functions, checked)
    for pid, model in checked.models.items():
        if strict_ids is None or pid in strict_ids:
            _check_model(model, checked.model_file[pid], topics, checked)
            if not checked.errors:
                _check_spec(parser, pid, checked)
