"""This release against another one over HTTP, on SQLite with one client, in alternating slices.

Both servers run at once on loopback, each on its own database; the client measures one for a slice,
then the other, so a slower moment of the machine falls on both alike. The other release runs from a
git worktree of REV, put first on PYTHONPATH of its server, with this checkout's installed packages.
Usage: python -m bench.ab REV [slices] [seconds-per-slice]
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from bench.http_throughput import CALLS, _serve, run

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    rev = sys.argv[1] if len(sys.argv) > 1 else "HEAD~1"
    slices = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 1.0
    with tempfile.TemporaryDirectory() as tmp:
        other = Path(tmp) / "other"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(other), rev],
                       check=True, capture_output=True)
        procs = []
        try:
            servers = {}
            for label, env in (("this", None), (rev, {"PYTHONPATH": str(other)})):
                work = Path(tmp) / f"w-{len(servers)}"
                work.mkdir()
                proc, base, token = _serve(f"sqlite:///{work}/bench.sqlite3", work, env_extra=env)
                procs.append(proc)
                servers[label] = (base, token)
            totals = {label: [0, 0.0] for label in servers}
            for base, token in servers.values():
                run(base, token, 1, seconds, {c: [] for c in CALLS})  # warm-up, not counted
            for _ in range(slices):
                for label, (base, token) in servers.items():
                    done, elapsed = run(base, token, 1, seconds, {c: [] for c in CALLS})
                    totals[label][0] += done
                    totals[label][1] += elapsed
            rates = {label: done / elapsed for label, (done, elapsed) in totals.items()}
            mine, theirs = rates["this"], rates[rev]
            print(f"this release {mine:.1f} instances/s, {rev} {theirs:.1f} instances/s: "
                  f"{mine / theirs:.2f}x ({slices} alternating slices of {seconds:g} s, SQLite, 1 client)")
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait(timeout=10)
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(other)],
                           capture_output=True)


if __name__ == "__main__":
    main()
