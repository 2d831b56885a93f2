"""The state machine's Transform task: normalized records to ``processed/``."""
