"""Hostile requests to the control API: a clear 4xx JSON error, nothing started, nothing
leaked. (API Gateway's own request validation, auth and throttling stand in front of this in
AWS; locally the function answers alone, so it must hold the line by itself.)"""

from __future__ import annotations

import json

import pytest

from .conftest import Driver

pytestmark = [
    pytest.mark.xdist_group("example-app"),
    # Powertools on a handler that published nothing (a warm-up, a repeated event)
    pytest.mark.filterwarnings("ignore:No application metrics:UserWarning"),
]

OVERSIZED = "x" * (6 * 1024 * 1024)
TRIGGER_BODIES = {
    "traversal": {"key": "raw/../validated/secret.csv"},
    "deep traversal": {"key": "raw/a/../../etc/passwd.csv"},
    "absolute": {"key": "/raw/file.csv"},
    "other prefix": {"key": "enriched/file.csv"},
    "other bucket by URL": {"key": "s3://other-bucket/raw/file.csv"},
    "other bucket by field": {"key": "raw/undelivered.csv", "bucket": "other-bucket"},
    "unknown field": {"key": "raw/undelivered.csv", "versionId": "x"},
    "not csv": {"key": "raw/file.exe"},
    "no file name": {"key": "raw/.csv"},
    "control characters": {"key": "raw/a\nb.csv"},
    "very long key": {"key": "raw/" + "a" * 2000 + ".csv"},
    "key not a string": {"key": ["raw/a.csv"]},
    "null key": {"key": None},
    "no key": {"file": "raw/a.csv"},
    "json array": ["raw/a.csv"],
    "json string": "raw/a.csv",
}
RAW_BODIES = {
    "not json": "key=raw/a.csv",
    "truncated json": '{"key": "raw/a.csv"',
    "empty": "",
    "null": "null",
    "oversized": json.dumps({"key": "raw/undelivered.csv" + " " * len(OVERSIZED)}),
    "oversized junk": OVERSIZED,
    "nested": "[" * 100_000 + "]" * 100_000,
}
JOBS_QUERIES = {
    "no status": {},
    "bad status": {"status": "FAILED' OR '1'='1"},
    "bad date": {"status": "FAILED", "since": "yesterday"},
    "impossible date": {"status": "FAILED", "since": "2024-02-30"},
    "huge date": {"status": "FAILED", "since": "9" * 10_000},
    "negative limit": {"status": "FAILED", "limit": "-1"},
    "zero limit": {"status": "FAILED", "limit": "0"},
    "text limit": {"status": "FAILED", "limit": "all"},
    "float limit": {"status": "FAILED", "limit": "1e9"},
    "bad cursor": {"status": "FAILED", "cursor": "not-a-cursor"},
    "forged cursor": {
        "status": "FAILED",
        "cursor": "eyJqb2JJZCI6eyJTIjoieCJ9fQ",  # {"jobId":{"S":"x"}}
    },
}
#: What an error body must never show: stack traces, code paths, internal resource names.
LEAKS = ("Traceback", 'File "', ".py", "botocore", "arn:aws", "etl-metadata", "etl-data", "/var/")


@pytest.fixture(scope="module")
def undelivered(driver: Driver) -> str:
    """An object under raw/ whose S3 event got lost: POST /trigger would start its job."""
    driver.put("raw/undelivered.csv", b"transaction_id\n")
    for rule in driver.pipeline.rules:
        if rule.tap is not None:
            rule.tap.drain(driver.pipeline.sqs)
    return "raw/undelivered.csv"


@pytest.fixture
def nothing_started(driver: Driver):
    jobs, executions = len(driver.pipeline.jobs()), len(driver.executions())
    yield
    assert len(driver.pipeline.jobs()) == jobs
    assert len(driver.executions()) == executions


def _refused(response: tuple[int, object], status: int = 400) -> str:
    code, body = response
    assert code == status, body
    assert isinstance(body, dict) and set(body) == {"message"}
    message = body["message"]
    assert isinstance(message, str) and 0 < len(message) <= 300
    assert not any(leak in message for leak in LEAKS), message
    return message


@pytest.mark.usefixtures("nothing_started")
@pytest.mark.parametrize("body", TRIGGER_BODIES.values(), ids=TRIGGER_BODIES.keys())
def test_post_trigger_refuses_bad_bodies(driver, undelivered, body):
    _refused(driver.api("POST", "/trigger", body=body))


@pytest.mark.usefixtures("nothing_started")
@pytest.mark.parametrize("body", RAW_BODIES.values(), ids=RAW_BODIES.keys())
def test_post_trigger_refuses_what_is_not_a_json_object(driver, undelivered, body):
    _refused(driver.api("POST", "/trigger", body=body))


@pytest.mark.usefixtures("nothing_started")
def test_post_trigger_for_a_missing_object_is_404(driver):
    assert "does not exist" in _refused(
        driver.api("POST", "/trigger", body={"key": "raw/nothing-here.csv"}), 404
    )


@pytest.mark.parametrize("query", JOBS_QUERIES.values(), ids=JOBS_QUERIES.keys())
def test_get_jobs_refuses_bad_queries(driver, query):
    _refused(driver.api("GET", "/jobs", query=query))


def test_get_jobs_caps_a_huge_limit(driver):
    status, body = driver.api("GET", "/jobs", query={"status": "FAILED", "limit": "9" * 40})
    assert status == 200 and len(body["items"]) <= 100


@pytest.mark.parametrize(
    "job_id", ["..%2F..%2Fetc%2Fpasswd", "0" * 31, "G" * 32, "a" * 5000, "%00", "*"]
)
def test_get_status_of_a_malformed_id_is_404(driver, job_id):
    _refused(driver.api("GET", f"/status/{job_id}"), 404)


@pytest.mark.parametrize(
    ("method", "path"), [("DELETE", "/jobs"), ("GET", "/admin"), ("PUT", "/trigger")]
)
def test_unknown_routes_answer_json(driver, method, path):
    code, body = driver.api(method, path)
    assert 400 <= code < 500 and set(body) == {"message"}
