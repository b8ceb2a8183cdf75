"""HTTP API (Flask)."""
