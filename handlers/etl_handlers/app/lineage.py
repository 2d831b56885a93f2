"""Emit a job's OpenLineage run events (``core/lineage.py`` builds them).

On when the function has ``ETL_LINEAGE_NAMESPACE`` (the workflow's ``lineage`` prop). Each
event is written once to the data bucket under ``contract.LINEAGE_KEY`` with a conditional
put (``If-None-Match: *``): a retried Lambda or a repeated EventBridge event finds the event
there and emits nothing again, so every run has one START and one COMPLETE or FAIL, with the
one run id of its job attempt. With ``ETL_LINEAGE_ENDPOINT`` the event is then POSTed there
(``Authorization: Bearer`` the value of the secret ``ETL_LINEAGE_API_KEY_SECRET``, if any;
a redirect is not followed, so the key goes to the endpoint's host alone, and counts as a
failed delivery; the POST has :data:`HTTP_TIMEOUT_SECONDS` in all), and with
``ETL_LINEAGE_DATAZONE_DOMAIN`` posted to that Amazon DataZone domain (``PostLineageEvent``,
SigV4 as every AWS call).

Emitting never fails the job: an error is logged (its kind, never the endpoint's URL, the
key or the event) and counted in the ``LineageEventsFailed`` metric.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.config import Config
from botocore.exceptions import ClientError

from etl_handlers import contract
from etl_handlers.aws import clients, s3io
from etl_handlers.aws.jobs import iso
from etl_handlers.aws.observability import add_count, build_metrics
from etl_handlers.contract import STEPS
from etl_handlers.core import lineage
from etl_handlers.core.schema import load_schema

CARD_NUMBER_TYPE = "card_number"
HTTP_TIMEOUT_SECONDS = 5.0
"""How long one POST to the endpoint may take in all: the step waits for it."""
#: Secrets Manager and DataZone: short timeouts, one retry (the step waits for them).
SERVICE_CONFIG = Config(
    connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 2}
)
#: S3's answers to a conditional put that finds the key taken (412), or being written (409).
_TAKEN = frozenset({"PreconditionFailed", "ConditionalRequestConflict"})

WRITTEN, EXISTS, OFF, FAILED = "written", "exists", "off", "failed"

__all__ = ["EXISTS", "FAILED", "OFF", "WRITTEN", "LineageSettings", "emit", "emit_for_status"]

Sender = Callable[[str, bytes, Mapping[str, str], float], int]
"""POSTs ``body`` to a URL with headers and a timeout; returns the HTTP status."""


@dataclass(frozen=True, kw_only=True)
class LineageSettings:
    """Where events go: the job namespace, and an optional endpoint and its key's secret."""

    namespace: str
    endpoint: str | None = None
    api_key_secret: str | None = None
    datazone_domain: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> LineageSettings | None:
        """The function's settings; None when lineage is off."""
        environ = os.environ if environ is None else environ
        namespace = (environ.get(contract.LINEAGE_NAMESPACE) or "").strip()
        if not namespace:
            return None
        return cls(
            namespace=namespace,
            endpoint=(environ.get(contract.LINEAGE_ENDPOINT) or "").strip() or None,
            api_key_secret=(environ.get(contract.LINEAGE_API_KEY_SECRET) or "").strip() or None,
            datazone_domain=(environ.get(contract.LINEAGE_DATAZONE_DOMAIN) or "").strip() or None,
        )


def emit_for_status(job: Mapping[str, Any], **kwargs: Any) -> str:
    """COMPLETE or FAIL as the job's final status calls for (nothing while it runs)."""
    event_type = lineage.event_type_of(job.get("status"))
    if event_type is None:
        return OFF
    return emit(event_type, job, **kwargs)


def emit(
    event_type: str,
    job: Mapping[str, Any],
    *,
    s3: Any = None,
    log: Callable[..., None] | None = None,
    metrics: Any = None,
    settings: LineageSettings | None = None,
    send: Sender | None = None,
    secrets: Any = None,
    datazone: Any = None,
    now: Callable[[], datetime] | None = None,
) -> str:
    """Emit the run event ``event_type`` of the job record ``job``, once.

    Returns ``written`` (and sent, with an endpoint), ``exists`` (emitted before: nothing
    done), ``off`` (lineage is off) or ``failed`` (logged and counted; the job goes on).
    ``settings`` default to the environment's; ``send``, ``secrets`` (a Secrets Manager
    client) and ``datazone`` (a DataZone client) are injectable for tests.
    """
    settings = settings if settings is not None else LineageSettings.from_env()
    if settings is None:
        return OFF
    say = log or (lambda message, **fields: None)
    job_id = str(job.get("jobId"))
    try:
        event = lineage.run_event(
            event_type,
            job,
            namespace=settings.namespace,
            producer=lineage.PRODUCER,
            event_time=_recorded_time(event_type, job) or iso((now or _utcnow)()),
            card_columns=_card_columns(os.environ.get(contract.SCHEMA) or None),
        )
        body = json.dumps(event, sort_keys=True, separators=(",", ":")).encode()
        key = lineage.event_key(job_id, lineage.attempt_of(job), event_type)
    except Exception as exc:  # a record the builder cannot read: a defect, never the job's
        return _failed(say, metrics, "build", exc, job_id=job_id, event=event_type)
    written = _write_once(s3, str(job.get("bucket")), key, body)
    if written == EXISTS:
        say("lineage event emitted before; not again", job_id=job_id, event=event_type)
        return EXISTS
    if isinstance(written, BaseException):
        _failed(say, metrics, "bucket", written, job_id=job_id, event=event_type)
    delivered = not isinstance(written, BaseException)
    if settings.endpoint:
        try:
            _post(settings, body, send=send or _urllib_send, secrets=secrets)
        except Exception as exc:  # never the job's failure: logged and counted
            delivered = False
            _failed(say, metrics, "endpoint", exc, job_id=job_id, event=event_type)
    if settings.datazone_domain:
        try:
            (datazone or clients.shared_client("datazone", SERVICE_CONFIG)).post_lineage_event(
                domainIdentifier=settings.datazone_domain,
                event=body,
                # one token per event: DataZone takes a repeated post as the same request
                clientToken=f"{event['run']['runId']}-{event_type}",
            )
        except Exception as exc:  # never the job's failure: logged and counted
            delivered = False
            _failed(say, metrics, "datazone", exc, job_id=job_id, event=event_type)
    if not delivered:
        return FAILED
    say("lineage event emitted", job_id=job_id, event=event_type, key=key)
    return WRITTEN


def _write_once(s3: Any, bucket: str, key: str, body: bytes) -> str | BaseException:
    try:
        (s3 or s3io.default_client()).put_object(
            Bucket=bucket,
            Key=key,
            Body=body,
            ContentType="application/json",
            IfNoneMatch="*",
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in _TAKEN:
            return EXISTS
        return exc
    except Exception as exc:  # never the job's failure: the caller logs and counts it
        return exc
    return WRITTEN


def _post(settings: LineageSettings, body: bytes, *, send: Sender, secrets: Any) -> None:
    assert settings.endpoint is not None
    headers = {"Content-Type": "application/json"}
    if settings.api_key_secret:
        headers["Authorization"] = f"Bearer {_api_key(settings.api_key_secret, secrets)}"
    status = _within(HTTP_TIMEOUT_SECONDS, send, settings.endpoint, body, headers)
    if not 200 <= status < 300:  # a 3xx too: the redirect was not followed
        raise EndpointRefused(status)


def _within(seconds: float, send: Sender, url: str, body: bytes, headers: dict[str, str]) -> int:
    """``send``'s status, waited for ``seconds`` at most: the socket timeout bounds each
    read only, and an endpoint that drips a byte now and then must not hold the step. The
    POST runs in a daemon thread; past the deadline its answer is dropped (the thread ends
    by its own socket timeout, or with the process)."""
    outcome: dict[str, Any] = {}

    def post() -> None:
        try:
            outcome["status"] = send(url, body, headers, seconds)
        except BaseException as exc:  # handed to the caller, who logs and counts it
            outcome["error"] = exc

    worker = threading.Thread(target=post, name="lineage-post", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise TimeoutError(f"the lineage endpoint did not answer within {seconds:g} s")
    if "error" in outcome:
        raise outcome["error"]
    return int(outcome["status"])


class EndpointRefused(Exception):
    """The endpoint answered with a status other than 2xx."""

    def __init__(self, status: int) -> None:
        super().__init__(f"the lineage endpoint answered HTTP {status}")
        self.status = status


def _urllib_send(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> int:
    import urllib.error  # only functions with an endpoint pay for the import
    import urllib.request

    if not url.lower().startswith(("https://", "http://")):
        raise ValueError("the lineage endpoint is not an http(s) URL")
    request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")  # noqa: S310
    # No redirects: urllib would re-send the key to any host, and the event as a GET.
    opener = urllib.request.build_opener(_no_redirect_handler())
    try:
        with opener.open(request, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:  # a 3xx arrives here, unfollowed
        with contextlib.suppress(Exception):
            exc.close()
        return int(exc.code)


@functools.cache
def _no_redirect_handler() -> type:
    import urllib.request

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        """Answers a redirect with no new request: the 3xx is the POST's status."""

        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    return NoRedirect


_keys: dict[str, str] = {}


def _api_key(secret_arn: str, secrets: Any) -> str:
    """The endpoint's key from Secrets Manager, read once per process."""
    if secret_arn not in _keys:
        client = secrets or clients.shared_client("secretsmanager", SERVICE_CONFIG)
        value = client.get_secret_value(SecretId=secret_arn).get("SecretString")
        if not value:
            raise ValueError("the lineage API key secret has no string value")
        _keys[secret_arn] = value.strip()
    return _keys[secret_arn]


@functools.lru_cache(maxsize=8)
def _card_columns(document: str | None) -> tuple[str, ...]:
    return tuple(c.name for c in load_schema(document).columns if c.type == CARD_NUMBER_TYPE)


def _failed(
    say: Callable[..., None], metrics: Any, where: str, exc: BaseException, **fields: Any
) -> str:
    # the error's kind and S3 code only: a message may quote the endpoint's URL or a key
    code = exc.response.get("Error", {}).get("Code") if isinstance(exc, ClientError) else None
    status = exc.status if isinstance(exc, EndpointRefused) else None
    say(
        "lineage event not emitted",
        where=where,
        error=type(exc).__name__,
        **({"code": code} if code else {}),
        **({"httpStatus": status} if status else {}),
        **fields,
    )
    add_count(metrics if metrics is not None else build_metrics(), contract.METRIC_LINEAGE_FAILED)
    return FAILED


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _recorded_time(event_type: str, job: Mapping[str, Any]) -> str | None:
    """When the record says the event happened: validation's start, the failure, or the
    write that ended the job (``updatedAt`` of the record that step returned)."""
    if event_type == lineage.START:
        value = ((job.get("steps") or {}).get(STEPS[0]) or {}).get("startedAt")
    elif event_type == lineage.FAIL:
        value = job.get("failedAt")
    else:
        value = job.get("updatedAt")
    return value if isinstance(value, str) and "T" in value else None
