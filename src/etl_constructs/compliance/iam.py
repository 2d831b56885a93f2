"""IAM: wildcards the constructs' roles and policies cannot avoid, and why."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_iam as iam
from constructs import IConstruct

from .findings import acknowledge, acknowledge_checkov, finding_resource

XRAY_REASON = (
    "X-Ray PutTraceSegments/PutTelemetryRecords and CloudWatch Logs log-delivery actions do "
    "not support resource-level permissions; '*' is the only valid resource."
)


PREFIX_REASON = (
    "Object access is scoped to one key prefix of the pipeline bucket ({prefix}); the "
    "wildcard covers the object keys under that prefix only, never the whole bucket."
)


FUNCTION_VERSION_REASON = (
    "The state machine invokes this function; the ':*' form lets it invoke published "
    "versions and aliases of the same function only."
)


LAMBDA_VPC_ACCESS_REASON = (
    "Lambda needs these EC2 actions to attach its functions to the VPC; "
    "ec2:DescribeNetworkInterfaces and ec2:DescribeSubnets support no resource-level "
    "permissions, so '*' is the only valid resource. The policy is the EC2 part of the "
    "AWS-managed AWSLambdaVPCAccessExecutionRole, without its logs:* on '*'."
)


def acknowledge_function_role(
    role: iam.IRole,
    *,
    bucket_arn: str | None,
    prefixes: Sequence[str],
) -> None:
    """A function role: X-Ray ``*`` and prefix-scoped object access. Its key grants name
    exact actions (no wildcard to acknowledge)."""
    findings = [("AwsSolutions-IAM5[Resource::*]", XRAY_REASON)]
    if bucket_arn is not None:
        for prefix in prefixes:
            resource = finding_resource(role, f"{bucket_arn}/{prefix}*")
            findings.append(
                (f"AwsSolutions-IAM5[Resource::{resource}]", PREFIX_REASON.format(prefix=prefix))
            )
    acknowledge(role, findings)


def acknowledge_state_machine_role(
    role: iam.IRole,
    *,
    bucket_arn: str,
    prefixes: Sequence[str],
    function_arns: Sequence[str],
) -> None:
    """The state machine role: function versions, log delivery and X-Ray, and the failure
    copy's prefixes. Its key grants name exact actions (no wildcard to acknowledge)."""
    findings = [("AwsSolutions-IAM5[Resource::*]", XRAY_REASON)]
    findings += [
        (f"AwsSolutions-IAM5[Resource::{finding_resource(role, arn)}:*]", FUNCTION_VERSION_REASON)
        for arn in function_arns
    ]
    findings += [
        (
            f"AwsSolutions-IAM5[Resource::{finding_resource(role, f'{bucket_arn}/{prefix}*')}]",
            PREFIX_REASON.format(prefix=prefix),
        )
        for prefix in prefixes
    ]
    acknowledge(role, findings)


def acknowledge_lambda_vpc_access(policy: IConstruct) -> None:
    """The managed policy that lets Lambda attach functions to the VPC: ``*`` resources
    (cdk-nag), write actions without resource constraints (checkov)."""
    acknowledge(policy, [("AwsSolutions-IAM5[Resource::*]", LAMBDA_VPC_ACCESS_REASON)])
    acknowledge_checkov(policy, "CKV_AWS_111", LAMBDA_VPC_ACCESS_REASON)


GLUE_TABLES_REASON = (
    "Readers of the analytics catalog may read every table of its one Glue database (the "
    "curated transactions and rejects); the wildcard covers that database's tables only."
)


def acknowledge_analytics_reader(
    policy: IConstruct, *, bucket_arn: str, prefixes: Sequence[str], tables_arn: str
) -> None:
    """The analytics reader policy: objects under the curated and result prefixes, and the
    tables of the catalog's database."""
    findings = [
        (
            f"AwsSolutions-IAM5[Resource::{finding_resource(policy, f'{bucket_arn}/{prefix}*')}]",
            PREFIX_REASON.format(prefix=prefix),
        )
        for prefix in prefixes
    ]
    findings.append(
        (f"AwsSolutions-IAM5[Resource::{finding_resource(policy, tables_arn)}]", GLUE_TABLES_REASON)
    )
    acknowledge(policy, findings)
