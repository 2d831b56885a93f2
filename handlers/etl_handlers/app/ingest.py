"""Turn one object version into one job and one execution: the path the trigger (S3 event)
and the API (``POST /trigger``) share.

Idempotent by construction: the job id is a function of bucket, key and version (the ETag
when unversioned), the record is created with a conditional put, and the execution is
named after the job with an input built from the stored record, so a repeated event or
request creates nothing and starts nothing new. A record whose execution was never
started (a crash between the two calls) gets it started by the next attempt.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from etl_handlers.aws.clients import RETRYING, shared_client
from etl_handlers.aws.jobs import PENDING, JobStore, TransitionRefused
from etl_handlers.aws.observability import transient_aws_errors
from etl_handlers.aws.s3io import ObjectInfo
from etl_handlers.contract import EXECUTION_END_STATUSES, EXECUTION_STATUS_CHANGE, STATES_SOURCE
from etl_handlers.core import codes, keys

CLIENT_CONFIG = RETRYING


__all__ = [
    "EXECUTION_END_STATUSES",
    "EXECUTION_STATUS_CHANGE",
    "STATES_SOURCE",
    "StartedJob",
    "default_sfn_client",
    "execution_arn_for",
    "execution_input",
    "refuse_job",
    "start_execution",
    "start_job",
]


def default_sfn_client() -> Any:
    """The module's Step Functions client, created on first use."""
    return shared_client("stepfunctions", CLIENT_CONFIG)


@dataclass(frozen=True)
class StartedJob:
    """The job for an object version. ``created``: this call created the record;
    ``started``: this call's StartExecution succeeded (False when the record already had
    an execution, or Step Functions answered ``ExecutionAlreadyExists``)."""

    job: dict[str, Any]
    created: bool
    started: bool

    @property
    def job_id(self) -> str:
        return str(self.job["jobId"])


def execution_input(job: dict[str, Any]) -> dict[str, Any]:
    """The state machine input of the contract, built from the stored record only (so a
    repeated start sends byte-identical input, which Step Functions treats as the same
    request)."""
    key = job["fileName"]
    version_id = job.get("versionId")
    attempt = keys.attempt_of(job.get("attempt"))
    return {
        "jobId": job["jobId"],
        "attempt": attempt,
        "jobFolder": keys.job_folder(job["jobId"], attempt),
        "bucket": job["bucket"],
        "key": key,
        "versionId": version_id,
        "fileName": key,
        "sizeBytes": job["sizeBytes"],
        "failedKey": keys.failed_key(job["jobId"], key),
        "copySource": keys.copy_source(job["bucket"], key, version_id),
    }


def execution_arn_for(state_machine_arn: str, name: str) -> str:
    """The ARN Step Functions gives the execution ``name`` of a state machine."""
    return state_machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{name}"


def start_job(
    info: ObjectInfo,
    *,
    store: JobStore,
    sfn: Any,
    state_machine_arn: str,
) -> StartedJob:
    """Create the job for ``info`` (unless it exists) and start its execution (unless it
    was started). Retryable AWS errors surface as ``TransientError``."""
    job_id = keys.job_id(info.bucket, info.key, info.version)
    with transient_aws_errors("create job"):
        job, created = store.create(
            job_id=job_id,
            file_name=info.key,
            bucket=info.bucket,
            version_id=info.version_id,
            etag=info.etag,
            size_bytes=info.size,
        )
    if job.get("executionArn") or job.get("status") != PENDING:
        return StartedJob(job=job, created=created, started=False)
    arn, started = start_execution(job, store=store, sfn=sfn, state_machine_arn=state_machine_arn)
    return StartedJob(job={**job, "executionArn": arn}, created=created, started=started)


def refuse_job(info: ObjectInfo, *, store: JobStore, problem: str) -> StartedJob:
    """Record the object version ``info`` as a FAILED job that never runs, with
    ``CARD_NUMBER_IN_NAME`` and ``problem`` (see :func:`keys.refused_name`), named by
    :func:`keys.shown_key` so that no record, listing or report shows the number.

    The job id is the one :func:`start_job` would give (a repeated event finds the record
    and writes nothing); no execution starts, and the object is left as it is."""
    job_id = keys.job_id(info.bucket, info.key, info.version)
    shown = keys.shown_key(info.key)
    with transient_aws_errors("create job"):
        job, created = store.create(
            job_id=job_id,
            file_name=shown,
            bucket=info.bucket,
            version_id=info.version_id,
            etag=info.etag,
            size_bytes=info.size,
        )
    if job.get("status") != PENDING:
        return StartedJob(job=job, created=created, started=False)
    try:
        with transient_aws_errors("fail job"):
            job = store.fail(
                job_id, shown, step=None, code=codes.CARD_NUMBER_IN_NAME, message=problem
            )
    except TransitionRefused:  # a concurrent delivery of the same event failed it first
        job = store.require(job_id)
    return StartedJob(job=job, created=created, started=False)


def start_execution(
    job: dict[str, Any], *, store: JobStore, sfn: Any, state_machine_arn: str
) -> tuple[str, bool]:
    """Start the execution of the job's current attempt (named by ``keys.execution_name``)
    and record its ARN; returns ``(arn, started)``. An execution of that name that already
    exists is taken as this one (a repeated call)."""
    job_id = str(job["jobId"])
    name = keys.execution_name(job_id, keys.attempt_of(job.get("attempt")))
    with transient_aws_errors("start execution"):
        try:
            response = sfn.start_execution(
                stateMachineArn=state_machine_arn,
                name=name,
                input=json.dumps(execution_input(job), sort_keys=True, separators=(",", ":")),
            )
            arn = response["executionArn"]
            started = True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ExecutionAlreadyExists":
                raise
            arn = execution_arn_for(state_machine_arn, name)
            started = False
        store.set_execution(job_id, job["fileName"], arn)
    return arn, started
