"""Logger, Tracer and Metrics for every function, the contract's metric names, and the
mapping of retryable AWS errors to :class:`etl_handlers.core.errors.TransientError`.

One place builds the Powertools utilities so that every function logs, traces and
publishes metrics the same way: service from ``POWERTOOLS_SERVICE_NAME`` (the metric
dimension ``service``), namespace from ``POWERTOOLS_METRICS_NAMESPACE`` (default
``EtlPipeline``). The metric names are mirrored in ``etl_constructs.naming`` (the dashboard
and alarms read them); a test keeps both sides equal.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.shared.functions import resolve_truthy_env_var_choice
from aws_lambda_powertools.tracing.base import BaseProvider, BaseSegment
from botocore.exceptions import (
    ClientError,
    ConnectionError,
    HTTPClientError,
    IncompleteReadError,
)

from etl_handlers.contract import (
    METRIC_FAILED_JOBS,
    METRIC_FILES_FAILED,
    METRIC_FILES_RECEIVED,
    METRIC_FILES_SUCCEEDED,
    METRIC_NAMES,
    METRIC_ROWS_ON_REFERENCE_PATH,
    METRIC_ROWS_PROCESSED,
    METRIC_ROWS_REJECTED,
    METRIC_STUCK_JOBS,
    METRIC_UNRECONCILED_JOBS,
    METRICS_NAMESPACE,
)
from etl_handlers.core.errors import TransientError

DEFAULT_SERVICE = "etl-pipeline"
DEFAULT_NAMESPACE = METRICS_NAMESPACE

PATCHED_MODULES = ("botocore",)
"""What the Tracer instruments: every AWS SDK call (all the handlers make go through
botocore). Powertools' default, every library the X-Ray SDK supports and finds installed,
would also import ``requests`` or ``sqlite3`` at cold start for calls the handlers never
make."""

THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "SlowDown",
        "EC2ThrottledException",
        "PriorRequestNotComplete",
        "RequestTimeout",
        "RequestTimeoutException",
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
    }
)
"""Error codes AWS services return for throttling or a temporary server-side problem."""

__all__ = [
    "DEFAULT_NAMESPACE",
    "DEFAULT_SERVICE",
    "METRIC_FAILED_JOBS",
    "METRIC_FILES_FAILED",
    "METRIC_FILES_RECEIVED",
    "METRIC_FILES_SUCCEEDED",
    "METRIC_NAMES",
    "METRIC_ROWS_ON_REFERENCE_PATH",
    "METRIC_ROWS_PROCESSED",
    "METRIC_ROWS_REJECTED",
    "METRIC_STUCK_JOBS",
    "METRIC_UNRECONCILED_JOBS",
    "PATCHED_MODULES",
    "THROTTLING_CODES",
    "NoTracing",
    "add_count",
    "build_logger",
    "build_metrics",
    "build_tracer",
    "is_transient",
    "metrics_namespace",
    "service_name",
    "tracing_disabled",
    "transient_aws_errors",
]


def service_name() -> str:
    """The Powertools service name: ``POWERTOOLS_SERVICE_NAME`` or ``etl-pipeline``."""
    return os.environ.get("POWERTOOLS_SERVICE_NAME") or DEFAULT_SERVICE


def metrics_namespace() -> str:
    """The CloudWatch namespace: ``POWERTOOLS_METRICS_NAMESPACE`` or ``EtlPipeline``."""
    return os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or DEFAULT_NAMESPACE


def build_logger() -> Logger:
    """A structured JSON logger for the service (level from ``POWERTOOLS_LOG_LEVEL``)."""
    return Logger(service=service_name())


def tracing_disabled() -> bool:
    """Whether Powertools switches the Tracer off: ``POWERTOOLS_TRACE_DISABLED`` is true, or
    the code runs outside Lambda (no ``LAMBDA_TASK_ROOT``), in SAM local or in Chalice.

    The rule of ``Tracer._is_tracer_disabled`` (a test holds both to the same answers),
    including its ``ValueError`` for a ``POWERTOOLS_TRACE_DISABLED`` that is no boolean.
    """
    if resolve_truthy_env_var_choice(env=os.getenv("POWERTOOLS_TRACE_DISABLED", "false")):
        return True
    return (
        not os.getenv("LAMBDA_TASK_ROOT")
        or bool(os.getenv("AWS_SAM_LOCAL"))
        or bool(os.getenv("AWS_CHALICE_CLI_MODE"))
    )


def build_tracer() -> Tracer:
    """An X-Ray tracer that also patches botocore (off when ``POWERTOOLS_TRACE_DISABLED``,
    and outside Lambda).

    With tracing on (in Lambda) the provider is Powertools' default, the X-Ray recorder
    (its sampler there is the local one), and :data:`PATCHED_MODULES` are patched. A
    disabled Tracer gets :class:`NoTracing` instead of the recorder it would never use:
    importing ``aws_xray_sdk.core`` outside Lambda builds the recorder's centralized sampler,
    which creates an ``xray`` botocore client (well over 100 ms of every import).
    """
    if tracing_disabled():
        return Tracer(service=service_name(), disabled=True, provider=NoTracing())
    return Tracer(service=service_name(), patch_modules=PATCHED_MODULES)


class _NoSegment(BaseSegment):
    """The (sub)segment of :class:`NoTracing`: takes annotations, metadata, exceptions and
    keeps none, as the X-Ray SDK's dummy segments do while the SDK is disabled."""

    def close(self, end_time: int | None = None) -> None:
        pass

    def add_subsegment(self, subsegment: Any) -> None:
        pass

    def remove_subsegment(self, subsegment: Any) -> None:
        pass

    def put_annotation(self, key: str, value: Any) -> None:
        pass

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        pass

    def add_exception(self, exception: BaseException, stack: Any, remote: bool = False) -> None:
        pass


_NO_SEGMENT = _NoSegment()


class NoTracing(BaseProvider):
    """The tracing provider of a disabled Tracer: records nothing, patches nothing."""

    @contextmanager
    def in_subsegment(self, name: str | None = None, **kwargs: Any) -> Iterator[BaseSegment]:
        yield _NO_SEGMENT

    @asynccontextmanager
    async def in_subsegment_async(
        self, name: str | None = None, **kwargs: Any
    ) -> AsyncIterator[BaseSegment]:
        yield _NO_SEGMENT

    def put_annotation(self, key: str, value: Any) -> None:
        pass

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        pass

    def patch(self, modules: Sequence[str]) -> None:
        pass

    def patch_all(self) -> None:
        pass


def build_metrics() -> Metrics:
    """An EMF metrics publisher with the dimension ``service`` = the service name."""
    return Metrics(namespace=metrics_namespace(), service=service_name())


def add_count(metrics: Metrics, name: str, value: int = 1) -> None:
    """Add a ``Count`` metric; names come from the ``METRIC_*`` constants."""
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` is an AWS error worth retrying: throttling, a 5xx, a dropped
    connection or a read that timed out. Everything else (access denied, missing
    resources, validation errors) would fail the same way again."""
    if isinstance(exc, TransientError):
        return True
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        return error.get("Code") in THROTTLING_CODES or int(status) >= 500
    return isinstance(exc, ConnectionError | HTTPClientError | IncompleteReadError)


@contextmanager
def transient_aws_errors(operation: str) -> Iterator[None]:
    """Re-raise retryable AWS errors inside the block as ``TransientError``.

    The state machine retries ``TransientError`` with backoff; any other exception goes
    to the failure branch. The message names the operation and the AWS error code only,
    never request data.
    """
    try:
        yield
    except TransientError:
        raise
    except Exception as exc:
        if not is_transient(exc):
            raise
        raise TransientError(f"{operation} failed temporarily: {_describe(exc)}") from exc


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code") or "ClientError")
    return type(exc).__name__
