"""Powertools setup, contract metric names, and which AWS errors count as transient."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import (
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)
from etl_handlers.aws import observability
from etl_handlers.core.errors import TransientError


def client_error(code: str, status: int = 400) -> Any:
    from botocore.exceptions import ClientError

    return ClientError(
        {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "Op",
    )


def test_service_and_namespace_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "etl-pipeline-dev")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Custom")
    assert observability.service_name() == "etl-pipeline-dev"
    assert observability.metrics_namespace() == "Custom"
    monkeypatch.delenv("POWERTOOLS_SERVICE_NAME")
    monkeypatch.delenv("POWERTOOLS_METRICS_NAMESPACE")
    assert observability.service_name() == "etl-pipeline"
    assert observability.metrics_namespace() == "EtlPipeline"


def test_metrics_are_emf_with_the_service_dimension(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "etl-pipeline-dev")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "EtlPipeline")
    metrics = observability.build_metrics()
    # Powertools keeps one metric set per process: an earlier test's unflushed count (the
    # lineage emitter counts into the handler's set, which the handler's decorator flushes)
    # is not this test's
    metrics.clear_metrics()
    observability.add_count(metrics, observability.METRIC_FILES_RECEIVED, 2)
    metrics.flush_metrics()
    blob = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    directive = blob["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "EtlPipeline"
    assert directive["Dimensions"] == [["service"]]
    assert directive["Metrics"] == [{"Name": "FilesReceived", "Unit": "Count"}]
    assert blob["service"] == "etl-pipeline-dev" and blob["FilesReceived"] == [2.0]


def test_logger_and_tracer_build() -> None:
    assert observability.build_logger().service == observability.service_name()
    assert observability.build_tracer() is not None


@pytest.mark.parametrize(
    "error",
    [
        client_error("ThrottlingException"),
        client_error("ProvisionedThroughputExceededException"),
        client_error("SlowDown", 503),
        client_error("InternalError", 500),
        client_error("Whatever", 502),
        EndpointConnectionError(endpoint_url="https://x"),
        ConnectTimeoutError(endpoint_url="https://x"),
        ReadTimeoutError(endpoint_url="https://x"),
        TransientError("already"),
    ],
)
def test_retryable_errors(error: Exception) -> None:
    assert observability.is_transient(error)
    with pytest.raises(TransientError) as raised, observability.transient_aws_errors("op"):
        raise error
    assert "op" in str(raised.value) or raised.value is error


@pytest.mark.parametrize(
    "error",
    [
        client_error("AccessDenied", 403),
        client_error("ValidationException"),
        client_error("NoSuchKey", 404),
        NoCredentialsError(),
        ValueError("bug"),
    ],
)
def test_permanent_errors_pass_through(error: Exception) -> None:
    assert not observability.is_transient(error)
    with pytest.raises(type(error)), observability.transient_aws_errors("op"):
        raise error


def test_transient_message_names_the_code_not_the_request() -> None:
    with pytest.raises(TransientError) as raised, observability.transient_aws_errors("put job"):
        raise client_error("ThrottlingException")
    assert str(raised.value) == "put job failed temporarily: ThrottlingException"
    with pytest.raises(TransientError) as raised, observability.transient_aws_errors("get"):
        raise EndpointConnectionError(endpoint_url="https://secret")
    assert "secret" not in str(raised.value)
    assert isinstance(raised.value.__cause__, EndpointConnectionError)
