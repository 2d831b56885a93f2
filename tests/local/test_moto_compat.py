"""Pins every moto behaviour the local runtime relies on (see local/moto_compat.py).

A moto upgrade that changes one of these fails here, not in the middle of a pipeline run.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import time
from importlib.metadata import version

import boto3
import pytest
from botocore.exceptions import ClientError

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


def test_execution_ends_reach_a_rule_only_through_the_emulation(mock):
    """moto's Step Functions sends no execution status change events; the emulation sends
    one per execution that ended FAILED, TIMED_OUT or ABORTED, once, and moto matches it
    against a rule's pattern (here: this state machine's ends but SUCCEEDED)."""
    import time

    sfn = boto3.client("stepfunctions", region_name=REGION)
    events = boto3.client("events", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    arn = _machine(
        sfn,
        {
            "StartAt": "Choose",
            "TimeoutSeconds": 1,
            "States": {
                "Choose": {
                    "Type": "Choice",
                    "Choices": [
                        {"Variable": "$.end", "StringEquals": "fail", "Next": "Fail"},
                        {"Variable": "$.end", "StringEquals": "wait", "Next": "Wait"},
                    ],
                    "Default": "Done",
                },
                "Fail": {"Type": "Fail", "Error": "JobFailed", "Cause": "no amount column"},
                "Wait": {"Type": "Wait", "Seconds": 3, "Next": "Done"},
                "Done": {"Type": "Succeed"},
            },
        },
    )
    slow_arn = sfn.create_state_machine(
        name="slow",
        definition=json.dumps(
            {"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 30, "End": True}}}
        ),
        roleArn="arn:aws:iam::123456789012:role/r",
    )["stateMachineArn"]
    events.put_rule(
        Name="ends",
        EventPattern=json.dumps(
            {
                "source": ["aws.states"],
                "detail-type": ["Step Functions Execution Status Change"],
                "detail": {
                    "stateMachineArn": [arn, slow_arn],
                    "status": ["FAILED", "TIMED_OUT", "ABORTED"],
                },
            }
        ),
    )
    tap = moto_compat.EventTap.attach(events=events, sqs=sqs, rule="ends")
    started = {
        end: sfn.start_execution(stateMachineArn=arn, name=end, input=json.dumps({"end": end}))[
            "executionArn"
        ]
        for end in ("fail", "wait", "ok")
    }
    # stopped while it waits (a stop racing a state that ends on its own may end SUCCEEDED)
    started["stop"] = sfn.start_execution(stateMachineArn=slow_arn, name="stop")["executionArn"]
    time.sleep(0.2)
    sfn.stop_execution(executionArn=started["stop"], error="Aborted", cause="by hand")
    deadline = time.monotonic() + 10
    while any(
        sfn.describe_execution(executionArn=a)["status"] == "RUNNING" for a in started.values()
    ):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert tap.drain(sqs) == []  # moto itself sends nothing

    emulation = moto_compat.ExecutionStatusEvents()
    assert emulation.send_new(sfn=sfn, events=events) == 3
    assert emulation.send_new(sfn=sfn, events=events) == 0  # once each
    delivered = {e["detail"]["name"]: e for e in tap.drain(sqs)}
    assert {name: e["detail"]["status"] for name, e in delivered.items()} == {
        "fail": "FAILED",
        "wait": "TIMED_OUT",
        "stop": "ABORTED",
    }
    failed = delivered["fail"]
    assert failed["source"] == "aws.states"
    assert failed["detail-type"] == "Step Functions Execution Status Change"
    assert failed["resources"] == [started["fail"]]
    assert failed["detail"]["executionArn"] == started["fail"]
    assert failed["detail"]["stateMachineArn"] == arn
    assert (failed["detail"]["error"], failed["detail"]["cause"]) == (
        "JobFailed",
        "no amount column",
    )
    assert failed["detail"]["stopDate"] >= failed["detail"]["startDate"] > 0


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


# -- 8. S3 object bodies ------------------------------------------------------------------

MiB = 1024 * 1024
ACCOUNT = "123456789012"


def _payload(size: int) -> bytes:
    return (bytes(range(256)) * (size // 256 + 1))[:size]


def _chunked(data: bytes, chunk_size: int | None = None):
    """The body botocore sends for a PutObject or UploadPart: aws-chunked, CRC32 trailer."""
    from botocore.httpchecksum import AwsChunkedWrapper, Crc32Checksum

    return AwsChunkedWrapper(
        io.BytesIO(data),
        checksum_cls=Crc32Checksum,
        checksum_name="x-amz-checksum-crc32",
        chunk_size=chunk_size,
    )


def _chunked_headers(content_type: str, size: int) -> dict[str, str]:
    return {
        "Content-Type": content_type,
        "Content-Encoding": "aws-chunked",
        "X-Amz-Content-SHA256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "X-Amz-Trailer": "x-amz-checksum-crc32",
        "X-Amz-Decoded-Content-Length": str(size),
    }


def test_moto_reads_a_chunked_body_at_once_and_decodes_it_by_appending():
    """Why lean_s3_bodies exists: one read() makes botocore append chunk after chunk to one
    bytes object, and moto appends each decoded chunk to its result: quadratic copying."""
    import inspect

    from botocore.httpchecksum import AwsChunkedWrapper
    from moto.core.request import Request

    moto_compat.lean_s3_bodies()
    sizes = []

    class Spy(AwsChunkedWrapper):
        def read(self, size=None):
            sizes.append(size)
            return super().read(size)

    data = _payload(10_000)
    body = Spy(io.BytesIO(data), chunk_size=1000)
    moto_compat.MOTO_ORIGINALS["from_primitives"](
        Request, "PUT", "https://b.s3.amazonaws.com/k", _chunked_headers("text/csv", 10_000), body
    )
    assert sizes == [None]
    assert inspect.getsource(AwsChunkedWrapper.read).count("self._remaining += self._make_chunk()")
    decode = inspect.getsource(moto_compat.MOTO_ORIGINALS["handle_encoded_body"])
    assert "decoded_body += body.read(content_length)" in decode


@pytest.mark.parametrize("content_type", ["text/csv", "application/x-www-form-urlencoded"])
def test_chunked_requests_reach_moto_as_they_did(content_type):
    from moto.core.request import Request

    moto_compat.lean_s3_bodies()
    data = b"a=b&c=d&" + _payload(50_000)
    url = "https://b.s3.amazonaws.com/raw/k.csv?partNumber=1&uploadId=u"
    headers = _chunked_headers(content_type, len(data))
    ours = Request.from_primitives("PUT", url, headers, _chunked(data, 4096))
    theirs = moto_compat.MOTO_ORIGINALS["from_primitives"](
        Request, "PUT", url, headers, _chunked(data, 4096)
    )
    assert ours.data == theirs.data
    assert ours.form == theirs.form
    assert ours.get_data() == theirs.get_data()
    assert list(ours.headers.items()) == list(theirs.headers.items())
    assert ours.url == theirs.url and ours.method == theirs.method
    if content_type == "text/csv":  # the encoded body, undecoded (S3Response decodes it)
        assert ours.data.startswith(b"1000\r\na=b&c=d&")
    # a body sent as bytes, or as the BytesIO botocore makes of them, is the request's data
    # as it is (a form's body is left for werkzeug to parse)
    body = b"x=1&" + _payload(70_000)
    for sent in (body, io.BytesIO(body)):
        plain = Request.from_primitives("PUT", url, {"Content-Type": content_type}, sent)
        theirs = moto_compat.MOTO_ORIGINALS["from_primitives"](
            Request, "PUT", url, {"Content-Type": content_type}, body
        )
        assert plain.get_data() == theirs.get_data() == body
        assert plain.form == theirs.form
        assert (plain.get_data() is body) == (content_type == "text/csv")
    # a body of another kind (none, empty) is passed on untouched
    for other in (None, b""):
        untouched = Request.from_primitives("PUT", url, {"Content-Type": content_type}, other)
        assert "_cached_data" not in vars(untouched)
        assert untouched.get_data() == b""


@pytest.mark.parametrize(
    ("size", "chunk_size"), [(0, None), (1, None), (3 * MiB + 5, None), (10_000, 1000)]
)
def test_chunked_bodies_decode_as_moto_decodes_them(size, chunk_size):
    from moto.s3.responses import S3Response

    moto_compat.lean_s3_bodies()
    data = _payload(size)
    encoded = b"".join(_chunked(data, chunk_size))
    original = moto_compat.MOTO_ORIGINALS["handle_encoded_body"]
    assert S3Response._handle_encoded_body(None, encoded) == data
    assert original(None, encoded) == data
    assert S3Response._handle_encoded_body(None, io.BytesIO(encoded)) == data
    assert S3Response._handle_encoded_body(None, b"") == original(None, b"") == b""


@pytest.mark.parametrize("budget", [0, 64 * MiB])
def test_object_bodies_are_stored_as_moto_stores_them(budget, monkeypatch):
    """The same value, size and ETag as moto's setter gives; a body larger than moto's
    memory buffer stays in memory within the budget, and is spooled to a file past it."""
    import hashlib

    from moto.s3.models import FakeKey

    moto_compat.lean_s3_bodies()
    monkeypatch.setattr(moto_compat, "S3_MEMORY_BUDGET", budget)
    held = moto_compat._HeldInMemory.held
    for value in (b"small", "text", _payload(6 * MiB)):
        key = FakeKey("k", value, account_id=ACCOUNT, region_name=REGION)
        theirs = FakeKey("k", b"", account_id=ACCOUNT, region_name=REGION)
        moto_compat.MOTO_ORIGINALS["set_value"](theirs, value)
        theirs._etag = None  # as moto made it: its MD5 is taken when first asked
        expected = value.encode() if isinstance(value, str) else value
        assert key.value == theirs.value == expected
        assert key.size == theirs.size == len(expected)
        assert key.etag == theirs.etag == f'"{hashlib.md5(expected).hexdigest()}"'
        large = len(expected) > key._max_buffer_size
        assert theirs._value_buffer._rolled == large
        in_memory = large and budget > 0
        assert isinstance(key._value_buffer, moto_compat._HeldInMemory) == in_memory
        assert key._value_buffer._rolled == (large and not in_memory)
        assert moto_compat._HeldInMemory.held == held + (len(expected) if in_memory else 0)
        if in_memory:  # held as the bytes it was given: no copy in, none out
            assert key.value is value
        key.dispose()
        theirs.dispose()
        assert moto_compat._HeldInMemory.held == held
        for disposed in (key, theirs):  # as moto's own buffers do once closed
            with pytest.raises(ValueError, match="closed file"):
                _ = disposed.value
    given = FakeKey("k", _payload(6 * MiB), account_id=ACCOUNT, region_name=REGION, etag="e-2")
    assert given.etag == '"e-2"'  # a multipart object's ETag is not the MD5 of its body
    given.dispose()


def test_large_bodies_get_an_etag_of_their_content_shaped_as_an_md5():
    body = _payload(6 * MiB)
    etag = moto_compat.content_etag(body)
    assert len(etag) == 32 and int(etag, 16) >= 0  # an MD5's shape: 32 hex digits
    assert moto_compat.content_etag(bytes(body)) == etag  # equal bodies, equal ETags
    assert moto_compat.content_etag(body[:-1] + b"!") != etag
    assert moto_compat.content_etag(body + b"\0") != etag


def test_a_multipart_etag_is_still_made_of_its_parts_etags():
    """A part over 5 MiB gets its CRC32 ETag (moto took its MD5), a smaller one its MD5;
    the object's ETag is the MD5 of its parts' ETags and the part count, as S3 makes it."""
    from moto.s3.models import FakeMultipart

    moto_compat.lean_s3_bodies()
    parts = [_payload(6 * MiB), b"tail"]
    upload = _multipart(parts)
    listed = [(n, upload.parts[n].etag) for n in (1, 2)]
    assert listed[0][1] == f'"{moto_compat.content_etag(parts[0])}"'
    assert listed[1][1] == f'"{hashlib.md5(b"tail").hexdigest()}"'
    theirs = FakeMultipart("k", {}, account_id=ACCOUNT, region_name=REGION)
    moto_compat.MOTO_ORIGINALS["set_part"](theirs, 1, parts[0])
    theirs.parts[1]._etag = None  # as moto made it: its MD5 is taken when first asked
    assert theirs.parts[1].etag == f'"{hashlib.md5(parts[0]).hexdigest()}"'
    _, etag, _ = upload.complete(listed)
    digests = b"".join(bytes.fromhex(e.strip('"')) for _, e in listed)
    assert etag == f"{hashlib.md5(digests).hexdigest()}-2"


def test_botocore_sessions_share_one_loader_unless_given_a_data_path(tmp_path, monkeypatch):
    """Each botocore data file is read once per process, however many sessions ask."""
    import botocore.loaders
    import botocore.session

    moto_compat.shared_botocore_data()
    first, second = botocore.session.Session(), botocore.session.Session()
    assert first.get_component("data_loader") is second.get_component("data_loader")
    reads = []
    original = botocore.loaders.JSONFileLoader.load_file
    monkeypatch.setattr(
        botocore.loaders.JSONFileLoader,
        "load_file",
        lambda self, path: reads.append(path) or original(self, path),
    )
    for session in (first, second, botocore.session.Session()):
        session.create_client("kafkaconnect", region_name=REGION)  # a model nothing reads
    model = [path for path in reads if path.endswith("/service-2")]
    assert len(model) == 1 and "/kafkaconnect/" in model[0]  # the first session read it
    monkeypatch.setenv("AWS_DATA_PATH", str(tmp_path))
    given = botocore.session.Session()
    assert given.get_component("data_loader") is not first.get_component("data_loader")
    assert str(tmp_path) in given.get_component("data_loader").search_paths


def _multipart(parts: list[bytes], algorithm: str | None = None, kind: str | None = None):
    from moto.s3.models import FakeMultipart

    metadata = {}
    if algorithm:
        metadata["x-amz-checksum-algorithm"] = algorithm
    if kind:
        metadata["x-amz-checksum-type"] = kind
    upload = FakeMultipart("k", metadata, account_id=ACCOUNT, region_name=REGION)
    for number, body in enumerate(parts, 1):
        upload.set_part(number, body)
    return upload


@pytest.mark.parametrize(
    ("algorithm", "kind"),
    [
        (None, None),
        ("CRC32", None),
        ("CRC32", "FULL_OBJECT"),
        ("SHA256", None),
        ("SHA256", "FULL_OBJECT"),
        ("CRC32C", None),
    ],
)
def test_multipart_uploads_complete_as_moto_completes_them(algorithm, kind):
    moto_compat.lean_s3_bodies()
    parts = [_payload(5 * MiB), bytes(5 * MiB), b"tail"]
    upload = _multipart(parts, algorithm, kind)
    listing = [(n, upload.parts[n].etag) for n in (1, 2, 3)]
    theirs = moto_compat.MOTO_ORIGINALS["complete"](upload, iter(listing))
    body, etag, checksum = upload.complete(iter(listing))
    assert (body.read(), etag, checksum) == theirs
    assert theirs[0] == b"".join(parts) and etag.endswith("-3")


def test_a_completed_objects_body_is_its_parts(monkeypatch):
    """The object reads its parts' buffers; each part reads its range of the object; the
    object's key closes the buffers when it is disposed, as moto's disposal of its parts
    did."""
    from moto.s3.models import FakeKey

    moto_compat.lean_s3_bodies()
    held = moto_compat._HeldInMemory.held
    monkeypatch.setattr(moto_compat, "S3_MEMORY_BUDGET", held + 64 * MiB)  # room for the parts
    parts = [_payload(5 * MiB), bytes(5 * MiB), b"tail"]
    upload = _multipart(parts)
    buffers = [upload.parts[n]._value_buffer for n in (1, 2, 3)]
    assert moto_compat._HeldInMemory.held == held + 10 * MiB  # the two parts over 5 MiB
    body, etag, _ = upload.complete(iter((n, upload.parts[n].etag) for n in (1, 2, 3)))
    key = FakeKey("k", body, account_id=ACCOUNT, region_name=REGION, etag=etag, multipart=upload)
    whole = b"".join(parts)
    assert key.value == whole and key.size == len(whole) and key.etag == f'"{etag}"'
    assert key.value == whole  # read again, from the start
    assert [upload.parts[n].value for n in (1, 2, 3)] == parts
    assert body.read_at(5 * MiB - 2, 4) == whole[5 * MiB - 2 : 5 * MiB + 2]
    assert body.seek(-4, io.SEEK_END) == len(whole) - 4 and body.read(100) == b"tail"
    assert body.seek(-2, io.SEEK_CUR) == len(whole) - 2 and body.tell() == len(whole) - 2
    window = upload.parts[3]._value_buffer
    assert window.seek(-2, io.SEEK_END) == 2 and window.read() == b"il"
    assert window.seek(1, io.SEEK_CUR) == 5 and window.read(1) == b""
    key.dispose()
    assert all(buffer.closed for buffer in buffers)
    assert moto_compat._HeldInMemory.held == held
    # a key whose body was a completed object, given another body
    again = FakeKey("k", _joined([b"ab", b"c"]), account_id=ACCOUNT, region_name=REGION)
    assert again.value == b"abc" and again.etag == '"900150983cd24fb0d6963f7d28e17f72"'
    again.value = b"new"
    assert again.value == b"new" and again.size == 3
    again.dispose()


def _joined(bodies: list[bytes]):
    """A moto_compat._JoinedParts of these bodies, each in a buffer of its own."""
    import tempfile

    buffers = []
    for body in bodies:
        buffer = tempfile.SpooledTemporaryFile()  # noqa: SIM115 - the body closes it
        buffer.write(body)
        buffers.append((buffer, len(body)))
    return moto_compat._JoinedParts(buffers)


def test_a_part_listed_twice_is_read_twice():
    moto_compat.lean_s3_bodies()
    parts = [_payload(5 * MiB), b"end"]
    upload = _multipart(parts)
    listing = [(1, upload.parts[1].etag), (1, upload.parts[1].etag), (2, upload.parts[2].etag)]
    theirs = moto_compat.MOTO_ORIGINALS["complete"](upload, iter(listing))
    body, etag, checksum = upload.complete(iter(listing))
    assert (body.read(), etag, checksum) == theirs
    assert [upload.parts[n].value for n in (1, 2)] == parts


@pytest.mark.parametrize(
    ("parts", "listing", "error"),
    [
        ([b"a" * 5 * MiB, b"b"], [(1, None), (3, '"x"')], "InvalidPart"),
        ([b"a" * 5 * MiB], [(1, '"0123"')], "InvalidPart"),
        ([b"small", b"b"], [(1, None), (2, None)], "EntityTooSmall"),
        ([b"a"], [], "MalformedXML"),
    ],
)
def test_multipart_completion_refuses_what_moto_refuses(parts, listing, error):
    moto_compat.lean_s3_bodies()
    upload = _multipart(parts)
    listing = [(n, etag or upload.parts[n].etag) for n, etag in listing]
    for complete in (upload.complete, moto_compat.MOTO_ORIGINALS["complete"].__get__(upload)):
        with pytest.raises(Exception) as raised:
            complete(iter(listing))
        assert type(raised.value).__name__ == error


def test_s3_bodies_round_trip_through_moto(mock):
    """Bodies, ETags and checksums as S3 has them (but for the ETags of large parts),
    through botocore's aws-chunked requests."""
    import hashlib

    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="body-bucket")
    s3.put_bucket_versioning(Bucket="body-bucket", VersioningConfiguration={"Status": "Enabled"})
    whole = _payload(6 * MiB + 3)
    put = s3.put_object(Bucket="body-bucket", Key="raw/one.csv", Body=io.BytesIO(whole))
    assert put["ETag"] == f'"{hashlib.md5(whole).hexdigest()}"'
    got = s3.get_object(Bucket="body-bucket", Key="raw/one.csv", VersionId=put["VersionId"])
    assert got["Body"].read() == whole
    parts = [_payload(5 * MiB), bytes(5 * MiB), b"tail"]
    upload = s3.create_multipart_upload(Bucket="body-bucket", Key="out/two.jsonl")["UploadId"]
    etags = [
        s3.upload_part(
            Bucket="body-bucket", Key="out/two.jsonl", UploadId=upload, PartNumber=n, Body=body
        )["ETag"]
        for n, body in enumerate(parts, 1)
    ]
    done = s3.complete_multipart_upload(
        Bucket="body-bucket",
        Key="out/two.jsonl",
        UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e in enumerate(etags, 1)]},
    )
    # a part over moto's memory buffer gets its CRC32 ETag, a smaller one its MD5 (see 13.)
    large = 5 * MiB - 1024  # moto's memory buffer
    expected = [
        moto_compat.content_etag(b) if len(b) > large else hashlib.md5(b).hexdigest() for b in parts
    ]
    assert etags == [f'"{etag}"' for etag in expected]
    digests = b"".join(bytes.fromhex(etag.strip('"')) for etag in etags)
    assert done["ETag"] == f'"{hashlib.md5(digests).hexdigest()}-3"'
    got = s3.get_object(Bucket="body-bucket", Key="out/two.jsonl", IfMatch=done["ETag"])
    assert got["Body"].read() == b"".join(parts)
    ranged = s3.get_object(Bucket="body-bucket", Key="out/two.jsonl", Range="bytes=10-19")
    assert ranged["Body"].read() == parts[0][10:20]


def test_a_part_declaring_its_crc32_gets_the_etag_of_that_crc32(mock):
    """The handlers send each part with its CRC32 in a header; moto takes the part's ETag
    from it instead of a CRC32 of its own (see 13.). A wrong declaration, which S3 would
    refuse, makes the completed object fail the SDK's checksum check on reading."""
    import base64
    import zlib

    from botocore.exceptions import FlexibleChecksumError

    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="crc-bucket")

    def upload(key: str, parts: list[bytes], declared: list[int]) -> list[str]:
        upload_id = s3.create_multipart_upload(
            Bucket="crc-bucket", Key=key, ChecksumAlgorithm="CRC32", ChecksumType="FULL_OBJECT"
        )["UploadId"]
        listed = []
        for number, (body, crc) in enumerate(zip(parts, declared, strict=True), 1):
            checksum = base64.b64encode(crc.to_bytes(4, "big")).decode()
            etag = s3.upload_part(
                Bucket="crc-bucket",
                Key=key,
                UploadId=upload_id,
                PartNumber=number,
                Body=body,
                ChecksumAlgorithm="CRC32",
                ChecksumCRC32=checksum,
            )["ETag"]
            listed.append({"PartNumber": number, "ETag": etag, "ChecksumCRC32": checksum})
        s3.complete_multipart_upload(
            Bucket="crc-bucket", Key=key, UploadId=upload_id, MultipartUpload={"Parts": listed}
        )
        return [part["ETag"] for part in listed]

    parts = [_payload(6 * MiB), _payload(6 * MiB)[::-1]]
    honest = [zlib.crc32(body) for body in parts]
    assert upload("good.jsonl", parts, honest) == [
        f'"{moto_compat.content_etag(body)}"' for body in parts
    ]
    assert s3.get_object(Bucket="crc-bucket", Key="good.jsonl")["Body"].read() == b"".join(parts)
    wrong = [honest[0], honest[1] ^ 1]
    etags = upload("bad.jsonl", parts, wrong)
    assert etags[1] == f'"{moto_compat.content_etag(parts[1], crc32=wrong[1])}"'
    assert etags[1] != f'"{moto_compat.content_etag(parts[1])}"'
    with pytest.raises(FlexibleChecksumError):
        s3.get_object(Bucket="crc-bucket", Key="bad.jsonl")["Body"].read()


class _ChecksumRequest:
    """What S3Response._get_checksum reads of itself: the headers and the raw body."""

    def __init__(self, headers: dict[str, str], raw_body: bytes) -> None:
        self.headers, self.raw_body = headers, raw_body


@pytest.mark.parametrize(
    ("headers", "raw_body"),
    [
        ({"x-amz-sdk-checksum-algorithm": "CRC32"}, b"".join(_chunked(_payload(10_000), 1000))),
        ({"x-amz-sdk-checksum-algorithm": "CRC32", "x-amz-checksum-crc32": "AAAAAA=="}, b"x"),
        ({"x-amz-sdk-checksum-algorithm": "SHA256"}, b"no trailer x-amz-checksum-sha256 here"),
        (
            {"x-amz-sdk-checksum-algorithm": "CRC32"},
            b"x-amz-checksum-x:y\nx-amz-checksum-c:AB==\r\n",
        ),
        ({}, b"x-amz-checksum-crc32:AAAAAA==\r\n"),
    ],
)
def test_checksums_are_found_as_moto_finds_them(headers, raw_body):
    from moto.s3.responses import S3Response

    moto_compat.lean_s3_bodies()
    ours, theirs = _ChecksumRequest(headers, raw_body), _ChecksumRequest(headers, raw_body)
    ours_headers, theirs_headers = {}, {}
    found = S3Response._get_checksum(ours, ours_headers)
    assert found == moto_compat.MOTO_ORIGINALS["get_checksum"](theirs, theirs_headers)
    assert ours_headers == theirs_headers
    assert ours.raw_body is raw_body  # given back
    assert bool(found[1]) == bool(headers)


def test_moto_searches_the_whole_body_for_the_checksum_trailer():
    """Why the trailer is found first: moto's re.search walks an 8 MiB part byte by byte."""
    import inspect

    moto_compat.lean_s3_bodies()
    source = inspect.getsource(moto_compat.MOTO_ORIGINALS["get_checksum"])
    assert 're.search(rb"x-amz-checksum-\\w+:(.+={1,2})", self.raw_body)' in source


def _listing_map_outcome(sfn, s3, prefix: str) -> tuple[str, object]:
    """Run a Distributed Map over an S3 listing of ``prefix``: (status, items counted)."""
    definition = {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemReader": {
                    "Resource": "arn:aws:states:::s3:listObjectsV2",
                    "Parameters": {"Bucket": "listing", "Prefix": prefix},
                },
                "ItemSelector": {"key.$": "$$.Map.Item.Value.Key"},
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "Keep",
                    "States": {"Keep": {"Type": "Pass", "End": True}},
                },
                "End": True,
            }
        },
    }
    arn = sfn.create_state_machine(
        name=f"listing-{len(prefix)}-{id(definition)}",
        definition=json.dumps(definition),
        roleArn="arn:aws:iam::123456789012:role/x",
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=arn, name="run")["executionArn"]
    for _ in range(600):
        described = sfn.describe_execution(executionArn=execution)
        if described["status"] != "RUNNING":
            break
        time.sleep(0.05)
    output = json.loads(described.get("output") or "null")
    return described["status"], len(output) if isinstance(output, list) else None


def test_map_listings_are_whole_and_may_be_empty_while_moto_reads_one_page(mock):
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.item_reader.eval import (
        resource_eval_s3,
    )

    s3 = boto3.client("s3", region_name=REGION)
    sfn = boto3.client("stepfunctions", region_name=REGION)
    s3.create_bucket(Bucket="listing")
    for index in range(1001):
        s3.put_object(Bucket="listing", Key=f"many/{index:04d}", Body=b"")
    assert _listing_map_outcome(sfn, s3, "none/") == ("SUCCEEDED", 0)
    assert _listing_map_outcome(sfn, s3, "many/") == ("SUCCEEDED", 1001)
    reader = resource_eval_s3.ResourceEvalS3
    ours = reader.__dict__["_handle_list_objects_v2"]  # the staticmethod, to put back as is
    reader._handle_list_objects_v2 = staticmethod(moto_compat.MOTO_ORIGINALS["list_objects_v2"])
    try:
        assert _listing_map_outcome(sfn, s3, "none/")[0] == "FAILED"  # KeyError: Contents
        assert _listing_map_outcome(sfn, s3, "many/") == ("SUCCEEDED", 1000)
    finally:
        reader._handle_list_objects_v2 = ours


def test_map_tolerance_becomes_a_float_and_a_non_zero_one_is_reported():
    definition = {
        "StartAt": "Outer",
        "States": {
            "Outer": {
                "Type": "Parallel",
                "Branches": [
                    {
                        "StartAt": "Inner",
                        "States": {
                            "Inner": {"Type": "Map", "ToleratedFailurePercentage": 5, "End": True}
                        },
                    }
                ],
                "End": True,
            },
            "Plain": {"Type": "Map", "ToleratedFailurePercentage": 0, "End": True},
        },
    }
    tolerance = moto_compat.MapTolerance()
    rewritten = tolerance.rewrite(definition)
    inner = rewritten["States"]["Outer"]["Branches"][0]["States"]["Inner"]
    assert inner["ToleratedFailurePercentage"] == 5.0
    assert isinstance(rewritten["States"]["Plain"]["ToleratedFailurePercentage"], float)
    assert tolerance.warnings == ["Inner: ToleratedFailurePercentage 5 is treated as 0 locally"]
    assert definition["States"]["Plain"]["ToleratedFailurePercentage"] == 0  # not changed


def test_moto_reads_a_whole_key_to_answer_get_object():
    """What :func:`moto_compat.lazy_s3_reads` relies on: moto's GetObject answers with
    ``key.value`` (the whole body), slices ranges out of what it answered, and botocore's
    response is made of that body with ``MockRawResponse``."""
    import inspect

    from moto.core import botocore_stubber
    from moto.s3.responses import S3Response

    moto_compat.lazy_s3_reads()
    get_object = inspect.getsource(moto_compat.MOTO_ORIGINALS["get_object"])
    assert get_object.rstrip().endswith("return 200, response_headers, key.value")
    assert "response_content[begin : end + 1]" in inspect.getsource(S3Response._handle_range_header)
    stubber = inspect.getsource(botocore_stubber.BotocoreStubber)  # the class as moto wrote it
    assert "MockRawResponse(body)" in stubber


def _peak_while(action) -> int:
    import tracemalloc

    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_get_object_reads_a_body_on_file_as_it_is_consumed(mock, monkeypatch):
    """A body spooled to a file is read in the pieces asked for, whole or in ranges:
    neither a whole-object GET nor a ranged one holds the object in memory."""
    monkeypatch.setattr(moto_compat, "S3_MEMORY_BUDGET", 0)  # every big body on file
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="lazy")
    body = _payload(24 * MiB)
    s3.put_object(Bucket="lazy", Key="big", Body=body)
    chunks: list[bytes] = []

    def stream_whole() -> None:
        response = s3.get_object(Bucket="lazy", Key="big")
        assert response["ContentLength"] == len(body)
        while chunk := response["Body"].read(MiB):
            chunks.append(hashlib.sha256(chunk).digest())

    assert _peak_while(stream_whole) < 6 * MiB
    assert len(chunks) == 24
    assert moto_compat.LAST_READ.key == "big"
    assert moto_compat.LAST_READ.done == moto_compat.LAST_READ.total == len(body)
    ranges = {}

    def read_ranges() -> None:
        for start, end in ((0, 9), (5 * MiB, 5 * MiB + 99), (len(body) - 10, len(body) - 1)):
            got = s3.get_object(Bucket="lazy", Key="big", Range=f"bytes={start}-{end}")
            ranges[(start, end)] = (got["ContentRange"], got["Body"].read())

    assert _peak_while(read_ranges) < 2 * MiB
    for (start, end), (content_range, data) in ranges.items():
        assert content_range == f"bytes {start}-{end}/{len(body)}"
        assert data == body[start : end + 1]
    whole = s3.get_object(Bucket="lazy", Key="big")["Body"].read()
    assert whole == body
    small = s3.put_object(Bucket="lazy", Key="small", Body=b"a,b\n")
    assert s3.get_object(Bucket="lazy", Key="small")["Body"].read() == b"a,b\n"
    assert small["ETag"]


def test_event_patterns_match_as_moto_routes_them():
    pattern = {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {"object": {"key": [{"wildcard": "raw/*.csv"}]}},
    }

    def event(key: str) -> dict:
        return {
            "source": "aws.s3",
            "detail-type": "Object Created",
            "detail": {"object": {"key": key}},
        }

    assert moto_compat.pattern_matches(pattern, event("raw/a.csv"))
    assert not moto_compat.pattern_matches(pattern, event("raw/a.txt"))
    assert not moto_compat.pattern_matches(pattern, event("other/a.csv"))


def test_a_definition_is_parsed_once_and_each_execution_gets_its_own_copy(
    mock, tmp_path, monkeypatch
):
    """moto parses at create and at each execution; with the parses kept, a definition is
    parsed once per folder of kept parses, executions still run it as moto does, and an
    invalid one is still refused at create."""
    moto_compat.ParsedDefinitions.install()
    monkeypatch.setattr(moto_compat.ParsedDefinitions, "directory", tmp_path)
    monkeypatch.setattr(moto_compat.ParsedDefinitions, "_pickled", {})
    parses = []
    parse = moto_compat.MOTO_ORIGINALS["parse"]
    monkeypatch.setitem(moto_compat.MOTO_ORIGINALS, "parse", lambda d: parses.append(d) or parse(d))
    sfn = boto3.client("stepfunctions", region_name=REGION)
    definition = {
        "StartAt": "Count",
        "States": {
            "Count": {"Type": "Pass", "Result": {"n": 1}, "ResultPath": "$.count", "Next": "Done"},
            "Done": {"Type": "Succeed"},
        },
    }
    arn = _machine(sfn, definition)
    outputs = [json.loads(_run(sfn, arn, name=f"e{n}")["output"]) for n in range(2)]
    assert outputs == [{"count": {"n": 1}}] * 2
    assert len(parses) <= 1  # at create, or not at all in a process that parsed it before
    kept = list(tmp_path.glob("asl-*.pickle"))
    assert len(kept) == 1
    first = moto_compat.ParsedDefinitions.program(json.dumps(definition))
    second = moto_compat.ParsedDefinitions.program(json.dumps(definition))
    assert first is not None and first is not second  # a copy each: no state shared
    with pytest.raises(ClientError, match="ASLParserException"):  # moto's InvalidDefinition
        sfn.create_state_machine(
            name="bad",
            definition='{"StartAt": "X", "States": {"X": {"Type": "Nope"}}}',
            roleArn="arn:aws:iam::123456789012:role/r",
        )
    assert not moto_compat.ParsedDefinitions.program('{"StartAt": "X"}')
    monkeypatch.setattr(moto_compat.ParsedDefinitions, "_pickled", {})  # the next run
    parses.clear()
    assert moto_compat.ParsedDefinitions.program(json.dumps(definition)) is not None
    kept[0].write_bytes(b"damaged")
    monkeypatch.setattr(moto_compat.ParsedDefinitions, "_pickled", {})
    assert moto_compat.ParsedDefinitions.program(json.dumps(definition)) is None  # parse again


def test_moto_batch_and_ec2_load_only_when_asked_for():
    """moto's Step Functions interpreter imports moto.batch.utils; without the deferral its
    package's __init__ loads moto's Batch and EC2 backends (most of a second)."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from etl_constructs.local import moto_compat\n"
        "{defer}"
        "import moto.stepfunctions.parser.models\n"
        "print('moto.ec2' in sys.modules)\n"
        "from moto.batch import batch_backends\n"
        "import moto.batch\n"
        "print('moto.ec2' in sys.modules, moto.batch.batch_backends is batch_backends)\n"
    )
    for defer, expected in (("moto_compat.deferred_batch_package()\n", "False"), ("", "True")):
        shown = subprocess.run(
            [sys.executable, "-c", script.format(defer=defer)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        assert shown == [expected, "True", "True"]


def test_crc32s_combine_as_zlib_combines_them():
    import binascii
    import random

    chooser = random.Random(14)
    for _ in range(100):
        first = chooser.randbytes(chooser.randint(0, 3000))
        second = chooser.randbytes(chooser.choice([0, 1, 7, chooser.randint(0, 5000)]))
        combined = moto_compat.crc32_combine(
            binascii.crc32(first), binascii.crc32(second), len(second)
        )
        assert combined == binascii.crc32(first + second)


@pytest.mark.parametrize("budget", [0, 64 * MiB])
def test_an_exported_object_is_its_latest_body(mock, tmp_path, monkeypatch, budget):
    """Bodies in memory, on file and of completed multipart uploads are written out whole;
    the latest version of a key is; a deleted key is not."""
    monkeypatch.setattr(moto_compat, "S3_MEMORY_BUDGET", budget)
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="out-bucket")
    s3.put_bucket_versioning(Bucket="out-bucket", VersioningConfiguration={"Status": "Enabled"})
    small, large = b"small body", _payload(6 * MiB + 5)
    s3.put_object(Bucket="out-bucket", Key="small", Body=b"an earlier version")
    s3.put_object(Bucket="out-bucket", Key="small", Body=small)
    s3.put_object(Bucket="out-bucket", Key="large", Body=large)
    parts = [_payload(6 * MiB), b"tail"]
    upload = s3.create_multipart_upload(Bucket="out-bucket", Key="joined")["UploadId"]
    etags = [
        s3.upload_part(Bucket="out-bucket", Key="joined", UploadId=upload, PartNumber=n, Body=b)[
            "ETag"
        ]
        for n, b in enumerate(parts, 1)
    ]
    s3.complete_multipart_upload(
        Bucket="out-bucket",
        Key="joined",
        UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e in enumerate(etags, 1)]},
    )
    s3.put_object(Bucket="out-bucket", Key="gone", Body=b"x")
    s3.delete_object(Bucket="out-bucket", Key="gone")
    for key, body in (("small", small), ("large", large), ("joined", b"".join(parts))):
        target = tmp_path / key
        assert moto_compat.copy_object_to(
            account=ACCOUNT, bucket="out-bucket", key=key, target=target
        )
        assert target.read_bytes() == body
        assert s3.get_object(Bucket="out-bucket", Key=key)["Body"].read() == body  # still
    assert not moto_compat.copy_object_to(
        account=ACCOUNT, bucket="out-bucket", key="gone", target=tmp_path / "gone"
    )
    assert not (tmp_path / "gone").exists()


def _upload_parts(s3, bucket: str, key: str, parts: list[bytes], order=None) -> None:
    upload = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    etags = {}
    for number in order or range(1, len(parts) + 1):
        etags[number] = s3.upload_part(
            Bucket=bucket, Key=key, UploadId=upload, PartNumber=number, Body=parts[number - 1]
        )["ETag"]
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key=key,
        UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": n, "ETag": etags[n]} for n in sorted(etags)]},
    )


def test_an_uploads_parts_on_file_are_one_file_an_export_links(mock, tmp_path, monkeypatch):
    """Past the memory budget, an upload's parts (its small last one too) go to one file;
    the completed object is that file, and an export gives it the target's name instead of
    copying it (see 19.). Reads, ranged reads and a second export still see the object;
    an upload whose parts are not the file in order (a part sent twice, parts out of
    order) is exported as a copy, byte for byte."""
    import stat

    from moto.s3.models import s3_backends

    monkeypatch.setattr(moto_compat, "S3_MEMORY_BUDGET", 0)
    monkeypatch.setattr(moto_compat, "SPOOL_DIRECTORY", tmp_path)
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="link-bucket")
    parts = [_payload(6 * MiB), _payload(6 * MiB)[::-1], b"the small tail"]
    whole = b"".join(parts)
    _upload_parts(s3, "link-bucket", "linked", parts)
    _upload_parts(s3, "link-bucket", "resent", parts, order=[1, 2, 2, 3])
    _upload_parts(s3, "link-bucket", "shuffled", parts, order=[2, 1, 3])
    bucket = s3_backends[ACCOUNT]["aws"].get_bucket("link-bucket")
    body = bucket.keys["linked"]._value_buffer
    assert isinstance(body, moto_compat._FileWindow) and body.size == len(whole)
    out = tmp_path / "out"
    out.mkdir()
    (out / "linked").write_bytes(b"what an earlier run left")
    for key in ("linked", "resent", "shuffled"):
        assert moto_compat.copy_object_to(
            account=ACCOUNT, bucket="link-bucket", key=key, target=out / key
        )
        assert (out / key).read_bytes() == whole
    assert os.stat(out / "linked").st_ino == os.fstat(body.file.fd).st_ino  # no copy
    for key in ("resent", "shuffled"):
        assert os.stat(out / key).st_ino != os.fstat(body.file.fd).st_ino
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(os.stat(out / "linked").st_mode) == 0o666 & ~umask  # as a new file
    assert sorted(p.name for p in out.iterdir()) == ["linked", "resent", "shuffled"]
    ranged = s3.get_object(Bucket="link-bucket", Key="linked", Range="bytes=6291450-6291460")
    assert ranged["Body"].read() == whole[6291450:6291461]
    # read through last: a body left half read shows as a step's progress (LAST_READ)
    assert s3.get_object(Bucket="link-bucket", Key="linked")["Body"].read() == whole
    assert moto_compat.copy_object_to(
        account=ACCOUNT, bucket="link-bucket", key="linked", target=out / "again"
    )
    assert (out / "again").read_bytes() == whole
    s3.delete_object(Bucket="link-bucket", Key="linked")  # unversioned: the key goes
    assert (out / "linked").read_bytes() == whole  # the export keeps its bytes


def test_s3_routing_table_is_moto_s_own_built_once_per_environment(monkeypatch):
    """moto rebuilds the S3 URL table (reloading ``moto.s3.urls``) for every request; the
    cached table is the same table, and a custom endpoint set later still routes (see 20.)."""
    from moto.s3 import models as s3_models

    moto_compat.cached_s3_urls()
    backend = s3_models.s3_backends[ACCOUNT]["aws"]
    reloads = []
    reload = s3_models.reload
    monkeypatch.setattr(
        s3_models, "reload", lambda module: reloads.append(module) or reload(module)
    )
    monkeypatch.delenv("MOTO_S3_CUSTOM_ENDPOINTS", raising=False)
    theirs = moto_compat.MOTO_ORIGINALS["s3_urls"](backend)
    assert reloads  # moto's: reloads per call
    first = backend.urls
    assert list(first) == list(theirs)
    assert [h.__qualname__ for h in first.values()] == [h.__qualname__ for h in theirs.values()]
    reloads.clear()
    assert backend.urls is first and backend.urls is first and not reloads  # built once
    monkeypatch.setenv("MOTO_S3_CUSTOM_ENDPOINTS", "http://custom.example:9000")
    custom = backend.urls
    assert any(url.startswith("http://custom.example:9000") for url in custom)
    assert list(custom) == list(moto_compat.MOTO_ORIGINALS["s3_urls"](backend))
