"""Audit: verifying hash chains, exporting and checking bundles, and deterministic replay.

Rule: audit reads what the runtime wrote and re-runs it; nothing below it imports this package.
"""
