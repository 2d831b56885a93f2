"""Pins every moto behaviour the local runtime relies on (see local/moto_compat.py).

A moto upgrade that changes one of these fails here, not in the middle of a pipeline run.
"""

from __future__ import annotations

import json
from importlib.metadata import version

import boto3
import pytest

from etl_constructs.local import moto_compat

pytestmark = pytest.mark.xdist_group("moto-runtime")
REGION = "us-east-1"


@pytest.fixture
def mock():
    started = moto_compat.start_mock()
    yield
    moto_compat.LambdaDispatch.uninstall()
    started.stop()


def test_moto_is_the_pinned_release():
    assert version("moto") == "5.2.5"


def test_s3_sends_object_created_to_eventbridge_and_a_tap_sees_it(mock):
    s3 = boto3.client("s3", region_name=REGION)
    events = boto3.client("events", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    s3.create_bucket(Bucket="tap-bucket")
    s3.put_bucket_versioning(Bucket="tap-bucket", VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_notification_configuration(
        Bucket="tap-bucket", NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    pattern = {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {
            "bucket": {"name": ["tap-bucket"]},
            "object": {"key": [{"wildcard": "raw/*.csv"}]},
        },
    }
    events.put_rule(Name="ingest", EventPattern=json.dumps(pattern))
    tap = moto_compat.EventTap.attach(events=events, sqs=sqs, rule="ingest")
    put = s3.put_object(Bucket="tap-bucket", Key="raw/a b.csv", Body=b"x")
    s3.put_object(Bucket="tap-bucket", Key="other/a.csv", Body=b"x")
    s3.put_object(Bucket="tap-bucket", Key="raw/notes.txt", Body=b"x")
    (event,) = tap.drain(sqs)
    assert event["detail"]["object"]["key"] == "raw/a b.csv"  # delivered as is, not URL-encoded
    assert event["detail"]["object"]["version-id"] == put["VersionId"]
    assert event["detail"]["bucket"]["name"] == "tap-bucket"
    assert tap.drain(sqs) == []


def _machine(sfn, definition):
    arn = sfn.create_state_machine(
        name="m",
        definition=json.dumps(definition),
        roleArn="arn:aws:iam::123456789012:role/r",
    )["stateMachineArn"]
    return arn


def _run(sfn, arn, name="e1"):
    import time

    execution = sfn.start_execution(stateMachineArn=arn, name=name, input="{}")["executionArn"]
    for _ in range(400):
        described = sfn.describe_execution(executionArn=execution)
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.02)
    raise AssertionError("execution did not finish")


def test_lambda_tasks_reach_the_dispatch_and_error_types_drive_retry_and_catch(mock):
    calls = []

    def handler(function, payload, invocation_type):
        calls.append(function)
        if len(calls) < 3:
            return json.dumps(
                {"errorType": "TransientError", "errorMessage": "try again"}
            ).encode(), "Unhandled"
        if len(calls) == 3:
            return json.dumps({"ok": True}).encode(), None
        return json.dumps({"errorType": "ValueError", "errorMessage": "bad"}).encode(), "Unhandled"

    moto_compat.LambdaDispatch.install(handler)
    sfn = boto3.client("stepfunctions", region_name=REGION)
    fn = "arn:aws:lambda:us-east-1:123456789012:function:step"
    arn = _machine(
        sfn,
        {
            "StartAt": "A",
            "States": {
                "A": {
                    "Type": "Task",
                    "Resource": fn,
                    "ResultPath": "$.a",
                    "Next": "B",
                    "Retry": [
                        {
                            "ErrorEquals": ["TransientError"],
                            "IntervalSeconds": 1,
                            "MaxAttempts": 3,
                            "BackoffRate": 1,
                        }
                    ],
                },
                "B": {
                    "Type": "Task",
                    "Resource": fn,
                    "End": True,
                    "Catch": [
                        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "C"}
                    ],
                },
                "C": {"Type": "Pass", "End": True},
            },
        },
    )
    described = _run(sfn, arn)
    assert described["status"] == "SUCCEEDED"
    assert calls == [fn] * 4  # two retried attempts, one success, then B's error
    output = json.loads(described["output"])
    assert output["a"] == {"ok": True}
    assert output["error"]["Error"] == "ValueError"


def test_botocore_encodes_a_string_copy_source_again():
    """Why CopySourceDecoding exists: without it an encoded source is encoded twice."""
    from botocore.handlers import handle_copy_source_param

    params = {"CopySource": "b/raw/x%20y.csv?versionId=v1"}
    handle_copy_source_param(params)
    assert params["CopySource"] == "b/raw/x%2520y.csv?versionId=v1"


def test_sdk_integrations_of_the_failure_branch(mock):
    moto_compat.CopySourceDecoding.install()
    s3 = boto3.client("s3", region_name=REGION)
    ddb = boto3.client("dynamodb", region_name=REGION)
    s3.create_bucket(Bucket="fail-bucket")
    s3.put_object(Bucket="fail-bucket", Key="raw/x y.csv", Body=b"data")
    ddb.create_table(
        TableName="jobs",
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "jobId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "jobId", "AttributeType": "S"}],
    )
    ddb.put_item(TableName="jobs", Item={"jobId": {"S": "j"}, "status": {"S": "SUCCEEDED"}})
    sfn = boto3.client("stepfunctions", region_name=REGION)
    arn = _machine(
        sfn,
        {
            "StartAt": "Copy",
            "States": {
                "Copy": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::aws-sdk:s3:copyObject",
                    "Parameters": {
                        "Bucket": "fail-bucket",
                        "CopySource": "fail-bucket/raw/x%20y.csv",
                        "Key": "failed/j/x y.csv",
                    },
                    "ResultPath": None,
                    "Next": "Record",
                },
                "Record": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::dynamodb:updateItem",
                    "Parameters": {
                        "TableName": "jobs",
                        "Key": {"jobId": {"S": "j"}},
                        "UpdateExpression": "SET #s = :f",
                        "ConditionExpression": "#s IN (:p)",
                        "ExpressionAttributeNames": {"#s": "status"},
                        "ExpressionAttributeValues": {
                            ":f": {"S": "FAILED"},
                            ":p": {"S": "PENDING"},
                        },
                    },
                    "Catch": [
                        {
                            "ErrorEquals": ["DynamoDB.ConditionalCheckFailedException"],
                            "ResultPath": "$.caught",
                            "Next": "Caught",
                        }
                    ],
                    "End": True,
                },
                "Caught": {"Type": "Fail", "Error": "JobFailed", "Cause": "already final"},
            },
        },
    )
    described = _run(sfn, arn)
    assert s3.get_object(Bucket="fail-bucket", Key="failed/j/x y.csv")["Body"].read() == b"data"
    assert described["status"] == "FAILED"
    assert described["error"] == "JobFailed"  # the conditional write was refused and caught
    assert (
        ddb.get_item(TableName="jobs", Key={"jobId": {"S": "j"}})["Item"]["status"]["S"]
        == "SUCCEEDED"
    )
    moto_compat.CopySourceDecoding.uninstall()


def test_without_the_dispatch_lambda_needs_docker(mock):
    sfn_lambda = boto3.client("lambda", region_name=REGION)
    moto_compat.LambdaDispatch.uninstall()
    with pytest.raises(Exception):  # noqa: B017 - any failure: no function, no Docker
        sfn_lambda.invoke(FunctionName="nothing", Payload=b"{}")


def test_moto_answers_one_request_at_a_time(mock):
    """Reads that copy an item while another thread updates it broke moto's backends."""
    import threading

    from moto.core.botocore_stubber import BotocoreStubber

    assert getattr(BotocoreStubber.__call__, "_etl_serialized", False)
    ddb = boto3.client("dynamodb", region_name=REGION)
    ddb.create_table(
        TableName="race",
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
    )
    ddb.put_item(TableName="race", Item={"id": {"S": "j"}, "steps": {"M": {}}})
    errors = []

    def writer():
        client = boto3.client("dynamodb", region_name=REGION)
        for n in range(300):
            client.update_item(
                TableName="race",
                Key={"id": {"S": "j"}},
                UpdateExpression="SET steps.#n = :v",
                ExpressionAttributeNames={"#n": f"s{n}"},
                ExpressionAttributeValues={":v": {"M": {"n": {"N": str(n)}}}},
            )

    def reader():
        client = boto3.client("dynamodb", region_name=REGION)
        try:
            for _ in range(300):
                client.query(
                    TableName="race",
                    KeyConditionExpression="id = :i",
                    ExpressionAttributeValues={":i": {"S": "j"}},
                )
        except RuntimeError as exc:  # pragma: no cover - the race this guards against
            errors.append(exc)

    threads = [threading.Thread(target=writer), threading.Thread(target=reader)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
