"""`make mutate`: the mutation score of each business-critical module, with mutmut 3.

The modules are `only_mutate` in pyproject.toml's [tool.mutmut]. mutmut runs, for each mutant, only the
tests that cover the mutated function; this script then reads its results (mutants/**/*.py.meta) and
prints killed / survived / equivalent and the score per module. A module under the threshold fails.

Equivalent mutants (no test can tell them from the original) are listed with their reason in
`lint/mutants_equivalent.toml` and left out of the score; an entry that is killed or no longer exists
is reported, so the list cannot go stale silently.

    python lint/mutation.py                      every module
    python lint/mutation.py engine/bpmn/forms.py one module
    python lint/mutation.py --changed origin/main the modules a change touches (CI)
    python lint/mutation.py --changed REF --budget 1200   …within CI's time: modules are run one at
                                                 a time; those the budget does not reach are named,
                                                 not judged
    python lint/mutation.py --pending            after adding tests: re-run what survived
    python lint/mutation.py --stale --budget 1200    the modules whose text changed since they were
                                                 last measured in full (lint/mutation_measured.toml):
                                                 what CI runs, needing no git history
    python lint/mutation.py --record             also keep each complete module's score in that file
    python lint/mutation.py --table              print the README's table from that file
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

try:
    from lint import mutation_record
except ImportError:  # run as a script: lint/ is on the path, not the repository
    import mutation_record  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parent.parent
EQUIVALENT = Path(__file__).with_name("mutants_equivalent.toml")
KILLED = {1, 3, 36, 37, -24, 24, 152, 255}  # a failing test, a timeout, or the type check
FAILED = {1, 3}  # a test failed: proof that a mutant listed as equivalent is not (a timeout is not)
THRESHOLD = 85.0
STARTED = "mutants/weibao-started.json"  # under ROOT


def modules() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
    return list(config["only_mutate"])


def changed_modules(ref: str) -> list[str]:
    out = subprocess.run(["git", "diff", "--name-only", f"{ref}...HEAD"], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout.split()
    return [m for m in modules() if m in out]


def equivalent() -> dict[str, str]:
    if not EQUIVALENT.exists():
        return {}
    return {name: str(reason) for name, reason in tomllib.loads(EQUIVALENT.read_text()).items()}


def run_mutmut(paths: list[str], pending: bool, timeout: float | None = None) -> None:
    """Every mutant of `paths` again, or with `pending` only those the last run did not kill (after
    adding tests, that is what can change)."""
    names: list[str] = []
    listed = equivalent()
    for path in paths:
        codes = results(path) if pending else {}
        if codes:
            names += [n for n, c in codes.items() if c not in KILLED and n not in listed]
        else:
            names.append(path.removesuffix(".py").replace("/", ".") + ".*")
    if names:
        note_started(paths)
        subprocess.run([str(ROOT / ".venv" / "bin" / "mutmut"), "run", *names], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL, timeout=timeout)


def note_started(paths: list[str]) -> None:
    """The hash of each module's text as its run begins, beside mutmut's results, so that recording
    later (`--report-only --record`) knows which text was measured."""
    started = ROOT / STARTED
    known = dict(json.loads(started.read_text())) if started.exists() else {}
    known.update({path: mutation_record.digest(ROOT, path) for path in paths})
    started.parent.mkdir(parents=True, exist_ok=True)
    started.write_text(json.dumps(known, indent=1, sort_keys=True))


def run_within(paths: list[str], budget: float) -> list[str]:
    """Run one module at a time while the budget lasts; the modules measured in full."""
    started, done = time.monotonic(), []
    for path in paths:
        left = budget - (time.monotonic() - started)
        if left <= 0:
            break
        try:
            run_mutmut([path], pending=False, timeout=left)
        except subprocess.TimeoutExpired:
            break
        done.append(path)
    for path in paths[len(done):]:
        print(f"{path}: not measured within the {budget:g} s budget (run `make mutate` for it)")
    return done


def results(path: str) -> dict[str, int | None]:
    meta = ROOT / "mutants" / f"{path}.meta"
    if not meta.exists():
        return {}
    return dict(json.loads(meta.read_text())["exit_code_by_key"])


@dataclass
class Score:
    killed: int
    survived: list[str]
    equivalent: int
    problems: list[str]
    unrun: int = 0

    @property
    def percent(self) -> float:
        counted = self.killed + len(self.survived)
        return 100.0 * self.killed / counted if counted else 100.0


def score(path: str, listed: dict[str, str]) -> Score:
    codes = results(path)
    prefix = path.removesuffix(".py").replace("/", ".") + "."
    problems = [f"{name}: listed as equivalent but killed" for name, code in codes.items()
                if name in listed and code in FAILED]
    problems += [f"{name}: listed as equivalent but no such mutant" for name in listed
                 if name.startswith(prefix) and name not in codes]
    counted = {n: c for n, c in codes.items() if n not in listed and c is not None}
    return Score(killed=sum(1 for c in counted.values() if c in KILLED),
                 survived=sorted(n for n, c in counted.items() if c not in KILLED),
                 equivalent=sum(1 for n in codes if n in listed), problems=problems,
                 unrun=sum(1 for n, c in codes.items() if c is None and n not in listed))


def keep(paths: list[str], measured: dict[str, str] | None = None) -> None:
    """Record the modules whose every mutant has run (a partial run proves nothing about the rest).
    `measured`: each module's hash when the run began; a module edited during the run is not recorded,
    since its score belongs to the text before the edit."""
    listed = equivalent()
    complete = {}
    if measured is None:
        started = ROOT / STARTED
        measured = dict(json.loads(started.read_text())) if started.exists() else {}
    for path in paths:
        found = score(path, listed)
        if measured.get(path) != mutation_record.digest(ROOT, path):
            print(f"{path}: changed while it was measured, not recorded")
            continue
        if results(path) and not found.unrun:
            complete[path] = (found.killed, len(found.survived), found.equivalent)
    mutation_record.record(ROOT, complete)


def report(paths: list[str], threshold: float, show: bool) -> bool:
    listed = equivalent()
    ok = True
    print(f"{'module':32} {'killed':>7} {'survived':>9} {'equivalent':>11} {'score':>7}")
    for path in paths:
        found = score(path, listed)
        flag = "" if found.percent >= threshold else f"  under {threshold:g} %"
        if found.unrun or not results(path):
            flag += f"  partial: {found.unrun} not run" if found.unrun else "  not run"
        print(f"{path:32} {found.killed:7} {len(found.survived):9} {found.equivalent:11} "
              f"{found.percent:6.1f}%{flag}")
        for line in found.problems + (found.survived if show else []):
            print(f"    {line}")
        ok = ok and found.percent >= threshold and not found.problems and not found.unrun
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("paths", nargs="*", help="modules to mutate (default: all of only_mutate)")
    parser.add_argument("--changed", metavar="REF", help="only the modules changed since REF")
    parser.add_argument("--threshold", type=float, default=THRESHOLD)
    parser.add_argument("--report-only", action="store_true", help="read the last run, do not run")
    parser.add_argument("--pending", action="store_true",
                        help="run only the mutants the last run did not kill")
    parser.add_argument("--survivors", action="store_true", help="name each surviving mutant")
    parser.add_argument("--budget", type=float, help="seconds to spend; modules beyond it are not judged")
    parser.add_argument("--stale", action="store_true", help="only the modules changed since measured")
    parser.add_argument("--record", action="store_true", help="keep complete modules' scores")
    parser.add_argument("--table", action="store_true", help="print the README's table and stop")
    args = parser.parse_args(argv)
    if args.table:
        print(mutation_record.table(modules()))
        return 0
    paths = args.paths or _selected(args)
    if not paths:
        print("no mutation-tested module changed since it was measured")
        return 0
    measured = None if args.report_only else {path: mutation_record.digest(ROOT, path) for path in paths}
    if args.budget is not None and not args.report_only:
        paths = run_within(paths, args.budget)
        if not paths:
            return 0
    elif not args.report_only:
        run_mutmut(paths, args.pending)
    ok = report(paths, args.threshold, args.survivors)
    if args.record:
        keep(paths, measured)
    return 0 if ok else 1


def _selected(args: argparse.Namespace) -> list[str]:
    if args.changed:
        return changed_modules(args.changed)
    if args.stale:
        # Smallest first: within CI's budget, judge as many changed modules as possible.
        return sorted(mutation_record.stale(ROOT, modules()), key=lambda m: (ROOT / m).stat().st_size)
    return modules()


if __name__ == "__main__":
    sys.exit(main())
