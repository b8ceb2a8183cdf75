"""Running instances: the facade, operations, the acts on instances, handler invocation, timers and
the scheduler.

Rule: nothing here imports the audit package or the composition root (`engine.service`); of the SLA
package only `hooks` (the `SlaHooks` Protocol and the null object), as the SLA engine itself is handed
in by `engine.service`. An operation gets what it uses as `Services`, not the runtime.
"""
