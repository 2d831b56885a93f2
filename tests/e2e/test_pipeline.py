"""The pipeline end to end, through its public doors only.

Runs offline on the example app in moto every time, and against a deployed stack too when
``cfn-outputs/flat-outputs.json`` exists (``make deploy`` writes it); without that file the
live cases skip. Fault injection exists offline only.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import pytest

from etl_constructs.local import CloudAssembly, LocalPipeline

from .backends import LiveBackend, LocalBackend, live_outputs

pytestmark = pytest.mark.xdist_group("example-app")
DATA = Path(__file__).resolve().parents[2] / "examples" / "data"
HEADER = "transaction_id,account_id,timestamp,amount,currency,transaction_type,card_number\n"


@pytest.fixture(scope="module", params=["local", "live"])
def backend(request, example_app):
    if request.param == "live":
        outputs = live_outputs()
        if outputs is None:
            pytest.skip("no cfn-outputs/flat-outputs.json: no deployed stack to test")
        yield LiveBackend(outputs)
        return
    _, _, assembly, _ = example_app
    with LocalPipeline(CloudAssembly.load(Path(assembly.directory)), time_scale=0.02) as pipeline:
        yield LocalBackend(pipeline)


def _key(name: str) -> str:
    """A fresh raw/ key per test, so runs against a live stack do not collide."""
    return f"raw/e2e/{uuid.uuid4().hex[:8]}/{name}"


def _lines(backend, key: str) -> list[dict]:
    return [json.loads(line) for line in backend.read(key).splitlines()]


def test_a_clean_file_succeeds_with_outputs_and_totals(backend):
    key, version = backend.put(_key("clean.csv"), (DATA / "transactions-clean.csv").read_bytes())
    job = backend.wait(key, version)
    assert job["status"] == "SUCCEEDED"
    assert job["rows"]["input"] == job["rows"]["valid"] == 6
    assert job["rows"]["rejected"] == 0
    assert job["totals"]["enrich"]["USD"] == {"count": 2, "debit": "175.49", "credit": "0.00"}
    assert job["totals"]["enrich"]["BHD"]["credit"] == "12.345"
    enriched = _lines(backend, job["outputs"]["enriched"])
    assert [r["transaction_id"] for r in enriched] == [f"TX-100{i}" for i in range(1, 7)]
    assert {r["job_id"] for r in enriched} == {job["jobId"]}
    assert enriched[1]["timestamp"] == "2024-03-01T11:40:10Z"  # +01:00 normalized to UTC
    assert enriched[3]["transaction_date"] == "2024-02-29"
    assert enriched[0]["card_number"] == "************1111"
    status, body = backend.api("GET", f"/status/{job['jobId']}")
    assert status == 200 and body["status"] == "SUCCEEDED"


def test_bad_rows_are_rejected_one_by_one(backend):
    key, version = backend.put(
        _key("rejects.csv"), (DATA / "transactions-with-rejects.csv").read_bytes()
    )
    job = backend.wait(key, version)
    assert job["status"] == "SUCCEEDED"
    assert job["rows"] == {**job["rows"], "input": 80, "valid": 77, "rejected": 3}
    rejects = _lines(backend, job["outputs"]["rejected"])
    assert [(r["row"], r["code"]) for r in rejects] == [
        (5, "INVALID_TIMESTAMP"),
        (12, "INVALID_AMOUNT"),
        (20, "DUPLICATE_ID"),
    ]
    assert len(_lines(backend, job["outputs"]["enriched"])) == 77


def test_a_broken_file_fails_whole_and_lands_in_failed(backend):
    key, version = backend.put(
        _key("missing.csv"), (DATA / "transactions-missing-column.csv").read_bytes()
    )
    job = backend.wait(key, version)
    assert job["status"] == "FAILED"
    assert job["error"]["code"] == "MISSING_COLUMN"
    assert "currency" in job["error"]["message"]
    failed_key = job["outputs"]["failed"]
    assert failed_key == f"failed/{job['jobId']}/missing.csv"
    assert backend.read(failed_key) == (DATA / "transactions-missing-column.csv").read_bytes()
    assert "enriched" not in job["outputs"]


def test_the_same_event_twice_makes_one_job(backend):
    if not backend.can_inject_faults:
        pytest.skip("re-delivering an EventBridge event needs the local runtime")
    key, version = backend.put(_key("twice.csv"), (DATA / "transactions-clean.csv").read_bytes())
    job = backend.wait(key, version)
    trigger = backend.pipeline.function_by_handler("trigger")
    event = {
        "source": "aws.s3",
        "detail-type": "Object Created",
        "detail": {
            "bucket": {"name": backend.bucket},
            "object": {"key": key, "version-id": version, "size": 10, "etag": "x"},
        },
    }
    backend.pipeline.functions.invoke(trigger, event)
    assert [j["jobId"] for j in backend.jobs_for(key)] == [job["jobId"]]
    status, body = backend.api("POST", "/trigger", body={"key": key})
    assert status in (200, 202)
    assert body["job"]["jobId"] == job["jobId"] and body["created"] is False


def test_a_new_version_of_the_same_key_is_a_new_job(backend):
    key = _key("versions.csv")
    first = backend.wait(*backend.put(key, (DATA / "transactions-clean.csv").read_bytes()))
    second = backend.wait(*backend.put(key, (DATA / "transactions-clean.csv").read_bytes()))
    assert first["jobId"] != second["jobId"]
    assert {j["jobId"] for j in backend.jobs_for(key)} == {first["jobId"], second["jobId"]}


def test_transient_faults_are_retried_and_the_job_succeeds(backend):
    if not backend.can_inject_faults:
        pytest.skip("fault injection needs the local runtime")
    functions = backend.pipeline.functions
    transformer = backend.pipeline.function_by_handler("transformer")
    failures = {"left": 2}

    def flaky(function, event):
        if function is transformer and failures["left"] > 0:
            failures["left"] -= 1
            from etl_handlers.core.errors import TransientError

            raise TransientError("injected: DynamoDB throttled")

    before = transformer.invocations
    functions.fault_injector = flaky
    try:
        key, version = backend.put(
            _key("flaky.csv"), (DATA / "transactions-clean.csv").read_bytes()
        )
        job = backend.wait(key, version)
    finally:
        functions.fault_injector = None
    assert job["status"] == "SUCCEEDED"
    assert transformer.invocations - before == 3  # two injected faults, then success
    assert len(_lines(backend, job["outputs"]["enriched"])) == 6


def test_a_step_that_keeps_failing_fails_the_job_with_its_name(backend):
    if not backend.can_inject_faults:
        pytest.skip("fault injection needs the local runtime")
    functions = backend.pipeline.functions
    enricher = backend.pipeline.function_by_handler("enricher")

    def broken(function, event):
        if function is enricher:
            raise RuntimeError("injected: disk on fire")

    functions.fault_injector = broken
    try:
        key, version = backend.put(
            _key("broken.csv"), (DATA / "transactions-clean.csv").read_bytes()
        )
        job = backend.wait(key, version)
    finally:
        functions.fault_injector = None
    assert job["status"] == "FAILED"
    assert job["error"]["step"] == "enrich" and job["error"]["code"] == "RuntimeError"
    assert "Traceback" not in job["error"]["message"]
    # validate and transform had recorded their counts and totals; none of it was delivered
    assert job["rows"] == {"read": 6} and "totals" not in job
    assert backend.read(job["outputs"]["failed"]) == (DATA / "transactions-clean.csv").read_bytes()


def test_api_rejects_bad_requests_without_starting_anything(backend):
    status, body = backend.api("POST", "/trigger", body={"key": "raw/../etc/passwd.csv"})
    assert status == 400 and "message" in body
    status, body = backend.api("GET", "/jobs", query={"status": "FAILED", "since": "yesterday"})
    assert status == 400
    status, body = backend.api("GET", "/status/0123456789abcdef0123456789abcdef")
    assert status == 404


def test_quality_check_reports_failed_jobs(backend):
    key, version = backend.put(
        _key("qc.csv"), (DATA / "transactions-missing-column.csv").read_bytes()
    )
    job = backend.wait(key, version)
    result = backend.quality_check()
    assert result["failedJobs"] >= 1
    assert re.fullmatch(r"reports/\d{4}-\d{2}-\d{2}\.json", result["reportKey"])
    report = json.loads(backend.read(result["reportKey"]))
    assert job["jobId"] in json.dumps(report)
