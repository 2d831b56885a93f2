"""S3 ``Object Created`` (EventBridge) -> job record + state machine execution."""
