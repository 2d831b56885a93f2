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
