"""Lambda entry point of the state machine's ``Enrich`` task (thin Powertools shell)."""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from etl_handlers import contract as env
from etl_handlers.app import modes
from etl_handlers.app.curate import curated_enabled
from etl_handlers.app.steps import output_format_from_env, schema_from_env
from etl_handlers.aws import observability, s3io
from etl_handlers.aws.jobs import JobStore
from etl_handlers.enricher.logic import enrich

logger = observability.build_logger()
tracer = observability.build_tracer()
metrics = observability.build_metrics()

UNKNOWN_VERSION = "unknown"


@logger.inject_lambda_context(correlation_id_path="jobId", clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(raise_on_empty_metrics=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """``event`` is the execution state; returns the Enrich result (VALID: job SUCCEEDED).

    A big file's parts come with ``mode: part``, its last step with ``mode: reduce``.
    """
    mode = modes.mode_of(event)
    if mode is not None:
        from etl_handlers.app import large_steps  # the big-file path only
    version = os.environ.get(env.PIPELINE_VERSION) or UNKNOWN_VERSION
    if mode == modes.PART:
        return large_steps.enrich_part(
            event,
            store=JobStore(),
            s3=s3io.default_client(),
            schema=schema_from_env(),
            output_format=output_format_from_env(),
            pipeline_version=version,
            metrics=metrics,
            log=logger.info,
            curated=curated_enabled(),
        )
    if mode == modes.REDUCE:
        result = large_steps.reduce_enrich(
            event,
            store=JobStore(),
            s3=s3io.default_client(),
            metrics=metrics,
            log=logger.info,
            curated=curated_enabled(),
        )
        logger.info("enrich finished", outcome=result["outcome"], error=result["error"])
        return result
    result = enrich(
        event,
        store=JobStore(),
        s3=s3io.default_client(),
        schema=schema_from_env(),
        output_format=output_format_from_env(),
        pipeline_version=version,
        metrics=metrics,
        log=logger.info,
        curated=curated_enabled(),
    )
    logger.info(
        "enrich finished", outcome=result["outcome"], rows=result["rows"], error=result["error"]
    )
    return result
