"""``aws.clients``: botocore clients configured as ``boto3.client`` would configure them."""

from __future__ import annotations

import boto3
import pytest
from etl_handlers.app import ingest
from etl_handlers.aws import clients, jobs, s3io


@pytest.mark.parametrize(
    ("service", "config"),
    [
        ("s3", s3io.CLIENT_CONFIG),
        ("dynamodb", jobs.CLIENT_CONFIG),
        ("stepfunctions", ingest.CLIENT_CONFIG),
    ],
)
def test_a_client_is_what_boto3_would_make(
    service: str, config: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    ours = clients.create_client(service, config)  # type: ignore[arg-type]
    theirs = boto3.client(service, config=config)  # type: ignore[call-overload]
    assert type(ours).__module__ == "botocore.client"
    assert ours.meta.region_name == theirs.meta.region_name == "eu-west-1"
    assert ours.meta.endpoint_url == theirs.meta.endpoint_url
    assert ours.meta.config.retries == theirs.meta.config.retries
    assert ours.meta.config.retries == {"mode": "standard", "total_max_attempts": 6}
    assert ours.meta.config.signature_version == theirs.meta.config.signature_version


def test_clients_share_one_session() -> None:
    clients.create_client("s3", s3io.CLIENT_CONFIG)
    session = clients._session
    clients.create_client("dynamodb", jobs.CLIENT_CONFIG)
    assert session is not None and clients._session is session
