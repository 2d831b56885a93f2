"""Lambda entry point of the daily quality check (EventBridge schedule)."""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from etl_handlers import contract as env
from etl_handlers.aws import observability, s3io
from etl_handlers.aws.jobs import JobStore
from etl_handlers.quality_check.logic import run_quality_check, settings_from

logger = observability.build_logger()
tracer = observability.build_tracer()
metrics = observability.build_metrics()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(raise_on_empty_metrics=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """``event``: the scheduled event (``windowHours`` / ``stuckAfterMinutes`` override the
    settings). Returns the summary with the report's key and the three counts."""
    summary = run_quality_check(
        store=JobStore(),
        s3=s3io.default_client(),
        bucket=os.environ[env.DATA_BUCKET],
        settings=settings_from(event),
        metrics=metrics,
    )
    logger.info("quality check finished", **summary)
    return summary
