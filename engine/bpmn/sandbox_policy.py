"""What diagram code may say, decided when it is compiled: RestrictedPython's policy plus Weibao's.

RestrictedPython already refuses names and attributes starting with `_` and routes attribute access,
subscripts, iteration and in-place operators through guard functions. On top of that, diagram code
gets no imports, no bare `except` (a broken bound must not be swallowed), no classes, none of the
builtins that reach the host, and the operators that can grow a value (`+ * ** << %`), unpacking
and f-string values are routed through guards that charge the run's size budget. Loops, function
bodies and `except` handlers call `_step_()`, which counts steps and checks the deadline.
"""

from __future__ import annotations

import ast
import re
from types import CodeType
from typing import Any, cast

from RestrictedPython.transformer import RestrictingNodeTransformer

MAX_SOURCE_CHARS = 20_000
MAX_FORMAT_WIDTH = 1_000

# Refused wherever they appear. Other builtins the sandbox does not offer (`type`, `id`, `input`, …)
# stay usable as names of data fields; calling them is an unknown function at deploy.
DENIED_NAMES = frozenset({
    "open", "eval", "exec", "compile", "globals", "locals", "vars", "getattr", "setattr", "delattr",
    "hasattr", "breakpoint", "print", "printed", "exit", "quit",
})
# Frame, code and generator internals lead back to the host's globals without any underscore.
DENIED_ATTRIBUTE = re.compile(r"^(gi_|f_|co_|tb_|cr_|ag_|func_|im_)|^(format|format_map|mro)$")
GUARDED_OPS = {ast.Add: "+", ast.Mult: "*", ast.Pow: "**", ast.LShift: "<<", ast.Mod: "%"}


class ExpressionRefused(ValueError):
    """Diagram code that breaks a rule; `args[0]` says which, in words a process owner can act on."""


def _call(name: str, *args: ast.expr) -> ast.Call:
    return ast.Call(func=ast.Name(name, ast.Load()), args=list(args), keywords=[])


# Diagrams written before the sandbox say `from datetime import date, timedelta`; those classes are
# offered anyway, so the statement binds them and imports nothing.
OFFERED_MODULES = {"datetime": frozenset({"date", "datetime", "timedelta"})}


class WeibaoPolicy(RestrictingNodeTransformer):
    def visit_Import(self, node: Any) -> Any:
        self.error(node, "imports are not allowed; use the functions the engine offers")
        return node

    def visit_ImportFrom(self, node: ast.ImportFrom) -> Any:
        offered = OFFERED_MODULES.get(node.module or "", frozenset())
        if node.level or any(a.name not in offered for a in node.names):
            return self.visit_Import(node)
        bindings = [ast.Assign(targets=[ast.Name(a.asname or a.name, ast.Store())],
                               value=ast.Name(a.name, ast.Load())) for a in node.names]
        for binding in bindings:
            ast.copy_location(binding, node)
            self.visit(binding)
        return bindings

    def visit_ClassDef(self, node: Any) -> Any:
        self.error(node, "class definitions are not allowed")
        return node

    def visit_Name(self, node: ast.Name) -> Any:
        if node.id in DENIED_NAMES:
            self.error(node, f"name {node.id!r} is not allowed")
            return node
        return super().visit_Name(node)

    def visit_Attribute(self, node: ast.Attribute) -> Any:
        if DENIED_ATTRIBUTE.search(node.attr):
            self.error(node, f"attribute {node.attr!r} is not allowed")
            return node
        return super().visit_Attribute(node)

    def visit_ExceptHandler(self, original: ast.ExceptHandler) -> Any:
        if original.type is None:
            self.error(original, "a bare 'except:' is not allowed; name the exception")
        node: Any = super().visit_ExceptHandler(original)
        node.body.insert(0, ast.Expr(_call("_step_")))
        return node

    def visit_While(self, original: ast.While) -> Any:
        node: Any = super().visit_While(original)
        node.body.insert(0, ast.Expr(_call("_step_")))
        return node

    def visit_FunctionDef(self, original: ast.FunctionDef) -> Any:
        node: Any = super().visit_FunctionDef(original)
        node.body.insert(0, ast.Expr(_call("_step_")))
        return node

    def visit_Lambda(self, original: ast.Lambda) -> Any:
        node: Any = super().visit_Lambda(original)
        node.body = ast.BoolOp(op=ast.Or(), values=[_call("_step_"), node.body])
        return node

    def visit_BinOp(self, original: ast.BinOp) -> Any:
        node: Any = super().visit_BinOp(original)
        op = GUARDED_OPS.get(type(node.op))
        if op is None:
            return node
        return _call("_binop_", ast.Constant(op), node.left, node.right)

    def visit_Starred(self, original: ast.Starred) -> Any:
        node: Any = super().visit_Starred(original)
        node.value = _call("_items_", node.value)
        return node

    def visit_Dict(self, original: ast.Dict) -> Any:
        node: Any = super().visit_Dict(original)
        node.values = [_call("_items_", v) if k is None else v
                       for k, v in zip(node.keys, node.values, strict=True)]
        return node

    def visit_JoinedStr(self, original: ast.JoinedStr) -> Any:
        for part in original.values:
            if isinstance(part, ast.FormattedValue) and part.format_spec is not None:
                self._check_spec(part)
        node: Any = super().visit_JoinedStr(original)
        for part in node.values:
            if isinstance(part, ast.FormattedValue):
                part.value = _call("_sized_", part.value)
        return node

    def _check_spec(self, part: ast.FormattedValue) -> None:
        spec = part.format_spec
        texts = [v.value for v in getattr(spec, "values", []) if isinstance(v, ast.Constant)]
        if len(texts) != len(getattr(spec, "values", [None])):
            self.error(part, "a format spec must be written out, not computed")
            return
        widths = [int(w) for w in re.findall(r"\d+", "".join(str(t) for t in texts))]
        if any(w > MAX_FORMAT_WIDTH for w in widths):
            self.error(part, f"a format width over {MAX_FORMAT_WIDTH} is not allowed")


def _message(errors: tuple[str, ...] | list[str]) -> str:
    return "; ".join(errors)


_cache: dict[tuple[str, str], CodeType] = {}
_CACHE_LIMIT = 20_000


def compile_code(text: str, mode: str) -> CodeType:
    """Restricted code for `text` ('eval' or 'exec'), compiled once per text: gateway conditions run
    on every step. SyntaxError for text that is not Python, ExpressionRefused for what the rules deny."""
    key = (text, mode)
    cached = _cache.get(key)
    if cached is not None:
        return cached
    if len(text) > MAX_SOURCE_CHARS:
        raise ExpressionRefused(f"longer than {MAX_SOURCE_CHARS} characters")
    tree = ast.parse(text, "<string>", mode)  # SyntaxError apart, so callers tell syntax from policy
    errors: list[str] = []
    WeibaoPolicy(errors, [], {}).visit(tree)
    if errors:
        raise ExpressionRefused(_message(errors))
    # "<string>" is the file name SpiffWorkflow looks for to name the failing line of a script
    code: CodeType = compile(cast(Any, ast.fix_missing_locations(tree)), "<string>", mode)
    if len(_cache) >= _CACHE_LIMIT:
        _cache.clear()  # texts come from deployed diagrams only; a full cache means many versions
    _cache[key] = code
    return code


def _bound_names(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.FunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
    return names


def unknown_calls(text: str, mode: str, known: set[str] | frozenset[str]) -> list[str]:
    """Functions called by name that neither the sandbox, the engine nor the code itself defines:
    task data is JSON, so a name that is called must come from one of those."""
    tree = ast.parse(text, mode=mode)
    bound = _bound_names(tree)
    unknown = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            name = node.func.id
            if name not in known and name not in bound and name not in unknown:
                unknown.append(name)
    return unknown


def check_code(text: str, mode: str, known: set[str] | frozenset[str]) -> str | None:
    """None when `text` compiles under the rules and calls only known functions, else the reason."""
    try:
        compile_code(text, mode)
    except SyntaxError as exc:
        where = f" (line {exc.lineno}, column {exc.offset})" if exc.lineno else ""
        return f"syntax error{where}: {exc.msg}"
    except ExpressionRefused as exc:
        return str(exc)
    names = unknown_calls(text, mode, known)
    if names:
        return "unknown function(s): " + ", ".join(repr(n) for n in names)
    return None
