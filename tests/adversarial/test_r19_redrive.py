"""Review of issue 19: the dead-letter redrive (``etl-pipeline redrive``, the same
``etl_handlers.ops.redrive`` as against AWS) with messages an operator finds in a real
queue: bodies that are JSON but not an event, and bodies that are not JSON at all."""

from __future__ import annotations

import json

import pytest

from etl_constructs import LargeFiles
from tests.adversarial.kit import pipeline

pytestmark = pytest.mark.xdist_group("adversarial-ops")


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    with pipeline(
        tmp_path_factory.mktemp("cdk.out.r19.redrive"), "rvredrive", large_files=LargeFiles.off()
    ) as started:
        yield started


def _trigger_queue(local) -> str:
    return next(url for function, url in local.dead_letter_queues() if "trigger" in function.name)


def _drain(local, url: str) -> None:
    """Empty the queue (PurgeQueue allows one call a minute)."""
    while messages := local.sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0
    ).get("Messages", []):
        for message in messages:
            local.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def test_a_json_body_that_is_not_an_event_is_not_sent_to_the_trigger(local):
    """Expected: like a body that is not JSON, 'not a JSON event; left in the queue',
    without invoking the function (the redrive already calls it 'a message that is not a
    JSON event'). Observed: the trigger is invoked and fails ('the function failed again
    (AttributeError)'): a traceback in the trigger's logs for each such message."""
    url = _trigger_queue(local)
    _drain(local, url)
    for body in ("[]", '"raw/day.csv"', "42"):
        local.sqs.send_message(QueueUrl=url, MessageBody=body)
    lines = local.redrive(dry_run=False)
    assert len(lines) == 3
    for line in lines:
        assert line.action == "failed again"
        assert "AttributeError" not in line.text(), line.text()
        assert "not a JSON event" in line.detail, line.text()


def test_the_dry_run_says_what_the_real_run_does_with_a_body_that_is_not_json(local):
    """`--dry-run` is how an operator inspects before redriving (the issue: 'inspect first,
    then redrive'): its line for a message must say what the redrive will do."""
    url = _trigger_queue(local)
    _drain(local, url)
    local.sqs.send_message(QueueUrl=url, MessageBody="not json {")
    (listed,) = local.redrive(dry_run=True)
    (done,) = local.redrive(dry_run=False)
    assert done.action == "failed again" and "not a JSON event" in done.detail
    assert "would be sent back" not in listed.detail, listed.text()


def _dead_s3_event(local, **obj: object) -> str:
    return json.dumps(
        {
            "source": "aws.s3",
            "detail-type": "Object Created",
            "detail": {"bucket": {"name": local.bucket}, "object": {"key": "raw/x.csv", **obj}},
        }
    )


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("[" * 100_000 + "]" * 100_000, id="deeply-nested-json"),
        pytest.param(None, id="s3-event-whose-etag-is-a-list"),
    ],
)
def test_one_odd_message_does_not_stop_the_redrive_of_the_others(local, body):
    """Anyone allowed sqs:SendMessage can put a message in a dead-letter queue. Expected:
    one line per message, the odd one listed as not an event; observed: RecursionError or
    AttributeError out of `etl-pipeline redrive --dry-run`, nothing listed."""
    url = _trigger_queue(local)
    _drain(local, url)
    local.sqs.send_message(QueueUrl=url, MessageBody=_dead_s3_event(local, etag="abc"))
    odd = body if body is not None else _dead_s3_event(local, etag=["abc"])
    local.sqs.send_message(QueueUrl=url, MessageBody=odd)
    lines = local.redrive(dry_run=True)
    assert len(lines) == 2
