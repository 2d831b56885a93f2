"""The state machine's Enrich task: metadata, reconciliation, and the job's success."""
