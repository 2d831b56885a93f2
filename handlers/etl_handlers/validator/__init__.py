"""The state machine's Validate task: schema checks, valid/rejected split, control totals."""
