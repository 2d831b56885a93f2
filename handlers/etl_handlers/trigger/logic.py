"""Turn an EventBridge S3 ``Object Created`` event into a job and an execution.

Object keys in the event: S3 URL-encodes keys in its event notifications (a space becomes
``+``, other characters ``%xx``), and readers of EventBridge events decode them the same
way (Powertools' ``S3EventBridgeNotificationEvent`` applies ``unquote_plus``), but
EventBridge delivers some keys unencoded (and so do emulators such as moto). A key read
the wrong way would name another object, or one that does not exist. So: a key without
``+`` or ``%`` is the same either way and is used as is; otherwise both readings are
candidates, the decoded one first, and the first that exists in the bucket with the
event's version id (or ETag) wins; when neither does (the object is already gone) or the
function may not read the bucket, the decoded reading is used (a wrong guess fails the job
cleanly with ``SOURCE_MISSING``). The HEAD requests need ``s3:GetObject`` (and
``s3:GetObjectVersion``) on ``raw/*``.

Versions: ``version-id`` absent or ``"null"`` (unversioned or suspended bucket) means the
job is identified by the ETag, as the contract says.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from botocore.exceptions import ClientError

from etl_handlers.app.ingest import StartedJob, refuse_job, start_job
from etl_handlers.aws import s3io
from etl_handlers.aws.jobs import JobStore
from etl_handlers.aws.observability import (
    METRIC_FILES_FAILED,
    METRIC_FILES_RECEIVED,
    add_count,
    transient_aws_errors,
)
from etl_handlers.core import keys

OBJECT_CREATED = "Object Created"
_DENIED = frozenset({"403", "AccessDenied", "Forbidden"})
S3_SOURCE = "aws.s3"

__all__ = ["ObjectEvent", "candidate_keys", "handle_event", "parse_event", "resolve_key"]


@dataclass(frozen=True)
class ObjectEvent:
    """The fields of an S3 ``Object Created`` event the trigger uses (key as sent)."""

    bucket: str
    raw_key: str
    version_id: str | None
    etag: str
    size: int | None


def parse_event(event: Mapping[str, Any]) -> ObjectEvent | None:
    """Read an EventBridge S3 event; None when it is not an ``Object Created`` event."""
    if event.get("source") != S3_SOURCE or event.get("detail-type") != OBJECT_CREATED:
        return None
    detail = event.get("detail") or {}
    bucket = (detail.get("bucket") or {}).get("name")
    obj = detail.get("object") or {}
    raw_key = obj.get("key")
    if not bucket or not isinstance(raw_key, str) or not raw_key:
        return None
    size = obj.get("size")
    return ObjectEvent(
        bucket=str(bucket),
        raw_key=raw_key,
        version_id=s3io.normalize_version_id(obj.get("version-id")),
        etag=s3io.normalize_etag(obj.get("etag")),
        size=int(size) if isinstance(size, int | float) and not isinstance(size, bool) else None,
    )


def candidate_keys(raw_key: str) -> list[str]:
    """The possible readings of an event's key: decoded first, then as sent."""
    decoded = unquote_plus(raw_key)
    return [raw_key] if decoded == raw_key else [decoded, raw_key]


def resolve_key(obj: ObjectEvent, *, s3: Any) -> tuple[str, s3io.ObjectInfo | None]:
    """The object key the event means (see the module docstring), with its metadata when
    a HEAD request was needed to decide."""
    candidates = candidate_keys(obj.raw_key)
    if len(candidates) == 1:
        return candidates[0], None
    for key in candidates:
        if not keys.is_pipeline_input(key):
            continue
        try:
            with transient_aws_errors("head object"):
                info = s3io.head_object(obj.bucket, key, version_id=obj.version_id, client=s3)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in _DENIED:
                raise
            break  # no read access to the bucket: fall back to the documented encoding
        if info is not None and (obj.version_id or not obj.etag or info.etag == obj.etag):
            return key, info
    return candidates[0], None


def handle_event(
    event: Mapping[str, Any],
    *,
    store: JobStore,
    sfn: Any,
    s3: Any,
    state_machine_arn: str,
    data_bucket: str | None = None,
    metrics: Any = None,
    log: Callable[..., None] | None = None,
) -> dict[str, Any]:
    """Create the job for the object in ``event`` and start its execution.

    Returns ``{"status": "started" | "existing" | "ignored", "jobId", "created",
    "executionArn"}`` (``"reason"`` instead of the job fields when ignored). Events for
    other buckets, other event types and keys that are not pipeline inputs (outside
    ``raw/``, not ``.csv``, with ``..`` segments) are ignored with a log line. A key holding
    a card number is ``"refused"``: its job is recorded FAILED (``CARD_NUMBER_IN_NAME``,
    ``"error"`` in the result) and no execution starts. Logs show keys with card numbers
    masked.
    """
    say = log or (lambda message, **fields: None)
    obj = parse_event(event)
    if obj is None:
        return _ignored(say, "not an S3 Object Created event")
    if data_bucket and obj.bucket != data_bucket:
        return _ignored(say, f"bucket {obj.bucket} is not the pipeline's bucket")
    key, info = resolve_key(obj, s3=s3)
    problem = keys.input_problem(key)
    if problem is not None:
        return _ignored(say, f"not a pipeline input: {problem}", key=keys.shown_key(key))
    if info is None:
        if obj.etag and obj.size is not None:
            info = s3io.ObjectInfo(obj.bucket, key, obj.version_id, obj.etag, obj.size)
        else:
            with transient_aws_errors("head object"):
                info = s3io.head_object(obj.bucket, key, version_id=obj.version_id, client=s3)
            if info is None:
                return _ignored(say, "the object no longer exists", key=keys.shown_key(key))
    refused = keys.refused_name(key)
    if refused is not None:
        return _refused(refuse_job(info, store=store, problem=refused), say, metrics)
    started = start_job(info, store=store, sfn=sfn, state_machine_arn=state_machine_arn)
    return _report(started, say, metrics)


def _refused(job: StartedJob, say: Callable[..., None], metrics: Any) -> dict[str, Any]:
    """A file the trigger will not process: its FAILED job, counted received and failed."""
    if job.created and metrics is not None:
        add_count(metrics, METRIC_FILES_RECEIVED)
        add_count(metrics, METRIC_FILES_FAILED)
    error = job.job.get("error") or {}
    say("file refused", job_id=job.job_id, key=job.job["fileName"], code=error.get("code"))
    return {"status": "refused", "jobId": job.job_id, "created": job.created, "error": error}


def _report(started: StartedJob, say: Callable[..., None], metrics: Any) -> dict[str, Any]:
    if started.created and metrics is not None:
        add_count(metrics, METRIC_FILES_RECEIVED)
    status = "started" if started.created or started.started else "existing"
    say(
        "job started" if status == "started" else "job exists; nothing new started",
        job_id=started.job_id,
        key=started.job["fileName"],
        new_job=started.created,
    )
    return {
        "status": status,
        "jobId": started.job_id,
        "created": started.created,
        "executionArn": started.job.get("executionArn"),
    }


def _ignored(say: Callable[..., None], reason: str, **fields: Any) -> dict[str, Any]:
    say("event ignored", reason=reason, **fields)
    return {"status": "ignored", "reason": reason}
