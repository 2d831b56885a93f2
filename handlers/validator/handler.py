"""Lambda entry point of the state machine's ``Validate`` task (thin Powertools shell)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from shared import large_steps, observability, s3io
from shared.jobs import JobStore
from shared.steps import max_reject_rate_from_env, schema_from_env

from validator.logic import validate

logger = observability.build_logger()
tracer = observability.build_tracer()
metrics = observability.build_metrics()


@logger.inject_lambda_context(correlation_id_path="jobId", clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(raise_on_empty_metrics=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """``event`` is the execution state (the trigger's input); returns the Validate result.

    Big files come as a ``preflight``, as batches, and as a ``reduce`` (shared/large_steps).
    """
    mode = large_steps.mode_of(event)
    if mode == large_steps.BATCH:
        return large_steps.validate_batch(event, s3=s3io.default_client(), schema=schema_from_env())
    if mode == large_steps.PREFLIGHT:
        result = large_steps.preflight(
            event,
            store=JobStore(),
            s3=s3io.default_client(),
            schema=schema_from_env(),
            log=logger.info,
        )
    else:
        step = large_steps.reduce_validation if mode == large_steps.REDUCE else validate
        result = step(
            event,
            store=JobStore(),
            s3=s3io.default_client(),
            schema=schema_from_env(),
            max_reject_rate=max_reject_rate_from_env(),
            metrics=metrics,
            log=logger.info,
        )
    logger.info(
        "validate finished", outcome=result["outcome"], rows=result["rows"], error=result["error"]
    )
    return result
