"""Reprocess: run a final job again, from the same source object version, as a new attempt.

The path ``POST /jobs/{jobId}/reprocess`` and ``etl-pipeline reprocess`` share. A job that is
SUCCEEDED or FAILED gets attempt N + 1: the finished attempt goes into the record's
``attempts`` history, the record becomes PENDING again (one conditional write: of two
concurrent calls exactly one gets through, :meth:`JobStore.reopen`), and the execution
``{job}-a{N+1}`` starts with the same input as the first, plus the attempt.

Outputs never mix attempts: attempt N >= 2 writes under ``{prefix}{job}/a{N}/`` (the first
attempt's keys stay what they always were), the record's ``outputs`` name the current
attempt's objects, and only once the new attempt SUCCEEDED does the enricher remove the
other attempts' objects (:func:`prune_other_attempts`). A reprocess that fails leaves the
last successful attempt's objects where they are; its entry in ``attempts`` names them.

The job id stays the same across attempts (what keys claims by job, e.g. seen transaction
ids, rely on).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from etl_handlers.app.ingest import start_execution
from etl_handlers.app.steps import StepEvent
from etl_handlers.aws import s3io
from etl_handlers.aws.jobs import (
    FINAL_STATUSES,
    PENDING,
    JobStore,
    TransitionRefused,
    as_reported,
)
from etl_handlers.aws.observability import transient_aws_errors
from etl_handlers.contract import ATTEMPT_PRUNED_PREFIXES, MAX_ATTEMPTS, VALID
from etl_handlers.core import codes, keys
from etl_handlers.core.errors import EtlError

RESUME_AFTER = timedelta(minutes=5)
"""How long a reopened job may wait for its execution before a reprocess starts it."""

__all__ = [
    "ReprocessRefused",
    "Reprocessed",
    "SourceUnavailable",
    "attempt_summary",
    "prune_after_success",
    "prune_other_attempts",
    "reprocess",
]


class ReprocessRefused(EtlError):
    """The job cannot be reprocessed now (the API answers 409); nothing was changed."""


class SourceUnavailable(ReprocessRefused):
    """The job's source object version is gone, or (unversioned bucket) its ETag changed.

    ``code`` is ``SOURCE_MISSING`` or ``SOURCE_CHANGED``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Reprocessed:
    """The job as its new attempt starts (``status`` PENDING, ``attempt``, ``executionArn``)."""

    job: dict[str, Any]

    @property
    def attempt(self) -> int:
        return keys.attempt_of(self.job.get("attempt"))


def attempt_summary(job: Mapping[str, Any]) -> dict[str, Any]:
    """The finished attempt of ``job`` as its ``attempts`` entry: number, status, start and
    end, row counts (a FAILED attempt: the rows read), error, execution and outputs (what a
    reader finds of a SUCCEEDED attempt until a later one SUCCEEDED)."""
    view = as_reported(job)
    entry: dict[str, Any] = {
        "attempt": keys.attempt_of(job.get("attempt")),
        "status": job.get("status"),
        "startedAt": job.get("attemptStartedAt") or job.get("createdAt"),
        "finishedAt": job.get("failedAt") or job.get("updatedAt"),
        "rows": dict(view.get("rows") or {}),
        "outputs": dict(job.get("outputs") or {}),
    }
    for name in ("error", "executionArn"):
        if job.get(name):
            entry[name] = job[name]
    return entry


def check_source(job: Mapping[str, Any], *, s3: Any) -> None:
    """Raise :class:`SourceUnavailable` unless the job's source version is still there
    (versioned bucket: that version id; unversioned: the key, with the job's ETag)."""
    bucket, key, version = str(job["bucket"]), str(job["fileName"]), job.get("versionId")
    with transient_aws_errors("head source object"):
        info = s3io.head_object(bucket, key, version_id=version, client=s3)
    if info is None:
        which = f"version {version} of {key}" if version else key
        raise SourceUnavailable(
            codes.SOURCE_MISSING,
            f"the source {which} no longer exists: upload the file again (a new job)",
        )
    if not version and info.etag != s3io.normalize_etag(job.get("etag")):
        raise SourceUnavailable(
            codes.SOURCE_CHANGED,
            f"{key} changed since job {job['jobId']} read it (the bucket keeps no versions): "
            "its current content is a new job, started by uploading or POST /trigger",
        )


def reprocess(
    job_id: str, *, store: JobStore, s3: Any, sfn: Any, state_machine_arn: str
) -> Reprocessed:
    """Start a new attempt of the final job ``job_id``.

    Raises ``JobNotFound`` (no such job), :class:`ReprocessRefused` (the job is still
    active, has had :data:`MAX_ATTEMPTS` attempts, or another reprocess got there first),
    :class:`SourceUnavailable`. A job left PENDING without an execution by a reprocess that
    stopped halfway (for longer than :data:`RESUME_AFTER`) gets its execution started.
    """
    with transient_aws_errors("get job"):
        job = store.require(job_id)
    status, attempt = job.get("status"), keys.attempt_of(job.get("attempt"))
    if _halfway(job, now=store.now()):
        return _started(job, store=store, sfn=sfn, state_machine_arn=state_machine_arn)
    if status not in FINAL_STATUSES:
        raise ReprocessRefused(
            f"job {job_id} is {status}: a job can be reprocessed once it is "
            f"{' or '.join(FINAL_STATUSES)}"
        )
    if attempt >= MAX_ATTEMPTS:
        raise ReprocessRefused(f"job {job_id} has had {attempt} attempts, the most it can have")
    error = job.get("error") or {}
    if error.get("code") in codes.INTAKE_CODES:  # never run: a new attempt would refuse it too
        raise ReprocessRefused(f"job {job_id} cannot run: {error.get('message')}")
    refused = keys.refused_name(str(job["fileName"]))  # a record from before the rule
    if refused is not None:
        raise ReprocessRefused(f"job {job_id} cannot run: {refused}")
    check_source(job, s3=s3)
    try:
        with transient_aws_errors("reopen job"):
            reopened = store.reopen(
                job_id, str(job["fileName"]), attempt=attempt, history=attempt_summary(job)
            )
    except TransitionRefused as refused:
        raise ReprocessRefused(
            f"job {job_id} changed while the reprocess was asked for (now {refused.current}):"
            " another reprocess started it"
        ) from None
    return _started(reopened, store=store, sfn=sfn, state_machine_arn=state_machine_arn)


def _halfway(job: Mapping[str, Any], *, now: datetime) -> bool:
    """A reprocess that reopened the job but stopped before starting its execution, for
    longer than :data:`RESUME_AFTER` (a reprocess that is just starting it is not one)."""
    changed = job.get("timestamp")
    return (
        job.get("status") == PENDING
        and keys.attempt_of(job.get("attempt")) > 1
        and not job.get("executionArn")
        and isinstance(changed, int)
        and now.timestamp() - changed > RESUME_AFTER.total_seconds()
    )


def _started(job: dict[str, Any], *, store: JobStore, sfn: Any, state_machine_arn: str) -> Any:
    arn, _ = start_execution(job, store=store, sfn=sfn, state_machine_arn=state_machine_arn)
    return Reprocessed(job={**job, "executionArn": arn})


def prune_other_attempts(
    *,
    s3: Any,
    bucket: str,
    job_id: str,
    attempt: int,
    log: Callable[..., None] | None = None,
) -> list[str]:
    """Delete the objects of the job's other attempts under the output prefixes, once
    attempt ``attempt`` (>= 2) SUCCEEDED; returns the deleted keys.

    Best effort: the record already names the current attempt's objects, so a failure here
    is logged and leaves objects behind (a later successful reprocess removes them), never
    fails the job. Nothing is deleted for a first attempt.
    """
    if attempt < 2:
        return []
    say = log or (lambda message, **fields: None)
    kept = keys.job_folder(job_id, attempt) + "/"
    deleted: list[str] = []
    try:
        for prefix in ATTEMPT_PRUNED_PREFIXES:
            found = s3io.list_keys(bucket, f"{prefix}{job_id}/", client=s3)
            stale = [k for k in found if not k.startswith(prefix + kept)]
            done, refused = s3io.delete_keys(bucket, stale, client=s3)
            deleted += done
            if refused:
                raise RuntimeError(f"{len(refused)} objects not deleted")
    except Exception as exc:
        say(
            "objects of earlier attempts not removed",
            job_id=job_id,
            attempt=attempt,
            error=type(exc).__name__,
        )
        return deleted
    say("objects of earlier attempts removed", job_id=job_id, attempt=attempt, count=len(deleted))
    return deleted


def prune_after_success(
    result: dict[str, Any],
    event: Mapping[str, Any],
    *,
    s3: Any,
    log: Callable[..., None] | None = None,
    store: Any = None,
) -> dict[str, Any]:
    """The enricher's last act: when its result completed the job (VALID) of an attempt
    >= 2, remove the other attempts' objects (:func:`prune_other_attempts`), and with the
    job ``store``, the curated files the earlier attempts wrote (the record names them).
    Returns ``result`` unchanged."""
    if result.get("outcome") == VALID:
        step = StepEvent.from_event(event)
        prune_other_attempts(
            s3=s3, bucket=step.bucket, job_id=step.job_id, attempt=step.attempt, log=log
        )
        if store is not None and step.attempt >= 2:
            _prune_curated(store, s3, step, log)
    return result


def _prune_curated(store: Any, s3: Any, step: StepEvent, log: Callable[..., None] | None) -> None:
    """Best effort, as :func:`prune_other_attempts`: a leftover is logged, never fatal."""
    from etl_handlers.app.curate import stale_curated_keys

    say = log or (lambda message, **fields: None)
    try:
        s3io.delete_keys(step.bucket, stale_curated_keys(store.require(step.job_id)), client=s3)
    except Exception as exc:
        say(
            "curated files of earlier attempts not removed",
            job_id=step.job_id,
            attempt=step.attempt,
            error=type(exc).__name__,
        )
