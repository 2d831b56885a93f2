"""Reprocess and dead-letter redrive through the local runtime: the example app's state
machine, its API function and its queues, with faults injected where they happen."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from .conftest import Driver

pytestmark = [
    pytest.mark.xdist_group("example-app"),
    pytest.mark.filterwarnings("ignore:No application metrics:UserWarning"),
]

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "files"
SOURCE = (CORPUS / "row-duplicate-id.csv").read_bytes()  # 40 rows: 38 valid, 2 rejected
OUTPUT_PREFIXES = ("validated/", "rejected/", "processed/", "enriched/")


def _rows(driver: Driver, key: str) -> list[dict]:
    return [json.loads(line) for line in driver.read(key).splitlines()]


def _stable(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "processed_at"} for r in rows]


def _output_keys(driver: Driver, job_id: str) -> list[str]:
    return sorted(k for p in OUTPUT_PREFIXES for k in driver.keys(f"{p}{job_id}/"))


def _reprocess(driver: Driver, job_id: str) -> dict:
    status, body = driver.pipeline.reprocess(job_id)
    assert status == 202, body
    job = driver.pipeline.wait_job(job_id, timeout=60)
    assert job is not None and job["status"] in ("SUCCEEDED", "FAILED"), job
    return job


def test_reprocess_of_a_succeeded_job_replaces_its_outputs(driver: Driver) -> None:
    first = driver.run("again.csv", SOURCE)
    assert first["status"] == "SUCCEEDED"
    enriched = _stable(_rows(driver, first["outputs"]["enriched"]))

    job = _reprocess(driver, first["jobId"])
    assert job["status"] == "SUCCEEDED" and job["attempt"] == 2
    assert job["executionArn"].endswith(f":{first['jobId']}-a2")
    assert [a["status"] for a in job["attempts"]] == ["SUCCEEDED"]
    assert job["rows"] == first["rows"] and job["totals"] == first["totals"]
    assert _stable(_rows(driver, job["outputs"]["enriched"])) == enriched
    # only the new attempt's objects are left, all under its folder
    left = _output_keys(driver, first["jobId"])
    assert left and all(k.split("/")[2] == "a2" for k in left)
    assert set(left) == {
        job["outputs"][n] for n in ("validated", "rejected", "processed", "enriched")
    }


def test_a_fault_mid_reprocess_leaves_the_previous_outputs_whole(driver: Driver) -> None:
    first = driver.run("fault.csv", SOURCE)
    before = {k: driver.read(k) for k in _output_keys(driver, first["jobId"])}
    transformer = driver.function("transformer")

    def broken_transform(function, event):
        if function is transformer:
            raise ValueError("injected: the transform breaks")

    with driver.faults(broken_transform):
        job = _reprocess(driver, first["jobId"])
    assert job["status"] == "FAILED" and job["attempt"] == 2
    assert job["error"]["step"] == "transform"
    # attempt 1's objects are all there, byte for byte, and its history entry names them
    assert {k: driver.read(k) for k in before} == before
    assert job["attempts"][0]["outputs"] == first["outputs"]
    # attempt 2 wrote under its own folder only: no key of attempt 1 was touched
    new = set(_output_keys(driver, first["jobId"])) - set(before)
    assert new and all(k.split("/")[2] == "a2" for k in new)

    # after the fix, attempt 3 replaces everything
    job = _reprocess(driver, first["jobId"])
    assert job["status"] == "SUCCEEDED" and job["attempt"] == 3
    assert [a["status"] for a in job["attempts"]] == ["SUCCEEDED", "FAILED"]
    assert all(k.split("/")[2] == "a3" for k in _output_keys(driver, first["jobId"]))


def test_reprocess_is_refused_while_the_job_runs(driver: Driver) -> None:
    validator = driver.function("validator")
    entered, release = threading.Event(), threading.Event()

    def hold(function, event):
        if function is validator:
            entered.set()
            release.wait(30)

    with driver.faults(hold):
        key, version = driver.put(driver.key("busy.csv"), SOURCE)
        driver.pipeline.deliver_events()
        assert entered.wait(30)
        job_id = driver.pipeline.job_id(key, version)
        status, body = driver.pipeline.reprocess(job_id)
        release.set()
    assert status == 409 and "VALIDATING" in body["message"]
    assert driver.wait(key, version)["status"] == "SUCCEEDED"


def test_redrive_dry_run_lists_then_redrive_sends_back_once(driver: Driver) -> None:
    trigger = driver.function("trigger")
    dlq = trigger.dead_letter_queue
    assert dlq, "the trigger has a dead-letter queue locally"

    def unreachable(function, event):
        if function is trigger and event.get("source") == "aws.s3":
            raise ConnectionError("injected: DynamoDB unreachable")

    with driver.faults(unreachable):
        key, version = driver.put(driver.key("dead.csv"), SOURCE)
        driver.pipeline.deliver_events()
    job_id = driver.pipeline.job_id(key, version)
    assert driver.pipeline.job(job_id) is None

    listed = [line for line in driver.pipeline.redrive(dry_run=True) if line.job_id == job_id]
    [line] = listed
    assert line.action == "listed" and line.function == trigger.name
    assert "ConnectionError" in line.error and key in line.event
    # a dry run changes nothing: the message is still there, the job still absent
    assert [line.job_id for line in driver.pipeline.redrive(dry_run=True)].count(job_id) == 1
    assert driver.pipeline.job(job_id) is None

    lines = [line for line in driver.pipeline.redrive(dry_run=False) if line.job_id == job_id]
    assert [line.action for line in lines] == ["redriven"]
    assert driver.wait(key, version)["status"] == "SUCCEEDED"
    assert job_id not in [line.job_id for line in driver.pipeline.redrive(dry_run=True)]

    # the same event lands in the queue again: its job SUCCEEDED, so it is dropped; beside
    # it, the event of a new version of the file (another job) is sent back
    with driver.faults(unreachable):
        _, newer = driver.put(key, SOURCE)
        driver.pipeline.deliver_events()
    newer_job = driver.pipeline.job_id(key, newer)
    driver.pipeline.sqs.send_message(
        QueueUrl=dlq, MessageBody=json.dumps(_object_created(driver, key, version))
    )
    lines = {line.job_id: line for line in driver.pipeline.redrive(dry_run=False)}
    assert lines[job_id].action == "dropped" and "already SUCCEEDED" in lines[job_id].detail
    assert lines[newer_job].action == "redriven"
    assert driver.wait(key, newer)["status"] == "SUCCEEDED"
    assert {job_id, newer_job}.isdisjoint(
        line.job_id for line in driver.pipeline.redrive(dry_run=True)
    )


def test_a_redriven_event_that_fails_again_stays_in_the_queue(driver: Driver) -> None:
    trigger = driver.function("trigger")

    def unreachable(function, event):
        if function is trigger and event.get("source") == "aws.s3":
            raise ConnectionError("injected: DynamoDB unreachable")

    with driver.faults(unreachable):
        key, version = driver.put(driver.key("twice.csv"), SOURCE)
        driver.pipeline.deliver_events()
        job_id = driver.pipeline.job_id(key, version)
        lines = [line for line in driver.pipeline.redrive(dry_run=False) if line.job_id == job_id]
    assert [line.action for line in lines] == ["failed again"]
    assert "ConnectionError" in lines[0].detail
    assert [line.job_id for line in driver.pipeline.redrive(dry_run=True)].count(job_id) == 1
    assert [
        line.action for line in driver.pipeline.redrive(dry_run=False) if line.job_id == job_id
    ] == ["redriven"]


def _object_created(driver: Driver, key: str, version: str | None) -> dict:
    """The S3 event EventBridge sends for the upload of ``key`` (version ``version``)."""
    head = driver.s3.head_object(Bucket=driver.bucket, Key=key, VersionId=version)
    return {
        "version": "0",
        "source": "aws.s3",
        "detail-type": "Object Created",
        "detail": {
            "bucket": {"name": driver.bucket},
            "object": {
                "key": key,
                "size": head["ContentLength"],
                "etag": head["ETag"].strip('"'),
                "version-id": version,
            },
        },
    }
