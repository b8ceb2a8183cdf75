"""Storage: ORM models, sessions, prepared statements, the hash chain, the write path, the read side
and migrations.

Rule: the store is the bottom layer of the engine's packages. It imports nothing of `engine` but the
core modules (errors, clock, actor, settings, policy); what an operation writes is computed in
`engine.runtime` and written by `store.write`.
"""
