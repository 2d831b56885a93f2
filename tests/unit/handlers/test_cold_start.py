"""Cold start (issue 5): what importing a handler loads, each time in a fresh interpreter.

These check what gets imported, not how long it takes (timings on a shared machine are
noise): boto3, its S3 transfer manager and the X-Ray recorder used to be most of a handler's
import time. With tracing on, as in Lambda, the Tracer still records through X-Ray and
patches botocore: a traced call reaches the X-Ray daemon.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools import Tracer
from etl_handlers.aws import observability

HANDLERS_DIR = Path(__file__).resolve().parents[3] / "handlers"
HANDLERS = ("trigger", "validator", "transformer", "enricher", "api", "quality_check")
NOT_AT_COLD_START = ("boto3", "s3transfer", "aws_xray_sdk.core")
TRACE_ID = "1-5759e988-bd862e3fe1be46a994272793"


def run(code: str, *, lambda_env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``code`` in a fresh interpreter from the handlers folder; its last stdout line
    is JSON. Outside Lambda unless ``lambda_env`` (then tracing is on)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_", "LAMBDA_"))}
    env.update(AWS_DEFAULT_REGION="us-east-1", PYTHONDONTWRITEBYTECODE="1")
    env.update(lambda_env or {})
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=HANDLERS_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def loaded_after(statement: str, **kwargs: Any) -> list[str]:
    code = f"import json, sys\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    return run(code, **kwargs)  # type: ignore[return-value]


@pytest.mark.parametrize("name", HANDLERS)
def test_importing_a_handler_loads_no_boto3_and_no_xray_recorder(name: str) -> None:
    loaded = set(loaded_after(f"import etl_handlers.{name}.handler"))
    assert f"etl_handlers.{name}.handler" in loaded and "botocore" in loaded
    assert not loaded & set(NOT_AT_COLD_START)


def test_in_lambda_the_tracer_is_xray_patching_botocore_and_traces_reach_the_daemon() -> None:
    daemon = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    daemon.bind(("127.0.0.1", 0))
    daemon.settimeout(30)
    port = daemon.getsockname()[1]
    code = (
        f"HANDLERS = {HANDLERS!r}\n"
        """
import importlib, json, sys
from botocore.stub import Stubber

modules = [importlib.import_module(f"etl_handlers.{name}.handler") for name in HANDLERS]
from aws_xray_sdk.core import patcher
from etl_handlers.aws import observability
from etl_handlers.aws import s3io

tracer = observability.build_tracer()

@tracer.capture_method
def traced():
    client = s3io.default_client()
    with Stubber(client) as stub:
        stub.add_response(
            "head_object", {"ContentLength": 2, "ETag": '"e"'}, {"Bucket": "b", "Key": "k"}
        )
        return s3io.head_object("b", "k", client=client).size

print(json.dumps({
    "providers": sorted({type(module.tracer.provider).__module__ for module in modules}),
    "patched": sorted(patcher._PATCHED_MODULES),
    "size": traced(),
    "boto3": "boto3" in sys.modules or "s3transfer" in sys.modules,
}))
"""
    )
    try:
        result = run(
            code,
            lambda_env={
                "LAMBDA_TASK_ROOT": str(HANDLERS_DIR),
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{port}",
                "_X_AMZN_TRACE_ID": f"Root={TRACE_ID};Parent=53995c3f42cd8ad8;Sampled=1",
            },
        )
        assert result == {
            "providers": ["aws_xray_sdk.core.async_recorder"],
            "patched": ["botocore"],
            "size": 2,
            "boto3": False,
        }
        names: set[str] = set()
        while not {"## __main__.traced", "s3"} <= names:
            header, _, body = daemon.recv(65536).decode().partition("\n")
            segment = json.loads(body)
            assert json.loads(header)["format"] == "json"
            assert segment["trace_id"] == TRACE_ID
            names.add(segment["name"])
            if segment["name"] == "s3":
                assert segment["aws"]["operation"] == "HeadObject"
    finally:
        daemon.close()


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"LAMBDA_TASK_ROOT": "/var/task"},
        {"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "true"},
        {"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "0"},
        {"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "FALSE"},
        {"LAMBDA_TASK_ROOT": "/var/task", "AWS_SAM_LOCAL": "true"},
        {"LAMBDA_TASK_ROOT": "/var/task", "AWS_CHALICE_CLI_MODE": "true"},
        {"LAMBDA_TASK_ROOT": "", "POWERTOOLS_TRACE_DISABLED": "no"},
        {"POWERTOOLS_TRACE_DISABLED": "1"},
    ],
)
def test_tracing_is_off_exactly_when_powertools_switches_it_off(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("LAMBDA_TASK_ROOT", "POWERTOOLS_TRACE_DISABLED", "AWS_SAM_LOCAL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("AWS_CHALICE_CLI_MODE", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert observability.tracing_disabled() == bool(Tracer._is_tracer_disabled())


def test_a_tracing_setting_that_is_no_boolean_fails_as_in_powertools(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "maybe")
    with pytest.raises(ValueError):
        Tracer._is_tracer_disabled()
    with pytest.raises(ValueError):
        observability.tracing_disabled()


def test_a_disabled_tracer_records_nothing_and_changes_no_result() -> None:
    tracer = observability.build_tracer()  # tests run with POWERTOOLS_TRACE_DISABLED
    assert tracer.disabled and isinstance(tracer.provider, observability.NoTracing)

    @tracer.capture_lambda_handler
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        tracer.put_annotation("key", "value")
        tracer.put_metadata("key", {"value": 1})
        return {"echo": event}

    @tracer.capture_method
    def failing() -> None:
        raise KeyError("kept")

    @tracer.capture_method
    async def answer() -> int:
        return 42

    assert handler({"a": 1}, None) == {"echo": {"a": 1}}
    with pytest.raises(KeyError, match="kept"):
        failing()
    import asyncio

    assert asyncio.run(answer()) == 42


def test_the_no_tracing_provider_does_nothing() -> None:
    """It patches no module, returns nothing, and hands out one shared segment that keeps
    nothing: no subsegment, annotation, metadata or exception is ever recorded."""
    import asyncio

    import botocore.client

    make_api_call = botocore.client.BaseClient._make_api_call
    provider = observability.NoTracing()
    assert provider.patch(["botocore"]) is None
    assert provider.patch_all() is None
    assert botocore.client.BaseClient._make_api_call is make_api_call  # botocore unpatched
    assert provider.put_annotation("k", "v") is None
    assert provider.put_metadata("k", "v") is None
    before = dict(vars(observability._NO_SEGMENT))
    with provider.in_subsegment("x") as segment:
        assert segment is observability._NO_SEGMENT
        segment.put_annotation("k", "v")
        segment.put_metadata("k", "v")
        segment.add_exception(ValueError("x"), [])
        segment.add_subsegment(object())
        segment.remove_subsegment(object())
        segment.close()

    async def inner() -> Any:
        async with provider.in_subsegment_async("y") as segment:
            segment.put_annotation("k", "v")
            return segment

    assert asyncio.run(inner()) is observability._NO_SEGMENT
    assert vars(observability._NO_SEGMENT) == before  # it kept nothing
