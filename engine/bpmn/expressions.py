"""Every piece of code in a deployed file, compiled under the sandbox's rules before it is stored.

The texts are the ones SpiffWorkflow will evaluate: `${…}` unwrapped, ISO timer literals quoted,
and each DMN input entry combined with its input expression exactly as the DMN engine combines
them, so that what passes here is what runs later.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator
from typing import Any

from engine.bpmn.model import NS
from engine.bpmn.sandbox import SANDBOX_FUNCTIONS
from engine.bpmn.sandbox_policy import check_code
from engine.bpmn.spiff import CAMUNDA_NS, normalize_expression, strip_wrapper
from engine.bpmn.timers import looks_literal

# (element id, text, mode)
Code = tuple[str | None, str, str]

_TIMER_FIELDS = ("timeDuration", "timeDate", "timeCycle")
_QUESTION = re.compile(r"(\?)(?=(?:[^'\"]|['\"][^'\"]*['\"])*$)")  # DMNEngine's own pattern


def _timer_code(text: str) -> str | None:
    return None if looks_literal(text) else normalize_expression(text)


def _parent_id(node: Any) -> str | None:
    """The flow element holding `node`: a timer's event, not its (modeler-numbered) definition."""
    while node is not None and (not node.get("id") or _is_detail(node)):
        node = node.getparent()
    return node.get("id") if node is not None else None


def _is_detail(node: Any) -> bool:
    tag = node.tag if isinstance(node.tag, str) else ""
    return tag.endswith(("EventDefinition", "LoopCharacteristics"))


def _texts(root: Any, path: str) -> Iterator[tuple[Any, str]]:
    for node in root.iterfind(path, NS):
        if node.text and node.text.strip():
            yield node, node.text


# (path of the nodes holding code, mode, how SpiffWorkflow reads the text)
_BPMN_TEXTS: list[tuple[str, str, Callable[[str], str | None]]] = [
    (".//bpmn:scriptTask/bpmn:script", "exec", str),
    (".//bpmn:conditionExpression", "eval", strip_wrapper),
    (".//bpmn:conditionalEventDefinition/bpmn:condition", "eval", strip_wrapper),
    *((f".//bpmn:timerEventDefinition/bpmn:{f}", "eval", _timer_code) for f in _TIMER_FIELDS),
    *((f".//bpmn:multiInstanceLoopCharacteristics/bpmn:{f}", "eval", strip_wrapper)
      for f in ("loopCardinality", "completionCondition")),
]


def _camunda_code(root: Any) -> Iterator[Code]:
    for node in root.iter():
        if not isinstance(node.tag, str):
            continue
        for attr in ("expression", "collection"):
            value = node.get(f"{{{CAMUNDA_NS}}}{attr}")
            if value:
                yield _parent_id(node), strip_wrapper(value), "eval"
    for node in root.iter(f"{{{CAMUNDA_NS}}}inputParameter", f"{{{CAMUNDA_NS}}}outputParameter"):
        if node.text and node.text.strip()[:2] in ("${", "#{"):
            yield _parent_id(node), strip_wrapper(node.text), "eval"


def bpmn_code(root: Any) -> Iterator[Code]:
    for path, mode, read in _BPMN_TEXTS:
        for node, text in _texts(root, path):
            code = read(text)
            if code is not None:  # None: a timer literal, which the timer checks judge
                yield _parent_id(node), code, mode
    yield from _camunda_code(root)


def _entry_code(input_expr: str, match: str) -> list[str]:
    """What DMNEngine.evaluate will run for one input entry."""
    match = _QUESTION.sub("dmninputexpr", match)
    if "dmninputexpr" in match:
        return [input_expr, match]
    try:
        ast.parse(match, mode="eval")
    except SyntaxError:
        return [f"{input_expr}{match}"]  # an operator first, as in `>= 240`
    return [f"({input_expr}) == ({match})"]


def _rule_code(rule: Any) -> Iterator[Code]:
    for entry in rule.inputEntries:
        for lhs in entry.lhs:
            if lhs is not None and entry.input.expression:
                for text in _entry_code(entry.input.expression, lhs):
                    yield entry.id, text, "eval"
    for out in rule.outputEntries:
        if out.text:
            yield out.id, out.text, "eval"


def dmn_code(parser: Any) -> Iterator[Code]:
    """Input columns are named by their `<input>` id, entries by their own."""
    parser.parse()
    for table in parser.decision.decisionTables:
        for inp in table.inputs:
            if inp.expression:
                yield inp.id, inp.expression, "eval"
        for rule in table.rules:
            yield from _rule_code(rule)


def problems(codes: Iterator[Code], functions: set[str] | frozenset[str]) -> Iterator[tuple[str | None, str]]:
    known = SANDBOX_FUNCTIONS | set(functions)
    for element_id, text, mode in codes:
        reason = check_code(text, mode, known)
        if reason is not None:
            yield element_id, f"{reason} in {_shorten(text)!r}"


def _shorten(text: str, limit: int = 120) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
