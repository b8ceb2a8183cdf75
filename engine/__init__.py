"""Weibao engine: BPMN execution on SpiffWorkflow with durable storage, SLA clocks and audit."""
