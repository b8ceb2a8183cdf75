"""SLA clocks in business time: the hooks the runtime calls, the clock engine, clock arithmetic,
working calendars and their data, and the report.

Rule: nothing here imports `engine.runtime`; the runtime calls the hooks `hooks.SlaHooks` declares,
passing the operation (seen through `hooks.OperationView`), and `engine.service` hands it the SLA
engine that implements them.
"""
