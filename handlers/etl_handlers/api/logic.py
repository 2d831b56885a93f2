"""The control API's operations as plain functions; ``api.handler`` routes to them.

Every user error is an :class:`ApiError` with a status code and a message meant for the
caller (the handler turns it into ``{"message": ...}``); nothing here returns a stack trace.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from etl_handlers import contract as env
from etl_handlers.app import reprocess as app_reprocess
from etl_handlers.app.ingest import start_job
from etl_handlers.aws import s3io
from etl_handlers.aws.jobs import (
    ACTIVE_STATUSES,
    MAX_PAGE_SIZE,
    STATUSES,
    InvalidCursor,
    JobNotFound,
    JobStore,
    as_reported,
)
from etl_handlers.aws.observability import METRIC_FILES_RECEIVED, add_count, transient_aws_errors
from etl_handlers.core import keys
from etl_handlers.core.masking import scrub

DEFAULT_PAGE_SIZE = 50
DEFAULT_STUCK_AFTER_MINUTES = env.DEFAULT_STUCK_AFTER_MINUTES
MAX_BODY_BYTES = 16 * 1024
"""Largest ``POST /trigger`` body read: ``{"key": ...}`` with a key of at most 1024 bytes."""
TRIGGER_FIELDS = frozenset({"key"})
"""What a trigger body may hold (the REST API's request model forbids anything else too)."""

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "ApiError",
    "BadRequest",
    "Conflict",
    "NotFound",
    "get_status",
    "job_view",
    "list_jobs",
    "parse_since",
    "reprocess",
    "stuck_after_from_env",
    "trigger",
]


class ApiError(Exception):
    """A request the API answers with ``status`` and ``{"message": message}``."""

    status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(ApiError):
    """The request is malformed or asks for something the API does not do (400)."""

    status = 400


class NotFound(ApiError):
    """The job or object does not exist (404)."""

    status = 404


def stuck_after_from_env() -> timedelta:
    """``ETL_STUCK_AFTER_MINUTES`` (default 60) as a timedelta."""
    raw = os.environ.get(env.STUCK_AFTER_MINUTES)
    try:
        minutes = float(raw) if raw else DEFAULT_STUCK_AFTER_MINUTES
    except ValueError:
        minutes = DEFAULT_STUCK_AFTER_MINUTES
    if minutes <= 0:
        minutes = DEFAULT_STUCK_AFTER_MINUTES
    return timedelta(minutes=minutes)


def job_view(job: Mapping[str, Any], *, now: datetime, stuck_after: timedelta) -> dict[str, Any]:
    """The job record as the API shows it, plus ``stuck``: a job not finished whose last
    status change is older than ``stuck_after``. A FAILED job shows the rows read and no
    valid counts or totals (``jobs.as_reported``), also when recorded before that rule."""
    view = as_reported(job)
    changed = job.get("timestamp")
    view["stuck"] = bool(
        job.get("status") in ACTIVE_STATUSES
        and isinstance(changed, int)
        and now.timestamp() - changed > stuck_after.total_seconds()
    )
    return view


def get_status(job_id: str, *, store: JobStore, stuck_after: timedelta) -> dict[str, Any]:
    """``GET /status/{jobId}``: the job, or 404 (also for ids that cannot be job ids)."""
    if not keys.is_job_id(job_id):
        raise NotFound(f"job {job_id[:64]!r} not found: a job id is 32 lower-case hex characters")
    with transient_aws_errors("get job"):
        job = store.get(job_id)
    if job is None:
        raise NotFound(f"job {job_id} not found")
    return job_view(job, now=store.now(), stuck_after=stuck_after)


def parse_body(body: str | None) -> dict[str, Any]:
    """The request body as a JSON object, else 400."""
    if not body:
        raise BadRequest('the request body must be a JSON object like {"key": "raw/file.csv"}')
    if len(body) > MAX_BODY_BYTES:
        raise BadRequest(f"the request body is larger than {MAX_BODY_BYTES} bytes")
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise BadRequest("the request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise BadRequest('the request body must be a JSON object like {"key": "raw/file.csv"}')
    return data


def trigger(
    body: str | None,
    *,
    store: JobStore,
    s3: Any,
    sfn: Any,
    bucket: str,
    state_machine_arn: str,
    stuck_after: timedelta,
    metrics: Any = None,
) -> tuple[dict[str, Any], bool]:
    """``POST /trigger`` with ``{"key": "raw/..."}``: the job of the object's current
    version, started the same way as by an S3 event (same job id for the same version).

    Returns ``({"job": ..., "created": bool}, created)``. 400 for a missing or invalid key,
    404 when the object does not exist.
    """
    data = parse_body(body)
    if "key" not in data:
        raise BadRequest('the request body needs "key", the object key under raw/')
    unknown = sorted(scrub(str(name)[:64]) for name in set(data) - TRIGGER_FIELDS)
    if unknown:
        raise BadRequest(
            f"unknown fields in the request body: {', '.join(unknown[:5])}; it takes only "
            '"key" (objects of the pipeline\'s own bucket)'
        )
    key = data["key"]
    problem = keys.input_problem(key) or keys.refused_name(key)
    if problem is not None:
        raise BadRequest(problem)
    with transient_aws_errors("head object"):
        info = s3io.head_object(bucket, key, client=s3)
    if info is None:
        raise NotFound(f"object {key} does not exist in the data bucket")
    started = start_job(info, store=store, sfn=sfn, state_machine_arn=state_machine_arn)
    if started.created and metrics is not None:
        add_count(metrics, METRIC_FILES_RECEIVED)
    view = job_view(started.job, now=store.now(), stuck_after=stuck_after)
    return {"job": view, "created": started.created}, started.created


def parse_since(value: str | None) -> datetime | None:
    """An ISO 8601 date or date-time (no offset: UTC), else 400."""
    if value is None or value == "":
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise BadRequest(
            f"since={value[:64]!r} is not an ISO 8601 date-time (e.g. 2026-11-20T00:00:00Z)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def parse_limit(value: str | None) -> int:
    """A page size: a positive integer, capped at 100; default 50."""
    if value is None or value == "":
        return DEFAULT_PAGE_SIZE
    try:
        limit = int(value)
    except ValueError:
        raise BadRequest(f"limit={value[:32]!r} is not an integer") from None
    if limit < 1:
        raise BadRequest("limit must be at least 1")
    return min(limit, MAX_PAGE_SIZE)


def list_jobs(
    params: Mapping[str, str] | None,
    *,
    store: JobStore,
    stuck_after: timedelta,
) -> dict[str, Any]:
    """``GET /jobs?status=FAILED&since=...&limit=N&cursor=...``, newest first.

    Returns ``{"items": [...], "cursor": str | None}``; pass ``cursor`` back for the next
    page. 400 on a missing or unknown status, a bad date, limit or cursor.
    """
    params = params or {}
    status = (params.get("status") or "").strip().upper()
    if not status:
        raise BadRequest(f"status is required: one of {', '.join(STATUSES)}")
    if status not in STATUSES:
        raise BadRequest(f"status {status[:32]!r} is unknown: use one of {', '.join(STATUSES)}")
    since = parse_since(params.get("since"))
    limit = parse_limit(params.get("limit"))
    try:
        with transient_aws_errors("list jobs"):
            page = store.list_by_status(
                status, since=since, limit=limit, cursor=params.get("cursor") or None
            )
    except InvalidCursor as exc:
        raise BadRequest(str(exc)) from None
    now = store.now()
    return {
        "items": [job_view(job, now=now, stuck_after=stuck_after) for job in page.items],
        "cursor": page.cursor,
    }


# -- reprocess ---------------------------------------------------------------------------------


class Conflict(ApiError):
    """The job's state does not allow the request now (409)."""

    status = 409


def reprocess(
    job_id: str,
    *,
    store: JobStore,
    s3: Any,
    sfn: Any,
    state_machine_arn: str,
    stuck_after: timedelta,
) -> dict[str, Any]:
    """``POST /jobs/{jobId}/reprocess``: a new attempt of a SUCCEEDED or FAILED job, from
    the same source version (``app.reprocess``). Returns ``{"job", "attempt"}`` (202); 404
    unknown job, 409 while the job is active, when its source version is gone or changed,
    or when another reprocess of it got there first."""
    if not keys.is_job_id(job_id):
        raise NotFound(f"job {job_id[:64]!r} not found: a job id is 32 lower-case hex characters")
    try:
        started = app_reprocess.reprocess(
            job_id, store=store, s3=s3, sfn=sfn, state_machine_arn=state_machine_arn
        )
    except JobNotFound:
        raise NotFound(f"job {job_id} not found") from None
    except app_reprocess.ReprocessRefused as refused:
        raise Conflict(str(refused)) from None
    view = job_view(started.job, now=store.now(), stuck_after=stuck_after)
    return {"job": view, "attempt": started.attempt}
