"""The compliance module: pack wiring and finding ids rendered like cdk-nag renders them."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs

from etl_constructs import compliance
from tests.conftest import cdk_json_context


def test_finding_resource_inside_one_stack_and_across_stacks():
    app = cdk.App(context=cdk_json_context())
    producer = cdk.Stack(app, "Producer")
    consumer = cdk.Stack(app, "Consumer")
    bucket = s3.Bucket(producer, "Bucket")
    lid = producer.get_logical_id(bucket.node.default_child)
    value = bucket.arn_for_objects("raw/*")
    assert compliance.finding_resource(producer, value) == f"<{lid}.Arn>/raw/*"
    rendered = compliance.finding_resource(consumer, value)
    assert rendered.startswith(f"Producer:ExportsOutputFnGetAtt{lid}Arn")
    assert rendered.endswith("/raw/*")
    imported = s3.Bucket.from_bucket_name(consumer, "Imported", "landing")
    assert (
        compliance.finding_resource(consumer, imported.arn_for_objects("raw/*"))
        == "arn:<AWS::Partition>:s3:::landing/raw/*"
    )


def test_an_unacknowledged_finding_fails_synth_and_an_acknowledged_one_does_not(tmp_path):
    app = cdk.App(context=cdk_json_context(), outdir=str(tmp_path / "a"))
    stack = cdk.Stack(app, "Queues")
    sqs.Queue(stack, "Plain")  # no DLQ, no TLS policy
    compliance.add_nag_packs(app)
    with pytest.raises(Exception, match="AwsSolutions-SQS"):
        app.synth()

    app = cdk.App(context=cdk_json_context(), outdir=str(tmp_path / "b"))
    stack = cdk.Stack(app, "Queues")
    queue = sqs.Queue(stack, "Dlq", enforce_ssl=True, encryption=sqs.QueueEncryption.SQS_MANAGED)
    compliance.acknowledge_dead_letter_queue(queue)
    compliance.acknowledge(queue, [("AwsSolutions-SQS3", "a queue kept as a test dead-letter queue only")])
    compliance.add_nag_packs(app)
    app.synth()


def test_unknown_profile_is_refused():
    with pytest.raises(ValueError, match="compliance profile 'lax' is unknown"):
        compliance.add_nag_packs(cdk.App(), "lax")
