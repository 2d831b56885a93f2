"""Lambda entry point of the state machine's ``Transform`` task (thin Powertools shell)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from etl_handlers.app import modes
from etl_handlers.app.steps import output_format_from_env, schema_from_env
from etl_handlers.aws import observability, s3io
from etl_handlers.aws.jobs import JobStore
from etl_handlers.transformer.logic import transform

logger = observability.build_logger()
tracer = observability.build_tracer()
metrics = observability.build_metrics()


@logger.inject_lambda_context(correlation_id_path="jobId", clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(raise_on_empty_metrics=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """``event`` is the execution state; returns the Transform result (or, for a big file's
    part, what the part's enrich needs)."""
    if modes.mode_of(event) == modes.PART:
        from etl_handlers.app import large_steps  # the big-file path only

        return large_steps.transform_part(
            event,
            store=JobStore(),
            s3=s3io.default_client(),
            schema=schema_from_env(),
            output_format=output_format_from_env(),
            metrics=metrics,
            log=logger.info,
        )
    result = transform(
        event,
        store=JobStore(),
        s3=s3io.default_client(),
        schema=schema_from_env(),
        output_format=output_format_from_env(),
        metrics=metrics,
        log=logger.info,
    )
    logger.info(
        "transform finished", outcome=result["outcome"], rows=result["rows"], error=result["error"]
    )
    return result
