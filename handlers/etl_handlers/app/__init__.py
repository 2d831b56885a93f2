"""Use cases: the step shell, ingest, the big-file steps, the failure copy."""
