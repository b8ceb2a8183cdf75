"""Running instances: the facade, operations, the acts on instances, handler invocation, timers and
the scheduler.

Rule: the seams below (SLA hooks, the handler invoker, settings) are narrow Protocols; nothing here
imports the audit package or the composition root (`engine.service`).
"""
