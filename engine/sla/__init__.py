"""SLA clocks in business time: the hooks the runtime calls, the clock engine, clock arithmetic,
working calendars and their data, and the report.

Rule: the runtime reaches this package only through the `SlaHooks` Protocol in `hooks`; nothing here
imports `engine.runtime`.
"""
