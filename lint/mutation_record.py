"""What the last full mutation run of each module measured, kept in the repository.

`lint/mutation_measured.toml` holds, per module, the score of its last complete run and the SHA-256 of
the module's text at that time. A clone needs no git history to know which modules changed since they
were measured: a module whose text no longer has the recorded hash (or that was never measured) is
stale, and CI measures the stale ones again (`lint/mutation.py --stale`). `make mutate` records a module
once every one of its mutants has run.
"""

from __future__ import annotations

import datetime
import hashlib
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path

RECORD = Path(__file__).with_name("mutation_measured.toml")
HEADER = ("# Written by `make mutate` (lint/mutation.py --record): each module's last complete mutation run\n"
          "# and the SHA-256 of the module's text then. CI re-measures a module whose text changed since.\n")


@dataclass(frozen=True)
class Measured:
    sha256: str
    killed: int
    survived: int
    equivalent: int
    measured: str  # ISO date
    commit: str

    @property
    def percent(self) -> float:
        counted = self.killed + self.survived
        return 100.0 * self.killed / counted if counted else 100.0


def digest(root: Path, module: str) -> str:
    return hashlib.sha256((root / module).read_bytes()).hexdigest()


def load(path: Path | None = None) -> dict[str, Measured]:
    path = path or RECORD
    if not path.exists():
        return {}
    return {module: Measured(**fields) for module, fields in tomllib.loads(path.read_text()).items()}


def stale(root: Path, modules: list[str], path: Path | None = None) -> list[str]:
    """The modules whose text is not the text that was measured."""
    known = load(path)
    return [m for m in modules if m not in known or known[m].sha256 != digest(root, m)]


def _commit(root: Path) -> str:
    out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True)
    return out.stdout.strip() or "unknown"


def record(root: Path, scores: dict[str, tuple[int, int, int]], path: Path | None = None,
           today: datetime.date | None = None) -> None:
    """Keep (killed, survived, equivalent) of each module just measured in full; others stay."""
    path = path or RECORD
    known = load(path)
    day = (today or datetime.date.today()).isoformat()
    for module, (killed, survived, equivalent) in scores.items():
        known[module] = Measured(digest(root, module), killed, survived, equivalent, day, _commit(root))
    lines = [HEADER]
    for module in sorted(known):
        m = known[module]
        lines.append(f'\n["{module}"]\nsha256 = "{m.sha256}"\nkilled = {m.killed}\nsurvived = {m.survived}\n'
                     f'equivalent = {m.equivalent}\nmeasured = "{m.measured}"\ncommit = "{m.commit}"\n')
    path.write_text("".join(lines))


def table(modules: list[str], path: Path | None = None) -> str:
    """The README's table, from the record (a module never measured in full says so)."""
    known = load(path)
    rows = ["| module | killed | survived | equivalent | score | measured |", "|---|---|---|---|---|---|"]
    for module in modules:
        m = known.get(module)
        if m is None:
            rows.append(f"| `{module}` | | | | not measured in full yet | |")
        else:
            rows.append(f"| `{module}` | {m.killed} | {m.survived} | {m.equivalent} | {m.percent:.1f} % "
                        f"| {m.measured} ({m.commit}) |")
    return "\n".join(rows)
