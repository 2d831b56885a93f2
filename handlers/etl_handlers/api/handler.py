"""Lambda entry point of the control API (API Gateway REST proxy integration).

Routes: ``GET /status/{jobId}``, ``POST /trigger``, ``GET /jobs``,
``POST /jobs/{jobId}/reprocess``. Errors are JSON
``{"message": ...}`` with a 4xx status; anything unexpected is logged and answered with a
generic 500 (never a stack trace).
"""

from __future__ import annotations

import json
import os
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from etl_handlers import contract as env
from etl_handlers.api import logic
from etl_handlers.app.ingest import default_sfn_client
from etl_handlers.aws import observability, s3io
from etl_handlers.aws.jobs import JobStore
from etl_handlers.core.errors import TransientError

logger = observability.build_logger()
tracer = observability.build_tracer()
metrics = observability.build_metrics()
app = APIGatewayRestResolver()


def _json(status: int, body: Any) -> Response[str]:
    return Response(
        status_code=int(status),
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(body, separators=(",", ":")),
    )


@app.get("/status/<job_id>")
@tracer.capture_method
def get_status(job_id: str) -> Response[str]:
    view = logic.get_status(job_id, store=JobStore(), stuck_after=logic.stuck_after_from_env())
    return _json(HTTPStatus.OK, view)


@app.post("/trigger")
@tracer.capture_method
def post_trigger() -> Response[str]:
    body, created = logic.trigger(
        app.current_event.decoded_body,
        store=JobStore(),
        s3=s3io.default_client(),
        sfn=default_sfn_client(),
        bucket=os.environ[env.DATA_BUCKET],
        state_machine_arn=os.environ[env.STATE_MACHINE_ARN],
        stuck_after=logic.stuck_after_from_env(),
        metrics=metrics,
    )
    logger.info("trigger", job_id=body["job"]["jobId"], new_job=created)
    return _json(HTTPStatus.ACCEPTED if created else HTTPStatus.OK, body)


@app.get("/jobs")
@tracer.capture_method
def get_jobs() -> Response[str]:
    params = app.current_event.query_string_parameters or {}
    page = logic.list_jobs(params, store=JobStore(), stuck_after=logic.stuck_after_from_env())
    return _json(HTTPStatus.OK, page)


@app.post("/jobs/<job_id>/reprocess")
@tracer.capture_method
def post_reprocess(job_id: str) -> Response[str]:
    body = logic.reprocess(
        job_id,
        store=JobStore(),
        s3=s3io.default_client(),
        sfn=default_sfn_client(),
        state_machine_arn=os.environ[env.STATE_MACHINE_ARN],
        stuck_after=logic.stuck_after_from_env(),
    )
    logger.info("reprocess", job_id=job_id, attempt=body["attempt"])
    return _json(HTTPStatus.ACCEPTED, body)


@app.exception_handler(logic.ApiError)
def api_error(error: logic.ApiError) -> Response[str]:
    logger.info("request refused", status=error.status, reason=error.message)
    return _json(error.status, {"message": error.message})


@app.not_found
def not_found(_: NotFoundError) -> Response[str]:
    return _json(HTTPStatus.NOT_FOUND, {"message": "no such resource"})


@app.exception_handler(TransientError)
def unavailable(error: TransientError) -> Response[str]:
    logger.warning("temporary AWS failure", error=str(error))
    return _json(HTTPStatus.SERVICE_UNAVAILABLE, {"message": "temporarily unavailable, retry"})


@app.exception_handler(Exception)
def unexpected(error: Exception) -> Response[str]:
    logger.exception("unexpected error")
    return _json(HTTPStatus.INTERNAL_SERVER_ERROR, {"message": "internal error"})


@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True
)
@tracer.capture_lambda_handler
@metrics.log_metrics(raise_on_empty_metrics=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """``event``: an API Gateway REST proxy event; returns the proxy response."""
    return app.resolve(event, context)
