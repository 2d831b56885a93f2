"""Lambda entry point of the state machine's ``Validate`` task (thin Powertools shell)."""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from etl_handlers.app import intake, modes
from etl_handlers.app.steps import max_reject_rate_from_env, schema_from_env
from etl_handlers.aws import observability, s3io
from etl_handlers.aws.jobs import JobStore
from etl_handlers.aws.seen_ids import seen_id_store_from_env
from etl_handlers.contract import ACCEPTED_FORMATS
from etl_handlers.core.statements import parse_formats
from etl_handlers.validator.logic import validate

logger = observability.build_logger()
tracer = observability.build_tracer()
metrics = observability.build_metrics()


@logger.inject_lambda_context(correlation_id_path="jobId", clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(raise_on_empty_metrics=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """``event`` is the execution state (the trigger's input); returns the Validate result.

    Big files come as a ``preflight``, as batches, and as a ``reduce`` (app/large_steps);
    the failure branch's copy of a source above 5 GiB as ``copy-failed`` (app/failed_copy).
    """
    mode = modes.mode_of(event)
    if mode == modes.COPY_FAILED:  # the failure branch's copy of a big source
        from etl_handlers.app.failed_copy import copy_to_failed

        copied = copy_to_failed(event, s3=s3io.default_client())
        logger.info("source copied to failed/", **copied)
        return copied
    if mode == modes.MANIFEST:  # the state machine's wait for the sender's manifest
        return intake.check_manifest(event, s3=s3io.default_client(), log=logger.info)
    store, s3, schema = JobStore(), s3io.default_client(), schema_from_env()
    if mode is None:
        result = validate(
            event,
            store=store,
            s3=s3,
            schema=schema,
            max_reject_rate=max_reject_rate_from_env(),
            metrics=metrics,
            log=logger.info,
            seen_ids=seen_id_store_from_env(store),
            manifest_required=intake.manifest_required_from_env(),
            duplicate_files=intake.duplicate_files_from_env(),
            input_formats=parse_formats(os.environ.get(ACCEPTED_FORMATS)),
        )
    else:
        from etl_handlers.app import large_steps  # the big-file path only

        if mode == modes.BATCH:
            return large_steps.validate_batch(
                event,
                s3=s3,
                schema=schema,
                metrics=metrics,
                log=logger.info,
                seen_ids=seen_id_store_from_env(store),
            )
        if mode == modes.PREFLIGHT:
            result = large_steps.preflight(
                event,
                store=store,
                s3=s3,
                schema=schema,
                log=logger.info,
                manifest_required=intake.manifest_required_from_env(),
                duplicate_files=intake.duplicate_files_from_env(),
            )
        else:
            result = large_steps.reduce_validation(
                event,
                store=store,
                s3=s3,
                schema=schema,
                max_reject_rate=max_reject_rate_from_env(),
                metrics=metrics,
                log=logger.info,
                manifest_required=intake.manifest_required_from_env(),
            )
    logger.info(
        "validate finished", outcome=result["outcome"], rows=result["rows"], error=result["error"]
    )
    return result
