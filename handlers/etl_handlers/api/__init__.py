"""The control API: job status, manual trigger, job listing (REST API proxy integration)."""
