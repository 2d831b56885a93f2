"""What arrived is what was sent, once: the sender's manifest and the duplicate-file check.

* The manifest check (validator ``mode: manifest``, the state machine's first state when
  manifests are required): has ``raw/<name>.manifest.json`` arrived? The state machine
  waits and asks again until it has, or until its number of checks is used up
  (``MANIFEST_MISSING``). The count travels in the execution state, not the clock, so a
  local run that shortens the waits keeps the same number of checks.
* :func:`read_manifest`: the validator reads and parses the manifest before the data file
  (a bad manifest fails the job before the big read).
* :func:`claim_content`: one item per SHA-256 in the job table names the first job that
  sent those bytes; a later job with the same bytes is a duplicate of it, unless nothing
  of that job stands published (``aws.jobs.posted_nothing``: it FAILED with no attempt that
  SUCCEEDED; then the later one takes the item over: a failed file may be sent again).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from botocore.exceptions import ClientError

from etl_handlers import contract
from etl_handlers.app.steps import StepOutcome, empty_validation
from etl_handlers.aws import s3io
from etl_handlers.aws.jobs import JobStore, iso, posted_nothing
from etl_handlers.aws.observability import transient_aws_errors
from etl_handlers.contract import (
    DUPLICATE,
    INVALID,
    OUTCOME_DUPLICATE,
    ROWS_READ,
    VALID,
    WAITING,
)
from etl_handlers.core.codes import MANIFEST_MISSING
from etl_handlers.core.errors import FileRejected
from etl_handlers.core.manifest import (
    MAX_MANIFEST_BYTES,
    Manifest,
    check_sha256,
    manifest_key,
    mismatch,
    parse_manifest,
)
from etl_handlers.core.masking import scrub

__all__ = [
    "CHECK_FIELD",
    "check_manifest",
    "claim_content",
    "content_key",
    "duplicate_files_from_env",
    "manifest_attributes",
    "manifest_required_from_env",
    "preflight_verdict",
    "read_manifest",
    "recorded_manifest_version",
]

CHECK_FIELD = "manifestCheck"
"""Where the manifest check's state lives in the execution state: ``{"checks", "maxChecks",
"waitSeconds"}`` as the state machine starts it, the check's result after."""
_TAKEOVER_ATTEMPTS = 3


def manifest_required_from_env() -> bool:
    """``ETL_MANIFEST_REQUIRED``: ``1`` requires a manifest per data file (default off)."""
    return (os.environ.get(contract.MANIFEST_REQUIRED) or "0").strip() == "1"


def duplicate_files_from_env() -> bool:
    """``ETL_DUPLICATE_FILES``: ``1`` turns the duplicate-file check on (default off)."""
    return (os.environ.get(contract.DUPLICATE_FILES) or "0").strip() == "1"


def check_manifest(
    event: Mapping[str, Any], *, s3: Any, log: Callable[..., None] | None = None
) -> dict[str, Any]:
    """One check of the state machine's wait for the manifest.

    Returns ``{"outcome": "VALID" | "WAITING" | "INVALID", "checks", "maxChecks",
    "waitSeconds", "manifestKey", "error"}``: VALID when the manifest exists, WAITING
    when it does not and checks remain, INVALID (``MANIFEST_MISSING``) when the last
    check found none.
    """
    say = log or (lambda message, **fields: None)
    if not isinstance(event, Mapping) or not event.get("bucket") or not event.get("key"):
        raise ValueError("the manifest check needs the job's bucket and key")
    state = event.get(CHECK_FIELD) if isinstance(event.get(CHECK_FIELD), Mapping) else {}
    checks = _whole(state.get("checks"), 0) + 1
    most = max(1, _whole(state.get("maxChecks"), 1))
    wait = _whole(state.get("waitSeconds"), 0)
    key = manifest_key(str(event["key"]))
    with transient_aws_errors("manifest check"):
        found = s3io.head_object(str(event["bucket"]), key, client=s3) is not None
    result: dict[str, Any] = {
        "checks": checks,
        "maxChecks": most,
        "waitSeconds": wait,
        "manifestKey": key,
        "error": None,
    }
    if found:
        result["outcome"] = VALID
    elif checks < most:
        result["outcome"] = WAITING
    else:
        result["outcome"] = INVALID
        result["error"] = {"code": MANIFEST_MISSING, "message": _missing(key, wait)}
    say("manifest check", job_id=event.get("jobId"), key=key, found=found, checks=checks)
    return result


def read_manifest(
    bucket: str, data_key: str, *, s3: Any, version_id: str | None = None
) -> tuple[Manifest, s3io.ObjectInfo]:
    """The data file's manifest (its version ``version_id``, else the latest), parsed, and
    which version was read. Raises :class:`FileRejected`: ``MANIFEST_MISSING`` (gone) or
    ``MANIFEST_INVALID``."""
    key = manifest_key(data_key)
    info = s3io.head_object(bucket, key, version_id=version_id, client=s3)
    if info is None:
        raise FileRejected(MANIFEST_MISSING, _missing(key, None))
    try:
        with s3io.open_object(bucket, key, version_id=info.version_id, client=s3) as stream:
            data = stream.read(MAX_MANIFEST_BYTES + 1)
    except (s3io.ObjectNotFound, s3io.ObjectChanged):  # pragma: no cover - deleted meanwhile
        raise FileRejected(MANIFEST_MISSING, _missing(key, None)) from None
    return parse_manifest(data, key=key), info


def recorded_manifest_version(job: Mapping[str, Any]) -> str | None:
    """The manifest version the job's first read recorded (the big-file path reads it at
    the preflight and again at the reduce: both must read the same one)."""
    recorded = job.get("manifest")
    version = recorded.get("versionId") if isinstance(recorded, Mapping) else None
    return str(version) if version else None


def manifest_attributes(info: s3io.ObjectInfo) -> dict[str, Any]:
    """What the job records of the manifest it was checked against."""
    found: dict[str, Any] = {"key": info.key, "etag": info.etag}
    if info.version_id:
        found["versionId"] = info.version_id
    return {"manifest": found}


def preflight_verdict(
    declared: Manifest | None,
    attributes: dict[str, Any],
    *,
    store: JobStore,
    job_id: str,
    file_name: str,
    duplicate_files: bool,
    rows_read: int,
) -> StepOutcome | None:
    """A big file's preflight, once its SHA-256 is known: a declared SHA-256 that differs
    (``CONTROL_TOTALS_MISMATCH``; rows and totals are checked at the reduce), or an earlier
    job's bytes (DUPLICATE, before any part is read); None to go on."""
    digest = attributes.get("contentSha256")
    if digest is None:
        return None
    different = declared and mismatch(check_sha256(declared, sha256=digest))
    if different:
        failed = empty_validation()
        failed.error = (different.code, different.message)
        failed.attributes = attributes
        return failed
    if not duplicate_files or not rows_read:
        return None  # a file without data rows posts nothing twice (as on the small path)
    earlier = claim_content(store, digest, job_id=job_id, file_name=file_name)
    if earlier is None:
        return None
    duplicate = empty_validation()
    duplicate.outcome, duplicate.final = OUTCOME_DUPLICATE, DUPLICATE
    duplicate.rows = {ROWS_READ: rows_read}
    duplicate.attributes = {**attributes, "duplicateOf": earlier}
    return duplicate


def content_key(sha256: str) -> dict[str, Any]:
    """The job table key of the item that names the first job of ``sha256``."""
    return {
        "jobId": {"S": contract.CONTENT_KEY_PREFIX + sha256},
        "fileName": {"S": contract.CONTENT_SORT_KEY},
    }


def claim_content(store: JobStore, sha256: str, *, job_id: str, file_name: str) -> str | None:
    """Claim ``sha256`` for this job; returns the earlier job these bytes belong to, or None
    when they are this job's (first sender, a retry or a reprocess of the same job, or the
    earlier job FAILED and this one took over)."""
    client, table = store.client, store.table_name
    now = iso(store.now())
    item = {
        **content_key(sha256),
        "firstJob": {"S": job_id},
        "firstFile": {"S": file_name},
        "claimedAt": {"S": now},
    }
    try:
        client.put_item(
            TableName=table, Item=item, ConditionExpression="attribute_not_exists(jobId)"
        )
        return None
    except ClientError as exc:
        if not _condition_failed(exc):
            raise
    for _ in range(_TAKEOVER_ATTEMPTS):
        current = client.get_item(TableName=table, Key=content_key(sha256), ConsistentRead=True)
        owner = current.get("Item", {}).get("firstJob", {}).get("S")
        if owner == job_id:
            return None
        if not posted_nothing(store.get(owner) if owner else None):
            return str(owner)
        try:  # nothing of the earlier job stands (failed, or gone): the bytes may come again
            client.update_item(
                TableName=table,
                Key=content_key(sha256),
                UpdateExpression="SET firstJob = :me, firstFile = :file, claimedAt = :at, "
                "takenOverFrom = :owner",
                ConditionExpression="firstJob = :owner",
                ExpressionAttributeValues={
                    ":me": {"S": job_id},
                    ":file": {"S": file_name},
                    ":at": {"S": now},
                    ":owner": {"S": owner or ""},
                },
            )
            return None
        except ClientError as exc:
            if not _condition_failed(exc):
                raise
    raise ClientError(  # pragma: no cover - three takeovers raced in a row
        {"Error": {"Code": "ThrottlingException", "Message": "content claim kept changing"}},
        "UpdateItem",
    )


def _condition_failed(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def _missing(key: str, wait: int | None) -> str:
    within = f" within {wait // 60} min {wait % 60} s of the data file" if wait else ""
    return scrub(  # a file (and so its manifest) may be named after a card number
        f"the pipeline requires a manifest and {key} did not arrive{within}; upload the "
        "manifest, then the data file again (or reprocess the job)"
    )


def _whole(value: Any, default: int) -> int:
    return (
        value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else default
    )
