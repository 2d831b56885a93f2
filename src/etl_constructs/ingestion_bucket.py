"""IngestionBucket: the S3 bucket files land in and every stage writes to.

Secure defaults: versioning, all public access blocked, TLS-only with TLS 1.2 at least,
server-side encryption (S3-managed unless a KMS key is given), server access logs to a
separate bucket, lifecycle rules per prefix, and S3 -> EventBridge delivery switched on
natively (no notification custom resource, so consumers in other stacks create no cycle).
The strict compliance profile encrypts the data bucket with a customer-managed KMS key
(a :class:`DataKey` is created when none is given). With a KMS key, the bucket policy refuses
uploads that ask for any other encryption or key.
"""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from . import compliance as nag
from ._core.environment import PipelineEnvironment, resolve_environment
from ._core.keys import data_key
from ._core.names import check_unique_names
from ._core.props import PropsError, raise_if_any
from .compliance import Compliance
from .naming import ATHENA_RESULTS_PREFIX, FAILED_PREFIX, RAW_PREFIX, VALIDATED_PREFIX


@dataclass(frozen=True, kw_only=True)
class Lifecycle:
    """How long objects live, per prefix. ``None`` keeps them forever."""

    raw_expiration: cdk.Duration | None = cdk.Duration.days(30)
    failed_expiration: cdk.Duration | None = cdk.Duration.days(90)
    validated_expiration: cdk.Duration | None = cdk.Duration.days(7)
    athena_results_expiration: cdk.Duration | None = cdk.Duration.days(30)
    noncurrent_version_expiration: cdk.Duration | None = cdk.Duration.days(30)
    access_log_expiration: cdk.Duration | None = cdk.Duration.days(365)


class IngestionBucket(Construct):
    """The pipeline's data bucket (``etl-data-bucket-{suffix}``) and its access-log bucket.

    Args:
        environment_suffix: appended to physical names (``dev``, ``pr-42``); required
            unless ``environment`` gives it.
        environment: what the pipeline's constructs share (PipelineEnvironment): suffix,
            compliance, removal policy, and its ``data_key`` as this bucket's
            ``encryption_key``. A prop given here too must agree with it.
        name_prefix: begins every physical name instead of ``etl`` (see PipelineEnvironment).
        existing_bucket_obj: bring your own bucket instead; it must send events to
            EventBridge (the construct cannot switch that on for a bucket it did not create).
        encryption_key: a KMS key for SSE-KMS; S3-managed keys (SSE-S3) when omitted
            (standard) or the stack's one DataKey of this environment, shared with the table
            (strict).
        lifecycle: expiration per prefix.
        removal_policy: RETAIN by default; DESTROY suits ephemeral environments.
        auto_delete_objects: empty the bucket on delete (only with DESTROY).
        bucket_name: override the physical name.
        compliance: ``standard`` or ``strict`` (customer-managed key required).

    Attributes:
        bucket: the data bucket (yours or the one created).
        s3_bucket: the concrete bucket when the construct created it, else ``None``.
        access_log_bucket: the server access log bucket, when created.
        encryption_key: the KMS key, when one is used.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment_suffix: str | None = None,
        environment: PipelineEnvironment | None = None,
        name_prefix: str | None = None,
        existing_bucket_obj: s3.IBucket | None = None,
        encryption_key: kms.IKey | None = None,
        lifecycle: Lifecycle | None = None,
        removal_policy: cdk.RemovalPolicy | None = None,
        auto_delete_objects: bool = False,
        bucket_name: str | None = None,
        compliance: Compliance | str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        env, problems = resolve_environment(
            "IngestionBucket",
            environment,
            key_field="data_key",
            environment_suffix=environment_suffix,
            name_prefix=name_prefix,
            encryption_key=encryption_key,
            removal_policy=removal_policy,
            compliance=compliance,
        )
        profile, removal_policy = env.profile, env.removal_policy
        if existing_bucket_obj is not None:
            for prop, value in (
                ("encryption_key", encryption_key),
                ("lifecycle", lifecycle),
                ("bucket_name", bucket_name),
            ):
                if value is not None:
                    problems.append(f"{prop} cannot be combined with existing_bucket_obj")
            if auto_delete_objects:
                problems.append("auto_delete_objects cannot be combined with existing_bucket_obj")
            if profile.strict and existing_bucket_obj.encryption_key is None:
                problems.append(
                    "compliance='strict' needs existing_bucket_obj with its encryption_key (a "
                    "customer-managed KMS key); import it with Bucket.from_bucket_attributes"
                )
        if auto_delete_objects and removal_policy != cdk.RemovalPolicy.DESTROY:
            problems.append("auto_delete_objects=True needs removal_policy=RemovalPolicy.DESTROY")
        raise_if_any("IngestionBucket", problems)
        check_unique_names(self)
        self.environment = env
        encryption_key = env.data_key
        naming = env.naming

        self.access_log_bucket: s3.Bucket | None = None
        self.s3_bucket: s3.Bucket | None = None
        self.encryption_key: kms.IKey | None = encryption_key
        if existing_bucket_obj is not None:
            self.bucket: s3.IBucket = existing_bucket_obj
            self.encryption_key = existing_bucket_obj.encryption_key
            return

        lifecycle = lifecycle or Lifecycle()
        if profile.strict and encryption_key is None:
            encryption_key = data_key(self, env)
            self.encryption_key = encryption_key
        self.access_log_bucket = s3.Bucket(
            self,
            "AccessLogs",
            bucket_name=naming.access_log_bucket if bucket_name is None else None,
            # Server access log delivery supports SSE-S3 only.
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=_rules(
                _rule("access-logs", expiration=lifecycle.access_log_expiration),
                _rule("noncurrent-versions", noncurrent=lifecycle.noncurrent_version_expiration),
            ),
            removal_policy=removal_policy,
            auto_delete_objects=auto_delete_objects,
        )
        self.s3_bucket = s3.Bucket(
            self,
            "Bucket",
            bucket_name=bucket_name or naming.data_bucket,
            versioned=True,
            encryption=s3.BucketEncryption.KMS
            if encryption_key
            else s3.BucketEncryption.S3_MANAGED,
            encryption_key=encryption_key,
            bucket_key_enabled=encryption_key is not None,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=_rules(
                _rule("raw-expiration", prefix=RAW_PREFIX, expiration=lifecycle.raw_expiration),
                _rule(
                    "failed-expiration",
                    prefix=FAILED_PREFIX,
                    expiration=lifecycle.failed_expiration,
                ),
                _rule(
                    "validated-expiration",
                    prefix=VALIDATED_PREFIX,
                    expiration=lifecycle.validated_expiration,
                ),
                _rule(
                    "athena-results-expiration",
                    prefix=ATHENA_RESULTS_PREFIX,
                    expiration=lifecycle.athena_results_expiration,
                ),
                _rule("noncurrent-versions", noncurrent=lifecycle.noncurrent_version_expiration),
                _rule("incomplete-uploads", abort_uploads=cdk.Duration.days(1)),
            ),
            removal_policy=removal_policy,
            auto_delete_objects=auto_delete_objects,
        )
        self._deliver_access_logs(self.s3_bucket, self.access_log_bucket)
        nag.acknowledge_checkov(self.access_log_bucket, "CKV_AWS_18", nag.ACCESS_LOG_BUCKET_REASON)
        if auto_delete_objects:
            nag.acknowledge_checkov_cdk_provider(
                self, "Custom::S3AutoDeleteObjectsCustomResourceProvider"
            )
        if encryption_key is not None:
            self._require_bucket_key(self.s3_bucket, encryption_key)
        if profile.strict:
            nag.acknowledge_access_log_bucket(self.access_log_bucket)
            nag.acknowledge_data_bucket(self.s3_bucket)
        # Native S3 -> EventBridge delivery. `event_bridge_enabled=True` would add the
        # notifications custom resource (a Lambda); the property override does not.
        cfn_bucket: s3.CfnBucket = self.s3_bucket.node.default_child  # type: ignore[assignment]
        cfn_bucket.add_property_override(
            "NotificationConfiguration.EventBridgeConfiguration.EventBridgeEnabled", True
        )
        self.bucket = self.s3_bucket

    @staticmethod
    def _deliver_access_logs(bucket: s3.Bucket, log_bucket: s3.Bucket) -> None:
        """Server access logs through a bucket policy, never through ACLs.

        Done here rather than with ``server_access_logs_bucket`` so the result does not
        depend on the app's ``serverAccessLogsUseBucketPolicy`` feature flag.
        """
        prefix = "data-bucket/"
        cfn_bucket: s3.CfnBucket = bucket.node.default_child  # type: ignore[assignment]
        cfn_bucket.logging_configuration = s3.CfnBucket.LoggingConfigurationProperty(
            destination_bucket_name=log_bucket.bucket_name, log_file_prefix=prefix
        )
        log_bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="S3ServerAccessLogsPolicy",
                principals=[iam.ServicePrincipal("logging.s3.amazonaws.com")],
                actions=["s3:PutObject"],
                resources=[log_bucket.arn_for_objects(f"{prefix}*")],
                conditions={
                    "ArnLike": {"aws:SourceArn": bucket.bucket_arn},
                    "StringEquals": {"aws:SourceAccount": cdk.Stack.of(bucket).account},
                },
            )
        )

    @staticmethod
    def _require_bucket_key(bucket: s3.Bucket, key: kms.IKey) -> None:
        """Uploads may not pick their own encryption: no SSE-S3, DSSE-KMS, SSE-C or another
        KMS key instead of the bucket's. A request without encryption headers gets the
        bucket's default (SSE-KMS under ``key``): the pipeline's handlers, their multipart
        uploads and copies and the state machine's CopyObject send none. Each statement
        applies only when its header is present (``Null`` false): the negated operators alone
        would also deny requests without it.
        """
        objects = bucket.arn_for_objects("*")
        refusals = {
            "DenyEncryptionOtherThanKms": {
                "StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"},
                "Null": {"s3:x-amz-server-side-encryption": "false"},
            },
            "DenyKmsKeyOtherThanTheBucketKey": {
                "StringNotEquals": {"s3:x-amz-server-side-encryption-aws-kms-key-id": key.key_arn},
                "Null": {"s3:x-amz-server-side-encryption-aws-kms-key-id": "false"},
            },
            "DenyCustomerProvidedKeys": {
                "Null": {"s3:x-amz-server-side-encryption-customer-algorithm": "false"},
            },
        }
        for sid, conditions in refusals.items():
            bucket.add_to_resource_policy(
                iam.PolicyStatement(
                    sid=sid,
                    effect=iam.Effect.DENY,
                    principals=[iam.AnyPrincipal()],
                    actions=["s3:PutObject"],
                    resources=[objects],
                    conditions=conditions,
                )
            )


def _rule(
    rule_id: str,
    *,
    prefix: str | None = None,
    expiration: cdk.Duration | None = None,
    noncurrent: cdk.Duration | None = None,
    abort_uploads: cdk.Duration | None = None,
) -> s3.LifecycleRule | None:
    """A lifecycle rule, or ``None`` when every duration is ``None`` (nothing to expire)."""
    if expiration is None and noncurrent is None and abort_uploads is None:
        return None
    return s3.LifecycleRule(
        id=rule_id,
        prefix=prefix,
        expiration=expiration,
        noncurrent_version_expiration=noncurrent,
        abort_incomplete_multipart_upload_after=abort_uploads,
    )


def _rules(*rules: s3.LifecycleRule | None) -> list[s3.LifecycleRule]:
    return [rule for rule in rules if rule is not None]


__all__ = ["IngestionBucket", "Lifecycle", "PropsError"]
