"""The example app's pipeline in moto, and the means to break it on purpose.

Faults are injected where they happen in production: the local runtime's
``fault_injector`` (a function that raises, hangs or is throttled before its handler runs)
and the AWS SDK (a throttled DynamoDB write, a failed S3 put), through botocore's event
hooks on the clients the handlers use. Nothing of the pipeline's own code is mocked.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from botocore.exceptions import ClientError

from etl_constructs.local import CloudAssembly, LocalPipeline

#: Lambda timeouts x 0.1: the API's 29 s become 2.9 s, enough on a busy machine; a
#: 10-minute step would time out after 60 s. The timeout test lowers it for one job.
TIME_SCALE = 0.1
FINAL = ("SUCCEEDED", "FAILED")


class _Records(logging.Handler):
    """Every log record, with its extra fields, as one JSON line."""

    def __init__(self) -> None:
        super().__init__(logging.NOTSET)
        self.lines: list[str] = []

    _STANDARD = frozenset(vars(logging.makeLogRecord({})))

    def emit(self, record: logging.LogRecord) -> None:
        fields = {k: v for k, v in vars(record).items() if k not in self._STANDARD}
        fields["logger"], fields["message"] = record.name, record.getMessage()
        if record.exc_info:
            fields["exception"] = logging.Formatter().formatException(record.exc_info)
        self.lines.append(json.dumps(fields, default=str))


class Driver:
    """The pipeline's public doors (bucket, API, quality check) plus fault injection."""

    def __init__(self, pipeline: LocalPipeline, log_path: Path, records: _Records) -> None:
        self.pipeline = pipeline
        self.records = records
        self.s3 = pipeline.s3
        self.bucket = pipeline.bucket
        self.log_path = log_path
        self.functions = pipeline.functions

    # -- doors -----------------------------------------------------------------------------
    def key(self, name: str) -> str:
        return f"raw/rel/{uuid.uuid4().hex[:8]}/{name}"

    def put(self, key: str, body: bytes) -> tuple[str, str | None]:
        response = self.s3.put_object(Bucket=self.bucket, Key=key, Body=body)
        return key, response.get("VersionId")

    def wait(self, key: str, version: str | None, timeout: float = 60) -> dict[str, Any]:
        job = self.pipeline.wait([(key, version)], timeout=timeout)[(key, version)]
        assert job is not None, f"no job for {key}"
        assert job["status"] in FINAL, f"{key} still {job['status']} after {timeout}s"
        return job

    def run(self, name: str, body: bytes, timeout: float = 60) -> dict[str, Any]:
        return self.wait(*self.put(self.key(name), body), timeout=timeout)

    def read(self, key: str) -> bytes:
        return self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def keys(self, prefix: str = "") -> list[str]:
        return sorted(self.pipeline._keys(prefix))

    def job_keys(self, job_id: str) -> dict[str, list[str]]:
        """Every object a job wrote, by prefix."""
        found: dict[str, list[str]] = {}
        for prefix in ("validated/", "rejected/", "processed/", "enriched/", "failed/"):
            keys = self.keys(f"{prefix}{job_id}/")
            if keys:
                found[prefix] = keys
        return found

    def jobs_for(self, key: str) -> list[dict[str, Any]]:
        self.pipeline.deliver_events()
        return [j for j in self.pipeline.jobs() if j.get("fileName") == key]

    def executions(self) -> list[dict[str, Any]]:
        arn = self.pipeline.sfn.list_state_machines()["stateMachines"][0]["stateMachineArn"]
        pages = self.pipeline.sfn.get_paginator("list_executions").paginate(stateMachineArn=arn)
        return [e for page in pages for e in page["executions"]]

    def api(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        parameters = None
        if path.startswith("/status/"):
            parameters = {"jobId": path[len("/status/") :]}
        return self.pipeline.api(method, path, path_parameters=parameters, **kwargs)

    def function(self, module: str) -> Any:
        return self.pipeline.function_by_handler(module)

    def state_machine_definition(self) -> dict[str, Any]:
        arn = self.pipeline.sfn.list_state_machines()["stateMachines"][0]["stateMachineArn"]
        return json.loads(
            self.pipeline.sfn.describe_state_machine(stateMachineArn=arn)["definition"]
        )

    def log_text(self) -> str:
        """The pipeline's log file and every log record the handlers emitted (a handler
        module imported before the runtime started, by another test, logs to the stream it
        found at import, not to the file; its records still pass through ``logging``)."""
        if self.pipeline._log_file is not None:
            self.pipeline._log_file.flush()
        return self.log_path.read_text(encoding="utf-8") + "\n".join(self.records.lines)

    def warm_up(self) -> None:
        """Import the API and trigger handlers with Lambda's own timeouts: scaled down, their
        29 and 30 seconds leave about 0.6 s, short for a first import on a busy machine."""
        scale, self.functions.time_scale = self.functions.time_scale, 1.0
        try:
            self.api("GET", "/jobs", query={"status": "FAILED"})
            self.functions.invoke(self.function("trigger"), {"source": "warm-up"})
        finally:
            self.functions.time_scale = scale

    # -- faults ----------------------------------------------------------------------------
    @contextlib.contextmanager
    def faults(self, injector: Callable[[Any, Any], None]) -> Iterator[None]:
        """Run ``injector(function, event)`` before every invocation inside the block."""
        self.functions.fault_injector = injector
        try:
            yield
        finally:
            self.functions.fault_injector = None

    @contextlib.contextmanager
    def sdk_fault(
        self,
        client: Any,
        operation: str,
        *,
        code: str,
        status: int,
        when: Callable[[dict[str, Any]], bool] = lambda params: True,
        times: int = 1,
    ) -> Iterator[dict[str, int]]:
        """Make ``operation`` (``s3.PutObject``) of ``client`` fail ``times`` times with an
        AWS error, as the SDK reports it after its own retries; ``when(params)`` picks the
        calls. Yields ``{"injected": n}``."""
        state = {"injected": 0}
        lock = threading.Lock()
        service, name = operation.split(".")

        def hook(params: dict[str, Any], **_: Any) -> None:
            with lock:
                if state["injected"] >= times or not when(params):
                    return
                state["injected"] += 1
            raise ClientError(
                {
                    "Error": {"Code": code, "Message": "injected fault"},
                    "ResponseMetadata": {"HTTPStatusCode": status},
                },
                name,
            )

        event = f"before-parameter-build.{service}.{name}"
        client.meta.events.register(event, hook)
        try:
            yield state
        finally:
            client.meta.events.unregister(event, hook)

    def handler_clients(self) -> tuple[Any, Any]:
        """The S3 and DynamoDB clients the handlers share (created by their first run)."""
        from etl_handlers.aws import jobs, s3io

        from etl_constructs.local.resolve import REGION

        with mock.patch.dict(os.environ, {"AWS_DEFAULT_REGION": REGION}):
            return s3io.default_client(), jobs.default_client()


@pytest.fixture(scope="module")
def driver(example_app, tmp_path_factory) -> Iterator[Driver]:
    """The example app (suffix ``ci``) stood up in moto, one per test module."""
    _, _, assembly, _ = example_app
    log_path = tmp_path_factory.mktemp("reliability") / "pipeline.log"
    records = _Records()
    logging.getLogger().addHandler(records)
    try:
        with LocalPipeline(
            CloudAssembly.load(Path(assembly.directory)), log_path=log_path, time_scale=TIME_SCALE
        ) as pipeline:
            driver = Driver(pipeline, log_path, records)
            driver.warm_up()
            yield driver
    finally:
        logging.getLogger().removeHandler(records)
