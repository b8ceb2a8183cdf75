"""Service-task handlers, one module per concern, each function registered by topic.

`ALL_HANDLERS` is the explicit list the engine is given; a topic not in it is refused at deploy.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .documents import document
from .inspection import inspection_plan, inspection_unreturned
from .notify import notify
from .processes import start_process
from .records import replacement_machine, spare_part_request, vendor_case
from .report import fault_report
from .roster import duty_roster
from .service_report import service_report, service_report_plan
from .stock import spare_part_quota, stock_movement

ALL_HANDLERS: list[Callable[..., Any]] = [
    notify,
    duty_roster,
    spare_part_request,
    vendor_case,
    replacement_machine,
    fault_report,
    document,
    start_process,
    stock_movement,
    spare_part_quota,
    service_report_plan,
    service_report,
    inspection_plan,
    inspection_unreturned,
]
