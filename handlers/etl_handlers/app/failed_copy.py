"""The failure branch's copy of a source too big for one CopyObject (above 5 GiB).

S3 copies at most 5 GiB in one ``CopyObject`` request, the state machine's own copy. A
bigger source is copied here in parts (``UploadPartCopy``, through boto3's managed copy):
the source pinned to the job's version, the destination ``failed/{job}/{file name}``
computed from the job as the trigger computed it (never taken from the event), and no
encryption settings of its own, so the copy gets the bucket's default encryption (its KMS
key) as ``CopyObject`` does. A copy that fails midway is aborted: ``failed/`` then holds
nothing for the job, and the state machine records the job without a ``failed/`` copy.

The validator runs it (event ``{"mode": "copy-failed", "jobId", "bucket", "key",
"versionId"}``): it already reads ``raw/`` and uses the bucket's key, and its role adds only
``s3:PutObject`` and ``s3:AbortMultipartUpload`` on ``failed/*``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from etl_handlers import contract as env
from etl_handlers.aws import s3io
from etl_handlers.aws.observability import transient_aws_errors
from etl_handlers.core import keys
from etl_handlers.core.errors import ConfigurationError

#: Part size of the copy: 512 MiB parts keep a 5 TB object within S3's 10,000 parts
#: (boto3 raises the size further when needed) and each part one server-side request.
PART_SIZE = 512 * s3io.MiB
#: Parts copied at once (each is a request S3 answers when its part is copied).
CONCURRENCY = 16

__all__ = ["CONCURRENCY", "PART_SIZE", "copy_to_failed"]


def copy_to_failed(
    event: Mapping[str, Any], *, s3: Any, data_bucket: str | None = None
) -> dict[str, Any]:
    """Copy the job's source to ``failed/``; returns ``{"failedKey", "bytes"}``.

    Raises ``ValueError`` for an event that is not a job of the data bucket, and
    ``TransientError`` for a retryable AWS error; any other error (the source is gone, access
    denied) propagates as it is and the state machine records the job without a copy.
    """
    data_bucket = data_bucket if data_bucket is not None else os.environ.get(env.DATA_BUCKET)
    if not data_bucket:
        raise ConfigurationError(f"{env.DATA_BUCKET} is not set")
    if not isinstance(event, Mapping):
        raise ValueError("the copy payload must be a JSON object")
    job_id, bucket, key = event.get("jobId"), event.get("bucket"), event.get("key")
    if not (isinstance(job_id, str) and keys.is_job_id(job_id)):
        raise ValueError("the copy payload needs the job's id")
    if bucket != data_bucket:
        raise ValueError("the copy payload names another bucket than the pipeline's")
    if not (isinstance(key, str) and keys.is_pipeline_input(key)):
        raise ValueError("the copy payload's key is not a pipeline input under raw/")
    version_id = s3io.normalize_version_id(event.get("versionId"))
    failed_key = keys.failed_key(job_id, key)
    with transient_aws_errors("copy to failed/"):
        size = s3io.copy_object(
            bucket,
            key,
            bucket,
            failed_key,
            version_id=version_id,
            client=s3,
            part_size=PART_SIZE,
            concurrency=CONCURRENCY,
        )
    return {"failedKey": failed_key, "bytes": size}
