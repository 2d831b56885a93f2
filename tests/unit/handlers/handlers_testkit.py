"""Constants and helpers shared by the handler tests (imported by conftest and tests)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

REGION = "us-east-1"
BUCKET = "etl-data-bucket-test"
TABLE = "etl-metadata-test"
INDEX = "TimestampIndex"
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
    from shared import keys

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


def read(s3: Any, key: str) -> bytes:
    return s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()


def exists(s3: Any, key: str) -> bool:
    return s3.list_objects_v2(Bucket=BUCKET, Prefix=key).get("KeyCount", 0) > 0


def all_keys(s3: Any) -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []))
