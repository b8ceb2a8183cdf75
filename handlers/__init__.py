"""Service-task handlers, registered by topic."""
