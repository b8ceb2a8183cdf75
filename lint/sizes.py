"""Size limits of the code base: modules of at most 300 lines, functions of at most 40.

Known exceptions are listed in `lint/sizes_baseline.txt` with the size they had when listed; such an
entry may shrink but never grow, and a new module or function over the limit fails the check. Run
with `--write-baseline` to list the current exceptions (after a split, to drop the ones now fixed).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

MODULE_LINES, FUNCTION_LINES = 300, 40
ROOTS = ("engine", "api", "handlers")
BASELINE = Path(__file__).with_name("sizes_baseline.txt")


def _functions(tree: ast.AST, prefix: str = "") -> list[tuple[str, int]]:
    found: list[tuple[str, int]] = []
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            found.append((prefix + node.name, (node.end_lineno or node.lineno) - node.lineno + 1))
            found += _functions(node, f"{prefix}{node.name}.")
        elif isinstance(node, ast.ClassDef):
            found += _functions(node, f"{prefix}{node.name}.")
    return found


def measure() -> dict[str, int]:
    over: dict[str, int] = {}
    for root in ROOTS:
        for path in sorted(Path(root).rglob("*.py")):
            if "migrations" in path.parts:
                continue  # generated revisions
            text = path.read_text()
            lines = len(text.splitlines())
            if lines > MODULE_LINES:
                over[str(path)] = lines
            for name, length in _functions(ast.parse(text)):
                if length > FUNCTION_LINES:
                    over[f"{path}::{name}"] = length
    return over


def main(argv: list[str]) -> int:
    over = measure()
    if "--write-baseline" in argv:
        BASELINE.write_text("".join(f"{key} {size}\n" for key, size in sorted(over.items())))
        return 0
    known = dict(line.rsplit(" ", 1) for line in BASELINE.read_text().splitlines() if line.strip())
    failures = [f"{key}: {size} lines (limit {MODULE_LINES if '::' not in key else FUNCTION_LINES})"
                for key, size in over.items() if key not in known or size > int(known[key])]
    for failure in failures:
        print(failure)
    print(f"sizes: {len(over)} over the limits, {len(known)} listed in {BASELINE.name}, {len(failures)} new")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
