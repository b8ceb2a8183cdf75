"""Storage: ORM models, sessions, prepared statements, the hash chain, the write path, the read side
and migrations.

Rule: the store is the bottom layer of the engine's packages. It imports nothing of `engine` but the
core modules (errors, clock, actor); what an operation writes is computed in `engine.runtime`.
"""
