"""The dead-letter redrive against SQS (moto) and a stand-in for Lambda's Invoke."""

from __future__ import annotations

import io
import json
from typing import Any

import boto3
import pytest
from etl_handlers.aws.jobs import JobStore
from etl_handlers.core import keys
from etl_handlers.ops import redrive

from .handlers_testkit import BUCKET, REGION, TABLE

FUNCTION = "trigger-test"


class FakeLambda:
    """Lambda's Invoke, answering from ``outcomes`` (True: success) in turn."""

    def __init__(self, *outcomes: bool) -> None:
        self.outcomes = list(outcomes)
        self.calls: list[dict[str, Any]] = []

    def invoke(self, **params: Any) -> dict[str, Any]:
        self.calls.append({**params, "Payload": json.loads(params["Payload"])})
        if self.outcomes.pop(0):
            return {"StatusCode": 200, "Payload": io.BytesIO(b"{}")}
        body = json.dumps({"errorType": "ConnectionError", "errorMessage": "4111111111111111"})
        return {
            "StatusCode": 200,
            "FunctionError": "Unhandled",
            "Payload": io.BytesIO(body.encode()),
        }


def object_created(key: str, version: str) -> dict[str, Any]:
    return {
        "source": "aws.s3",
        "detail-type": "Object Created",
        "detail": {
            "bucket": {"name": BUCKET},
            "object": {"key": key, "version-id": version, "etag": "e", "size": 3},
        },
    }


@pytest.fixture
def queue(aws: None) -> tuple[Any, str]:
    sqs = boto3.client("sqs", region_name=REGION)
    return sqs, sqs.create_queue(QueueName="trigger-dlq-test")["QueueUrl"]


def put(sqs: Any, url: str, body: Any, **attributes: str) -> None:
    sqs.send_message(
        QueueUrl=url,
        MessageBody=body if isinstance(body, str) else json.dumps(body),
        MessageAttributes={
            k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()
        },
    )


def left(sqs: Any, url: str) -> int:
    return int(
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"][
            "ApproximateNumberOfMessages"
        ]
    )


def test_dry_run_lists_every_message_and_changes_nothing(queue: tuple[Any, str]) -> None:
    sqs, url = queue
    put(
        sqs,
        url,
        object_created("raw/a%20b.csv", "v1"),
        ErrorCode="200",
        ErrorMessage="Boom: no table",
    )
    schedule = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}
    put(sqs, url, schedule, ERROR_CODE="SQS", ERROR_MESSAGE="throttled")
    put(sqs, url, "not json")
    fake = FakeLambda()
    lines = redrive.redrive_queue(
        sqs=sqs,
        lambda_client=fake,
        queue_url=url,
        function=FUNCTION,
        job_status=lambda j: None,
        dry_run=True,
    )
    by_event = {line.event: line for line in lines}
    s3_line = by_event["Object Created raw/a%20b.csv"]
    assert s3_line.job_id == keys.job_id(BUCKET, "raw/a b.csv", "v1")  # the key as decoded
    assert s3_line.error == "200 Boom: no table" and s3_line.action == "listed"
    assert (
        by_event["Scheduled Event"].job_id is None
        and by_event["Scheduled Event"].error == "SQS throttled"
    )
    assert "a message that is not a JSON event" in by_event
    assert fake.calls == [] and left(sqs, url) == 3
    assert json.loads(json.dumps(s3_line.to_json()))["jobId"] == s3_line.job_id


def test_redrive_sends_back_once_drops_succeeded_jobs_and_keeps_failures(
    queue: tuple[Any, str],
) -> None:
    sqs, url = queue
    done, again, broken = (object_created(f"raw/{n}.csv", "v") for n in ("done", "again", "broken"))
    for event in (done, again, broken):
        put(sqs, url, event)
    put(sqs, url, "not json")
    statuses = {
        keys.job_id(BUCKET, "raw/done.csv", "v"): "SUCCEEDED",
        keys.job_id(BUCKET, "raw/again.csv", "v"): "FAILED",
    }
    fake = FakeLambda(True, False)  # "again" succeeds, "broken" fails again
    lines = redrive.redrive_queue(
        sqs=sqs,
        lambda_client=fake,
        queue_url=url,
        function=FUNCTION,
        job_status=statuses.get,
        dry_run=False,
    )
    actions = {line.event: (line.action, line.detail) for line in lines}
    assert actions["Object Created raw/done.csv"][0] == "dropped"
    assert "already SUCCEEDED" in actions["Object Created raw/done.csv"][1]
    assert actions["Object Created raw/again.csv"] == ("redriven", "processed; message deleted")
    assert actions["Object Created raw/broken.csv"][0] == "failed again"
    assert "ConnectionError" in actions["Object Created raw/broken.csv"][1]
    assert actions["a message that is not a JSON event"][0] == "failed again"
    assert [c["Payload"] for c in fake.calls] == [again, broken]  # once each, the event as is
    assert all(
        c["InvocationType"] == "RequestResponse" and c["FunctionName"] == FUNCTION
        for c in fake.calls
    )
    assert left(sqs, url) == 2  # the two that failed, visible again at once
    assert "4111111111111111" not in json.dumps([line.to_json() for line in lines])


def test_the_job_of_an_execution_status_event() -> None:
    job = "a" * 32
    event = {
        "source": "aws.states",
        "detail-type": "Step Functions Execution Status Change",
        "detail": {"name": f"{job}-a3"},
    }
    assert redrive.job_of_event(event) == job
    assert redrive.job_of_event({**event, "detail": "x"}) is None
    no_version = object_created("raw/x.csv", "")
    no_version["detail"]["object"].update({"version-id": None, "etag": ""})
    assert redrive.job_of_event(no_version) is None
    assert redrive.job_of_event([1]) is None


def test_main_against_a_deployment(
    queue: tuple[Any, str], ddb: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    sqs, url = queue
    store = JobStore(TABLE, client=ddb)
    store.create(
        job_id=keys.job_id(BUCKET, "raw/x.csv", "v"),
        file_name="raw/x.csv",
        bucket=BUCKET,
        version_id="v",
        etag="e",
        size_bytes=3,
    )
    put(sqs, url, object_created("raw/x.csv", "v"))
    fake = FakeLambda(False)

    class Session:
        def client(self, name: str) -> Any:
            return {"sqs": sqs, "lambda": fake, "dynamodb": ddb}[name]

    argv = ["--queue-url", url, "--function", FUNCTION, "--table", TABLE]
    assert redrive.main([*argv, "--dry-run"], session=Session()) == 0
    assert "listed: Object Created raw/x.csv" in capsys.readouterr().out  # job PENDING
    assert redrive.main([*argv, "--json"], session=Session()) == 1
    [line] = map(json.loads, capsys.readouterr().out.splitlines())
    assert line["action"] == "failed again"
    while left(sqs, url):
        for m in sqs.receive_message(QueueUrl=url).get("Messages", []):
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    assert redrive.main(argv, session=Session()) == 0
    assert capsys.readouterr().out == "nothing in the dead-letter queue\n"
    with pytest.raises(SystemExit):
        redrive.main([*argv, "--limit", "0"], session=Session())
