"""PipelineKey (logs, alarm topic, dead-letter queues) and DataKey (card-holder data).

CloudWatch Logs, CloudWatch alarms (publishing to an encrypted SNS topic) and EventBridge
(sending failed events to an encrypted dead-letter queue) can use a key only when its key
policy names their service principals; CDK does not add those statements. They are added
here, in the key's own construct, with conditions on name patterns rather than on the
consumers' ARNs, so consumers in later stacks add no dependency cycle.

The strict compliance profile keeps card-holder data under its own key (:class:`DataKey`),
apart from the operational one: PCI DSS 3.5/3.6 key separation, and a key policy with no
service statements at all.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from ._core.environment import PipelineEnvironment, resolve_environment
from ._core.props import raise_if_any


class PipelineKey(Construct):
    """A KMS key with rotation for the pipeline's log groups, alarm topic and dead-letter queues.

    Args:
        environment_suffix: the environment whose log groups and queues the key serves;
            required unless ``environment`` gives it.
        environment: what the pipeline's constructs share (PipelineEnvironment): suffix and
            removal policy.
        name_prefix: begins every physical name instead of ``etl`` (see PipelineEnvironment).
        removal_policy: of the key (RETAIN).

    Attributes:
        key: the KMS key. removal_policy: its removal policy.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment_suffix: str | None = None,
        environment: PipelineEnvironment | None = None,
        name_prefix: str | None = None,
        removal_policy: cdk.RemovalPolicy | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        env, problems = resolve_environment(
            "PipelineKey",
            environment,
            environment_suffix=environment_suffix,
            name_prefix=name_prefix,
            removal_policy=removal_policy,
        )
        raise_if_any("PipelineKey", problems)
        environment_suffix, removal_policy = env.environment_suffix, env.removal_policy
        self.removal_policy = removal_policy
        naming = env.naming
        self.key = kms.Key(
            self,
            "Key",
            description=(
                f"etl-constructs pipeline key ({environment_suffix}): logs, alarms, "
                "dead-letter queues"
            ),
            enable_key_rotation=True,
            removal_policy=removal_policy,
            pending_window=cdk.Duration.days(7),
        )
        stack = cdk.Stack.of(self)
        log_groups = [
            stack.format_arn(
                service="logs",
                resource="log-group",
                resource_name=pattern,
                arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
            )
            for pattern in naming.log_group_patterns
        ]
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchLogsForPipelineLogGroups",
                principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
                actions=[
                    "kms:Encrypt*",
                    "kms:Decrypt*",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                    "kms:Describe*",
                ],
                resources=["*"],
                conditions={"ArnLike": {"kms:EncryptionContext:aws:logs:arn": log_groups}},
            )
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsToPublishToEncryptedTopic",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            )
        )
        # EventBridge sends events its rules could not deliver, and SNS alarm e-mails it could
        # not deliver, to SQS dead-letter queues; KMS-encrypted queues (strict profile) need
        # the key, for this pipeline's queues only.
        dead_letter_queues = stack.format_arn(
            service="sqs", resource=naming.dead_letter_queue_pattern
        )
        for sid, service in (
            ("AllowEventBridgeToUseEncryptedDeadLetterQueues", "events.amazonaws.com"),
            ("AllowSnsToUseEncryptedDeadLetterQueues", "sns.amazonaws.com"),
        ):
            self.key.add_to_resource_policy(
                iam.PolicyStatement(
                    sid=sid,
                    principals=[iam.ServicePrincipal(service)],
                    actions=["kms:Decrypt", "kms:GenerateDataKey"],
                    resources=["*"],
                    conditions={
                        "StringEquals": {"aws:SourceAccount": stack.account},
                        "ArnLike": {"kms:EncryptionContext:aws:sqs:arn": dead_letter_queues},
                    },
                )
            )


class DataKey(Construct):
    """A KMS key with rotation for card-holder data: the data bucket, the job table, backups.

    Its key policy is CDK's default (the account, through IAM policies); principals get it
    only through grants of the constructs that use it.

    Args:
        environment_suffix: named in the key's description; required unless ``environment``
            gives it.
        environment: what the pipeline's constructs share (PipelineEnvironment): suffix and
            removal policy.
        name_prefix: begins every physical name instead of ``etl`` (see PipelineEnvironment).
        removal_policy: of the key (RETAIN).

    Attributes:
        key: the KMS key. removal_policy: its removal policy.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment_suffix: str | None = None,
        environment: PipelineEnvironment | None = None,
        name_prefix: str | None = None,
        removal_policy: cdk.RemovalPolicy | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        env, problems = resolve_environment(
            "DataKey",
            environment,
            environment_suffix=environment_suffix,
            name_prefix=name_prefix,
            removal_policy=removal_policy,
        )
        raise_if_any("DataKey", problems)
        environment_suffix, removal_policy = env.environment_suffix, env.removal_policy
        self.removal_policy = removal_policy
        self.key = kms.Key(
            self,
            "Key",
            description=f"etl-constructs data key ({environment_suffix}): bucket, table, backups",
            enable_key_rotation=True,
            removal_policy=removal_policy,
            pending_window=cdk.Duration.days(7),
        )
