"""Constants and helpers shared by the handler tests (imported by conftest and tests)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

REGION = "us-east-1"
BUCKET = "etl-data-bucket-test"
TABLE = "etl-metadata-test"
INDEX = "TimestampIndex"
PIPELINE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "ETL_DATA_BUCKET": BUCKET,
    "ETL_JOB_TABLE": TABLE,
    "ETL_JOB_INDEX": INDEX,
}
"""Fake credentials and the pipeline's environment, as the handler tests set them."""
NAMESPACE = "EtlPipelineTest"


class Clock:
    """A settable clock for the job store (and anything else that takes ``clock=``)."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> None:
        self.moment = self.moment + timedelta(**delta)


def create_table(client: Any) -> None:
    """The job table as MetadataStore creates it: jobId + fileName, GSI status + timestamp."""
    client.create_table(
        TableName=TABLE,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "jobId", "AttributeType": "S"},
            {"AttributeName": "fileName", "AttributeType": "S"},
            {"AttributeName": "status", "AttributeType": "S"},
            {"AttributeName": "timestamp", "AttributeType": "N"},
        ],
        KeySchema=[
            {"AttributeName": "jobId", "KeyType": "HASH"},
            {"AttributeName": "fileName", "KeyType": "RANGE"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": INDEX,
                "KeySchema": [
                    {"AttributeName": "status", "KeyType": "HASH"},
                    {"AttributeName": "timestamp", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )


HEADER = (
    "transaction_id,account_id,timestamp,amount,currency,transaction_type,merchant,"
    "category,card_number,country"
)


def row(
    n: int,
    *,
    amount: str = "10.00",
    currency: str = "EUR",
    kind: str = "DEBIT",
    card: str = "4111111111111111",
    merchant: str = "Shop",
) -> str:
    """One valid transaction line of the default schema."""
    return (
        f"t-{n},ACC{n},2026-11-19T10:00:00+01:00,{amount},{currency},{kind},{merchant},"
        f"food,{card},DE"
    )


def csv_bytes(*lines: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *lines]) + "\n").encode()


def good_csv(count: int = 3) -> bytes:
    return csv_bytes(*(row(n, kind="DEBIT" if n % 2 else "CREDIT") for n in range(1, count + 1)))


def step_event(job: dict[str, Any], key: str) -> dict[str, Any]:
    """The state machine state as the trigger starts it (the steps read these fields)."""
    return {
        "jobId": job["jobId"],
        "bucket": job["bucket"],
        "key": key,
        "versionId": job.get("versionId"),
        "fileName": key,
        "sizeBytes": job["sizeBytes"],
    }


def put_source(s3: Any, store: Any, key: str, body: bytes) -> dict[str, Any]:
    """Upload ``body`` under ``key`` and create its job as the trigger would."""
    from etl_handlers.core import keys

    response = s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    version_id = response.get("VersionId")
    etag = response["ETag"].strip('"')
    job, _ = store.create(
        job_id=keys.job_id(BUCKET, key, version_id or etag),
        file_name=key,
        bucket=BUCKET,
        version_id=version_id,
        etag=etag,
        size_bytes=len(body),
    )
    return step_event(job, key)


class Recorder:
    """Stands in for Powertools Metrics: records add_metric calls."""

    def __init__(self) -> None:
        self.metrics: dict[str, float] = {}

    def add_metric(self, name: str, unit: Any, value: float) -> None:
        self.metrics[name] = self.metrics.get(name, 0) + value


def read(s3: Any, key: str) -> bytes:
    return s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()


def exists(s3: Any, key: str) -> bool:
    return s3.list_objects_v2(Bucket=BUCKET, Prefix=key).get("KeyCount", 0) > 0


def all_keys(s3: Any) -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []))


class FakeContext:
    """The parts of a Lambda context Powertools reads."""

    function_name = "etl-test-function"
    function_version = "$LATEST"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:etl-test-function"
    aws_request_id = "11111111-2222-3333-4444-555555555555"
    log_group_name = "/etl/test/function"
    log_stream_name = "stream"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def s3_event(
    key: str,
    *,
    bucket: str = BUCKET,
    version_id: str | None = None,
    etag: str = "0123456789abcdef0123456789abcdef",
    size: int | None = 100,
    detail_type: str = "Object Created",
) -> dict[str, Any]:
    """An EventBridge S3 event as the bucket sends it (``key`` as given, not re-encoded)."""
    obj: dict[str, Any] = {"key": key, "etag": etag, "sequencer": "00617F08299329D189"}
    if size is not None:
        obj["size"] = size
    if version_id is not None:
        obj["version-id"] = version_id
    return {
        "version": "0",
        "id": "17793124-05d4-b198-2fde-7ededc63b103",
        "detail-type": detail_type,
        "source": "aws.s3",
        "account": "123456789012",
        "time": "2026-11-20T12:00:00Z",
        "region": REGION,
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": {
            "version": "0",
            "bucket": {"name": bucket},
            "object": obj,
            "request-id": "N4N7GDK58NMKJ12R",
            "requester": "123456789012",
            "source-ip-address": "1.2.3.4",
            "reason": "PutObject",
        },
    }


def event_for_upload(response: dict[str, Any], key: str, size: int, **kw: Any) -> dict[str, Any]:
    """The event S3 sends for a put_object ``response``."""
    return s3_event(
        key,
        version_id=response.get("VersionId"),
        etag=response["ETag"].strip('"'),
        size=size,
        **kw,
    )


def emf_metrics(output: str) -> dict[str, float]:
    """Metric name -> summed value from the EMF blobs Powertools printed."""
    import json

    found: dict[str, float] = {}
    for line in output.splitlines():
        if '"_aws"' not in line:
            continue
        blob = json.loads(line)
        for directive in blob["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                values = blob[metric["Name"]]
                values = values if isinstance(values, list) else [values]
                found[metric["Name"]] = found.get(metric["Name"], 0) + sum(values)
    return found
