"""Fixtures for the handler tests: moto-backed S3, DynamoDB and Step Functions shaped like
the deployed pipeline (bucket, job table with the ``TimestampIndex`` GSI, a trivial state
machine that accepts ``start_execution``), and the environment the constructs set."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws

from .handlers_testkit import BUCKET, PIPELINE_ENV, REGION, TABLE, Clock, create_table

# Read by Powertools when the handler modules are imported (at collection time).
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "1")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "EtlPipelineTest")
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "etl-pipeline-test")


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and the pipeline's environment, restored after each test."""
    for name, value in PIPELINE_ENV.items():
        monkeypatch.setenv(name, value)
    for name in (
        "ETL_SCHEMA",
        "ETL_MAX_REJECT_RATE",
        "ETL_OUTPUT_FORMAT",
        "ETL_STUCK_AFTER_MINUTES",
        "ETL_QUALITY_WINDOW_HOURS",
        "AWS_PROFILE",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def aws(aws_env: None) -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def ddb(aws: None) -> Any:
    client = boto3.client("dynamodb", region_name=REGION)
    create_table(client)
    return client


@pytest.fixture
def s3(aws: None) -> Any:
    client = boto3.client("s3", region_name=REGION)
    client.create_bucket(Bucket=BUCKET)
    return client


@pytest.fixture
def versioned_s3(s3: Any) -> Any:
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    return s3


@pytest.fixture
def sfn(aws: None, monkeypatch: pytest.MonkeyPatch) -> Any:
    client = boto3.client("stepfunctions", region_name=REGION)
    arn = client.create_state_machine(
        name="etl-workflow-test",
        definition=json.dumps(
            {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}
        ),
        roleArn="arn:aws:iam::123456789012:role/etl-workflow-test",
    )["stateMachineArn"]
    monkeypatch.setenv("ETL_STATE_MACHINE_ARN", arn)
    client.state_machine_arn = arn  # type: ignore[attr-defined]
    return client


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC))


@pytest.fixture
def store(ddb: Any, clock: Clock) -> Any:
    from etl_handlers.aws.jobs import JobStore

    return JobStore(TABLE, client=ddb, clock=clock)
