"""SpiffWorkflow glue: parsing, patches, the diagram model, forms, validation and deployed definitions.

Rule: this package knows BPMN and SpiffWorkflow, and stores definitions through `engine.store`; it
knows nothing of running instances (`engine.runtime`), SLA clocks or audit.
"""
