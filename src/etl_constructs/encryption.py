"""PipelineKey: the customer-managed KMS key for log groups and the alarm topic.

CloudWatch Logs and CloudWatch alarms (publishing to an encrypted SNS topic) can use a key
only when its key policy names their service principals; CDK does not add those statements.
They are added here, in the key's own construct, with conditions on name patterns rather
than on the consumers' ARNs, so consumers in later stacks add no dependency cycle.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from .naming import Naming


class PipelineKey(Construct):
    """A KMS key with rotation, usable by the pipeline's log groups and its alarm topic.

    Attributes:
        key: the KMS key.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment_suffix: str,
        removal_policy: cdk.RemovalPolicy = cdk.RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, construct_id)
        naming = Naming(environment_suffix)
        self.key = kms.Key(
            self,
            "Key",
            description=f"etl-constructs pipeline key ({environment_suffix}): logs and alarms",
            enable_key_rotation=True,
            removal_policy=removal_policy,
            pending_window=cdk.Duration.days(7),
        )
        stack = cdk.Stack.of(self)
        log_groups = [
            stack.format_arn(
                service="logs",
                resource="log-group",
                resource_name=f"{prefix}*",
                arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
            )
            for prefix in naming.log_group_prefixes
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
