"""No seam typed `Any`: a parameter, return or attribute annotated with a bare `Any` fails the check.

Types inside containers (`dict[str, Any]` for JSON data, whose shape is the diagram's) are allowed. A
bare `Any` that cannot be avoided says why on its line or the line above, with a comment starting
`# Any:`. Exempt: `engine/bpmn/`, the SpiffWorkflow glue, whose library objects are untyped, and
`engine/store/prepared.py`, which works on the DBAPI's untyped cursors and rows.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOTS = ("engine",)
EXEMPT = ("engine/bpmn/", "engine/store/prepared.py", "engine/store/migrations/")
BARE = {"Any", "Any | None", "None | Any", "Optional[Any]"}


def _bare(annotation: ast.expr | None) -> bool:
    return annotation is not None and ast.unparse(annotation) in BARE


def _explained(lines: list[str], lineno: int) -> bool:
    return any("# Any:" in lines[i] for i in (lineno - 1, lineno - 2) if 0 <= i < len(lines))


def _annotated(tree: ast.AST) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            args = [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]
            found += [(a.lineno, f"{node.name}({a.arg})") for a in args if _bare(a.annotation)]
            if _bare(node.returns):
                found.append((node.lineno, f"{node.name} -> Any"))
        elif isinstance(node, ast.AnnAssign) and _bare(node.annotation):
            found.append((node.lineno, ast.unparse(node.target)))
    return found


def check() -> list[str]:
    problems: list[str] = []
    for root in ROOTS:
        for path in sorted(Path(root).rglob("*.py")):
            if str(path).startswith(EXEMPT):
                continue
            text = path.read_text()
            lines = text.splitlines()
            problems += [f"{path}:{line}: {what} is typed Any; name the type, or say why (# Any: …)"
                         for line, what in _annotated(ast.parse(text)) if not _explained(lines, line)]
    return problems


def main() -> int:
    problems = check()
    print("\n".join(problems) if problems else "seams: no bare Any outside the SpiffWorkflow glue")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
