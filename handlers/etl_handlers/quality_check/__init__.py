"""The daily quality check: failed, stuck and unreconciled jobs, as metrics and a report."""
