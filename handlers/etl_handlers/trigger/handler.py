"""Lambda entry point of the EventBridge rules on S3 ``Object Created`` under ``raw/`` and on
the end of an execution that did not record its job (``trigger.executions``)."""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from etl_handlers import contract as env
from etl_handlers.app.ingest import default_sfn_client
from etl_handlers.aws import observability, s3io
from etl_handlers.aws.jobs import JobStore
from etl_handlers.trigger.executions import is_execution_event, record_execution_end
from etl_handlers.trigger.logic import handle_event

logger = observability.build_logger()
tracer = observability.build_tracer()
metrics = observability.build_metrics()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(raise_on_empty_metrics=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """``event``: an EventBridge S3 event, or the execution status change of an execution
    that ended FAILED, TIMED_OUT or ABORTED (the execution status rule). Returns what was
    done (see ``handle_event`` and ``record_execution_end``)."""
    if is_execution_event(event):
        return record_execution_end(
            event,
            store=JobStore(),
            state_machine_arn=os.environ.get(env.STATE_MACHINE_ARN),
            log=logger.info,
        )
    return handle_event(
        event,
        store=JobStore(),
        sfn=default_sfn_client(),
        s3=s3io.default_client(),
        state_machine_arn=os.environ[env.STATE_MACHINE_ARN],
        data_bucket=os.environ.get(env.DATA_BUCKET),
        metrics=metrics,
        log=logger.info,
    )
