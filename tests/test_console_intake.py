"""The report form's hotline fields in the console: a date and a time each, in Beijing time, and the
engine's refusal of an answer before the call or a call in the future shown at the field, in Chinese.
"""

from __future__ import annotations

import re
from typing import Any

from .test_console import FAULT, console_fixtures, signed_in

service, app = console_fixtures("console_intake", {"service_desk": (["service_desk"], [])})


def test_the_report_form_asks_for_the_calls_arrival_and_answer_with_their_time(app: Any) -> None:
    page = signed_in(app, "service_desk").get("/start/fault_repair").get_data(as_text=True)
    for field, label in (("call_received_at", "热线来电时间"), ("call_answered_at", "热线接通时间")):
        assert re.search(rf'<input id="f-{field}" name="{field}" type="datetime-local" step="1"', page), field
        assert f'<label for="f-{field}">{label}</label>' in page
    assert 'name="site_distance_km" inputmode="numeric"' in page  # the other fields as they were


def test_call_times_out_of_order_or_ahead_of_now_are_refused_at_the_field(app: Any, service: Any) -> None:
    desk = signed_in(app, "service_desk")
    desk.get("/start/fault_repair")
    # the service's clock stands at 2026-03-02 09:00 Beijing time; the console's fields carry no offset
    times = {"call_received_at": "2026-03-02T08:50:00", "call_answered_at": "2026-03-02T08:49:59"}
    refused = desk.post("/start/fault_repair", {**FAULT, **times})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert 'id="f-call_answered_at-error">不得早于热线来电时间' in page
    assert 'value="2026-03-02T08:49:59"' in page  # what was typed is kept
    desk.get("/start/fault_repair")
    ahead = desk.post("/start/fault_repair", {**FAULT, "call_received_at": "2026-03-02T09:10:00"})
    assert ahead.status_code == 422
    assert 'id="f-call_received_at-error">不得晚于当前时间' in ahead.get_data(as_text=True)
    desk.get("/start/fault_repair")
    kept = desk.post("/start/fault_repair", {**FAULT, "call_received_at": "2026-03-02T08:50:00",
                                             "call_answered_at": "2026-03-02T08:50:20"})
    assert kept.status_code == 302, kept.get_data(as_text=True)
