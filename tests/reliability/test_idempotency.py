"""One object version, one job, one set of outputs: however often and however concurrently
its event arrives, and whether it comes by S3 event or by ``POST /trigger``. A new version
of the same key is a new job."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from .conftest import Driver

pytestmark = [
    pytest.mark.xdist_group("example-app"),
    # Powertools on a handler that published nothing (a warm-up, a repeated event)
    pytest.mark.filterwarnings("ignore:No application metrics:UserWarning"),
]

SOURCE = (Path(__file__).resolve().parents[1] / "corpus" / "files" / "clean.csv").read_bytes()


def _event(driver: Driver, key: str, version: str | None) -> dict:
    head = driver.s3.head_object(Bucket=driver.bucket, Key=key)
    return {
        "version": "0",
        "id": "repeat",
        "source": "aws.s3",
        "detail-type": "Object Created",
        "account": "123456789012",
        "region": "us-east-1",
        "resources": [f"arn:aws:s3:::{driver.bucket}"],
        "detail": {
            "bucket": {"name": driver.bucket},
            "object": {
                "key": key,
                "version-id": version,
                "size": head["ContentLength"],
                "etag": head["ETag"].strip('"'),
            },
        },
    }


def _one_job(driver: Driver, key: str, job: dict, outputs_before: dict) -> None:
    assert [j["jobId"] for j in driver.jobs_for(key)] == [job["jobId"]]
    names = [e["name"] for e in driver.executions()]
    assert names.count(job["jobId"]) == 1
    assert driver.job_keys(job["jobId"]) == outputs_before
    assert driver.pipeline.job(job["jobId"]) == job


def test_a_repeated_event_and_a_trigger_call_for_a_processed_object_start_nothing(driver):
    key, version = driver.put(driver.key("repeat.csv"), SOURCE)
    job = driver.wait(key, version)
    assert job["status"] == "SUCCEEDED"
    outputs = driver.job_keys(job["jobId"])
    trigger = driver.function("trigger")
    for _ in range(3):
        result = driver.functions.invoke(trigger, _event(driver, key, version))
        assert result["status"] == "existing" and result["created"] is False
    status, body = driver.api("POST", "/trigger", body={"key": key})
    assert status == 200 and body["created"] is False
    assert body["job"]["jobId"] == job["jobId"] and body["job"]["status"] == "SUCCEEDED"
    _one_job(driver, key, job, outputs)


def test_concurrent_deliveries_through_the_runtime_make_one_job(driver):
    """Eight deliveries of the same event and two API calls at once, while the job runs."""
    key, version = driver.put(driver.key("concurrent.csv"), SOURCE)
    event = _event(driver, key, version)
    trigger = driver.function("trigger")
    start = threading.Barrier(10)
    results: list = []

    def deliver() -> None:
        start.wait()
        results.append(driver.functions.invoke(trigger, dict(event)))

    def call() -> None:
        start.wait()
        results.append(driver.api("POST", "/trigger", body={"key": key}))

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    threads += [threading.Thread(target=call) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    job = driver.wait(key, version)
    assert job["status"] == "SUCCEEDED"
    created = [r for r in results if isinstance(r, dict) and r["created"]]
    created += [r for r in results if isinstance(r, tuple) and r[1]["created"]]
    assert len(results) == 10 and len(created) == 1
    driver.pipeline.deliver_events()  # the bucket's own event for the upload: nothing new
    _one_job(driver, key, job, driver.job_keys(job["jobId"]))


def test_the_trigger_logic_in_parallel_threads_creates_one_job_and_one_execution(driver):
    """Eight trigger handlers really at once (no runtime lock): the conditional put and the
    execution name decide, not timing."""
    from etl_handlers.aws.jobs import JobStore
    from etl_handlers.trigger.logic import handle_event

    key, version = driver.put(driver.key("racing.csv"), SOURCE)
    event = _event(driver, key, version)
    environment = driver.function("trigger").environment
    arn = environment["ETL_STATE_MACHINE_ARN"]
    start = threading.Barrier(8)
    results: list[dict] = []
    errors: list[BaseException] = []

    def race() -> None:
        import boto3

        session = boto3.session.Session(region_name="us-east-1")
        store = JobStore(environment["ETL_JOB_TABLE"], client=session.client("dynamodb"))
        start.wait()
        try:
            results.append(
                handle_event(
                    event,
                    store=store,
                    sfn=session.client("stepfunctions"),
                    s3=session.client("s3"),
                    state_machine_arn=arn,
                    data_bucket=driver.bucket,
                )
            )
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=race) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert len({r["jobId"] for r in results}) == 1
    assert sum(r["created"] for r in results) == 1
    job = driver.wait(key, version)
    assert job["status"] == "SUCCEEDED" and job["jobId"] == results[0]["jobId"]
    _one_job(driver, key, job, driver.job_keys(job["jobId"]))


def test_a_new_version_of_the_same_key_is_a_new_job_and_leaves_the_first_alone(driver):
    key = driver.key("versions.csv")
    first = driver.wait(*driver.put(key, SOURCE))
    first_outputs = {
        k: driver.read(k) for keys in driver.job_keys(first["jobId"]).values() for k in keys
    }
    changed = SOURCE.replace(b"Shop 1,", b"Shop one,")
    second = driver.wait(*driver.put(key, changed))
    assert first["jobId"] != second["jobId"]
    assert {j["jobId"] for j in driver.jobs_for(key)} == {first["jobId"], second["jobId"]}
    assert {
        k: driver.read(k) for keys in driver.job_keys(first["jobId"]).values() for k in keys
    } == first_outputs
    enriched = driver.read(second["outputs"]["enriched"])
    assert (
        b"Shop one" in enriched and b"Shop one" not in first_outputs[first["outputs"]["enriched"]]
    )
