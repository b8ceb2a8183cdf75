"""Storage: ORM models, sessions, prepared statements, the hash chain, the write path, the read side
and migrations.

Rule: the store is the bottom layer. It imports nothing of `engine` but the core modules (errors,
clock, actor, policy), and it writes plain data: what to write is decided above it.
"""
