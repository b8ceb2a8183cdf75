"""SLA clocks in business time: the hooks the runtime calls, the clock engine, clock arithmetic,
working calendars and their data, and the report.

Rule: nothing here imports `engine.runtime`; the runtime calls the hooks `hooks.NoSla` names, and
`engine.service` hands it the SLA engine that implements them.
"""
