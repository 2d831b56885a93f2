"""The control API through its Lambda handler: routes, status codes, error bodies."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import pytest
from etl_handlers.api import handler, logic
from etl_handlers.aws.jobs import FAILED, PENDING, SUCCEEDED, VALIDATING, JobStore
from etl_handlers.core import keys

from .handlers_testkit import BUCKET, FakeContext, emf_metrics, event_for_upload, s3_event

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics")


def request(
    method: str,
    path: str,
    *,
    body: Any = None,
    query: dict[str, str] | None = None,
    raw_body: str | None = None,
    base64_body: bool = False,
) -> dict[str, Any]:
    text = raw_body if raw_body is not None else (None if body is None else json.dumps(body))
    if base64_body and text is not None:
        text = base64.b64encode(text.encode()).decode()
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": {"Content-Type": "application/json"},
        "multiValueHeaders": {"Content-Type": ["application/json"]},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": ({k: [v] for k, v in query.items()} if query else None),
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "stage": "prod",
            "httpMethod": method,
            "path": f"/prod{path}",
            "resourcePath": path,
            "identity": {"sourceIp": "1.2.3.4"},
        },
        "body": text,
        "isBase64Encoded": base64_body,
    }


def call(event: dict[str, Any]) -> tuple[int, Any]:
    response = handler.lambda_handler(event, FakeContext())
    headers = response.get("multiValueHeaders") or {}
    assert headers["Content-Type"] == ["application/json"]
    assert type(response["statusCode"]) is int
    return response["statusCode"], json.loads(response["body"])


@pytest.fixture
def api(versioned_s3: Any, ddb: Any, sfn: Any) -> Any:
    return versioned_s3


def new_job(store: JobStore, n: int, **kw: Any) -> str:
    job_id = f"{n:032x}"
    store.create(
        job_id=job_id,
        file_name=f"raw/{n}.csv",
        bucket=BUCKET,
        version_id=f"v{n}",
        etag="e",
        size_bytes=1,
        **kw,
    )
    return job_id


# -- GET /status/{jobId} ------------------------------------------------------------------


def test_status_of_a_job(api_store: JobStore) -> None:
    job_id = new_job(api_store, 1)
    status, body = call(request("GET", f"/status/{job_id}"))
    assert status == 200
    assert body["jobId"] == job_id and body["status"] == PENDING
    assert body["fileName"] == "raw/1.csv"
    assert body["stuck"] is False


def test_status_flags_a_stuck_job(api: Any, ddb: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import UTC, datetime

    old = JobStore(client=ddb, clock=lambda: datetime.now(UTC) - timedelta(hours=3))
    job_id = new_job(old, 1)
    old.transition(job_id, "raw/1.csv", VALIDATING)
    assert call(request("GET", f"/status/{job_id}"))[1]["stuck"] is True
    monkeypatch.setenv("ETL_STUCK_AFTER_MINUTES", "600")
    assert call(request("GET", f"/status/{job_id}"))[1]["stuck"] is False


def test_status_stuck_is_relative_to_now(api_store: JobStore, clock: Any) -> None:
    job_id = new_job(api_store, 1)
    clock.advance(minutes=61)
    assert call(request("GET", f"/status/{job_id}"))[1]["stuck"] is True
    api_store.fail(job_id, "raw/1.csv", step=None, code="X", message="y")
    assert call(request("GET", f"/status/{job_id}"))[1]["stuck"] is False  # final


def test_a_failed_job_shows_the_rows_read_and_no_totals(api_store: JobStore, ddb: Any) -> None:
    """Also a FAILED record written before FAILED jobs dropped their partial figures: the
    API never shows valid rows or totals of a job that published nothing."""
    job_id = new_job(api_store, 1)
    ddb.update_item(
        TableName=api_store.table_name,
        Key={"jobId": {"S": job_id}, "fileName": {"S": "raw/1.csv"}},
        UpdateExpression="SET #s = :f, #r = :r, totals = :t",
        ExpressionAttributeNames={"#s": "status", "#r": "rows"},
        ExpressionAttributeValues={
            ":f": {"S": FAILED},
            ":r": {"M": {"input": {"N": "100000"}, "valid": {"N": "100000"}}},
            ":t": {"M": {"validate": {"M": {}}}},
        },
    )
    status, body = call(request("GET", f"/status/{job_id}"))
    assert status == 200 and body["rows"] == {"read": 100000} and "totals" not in body
    _, listed = call(request("GET", "/jobs", query={"status": FAILED}))
    (item,) = listed["items"]
    assert item["rows"] == {"read": 100000} and "totals" not in item


@pytest.mark.parametrize("job_id", ["f" * 32, "not-a-job", "F" * 32])
def test_status_of_an_unknown_job_is_404(api: Any, job_id: str) -> None:
    status, body = call(request("GET", f"/status/{job_id}"))
    assert status == 404
    assert set(body) == {"message"} and "not found" in body["message"]


# -- POST /trigger ----------------------------------------------------------------------------


def test_trigger_starts_the_same_job_as_the_s3_event(
    api: Any, store: JobStore, sfn: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    response = api.put_object(Bucket=BUCKET, Key="raw/manual.csv", Body=b"a,b\n")
    status, body = call(request("POST", "/trigger", body={"key": "raw/manual.csv"}))
    assert status == 202
    assert body["created"] is True
    job = body["job"]
    assert job["jobId"] == keys.job_id(BUCKET, "raw/manual.csv", response["VersionId"])
    assert job["status"] == PENDING and job["executionArn"]
    assert emf_metrics(capsys.readouterr().out) == {"FilesReceived": 1}

    again_status, again = call(request("POST", "/trigger", body={"key": "raw/manual.csv"}))
    assert again_status == 200 and again["created"] is False
    assert again["job"]["jobId"] == job["jobId"]
    assert emf_metrics(capsys.readouterr().out) == {}

    # The S3 event for the same upload finds the job the API created.
    from etl_handlers.trigger.logic import handle_event

    result = handle_event(
        event_for_upload(response, "raw/manual.csv", 4),
        store=store,
        sfn=sfn,
        s3=api,
        state_machine_arn=sfn.state_machine_arn,
    )
    assert result["jobId"] == job["jobId"] and result["status"] == "existing"
    assert len(sfn.list_executions(stateMachineArn=sfn.state_machine_arn)["executions"]) == 1


def test_trigger_unversioned_matches_the_event_job_id(
    s3: Any, ddb: Any, sfn: Any, store: JobStore
) -> None:
    from etl_handlers.trigger.logic import handle_event

    response = s3.put_object(Bucket=BUCKET, Key="raw/u.csv", Body=b"a,b\n")
    event_result = handle_event(
        s3_event("raw/u.csv", etag=response["ETag"].strip('"'), size=4),
        store=store,
        sfn=sfn,
        s3=s3,
        state_machine_arn=sfn.state_machine_arn,
    )
    status, body = call(request("POST", "/trigger", body={"key": "raw/u.csv"}))
    assert status == 200 and body["job"]["jobId"] == event_result["jobId"]


def test_trigger_accepts_a_base64_body(api: Any) -> None:
    api.put_object(Bucket=BUCKET, Key="raw/b64.csv", Body=b"a\n")
    status, _ = call(request("POST", "/trigger", body={"key": "raw/b64.csv"}, base64_body=True))
    assert status == 202


@pytest.mark.parametrize(
    ("event", "fragment"),
    [
        (request("POST", "/trigger"), "JSON object"),
        (request("POST", "/trigger", raw_body="{not json"), "not valid JSON"),
        (request("POST", "/trigger", body=["raw/a.csv"]), "JSON object"),
        (request("POST", "/trigger", body={}), '"key"'),
        (request("POST", "/trigger", body={"key": 7}), "non-empty string"),
        (request("POST", "/trigger", body={"key": ""}), "non-empty string"),
        (request("POST", "/trigger", body={"key": "processed/a.csv"}), "raw/"),
        (request("POST", "/trigger", body={"key": "/raw/a.csv"}), "relative"),
        (request("POST", "/trigger", body={"key": "raw/../a.csv"}), ".."),
        (request("POST", "/trigger", body={"key": "raw/a.xlsx"}), ".csv"),
        (request("POST", "/trigger", body={"key": "raw/" + "x" * 1100 + ".csv"}), "1024 bytes"),
        (request("POST", "/trigger", body={"key": "raw/4111111111111111.csv"}), "card number"),
    ],
)
def test_trigger_bad_requests_are_400(
    api: Any, sfn: Any, event: dict[str, Any], fragment: str
) -> None:
    status, body = call(event)
    assert status == 400
    assert set(body) == {"message"} and fragment in body["message"]
    assert sfn.list_executions(stateMachineArn=sfn.state_machine_arn)["executions"] == []


def test_trigger_of_an_absent_object_is_404(api: Any, sfn: Any) -> None:
    status, body = call(request("POST", "/trigger", body={"key": "raw/missing.csv"}))
    assert status == 404 and "does not exist" in body["message"]
    assert sfn.list_executions(stateMachineArn=sfn.state_machine_arn)["executions"] == []


# -- GET /jobs ------------------------------------------------------------------------------


def failed_jobs(store: JobStore, clock: Any, count: int) -> list[str]:
    ids = []
    for n in range(count):
        job_id = new_job(store, n)
        clock.advance(minutes=10)
        store.fail(job_id, f"raw/{n}.csv", step="validate", code="MISSING_COLUMN", message="m")
        ids.append(job_id)
    return ids


@pytest.fixture
def api_store(api: Any, ddb: Any, clock: Any, monkeypatch: pytest.MonkeyPatch) -> JobStore:
    """Jobs written at the test clock's time; the API reads with the same clock."""
    store = JobStore(client=ddb, clock=clock)
    monkeypatch.setattr(handler, "JobStore", lambda: store)
    return store


def test_jobs_lists_newest_first_with_pagination(api_store: JobStore, clock: Any) -> None:
    ids = failed_jobs(api_store, clock, 5)
    status, body = call(request("GET", "/jobs", query={"status": "FAILED", "limit": "2"}))
    assert status == 200
    assert [j["jobId"] for j in body["items"]] == ids[:2:-1]
    seen = [j["jobId"] for j in body["items"]]
    while body["cursor"]:
        status, body = call(
            request(
                "GET", "/jobs", query={"status": "FAILED", "limit": "2", "cursor": body["cursor"]}
            )
        )
        assert status == 200
        seen += [j["jobId"] for j in body["items"]]
    assert seen == ids[::-1]
    assert all(j["error"]["code"] == "MISSING_COLUMN" for j in body["items"])


def test_jobs_since_filters_by_time(api_store: JobStore, clock: Any) -> None:
    start = clock()
    ids = failed_jobs(api_store, clock, 4)
    since = (start + timedelta(minutes=25)).strftime("%Y-%m-%dT%H:%M:%SZ")
    status, body = call(request("GET", "/jobs", query={"status": "failed", "since": since}))
    assert status == 200
    assert [j["jobId"] for j in body["items"]] == ids[:1:-1]
    naive = (start + timedelta(minutes=35)).strftime("%Y-%m-%dT%H:%M:%S")
    _, body = call(request("GET", "/jobs", query={"status": "FAILED", "since": naive}))
    assert [j["jobId"] for j in body["items"]] == [ids[3]]
    _, body = call(request("GET", "/jobs", query={"status": SUCCEEDED}))
    assert body == {"items": [], "cursor": None}


def test_jobs_limit_is_capped_at_100(api_store: JobStore, clock: Any) -> None:
    failed_jobs(api_store, clock, 3)
    status, body = call(request("GET", "/jobs", query={"status": FAILED, "limit": "5000"}))
    assert status == 200 and len(body["items"]) == 3
    assert logic.parse_limit("5000") == 100
    assert logic.parse_limit(None) == logic.DEFAULT_PAGE_SIZE


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ({}, "status is required"),
        ({"status": "DONE"}, "unknown"),
        ({"status": "FAILED", "since": "yesterday"}, "ISO 8601"),
        ({"status": "FAILED", "since": "2026-13-01"}, "ISO 8601"),
        ({"status": "FAILED", "limit": "ten"}, "not an integer"),
        ({"status": "FAILED", "limit": "0"}, "at least 1"),
        ({"status": "FAILED", "limit": "-3"}, "at least 1"),
        ({"status": "FAILED", "cursor": "garbage!"}, "cursor"),
    ],
)
def test_jobs_bad_requests_are_400(api: Any, query: dict[str, str], fragment: str) -> None:
    status, body = call(request("GET", "/jobs", query=query or None))
    assert status == 400
    assert set(body) == {"message"} and fragment in body["message"]


# -- errors -------------------------------------------------------------------------------


def test_unknown_routes_are_404_json(api: Any) -> None:
    assert call(request("GET", "/nothing")) == (404, {"message": "no such resource"})
    assert call(request("DELETE", "/trigger"))[0] == 404


def test_unexpected_errors_are_a_generic_500(api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret internals 4111111111111111")

    monkeypatch.setattr(logic, "get_status", explode)
    status, body = call(request("GET", f"/status/{'a' * 32}"))
    assert (status, body) == (500, {"message": "internal error"})


def test_throttling_is_a_503_to_retry(api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from etl_handlers.core.errors import TransientError

    def throttled(*args: Any, **kwargs: Any) -> Any:
        raise TransientError("get job failed temporarily: ThrottlingException")

    monkeypatch.setattr(logic, "get_status", throttled)
    status, body = call(request("GET", f"/status/{'a' * 32}"))
    assert status == 503 and "retry" in body["message"]


def test_stuck_after_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    assert logic.stuck_after_from_env() == timedelta(minutes=60)
    monkeypatch.setenv("ETL_STUCK_AFTER_MINUTES", "15")
    assert logic.stuck_after_from_env() == timedelta(minutes=15)
    for bad in ("abc", "0", "-5"):
        monkeypatch.setenv("ETL_STUCK_AFTER_MINUTES", bad)
        assert logic.stuck_after_from_env() == timedelta(minutes=60)


def test_parse_since() -> None:
    assert logic.parse_since(None) is None and logic.parse_since("") is None
    moment = logic.parse_since("2026-11-20T10:00:00+02:00")
    assert moment is not None and moment.utcoffset() == timedelta(hours=2)
    assert logic.parse_since("2026-11-20") is not None
