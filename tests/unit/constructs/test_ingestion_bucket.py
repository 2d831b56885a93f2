from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Match

from etl_constructs import IngestionBucket, Lifecycle, PropsError


def _data_bucket(template):
    buckets = template.find_resources(
        "AWS::S3::Bucket", {"Properties": {"BucketName": "etl-data-bucket-dev"}}
    )
    assert len(buckets) == 1
    return next(iter(buckets.values()))["Properties"]


def test_defaults_are_secure(stack, template_of):
    ingestion = IngestionBucket(stack, "Ingestion", environment_suffix="dev")
    template = template_of(stack)
    props = _data_bucket(template)
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    sse = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert props["LoggingConfiguration"]["DestinationBucketName"] == {
        "Ref": stack.get_logical_id(ingestion.access_log_bucket.node.default_child)
    }
    assert props["NotificationConfiguration"] == {
        "EventBridgeConfiguration": {"EventBridgeEnabled": True}
    }
    # Native EventBridge delivery: no notifications custom resource and no extra Lambda.
    template.resource_count_is("Custom::S3BucketNotifications", 0)
    template.resource_count_is("AWS::Lambda::Function", 0)
    assert ingestion.s3_bucket is ingestion.bucket


def test_lifecycle_expires_raw_failed_and_noncurrent_versions(stack, template_of):
    IngestionBucket(stack, "Ingestion", environment_suffix="dev")
    rules = {
        r["Id"]: r for r in _data_bucket(template_of(stack))["LifecycleConfiguration"]["Rules"]
    }
    assert rules["raw-expiration"]["Prefix"] == "raw/"
    assert rules["raw-expiration"]["ExpirationInDays"] == 30
    assert rules["failed-expiration"]["Prefix"] == "failed/"
    assert rules["failed-expiration"]["ExpirationInDays"] == 90
    assert rules["noncurrent-versions"]["NoncurrentVersionExpiration"] == {"NoncurrentDays": 30}
    assert "Prefix" not in rules["noncurrent-versions"]


def test_lifecycle_none_keeps_objects(stack, template_of):
    IngestionBucket(
        stack, "Ingestion", environment_suffix="dev", lifecycle=Lifecycle(raw_expiration=None)
    )
    rules = {r["Id"] for r in _data_bucket(template_of(stack))["LifecycleConfiguration"]["Rules"]}
    assert "raw-expiration" not in rules
    assert "failed-expiration" in rules


def test_bucket_policy_denies_plain_http_and_old_tls(stack, template_of):
    IngestionBucket(stack, "Ingestion", environment_suffix="dev")
    template = template_of(stack)
    template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        ),
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Condition": {"NumericLessThan": {"s3:TlsVersion": 1.2}},
                            }
                        ),
                    ]
                )
            }
        },
    )


def test_retained_by_default_destroyable_on_request(stack, template_of):
    IngestionBucket(stack, "Ingestion", environment_suffix="dev")
    template = template_of(stack)
    for bucket in template.find_resources("AWS::S3::Bucket").values():
        assert bucket["DeletionPolicy"] == "Retain"

    other = cdk.Stack(cdk.App(), "Ephemeral")
    IngestionBucket(
        other,
        "Ingestion",
        environment_suffix="pr-7",
        removal_policy=cdk.RemovalPolicy.DESTROY,
        auto_delete_objects=True,
    )
    ephemeral = template_of(other)
    assert all(
        b["DeletionPolicy"] == "Delete"
        for b in ephemeral.find_resources("AWS::S3::Bucket").values()
    )
    ephemeral.resource_count_is("Custom::S3AutoDeleteObjects", 2)


def test_kms_key_switches_to_sse_kms(stack, template_of):
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    ingestion = IngestionBucket(stack, "Ingestion", environment_suffix="dev", encryption_key=key)
    sse = _data_bucket(template_of(stack))["BucketEncryption"]["ServerSideEncryptionConfiguration"][
        0
    ]
    assert sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert sse["BucketKeyEnabled"] is True
    assert ingestion.encryption_key is key


def test_bring_your_own_bucket(stack, template_of):
    mine = s3.Bucket.from_bucket_name(stack, "Mine", "team-landing-zone")
    ingestion = IngestionBucket(
        stack, "Ingestion", environment_suffix="dev", existing_bucket_obj=mine
    )
    assert ingestion.bucket is mine
    assert ingestion.s3_bucket is None
    assert ingestion.access_log_bucket is None
    template_of(stack).resource_count_is("AWS::S3::Bucket", 0)


def test_conflicting_props_are_all_reported(stack):
    mine = s3.Bucket.from_bucket_name(stack, "Mine", "team-landing-zone")
    with pytest.raises(PropsError) as raised:
        IngestionBucket(
            stack,
            "Ingestion",
            environment_suffix="dev",
            existing_bucket_obj=mine,
            bucket_name="other",
            lifecycle=Lifecycle(),
            auto_delete_objects=True,
        )
    message = str(raised.value)
    for prop in ("bucket_name", "lifecycle", "auto_delete_objects"):
        assert prop in message


def test_auto_delete_needs_destroy(stack):
    with pytest.raises(PropsError, match=r"removal_policy=RemovalPolicy\.DESTROY"):
        IngestionBucket(stack, "Ingestion", environment_suffix="dev", auto_delete_objects=True)


def test_invalid_suffix_is_refused(stack):
    with pytest.raises(ValueError, match="environment_suffix 'Dev_1' is invalid"):
        IngestionBucket(stack, "Ingestion", environment_suffix="Dev_1")
