"""Timer lag: N timers due within the same minute; prints p50/p99 lag between due and fired.

One scheduler in this process on the system clock, SQLite by default.
Usage: python -m bench.timer_lag [N] [database-url]
"""

from __future__ import annotations

import logging
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from engine.service import build_service
from engine.store.models import EventRow

BPMN = Path(__file__).resolve().parent / "data" / "wait_until.bpmn"


def main() -> None:
    logging.getLogger("apscheduler").setLevel(logging.ERROR)  # skipped overlapping ticks are expected
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    url = sys.argv[2] if len(sys.argv) > 2 else f"sqlite:///{tempfile.mkdtemp()}/lag.sqlite3"
    service = build_service(url, handlers=[])
    service.runtime.deploy([(BPMN.name, BPMN.read_bytes())])
    t0 = time.perf_counter()
    # Spread over one minute, starting once every instance is created (creation is timed first).
    base = service.clock.now() + timedelta(seconds=max(30.0, n * 0.02))
    for i in range(n):
        due = base + timedelta(seconds=60 * i / n)
        service.runtime.start("wait_until", {"due_at": due.isoformat()}, "bench")
    created = time.perf_counter() - t0
    print(f"{n} instances created in {created:.1f} s; timers due from {base.isoformat()} over one minute")
    service.start_scheduler(interval=0.2)
    while True:
        with service.store.read() as s:
            fired = s.scalar(select(func.count()).select_from(EventRow).where(EventRow.type == "timer_fired"))
        if fired >= n:
            break
        time.sleep(1)
    service.close()
    with service.store.read() as s:
        rows = s.execute(select(EventRow.at, EventRow.data).where(EventRow.type == "timer_fired")).all()
    lags = sorted((at - datetime.fromisoformat(data["due_at"])).total_seconds() for at, data in rows)
    p99 = lags[int(len(lags) * 0.99) - 1]
    print(f"database: {service.store.engine.dialect.name}; timers fired: {len(lags)}")
    print(
        f"lag p50 {statistics.median(lags):.3f} s, p99 {p99:.3f} s, max {lags[-1]:.3f} s (target p99 <= 1 s)"
    )


if __name__ == "__main__":
    main()
